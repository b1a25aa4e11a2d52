/* sql_writer: an application that writes through one MySQL endpoint and
 * knows nothing of routing, for the demo and the cutover benchmark.
 *
 *   sql_writer HOST:PORT USER PASSWORD_FILE [options]
 *     --connections N     sessions, one thread each (32)
 *     --rate R            writes per second, all sessions together (1000)
 *     --seconds S         run for S seconds; 0: until SIGTERM or SIGINT (0)
 *     --acked FILE        each acknowledged write's id, appended at once
 *     --table DB.TABLE    where to write (app.events; created if missing)
 *     --read-after-write  read each acknowledged row back on its session
 *     --gap-ms G          list every pause without acknowledgement over G ms (50)
 *     --errors FILE       one JSON line per error, as it happens
 *     --id-start N        the first id (default: the start time in ms times
 *                         a million); writers started together need their
 *                         own ranges
 *     --updates FILE      after each acknowledged insert, also update one of
 *                         the session's earlier rows (n = n + 1); each
 *                         acknowledged update's id appended to FILE
 *
 * Each session inserts single rows in autocommit, on a fixed schedule
 * (R / N per second, sessions staggered), with ids no other session and no
 * other run uses (the start time in ms times a million, then counting up). What
 * an application does on an error, it does: counts it (by error number,
 * the first message of each number kept), drops the session if the error
 * says the connection is gone (a client error 2xxx or SQLSTATE class 08)
 * and opens a new one for its next write, and goes on with a new id. A
 * failed write is never retried: it is not acknowledged, and if it did
 * commit it is an extra row, not a lost one. With --read-after-write each
 * acknowledged row is read back on the same session; "not found" is a
 * stale read (a router sending reads to a replica that lags). With
 * --updates each acknowledged insert is followed by an UPDATE of a row the
 * session inserted before (chosen at random among its last 64), counted
 * like a write; so a row's n is at least the acknowledged updates of its
 * id, and an update that finds no row is a lost row (update_missing).
 *
 * When it stops it prints one JSON line:
 *   {"acked":N,"failed_writes":N,"errors":N,"errors_by_code":{"1290":3,..},
 *    "first_errors":[{"code":..,"count":..,"sqlstate":..,"what":"write|read|connect","message":..},..],
 *    "stale_reads":N,"reconnects":N,"acked_updates":N,"update_missing":N,"window_ms_max":..,"start_unix_ms":..,
 *    "gaps":[{"at_ms":..,"ms":..},..],"lat_ms_p50":..,"lat_ms_p99":..,"lat_ms_max":..}
 * first_errors has one entry per error number and what failed, with its
 * first message; window_ms_max is the longest time during which no write was acknowledged
 * on any session (from the first acknowledgement to the stop); gaps lists
 * every such pause over --gap-ms, at_ms counted from start_unix_ms; the
 * latencies are those of acknowledged writes, statement sent to answer.
 * The --errors lines are {"at_unix_ms":..,"session":..,"code":..,
 * "sqlstate":..,"what":..,"message":..}. Messages come from a server or a
 * router: shown escaped and bounded. The password is never printed.
 *
 * Exit status: 0 after a run (errors during it are results, not failures),
 * 1 when the first connection or the table's creation fails, 2 on bad
 * arguments. Plain libmariadb, blocking API, one thread per session: what a
 * simple application built on the stock library sends. */
#include <errno.h>
#include <fcntl.h>
#include <mysql.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "lib/clock.h"
#include "lib/sbuf.h"

#define MAX_CONNECTIONS 1024
#define MESSAGE_MAX 300 /* bytes of an error message kept */

typedef struct options {
    char host[256];
    unsigned port;
    const char *user;
    sbuf password;
    unsigned connections;
    double rate, seconds, gap_ms;
    const char *acked_path, *errors_path, *updates_path;
    char db[65], table[65];
    bool read_after_write;
    unsigned long long id_start; /* 0: from the clock */
} options;

