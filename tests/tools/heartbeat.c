/* heartbeat: measure replication lag from the outside, pt-heartbeat style.
 *
 *   heartbeat SOURCE_PORT DEST_PORT SECONDS [INTERVAL_MS]
 *
 * Every INTERVAL_MS (default 50) it writes the current time into
 * bench_hb.hb on the source, and reads the latest replicated value on the
 * destination; lag = now - the newest heartbeat visible there. This does
 * not trust the agent's own lag figure (which has one-second resolution,
 * like Seconds_Behind_Master). Prints one JSON line:
 *   {"samples":N,"lag_p50_s":..,"lag_p99_s":..,"lag_max_s":..}
 * Connects as the sandbox's `app` user over TCP. */
#include <mysql.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

static double now_s(void)
{
    struct timeval tv;
    gettimeofday(&tv, NULL);
    return (double)tv.tv_sec + (double)tv.tv_usec / 1e6;
}

static MYSQL *connect_app(unsigned port)
{
    MYSQL *m = mysql_init(NULL);
    if (!mysql_real_connect(m, "127.0.0.1", "app", "app-password", NULL, port, NULL, 0)) {
        fprintf(stderr, "heartbeat: cannot connect to port %u: %s\n", port, mysql_error(m));
        exit(2);
    }
    return m;
}

static void exec(MYSQL *m, const char *q)
{
    if (mysql_query(m, q) != 0) {
        fprintf(stderr, "heartbeat: %s: %s\n", q, mysql_error(m));
        exit(2);
    }
    MYSQL_RES *r = mysql_store_result(m);
    if (r)
        mysql_free_result(r);
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
    if (argc < 4) {
        fprintf(stderr, "usage: heartbeat SOURCE_PORT DEST_PORT SECONDS [INTERVAL_MS]\n");
        return 2;
    }
    unsigned sport = (unsigned)atoi(argv[1]), dport = (unsigned)atoi(argv[2]);
    double seconds = atof(argv[3]);
    int interval_ms = argc > 4 ? atoi(argv[4]) : 50;
    MYSQL *src = connect_app(sport), *dst = connect_app(dport);
    size_t cap = (size_t)(seconds * 1000 / interval_ms) + 16, n = 0;
    double *lag = calloc(cap, sizeof *lag);
    double end = now_s() + seconds;
    char q[256];
    while (now_s() < end && n < cap) {
        snprintf(q, sizeof q, "REPLACE INTO bench_hb.hb (id, ts) VALUES (1, %.6f)", now_s());
        exec(src, q);
        struct timespec ts = {0, interval_ms * 1000000L};
        nanosleep(&ts, NULL);
        if (mysql_query(dst, "SELECT ts FROM bench_hb.hb WHERE id = 1") != 0)
            continue;
        MYSQL_RES *r = mysql_store_result(dst);
        MYSQL_ROW row = r ? mysql_fetch_row(r) : NULL;
        if (row && row[0]) {
            double l = now_s() - atof(row[0]);
            lag[n++] = l < 0 ? 0 : l;
        }
        if (r)
            mysql_free_result(r);
    }
    qsort(lag, n, sizeof *lag, cmp_double);
    double p50 = n ? lag[n / 2] : -1, p99 = n ? lag[(size_t)((double)n * 0.99)] : -1, mx = n ? lag[n - 1] : -1;
    printf("{\"samples\":%zu,\"lag_p50_s\":%.3f,\"lag_p99_s\":%.3f,\"lag_max_s\":%.3f}\n", n, p50, p99, mx);
    free(lag);
    mysql_close(src);
    mysql_close(dst);
    return n ? 0 : 1;
}
