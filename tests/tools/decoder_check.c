/* decoder_check: the binlog decoder against a real server, value by value.
 *
 * On the source server it creates a table with every column type, fills
 * it with tricky values (extremes, zero dates, negative TIME fractions,
 * binary zeros, emoji, a 1 MB LONGBLOB...), then changes a second table
 * with FULL and MINIMAL row images. It reads those transactions back from
 * the binlog (from @@gtid_binlog_pos taken before the DML), decodes them
 * with agent/vrepl/decoder.c (table maps filled from information_schema),
 * and checks:
 *   a) replaying the decoded rows as SQL (dec_value_render_sql, on a
 *      connection with SET NAMES binary, time_zone +00:00 and a non-strict
 *      sql_mode) into clone tables reproduces every column exactly;
 *   b) selected decoded values are literally what they should be;
 *   c) UPDATE/DELETE images, and the columns MINIMAL images leave out,
 *      are what the server logged.
 * One line per check, a summary, exit status 1 on any failure.
 *
 *   decoder_check [--host H] [--port P] [--user U] [--password-file F]
 *                 [--admin-socket S] [--db NAME] [--keep] [--compress]
 *
 * --compress runs the DML with the global log_bin_compress=ON (and a 10
 * byte threshold), so the rows arrive as MariaDB's compressed events; the
 * previous settings are restored right after the DML.
 *
 * Defaults come from the environment the sandbox prints (SOURCE_HOST,
 * SOURCE_PORT, AGENT_USER, AGENT_PASSWORD_FILE, SANDBOX_DIR), else the
 * sandbox's own: 127.0.0.1:23306, agent, .sandbox/agent.pass. The DML runs
 * as root over the admin socket (default $SANDBOX_DIR/source/mariadbd.sock)
 * because binlog_row_image=MINIMAL needs BINLOG ADMIN; the binlog is read,
 * and the clones written, as the agent user. */
#include <mysql.h>
#include <mariadb_rpl.h> /* after mysql.h, which it needs */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "db/db.h"
#include "db/schema.h"
#include "lib/secret.h"
#include "vrepl/decoder.h"

#define CHECK_TABLES 4
/* "ünïcødé" */
#define CHECK_UNICODE_NAME "\xc3\xbc" "n" "\xc3\xaf" "c" "\xc3\xb8" "d" "\xc3\xa9"

typedef struct check_opts {
    const char *host, *user, *password_file, *admin_socket, *db;
    unsigned port;
    bool keep;
    bool compress;
} check_opts;

/* A table map, filled from the schema, which is kept for its
 * generated-column flags. */
typedef struct check_table {
    dec_table *t;
    schema_table *s;
} check_table;

/* One decoded ROWS event and the table map it was decoded with. */
typedef struct check_event {
    dec_table *t; /* owned by the checker's table list */
    const schema_table *s;
    dec_rows rows;
} check_event;

typedef struct checker {
    check_opts o;
    MYSQL *admin; /* root: DDL and the DML under test */
    MYSQL *clone; /* agent, SET NAMES binary: replays into the clones */
    unsigned checks, failures;
    check_table *tables; /* every table map seen, freed at the end */
    size_t ntables;
    check_event *events;
    size_t nevents;
    size_t ncompressed; /* of those, compressed on the wire */
} checker;

/* ---- reporting -------------------------------------------------------------- */