/* Errors by number and by what failed: the same number can come with
 * different messages at connect and on a statement. */
typedef struct error_kind {
    unsigned code;
    unsigned long long count;
    char sqlstate[6];
    const char *what;
    char *message; /* the first one, printable */
} error_kind;

typedef struct gap {
    double at_ms, ms;
} gap;

typedef struct session {
    unsigned n;
    pthread_t thread;
    float *lat; /* acknowledged writes' latencies, ms */
    size_t nlat, cap;
    unsigned long long stale_reads, reconnects, failed_writes, acked_updates, update_missing;
    unsigned long long recent[64]; /* the last acknowledged inserts, a ring */
    unsigned nrecent;
    unsigned seed;
} session;

static options opt;
static volatile sig_atomic_t stop_signal;
static atomic_ullong next_id;
static int acked_fd = -1, errors_fd = -1, updates_fd = -1;
static double start_mono;
static int64_t start_wall;

/* Under one lock: acknowledgements (for the window) and errors. */
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static double last_ack = -1, window_max;
static unsigned long long n_acked, n_errors;
static gap *gaps;
static size_t ngaps;
static error_kind *kinds;
static size_t nkinds;

static double mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1000.0 + (double)ts.tv_nsec / 1e6;
}

static bool stopping(void)
{
    return stop_signal || (opt.seconds > 0 && mono_ms() - start_mono >= opt.seconds * 1000.0);
}

static struct timespec stop_ts; /* when the signal came: the run's end */

static void on_signal(int sig)
{
    (void)sig;
    if (!stop_signal)
        clock_gettime(CLOCK_MONOTONIC, &stop_ts); /* async-signal-safe */
    stop_signal = 1;
}

/* Sleep until mono time t, waking every 50 ms to notice a stop. */
static void sleep_until(double t)
{
    for (double d; !stopping() && (d = t - mono_ms()) > 0;) {
        if (d > 50)
            d = 50;
        struct timespec ts = {0, (long)(d * 1e6)};
        nanosleep(&ts, NULL);
    }
}

/* A JSON string of untrusted bytes: valid UTF-8, bounded, no control
 * character (sbuf_add_printable), then quotes and backslashes escaped. */
static void add_json_string(sbuf *out, const char *s, size_t max)
{
    sbuf p = SBUF_INIT;
    sbuf_add_printable(&p, s, strlen(s), max);
    sbuf_addc(out, '"');
    for (size_t i = 0; i < p.len; i++) {
        if (p.buf[i] == '"' || p.buf[i] == '\\')
            sbuf_addc(out, '\\');
        sbuf_addc(out, p.buf[i]);
    }
    sbuf_addc(out, '"');
    sbuf_free(&p);
}

/* A whole line in one write(2) on an O_APPEND descriptor: lines of
 * different sessions never interleave, and a reader sees each at once. */
static void append_line(int fd, const sbuf *line)
{
    if (fd >= 0 && write(fd, line->buf, line->len) != (ssize_t)line->len)
        fprintf(stderr, "sql_writer: cannot append to a result file: %s\n", strerror(errno));
}

/* The connection is gone when the library says so (client errors 2xxx:
 * lost, gone away, cannot connect) or the server or router does (SQLSTATE
 * class 08, connection exception: what connection pools evict on). */
static bool connection_gone(unsigned code, const char *sqlstate)
{
    return (code >= 2000 && code < 3000) || strncmp(sqlstate, "08", 2) == 0;
}

