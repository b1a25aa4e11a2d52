/* Unit tests: stmt_target, the write target of a statement-format binlog
 * event: every single-table form with its modifiers, quoting, comments and
 * the default schema; multi-table and unparsable writes as unknown; and
 * the given length respected (statements from the binlog are not
 * NUL-terminated). */
#include <CUnit/CUnit.h>
#include <stdio.h>
#include <string.h>

#include "vrepl/stmt_target.h"

typedef struct {
    const char *sql;
    const char *default_db;
    stmt_kind kind;
    const char *verb;
    const char *db, *table; /* STMT_WRITE */
} target_case;

static const target_case cases[] = {
    /* INSERT and REPLACE: modifiers, a missing INTO, the default schema */
    {"INSERT INTO shop.orders VALUES (1)", NULL, STMT_WRITE, "INSERT", "shop", "orders"},
    {"insert into orders values (1)", "shop", STMT_WRITE, "INSERT", "shop", "orders"},
    {"INSERT orders SET qty = 1", "shop", STMT_WRITE, "INSERT", "shop", "orders"},
    {"INSERT LOW_PRIORITY IGNORE INTO `shop`.`orders` (a) VALUES (1)", "x", STMT_WRITE, "INSERT", "shop", "orders"},
    {"INSERT DELAYED INTO t VALUES (1)", NULL, STMT_WRITE, "INSERT", "", "t"},
    {"INSERT HIGH_PRIORITY IGNORE t VALUES (1)", "d", STMT_WRITE, "INSERT", "d", "t"},
    {"INSERT INTO t PARTITION (p0) VALUES (1)", "d", STMT_WRITE, "INSERT", "d", "t"},
    {"INSERT INTO shop.orders SELECT * FROM other.orders", "other", STMT_WRITE, "INSERT", "shop", "orders"},
    {"INSERT INTO shop.orders(id) VALUES (1) ON DUPLICATE KEY UPDATE qty = 2", NULL, STMT_WRITE, "INSERT", "shop",
     "orders"},
    /* pt-table-checksum: reads the carried table, writes its own */
    {"REPLACE INTO `percona`.`checksums` (db, tbl, chunk, chunk_index, lower_boundary, upper_boundary, this_cnt, "
     "this_crc) SELECT 'shop', 'orders', '1', 'PRIMARY', '1', '100', COUNT(*) AS cnt, COALESCE(LOWER(CONV(BIT_XOR("
     "CAST(CRC32(CONCAT_WS('#', `id`, `qty`)) AS UNSIGNED)), 10, 16)), 0) AS crc FROM `shop`.`orders` FORCE INDEX("
     "`PRIMARY`) WHERE ((`id` >= '1')) AND ((`id` <= '100')) /*checksum chunk*/",
     "shop", STMT_WRITE, "REPLACE", "percona", "checksums"},
    {"REPLACE LOW_PRIORITY INTO x.y VALUES (1)", NULL, STMT_WRITE, "REPLACE", "x", "y"},
    {"replace delayed z values (1)", "d", STMT_WRITE, "REPLACE", "d", "z"},
    /* comments and whitespace */
    {"  /* leading */ -- a line comment\n # a hash comment\n\tREPLACE INTO x.y VALUES (1)", NULL, STMT_WRITE,
     "REPLACE", "x", "y"},
    {"insert/*c*/into/*c*/s.t values(1)", NULL, STMT_WRITE, "INSERT", "s", "t"},
    {"/*!40000 INSERT INTO x.y VALUES (1) */", NULL, STMT_WRITE, "INSERT", "x", "y"},
    {"/*M!100100 DELETE FROM a.b */", NULL, STMT_WRITE, "DELETE", "a", "b"},
    {"INSERT /*! IGNORE */ INTO a.b VALUES (1)", NULL, STMT_WRITE, "INSERT", "a", "b"},
    {"/* unterminated comment INSERT INTO a.b", NULL, STMT_OTHER, NULL, NULL, NULL},
    /* quoting */
    {"INSERT INTO `we``ird`.`ta``ble` VALUES (1)", NULL, STMT_WRITE, "INSERT", "we`ird", "ta`ble"},
    {"INSERT INTO `db` . `t` VALUES (1)", NULL, STMT_WRITE, "INSERT", "db", "t"},
    {"INSERT INTO `db`.t VALUES (1)", NULL, STMT_WRITE, "INSERT", "db", "t"},
    {"INSERT INTO \"ansi\".\"t\" VALUES (1)", NULL, STMT_WRITE, "INSERT", "ansi", "t"},
    {"INSERT INTO `with space`.`and.dot` VALUES (1)", NULL, STMT_WRITE, "INSERT", "with space", "and.dot"},
    {"INSERT INTO caf\xC3\xA9.na\xC3\xAFve VALUES (1)", NULL, STMT_WRITE, "INSERT", "caf\xC3\xA9", "na\xC3\xAFve"},
    {"INSERT INTO 1db.2t VALUES (1)", NULL, STMT_WRITE, "INSERT", "1db", "2t"},
    /* UPDATE: single table, with or without alias; multi-table is unknown */
    {"UPDATE shop.orders SET qty = 1 WHERE id = 2", NULL, STMT_WRITE, "UPDATE", "shop", "orders"},
    {"update orders set qty = 1", "shop", STMT_WRITE, "UPDATE", "shop", "orders"},
    {"UPDATE LOW_PRIORITY IGNORE orders o SET o.qty = 1", "shop", STMT_WRITE, "UPDATE", "shop", "orders"},
    {"UPDATE orders AS o SET qty = 1", "shop", STMT_WRITE, "UPDATE", "shop", "orders"},
    {"UPDATE `shop`.`order``s` SET a = 1", NULL, STMT_WRITE, "UPDATE", "shop", "order`s"},
    {"UPDATE shop.orders o JOIN shop.lines l ON l.o = o.id SET l.qty = 0", NULL, STMT_WRITE_UNKNOWN, "UPDATE", NULL,
     NULL},
    {"UPDATE a, b SET a.x = b.x", "d", STMT_WRITE_UNKNOWN, "UPDATE", NULL, NULL},
    {"UPDATE a AS x, b SET x.v = 1", "d", STMT_WRITE_UNKNOWN, "UPDATE", NULL, NULL},
    {"UPDATE a STRAIGHT_JOIN b SET a.v = 1", "d", STMT_WRITE_UNKNOWN, "UPDATE", NULL, NULL},
    {"UPDATE (a) SET v = 1", "d", STMT_WRITE_UNKNOWN, "UPDATE", NULL, NULL},
    /* DELETE: single table with its clauses; multi-table is unknown */
    {"DELETE FROM shop.orders WHERE id = 1", NULL, STMT_WRITE, "DELETE", "shop", "orders"},
    {"DELETE LOW_PRIORITY QUICK IGNORE FROM orders", "shop", STMT_WRITE, "DELETE", "shop", "orders"},
    {"DELETE FROM orders ORDER BY id LIMIT 5", "shop", STMT_WRITE, "DELETE", "shop", "orders"},
    {"DELETE FROM t AS x WHERE x.id = 1", "d", STMT_WRITE, "DELETE", "d", "t"},
    {"DELETE FROM t x WHERE x.id = 1", "d", STMT_WRITE, "DELETE", "d", "t"},
    {"DELETE FROM t PARTITION (p0) WHERE a = 1", "d", STMT_WRITE, "DELETE", "d", "t"},
    {"DELETE FROM t RETURNING id", "d", STMT_WRITE, "DELETE", "d", "t"},
    {"DELETE FROM shop.orders;", NULL, STMT_WRITE, "DELETE", "shop", "orders"},
    {"DELETE HISTORY FROM t BEFORE SYSTEM_TIME NOW()", "d", STMT_WRITE, "DELETE", "d", "t"},
    {"DELETE t1, t2 FROM t1 JOIN t2 ON t1.id = t2.id", "d", STMT_WRITE_UNKNOWN, "DELETE", NULL, NULL},
    {"DELETE FROM t1, t2 USING t1 JOIN t2", "d", STMT_WRITE_UNKNOWN, "DELETE", NULL, NULL},
    {"DELETE FROM t1 USING t1 JOIN t2 ON t1.id = t2.id", "d", STMT_WRITE_UNKNOWN, "DELETE", NULL, NULL},
    {"DELETE FROM t1 a JOIN t2 b", "d", STMT_WRITE_UNKNOWN, "DELETE", NULL, NULL},
    /* LOAD DATA: the file name cannot pass for INTO TABLE */
    {"LOAD DATA INFILE '/tmp/INTO TABLE x.y' INTO TABLE shop.orders FIELDS TERMINATED BY ','", NULL, STMT_WRITE,
     "LOAD DATA", "shop", "orders"},
    {"LOAD DATA LOCAL INFILE 'f\\'INTO TABLE a.b' REPLACE INTO TABLE `o`", "shop", STMT_WRITE, "LOAD DATA", "shop",
     "o"},
    {"load xml infile 'f.xml' into table x.y", NULL, STMT_WRITE, "LOAD XML", "x", "y"},
    {"LOAD DATA INFILE 'f'", NULL, STMT_WRITE_UNKNOWN, "LOAD DATA", NULL, NULL},
    {"LOAD INDEX INTO CACHE t", NULL, STMT_OTHER, NULL, NULL, NULL},
    /* writes whose tables the text does not name */
    {"WITH c AS (SELECT 1) UPDATE shop.orders SET qty = 0", NULL, STMT_WRITE_UNKNOWN, "WITH", NULL, NULL},
    {"SELECT shop.add_order(1)", NULL, STMT_WRITE_UNKNOWN, "SELECT", NULL, NULL},
    {"DO shop.add_order(1)", NULL, STMT_WRITE_UNKNOWN, "DO", NULL, NULL},
    {"INSERT INTO", NULL, STMT_WRITE_UNKNOWN, "INSERT", NULL, NULL},
    {"INSERT INTO `unterminated", NULL, STMT_WRITE_UNKNOWN, "INSERT", NULL, NULL},
    {"INSERT INTO db.", NULL, STMT_WRITE_UNKNOWN, "INSERT", NULL, NULL},
    {"INSERT INTO 'a string'", NULL, STMT_WRITE_UNKNOWN, "INSERT", NULL, NULL},
    /* not row writes */
    {"ALTER TABLE shop.orders ADD c INT", "shop", STMT_OTHER, NULL, NULL, NULL},
    {"BEGIN", NULL, STMT_OTHER, NULL, NULL, NULL},
    {"COMMIT", NULL, STMT_OTHER, NULL, NULL, NULL},
    {"", NULL, STMT_OTHER, NULL, NULL, NULL},
    {"   /* only a comment */ ", NULL, STMT_OTHER, NULL, NULL, NULL},
    {"INSERTS INTO a.b", NULL, STMT_OTHER, NULL, NULL, NULL},
    {"CREATE TABLE a.b SELECT * FROM c.d", NULL, STMT_OTHER, NULL, NULL, NULL},
};

