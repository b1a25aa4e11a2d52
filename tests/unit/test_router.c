/* Unit tests: the router's side of the control plane. What the rules
 * watcher accepts from a control plane (addresses, modes, versions), and
 * cpctl's view of the routers that report for a workflow (who is behind,
 * who is silent, names from the network escaped and aligned), and a
 * router's own status from its C structs to cpctl router status. */
#include <CUnit/CUnit.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../controlplane-mock/cpctl.h"
#include "../../controlplane-mock/pbjson.h"
#include "controlplane/v1/routing.pb-c.h"
#include "config.h"
#include "lib/clock.h"
#include "router/router_status.h"
#include "router/rules.h"
#include "router/v1/router.pb-c.h"

/* ---- the rules a router accepts ------------------------------------------------------------ */

static void test_address_valid(void)
{
    static const char *const good[] = {"127.0.0.1:3306", "db-1.prod.example:3306", "db_2:1", "[::1]:3306",
                                       "[fe80::1:2]:65535", "localhost:6033"};
    static const char *const bad[] = {"", "db", "db:", ":3306", "db:0", "db:65536", "db:99999", "db:+1",
                                      "db:33o6", "db :3306", "-db:3306", "db-:3306", "a..b:1", "[::1:3306",
                                      "[zz::1]:1", "db:3306\n", "db;drop:1", "[]:1"};
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++)
        CU_ASSERT_TRUE(rules_address_valid(good[i]));
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        if (rules_address_valid(bad[i]))
            CU_FAIL(bad[i]);
}

static void rules_msg(Controlplane__V1__RoutingRules *m, uint64_t version, int mode)
{
    controlplane__v1__routing_rules__init(m);
    m->workflow = "shop";
    m->version = version;
    m->mode = mode;
    m->source = "10.0.0.1:3306";
    m->destination = "10.0.0.2:3306";
}

/* decode m, expecting failure with a message containing want. */
static void expect_refused(const Controlplane__V1__RoutingRules *m, const char *want)
{
    router_rules r;
    sbuf err = SBUF_INIT;
    CU_ASSERT_EQUAL(rules_decode(m, "shop", &r, &err), -1);
    if (!strstr(sbuf_cstr(&err), want)) {
        fprintf(stderr, "\n  got: %s\n  want: %s\n", sbuf_cstr(&err), want);
        CU_FAIL("message");
    }
    sbuf_free(&err);
}

static void test_decode_good(void)
{
    Controlplane__V1__RoutingRules m;
    rules_msg(&m, 7, CONTROLPLANE__V1__MODE__MODE_VALIDATE);
    m.reads = "destination";
    m.writes = "source";
    m.updated_at_unix_ms = 1234;
    router_rules r;
    sbuf err = SBUF_INIT;
    CU_ASSERT_EQUAL(rules_decode(&m, "shop", &r, &err), 0);
    CU_ASSERT_EQUAL(r.version, 7);
    CU_ASSERT_EQUAL(r.mode, ROUTER_MODE_VALIDATE);
    CU_ASSERT_STRING_EQUAL(r.source, "10.0.0.1:3306");
    CU_ASSERT_STRING_EQUAL(r.destination, "10.0.0.2:3306");
    CU_ASSERT_EQUAL(r.updated_at_unix_ms, 1234);
    CU_ASSERT_TRUE(router_mode_reads_destination(r.mode));
    CU_ASSERT_FALSE(router_mode_writes_destination(r.mode));
    /* SOURCE needs no destination; version 0 is "no rules yet", not garbage */
    rules_msg(&m, 1, CONTROLPLANE__V1__MODE__MODE_SOURCE);
    m.destination = "";
    CU_ASSERT_EQUAL(rules_decode(&m, "shop", &r, &err), 0);
    rules_msg(&m, 0, CONTROLPLANE__V1__MODE__MODE_UNSPECIFIED);
    m.source = "";
    CU_ASSERT_EQUAL(rules_decode(&m, "shop", &r, &err), 0);
    CU_ASSERT_EQUAL(r.mode, ROUTER_MODE_NONE);
    sbuf_free(&err);
}