static void record_error(session *s, const char *what, MYSQL *m)
{
    unsigned code = mysql_errno(m);
    const char *state = mysql_sqlstate(m), *msg = mysql_error(m);
    pthread_mutex_lock(&lock);
    n_errors++;
    error_kind *k = NULL;
    for (size_t i = 0; i < nkinds && !k; i++)
        if (kinds[i].code == code && strcmp(kinds[i].what, what) == 0)
            k = &kinds[i];
    if (!k) {
        kinds = xrealloc(kinds, (nkinds + 1) * sizeof *kinds);
        k = &kinds[nkinds++];
        memset(k, 0, sizeof *k);
        k->code = code;
        snprintf(k->sqlstate, sizeof k->sqlstate, "%s", state);
        k->what = what;
        sbuf p = SBUF_INIT;
        sbuf_add_printable(&p, msg, strlen(msg), MESSAGE_MAX);
        k->message = sbuf_detach(&p, NULL);
    }
    k->count++;
    pthread_mutex_unlock(&lock);
    if (errors_fd >= 0) {
        sbuf line = SBUF_INIT;
        sbuf_addf(&line, "{\"at_unix_ms\":%lld,\"session\":%u,\"code\":%u,\"sqlstate\":", (long long)clock_wall_ms(),
                  s->n, code);
        add_json_string(&line, state, 5);
        sbuf_addf(&line, ",\"what\":\"%s\",\"message\":", what);
        add_json_string(&line, msg, MESSAGE_MAX);
        sbuf_adds(&line, "}\n");
        append_line(errors_fd, &line);
        sbuf_free(&line);
    }
}

static void record_ack(session *s, unsigned long long id, double sent, double answered)
{
    sbuf line = SBUF_INIT;
    sbuf_addf(&line, "%llu\n", id);
    append_line(acked_fd, &line);
    sbuf_free(&line);
    if (s->nlat == s->cap) {
        s->cap = s->cap ? s->cap * 2 : 4096;
        s->lat = xrealloc(s->lat, s->cap * sizeof *s->lat);
    }
    s->lat[s->nlat++] = (float)(answered - sent);
    pthread_mutex_lock(&lock);
    double t = mono_ms(); /* read under the lock: acknowledgements in time order */
    if (last_ack >= 0) {
        double g = t - last_ack;
        if (g > window_max)
            window_max = g;
        if (g > opt.gap_ms) {
            gaps = xrealloc(gaps, (ngaps + 1) * sizeof *gaps);
            gaps[ngaps++] = (gap){last_ack - start_mono, g};
        }
    }
    last_ack = t;
    n_acked++;
    pthread_mutex_unlock(&lock);
}

/* A new session; on failure the error is counted (s) or described (err). */
static MYSQL *session_connect(session *s, sbuf *err)
{
    MYSQL *m = mysql_init(NULL);
    /* Long enough for a router that holds writes through a switch; short
     * enough that a dead peer does not stall a session for minutes. */
    unsigned connect_timeout = 5, io_timeout = 30;
    mysql_optionsv(m, MYSQL_OPT_CONNECT_TIMEOUT, &connect_timeout);
    mysql_optionsv(m, MYSQL_OPT_READ_TIMEOUT, &io_timeout);
    mysql_optionsv(m, MYSQL_OPT_WRITE_TIMEOUT, &io_timeout);
    if (!mysql_real_connect(m, opt.host, opt.user, opt.password.buf, NULL, opt.port, NULL, 0)) {
        if (s)
            record_error(s, "connect", m);
        if (err) {
            sbuf_setf(err, "cannot connect to %s:%u as %s: ", opt.host, opt.port, opt.user);
            sbuf_add_printable(err, mysql_error(m), strlen(mysql_error(m)), MESSAGE_MAX);
            sbuf_adds(err, " (is the server or router up, and are the account and password file right?)");
        }
        mysql_close(m);
        return NULL;
    }
    return m;
}

/* After an acknowledged write: is the row there, read on the same session? */
static void read_back(session *s, MYSQL *m, unsigned long long id, bool *gone)
{
    sbuf q = SBUF_INIT;
    sbuf_addf(&q, "SELECT id FROM `%s`.`%s` WHERE id = %llu", opt.db, opt.table, id);
    MYSQL_RES *res = NULL;
    if (mysql_real_query(m, q.buf, q.len) != 0 || !(res = mysql_store_result(m))) {
        record_error(s, "read", m);
        *gone = connection_gone(mysql_errno(m), mysql_sqlstate(m));
    } else if (mysql_num_rows(res) == 0) {
        s->stale_reads++;
    }
    mysql_free_result(res);
    sbuf_free(&q);
}

