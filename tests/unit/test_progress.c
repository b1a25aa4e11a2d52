/* Unit tests: an import's progress: the agent's copy rate when the row
 * count goes down or is reloaded. */
#include <CUnit/CUnit.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "workflow/import.h"

/* ---- the agent's copy rate ------------------------------------------------------------ */

static void test_rate_steady(void)
{
    wf_rate r = {0};
    wf_rate_update(&r, 10000, 0, 1);
    CU_ASSERT_EQUAL(r.per_second, 0);
    wf_rate_update(&r, 11000, 500, 1); /* under two seconds: no window yet */
    CU_ASSERT_EQUAL(r.per_second, 0);
    wf_rate_update(&r, 12000, 2000, 1);
    CU_ASSERT_DOUBLE_EQUAL(r.per_second, 1000.0, 0.001);
    wf_rate_update(&r, 14000, 6000, 1);
    CU_ASSERT_DOUBLE_EQUAL(r.per_second, 2000.0, 0.001);
}

/* The issue: rows copied going down (a table recounted from the sidecar,
 * or copied again) wrapped round to about 9.2e18 rows/s. */
static void test_rate_count_goes_down(void)
{
    wf_rate r = {0};
    wf_rate_update(&r, 10000, 100000, 1);
    wf_rate_update(&r, 12000, 102000, 1);
    CU_ASSERT_DOUBLE_EQUAL(r.per_second, 1000.0, 0.001);
    wf_rate_update(&r, 13000, 90000, 1); /* recounted lower */
    CU_ASSERT_DOUBLE_EQUAL(r.per_second, 1000.0, 0.001);
    wf_rate_update(&r, 14000, 91000, 1); /* a second into the new window */
    CU_ASSERT_DOUBLE_EQUAL(r.per_second, 1000.0, 0.001);
    wf_rate_update(&r, 15000, 93000, 1); /* the new window: 3000 rows in 2 s */
    CU_ASSERT_DOUBLE_EQUAL(r.per_second, 1500.0, 0.001);
    wf_rate_update(&r, 17500, 0, 1); /* the table list unloaded after an error */
    CU_ASSERT(r.per_second >= 0 && r.per_second < 1e6);
    wf_rate_update(&r, 20000, 0, 1); /* nothing copied since: 0 rows/s */
    CU_ASSERT_EQUAL(r.per_second, 0);
}

/* A reloaded table list brings back rows an earlier run copied: not a rate. */
static void test_rate_new_table_list(void)
{
    wf_rate r = {0};
    wf_rate_update(&r, 10000, 0, 1); /* setup, no tables yet */
    wf_rate_update(&r, 11000, 5000000, 2);
    wf_rate_update(&r, 13000, 5004000, 2);
    CU_ASSERT_DOUBLE_EQUAL(r.per_second, 2000.0, 0.001);
}

static void test_rate_eta(void)
{
    CU_ASSERT_EQUAL(wf_rate_eta(100, 100, 0), 0);
    CU_ASSERT_EQUAL(wf_rate_eta(200, 100, 10), 0); /* past the estimate */
    CU_ASSERT_EQUAL(wf_rate_eta(0, 100, 0), -1);
    CU_ASSERT_EQUAL(wf_rate_eta(0, 100, 10), 10);
}

int suite_progress(void)
{
    CU_pSuite s = CU_add_suite("progress", NULL, NULL);
    if (!s || !CU_add_test(s, "rate: steady", test_rate_steady) ||
        !CU_add_test(s, "rate: rows copied go down", test_rate_count_goes_down) ||
        !CU_add_test(s, "rate: a new table list", test_rate_new_table_list) ||
        !CU_add_test(s, "rate: eta", test_rate_eta))
        return -1;
    return 0;
}