static void check_report(checker *ck, bool ok, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void check_report(checker *ck, bool ok, const char *fmt, ...)
{
    va_list ap;
    ck->checks++;
    if (!ok)
        ck->failures++;
    printf("%s ", ok ? "ok  " : "FAIL");
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    putchar('\n');
    fflush(stdout);
}

static int check_sql(checker *ck, MYSQL *m, const char *sql)
{
    sbuf err = SBUF_INIT;
    int e = db_exec(m, sql, &err);
    if (e) {
        size_t n = strlen(sql);
        check_report(ck, false, "SQL failed: %s [%.*s%s]", sbuf_cstr(&err), n > 200 ? 200 : (int)n,
                     sql, n > 200 ? "..." : "");
    }
    sbuf_free(&err);
    return e;
}

static int check_sqlf(checker *ck, MYSQL *m, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int check_sqlf(checker *ck, MYSQL *m, const char *fmt, ...)
{
    sbuf q = SBUF_INIT;
    va_list ap;
    va_start(ap, fmt);
    sbuf_vaddf(&q, fmt, ap);
    va_end(ap);
    int e = check_sql(ck, m, sbuf_cstr(&q));
    sbuf_free(&q);
    return e;
}

/* First column of the first row, as a C string (empty when none). */
static int check_value(checker *ck, MYSQL *m, const char *sql, sbuf *out)
{
    sbuf err = SBUF_INIT;
    bool found;
    int e = db_query_value(m, sql, out, &found, &err);
    if (e)
        check_report(ck, false, "query failed: %s [%s]", sbuf_cstr(&err), sql);
    sbuf_free(&err);
    return e;
}

/* ---- the workload ------------------------------------------------------------ */

/* Every type the decoder handles; `orig` only gets INSERTs, `mut` gets
 * UPDATEs and DELETEs too; each has a clone with the same definition. */
static const char check_columns[] =
    "id int primary key,"
    " ti tinyint, tu tinyint unsigned, si smallint, su smallint unsigned,"
    " mi mediumint, mu mediumint unsigned, i int, iu int unsigned,"
    " bi bigint, bu bigint unsigned,"
    " dbig decimal(65,30), dsm decimal(5,2), f float, d double, b1 bit(1), b64 bit(64),"
    " y year, dt date, tm time, tm6 time(6), tm3 time(3), dtm datetime, dtm6 datetime(6),"
    " ts timestamp null default null, ts6 timestamp(6) null default null,"
    " c_u8 char(10) charset utf8mb4, c_l1 char(10) charset latin1,"
    " vc varchar(300) charset utf8mb4, bn binary(8), vb varbinary(20),"
    " tt tinytext, tx text, mt mediumtext charset utf8mb4, lt longtext, tb tinyblob, bl blob,"
    " mb mediumblob, lb longblob, e enum('a','b','c','it''s'), s set('x','y','z'), j json,"
    " geo geometry, pt point, u uuid, i6 inet6,"
    " `we``ird col` varchar(10), `" CHECK_UNICODE_NAME "` varchar(10) charset utf8mb4,"
    " gv int as (id * 2) virtual, gs varchar(20) as (concat('x', id)) stored";

/* Every column but the generated gv and gs. */
static const char check_insert_columns[] =
    "id, ti, tu, si, su, mi, mu, i, iu, bi, bu, dbig, dsm, f, d, b1, b64, y, dt, tm, tm6, tm3,"
    " dtm, dtm6, ts, ts6, c_u8, c_l1, vc, bn, vb, tt, tx, mt, lt, tb, bl, mb, lb, e, s, j, geo,"
    " pt, u, i6, `we``ird col`, `" CHECK_UNICODE_NAME "`";

static const char *const check_rows[] = {
    /* 1: minimums and negatives, emoji, zeros inside and at the end */
    "(1, -128, 0, -32768, 0, -8388608, 0, -2147483648, 0, -9223372036854775808, 0,"
    " '-99999999999999999999999999999999999.999999999999999999999999999999', -999.99,"
    " -3.40282e38, -1.7976931348623157e308, 0, 0, 0, '1000-01-01', '-838:59:59',"
    " '-838:59:59.000000', '-838:59:59.999', '1000-01-01 00:00:00', '1000-01-01 00:00:00.000001',"
    " '1970-01-01 00:00:01', '1970-01-01 00:00:01.000001', '\xc3\xa4\xf0\x9f\x98\x80', 'x\xc3\xa4',"
    " CONCAT('a', CHAR(0), 'b''c\\\\d\\n\\r', CHAR(26), '\xf0\x9f\x98\x80'), x'00ff00ff', x'0000ff00',"
    " 'tiny', 'text', 'medium', 'long', x'00', x'0001', x'000102', x'ff00',"
    " 'a', 'x', '{\"k\": [1, \"two\", null], \"e\": \"\xf0\x9f\x98\x80\"}',"
    " ST_GeomFromText('LINESTRING(0 0, 1 1, 2 -2.5)', 4326), ST_GeomFromText('POINT(1 2)'),"
    " '00112233-4455-1677-8899-aabbccddeeff', '::1', 'w', '\xc3\xbc')",
    /* 2: maximums, BIT(64) all ones, the largest TIMEs */
    "(2, 127, 255, 32767, 65535, 8388607, 16777215, 2147483647, 4294967295,"
    " 9223372036854775807, 18446744073709551615,"
    " '99999999999999999999999999999999999.999999999999999999999999999999', 999.99,"
    " 3.40282e38, 1.7976931348623157e308, 1, b'1111111111111111111111111111111111111111111111111111111111111111',"
    " 2155, '9999-12-31', '838:59:59', '838:59:59.999999', '838:59:59.999',"
    " '9999-12-31 23:59:59', '9999-12-31 23:59:59.999999', '2038-01-19 03:14:07',"
    " '2038-01-19 03:14:07.999999', 'abcdefghij', 'abcdefghij', REPEAT('\xc3\xa9', 300),"
    " x'0102030405060708', REPEAT(x'ff', 20), REPEAT('t', 255), REPEAT('x', 65535),"
    " REPEAT('m', 70000), REPEAT('l', 100000), REPEAT(x'ab', 255), REPEAT(x'cd', 65535),"
    " REPEAT(x'ef', 70000), REPEAT(x'01', 100000), 'it''s', 'x,y,z', '[]',"
    " ST_GeomFromText('POLYGON((0 0, 10 0, 10 10, 0 10, 0 0))'), ST_GeomFromText('POINT(-1.5 1e300)'),"
    " 'ffffffff-ffff-ffff-ffff-ffffffffffff', 'ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff',"
    " 'we''ird', '\xe2\x82\xac')",
    /* 3: all NULL */
    "(3, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,"
    " NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,"
    " NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,"
    " NULL, NULL, NULL)",
    /* 4: zeros, empty strings (not NULL), zero dates */
    "(4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, '0000-00-00', '00:00:00',"
    " '00:00:00.000000', '00:00:00.000', '0000-00-00 00:00:00', '0000-00-00 00:00:00.000000',"
    " '0000-00-00 00:00:00', '0000-00-00 00:00:00.000000', '', '', '', x'', '', '', '', '', '',"
    " '', '', '', '', '', '', '\"\"', NULL, NULL, '00000000-0000-0000-0000-000000000000', '::',"
    " '', '')",
    /* 5: small negatives: DECIMAL -0.01, TIME -00:00:01.5, partial zero dates */
    "(5, -1, 1, -1, 1, -1, 1, -1, 1, -1, 1, '-0.000000000000000000000000000001', '-0.01',"
    " -1.17549435e-38, -4.9406564584124654e-324, 1, 1, 1901, '2020-00-00', '-00:00:01',"
    " '-00:00:01.5', '-00:00:00.5', '2020-00-00 00:00:00', '2020-02-00 12:00:00.5',"
    " '2000-02-29 12:34:56', '2000-02-29 12:34:56.5', ' a', ' a', ' a ', x'0000000000000001',"
    " x'00', ' ', '  ', 'a ', ' ', x'20', x'2000', x'00000000', x'0000000000000001',"
    " 'b', 'y,z', '{}', ST_GeomFromText('GEOMETRYCOLLECTION(POINT(1 1), LINESTRING(0 0, 1 1))'),"
    " ST_GeomFromText('POINT(0 0)'), '018f4e1c-7d3a-7abc-8def-0123456789ab', '::ffff:1.2.3.4',"
    " '', ' ')",
    /* 6: DECIMAL with leading zeros, odd floats, UUID v4, a 1 MB LONGBLOB */
    "(6, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, '000123.450', '000123.450', 0.1, 0.1, 0, 2, 1999,"
    " '2024-02-29', '-12:34:56', '-00:00:00.000001', '12:34:56.789', '2024-02-29 23:59:59',"
    " '2024-02-29 23:59:59.123456', '2024-02-29 23:59:59', '2024-02-29 23:59:59.999999',"
    " 'it''s', '\\\\', 'line\\nbreak', x'41', x'5c27', 'a\\tb', '\xf0\x9f\x98\x80\xf0\x9f\x98\x80',"
    " REPEAT('\xf0\x9f\x98\x80', 25000), 'x', x'ff', x'00ff00', x'ffffff',"
    " CONCAT(REPEAT(x'00010203fffefdfc', 131072), x'000000'), 'c', 'x,z',"
    " '{\"a\": 1.5e300, \"b\": -0.0, \"c\": \"\\\\u0000\"}', ST_GeomFromText('POINT(3 4)', 3857),"
    " ST_GeomFromText('POINT(5 6)'), '6ba7b810-9dad-41d1-80b4-00c04fd43000', '2001:db8::ff00:42:8329',"
    " 'zz', 'zz')",
};

static const char *const check_mut_sql[] = {
    "UPDATE `%s`.mut SET vc = 'changed', tm6 = '-00:00:02.25', lb = NULL WHERE id = 1",
    "DELETE FROM `%s`.mut WHERE id = 2",
    "SET SESSION binlog_row_image = MINIMAL",
    "UPDATE `%s`.mut SET dsm = -0.02, b64 = 2 WHERE id = 5",
    "UPDATE `%s`.mut SET u = '00000000-0000-0000-0000-000000000001', bn = x'00' WHERE id = 4",
    "DELETE FROM `%s`.mut WHERE id = 1",
    "SET SESSION binlog_row_image = FULL",
};

static int check_setup(checker *ck)
{
    const char *db = ck->o.db;
    static const char *const tables[CHECK_TABLES] = {"orig", "orig_clone", "mut", "mut_clone"};
    if (check_sqlf(ck, ck->admin, "DROP DATABASE IF EXISTS `%s`", db) ||
        check_sqlf(ck, ck->admin, "CREATE DATABASE `%s`", db))
        return -1;
    for (int i = 0; i < CHECK_TABLES; i++)
        if (check_sqlf(ck, ck->admin, "CREATE TABLE `%s`.`%s` (%s) CHARSET utf8mb4", db, tables[i],
                       check_columns))
            return -1;
    return 0;
}

static int check_dml(checker *ck)
{
    const char *db = ck->o.db;
    if (check_sql(ck, ck->admin, "SET time_zone = '+00:00'") ||
        check_sql(ck, ck->admin, "SET sql_mode = 'NO_ENGINE_SUBSTITUTION'"))
        return -1;
    size_t n = sizeof check_rows / sizeof check_rows[0];
    for (size_t i = 0; i < n; i++) {
        if (check_sqlf(ck, ck->admin, "INSERT INTO `%s`.orig (%s) VALUES %s", db,
                       check_insert_columns, check_rows[i]) ||
            check_sqlf(ck, ck->admin, "INSERT INTO `%s`.mut (%s) VALUES %s", db,
                       check_insert_columns, check_rows[i]))
            return -1;
    }
    for (size_t i = 0; i < sizeof check_mut_sql / sizeof check_mut_sql[0]; i++)
        if (check_sqlf(ck, ck->admin, check_mut_sql[i], db))
            return -1;
    return 0;
}

/* The DML, with binlog compression on for its duration when asked. */
static int check_workload(checker *ck)
{
    if (!ck->o.compress)
        return check_dml(ck);
    sbuf on = SBUF_INIT, len = SBUF_INIT;
    if (check_value(ck, ck->admin, "SELECT @@global.log_bin_compress", &on) ||
        check_value(ck, ck->admin, "SELECT @@global.log_bin_compress_min_len", &len) ||
        check_sql(ck, ck->admin, "SET GLOBAL log_bin_compress_min_len = 10") ||
        check_sql(ck, ck->admin, "SET GLOBAL log_bin_compress = ON")) {
        sbuf_free(&on);
        sbuf_free(&len);
        return -1;
    }
    int rc = check_dml(ck);
    rc |= check_sqlf(ck, ck->admin, "SET GLOBAL log_bin_compress = %s", sbuf_cstr(&on));
    rc |= check_sqlf(ck, ck->admin, "SET GLOBAL log_bin_compress_min_len = %s", sbuf_cstr(&len));
    sbuf_free(&on);
    sbuf_free(&len);
    return rc ? -1 : 0;
}

/* ---- reading the binlog --------------------------------------------------------- */

static const check_table *check_table_by_id(checker *ck, uint64_t id)
{
    for (size_t i = ck->ntables; i-- > 0;)
        if (ck->tables[i].t->id == id)
            return &ck->tables[i];
    return NULL;
}

static void check_table_map(checker *ck, MYSQL *meta, const uint8_t *body, size_t len)
{
    sbuf err = SBUF_INIT;
    dec_table *t = NULL;
    if (dec_table_map_parse(body, len, &t, &err) != 0) {
        check_report(ck, false, "TABLE_MAP decode: %s", sbuf_cstr(&err));
        sbuf_free(&err);
        return;
    }
    if (strcmp(t->schema, ck->o.db) != 0) {
        dec_table_free(t); /* someone else's table */
        sbuf_free(&err);
        return;
    }
    schema_table *s = NULL;
    if (schema_table_load(meta, t->schema, t->name, &s, &err) != 0 ||
        dec_table_fill(t, s, &err) != 0)
        check_report(ck, false, "table %s: %s", t->name, sbuf_cstr(&err));
    ck->tables = xrealloc(ck->tables, (ck->ntables + 1) * sizeof *ck->tables);
    ck->tables[ck->ntables++] = (check_table){t, s};
    sbuf_free(&err);
}

static void check_rows_event(checker *ck, uint8_t type, const uint8_t *body, size_t len)
{
    sbuf err = SBUF_INIT;
    uint64_t id;
    const check_table *ct;
    if (dec_rows_table_id(type, body, len, &id, &err) != 0 || !(ct = check_table_by_id(ck, id))) {
        sbuf_free(&err);
        return; /* not one of ours */
    }
    check_event ev = {.t = ct->t, .s = ct->s};
    if (dec_rows_parse(ct->t, type, body, len, &ev.rows, &err) != 0) {
        check_report(ck, false, "ROWS decode (type %u, %zu bytes): %s", type, len, sbuf_cstr(&err));
    } else {
        ck->events = xrealloc(ck->events, (ck->nevents + 1) * sizeof *ck->events);
        ck->events[ck->nevents++] = ev;
        ck->ncompressed += type >= 166 && type <= 171;
    }
    sbuf_free(&err);
}

static int check_stream_open(checker *ck, MYSQL *m, const char *gtid, MARIADB_RPL **out)
{
    sbuf q = SBUF_INIT;
    sbuf_adds(&q, "SET @slave_connect_state = ");
    db_add_cstring(&q, gtid);
    int e = check_sql(ck, m, "SET @master_binlog_checksum = @@global.binlog_checksum") ||
            check_sql(ck, m, "SET @mariadb_slave_capability = 4") ||
            check_sql(ck, m, sbuf_cstr(&q)) || check_sql(ck, m, "SET @slave_gtid_strict_mode = 1");
    sbuf_free(&q);
    if (e)
        return -1;
    MARIADB_RPL *rpl = mariadb_rpl_init(m);
    unsigned server_id = 3000000 + (unsigned)getpid() % 1000000;
    mariadb_rpl_optionsv(rpl, MARIADB_RPL_SERVER_ID, server_id);
    mariadb_rpl_optionsv(rpl, MARIADB_RPL_FILENAME, "", 0);
    mariadb_rpl_optionsv(rpl, MARIADB_RPL_START, 4);
    mariadb_rpl_optionsv(rpl, MARIADB_RPL_FLAGS, 1 /* BINLOG_DUMP_NON_BLOCK */);
    if (mariadb_rpl_open(rpl)) {
        check_report(ck, false, "binlog dump: %s", mysql_error(m));
        mariadb_rpl_close(rpl);
        return -1;
    }
    *out = rpl;
    return 0;
}

/* Everything from gtid to the current end of the binlog. */
static int check_stream(checker *ck, const db_endpoint *ep, const char *gtid)
{
    MYSQL *m = NULL, *meta = NULL;
    sbuf err = SBUF_INIT, crc = SBUF_INIT;
    MARIADB_RPL *rpl = NULL;
    int rc = -1;
    if (db_connect(ep, 0, &m, &err) || db_connect(ep, 0, &meta, &err)) {
        check_report(ck, false, "connect for the binlog: %s", sbuf_cstr(&err));
        goto out;
    }
    if (check_value(ck, meta, "SELECT @@global.binlog_checksum", &crc) ||
        check_stream_open(ck, m, gtid, &rpl))
        goto out;
    size_t tail = strcmp(sbuf_cstr(&crc), "NONE") == 0 ? 0 : 4;
    MARIADB_RPL_EVENT *ev = NULL;
    size_t nevents = 0;
    while ((ev = mariadb_rpl_fetch(rpl, ev)) != NULL) {
        nevents++;
        uint8_t type = (uint8_t)ev->event_type;
        if (ev->event_length < 19 + tail || ev->raw_data_size < (size_t)ev->event_length + 1)
            continue;
        const uint8_t *body = (const uint8_t *)ev->raw_data + 1 + 19;
        size_t len = ev->event_length - 19 - tail;
        if (type == BINLOG_TABLE_MAP)
            check_table_map(ck, meta, body, len);
        else if (dec_is_rows_event(type))
            check_rows_event(ck, type, body, len);
    }
    mariadb_free_rpl_event(ev);
    rc = mysql_errno(m) ? -1 : 0;
    check_report(ck, rc == 0, "binlog read from %s: %zu events, %zu of them rows of `%s` (%s)", gtid,
                 nevents, ck->nevents, ck->o.db, rc ? mysql_error(m) : "to the end");
    if (ck->o.compress)
        check_report(ck, ck->ncompressed > 0, "%zu of the rows events were compressed (166-171)",
                     ck->ncompressed);
out:
    if (rpl)
        mariadb_rpl_close(rpl);
    if (m)
        mysql_close(m);
    if (meta)
        mysql_close(meta);
    sbuf_free(&err);
    sbuf_free(&crc);
    return rc;
}

/* ---- replaying into the clones ---------------------------------------------------- */

/* Generated columns are computed by the server: never assigned. */
static void check_add_assignments(const check_event *ev, sbuf *q, const dec_row *r)
{
    const dec_table *t = ev->t;
    bool first = true;
    for (uint32_t c = 0; c < t->ncols; c++) {
        if (r->vals[c].kind == DEC_ABSENT || (ev->s && c < ev->s->ncols && ev->s->cols[c].generated))
            continue;
        if (!first)
            sbuf_adds(q, ", ");
        first = false;
        db_add_ident(q, t->cols[c].name);
        sbuf_adds(q, " = ");
        dec_value_render_sql(t, r, c, q);
    }
}

static int check_replay_row(checker *ck, const check_event *ev, size_t i)
{
    const dec_table *t = ev->t;
    sbuf q = SBUF_INIT;
    switch (ev->rows.kind) {
    case DEC_ROWS_INSERT:
        sbuf_addf(&q, "INSERT INTO `%s`.`%s_clone` SET ", t->schema, t->name);
        check_add_assignments(ev, &q, &ev->rows.after[i]);
        break;
    case DEC_ROWS_UPDATE:
        sbuf_addf(&q, "UPDATE `%s`.`%s_clone` SET ", t->schema, t->name);
        check_add_assignments(ev, &q, &ev->rows.after[i]);
        sbuf_adds(&q, " WHERE id = ");
        dec_value_render_sql(t, &ev->rows.before[i], 0, &q);
        break;
    case DEC_ROWS_DELETE:
        sbuf_addf(&q, "DELETE FROM `%s`.`%s_clone` WHERE id = ", t->schema, t->name);
        dec_value_render_sql(t, &ev->rows.before[i], 0, &q);
        break;
    }
    sbuf err = SBUF_INIT;
    int e = db_execn(ck->clone, q.buf, q.len, &err);
    if (e == 0 && mysql_affected_rows(ck->clone) != 1)
        e = -1, sbuf_setf(&err, "%llu rows affected", (unsigned long long)mysql_affected_rows(ck->clone));
    if (e)
        check_report(ck, false, "replay %s row %zu into %s_clone: %s", ev->rows.kind == DEC_ROWS_INSERT
                     ? "INSERT" : ev->rows.kind == DEC_ROWS_UPDATE ? "UPDATE" : "DELETE", i + 1,
                     t->name, sbuf_cstr(&err));
    sbuf_free(&err);
    sbuf_free(&q);
    return e;
}

static void check_replay(checker *ck)
{
    size_t nrows = 0, nfail = 0;
    for (size_t k = 0; k < ck->nevents; k++) {
        if (strstr(ck->events[k].t->name, "_clone"))
            continue;
        for (size_t i = 0; i < ck->events[k].rows.nrows; i++, nrows++)
            nfail += check_replay_row(ck, &ck->events[k], i) != 0;
    }
    check_report(ck, nfail == 0, "replayed %zu decoded row changes into the clones (%zu failed)",
                 nrows, nfail);
}

/* orig vs clone, one column at a time, with a comparison exact for its
 * type: floats by value; geometry by bytes; the rest by value and bytes
 * (HEX catches what collations and PAD SPACE consider equal). */
static void check_compare_column(checker *ck, const char *table, const schema_column *c)
{
    sbuf q = SBUF_INIT, out = SBUF_INIT, col = SBUF_INIT;
    db_add_ident(&col, c->name);
    const char *cs = sbuf_cstr(&col);
    sbuf_addf(&q, "SELECT COUNT(*), MIN(o.id) FROM `%s`.`%s` o JOIN `%s`.`%s_clone` c USING (id) "
                  "WHERE NOT ",
              ck->o.db, table, ck->o.db, table);
    if (strcmp(c->data_type, "float") == 0 || strcmp(c->data_type, "double") == 0)
        sbuf_addf(&q, "(o.%s <=> c.%s)", cs, cs);
    else if (strstr("geometry point linestring polygon geometrycollection", c->data_type))
        sbuf_addf(&q, "(HEX(o.%s) <=> HEX(c.%s))", cs, cs);
    else
        sbuf_addf(&q, "(o.%s <=> c.%s AND HEX(o.%s) <=> HEX(c.%s))", cs, cs, cs, cs);
    MYSQL_RES *res;
    sbuf err = SBUF_INIT;
    if (db_query(ck->admin, sbuf_cstr(&q), &res, &err) != 0) {
        check_report(ck, false, "%s.%s: compare query failed: %s", table, c->name, sbuf_cstr(&err));
    } else {
        MYSQL_ROW row = mysql_fetch_row(res);
        bool ok = row && row[0] && strcmp(row[0], "0") == 0;
        check_report(ck, ok, "%s.%s (%s) equals %s_clone.%s%s%s", table, c->name, c->column_type,
                     table, c->name, ok ? "" : ": first differing id ", ok ? "" : row[1]);
        mysql_free_result(res);
    }
    sbuf_free(&err);
    sbuf_free(&q);
    sbuf_free(&out);
    sbuf_free(&col);
}

static void check_compare_table(checker *ck, const char *table)
{
    sbuf q = SBUF_INIT, a = SBUF_INIT, b = SBUF_INIT, err = SBUF_INIT;
    sbuf_addf(&q, "SELECT GROUP_CONCAT(id ORDER BY id) FROM `%s`.`%s`", ck->o.db, table);
    check_value(ck, ck->admin, sbuf_cstr(&q), &a);
    sbuf_reset(&q);
    sbuf_addf(&q, "SELECT GROUP_CONCAT(id ORDER BY id) FROM `%s`.`%s_clone`", ck->o.db, table);
    check_value(ck, ck->admin, sbuf_cstr(&q), &b);
    check_report(ck, strcmp(sbuf_cstr(&a), sbuf_cstr(&b)) == 0, "%s and %s_clone hold the same ids "
                 "(%s / %s)", table, table, sbuf_cstr(&a), sbuf_cstr(&b));
    schema_table *s = NULL;
    if (schema_table_load(ck->admin, ck->o.db, table, &s, &err) != 0) {
        check_report(ck, false, "schema of %s: %s", table, sbuf_cstr(&err));
    } else {
        for (size_t i = 1; i < s->ncols; i++)
            check_compare_column(ck, table, &s->cols[i]);
    }
    schema_table_free(s);
    sbuf_free(&q);
    sbuf_free(&a);
    sbuf_free(&b);
    sbuf_free(&err);
}

/* ---- literal expectations ------------------------------------------------------------ */

static int64_t check_row_id(const dec_row *r)
{
    return r->vals[0].kind == DEC_INT ? r->vals[0].num.i : -1;
}

/* The after image of the INSERT of row id into table. */
static const dec_row *check_inserted(checker *ck, const char *table, int64_t id, const dec_table **t)
{
    for (size_t k = 0; k < ck->nevents; k++) {
        const check_event *ev = &ck->events[k];
        if (ev->rows.kind != DEC_ROWS_INSERT || strcmp(ev->t->name, table) != 0)
            continue;
        for (size_t i = 0; i < ev->rows.nrows; i++)
            if (check_row_id(&ev->rows.after[i]) == id) {
                *t = ev->t;
                return &ev->rows.after[i];
            }
    }
    return NULL;
}

static uint32_t check_col(const dec_table *t, const char *name)
{
    for (uint32_t i = 0; i < t->ncols; i++)
        if (t->cols[i].name && strcmp(t->cols[i].name, name) == 0)
            return i;
    return UINT32_MAX;
}

typedef struct check_literal {
    int64_t id;
    const char *col;
    const char *sql; /* what dec_value_render_sql must produce */
} check_literal;

static const check_literal check_literals[] = {
    {1, "ti", "-128"},
    {1, "bi", "-9223372036854775808"},
    {1, "dbig", "'-99999999999999999999999999999999999.999999999999999999999999999999'"},
    {1, "y", "0"},
    {1, "tm6", "'-838:59:59.000000'"},
    {1, "tm3", "'-838:59:59.999'"},
    {1, "ts6", "'1970-01-01 00:00:01.000001'"},
    {1, "bn", "'\\0\xff\\0\xff\\0\\0\\0\\0'"},
    {1, "vb", "'\\0\\0\xff\\0'"},
    {1, "u", "_utf8mb4'00112233-4455-1677-8899-aabbccddeeff'"},
    {1, "i6", "_utf8mb4'::1'"},
    {1, "e", "1"},
    {2, "bu", "18446744073709551615"},
    {2, "b64", "18446744073709551615"},
    {2, "tm", "'838:59:59'"},
    {2, "tm6", "'838:59:59.999999'"},
    {2, "y", "2155"},
    {2, "e", "4"},
    {2, "s", "7"},
    {2, "dtm6", "'9999-12-31 23:59:59.999999'"},
    {2, "ts", "'2038-01-19 03:14:07'"},
    {3, "lb", "NULL"},
    {4, "dt", "'0000-00-00'"},
    {4, "dtm", "'0000-00-00 00:00:00'"},
    {4, "ts", "'0000-00-00 00:00:00'"},
    {4, "ts6", "'0000-00-00 00:00:00.000000'"},
    {4, "bn", "'\\0\\0\\0\\0\\0\\0\\0\\0'"},
    {4, "vb", "''"},
    {4, "lb", "''"},
    {4, "u", "_utf8mb4'00000000-0000-0000-0000-000000000000'"},
    {4, "i6", "_utf8mb4'::'"},
    {5, "dsm", "'-0.01'"},
    {5, "dbig", "'-0.000000000000000000000000000001'"},
    {5, "tm6", "'-00:00:01.500000'"},
    {5, "tm3", "'-00:00:00.500'"},
    {5, "tm", "'-00:00:01'"},
    {5, "dt", "'2020-00-00'"},
    {5, "dtm6", "'2020-02-00 12:00:00.500000'"},
    {5, "y", "1901"},
    {5, "c_u8", "' a'"},
    {5, "vc", "' a '"},
    {5, "u", "_utf8mb4'018f4e1c-7d3a-7abc-8def-0123456789ab'"},
    {5, "i6", "_utf8mb4'::ffff:1.2.3.4'"},
    {5, "f", "-1.17549435e-38"},
    {5, "d", "-4.9406564584124654e-324"},
    {6, "dsm", "'123.45'"},
    {6, "dbig", "'123.450000000000000000000000000000'"},
    {6, "f", "0.100000001"},
    {6, "d", "0.10000000000000001"},
    {6, "tm6", "'-00:00:00.000001'"},
    {6, "i6", "_utf8mb4'2001:db8::ff00:42:8329'"},
    {6, "gv", "12"},
    {6, "gs", "'x6'"},
};

static void check_literals_all(checker *ck)
{
    sbuf out = SBUF_INIT;
    for (size_t k = 0; k < sizeof check_literals / sizeof check_literals[0]; k++) {
        const check_literal *l = &check_literals[k];
        const dec_table *t = NULL;
        const dec_row *r = check_inserted(ck, "orig", l->id, &t);
        uint32_t c = t ? check_col(t, l->col) : UINT32_MAX;
        sbuf_reset(&out);
        if (r && c != UINT32_MAX)
            dec_value_render_sql(t, r, c, &out);
        bool ok = r && c != UINT32_MAX && out.len == strlen(l->sql) && memcmp(out.buf, l->sql, out.len) == 0;
        sbuf text = SBUF_INIT;
        if (r && c != UINT32_MAX)
            dec_value_render_text(t, r, c, &text);
        check_report(ck, ok, "decoded orig id=%lld %s = %s%s%s", (long long)l->id, l->col,
                     sbuf_cstr(&text), ok ? "" : ", expected SQL ", ok ? "" : l->sql);
        sbuf_free(&text);
    }
    /* 1 MB LONGBLOB: length and a sample of bytes. */
    const dec_table *t = NULL;
    const dec_row *r = check_inserted(ck, "orig", 6, &t);
    uint32_t c = t ? check_col(t, "lb") : UINT32_MAX;
    bool ok = r && c != UINT32_MAX && r->vals[c].kind == DEC_BYTES && r->vals[c].len == 1048579 &&
              memcmp(dec_value_bytes(r, &r->vals[c]) + 1048572, "\xff\xfe\xfd\xfc\0\0\0", 7) == 0;
    check_report(ck, ok, "decoded orig id=6 lb: %u bytes of LONGBLOB", r && c != UINT32_MAX ? r->vals[c].len : 0);
    sbuf_free(&out);
}

/* ---- UPDATE/DELETE images and MINIMAL ------------------------------------------------ */

/* The names of the columns present in an image, "a,b". */
static void check_present(const dec_table *t, const dec_row *r, sbuf *out)
{
    for (uint32_t c = 0; c < t->ncols; c++) {
        if (r->vals[c].kind == DEC_ABSENT)
            continue;
        if (out->len)
            sbuf_addc(out, ',');
        sbuf_adds(out, t->cols[c].name);
    }
}

/* Columns whose SQL differs between two images. */
static void check_changed(const dec_table *t, const dec_row *a, const dec_row *b, sbuf *out)
{
    sbuf x = SBUF_INIT, y = SBUF_INIT;
    for (uint32_t c = 0; c < t->ncols; c++) {
        sbuf_reset(&x);
        sbuf_reset(&y);
        dec_value_render_sql(t, a, c, &x);
        dec_value_render_sql(t, b, c, &y);
        if (x.len == y.len && memcmp(sbuf_cstr(&x), sbuf_cstr(&y), x.len) == 0)
            continue;
        if (out->len)
            sbuf_addc(out, ',');
        sbuf_adds(out, t->cols[c].name);
    }
    sbuf_free(&x);
    sbuf_free(&y);
}

/* The n-th change event of mut, of a kind. */
static const check_event *check_mut_event(checker *ck, dec_rows_kind kind, int nth)
{
    for (size_t k = 0; k < ck->nevents; k++)
        if (ck->events[k].rows.kind == kind && strcmp(ck->events[k].t->name, "mut") == 0 &&
            nth-- == 0)
            return &ck->events[k];
    return NULL;
}

static void check_expect_str(checker *ck, const char *what, const sbuf *got, const char *want)
{
    bool ok = strcmp(sbuf_cstr(got), want) == 0;
    check_report(ck, ok, "%s: %s%s%s", what, sbuf_cstr(got), ok ? "" : ", expected ", ok ? "" : want);
}

static void check_images(checker *ck)
{
    sbuf s = SBUF_INIT;
    const dec_table *ti = NULL;
    const check_event *u1 = check_mut_event(ck, DEC_ROWS_UPDATE, 0);
    const dec_row *ins1 = check_inserted(ck, "mut", 1, &ti);
    if (!u1 || !ins1 || u1->rows.nrows != 1) {
        check_report(ck, false, "mut: the FULL update of id 1 was not decoded");
    } else {
        check_changed(u1->t, ins1, &u1->rows.before[0], &s);
        check_expect_str(ck, "FULL update id=1: before image vs inserted row, columns differing", &s, "");
        sbuf_reset(&s);
        check_changed(u1->t, &u1->rows.before[0], &u1->rows.after[0], &s);
        check_expect_str(ck, "FULL update id=1: columns changed", &s, "tm6,vc,lb");
    }
    const check_event *d1 = check_mut_event(ck, DEC_ROWS_DELETE, 0);
    const dec_row *ins2 = check_inserted(ck, "mut", 2, &ti);
    sbuf_reset(&s);
    if (!d1 || !ins2) {
        check_report(ck, false, "mut: the FULL delete of id 2 was not decoded");
    } else {
        check_changed(d1->t, ins2, &d1->rows.before[0], &s);
        check_expect_str(ck, "FULL delete id=2: before image vs inserted row, columns differing", &s, "");
    }
    struct {
        dec_rows_kind kind;
        int nth;
        const char *what, *before, *after;
    } minimal[] = {
        /* The STORED generated column is logged although it did not change. */
        {DEC_ROWS_UPDATE, 1, "MINIMAL update id=5", "id", "dsm,b64,gs"},
        {DEC_ROWS_UPDATE, 2, "MINIMAL update id=4", "id", "bn,u,gs"},
        {DEC_ROWS_DELETE, 1, "MINIMAL delete id=1", "id", NULL},
    };
    for (size_t k = 0; k < sizeof minimal / sizeof minimal[0]; k++) {
        const check_event *ev = check_mut_event(ck, minimal[k].kind, minimal[k].nth);
        if (!ev || ev->rows.nrows != 1) {
            check_report(ck, false, "%s: not decoded", minimal[k].what);
            continue;
        }
        sbuf_reset(&s);
        check_present(ev->t, &ev->rows.before[0], &s);
        sbuf what = SBUF_INIT;
        sbuf_addf(&what, "%s: before image columns", minimal[k].what);
        check_expect_str(ck, sbuf_cstr(&what), &s, minimal[k].before);
        if (minimal[k].after) {
            sbuf_reset(&s);
            sbuf_reset(&what);
            check_present(ev->t, &ev->rows.after[0], &s);
            sbuf_addf(&what, "%s: after image columns", minimal[k].what);
            check_expect_str(ck, sbuf_cstr(&what), &s, minimal[k].after);
        }
        sbuf_free(&what);
    }
    const check_event *m5 = check_mut_event(ck, DEC_ROWS_UPDATE, 1);
    if (m5 && m5->rows.nrows == 1) {
        sbuf_reset(&s);
        dec_value_render_sql(m5->t, &m5->rows.after[0], check_col(m5->t, "dsm"), &s);
        sbuf_adds(&s, " ");
        dec_value_render_sql(m5->t, &m5->rows.after[0], check_col(m5->t, "b64"), &s);
        check_expect_str(ck, "MINIMAL update id=5: after values", &s, "'-0.02' 2");
    }
    sbuf_free(&s);
}

/* ---- schema.c on the same server ------------------------------------------------------ */

#define CHECK_ODD_TABLE "we'ird `tbl \xc3\xbc"

static void check_schema_keys(checker *ck)
{
    sbuf q = SBUF_INIT, err = SBUF_INIT;
    sbuf_addf(&q, "CREATE TABLE `%s`.`we'ird ``tbl \xc3\xbc` (a int NOT NULL, b int NULL,"
                  " c varchar(5) NOT NULL, e enum('it''s','a,b','back\\\\slash',''),"
                  " UNIQUE KEY zz (a), UNIQUE KEY aa (b), UNIQUE KEY mm (c, a), KEY plain (b))",
              ck->o.db);
    if (check_sql(ck, ck->admin, sbuf_cstr(&q)) == 0) {
        schema_table *s = NULL;
        int e = schema_table_load(ck->admin, ck->o.db, CHECK_ODD_TABLE, &s, &err);
        bool ok = e == 0 && s->ncols == 4 && s->nkey == 2 && s->key[0] == 2 && s->key[1] == 0 &&
                  !s->key_is_primary && strcmp(s->key_name, "mm") == 0 && s->has_other_unique;
        check_report(ck, ok, "schema: table " CHECK_ODD_TABLE ": key %s (%zu columns), other "
                     "unique keys: %s%s%s", s ? s->key_name : "-", s ? s->nkey : 0,
                     s && s->has_other_unique ? "yes" : "no", e ? ": " : "", sbuf_cstr(&err));
        const schema_column *c = s && s->ncols == 4 ? &s->cols[3] : NULL;
        ok = c && c->nelements == 4 && strcmp(c->elements[0], "it's") == 0 &&
             strcmp(c->elements[1], "a,b") == 0 && strcmp(c->elements[2], "back\\slash") == 0 &&
             strcmp(c->elements[3], "") == 0;
        check_report(ck, ok, "schema: ENUM values with a quote, a comma, a backslash, empty: %s",
                     c ? c->column_type : "-");
        ok = s && s->ncols == 4 && !s->cols[0].nullable && s->cols[1].nullable &&
             strcmp(s->cols[2].data_type, "varchar") == 0 && s->cols[2].octet_length == 20 &&
             s->cols[2].collation_id == 45 && s->engine && strcmp(s->engine, "InnoDB") == 0;
        check_report(ck, ok, "schema: nullability, data types, octet length, collation id 45");
        schema_table_free(s);
    }
    schema_table *s = NULL;
    int e = schema_table_load(ck->admin, ck->o.db, "nope", &s, &err);
    sbuf want = SBUF_INIT;
    sbuf_addf(&want, "table `%s`.`nope` does not exist", ck->o.db);
    check_report(ck, e == 1146 && s == NULL && strcmp(sbuf_cstr(&err), sbuf_cstr(&want)) == 0,
                 "schema: a missing table is error %d: %s", e, sbuf_cstr(&err));
    sbuf_free(&want);
    sbuf_free(&q);
    sbuf_free(&err);
}

/* The schema of orig as the decoder saw it: generated columns, the
 * binary collation of BINARY/BLOB/UUID/INET6, the primary key. */
static void check_schema_orig(checker *ck)
{
    sbuf err = SBUF_INIT;
    schema_table *s = NULL;
    if (schema_table_load(ck->admin, ck->o.db, "orig", &s, &err) != 0) {
        check_report(ck, false, "schema of orig: %s", sbuf_cstr(&err));
        sbuf_free(&err);
        return;
    }
    int gv = schema_column_index(s, "gv"), gs = schema_column_index(s, "gs"),
        bn = schema_column_index(s, "bn"), lb = schema_column_index(s, "lb"),
        u = schema_column_index(s, "u"), tu = schema_column_index(s, "tu"),
        odd = schema_column_index(s, "we`ird col");
    bool ok = gv > 0 && gs > 0 && s->cols[gv].generated && s->cols[gs].generated &&
              !s->cols[0].generated;
    check_report(ck, ok, "schema: orig.gv (VIRTUAL) and orig.gs (STORED) are generated");
    ok = bn > 0 && lb > 0 && u > 0 && s->cols[bn].collation_id == 63 &&
         s->cols[lb].collation_id == 63 && s->cols[u].collation_id == 63 &&
         strcmp(s->cols[u].data_type, "uuid") == 0 && s->cols[bn].octet_length == 8;
    check_report(ck, ok, "schema: BINARY(8), LONGBLOB and UUID report collation 63");
    ok = s->key_is_primary && s->nkey == 1 && s->key[0] == 0 && !s->has_other_unique &&
         tu > 0 && s->cols[tu].is_unsigned && odd > 0;
    check_report(ck, ok, "schema: primary key (id), unsigned flags, a column named we`ird col");
    schema_table_free(s);
    sbuf_free(&err);
}

/* ---- main ------------------------------------------------------------------------- */

static const char *check_env(const char *name, const char *dflt)
{
    const char *v = getenv(name);
    return v && *v ? v : dflt;
}

static int check_parse_args(int argc, char **argv, check_opts *o, sbuf *tmp)
{
    const char *dir = check_env("SANDBOX_DIR", ".sandbox");
    o->host = check_env("SOURCE_HOST", "127.0.0.1");
    o->port = (unsigned)atoi(check_env("SOURCE_PORT", "23306"));
    o->user = check_env("AGENT_USER", "agent");
    sbuf_addf(tmp, "%s/agent.pass", dir);
    sbuf_addc(tmp, '\0');
    sbuf_addf(tmp, "%s/source/mariadbd.sock", dir);
    o->password_file = check_env("AGENT_PASSWORD_FILE", tmp->buf);
    o->admin_socket = check_env("SOURCE_ADMIN_SOCKET", tmp->buf + strlen(tmp->buf) + 1);
    o->db = "dectest_check";
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "--keep") == 0 || strcmp(a, "--compress") == 0) {
            *(a[2] == 'k' ? &o->keep : &o->compress) = true;
            continue;
        }
        if (!v)
            goto usage;
        if (strcmp(a, "--host") == 0)
            o->host = v;
        else if (strcmp(a, "--port") == 0)
            o->port = (unsigned)atoi(v);
        else if (strcmp(a, "--user") == 0)
            o->user = v;
        else if (strcmp(a, "--password-file") == 0)
            o->password_file = v;
        else if (strcmp(a, "--admin-socket") == 0)
            o->admin_socket = v;
        else if (strcmp(a, "--db") == 0)
            o->db = v;
        else
            goto usage;
        i++;
    }
    if (strncmp(o->db, "dectest_", 8) != 0) {
        fprintf(stderr, "decoder_check: --db must start with dectest_ (it is dropped)\n");
        return -1;
    }
    return 0;