/* --updates: n = n + 1 on one of the session's earlier rows. The row was
 * acknowledged, so the write side has it: no row is a lost one. */
static void update_one(session *s, MYSQL *m, sbuf *q, bool *gone)
{
    unsigned have = s->nrecent < 64 ? s->nrecent : 64;
    if (!have)
        return;
    unsigned long long id = s->recent[(unsigned)rand_r(&s->seed) % have];
    sbuf_reset(q);
    sbuf_addf(q, "UPDATE `%s`.`%s` SET n = n + 1 WHERE id = %llu", opt.db, opt.table, id);
    if (mysql_real_query(m, q->buf, q->len) != 0) {
        s->failed_writes++;
        record_error(s, "update", m);
        *gone = connection_gone(mysql_errno(m), mysql_sqlstate(m));
        return;
    }
    if (mysql_affected_rows(m) != 1) {
        s->update_missing++;
        return;
    }
    s->acked_updates++;
    sbuf line = SBUF_INIT;
    sbuf_addf(&line, "%llu\n", id);
    append_line(updates_fd, &line);
    sbuf_free(&line);
}

static void *session_main(void *arg)
{
    session *s = arg;
    mysql_thread_init();
    double interval = 1000.0 * opt.connections / opt.rate;
    double next = start_mono + 1000.0 * s->n / opt.rate; /* staggered */
    MYSQL *m = NULL;
    bool ever_connected = false;
    sbuf q = SBUF_INIT;
    while (!stopping()) {
        sleep_until(next);
        if (stopping())
            break;
        next += interval;
        /* Far behind (the session was stuck): do not burst to catch up. */
        if (mono_ms() - next > 1000)
            next = mono_ms();
        if (!m) {
            if (!(m = session_connect(s, NULL)))
                continue;
            if (ever_connected)
                s->reconnects++;
            ever_connected = true;
        }
        unsigned long long id = atomic_fetch_add(&next_id, 1);
        sbuf_reset(&q);
        sbuf_addf(&q, "INSERT INTO `%s`.`%s` (id, ts, side) VALUES (%llu, NOW(6), 'sql_writer %u')", opt.db,
                  opt.table, id, s->n);
        double sent = mono_ms();
        bool gone = false;
        if (mysql_real_query(m, q.buf, q.len) == 0) {
            record_ack(s, id, sent, mono_ms());
            if (opt.read_after_write)
                read_back(s, m, id, &gone);
            if (opt.updates_path && !gone)
                update_one(s, m, &q, &gone);
            s->recent[s->nrecent++ % 64] = id;
        } else {
            s->failed_writes++;
            record_error(s, "write", m);
            gone = connection_gone(mysql_errno(m), mysql_sqlstate(m));
        }
        if (gone) {
            mysql_close(m);
            m = NULL;
        }
    }
    if (m)
        mysql_close(m);
    sbuf_free(&q);
    mysql_thread_end();
    return NULL;
}

/* The table, created if missing. Looked up first: CREATE TABLE IF NOT
 * EXISTS on a table that exists is still a DDL statement in the binlog,
 * which a replication stream may refuse. */
