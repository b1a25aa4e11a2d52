/* ryw_client: write-then-read pairs through libmariadb, for the data
 * router's read-your-writes test (tests/integration/test_router_ryw.sh).
 *
 * One session: it sets a row's value, reads the row back at once, and
 * counts the reads that did not see the value just written (stale). With
 * --prepared both statements are server-side prepared statements
 * (COM_STMT_EXECUTE), else plain queries (COM_QUERY). libmariadb always
 * negotiates CLIENT_SESSION_TRACK, so through the router this is the
 * client kind whose GTIDs come in the OK packets (see agent/router/ryw.h).
 *
 *   ryw_client --host H --port P --user U --password PW --database DB
 *              --id K --pairs N [--prepared] [--start V]
 *
 * DB must hold: CREATE TABLE ryw (id INT PRIMARY KEY, v BIGINT NOT NULL),
 * with a row for id K. Each pair: UPDATE ryw SET v = V+i WHERE id = K
 * (autocommit), then SELECT v, @@server_id FROM ryw WHERE id = K.
 *
 * Output, one line each:
 *   pairs N stale S
 *   servers SID=COUNT ...        who answered the reads
 *   read_us p50 A p90 B p99 C max D avg E   the read right after each write
 *   write_us p50 A p90 B p99 C max D avg E
 * On a failure: `error STEP MESSAGE` and exit status 1. The password is
 * never printed. */
#include <mysql.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lib/clock.h"
#include "tool_fail.h"

#define MAX_SERVERS 8


static int cmp64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

static void print_latency(const char *name, int64_t *v, unsigned n)
{
    qsort(v, n, sizeof *v, cmp64);
    int64_t sum = 0;
    for (unsigned i = 0; i < n; i++)
        sum += v[i];
    printf("%s p50 %lld p90 %lld p99 %lld max %lld avg %lld\n", name, (long long)v[n / 2],
           (long long)v[n * 9 / 10], (long long)v[n * 99 / 100], (long long)v[n - 1], (long long)(sum / n));
}

typedef struct pair_stmts {
    MYSQL_STMT *write, *read;
    long long wv, rv;
    int rid;
    int id;
    MYSQL_BIND wb[2], rb[1], out[2];
} pair_stmts;

static MYSQL_STMT *prepare(MYSQL *m, const char *sql)
{
    MYSQL_STMT *st = mysql_stmt_init(m);
    if (!st || mysql_stmt_prepare(st, sql, strlen(sql)) != 0)
        fail("prepare", "%s: %s", sql, st ? mysql_stmt_error(st) : mysql_error(m));
    return st;
}

