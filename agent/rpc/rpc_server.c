/* rpc_server: gRPC C core on a libuv loop.
 *
 * gRPC core has no file descriptor libuv could poll, so a "pump" thread
 * blocks in grpc_completion_queue_next and appends each (tag, ok) event to a
 * mutex-protected queue, then wakes the loop with uv_async_send (which
 * coalesces wake-ups). The loop drains the queue and drives each call as a
 * small state machine. Nothing else touches gRPC from another thread.
 *
 * Per call: RECV_CLOSE_ON_SERVER is posted at once (the only way to learn of
 * a cancellation) and one RECV_MESSAGE reads the request. Sends are queued
 * and only one send batch is in flight at a time, because core rejects a
 * second SEND_MESSAGE while one is pending. The first batch carries the
 * initial metadata, the last the status. A stream whose client falls more
 * than RPC_SEND_QUEUE_MAX messages behind is cancelled, so a slow client can
 * never make the agent buffer without bound or block.
 *
 * A call is freed when its reference count drops to zero: one reference is
 * held by the application until it ends the call, one by each batch in
 * flight. Methods nobody registered get UNIMPLEMENTED through a generic
 * request_call, so a stray client never hangs.
 *
 * Each call is counted when it ends, by method and status code, with its
 * duration in a histogram: loop-thread counters the daemon's metrics read
 * on the loop.
 *
 * Text is checked here, once for every method, both ways: a request whose
 * strings are not UTF-8 or hold a NUL, or whose enums hold unknown values,
 * is refused before any handler sees it; replies and status messages always
 * go out as valid UTF-8, status messages bounded too (pbcheck.h). */
#include "rpc/rpc_server.h"

#include <grpc/byte_buffer_reader.h>
#include <grpc/grpc.h>
#include <grpc/grpc_security.h>
#include <grpc/support/log.h>
#include <grpc/support/time.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/clock.h"
#include "lib/log.h"
#include "rpc/pbbuf.h"
#include "rpc/pbcheck.h"

#define RPC_SEND_QUEUE_MAX 64
#define RPC_STATUS_MAX 1000 /* bytes of grpc-message */
#define RPC_MAX_ENDPOINTS 4

typedef enum { TAG_REQUEST, TAG_RECV, TAG_SEND, TAG_CLOSE, TAG_SHUTDOWN } rpc_tag_kind;

typedef struct rpc_tag {
    rpc_tag_kind kind;
    void *owner;
} rpc_tag;

typedef struct rpc_endpoint rpc_endpoint;

/* One outstanding request_call: for a registered method, or generic. */
typedef struct rpc_listener {
    rpc_tag tag;
    rpc_endpoint *ep;
    const rpc_method *method; /* NULL: the generic UNIMPLEMENTED catcher */
    rpc_method_stats *stats;
    void *registered;
    grpc_call *call;
    gpr_timespec deadline;
    grpc_metadata_array md;
    grpc_call_details details;
} rpc_listener;

struct rpc_endpoint {
    rpc_server *srv;
    grpc_server *gs;
    char *address;
    rpc_listener *listeners;
    size_t nlisteners;
    rpc_tag shutdown_tag;
    bool shut_down;
};

typedef struct rpc_event {
    rpc_tag *tag;
    int ok;
} rpc_event;

struct rpc_server {
    uv_loop_t *loop;
    void *ctx;
    grpc_completion_queue *cq;
    uv_thread_t pump;
    uv_async_t wake;
    uv_timer_t grace;
    uv_mutex_t lock;
    rpc_event *events; /* filled by the pump thread, drained by the loop */
    size_t nevents, capevents;
    bool pump_done;
    rpc_endpoint eps[RPC_MAX_ENDPOINTS];
    int neps;
    bool started, stopping, finishing;
    unsigned live_calls;
    unsigned live_listeners;
    unsigned handles_open;
    void (*on_stopped)(void *);
    void *on_stopped_arg;
    rpc_method_stats **stats; /* each allocated once: listeners point at them */
    size_t nstats;
};

struct rpc_call {
    rpc_server *srv;
    const rpc_method *method;
    rpc_method_stats *stats;
    int64_t started_us;
    grpc_call *gc;
    gpr_timespec deadline;
    rpc_tag recv_tag, send_tag, close_tag;
    grpc_byte_buffer *recv_buf;
    int close_cancelled;
    int refs;
    bool app_done, cancelled, md_sent, send_busy, status_queued, status_sent;
    grpc_byte_buffer *queue[RPC_SEND_QUEUE_MAX];
    unsigned qhead, qcount;
    grpc_byte_buffer *inflight;
    grpc_status_code status;
    grpc_slice status_details;
    rpc_cancel_cb on_cancel;
    void *cancel_data;
};

