/* rules: the router's follower of the control plane's routing rules.
 *
 * A watcher thread holds WatchRouting(workflow) open with the blocking
 * rpc_client; every message is checked and copied into a plain C struct,
 * and the newest one is handed to the loop thread (a mutex-guarded slot
 * and a uv_async: only the latest rules matter), where the callback runs.
 * When the control plane cannot be reached or the stream breaks, the
 * watcher retries with backoff (200 ms doubling to 5 s, with jitter); the
 * router keeps serving the last rules it accepted, and the state says
 * since when and why.
 *
 * A reporter thread tells the control plane which version the router
 * applies, and whether it holds (ReportRouter): at once after
 * rules_watch_applied() and a change of rules_watch_holding(), after each
 * reconnection, and every report_interval_ms as a heartbeat. The loop
 * samples the client count and hands it over with each report. Two
 * unanswered reports in a row while the stream looks open mean the stream
 * is probably dead too (a stopped or cut-off control plane sends no reset):
 * the watcher is told to reconnect rather than trust it.
 *
 * Rules that are garbage are not applied: a mode this router does not
 * know, addresses that are not host:port, a side the mode needs left
 * empty, another workflow, or a version lower than one already accepted
 * (a control plane that lost its state or an older replica: the router
 * keeps the newer rules until it is restarted). The state's error says so.
 *
 * Threads: start, applied and stop on the loop thread; state_get from any
 * thread. Nothing is printed: problems are in the state. */
#ifndef ROUTER_RULES_H
#define ROUTER_RULES_H

#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#include "lib/sbuf.h"
#include "rpc/rpc_client.h"

typedef enum { ROUTER_MODE_NONE, ROUTER_MODE_SOURCE, ROUTER_MODE_VALIDATE, ROUTER_MODE_PRIMARY } router_mode;

typedef struct router_rules {
    char workflow[128];
    uint64_t version; /* grows with every change; 0: the control plane has none yet */
    router_mode mode;
    bool detached;    /* the workflow is over; writes stay where the mode says */
    bool hold;        /* a switch is under way: hold new work for the write side */
    char source[256], destination[256]; /* host:port; "" when the rules name none */
    int64_t updated_at_unix_ms;
} router_rules;

/* Which side a mode sends reads and writes to. */
bool router_mode_reads_destination(router_mode m);
bool router_mode_writes_destination(router_mode m);
/* "SOURCE", "VALIDATE", "PRIMARY", "NONE". */
const char *router_mode_name(router_mode m);

typedef struct rules_watch rules_watch;

typedef struct rules_watch_state {
    bool connected;          /* a WatchRouting stream is open and has delivered */
    char error[512];         /* what is wrong and what happens now; "" when nothing is */
    int64_t since_mono_ms;   /* when connected last changed (clock_mono_ms) */
    uint64_t last_version;   /* the last rules version accepted; 0: none yet */
    int64_t rules_mono_ms;   /* when those rules arrived; 0: none yet */
    char report_error[256];  /* why the last ReportRouter failed; "" when it was taken */
} rules_watch_state;

typedef struct rules_watch_opts {
    const char *control_plane;          /* host:port (any gRPC target) */
    const rpc_client_tls *tls;          /* NULL: plaintext */
    const char *workflow;
    const char *router_id;              /* NULL or "": the address */
    const char *address;                /* where applications connect */
    unsigned report_interval_ms;        /* 0: 5000 */
    /* Optional: the current client count for reports, called on the loop
     * thread with the data given to rules_watch_start. */
    uint32_t (*clients)(void *data);
    /* Optional, on the loop thread: connected, error or report_error
     * changed. */
    void (*on_state)(const rules_watch_state *st, void *data);
} rules_watch_opts;

/* On the loop thread, with rules newer than any before. */
typedef void (*rules_watch_cb)(const router_rules *rules, void *data);

/* The strings in o are copied. NULL with err when o is incomplete. */
rules_watch *rules_watch_start(uv_loop_t *loop, const rules_watch_opts *o, rules_watch_cb cb, void *data,
                               sbuf *err);
/* The router now applies this version: reported at once. */
void rules_watch_applied(rules_watch *w, uint64_t version);
/* The router holds at this rules version with nothing open on the write
 * side (0: it does not hold): reported at once when it changes. */
void rules_watch_holding(rules_watch *w, uint64_t version);
void rules_watch_state_get(rules_watch *w, rules_watch_state *st);
/* Tells the control plane the router leaves (if it answered lately; 300
 * ms at most), joins both threads, within about a second even while the
 * control plane is unreachable; no callback runs after it returns. Its handles close on
 * the loop, which must run once more to free it. */
void rules_watch_stop(rules_watch *w);

/* ---- the checks, for tests ---------------------------------------------------------------- */

struct Controlplane__V1__RoutingRules;
/* The rules a message carries, for workflow, checked as described above
 * (except the version order); version 0 (no rules yet) passes with mode
 * NONE. -1 with err saying what is wrong. */
int rules_decode(const struct Controlplane__V1__RoutingRules *m, const char *workflow, router_rules *out, sbuf *err);
/* May next replace prev, both from one control plane? -1 with err when
 * the version went back or the same version changed content. */
int rules_check_next(const router_rules *prev, const router_rules *next, sbuf *err);
/* host:port, host a name, an IPv4 address or [IPv6], port 1-65535. */
bool rules_address_valid(const char *hostport);

#endif
