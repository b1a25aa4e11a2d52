/* app_writer: an application that follows the control plane's routing
 * rules, for the cutover tests and benchmark.
 *
 *   app_writer CONTROL_PLANE WORKFLOW RATE SECONDS ACKED_FILE [USER PASSWORD]
 *
 * It watches the workflow's routing (controlplane.v1.Routing/WatchRouting)
 * on a second thread and writes RATE rows per second into app.events on
 * whichever side the rules say takes writes, reading now and then from the
 * side that takes reads. Every write it saw acknowledged is appended to
 * ACKED_FILE at once, so a test can check, at any moment, that each one is
 * present on both servers. A failed write (fenced server, locked account,
 * killed session) is retried, against the new side once the rules change;
 * a duplicate-key error on a retry means the earlier attempt committed.
 * It runs for SECONDS (0: until SIGTERM) and prints one JSON line:
 *   {"acked":N,"failed_attempts":N,"start_unix_ms":..,"max_gap_ms":..,
 *    "gaps":[{"at_ms":..,"ms":..},...]}
 * where gaps lists every pause between acknowledged writes over
 * APP_WRITER_GAP_MS (default 50), at_ms counting from start_unix_ms. */
#include <errmsg.h>
#include <mysql.h>
#include <mysqld_error.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

#include "rpc/rpc_client.h"
#include "controlplane/v1/routing.pb-c.h"

typedef struct rules {
    pthread_mutex_t lock;
    char writes[128]; /* host:port */
    char reads[128];
    unsigned long long version;
} rules;

static volatile sig_atomic_t stop;
static rules current = {PTHREAD_MUTEX_INITIALIZER, "", "", 0};

static double now_ms(void)
{
    struct timeval tv;
    gettimeofday(&tv, NULL);
    return (double)tv.tv_sec * 1000.0 + (double)tv.tv_usec / 1000.0;
}

static void on_signal(int sig)
{
    (void)sig;
    stop = 1;
}

static int on_rules(const ProtobufCMessage *m, void *data)
{
    (void)data;
    const Controlplane__V1__RoutingRules *r = (const void *)m;
    pthread_mutex_lock(&current.lock);
    snprintf(current.writes, sizeof current.writes, "%s",
             strcmp(r->writes, "destination") == 0 ? r->destination : r->source);
    snprintf(current.reads, sizeof current.reads, "%s",
             strcmp(r->reads, "destination") == 0 ? r->destination : r->source);
    current.version = r->version;
    pthread_mutex_unlock(&current.lock);
    return 0;
}

typedef struct watch_args {
    const char *control, *workflow;
} watch_args;

static void *watch_main(void *arg)
{
    watch_args *w = arg;
    while (!stop) {
        sbuf err = SBUF_INIT;
        rpc_client *c = rpc_client_open(w->control, NULL, &err);
        Controlplane__V1__GetRoutingRequest req = CONTROLPLANE__V1__GET_ROUTING_REQUEST__INIT;
        req.workflow = (char *)w->workflow;
        if (c)
            rpc_client_stream(c, "/controlplane.v1.Routing/WatchRouting", &req.base,
                              &controlplane__v1__routing_rules__descriptor, on_rules, NULL, &stop, &err);
        rpc_client_close(c);
        sbuf_free(&err);
        if (!stop) {
            struct timespec ts = {0, 100 * 1000000L};
            nanosleep(&ts, NULL);
        }
    }
    return NULL;
}

static void side(char *buf, size_t n, bool writes, unsigned long long *version)
{
    pthread_mutex_lock(&current.lock);
    snprintf(buf, n, "%s", writes ? current.writes : current.reads);
    *version = current.version;
    pthread_mutex_unlock(&current.lock);
}

static MYSQL *connect_to(const char *hostport, const char *user, const char *pw)
{
    char host[128];
    snprintf(host, sizeof host, "%s", hostport);
    char *colon = strrchr(host, ':');
    unsigned port = colon ? (unsigned)atoi(colon + 1) : 3306;
    if (colon)
        *colon = '\0';
    MYSQL *m = mysql_init(NULL);
    unsigned timeout = 2;
    mysql_optionsv(m, MYSQL_OPT_CONNECT_TIMEOUT, &timeout);
    mysql_optionsv(m, MYSQL_OPT_READ_TIMEOUT, &timeout);
    mysql_optionsv(m, MYSQL_OPT_WRITE_TIMEOUT, &timeout);
    if (!mysql_real_connect(m, host, user, pw, NULL, port, NULL, 0)) {
        mysql_close(m);
        return NULL;
    }
    return m;
}

typedef struct gap {
    double at, ms;
} gap;

