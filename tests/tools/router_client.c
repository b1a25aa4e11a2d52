/* router_client: one application session through libmariadb, for the data
 * router's tests. It runs the scenario every router client runs (the same
 * in tests/node/router_client.js and tests/router/pymysql_client.py) with
 * the library's ordinary API, so the router sees what a real C application
 * sends: COM_QUERY, server-side prepared statements (COM_STMT_PREPARE,
 * _EXECUTE, _SEND_LONG_DATA, _CLOSE), COM_INIT_DB, COM_PING,
 * COM_RESET_CONNECTION, COM_CHANGE_USER, multi-statements, packets over
 * 16 MB.
 *
 *   router_client --host H --port P --user U --password PW --database DB
 *                 --client NAME --token T [--big]
 *
 * e.g. by hand against the sandbox source (see tests/router/schema.sql):
 *   build/tools/router_client --host 127.0.0.1 --port 23306 --user app \
 *       --password app-password --database rc --client c --token t1
 *
 * DB must hold this table, and DB_b must exist (empty):
 *   CREATE TABLE events (id BIGINT AUTO_INCREMENT PRIMARY KEY, client VARCHAR(32) NOT NULL,
 *                        token VARCHAR(64) NOT NULL, sid INT NOT NULL, v INT NOT NULL DEFAULT 0,
 *                        big LONGBLOB NULL, KEY (token)) ENGINE=InnoDB;
 *
 * Output on stdout, one flushed line per result, `key value...`:
 *   read_server ID        1. SELECT @@server_id
 *   insert_id N           2. prepared INSERT (sid = @@server_id), autocommit
 *   last_insert_id N         SELECT LAST_INSERT_ID()
 *   write_server SID         the sid that insert stored: who executed it (waits up to 10 s for the row: replication lag)
 *   affected N            3. prepared UPDATE of this client's row
 *   tx_read_server ID     4. mysql_autocommit(0), prepared INSERT, prepared
 *   tx_count N               SELECT @@server_id, COUNT(*), SELECT of the
 *   tx_write_server SID      new row's sid, mysql_commit, autocommit(1)
 *   ps_read_server ID     5. prepared SELECT @@server_id, ? run twice with 42
 *   ps_echo 42
 *   multi 1,2,3           6. SELECT 1 AS a; SELECT 2 AS b, 3 AS c
 *   tz TZ ID              7. SET time_zone = '+05:00', then a plain SELECT
 *   db NAME ID            8. mysql_select_db(DB_b), SELECT DATABASE(); back to DB
 *   ping ok               9. mysql_ping
 *   big ok LEN           10. only with --big: 17 MB + 3 bytes through a
 *   long_data ok LEN         prepared INSERT, then in 1 MB send_long_data
 *                            pieces; each read back (binary and text) and
 *                            compared byte for byte
 *   reset_tz TZ          11. mysql_reset_connection, SELECT @@time_zone
 *   change_user ok           mysql_change_user to the same account, a query
 *   done
 * On the first failure: `error STEP MESSAGE` (STEP is the key being worked
 * on, or connect, args or internal; the message on one line) and exit status 1.
 * --big needs max_allowed_packet >= 18 MB on the server.
 *
 * A plain libmariadb program on purpose: nothing of the agent's code, so
 * it behaves exactly like an application built on the stock library. The
 * password is never printed. */
#include <mysql.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tool_fail.h"

#define VAL_MAX 256 /* one result value as text; longer ones are an error */
#define BIG_LEN (17u * 1024 * 1024 + 3) /* over one 16 MB packet: split */
#define PIECE (1024u * 1024)

typedef char value[VAL_MAX];

typedef struct opts {
    const char *host, *user, *password, *database, *client, *token;
    unsigned port;
    bool big;
} opts;

