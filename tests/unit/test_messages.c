/* Unit tests: message helpers of the control plane: protobuf -> JSON and
 * the human-readable status rendering. */
#include <CUnit/CUnit.h>
#include <string.h>

#include "../../controlplane-mock/cpctl.h"
#include "../../controlplane-mock/pbjson.h"
#include "tabletagent/v1/tabletagent.pb-c.h"

static void test_json_every_field(void)
{
    Tabletagent__V1__AgentStatus st = TABLETAGENT__V1__AGENT_STATUS__INIT;
    Tabletagent__V1__SourceStatus src = TABLETAGENT__V1__SOURCE_STATUS__INIT;
    Tabletagent__V1__Position pos = TABLETAGENT__V1__POSITION__INIT;
    st.state = TABLETAGENT__V1__SERVING_STATE__NOT_SERVING;
    st.health_error = "quote \" back\\slash\nnew";
    st.sequence = 18446744073709551615ULL;
    st.uptime_seconds = -1;
    st.source = &src;
    src.position = &pos;
    src.flavor = TABLETAGENT__V1__FLAVOR__MARIADB;
    pos.gtid = "0-1-5";
    pos.offset = 4;
    sbuf out = SBUF_INIT;
    pbjson_write(&st.base, &out);
    CU_ASSERT_PTR_NOT_NULL(strstr(out.buf, "\"state\":\"NOT_SERVING\""));
    CU_ASSERT_PTR_NOT_NULL(strstr(out.buf, "\"health_error\":\"quote \\\" back\\\\slash\\nnew\""));
    CU_ASSERT_PTR_NOT_NULL(strstr(out.buf, "\"sequence\":18446744073709551615"));
    CU_ASSERT_PTR_NOT_NULL(strstr(out.buf, "\"uptime_seconds\":-1"));
    CU_ASSERT_PTR_NOT_NULL(strstr(out.buf, "\"flavor\":\"MARIADB\""));
    CU_ASSERT_PTR_NOT_NULL(strstr(out.buf, "\"position\":{\"gtid\":\"0-1-5\",\"file\":\"\",\"offset\":4}"));
    CU_ASSERT_PTR_NOT_NULL(strstr(out.buf, "\"reachable\":false"));
    sbuf_free(&out);
}

static void test_json_control_chars(void)
{
    sbuf out = SBUF_INIT;
    pbjson_add_string(&out, "a\x01" "b\tc", 5);
    CU_ASSERT_STRING_EQUAL(out.buf, "\"a\\u0001b\\u0009c\"");
    sbuf_free(&out);
}

static void test_render_status(void)
{
    Tabletagent__V1__AgentStatus st = TABLETAGENT__V1__AGENT_STATUS__INIT;
    Tabletagent__V1__SourceStatus src = TABLETAGENT__V1__SOURCE_STATUS__INIT;
    Tabletagent__V1__Position pos = TABLETAGENT__V1__POSITION__INIT;
    st.agent_version = "9.9";
    st.uptime_seconds = 3725;
    st.state = TABLETAGENT__V1__SERVING_STATE__SERVING;
    st.source = &src;
    src.reachable = 1;
    src.address = "db:3306";
    src.position = &pos;
    src.log_bin = 1;
    src.binlog_format = "ROW";
    src.binlog_retention_seconds = 0;
    pos.gtid = "0-1-9";
    pos.file = "bin.000002";
    pos.offset = 77;
    sbuf out = SBUF_INIT;
    render_status(&st.base, "agent:1", &out);
    CU_ASSERT_PTR_NOT_NULL(strstr(out.buf, "up 1h02m"));
    CU_ASSERT_PTR_NOT_NULL(strstr(out.buf, "Health     SERVING"));
    CU_ASSERT_PTR_NOT_NULL(strstr(out.buf, "Position   gtid 0-1-9  file bin.000002:77"));
    CU_ASSERT_PTR_NOT_NULL(strstr(out.buf, "retention never expires"));
    CU_ASSERT_PTR_NULL(strstr(out.buf, "Problem"));
    sbuf_reset(&out);
    st.state = TABLETAGENT__V1__SERVING_STATE__NOT_SERVING;
    st.health_error = "source is unreachable";
    src.reachable = 0;
    render_status(&st.base, "agent:1", &out);
    CU_ASSERT_PTR_NOT_NULL(strstr(out.buf, "Problem    source is unreachable"));
    CU_ASSERT_PTR_NOT_NULL(strstr(out.buf, "UNREACHABLE"));
    sbuf_free(&out);
}

static void test_duration(void)
{
    sbuf out = SBUF_INIT;
    sbuf_add_duration(&out, 59);
    sbuf_addc(&out, ' ');
    sbuf_add_duration(&out, 61);
    sbuf_addc(&out, ' ');
    sbuf_add_duration(&out, 90061);
    CU_ASSERT_STRING_EQUAL(out.buf, "59s 1m01s 1d01h");
    sbuf_free(&out);
}

int suite_messages(void)
{
    CU_pSuite s = CU_add_suite("messages", NULL, NULL);
    if (!s || !CU_add_test(s, "json: every field", test_json_every_field) ||
        !CU_add_test(s, "json: control characters", test_json_control_chars) ||
        !CU_add_test(s, "render status", test_render_status) ||
        !CU_add_test(s, "duration", test_duration))
        return -1;
    return 0;
}