static int table_ensure(sbuf *err)
{
    MYSQL *m = session_connect(NULL, err);
    if (!m)
        return -1;
    sbuf q = SBUF_INIT;
    sbuf_addf(&q, "SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = '%s' AND TABLE_NAME = '%s'",
              opt.db, opt.table);
    MYSQL_RES *res = NULL;
    MYSQL_ROW row;
    int rc = 0;
    if (mysql_real_query(m, q.buf, q.len) != 0 || !(res = mysql_store_result(m)) || !(row = mysql_fetch_row(res))) {
        rc = -1;
    } else if (strcmp(row[0], "0") == 0) {
        sbuf_setf(&q, "CREATE TABLE IF NOT EXISTS `%s`.`%s` (id BIGINT PRIMARY KEY, ts DATETIME(6), side VARCHAR(32), "
                      "n INT NOT NULL DEFAULT 0)",
                  opt.db, opt.table);
        rc = mysql_real_query(m, q.buf, q.len) != 0 ? -1 : 0;
    }
    if (rc) {
        sbuf_setf(err, "cannot find or create the table %s.%s: ", opt.db, opt.table);
        sbuf_add_printable(err, mysql_error(m), strlen(mysql_error(m)), MESSAGE_MAX);
        sbuf_adds(err, " (does the database exist, and may the account create tables in it?)");
    }
    mysql_free_result(res);
    mysql_close(m);
    sbuf_free(&q);
    return rc;
}

static int cmp_float(const void *a, const void *b)
{
    float x = *(const float *)a, y = *(const float *)b;
    return (x > y) - (x < y);
}

static void report(session *ss, double end)
{
    unsigned long long stale = 0, reconnects = 0, failed = 0, updates = 0, missing = 0;
    size_t n = 0;
    for (unsigned i = 0; i < opt.connections; i++) {
        updates += ss[i].acked_updates;
        missing += ss[i].update_missing;
        stale += ss[i].stale_reads;
        reconnects += ss[i].reconnects;
        failed += ss[i].failed_writes;
        n += ss[i].nlat;
    }
    float *lat = xmalloc((n ? n : 1) * sizeof *lat);
    size_t k = 0;
    for (unsigned i = 0; i < opt.connections; i++) {
        memcpy(lat + k, ss[i].lat, ss[i].nlat * sizeof *lat);
        k += ss[i].nlat;
    }
    qsort(lat, n, sizeof *lat, cmp_float);
    /* A pause the stop ends counts too: writes failing to the very end
     * must not read as "no pause". */
    if (last_ack >= 0 && end - last_ack > window_max)
        window_max = end - last_ack;
    if (last_ack >= 0 && end - last_ack > opt.gap_ms) {
        gaps = xrealloc(gaps, (ngaps + 1) * sizeof *gaps);
        gaps[ngaps++] = (gap){last_ack - start_mono, end - last_ack};
    }
    sbuf o = SBUF_INIT;
    sbuf_addf(&o, "{\"acked\":%llu,\"failed_writes\":%llu,\"errors\":%llu,\"errors_by_code\":{", n_acked, failed, n_errors);
    bool first = true;
    for (size_t i = 0; i < nkinds; i++) {
        unsigned long long count = 0;
        bool seen = false;
        for (size_t j = 0; j < nkinds; j++) {
            seen |= j < i && kinds[j].code == kinds[i].code;
            count += kinds[j].code == kinds[i].code ? kinds[j].count : 0;
        }
        if (seen) /* summed at its first entry */
            continue;
        sbuf_addf(&o, "%s\"%u\":%llu", first ? "" : ",", kinds[i].code, count);
        first = false;
    }
    sbuf_adds(&o, "},\"first_errors\":[");
    for (size_t i = 0; i < nkinds; i++) {
        sbuf_addf(&o, "%s{\"code\":%u,\"count\":%llu,\"sqlstate\":", i ? "," : "", kinds[i].code, kinds[i].count);
        add_json_string(&o, kinds[i].sqlstate, 5);
        sbuf_addf(&o, ",\"what\":\"%s\",\"message\":", kinds[i].what);
        add_json_string(&o, kinds[i].message, MESSAGE_MAX + 4);
        sbuf_addc(&o, '}');
    }
    sbuf_addf(&o,
              "],\"stale_reads\":%llu,\"reconnects\":%llu,\"acked_updates\":%llu,\"update_missing\":%llu,"
              "\"window_ms_max\":%.1f,\"start_unix_ms\":%lld,\"gaps\":[",
              stale, reconnects, updates, missing, window_max, (long long)start_wall);
    for (size_t i = 0; i < ngaps; i++)
        sbuf_addf(&o, "%s{\"at_ms\":%.0f,\"ms\":%.1f}", i ? "," : "", gaps[i].at_ms, gaps[i].ms);
    sbuf_addf(&o, "],\"lat_ms_p50\":%.2f,\"lat_ms_p99\":%.2f,\"lat_ms_max\":%.2f}\n", n ? lat[(n - 1) / 2] : 0.0,
              n ? lat[(size_t)((double)(n - 1) * 0.99)] : 0.0, n ? lat[n - 1] : 0.0);
    fputs(o.buf, stdout);
    fflush(stdout);
    sbuf_free(&o);
    free(lat);
}