usage:
    fprintf(stderr, "usage: decoder_check [--host H] [--port P] [--user U] [--password-file F]"
                    " [--admin-socket S] [--db dectest_NAME] [--keep] [--compress]\n");
    return -1;
}

static void check_free(checker *ck)
{
    for (size_t i = 0; i < ck->nevents; i++)
        dec_rows_free(&ck->events[i].rows);
    free(ck->events);
    for (size_t i = 0; i < ck->ntables; i++) {
        dec_table_free(ck->tables[i].t);
        schema_table_free(ck->tables[i].s);
    }
    free(ck->tables);
    if (ck->admin)
        mysql_close(ck->admin);
    if (ck->clone)
        mysql_close(ck->clone);
}

static int check_connect(checker *ck, db_endpoint *agent)
{
    sbuf err = SBUF_INIT;
    db_endpoint root = {.socket = (char *)ck->o.admin_socket, .user = "root"};
    int e = db_connect(&root, 0, &ck->admin, &err);
    if (!e)
        e = db_connect(agent, DB_BINARY, &ck->clone, &err);
    check_report(ck, e == 0, "connect: root over %s, %s@%s:%u%s%s", ck->o.admin_socket, ck->o.user,
                 ck->o.host, ck->o.port, e ? ": " : "", sbuf_cstr(&err));
    sbuf_free(&err);
    if (e)
        return -1;
    /* The applier's session: bytes unconverted, UTC, zero dates allowed. */
    if (check_sql(ck, ck->clone, "SET time_zone = '+00:00'") ||
        check_sql(ck, ck->clone, "SET sql_mode = 'NO_AUTO_VALUE_ON_ZERO,NO_ENGINE_SUBSTITUTION'"))
        return -1;
    return 0;
}