static void test_decode_refused(void)
{
    Controlplane__V1__RoutingRules m;
    rules_msg(&m, 3, 9);
    expect_refused(&m, "mode 9 is not one this router knows (SOURCE, VALIDATE, PRIMARY)");
    rules_msg(&m, 3, CONTROLPLANE__V1__MODE__MODE_UNSPECIFIED);
    expect_refused(&m, "mode 0 is not one this router knows");
    rules_msg(&m, 3, CONTROLPLANE__V1__MODE__MODE_PRIMARY);
    m.destination = "";
    expect_refused(&m, "mode PRIMARY needs the destination's address, and the rules name none");
    rules_msg(&m, 3, CONTROLPLANE__V1__MODE__MODE_SOURCE);
    m.source = "";
    expect_refused(&m, "mode SOURCE needs the source's address");
    rules_msg(&m, 3, CONTROLPLANE__V1__MODE__MODE_SOURCE);
    m.destination = "db\n2:99999"; /* not used by the mode, still checked; shown escaped */
    expect_refused(&m, "the destination's address \"db\\x0A2:99999\" is not host:port");
    rules_msg(&m, 3, CONTROLPLANE__V1__MODE__MODE_VALIDATE);
    m.reads = "source";
    expect_refused(&m, "mode VALIDATE sends reads to the destination and writes to the source, but the rules say "
                       "reads \"source\"");
    rules_msg(&m, 3, CONTROLPLANE__V1__MODE__MODE_SOURCE);
    m.workflow = "other";
    expect_refused(&m, "they are for workflow \"other\", not shop");
    char longaddr[300];
    memset(longaddr, 'a', sizeof longaddr - 1);
    longaddr[sizeof longaddr - 1] = '\0';
    rules_msg(&m, 3, CONTROLPLANE__V1__MODE__MODE_SOURCE);
    m.source = longaddr;
    expect_refused(&m, "an address is longer than 255 bytes");
}

static void test_check_next(void)
{
    router_rules none = {0}, v7 = {.version = 7, .mode = ROUTER_MODE_PRIMARY}, next = v7;
    strcpy(v7.source, "a:1");
    next = v7;
    sbuf err = SBUF_INIT;
    CU_ASSERT_EQUAL(rules_check_next(&none, &v7, &err), 0); /* the first rules */
    CU_ASSERT_EQUAL(rules_check_next(&v7, &next, &err), 0); /* the same again, after a reconnection */
    next.version = 8;
    next.mode = ROUTER_MODE_SOURCE;
    CU_ASSERT_EQUAL(rules_check_next(&v7, &next, &err), 0);
    next.version = 5;
    CU_ASSERT_EQUAL(rules_check_next(&v7, &next, &err), -1);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.buf, "its version went back from v7 to v5"));
    next.version = 0; /* a control plane that forgot the workflow */
    CU_ASSERT_EQUAL(rules_check_next(&v7, &next, &err), -1);
    next.version = 7; /* same version, other content */
    CU_ASSERT_EQUAL(rules_check_next(&v7, &next, &err), -1);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.buf, "v7 changed content without a new version"));
    sbuf_free(&err);
}

/* ---- cpctl routing: the routers ------------------------------------------------------------ */

typedef struct fake_rules {
    Controlplane__V1__RoutingRules r;
    Controlplane__V1__RouterInfo ri[4];
    Controlplane__V1__RouterInfo *rp[4];
} fake_rules;

static void fake_rules_init(fake_rules *f, uint64_t version, size_t n)
{
    controlplane__v1__routing_rules__init(&f->r);
    f->r.workflow = "shop";
    f->r.version = version;
    f->r.routers = f->rp;
    f->r.n_routers = n;
    for (size_t i = 0; i < 4; i++) {
        controlplane__v1__router_info__init(&f->ri[i]);
        f->rp[i] = &f->ri[i];
        f->ri[i].applied_version = version;
        f->ri[i].seconds_since_report = 1.2;
    }
}

static void test_routers_none(void)
{
    fake_rules f;
    fake_rules_init(&f, 7, 0);
    sbuf out = SBUF_INIT;
    render_routers(&f.r.base, &out);
    CU_ASSERT_STRING_EQUAL(out.buf, "routers: none reported\n");
    sbuf_free(&out);
}

static void test_routers_all_current(void)
{
    fake_rules f;
    fake_rules_init(&f, 7, 2);
    f.ri[0].router_id = "r1";
    f.ri[0].address = "127.0.0.1:6033";
    f.ri[0].clients = 12;
    f.ri[1].router_id = "router-2";
    f.ri[1].address = "10.0.0.2:6033";
    f.ri[1].clients = 1;
    sbuf out = SBUF_INIT;
    render_routers(&f.r.base, &out);
    CU_ASSERT_STRING_EQUAL(out.buf, "routers: 2 (all on v7)\n"
                                    "  r1        127.0.0.1:6033  v7  12 clients  seen 1s ago\n"
                                    "  router-2  10.0.0.2:6033   v7  1 client  seen 1s ago\n");
    sbuf_free(&out);
}