static void check_case(const target_case *c, const char *sql, size_t n)
{
    stmt_target t;
    stmt_target_parse(sql, n, c->default_db, &t);
    char where[160];
    snprintf(where, sizeof where, "%.120s", c->sql);
    CU_ASSERT_EQUAL(t.kind, c->kind);
    if (t.kind != c->kind)
        fprintf(stderr, "\n  kind %d, want %d: %s\n", t.kind, c->kind, where);
    CU_ASSERT((t.verb == NULL) == (c->verb == NULL));
    if (t.verb && c->verb)
        CU_ASSERT_STRING_EQUAL(t.verb, c->verb);
    if (c->kind == STMT_WRITE && t.kind == STMT_WRITE) {
        CU_ASSERT_STRING_EQUAL(t.db, c->db);
        CU_ASSERT_STRING_EQUAL(t.table, c->table);
        if (strcmp(t.db, c->db) != 0 || strcmp(t.table, c->table) != 0)
            fprintf(stderr, "\n  got %s.%s, want %s.%s: %s\n", t.db, t.table, c->db, c->table, where);
    } else {
        CU_ASSERT_PTR_NULL(t.db);
        CU_ASSERT_PTR_NULL(t.table);
    }
    stmt_target_clear(&t);
}

static void test_target_table(void)
{
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        check_case(&cases[i], cases[i].sql, strlen(cases[i].sql));
}