static void listener_post(rpc_listener *l);
static void call_flush(rpc_call *c);
static void server_maybe_finish(rpc_server *srv);

/* ---- pump thread ---------------------------------------------------------- */

static void pump_main(void *arg)
{
    rpc_server *srv = arg;
    for (;;) {
        grpc_event ev = grpc_completion_queue_next(srv->cq, gpr_inf_future(GPR_CLOCK_REALTIME), NULL);
        uv_mutex_lock(&srv->lock);
        if (ev.type == GRPC_QUEUE_SHUTDOWN) {
            srv->pump_done = true;
        } else if (ev.type == GRPC_OP_COMPLETE) {
            if (srv->nevents == srv->capevents) {
                srv->capevents = srv->capevents ? srv->capevents * 2 : 64;
                srv->events = xrealloc(srv->events, srv->capevents * sizeof *srv->events);
            }
            srv->events[srv->nevents++] = (rpc_event){ev.tag, ev.success};
        }
        bool done = srv->pump_done;
        uv_mutex_unlock(&srv->lock);
        uv_async_send(&srv->wake);
        if (done)
            return;
    }
}

/* ---- message coding ------------------------------------------------------- */

/* The request in bb, or NULL with *why set: bytes that do not decode as d,
 * or a string or enum field no handler should see (pbcheck.h). */
static ProtobufCMessage *request_decode(const ProtobufCMessageDescriptor *d, grpc_byte_buffer *bb, sbuf *why)
{
    grpc_byte_buffer_reader r;
    ProtobufCMessage *m = NULL;
    grpc_slice s = grpc_empty_slice();
    if (grpc_byte_buffer_reader_init(&r, bb)) {
        s = grpc_byte_buffer_reader_readall(&r);
        grpc_byte_buffer_reader_destroy(&r);
        m = protobuf_c_message_unpack(d, NULL, GRPC_SLICE_LENGTH(s), GRPC_SLICE_START_PTR(s));
    }
    if (!m) {
        sbuf_setf(why, "malformed request: cannot decode it as %s; check the client's .proto version", d->name);
    } else if (pbcheck_request(d, GRPC_SLICE_START_PTR(s), GRPC_SLICE_LENGTH(s), why) != 0) {
        protobuf_c_message_free_unpacked(m, NULL);
        m = NULL;
    }
    grpc_slice_unref(s);
    return m;
}

/* Replies quote live agent state (a server's error, a table's name) that is
 * not always UTF-8; strict clients would refuse the whole message, so such
 * strings go out escaped, from a copy (pbcheck.h). */
/* A whole PEM file as a C string, or NULL with err. */
static char *file_slurp(const char *path, sbuf *err)
{
    sbuf b = SBUF_INIT;
    if (sbuf_read_file(&b, path, err) != 0) {
        sbuf_free(&b);
        return NULL;
    }
    return sbuf_detach(&b, NULL);
}

static grpc_byte_buffer *reply_pack(const rpc_call *c, const ProtobufCMessage *m)
{
    ProtobufCMessage *copy;
    grpc_byte_buffer *bb = pbbuf_pack(pbcheck_reply(m, &copy));
    if (copy) {
        log_debug("rpc", "%s: escaped bytes that are not UTF-8 in the reply", rpc_call_method(c));
        protobuf_c_message_free_unpacked(copy, NULL);
    }
    return bb;
}

/* grpc-message travels as an HTTP/2 header: keep it valid UTF-8 and short,
 * whatever a handler put in it (a name echoed from the request, a server's
 * error). Cut at a character boundary, then "...". */
static grpc_slice status_details(const char *msg)
{
    sbuf sb = SBUF_INIT;
    sbuf_add_printable(&sb, msg, strlen(msg), RPC_STATUS_MAX);
    if (sb.len > RPC_STATUS_MAX) { /* escapes made it longer */
        size_t n = RPC_STATUS_MAX - 3;
        while (n > 0 && ((unsigned char)sb.buf[n] & 0xC0) == 0x80)
            n--;
        sbuf_setlen(&sb, n);
        sbuf_adds(&sb, "...");
    }
    grpc_slice s = grpc_slice_from_copied_buffer(sbuf_cstr(&sb), sb.len);
    sbuf_free(&sb);
    return s;
}