/* The question after a change: has it reached every router? One behind,
 * one silent for over a minute (gone, or cut off and serving old rules). */
static void test_routers_behind_and_silent(void)
{
    fake_rules f;
    fake_rules_init(&f, 7, 3);
    f.ri[0].router_id = "a";
    f.ri[0].address = "h:1";
    f.ri[1].router_id = "b";
    f.ri[1].address = "h:2";
    f.ri[1].applied_version = 6;
    f.ri[2].router_id = "c";
    f.ri[2].address = "";
    f.ri[2].applied_version = 5;
    f.ri[2].seconds_since_report = 75;
    sbuf out = SBUF_INIT;
    render_routers(&f.r.base, &out);
    CU_ASSERT_PTR_NOT_NULL(strstr(out.buf, "routers: 3 (1 on v7, 1 behind v7, 1 silent for over a minute)\n"));
    CU_ASSERT_PTR_NOT_NULL(strstr(out.buf, "  b  h:2  v6 (behind)  0 clients  seen 1s ago\n"));
    CU_ASSERT_PTR_NOT_NULL(strstr(out.buf, "  c  -    v5 (behind)  0 clients  seen 1m15s ago (silent)\n"));
    sbuf_free(&out);
}

/* A router_id is whatever a router sent: a newline in it must not forge
 * a line of the view. */
static void test_routers_escaped(void)
{
    fake_rules f;
    fake_rules_init(&f, 1, 1);
    f.ri[0].router_id = "evil\nrouters: 0";
    f.ri[0].address = "x:1";
    sbuf out = SBUF_INIT;
    render_routers(&f.r.base, &out);
    CU_ASSERT_PTR_NOT_NULL(strstr(out.buf, "  evil\\x0Arouters: 0  x:1  v1"));
    CU_ASSERT_PTR_NULL(strstr(out.buf, "\nrouters: 0"));
    sbuf_free(&out);
}

/* ---- cpctl router status ---------------------------------------------------------------------- */

/* A router in validate mode, cut off from the control plane for 12 s, its
 * destination down: what router_status_message makes of the router's own
 * structs, rendered by cpctl. */