static void usage(void)
{
    fprintf(stderr, "usage: sql_writer HOST:PORT USER PASSWORD_FILE [--connections N] [--rate R] [--seconds S]\n"
                    "                  [--acked FILE] [--table DB.TABLE] [--read-after-write] [--gap-ms G]\n"
                    "                  [--errors FILE] [--updates FILE] [--id-start N]\n");
}

/* A name for the table's SQL text: letters, digits, _ and $ only, so it
 * needs no quoting beyond the backticks. */
static bool plain_name(const char *s, size_t len)
{
    if (len == 0 || len > 64)
        return false;
    for (size_t i = 0; i < len; i++)
        if (!(s[i] == '_' || s[i] == '$' || (s[i] >= '0' && s[i] <= '9') || ((s[i] | 0x20) >= 'a' && (s[i] | 0x20) <= 'z')))
            return false;
    return true;
}

static int parse_args(int argc, char **argv)
{
    if (argc < 4) {
        usage();
        return -1;
    }
    const char *colon = strrchr(argv[1], ':');
    if (!colon || colon == argv[1] || (size_t)(colon - argv[1]) >= sizeof opt.host || atoi(colon + 1) <= 0) {
        fprintf(stderr, "sql_writer: the endpoint must be HOST:PORT, e.g. 127.0.0.1:6033\n");
        return -1;
    }
    memcpy(opt.host, argv[1], (size_t)(colon - argv[1]));
    opt.port = (unsigned)atoi(colon + 1);
    opt.user = argv[2];
    sbuf err = SBUF_INIT;
    if (sbuf_read_file(&opt.password, argv[3], &err) != 0) {
        fprintf(stderr, "sql_writer: the password file: %s\n", err.buf);
        sbuf_free(&err);
        return -1;
    }
    while (opt.password.len && (opt.password.buf[opt.password.len - 1] == '\n' || opt.password.buf[opt.password.len - 1] == '\r'))
        sbuf_setlen(&opt.password, opt.password.len - 1);
    opt.connections = 32;
    opt.rate = 1000;
    opt.gap_ms = 50;
    const char *table = "app.events";
    for (int i = 4; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        bool takes = true;
        if (strcmp(a, "--read-after-write") == 0) {
            opt.read_after_write = true;
            takes = false;
        } else if (!v) {
            fprintf(stderr, "sql_writer: %s needs a value\n", a);
            return -1;
        } else if (strcmp(a, "--connections") == 0) {
            opt.connections = (unsigned)atoi(v);
        } else if (strcmp(a, "--rate") == 0) {
            opt.rate = atof(v);
        } else if (strcmp(a, "--seconds") == 0) {
            opt.seconds = atof(v);
        } else if (strcmp(a, "--acked") == 0) {
            opt.acked_path = v;
        } else if (strcmp(a, "--errors") == 0) {
            opt.errors_path = v;
        } else if (strcmp(a, "--updates") == 0) {
            opt.updates_path = v;
        } else if (strcmp(a, "--id-start") == 0) {
            opt.id_start = strtoull(v, NULL, 10);
        } else if (strcmp(a, "--table") == 0) {
            table = v;
        } else if (strcmp(a, "--gap-ms") == 0) {
            opt.gap_ms = atof(v);
        } else {
            fprintf(stderr, "sql_writer: unknown option %s\n", a);
            usage();
            return -1;
        }
        i += takes;
    }
    const char *dot = strchr(table, '.');
    if (!dot || !plain_name(table, (size_t)(dot - table)) || !plain_name(dot + 1, strlen(dot + 1))) {
        fprintf(stderr, "sql_writer: --table must be DB.TABLE, letters, digits, _ and $ only (e.g. app.events)\n");
        return -1;
    }
    memcpy(opt.db, table, (size_t)(dot - table));
    snprintf(opt.table, sizeof opt.table, "%s", dot + 1);
    if (opt.connections < 1 || opt.connections > MAX_CONNECTIONS || !(opt.rate > 0) || opt.seconds < 0 ||
        opt.gap_ms < 0) {
        fprintf(stderr, "sql_writer: --connections must be 1 to %d, --rate above 0, --seconds and --gap-ms 0 or more\n",
                MAX_CONNECTIONS);
        return -1;
    }
    return 0;
}