/* ---- calls ------------------------------------------------------------------ */

static void call_unref(rpc_call *c)
{
    if (--c->refs > 0)
        return;
    while (c->qcount) {
        grpc_byte_buffer_destroy(c->queue[c->qhead]);
        c->qhead = (c->qhead + 1) % RPC_SEND_QUEUE_MAX;
        c->qcount--;
    }
    if (c->recv_buf)
        grpc_byte_buffer_destroy(c->recv_buf);
    grpc_slice_unref(c->status_details);
    grpc_call_unref(c->gc);
    rpc_server *srv = c->srv;
    free(c);
    srv->live_calls--;
    server_maybe_finish(srv);
}

static bool call_batch(rpc_call *c, const grpc_op *ops, size_t n, rpc_tag *tag)
{
    c->refs++;
    grpc_call_error e = grpc_call_start_batch(c->gc, ops, n, tag, NULL);
    if (e != GRPC_CALL_OK) {
        log_error("rpc", "%s: start_batch failed (%d)", rpc_call_method(c), (int)e);
        c->refs--;
        return false;
    }
    return true;
}

static rpc_call *call_new(rpc_server *srv, const rpc_listener *l, grpc_call *gc, gpr_timespec deadline)
{
    rpc_call *c = xcalloc(1, sizeof *c);
    c->srv = srv;
    c->method = l->method;
    c->stats = l->stats;
    c->started_us = clock_mono_us();
    c->gc = gc;
    c->deadline = deadline;
    c->refs = 1; /* the application's, dropped when it ends the call */
    c->recv_tag = (rpc_tag){TAG_RECV, c};
    c->send_tag = (rpc_tag){TAG_SEND, c};
    c->close_tag = (rpc_tag){TAG_CLOSE, c};
    c->status_details = grpc_empty_slice();
    srv->live_calls++;

    grpc_op close_op = {.op = GRPC_OP_RECV_CLOSE_ON_SERVER};
    close_op.data.recv_close_on_server.cancelled = &c->close_cancelled;
    call_batch(c, &close_op, 1, &c->close_tag);
    return c;
}

static void call_send_next(rpc_call *c)
{
    grpc_op ops[3];
    size_t n = 0;
    memset(ops, 0, sizeof ops);
    if (!c->md_sent) {
        ops[n++].op = GRPC_OP_SEND_INITIAL_METADATA;
        c->md_sent = true;
    }
    if (c->qcount) {
        c->inflight = c->queue[c->qhead];
        c->qhead = (c->qhead + 1) % RPC_SEND_QUEUE_MAX;
        c->qcount--;
        ops[n].op = GRPC_OP_SEND_MESSAGE;
        ops[n++].data.send_message.send_message = c->inflight;
    }
    if (!c->qcount && c->status_queued) {
        static grpc_metadata answered;
        answered.key = grpc_slice_from_static_string(RPC_ANSWERED_KEY);
        answered.value = grpc_slice_from_static_string("1");
        ops[n].op = GRPC_OP_SEND_STATUS_FROM_SERVER;
        ops[n].data.send_status_from_server.status = c->status;
        ops[n].data.send_status_from_server.status_details = &c->status_details;
        ops[n].data.send_status_from_server.trailing_metadata_count = 1;
        ops[n].data.send_status_from_server.trailing_metadata = &answered;
        n++;
        c->status_sent = true;
    }
    c->send_busy = true;
    if (!call_batch(c, ops, n, &c->send_tag)) {
        c->send_busy = false;
        c->cancelled = true;
    }
}

static void call_flush(rpc_call *c)
{
    if (c->send_busy || c->status_sent)
        return;
    if (c->cancelled) {
        while (c->qcount) {
            grpc_byte_buffer_destroy(c->queue[c->qhead]);
            c->qhead = (c->qhead + 1) % RPC_SEND_QUEUE_MAX;
            c->qcount--;
        }
        return;
    }
    if (c->qcount || c->status_queued)
        call_send_next(c);
}