static void test_router_status_view(void)
{
    int64_t now = clock_mono_ms();
    router_rules rules = {.version = 7, .mode = ROUTER_MODE_VALIDATE};
    strcpy(rules.workflow, "shop");
    strcpy(rules.source, "10.0.0.1:3306");
    strcpy(rules.destination, "10.0.0.2:3306");
    rules_watch_state watch = {.connected = false, .since_mono_ms = now - 12500, .last_version = 7,
                               .rules_mono_ms = now - 90500};
    strcpy(watch.error, "control plane 127.0.0.1:15990 unreachable (connection refused); serving with rules v7 "
                        "received 1m30s ago; retrying");
    router_status_route route = {&rules, &watch};
    router_status_backend backends[] = {
        {"source", "10.0.0.1:3306", 4, true, NULL},
        {"destination", "10.0.0.2:3306", 0, false, "Can't connect to server on '10.0.0.2' (111)\n"},
    };
    router_status st = {.router_id = "r1",
                        .listen = "0.0.0.0:6033",
                        .started_mono_ms = now - 3723000,
                        .client_connections = 1234,
                        .routes = &route,
                        .n_routes = 1,
                        .backends = backends,
                        .n_backends = 2,
                        .statements_source = 1000000,
                        .statements_destination = 200,
                        .statements_total = 1000250,
                        .errors_total = 1};
    ryw_stats ryw = {.waited = 1500, .wait_us = 3250000, .waited_to_source = 2, .to_source = 7};
    st.ryw = &ryw;
    ProtobufCMessage *m = router_status_message(&st);
    const Router__V1__RouterStatus *pb = (const void *)m;
    CU_ASSERT_EQUAL(pb->workflows[0]->mode, CONTROLPLANE__V1__MODE__MODE_VALIDATE);
    CU_ASSERT_STRING_EQUAL(pb->workflows[0]->reads, "destination");
    CU_ASSERT_STRING_EQUAL(pb->workflows[0]->writes, "source");
    CU_ASSERT_DOUBLE_EQUAL(pb->workflows[0]->rules_age_seconds, 90.5, 0.5);
    CU_ASSERT_EQUAL(pb->uptime_seconds, 3723);

    sbuf out = SBUF_INIT;
    render_router_status(m, "127.0.0.1:6034", &out);
    static const char *const want[] = {
        "Router     r1  at 127.0.0.1:6034  tablet-router " TABLET_AGENT_VERSION "  up 1h02m\n",
        "Clients    1,234 connected to 0.0.0.0:6033\n",
        "Workflow   shop  rules v7  mode VALIDATE  reads -> destination (10.0.0.2:3306)  writes -> source "
        "(10.0.0.1:3306)\n",
        "           control plane DISCONNECTED for 12s; rules received 1m30s ago\n",
        "Problem    control plane 127.0.0.1:15990 unreachable (connection refused); serving with rules v7 received "
        "1m30s ago; retrying\n",
        "Backend    source       10.0.0.1:3306  up    4 connections\n",
        "Backend    destination  10.0.0.2:3306  DOWN  0 connections  last error: Can't connect to server on "
        "'10.0.0.2' (111)\\x0A\n",
        "Statements 1,000,250 in all: 1,000,000 to the source, 200 to the destination; 1 error\n",
        "Reads      after writes: 1,500 waited (3.250 s in all), 2 of them then to the source; 7 to the source at "
        "once\n",
    };
    const char *p = out.buf;
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        size_t n = strlen(want[i]);
        if (strncmp(p, want[i], n) != 0) {
            fprintf(stderr, "\n  line %zu: got: %.*s  want: %s", i, (int)strcspn(p, "\n") + 1, p, want[i]);
            CU_FAIL("router status view");
            break;
        }
        p += n;
    }
    CU_ASSERT_STRING_EQUAL(p, "");

    /* --json: the mode by name, every field present */
    sbuf js = SBUF_INIT;
    pbjson_write(m, &js);
    CU_ASSERT_PTR_NOT_NULL(strstr(js.buf, "\"mode\":\"MODE_VALIDATE\""));
    CU_ASSERT_PTR_NOT_NULL(strstr(js.buf, "\"control_plane_connected\":false"));
    CU_ASSERT_PTR_NOT_NULL(strstr(js.buf, "\"statements_destination\":200"));
    CU_ASSERT_PTR_NOT_NULL(strstr(js.buf, "\"reads_after_writes_waited\":1500"));
    CU_ASSERT_PTR_NOT_NULL(strstr(js.buf, "\"reads_after_writes_to_source\":7"));
    sbuf_free(&js);
    sbuf_free(&out);
    router_status_message_free(m);
}

/* A router that has no rules yet and follows no control plane. */
static void test_router_status_empty(void)
{
    router_rules rules = {.version = 0};
    strcpy(rules.workflow, "shop");
    router_status_route route = {&rules, NULL};
    router_status st = {.router_id = "r1", .routes = &route, .n_routes = 1};
    ProtobufCMessage *m = router_status_message(&st);
    sbuf out = SBUF_INIT;
    render_router_status(m, "h:1", &out);
    CU_ASSERT_PTR_NOT_NULL(strstr(out.buf, "Workflow   shop  no rules yet: nothing to route\n"));
    CU_ASSERT_PTR_NOT_NULL(strstr(out.buf, "Problem    the router does not follow a control plane\n"));
    CU_ASSERT_PTR_NOT_NULL(strstr(out.buf, "Statements 0 in all"));
    CU_ASSERT_PTR_NULL(strstr(out.buf, "after writes")); /* nothing to say */
    sbuf_free(&out);
    router_status_message_free(m);
}

int suite_router(void)
{
    CU_pSuite s = CU_add_suite("router", NULL, NULL);
    if (!s || !CU_add_test(s, "rules: host:port", test_address_valid) ||
        !CU_add_test(s, "rules: decoded", test_decode_good) ||
        !CU_add_test(s, "rules: garbage refused", test_decode_refused) ||
        !CU_add_test(s, "rules: versions only go forward", test_check_next) ||
        !CU_add_test(s, "routers: none", test_routers_none) ||
        !CU_add_test(s, "routers: all current", test_routers_all_current) ||
        !CU_add_test(s, "routers: behind and silent", test_routers_behind_and_silent) ||
        !CU_add_test(s, "routers: names escaped", test_routers_escaped) ||
        !CU_add_test(s, "router status: a cut-off router", test_router_status_view) ||
        !CU_add_test(s, "router status: no rules, no control plane", test_router_status_empty))
        return -1;
    return 0;
}