/* Statements from the binlog are not NUL-terminated: what follows the
 * given length (the event's checksum, stale bytes) is never read. */
static void test_target_length(void)
{
    const char *sql = "INSERT INTO a.bcdef VALUES (1)";
    target_case c = {sql, NULL, STMT_WRITE, "INSERT", "a", "b"};
    check_case(&c, sql, strlen("INSERT INTO a.b"));
    target_case cut = {sql, NULL, STMT_WRITE_UNKNOWN, "INSERT", NULL, NULL};
    check_case(&cut, sql, strlen("INSERT INTO a."));
    target_case verb = {sql, NULL, STMT_OTHER, NULL, NULL, NULL};
    check_case(&verb, sql, strlen("INSER"));
    /* Any byte, NUL included, inside the statement. */
    static const char nul[] = "UPDATE `a\0b`.t SET v = '\0\xFF'";
    stmt_target t;
    stmt_target_parse(nul, sizeof nul - 1, NULL, &t);
    CU_ASSERT_EQUAL(t.kind, STMT_WRITE);
    CU_ASSERT_STRING_EQUAL(t.db, "a"); /* a C string: the name stops at its NUL */
    CU_ASSERT_STRING_EQUAL(t.table, "t");
    stmt_target_clear(&t);
    CU_ASSERT_PTR_NULL(t.db);
}

int suite_stmt_target(void)
{
    CU_pSuite s = CU_add_suite("stmt_target", NULL, NULL);
    if (!s || !CU_add_test(s, "write target of each statement form", test_target_table) ||
        !CU_add_test(s, "only the given bytes are read", test_target_length))
        return -1;
    return 0;
}