static void call_finish(rpc_call *c, grpc_status_code code, const char *msg)
{
    if (c->app_done) {
        log_error("rpc", "%s: call ended twice (bug)", rpc_call_method(c));
        return;
    }
    c->app_done = true;
    c->status = code;
    c->stats->calls[(unsigned)code < RPC_STATUS_CODES ? (unsigned)code : GRPC_STATUS_UNKNOWN]++;
    prom_hist_observe(&c->stats->seconds, &rpc_seconds_buckets, (double)(clock_mono_us() - c->started_us) / 1e6);
    grpc_slice_unref(c->status_details);
    c->status_details = status_details(msg ? msg : "");
    c->status_queued = true;
    call_flush(c);
    call_unref(c);
}

void rpc_call_reply(rpc_call *c, const ProtobufCMessage *resp)
{
    if (!c->cancelled && c->qcount < RPC_SEND_QUEUE_MAX) {
        c->queue[(c->qhead + c->qcount) % RPC_SEND_QUEUE_MAX] = reply_pack(c, resp);
        c->qcount++;
    }
    call_finish(c, GRPC_STATUS_OK, NULL);
}

void rpc_call_fail(rpc_call *c, grpc_status_code code, const char *fmt, ...)
{
    sbuf msg = SBUF_INIT;
    va_list ap;
    va_start(ap, fmt);
    sbuf_vaddf(&msg, fmt, ap);
    va_end(ap);
    log_debug("rpc", "%s -> status %d: %s", rpc_call_method(c), (int)code, sbuf_cstr(&msg));
    call_finish(c, code, sbuf_cstr(&msg));
    sbuf_free(&msg);
}

void rpc_call_end(rpc_call *c, grpc_status_code code, const char *message)
{
    call_finish(c, code, message);
}

int rpc_call_send(rpc_call *c, const ProtobufCMessage *msg)
{
    if (c->cancelled || c->app_done)
        return -1;
    if (c->qcount == RPC_SEND_QUEUE_MAX) {
        log_warn("rpc", "%s: client is %d messages behind; disconnecting it", rpc_call_method(c),
                 RPC_SEND_QUEUE_MAX);
        grpc_call_cancel_with_status(c->gc, GRPC_STATUS_RESOURCE_EXHAUSTED,
                                     "client too slow: it fell too far behind the stream; reconnect",
                                     NULL);
        c->cancelled = true;
        call_flush(c);
        return -1;
    }
    c->queue[(c->qhead + c->qcount) % RPC_SEND_QUEUE_MAX] = reply_pack(c, msg);
    c->qcount++;
    call_flush(c);
    return 0;
}

void rpc_call_on_cancel(rpc_call *c, rpc_cancel_cb cb, void *data)
{
    c->on_cancel = cb;
    c->cancel_data = data;
}

const char *rpc_call_method(const rpc_call *c)
{
    return c->method ? c->method->path : "(unknown method)";
}

static void call_on_recv(rpc_call *c, int ok, void *ctx)
{
    grpc_byte_buffer *bb = c->recv_buf;
    c->recv_buf = NULL;
    if (!ok || !bb) {
        call_finish(c, GRPC_STATUS_INVALID_ARGUMENT, "request message missing");
        return;
    }
    sbuf why = SBUF_INIT;
    ProtobufCMessage *req = request_decode(c->method->request, bb, &why);
    grpc_byte_buffer_destroy(bb);
    if (req) {
        c->method->handler(c, req, ctx);
        protobuf_c_message_free_unpacked(req, NULL);
    } else {
        rpc_call_fail(c, GRPC_STATUS_INVALID_ARGUMENT, "%s", sbuf_cstr(&why));
    }
    sbuf_free(&why);
}

static void call_on_close(rpc_call *c)
{
    if (c->close_cancelled && !c->app_done) {
        c->cancelled = true;
        if (c->on_cancel)
            c->on_cancel(c, c->cancel_data);
    }
}

static void call_on_send(rpc_call *c, int ok)
{
    c->send_busy = false;
    if (c->inflight) {
        grpc_byte_buffer_destroy(c->inflight);
        c->inflight = NULL;
    }
    if (!ok && !c->cancelled) {
        c->cancelled = true;
        if (!c->app_done && c->on_cancel)
            c->on_cancel(c, c->cancel_data);
    }
    call_flush(c);
}

/* ---- listeners -------------------------------------------------------------- */