int main(int argc, char **argv)
{
    checker ck = {0};
    sbuf tmp = SBUF_INIT, gtid = SBUF_INIT;
    if (check_parse_args(argc, argv, &ck.o, &tmp) != 0)
        return 2;
    db_endpoint agent = {.host = (char *)ck.o.host, .port = ck.o.port, .user = (char *)ck.o.user,
                         .password = secret_from_file(ck.o.password_file)};
    if (check_connect(&ck, &agent) == 0 && check_setup(&ck) == 0 &&
        check_value(&ck, ck.admin, "SELECT @@gtid_binlog_pos", &gtid) == 0 &&
        check_workload(&ck) == 0 && check_stream(&ck, &agent, sbuf_cstr(&gtid)) == 0) {
        check_literals_all(&ck);
        check_images(&ck);
        check_replay(&ck);
        check_compare_table(&ck, "orig");
        check_compare_table(&ck, "mut");
        check_schema_orig(&ck);
        check_schema_keys(&ck);
    }
    if (ck.admin && !ck.o.keep)
        check_sqlf(&ck, ck.admin, "DROP DATABASE IF EXISTS `%s`", ck.o.db);
    printf("%s: %u checks, %u failed\n", ck.failures ? "FAILED" : "PASSED", ck.checks, ck.failures);
    int rc = ck.failures ? 1 : 0;
    check_free(&ck);
    secret_free(agent.password);
    sbuf_free(&tmp);
    sbuf_free(&gtid);
    return rc;
}