int main(int argc, char **argv)
{
    if (argc < 6) {
        fprintf(stderr, "usage: app_writer CONTROL_PLANE WORKFLOW RATE SECONDS ACKED_FILE [USER PASSWORD]\n");
        return 2;
    }
    const char *user = argc > 6 ? argv[6] : "app", *pw = argc > 7 ? argv[7] : "app-password";
    double rate = atof(argv[3]), seconds = atof(argv[4]);
    FILE *acked = fopen(argv[5], "w");
    if (!acked) {
        perror(argv[5]);
        return 2;
    }
    signal(SIGTERM, on_signal);
    signal(SIGINT, on_signal);
    watch_args wa = {argv[1], argv[2]};
    pthread_t watcher;
    pthread_create(&watcher, NULL, watch_main, &wa);

    MYSQL *conn = NULL, *reader = NULL;
    char conn_side[128] = "", want[128], read_side[128] = "", rwant[128];
    unsigned long long version;
    double start = now_ms(), last_ack = 0, max_gap = 0, interval = rate > 0 ? 1000.0 / rate : 1;
    double gap_ms = getenv("APP_WRITER_GAP_MS") ? atof(getenv("APP_WRITER_GAP_MS")) : 50;
    unsigned long long id = (unsigned long long)(start * 1000) % 1000000000000ULL * 1000, n_acked = 0, failed = 0;
    gap *gaps = NULL;
    size_t ngaps = 0;
    char q[256];
    while (!stop && (seconds <= 0 || now_ms() - start < seconds * 1000)) {
        side(want, sizeof want, true, &version);
        if (!*want) { /* no rules yet */
            struct timespec ts = {0, 10 * 1000000L};
            nanosleep(&ts, NULL);
            continue;
        }
        if (!conn || strcmp(conn_side, want) != 0) {
            if (conn)
                mysql_close(conn);
            conn = connect_to(want, user, pw);
            snprintf(conn_side, sizeof conn_side, "%s", want);
        }
        snprintf(q, sizeof q, "INSERT INTO app.events (id, ts, side) VALUES (%llu, NOW(6), '%s')", id, want);
        unsigned e = !conn ? CR_CONNECTION_ERROR : mysql_query(conn, q) ? mysql_errno(conn) : 0;
        if (e == 0 || e == ER_DUP_ENTRY) {
            double t = now_ms();
            if (last_ack && t - last_ack > max_gap)
                max_gap = t - last_ack;
            if (last_ack && t - last_ack > gap_ms) {
                gaps = realloc(gaps, (ngaps + 1) * sizeof *gaps);
                gaps[ngaps++] = (gap){last_ack - start, t - last_ack};
            }
            last_ack = t;
            fprintf(acked, "%llu\n", id);
            fflush(acked);
            n_acked++;
            id++;
            double next = start + (double)n_acked * interval, wait = next - now_ms();
            if (wait > 0) {
                struct timespec ts = {(time_t)(wait / 1000), (long)((long long)(wait * 1e6) % 1000000000LL)};
                nanosleep(&ts, NULL);
            }
        } else {
            failed++;
            if (conn && (e == CR_SERVER_GONE_ERROR || e == CR_SERVER_LOST || e == ER_CONNECTION_KILLED ||
                         e == ER_ACCOUNT_HAS_BEEN_LOCKED)) {
                mysql_close(conn);
                conn = NULL;
            }
            struct timespec ts = {0, 2 * 1000000L};
            nanosleep(&ts, NULL);
        }
        if (n_acked % 10 == 0) { /* reads go where the rules say */
            side(rwant, sizeof rwant, false, &version);
            if (!reader || strcmp(read_side, rwant) != 0) {
                if (reader)
                    mysql_close(reader);
                reader = connect_to(rwant, user, pw);
                snprintf(read_side, sizeof read_side, "%s", rwant);
            }
            if (reader && mysql_query(reader, "SELECT COUNT(*) FROM app.events") == 0)
                mysql_free_result(mysql_store_result(reader));
        }
    }
    stop = 1;
    pthread_join(watcher, NULL);
    printf("{\"acked\":%llu,\"failed_attempts\":%llu,\"start_unix_ms\":%.0f,\"max_gap_ms\":%.1f,\"gaps\":[", n_acked,
           failed, start, max_gap);
    for (size_t i = 0; i < ngaps; i++)
        printf("%s{\"at_ms\":%.0f,\"ms\":%.1f}", i ? "," : "", gaps[i].at, gaps[i].ms);
    printf("]}\n");
    free(gaps);
    fclose(acked);
    if (conn)
        mysql_close(conn);
    if (reader)
        mysql_close(reader);
    mysql_library_end();
    return 0;
}