static void listener_post(rpc_listener *l)
{
    rpc_server *srv = l->ep->srv;
    grpc_metadata_array_init(&l->md);
    grpc_call_error e;
    if (l->method) {
        e = grpc_server_request_registered_call(l->ep->gs, l->registered, &l->call, &l->deadline, &l->md,
                                                NULL, srv->cq, srv->cq, &l->tag);
    } else {
        grpc_call_details_init(&l->details);
        e = grpc_server_request_call(l->ep->gs, &l->call, &l->details, &l->md, srv->cq, srv->cq, &l->tag);
    }
    if (e == GRPC_CALL_OK) {
        srv->live_listeners++;
    } else {
        log_error("rpc", "request_call failed (%d)", (int)e);
        grpc_metadata_array_destroy(&l->md);
        if (!l->method)
            grpc_call_details_destroy(&l->details);
    }
}

static void listener_on_call(rpc_listener *l, int ok)
{
    rpc_server *srv = l->ep->srv;
    srv->live_listeners--;
    grpc_metadata_array_destroy(&l->md);
    gpr_timespec deadline = l->method ? l->deadline : l->details.deadline;
    if (!l->method)
        grpc_call_details_destroy(&l->details);
    if (!ok) { /* the server is shutting down */
        server_maybe_finish(srv);
        return;
    }
    grpc_call *gc = l->call;
    l->call = NULL;
    if (!srv->stopping)
        listener_post(l);

    rpc_call *c = call_new(srv, l, gc, deadline);
    if (!l->method) {
        call_finish(c, GRPC_STATUS_UNIMPLEMENTED, "unknown method: this agent does not serve it");
        return;
    }
    grpc_op op = {.op = GRPC_OP_RECV_MESSAGE};
    op.data.recv_message.recv_message = &c->recv_buf;
    if (!call_batch(c, &op, 1, &c->recv_tag))
        call_finish(c, GRPC_STATUS_INTERNAL, "cannot read the request");
}

/* ---- events on the loop -------------------------------------------------------- */

static void server_dispatch(rpc_server *srv, rpc_tag *tag, int ok)
{
    switch (tag->kind) {
    case TAG_REQUEST:
        listener_on_call(tag->owner, ok);
        break;
    case TAG_RECV: {
        rpc_call *c = tag->owner; /* the batch's reference keeps c alive */
        call_on_recv(c, ok, srv->ctx);
        call_unref(c);
        break;
    }
    case TAG_SEND:
        call_on_send(tag->owner, ok);
        call_unref(tag->owner);
        break;
    case TAG_CLOSE:
        call_on_close(tag->owner);
        call_unref(tag->owner);
        break;
    case TAG_SHUTDOWN:
        ((rpc_endpoint *)tag->owner)->shut_down = true;
        server_maybe_finish(srv);
        break;
    }
}

static void server_on_wake(uv_async_t *h)
{
    rpc_server *srv = h->data;
    for (;;) {
        uv_mutex_lock(&srv->lock);
        rpc_event *evs = srv->events;
        size_t n = srv->nevents;
        bool pump_done = srv->pump_done;
        srv->events = NULL;
        srv->nevents = srv->capevents = 0;
        uv_mutex_unlock(&srv->lock);
        if (n == 0) {
            free(evs);
            if (pump_done && srv->finishing)
                server_maybe_finish(srv);
            return;
        }
        for (size_t i = 0; i < n; i++)
            server_dispatch(srv, evs[i].tag, evs[i].ok);
        free(evs);
    }
}

/* ---- statistics ------------------------------------------------------------------ */

static const double rpc_seconds_le[] = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60};
const prom_buckets rpc_seconds_buckets = {rpc_seconds_le, sizeof rpc_seconds_le / sizeof rpc_seconds_le[0]};

/* The entry for a method path (without its '/'), made on first use. */
static rpc_method_stats *stats_for(rpc_server *srv, const char *path)
{
    const char *name = path ? path + (*path == '/') : "unknown";
    for (size_t i = 0; i < srv->nstats; i++)
        if (strcmp(srv->stats[i]->method, name) == 0)
            return srv->stats[i];
    srv->stats = xrealloc(srv->stats, (srv->nstats + 1) * sizeof *srv->stats);
    rpc_method_stats *st = xcalloc(1, sizeof *st);
    st->method = name;
    srv->stats[srv->nstats++] = st;
    return st;
}

static void stats_free(rpc_server *srv)
{
    for (size_t i = 0; i < srv->nstats; i++)
        free(srv->stats[i]);
    free(srv->stats);
}