static int open_append(const char *path, bool truncate)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | (truncate ? O_TRUNC : 0), 0644);
    if (fd < 0)
        fprintf(stderr, "sql_writer: cannot open %s: %s\n", path, strerror(errno));
    return fd;
}

int main(int argc, char **argv)
{
    if (parse_args(argc, argv) != 0)
        return 2;
    /* A new run starts a new list: ids of an earlier run are not this
     * one's acknowledgements. */
    if (opt.acked_path && (acked_fd = open_append(opt.acked_path, true)) < 0)
        return 2;
    if (opt.errors_path && (errors_fd = open_append(opt.errors_path, true)) < 0)
        return 2;
    if (opt.updates_path && (updates_fd = open_append(opt.updates_path, true)) < 0)
        return 2;
    struct sigaction sa = {0};
    sa.sa_handler = on_signal;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    mysql_library_init(0, NULL, NULL);

    sbuf err = SBUF_INIT;
    if (table_ensure(&err) != 0) {
        fprintf(stderr, "sql_writer: %s\n", err.buf);
        sbuf_free(&err);
        sbuf_wipe(&opt.password);
        mysql_library_end();
        return 1;
    }
    /* Ids: the start time in milliseconds times a million, then one by
     * one: writers started a millisecond apart (several at once on one
     * table) never meet unless one writes a million rows. */
    atomic_store(&next_id, opt.id_start ? opt.id_start : (unsigned long long)clock_wall_ms() * 1000000ULL);
    start_mono = mono_ms();
    start_wall = clock_wall_ms();
    session *ss = xcalloc(opt.connections, sizeof *ss);
    for (unsigned i = 0; i < opt.connections; i++) {
        ss[i].n = i;
        ss[i].seed = i + 1;
        if (pthread_create(&ss[i].thread, NULL, session_main, &ss[i]) != 0) {
            fprintf(stderr, "sql_writer: cannot start session thread %u\n", i);
            return 1;
        }
    }
    for (unsigned i = 0; i < opt.connections; i++)
        pthread_join(ss[i].thread, NULL);
    /* The end is when the stop was asked for, not when the last session
     * noticed it: a pause must not grow by the sessions' wake-up time. */
    double end = stop_signal ? (double)stop_ts.tv_sec * 1000.0 + (double)stop_ts.tv_nsec / 1e6
                             : start_mono + opt.seconds * 1000.0;
    report(ss, end);

    for (unsigned i = 0; i < opt.connections; i++)
        free(ss[i].lat);
    free(ss);
    for (size_t i = 0; i < nkinds; i++)
        free(kinds[i].message);
    free(kinds);
    free(gaps);
    if (acked_fd >= 0)
        close(acked_fd);
    if (errors_fd >= 0)
        close(errors_fd);
    sbuf_wipe(&opt.password);
    mysql_library_end();
    return 0;
}