static void out(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void out(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    putchar('\n');
    fflush(stdout);
}

static void query(MYSQL *m, const char *step, const char *sql)
{
    if (mysql_query(m, sql) != 0)
        fail(step, "%s: %s (error %u)", sql, mysql_error(m), mysql_errno(m));
}

/* A text-protocol query that must return exactly one row of ncols non-NULL
 * values. */
static void query_row(MYSQL *m, const char *step, const char *sql, value *row, unsigned ncols)
{
    query(m, step, sql);
    MYSQL_RES *res = mysql_store_result(m);
    if (!res)
        fail(step, "%s: no result set: %s", sql, mysql_errno(m) ? mysql_error(m) : "the statement returned none");
    if (mysql_num_fields(res) != ncols || mysql_num_rows(res) != 1) {
        unsigned f = mysql_num_fields(res);
        unsigned long long n = mysql_num_rows(res);
        mysql_free_result(res);
        fail(step, "%s: expected 1 row of %u columns, got %llu of %u", sql, ncols, n, f);
    }
    MYSQL_ROW r = mysql_fetch_row(res);
    unsigned long *lens = mysql_fetch_lengths(res);
    for (unsigned i = 0; i < ncols; i++) {
        if (!r[i] || lens[i] >= VAL_MAX) {
            mysql_free_result(res);
            fail(step, "%s: column %u is %s", sql, i + 1, r[i] ? "too long" : "NULL");
        }
        memcpy(row[i], r[i], lens[i]);
        row[i][lens[i]] = '\0';
    }
    mysql_free_result(res);
}

/* Step 2's read of the row just written. Through a router in VALIDATE
 * mode it runs on the destination, which the replication stream reaches
 * a moment after the source: wait up to 10 s for the row, as an
 * application that tolerates replication lag would. */
static void query_row_wait(MYSQL *m, const char *step, const char *sql, value *row, unsigned ncols)
{
    for (int i = 0; i < 100; i++) {
        query(m, step, sql);
        MYSQL_RES *res = mysql_store_result(m);
        if (!res)
            fail(step, "%s: no result set: %s", sql, mysql_errno(m) ? mysql_error(m) : "the statement returned none");
        unsigned long long n = mysql_num_rows(res);
        mysql_free_result(res);
        if (n)
            break;
        usleep(100 * 1000);
    }
    query_row(m, step, sql, row, ncols);
}

static MYSQL_STMT *ps_prepare(MYSQL *m, const char *step, const char *sql)
{
    MYSQL_STMT *st = mysql_stmt_init(m);
    if (!st)
        fail(step, "mysql_stmt_init: %s", mysql_error(m));
    if (mysql_stmt_prepare(st, sql, strlen(sql)) != 0)
        fail(step, "prepare %s: %s (error %u)", sql, mysql_stmt_error(st), mysql_stmt_errno(st));
    return st;
}

static void ps_execute(MYSQL_STMT *st, const char *step, MYSQL_BIND *params)
{
    if (params && mysql_stmt_bind_param(st, params) != 0)
        fail(step, "bind parameters: %s", mysql_stmt_error(st));
    if (mysql_stmt_execute(st) != 0)
        fail(step, "execute: %s (error %u)", mysql_stmt_error(st), mysql_stmt_errno(st));
}

/* The executed statement's one row, each column converted to text by the
 * library (the binary protocol carries integers as integers). */
static void ps_row(MYSQL_STMT *st, const char *step, value *row, unsigned ncols)
{
    MYSQL_BIND res[4];
    unsigned long len[4];
    my_bool null[4], err[4];
    if (ncols > 4 || mysql_stmt_field_count(st) != ncols)
        fail(step, "expected %u result columns, got %u", ncols, mysql_stmt_field_count(st));
    memset(res, 0, sizeof res);
    for (unsigned i = 0; i < ncols; i++) {
        res[i].buffer_type = MYSQL_TYPE_STRING;
        res[i].buffer = row[i];
        res[i].buffer_length = VAL_MAX;
        res[i].length = &len[i];
        res[i].is_null = &null[i];
        res[i].error = &err[i];
    }
    if (mysql_stmt_bind_result(st, res) != 0 || mysql_stmt_store_result(st) != 0)
        fail(step, "result: %s (error %u)", mysql_stmt_error(st), mysql_stmt_errno(st));
    unsigned long long rows = mysql_stmt_num_rows(st);
    if (rows != 1)
        fail(step, "expected 1 row, got %llu", rows);
    int rc = mysql_stmt_fetch(st);
    if (rc != 0)
        fail(step, "fetch: %s", rc == MYSQL_DATA_TRUNCATED ? "a value is too long" : mysql_stmt_error(st));
    for (unsigned i = 0; i < ncols; i++)
        if (null[i])
            fail(step, "column %u is NULL", i + 1);
    mysql_stmt_free_result(st);
}

static MYSQL_BIND bind_text(const char *s)
{
    MYSQL_BIND b;
    memset(&b, 0, sizeof b);
    b.buffer_type = MYSQL_TYPE_STRING;
    b.buffer = (void *)s;
    b.buffer_length = strlen(s); /* used as the length: b.length is NULL */
    return b;
}

static MYSQL_BIND bind_int(long long *v)
{
    MYSQL_BIND b;
    memset(&b, 0, sizeof b);
    b.buffer_type = MYSQL_TYPE_LONGLONG;
    b.buffer = v;
    return b;
}

/* A statement with one integer literal appended: ids come from the server,
 * so there is nothing to quote. */
static void sql_with_id(char *buf, size_t size, const char *prefix, unsigned long long id)
{
    if ((size_t)snprintf(buf, size, "%s%llu", prefix, id) >= size)
        fail("internal", "statement buffer too small for %s%llu", prefix, id);
}

static MYSQL *session_open(const opts *o)
{
    MYSQL *m = mysql_init(NULL);
    unsigned long max_packet = 64ul * 1024 * 1024;
    if (!m)
        fail("connect", "mysql_init: out of memory");
    mysql_options(m, MYSQL_SET_CHARSET_NAME, "utf8mb4");
    /* The client's own limit must admit the 17 MB value of --big. */
    mysql_options(m, MYSQL_OPT_MAX_ALLOWED_PACKET, &max_packet);
    if (!mysql_real_connect(m, o->host, o->user, o->password, o->database, o->port, NULL, CLIENT_MULTI_STATEMENTS))
        fail("connect", "%s:%u as %s, database %s: %s (error %u)", o->host, o->port, o->user, o->database,
             mysql_error(m), mysql_errno(m));
    return m;
}

/* Steps 2-4 share one prepared INSERT, as an application caches its
 * statements: the same statement id in and out of a transaction. */
static void steps_writes(MYSQL *m, const opts *o)
{
    value row[2];
    char sql[128];
    MYSQL_BIND p[2] = {bind_text(o->client), bind_text(o->token)};
    MYSQL_BIND q[2] = {bind_text(o->token), bind_text(o->client)};

    MYSQL_STMT *ins = ps_prepare(m, "insert_id", "INSERT INTO events (client, token, sid, v) VALUES (?, ?, @@server_id, 1)");
    ps_execute(ins, "insert_id", p);
    unsigned long long id = mysql_stmt_insert_id(ins);
    out("insert_id %llu", id);
    query_row(m, "last_insert_id", "SELECT LAST_INSERT_ID()", row, 1);
    out("last_insert_id %s", row[0]);
    sql_with_id(sql, sizeof sql, "SELECT sid FROM events WHERE id = ", id);
    query_row_wait(m, "write_server", sql, row, 1);
    out("write_server %s", row[0]);

    MYSQL_STMT *upd = ps_prepare(m, "affected", "UPDATE events SET v = v + 1 WHERE token = ? AND client = ?");
    ps_execute(upd, "affected", q);
    out("affected %llu", mysql_stmt_affected_rows(upd));
    mysql_stmt_close(upd);

    if (mysql_autocommit(m, 0) != 0)
        fail("tx_read_server", "autocommit off: %s", mysql_error(m));
    ps_execute(ins, "tx_read_server", NULL); /* parameters still bound */
    MYSQL_STMT *cnt = ps_prepare(m, "tx_read_server", "SELECT @@server_id, COUNT(*) FROM events WHERE token = ? AND client = ?");
    ps_execute(cnt, "tx_read_server", q);
    ps_row(cnt, "tx_read_server", row, 2);
    out("tx_read_server %s", row[0]);
    out("tx_count %s", row[1]);
    mysql_stmt_close(cnt);
    query_row(m, "tx_write_server", "SELECT sid FROM events WHERE id = LAST_INSERT_ID()", row, 1);
    out("tx_write_server %s", row[0]);
    if (mysql_commit(m) != 0)
        fail("tx_write_server", "commit: %s (error %u)", mysql_error(m), mysql_errno(m));
    if (mysql_autocommit(m, 1) != 0)
        fail("tx_write_server", "autocommit on: %s", mysql_error(m));
    mysql_stmt_close(ins);
}

static void step_ps_read(MYSQL *m)
{
    value first[2], second[2];
    long long n = 42;
    MYSQL_BIND p[1] = {bind_int(&n)};
    MYSQL_STMT *st = ps_prepare(m, "ps_read_server", "SELECT @@server_id, ?");
    ps_execute(st, "ps_read_server", p);
    ps_row(st, "ps_read_server", first, 2);
    ps_execute(st, "ps_read_server", NULL);
    ps_row(st, "ps_read_server", second, 2);
    if (strcmp(first[0], second[0]) != 0 || strcmp(first[1], second[1]) != 0)
        fail("ps_read_server", "two executions disagree: (%s, %s) then (%s, %s)", first[0], first[1], second[0],
             second[1]);
    mysql_stmt_close(st);
    out("ps_read_server %s", first[0]);
    out("ps_echo %s", first[1]);
}

static void step_multi(MYSQL *m)
{
    const char *sql = "SELECT 1 AS a; SELECT 2 AS b, 3 AS c";
    char got[64] = "";
    size_t used = 0;
    int more = 0;
    query(m, "multi", sql);
    do {
        MYSQL_RES *res = mysql_store_result(m);
        if (!res)
            fail("multi", "%s: a statement returned no result set: %s", sql, mysql_error(m));
        MYSQL_ROW r;
        while ((r = mysql_fetch_row(res)))
            for (unsigned i = 0; i < mysql_num_fields(res); i++) {
                const char *v = r[i] ? r[i] : "NULL";
                size_t n = strlen(v);
                if (used + n + 2 > sizeof got) {
                    mysql_free_result(res);
                    fail("multi", "%s: more values than expected", sql);
                }
                if (used)
                    got[used++] = ',';
                memcpy(got + used, v, n + 1);
                used += n;
            }
        mysql_free_result(res);
        more = mysql_next_result(m);
        if (more > 0)
            fail("multi", "%s: next result: %s (error %u)", sql, mysql_error(m), mysql_errno(m));
    } while (more == 0);
    out("multi %s", got);
}

static void steps_session(MYSQL *m, const opts *o)
{
    value row[2];
    char db2[128];
    query(m, "tz", "SET time_zone = '+05:00'");
    query_row(m, "tz", "SELECT @@time_zone, @@server_id", row, 2);
    out("tz %s %s", row[0], row[1]);

    if ((size_t)snprintf(db2, sizeof db2, "%s_b", o->database) >= sizeof db2)
        fail("db", "database name too long: %s", o->database);
    if (mysql_select_db(m, db2) != 0)
        fail("db", "mysql_select_db %s: %s (error %u)", db2, mysql_error(m), mysql_errno(m));
    query_row(m, "db", "SELECT DATABASE(), @@server_id", row, 2);
    out("db %s %s", row[0], row[1]);
    if (mysql_select_db(m, o->database) != 0)
        fail("db", "mysql_select_db %s: %s (error %u)", o->database, mysql_error(m), mysql_errno(m));

    if (mysql_ping(m) != 0)
        fail("ping", "%s (error %u)", mysql_error(m), mysql_errno(m));
    out("ping ok");
}

/* xorshift64 from a fixed seed: the same bytes on every run, and no runs
 * of equal bytes a lazy comparison could miss. */
static unsigned char *big_value(void)
{
    unsigned char *b = malloc(BIG_LEN);
    uint64_t x = 0x9e3779b97f4a7c15ull;
    if (!b)
        fail("big", "cannot allocate %u bytes", BIG_LEN);
    for (size_t i = 0; i < BIG_LEN; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        b[i] = (unsigned char)(x >> 24);
    }
    return b;
}

/* Row id's `big` read back through both protocols equals want. */
static void big_check(MYSQL *m, const char *step, unsigned long long id, const unsigned char *want)
{
    char sql[128];
    long long key = (long long)id;
    unsigned long len = 0;
    my_bool null = 0;
    MYSQL_BIND p[1] = {bind_int(&key)}, r[1];
    unsigned char *got = malloc(BIG_LEN + 1);
    if (!got)
        fail(step, "cannot allocate %u bytes", BIG_LEN + 1);
    /* Through a router in VALIDATE mode the reads run on the destination:
     * wait out the replication of 17 MB first. */
    value seen[1];
    sql_with_id(sql, sizeof sql, "SELECT id FROM events WHERE id = ", id);
    query_row_wait(m, step, sql, seen, 1);

    MYSQL_STMT *st = ps_prepare(m, step, "SELECT big FROM events WHERE id = ?");
    ps_execute(st, step, p);
    memset(r, 0, sizeof r);
    r[0].buffer_type = MYSQL_TYPE_LONG_BLOB;
    r[0].buffer = got;
    r[0].buffer_length = BIG_LEN + 1; /* one spare byte: a longer value truncates */
    r[0].length = &len;
    r[0].is_null = &null;
    if (mysql_stmt_bind_result(st, r) != 0 || mysql_stmt_store_result(st) != 0)
        fail(step, "binary read back: %s (error %u)", mysql_stmt_error(st), mysql_stmt_errno(st));
    int rc = mysql_stmt_fetch(st);
    if (rc == MYSQL_NO_DATA)
        fail(step, "binary read back: row %llu not found", id);
    if (rc != 0 && rc != MYSQL_DATA_TRUNCATED)
        fail(step, "binary read back: %s", mysql_stmt_error(st));
    if (null || len != BIG_LEN || memcmp(got, want, BIG_LEN) != 0)
        fail(step, "binary read back: %s%lu bytes differ from the %u sent", null ? "NULL; " : "", len, BIG_LEN);
    mysql_stmt_close(st);
    free(got);

    sql_with_id(sql, sizeof sql, "SELECT big FROM events WHERE id = ", id);
    query(m, step, sql);
    MYSQL_RES *res = mysql_store_result(m);
    MYSQL_ROW row = res ? mysql_fetch_row(res) : NULL;
    unsigned long *lens = row ? mysql_fetch_lengths(res) : NULL;
    bool found = row && row[0];
    unsigned long got_len = found ? lens[0] : 0;
    bool same = found && got_len == BIG_LEN && memcmp(row[0], want, BIG_LEN) == 0;
    if (res)
        mysql_free_result(res);
    if (!res)
        fail(step, "text read back: %s (error %u)", mysql_error(m), mysql_errno(m));
    if (!same)
        fail(step, "text read back: %s%lu bytes differ from the %u sent", found ? "" : "no row or NULL; ", got_len,
             BIG_LEN);
}

static void step_big(MYSQL *m, const opts *o)
{
    unsigned char *data = big_value();
    unsigned long data_len = BIG_LEN;
    MYSQL_BIND p[3] = {bind_text(o->client), bind_text(o->token)};
    const char *sql = "INSERT INTO events (client, token, sid, v, big) VALUES (?, ?, @@server_id, 0, ?)";

    /* The whole value in the COM_STMT_EXECUTE packet. */
    memset(&p[2], 0, sizeof p[2]);
    p[2].buffer_type = MYSQL_TYPE_LONG_BLOB;
    p[2].buffer = data;
    p[2].buffer_length = data_len;
    p[2].length = &data_len;
    MYSQL_STMT *st = ps_prepare(m, "big", sql);
    ps_execute(st, "big", p);
    big_check(m, "big", mysql_stmt_insert_id(st), data);
    mysql_stmt_close(st);
    out("big ok %u", BIG_LEN);

    /* The same value in COM_STMT_SEND_LONG_DATA pieces before the execute. */
    memset(&p[2], 0, sizeof p[2]);
    p[2].buffer_type = MYSQL_TYPE_LONG_BLOB;
    st = ps_prepare(m, "long_data", sql);
    if (mysql_stmt_bind_param(st, p) != 0)
        fail("long_data", "bind parameters: %s", mysql_stmt_error(st));
    for (size_t off = 0; off < BIG_LEN; off += PIECE) {
        unsigned long n = BIG_LEN - off < PIECE ? BIG_LEN - off : PIECE;
        if (mysql_stmt_send_long_data(st, 2, (const char *)data + off, n) != 0)
            fail("long_data", "send_long_data at %zu: %s (error %u)", off, mysql_stmt_error(st), mysql_stmt_errno(st));
    }
    ps_execute(st, "long_data", NULL);
    big_check(m, "long_data", mysql_stmt_insert_id(st), data);
    mysql_stmt_close(st);
    free(data);
    out("long_data ok %u", BIG_LEN);
}

static void steps_reset(MYSQL *m, const opts *o)
{
    value row[2];
    if (mysql_reset_connection(m) != 0)
        fail("reset_tz", "mysql_reset_connection: %s (error %u)", mysql_error(m), mysql_errno(m));
    query_row(m, "reset_tz", "SELECT @@time_zone", row, 1);
    out("reset_tz %s", row[0]);

    if (mysql_change_user(m, o->user, o->password, o->database) != 0)
        fail("change_user", "mysql_change_user to %s: %s (error %u)", o->user, mysql_error(m), mysql_errno(m));
    query_row(m, "change_user", "SELECT DATABASE(), @@server_id", row, 2);
    if (strcmp(row[0], o->database) != 0)
        fail("change_user", "after mysql_change_user the database is %s, not %s", row[0], o->database);
    out("change_user ok");
}

static void parse_args(int argc, char **argv, opts *o)
{
    memset(o, 0, sizeof *o);
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char **slot = NULL;
        const char *port = NULL;
        if (strcmp(a, "--big") == 0) {
            o->big = true;
            continue;
        }
        if (strcmp(a, "--host") == 0) slot = &o->host;
        else if (strcmp(a, "--port") == 0) slot = &port;
        else if (strcmp(a, "--user") == 0) slot = &o->user;
        else if (strcmp(a, "--password") == 0) slot = &o->password;
        else if (strcmp(a, "--database") == 0) slot = &o->database;
        else if (strcmp(a, "--client") == 0) slot = &o->client;
        else if (strcmp(a, "--token") == 0) slot = &o->token;
        else fail("args", "unknown argument %s; usage: router_client --host H --port P --user U --password PW "
                          "--database DB --client NAME --token T [--big]", a);
        if (i + 1 >= argc)
            fail("args", "%s needs a value", a);
        *slot = argv[++i];
        if (port) {
            char *end;
            unsigned long v = strtoul(port, &end, 10);
            if (*end || !*port || v == 0 || v > 65535)
                fail("args", "--port must be 1-65535, not %s", port);
            o->port = (unsigned)v;
        }
    }
    if (!o->host || !o->port || !o->user || !o->password || !o->database || !o->client || !o->token)
        fail("args", "--host, --port, --user, --password, --database, --client and --token are all required");
}

int main(int argc, char **argv)
{
    opts o;
    value row[1];
    parse_args(argc, argv, &o);
    MYSQL *m = session_open(&o);

    query_row(m, "read_server", "SELECT @@server_id", row, 1);
    out("read_server %s", row[0]);
    steps_writes(m, &o);
    step_ps_read(m);
    step_multi(m);
    steps_session(m, &o);
    if (o.big)
        step_big(m, &o);
    steps_reset(m, &o);

    mysql_close(m);
    mysql_library_end();
    out("done");
    return 0;
}