size_t rpc_server_stats_count(const rpc_server *srv)
{
    return srv->nstats;
}

const rpc_method_stats *rpc_server_stats_at(const rpc_server *srv, size_t i)
{
    return srv->stats[i];
}

const char *rpc_status_name(grpc_status_code code)
{
    static const char *const names[RPC_STATUS_CODES] = {
        "OK", "CANCELLED", "UNKNOWN", "INVALID_ARGUMENT", "DEADLINE_EXCEEDED", "NOT_FOUND",
        "ALREADY_EXISTS", "PERMISSION_DENIED", "RESOURCE_EXHAUSTED", "FAILED_PRECONDITION", "ABORTED",
        "OUT_OF_RANGE", "UNIMPLEMENTED", "INTERNAL", "UNAVAILABLE", "DATA_LOSS", "UNAUTHENTICATED",
    };
    return (unsigned)code < RPC_STATUS_CODES ? names[code] : "UNKNOWN";
}

/* ---- setup and teardown ---------------------------------------------------------- */

/* gRPC's own diagnostics, in our log format instead of on raw stderr. */
static void grpc_log_forward(gpr_log_func_args *args)
{
    if (args->severity == GPR_LOG_SEVERITY_ERROR)
        log_warn("grpc", "%s", args->message);
    else
        log_debug("grpc", "%s", args->message);
}

rpc_server *rpc_server_new(uv_loop_t *loop, void *ctx)
{
    gpr_set_log_function(grpc_log_forward);
    rpc_server *srv = xcalloc(1, sizeof *srv);
    srv->loop = loop;
    srv->ctx = ctx;
    grpc_init();
    srv->cq = grpc_completion_queue_create_for_next(NULL);
    uv_mutex_init(&srv->lock);
    return srv;
}

static grpc_server_credentials *tls_credentials(const rpc_tls *tls, sbuf *err)
{
    char *cert = file_slurp(tls->cert_file, err);
    char *key = cert ? file_slurp(tls->key_file, err) : NULL;
    char *ca = key ? file_slurp(tls->client_ca_file, err) : NULL;
    grpc_server_credentials *creds = NULL;
    if (ca) {
        grpc_ssl_pem_key_cert_pair pair = {key, cert};
        grpc_ssl_server_certificate_config *cfg = grpc_ssl_server_certificate_config_create(ca, &pair, 1);
        grpc_ssl_server_credentials_options *opt = grpc_ssl_server_credentials_create_options_using_config(
            GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY, cfg);
        creds = grpc_ssl_server_credentials_create_with_options(opt);
    }
    if (key)
        secure_zero(key, strlen(key));
    free(cert);
    free(key);
    free(ca);
    return creds;
}

int rpc_server_listen(rpc_server *srv, const char *address, const rpc_tls *tls, const rpc_method *methods,
                      size_t nmethods, sbuf *err)
{
    if (srv->neps == RPC_MAX_ENDPOINTS) {
        sbuf_setf(err, "too many listening addresses");
        return -1;
    }
    grpc_server_credentials *creds = tls ? tls_credentials(tls, err) : grpc_insecure_server_credentials_create();
    if (!creds)
        return -1;
    rpc_endpoint *ep = &srv->eps[srv->neps];
    ep->srv = srv;
    /* gRPC enables SO_REUSEPORT by default: a second agent could then bind
     * the same port and silently take half the calls. */
    grpc_arg no_reuse = {GRPC_ARG_INTEGER, GRPC_ARG_ALLOW_REUSEPORT, {.integer = 0}};
    grpc_channel_args args = {1, &no_reuse};
    ep->gs = grpc_server_create(&args, NULL);
    grpc_server_register_completion_queue(ep->gs, srv->cq, NULL);
    ep->listeners = xcalloc(nmethods + 1, sizeof *ep->listeners);
    for (size_t i = 0; i < nmethods; i++) {
        rpc_listener *l = &ep->listeners[ep->nlisteners++];
        l->ep = ep;
        l->method = &methods[i];
        l->stats = stats_for(srv, methods[i].path);
        l->registered = grpc_server_register_method(ep->gs, methods[i].path, NULL, GRPC_SRM_PAYLOAD_NONE, 0);
        l->tag = (rpc_tag){TAG_REQUEST, l};
    }
    rpc_listener *generic = &ep->listeners[ep->nlisteners++];
    generic->ep = ep;
    generic->stats = stats_for(srv, NULL);
    generic->tag = (rpc_tag){TAG_REQUEST, generic};

    int port = grpc_server_add_http2_port(ep->gs, address, creds);
    grpc_server_credentials_release(creds);
    if (port == 0) {
        sbuf_setf(err, "cannot listen on %s: address in use or invalid (expected host:port)", address);
        grpc_server_destroy(ep->gs);
        free(ep->listeners);
        memset(ep, 0, sizeof *ep);
        return -1;
    }
    ep->address = xstrdup(address);
    ep->shutdown_tag = (rpc_tag){TAG_SHUTDOWN, ep};
    srv->neps++;
    return 0;
}

