/* reconcile: the control plane follows the agent's workflow states.
 *
 * The rules change after the agent reports success, but an agent can also
 * finish (or undo) a switch by itself: a switch cut by kill -9 after its
 * point of no return is completed when the agent starts again. The rules
 * would then send writes to a fenced source until someone noticed. So
 * `cpctl serve` watches the agent (StreamHealth: the full state at once and
 * at every change) and hands each workflow's state to the loop, which
 * corrects rules that contradict it.
 *
 * gRPC core has no file descriptor for libuv, and the client is blocking:
 * one thread holds the watch, reconnecting with backoff, and passes the
 * latest snapshot to the loop through a mutex and a uv_async, which
 * coalesces wake-ups; only the newest snapshot matters. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cpctl.h"
#include "lib/log.h"

#define BACKOFF_MIN_MS 200
#define BACKOFF_MAX_MS 5000

typedef struct snapshot {
    char **names;
    int *states;
    size_t n;
} snapshot;

struct reconciler {
    uv_async_t async;
    uv_thread_t thread;
    volatile sig_atomic_t stop;
    uv_mutex_t lock;
    snapshot latest; /* guarded by lock */
    bool fresh;
    char *agent;
    rpc_client_tls tls;
    bool use_tls;
    reconcile_cb cb;
    void *data;
};

static void snapshot_clear(snapshot *s)
{
    for (size_t i = 0; i < s->n; i++)
        free(s->names[i]);
    free(s->names);
    free(s->states);
    memset(s, 0, sizeof *s);
}

static int on_status(const ProtobufCMessage *m, void *data)
{
    reconciler *r = data;
    const Tabletagent__V1__AgentStatus *st = (const void *)m;
    snapshot s = {xcalloc(st->n_workflows + 1, sizeof(char *)), xcalloc(st->n_workflows + 1, sizeof(int)),
                  st->n_workflows};
    for (size_t i = 0; i < st->n_workflows; i++) {
        s.names[i] = xstrdup(st->workflows[i]->name);
        s.states[i] = st->workflows[i]->state;
    }
    uv_mutex_lock(&r->lock);
    snapshot_clear(&r->latest);
    r->latest = s;
    r->fresh = true;
    uv_mutex_unlock(&r->lock);
    uv_async_send(&r->async);
    return r->stop != 0;
}

static void sleep_ms(reconciler *r, unsigned ms)
{
    for (unsigned slept = 0; slept < ms && !r->stop; slept += 50) {
        struct timespec ts = {0, 50 * 1000000L};
        nanosleep(&ts, NULL);
    }
}

static void reconciler_main(void *arg)
{
    reconciler *r = arg;
    unsigned backoff = 0;
    bool said = false;
    while (!r->stop) {
        sbuf err = SBUF_INIT;
        rpc_client *c = rpc_client_open(r->agent, r->use_tls ? &r->tls : NULL, &err);
        Tabletagent__V1__StreamHealthRequest req = TABLETAGENT__V1__STREAM_HEALTH_REQUEST__INIT;
        grpc_status_code st = GRPC_STATUS_UNAVAILABLE;
        if (c)
            st = rpc_client_stream(c, "/tabletagent.v1.TabletAgent/StreamHealth", &req.base,
                                   &tabletagent__v1__agent_status__descriptor, on_status, r, &r->stop, &err);
        rpc_client_close(c);
        if (!r->stop && !said) {
            log_warn("routing", "not following the agent at %s (%s: %s); rules are reconciled once it answers",
                     r->agent, st == GRPC_STATUS_OK ? "stream ended" : "unreachable", err.buf);
            said = true;
        }
        sbuf_free(&err);
        backoff = backoff ? (backoff * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : backoff * 2) : BACKOFF_MIN_MS;
        sleep_ms(r, backoff);
    }
}

static void on_async(uv_async_t *h)
{
    reconciler *r = h->data;
    uv_mutex_lock(&r->lock);
    snapshot s = r->latest;
    bool fresh = r->fresh;
    memset(&r->latest, 0, sizeof r->latest);
    r->fresh = false;
    uv_mutex_unlock(&r->lock);
    for (size_t i = 0; fresh && i < s.n; i++)
        r->cb(r->data, s.names[i], s.states[i]);
    snapshot_clear(&s);
}

reconciler *reconciler_start(uv_loop_t *loop, const char *agent, const rpc_client_tls *tls, reconcile_cb cb, void *data)
{
    reconciler *r = xcalloc(1, sizeof *r);
    r->agent = xstrdup(agent);
    if (tls) {
        r->tls = *tls;
        r->use_tls = true;
    }
    r->cb = cb;
    r->data = data;
    uv_mutex_init(&r->lock);
    uv_async_init(loop, &r->async, on_async);
    r->async.data = r;
    uv_thread_create(&r->thread, reconciler_main, r);
    return r;
}

static void on_closed(uv_handle_t *h)
{
    reconciler *r = h->data;
    snapshot_clear(&r->latest);
    uv_mutex_destroy(&r->lock);
    free(r->agent);
    free(r);
}

void reconciler_stop(reconciler *r)
{
    if (!r)
        return;
    r->stop = 1;
    uv_thread_join(&r->thread);
    uv_close((uv_handle_t *)&r->async, on_closed);
}