int main(int argc, char **argv)
{
    const char *host = "127.0.0.1", *user = NULL, *password = "", *db = NULL;
    unsigned port = 3306, pairs = 100;
    int id = 1;
    long long start = 0;
    bool prepared = false;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "--prepared") == 0) {
            prepared = true;
            continue;
        }
        if (!v)
            fail("args", "%s needs a value", a);
        i++;
        if (strcmp(a, "--host") == 0)
            host = v;
        else if (strcmp(a, "--port") == 0)
            port = (unsigned)atoi(v);
        else if (strcmp(a, "--user") == 0)
            user = v;
        else if (strcmp(a, "--password") == 0)
            password = v;
        else if (strcmp(a, "--database") == 0)
            db = v;
        else if (strcmp(a, "--id") == 0)
            id = atoi(v);
        else if (strcmp(a, "--pairs") == 0)
            pairs = (unsigned)atoi(v);
        else if (strcmp(a, "--start") == 0)
            start = atoll(v);
        else
            fail("args", "unknown option %s", a);
    }
    if (!user || !db || pairs == 0)
        fail("args", "usage: ryw_client --host H --port P --user U --password PW --database DB --id K --pairs N "
                     "[--prepared] [--start V]");
    if (!start) { /* microseconds now: no two runs write the same values */
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        start = (long long)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
    }

    MYSQL *m = mysql_init(NULL);
    if (!mysql_real_connect(m, host, user, password, db, port, NULL, 0))
        fail("connect", "%s (error %u)", mysql_error(m), mysql_errno(m));

    pair_stmts ps;
    memset(&ps, 0, sizeof ps);
    ps.id = id;
    if (prepared) {
        ps.write = prepare(m, "UPDATE ryw SET v = ? WHERE id = ?");
        ps.read = prepare(m, "SELECT v, @@server_id FROM ryw WHERE id = ?");
        ps.wb[0].buffer_type = MYSQL_TYPE_LONGLONG;
        ps.wb[0].buffer = &ps.wv;
        ps.wb[1].buffer_type = MYSQL_TYPE_LONG;
        ps.wb[1].buffer = &ps.id;
        ps.rb[0] = ps.wb[1];
        ps.out[0].buffer_type = MYSQL_TYPE_LONGLONG;
        ps.out[0].buffer = &ps.rv;
        ps.out[1].buffer_type = MYSQL_TYPE_LONG;
        ps.out[1].buffer = &ps.rid;
        if (mysql_stmt_bind_param(ps.write, ps.wb) || mysql_stmt_bind_param(ps.read, ps.rb) ||
            mysql_stmt_bind_result(ps.read, ps.out))
            fail("bind", "%s", mysql_stmt_error(ps.read));
    }

    int64_t *rlat = calloc(pairs, sizeof *rlat), *wlat = calloc(pairs, sizeof *wlat);
    int sids[MAX_SERVERS];
    unsigned counts[MAX_SERVERS], nservers = 0, stale = 0;
    char sql[256];
    for (unsigned i = 0; i < pairs; i++) {
        long long want = start + i;
        long long got;
        int sid;
        int64_t t0 = clock_mono_us();
        if (prepared) {
            ps.wv = want;
            if (mysql_stmt_execute(ps.write) != 0)
                fail("write", "%s (error %u)", mysql_stmt_error(ps.write), mysql_stmt_errno(ps.write));
        } else {
            snprintf(sql, sizeof sql, "UPDATE ryw SET v = %lld WHERE id = %d", want, id);
            if (mysql_query(m, sql) != 0)
                fail("write", "%s (error %u)", mysql_error(m), mysql_errno(m));
        }
        int64_t t1 = clock_mono_us();
        if (prepared) {
            if (mysql_stmt_execute(ps.read) != 0 || mysql_stmt_store_result(ps.read) != 0)
                fail("read", "%s (error %u)", mysql_stmt_error(ps.read), mysql_stmt_errno(ps.read));
            if (mysql_stmt_fetch(ps.read) != 0)
                fail("read", "no row for id %d", id);
            got = ps.rv;
            sid = ps.rid;
            mysql_stmt_free_result(ps.read);
        } else {
            snprintf(sql, sizeof sql, "SELECT v, @@server_id FROM ryw WHERE id = %d", id);
            if (mysql_query(m, sql) != 0)
                fail("read", "%s (error %u)", mysql_error(m), mysql_errno(m));
            MYSQL_RES *res = mysql_store_result(m);
            MYSQL_ROW row = res ? mysql_fetch_row(res) : NULL;
            if (!row || !row[0] || !row[1])
                fail("read", "no row for id %d", id);
            got = atoll(row[0]);
            sid = atoi(row[1]);
            mysql_free_result(res);
        }
        int64_t t2 = clock_mono_us();
        wlat[i] = t1 - t0;
        rlat[i] = t2 - t1;
        if (got != want)
            stale++;
        unsigned k = 0;
        while (k < nservers && sids[k] != sid)
            k++;
        if (k == nservers && nservers < MAX_SERVERS) {
            sids[nservers] = sid;
            counts[nservers++] = 0;
        }
        if (k < nservers)
            counts[k]++;
    }
    printf("pairs %u stale %u\nservers", pairs, stale);
    for (unsigned k = 0; k < nservers; k++)
        printf(" %d=%u", sids[k], counts[k]);
    printf("\n");
    print_latency("read_us", rlat, pairs);
    print_latency("write_us", wlat, pairs);
    if (prepared) {
        mysql_stmt_close(ps.write);
        mysql_stmt_close(ps.read);
    }
    mysql_close(m);
    free(rlat);
    free(wlat);
    return 0;
}