int rpc_server_start(rpc_server *srv, sbuf *err)
{
    if (uv_async_init(srv->loop, &srv->wake, server_on_wake) != 0 ||
        uv_timer_init(srv->loop, &srv->grace) != 0) {
        sbuf_setf(err, "cannot set up the RPC event hand-off");
        return -1;
    }
    srv->wake.data = srv->grace.data = srv;
    srv->handles_open = 2;
    for (int i = 0; i < srv->neps; i++) {
        grpc_server_start(srv->eps[i].gs);
        for (size_t j = 0; j < srv->eps[i].nlisteners; j++)
            listener_post(&srv->eps[i].listeners[j]);
    }
    if (uv_thread_create(&srv->pump, pump_main, srv) != 0) {
        sbuf_setf(err, "cannot start the RPC thread");
        return -1;
    }
    srv->started = true;
    return 0;
}

static void grace_expired(uv_timer_t *t)
{
    rpc_server *srv = t->data;
    for (int i = 0; i < srv->neps; i++)
        if (!srv->eps[i].shut_down)
            grpc_server_cancel_all_calls(srv->eps[i].gs);
}

static void handle_closed(uv_handle_t *h)
{
    rpc_server *srv = h->data;
    if (--srv->handles_open > 0)
        return;
    void (*done)(void *) = srv->on_stopped;
    void *arg = srv->on_stopped_arg;
    uv_mutex_destroy(&srv->lock);
    stats_free(srv);
    free(srv);
    grpc_shutdown();
    if (done)
        done(arg);
}

static void server_maybe_finish(rpc_server *srv)
{
    if (!srv->stopping || srv->live_calls || srv->live_listeners)
        return;
    for (int i = 0; i < srv->neps; i++)
        if (!srv->eps[i].shut_down)
            return;
    if (!srv->finishing) {
        srv->finishing = true;
        for (int i = 0; i < srv->neps; i++) {
            grpc_server_destroy(srv->eps[i].gs);
            free(srv->eps[i].listeners);
            free(srv->eps[i].address);
        }
        grpc_completion_queue_shutdown(srv->cq);
        return; /* the pump thread's exit wakes us again */
    }
    uv_mutex_lock(&srv->lock);
    bool pump_done = srv->pump_done;
    uv_mutex_unlock(&srv->lock);
    if (!pump_done || uv_is_closing((uv_handle_t *)&srv->wake))
        return;
    uv_thread_join(&srv->pump);
    grpc_completion_queue_destroy(srv->cq);
    uv_timer_stop(&srv->grace);
    uv_close((uv_handle_t *)&srv->wake, handle_closed);
    uv_close((uv_handle_t *)&srv->grace, handle_closed);
}

void rpc_server_shutdown(rpc_server *srv, unsigned grace_ms, void (*done)(void *), void *arg)
{
    srv->on_stopped = done;
    srv->on_stopped_arg = arg;
    srv->stopping = true;
    if (!srv->started) {
        for (int i = 0; i < srv->neps; i++) {
            grpc_server_destroy(srv->eps[i].gs);
            free(srv->eps[i].listeners);
            free(srv->eps[i].address);
        }
        grpc_completion_queue_shutdown(srv->cq);
        grpc_completion_queue_destroy(srv->cq);
        uv_mutex_destroy(&srv->lock);
        stats_free(srv);
        free(srv);
        grpc_shutdown();
        if (done)
            done(arg);
        return;
    }
    for (int i = 0; i < srv->neps; i++)
        grpc_server_shutdown_and_notify(srv->eps[i].gs, srv->cq, &srv->eps[i].shutdown_tag);
    uv_timer_start(&srv->grace, grace_expired, grace_ms, 0);
}
