/* Unit tests: the router's side of the control plane. cpctl's view of the
 * routers that report for a workflow (who is behind, who is silent, names
 * from the network escaped and aligned). */
#include <CUnit/CUnit.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../controlplane-mock/cpctl.h"
#include "controlplane/v1/routing.pb-c.h"

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

int suite_router(void)
{
    CU_pSuite s = CU_add_suite("router", NULL, NULL);
    if (!s || !CU_add_test(s, "routers: none", test_routers_none) ||
        !CU_add_test(s, "routers: all current", test_routers_all_current) ||
        !CU_add_test(s, "routers: behind and silent", test_routers_behind_and_silent) ||
        !CU_add_test(s, "routers: names escaped", test_routers_escaped))
        return -1;
    return 0;
}
