/* Unit tests: the pure parts of the replication engine: table filters,
 * binlog coordinate ordering, and the applier's key map. */
#include <CUnit/CUnit.h>
#include <stdio.h>
#include <string.h>

#include "lib/keymap.h"
#include "vrepl/applier.h"
#include "vrepl/streamer.h"

static void test_filter_patterns(void)
{
    char *inc[] = {"shop.*", "crm.cust?mer", "logs"};
    char *exc[] = {"shop.tmp_*"};
    table_filter f = {inc, 3, exc, 1};
    CU_ASSERT_TRUE(table_filter_match(&f, "shop", "orders"));
    CU_ASSERT_FALSE(table_filter_match(&f, "shop", "tmp_x"));
    CU_ASSERT_TRUE(table_filter_match(&f, "crm", "customer"));
    CU_ASSERT_FALSE(table_filter_match(&f, "crm", "customers"));
    CU_ASSERT_TRUE(table_filter_match(&f, "logs", "anything"));
    CU_ASSERT_FALSE(table_filter_match(&f, "other", "orders"));
    CU_ASSERT_TRUE(table_filter_match_schema(&f, "crm"));
    CU_ASSERT_FALSE(table_filter_match_schema(&f, "other"));
    table_filter all = {0};
    CU_ASSERT_TRUE(table_filter_match(&all, "any", "table"));
    CU_ASSERT_FALSE(table_filter_match(&all, "mysql", "user"));
    CU_ASSERT_FALSE(table_filter_match(&all, "information_schema", "TABLES"));
    CU_ASSERT_FALSE(table_filter_match_schema(&all, "performance_schema"));
    CU_ASSERT_TRUE(table_filter_match(&all, "we`ird db", "tab le"));
}

static void test_filter_copy(void)
{
    char *inc[] = {"a.*"};
    table_filter f = {inc, 1, NULL, 0}, g;
    table_filter_copy(&g, &f);
    CU_ASSERT_STRING_EQUAL(g.include[0], "a.*");
    CU_ASSERT_PTR_NOT_EQUAL(g.include[0], inc[0]);
    table_filter_clear(&g);
    CU_ASSERT_EQUAL(g.ninclude, 0);
}

static void test_position_order(void)
{
    CU_ASSERT(vpos_cmp_file("bin.000002", 100, "bin.000002", 100) == 0);
    CU_ASSERT(vpos_cmp_file("bin.000002", 99, "bin.000002", 100) < 0);
    CU_ASSERT(vpos_cmp_file("bin.000003", 4, "bin.000002", 9999) > 0);
    CU_ASSERT(vpos_cmp_file("bin.999999", 4, "bin.1000000", 4) < 0);
    vpos p = {0};
    vpos_set(&p, "0-1-5", "bin.000001", 42);
    CU_ASSERT_STRING_EQUAL(p.gtid, "0-1-5");
    vpos_set(&p, p.gtid, NULL, 7); /* aliasing its own fields is safe */
    CU_ASSERT_STRING_EQUAL(p.gtid, "0-1-5");
    CU_ASSERT_STRING_EQUAL(p.file, "");
    vpos_clear(&p);
}

static void test_keymap(void)
{
    keymap *m = keymap_new();
    bool ins;
    char key[32];
    for (size_t i = 0; i < 10000; i++) {
        int n = snprintf(key, sizeof key, "'k%zu',%zu", i, i * 7);
        *keymap_put(m, key, (size_t)n, &ins) = i;
        CU_ASSERT_TRUE(ins);
    }
    CU_ASSERT_EQUAL(keymap_count(m), 10000);
    for (size_t i = 0; i < 10000; i += 97) {
        int n = snprintf(key, sizeof key, "'k%zu',%zu", i, i * 7);
        size_t *v = keymap_get(m, key, (size_t)n);
        CU_ASSERT_PTR_NOT_NULL_FATAL(v);
        CU_ASSERT_EQUAL(*v, i);
        keymap_put(m, key, (size_t)n, &ins);
        CU_ASSERT_FALSE(ins);
    }
    CU_ASSERT_PTR_NULL(keymap_get(m, "nope", 4));
    CU_ASSERT_PTR_NULL(keymap_get(m, "'k1',", 5)); /* a prefix is another key */
    keymap_clear(m);
    CU_ASSERT_EQUAL(keymap_count(m), 0);
    CU_ASSERT_PTR_NULL(keymap_get(m, "'k1',7", 6));
    *keymap_put(m, "\0bin\0", 5, &ins) = 3;
    CU_ASSERT_EQUAL(*keymap_get(m, "\0bin\0", 5), 3);
    keymap_free(m);
}

int suite_vrepl(void)
{
    CU_pSuite s = CU_add_suite("vrepl", NULL, NULL);
    if (!s || !CU_add_test(s, "table filter patterns", test_filter_patterns) ||
        !CU_add_test(s, "table filter copy", test_filter_copy) ||
        !CU_add_test(s, "binlog position order", test_position_order) ||
        !CU_add_test(s, "key map", test_keymap))
        return -1;
    return 0;
}
