/* rpc_client: blocking unary and server-streaming gRPC calls. See rpc_client.h.
 *
 * Each call gets its own pluck-style completion queue and runs its batches
 * one after another. A unary call sends everything and receives everything
 * in one batch. A stream reads message by message, polling the queue every
 * 200 ms, from the first batch on, so an interrupt (Ctrl-C, or a thread
 * told to stop) cancels it promptly even while the channel connects. */
#include "rpc_client.h"

#include <grpc/grpc.h>
#include <grpc/grpc_security.h>
#include <grpc/support/alloc.h>
#include <grpc/support/time.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rpc/pbbuf.h"
#include "rpc/rpc_server.h"

#define RECONNECT_BACKOFF_MAX_MS 5000
#define POLL_MS 200

struct rpc_client {
    grpc_channel *channel;
    char *target;
};

/* A whole PEM file as a C string, or NULL with err. */
static char *slurp(const char *path, sbuf *err)
{
    sbuf b = SBUF_INIT;
    if (sbuf_read_file(&b, path, err) != 0) {
        sbuf_free(&b);
        return NULL;
    }
    return sbuf_detach(&b, NULL);
}

static grpc_channel_credentials *tls_creds(const rpc_client_tls *tls, sbuf *err)
{
    char *ca = slurp(tls->ca_file, err);
    if (!ca)
        return NULL;
    char *cert = NULL, *key = NULL;
    if (tls->cert_file && (!(cert = slurp(tls->cert_file, err)) || !(key = slurp(tls->key_file, err)))) {
        free(ca);
        free(cert);
        return NULL;
    }
    grpc_ssl_pem_key_cert_pair pair = {key, cert};
    grpc_channel_credentials *creds = grpc_ssl_credentials_create_ex(ca, cert ? &pair : NULL, NULL, NULL);
    free(ca);
    free(cert);
    if (key) {
        secure_zero(key, strlen(key));
        free(key);
    }
    return creds;
}

rpc_client *rpc_client_open(const char *target, const rpc_client_tls *tls, sbuf *err)
{
    grpc_init();
    grpc_channel_credentials *creds = tls ? tls_creds(tls, err) : grpc_insecure_credentials_create();
    if (!creds) {
        grpc_shutdown();
        return NULL;
    }
    rpc_client *c = xcalloc(1, sizeof *c);
    c->target = xstrdup(target);
    grpc_arg backoff = {GRPC_ARG_INTEGER, GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, {.integer = RECONNECT_BACKOFF_MAX_MS}};
    grpc_channel_args args = {1, &backoff};
    c->channel = grpc_channel_create(target, creds, &args);
    grpc_channel_credentials_release(creds);
    return c;
}

void rpc_client_close(rpc_client *c)
{
    if (!c)
        return;
    grpc_channel_destroy(c->channel);
    free(c->target);
    free(c);
    grpc_shutdown();
}

typedef struct rpc_client_call {
    grpc_completion_queue *cq;
    grpc_call *call;
    grpc_metadata_array initial_md, trailing_md;
    grpc_status_code status;
    grpc_slice details;
} rpc_client_call;

static void call_begin(rpc_client *c, rpc_client_call *k, const char *method, gpr_timespec deadline)
{
    memset(k, 0, sizeof *k);
    k->cq = grpc_completion_queue_create_for_pluck(NULL);
    grpc_slice m = grpc_slice_from_static_string(method);
    k->call = grpc_channel_create_call(c->channel, NULL, GRPC_PROPAGATE_DEFAULTS, k->cq, m, NULL, deadline, NULL);
    grpc_metadata_array_init(&k->initial_md);
    grpc_metadata_array_init(&k->trailing_md);
    k->details = grpc_empty_slice();
}

static bool call_wait(rpc_client_call *k, void *tag, gpr_timespec deadline)
{
    grpc_event ev = grpc_completion_queue_pluck(k->cq, tag, deadline, NULL);
    return ev.type == GRPC_OP_COMPLETE && ev.success;
}

/* Whether the calling thread's last call got its status from the server
 * itself (see RPC_ANSWERED_KEY). Per thread, not per process: calls are
 * blocking, so "the last call" is only well defined within one thread, and
 * the router's watcher and reporter threads call at the same time. */
static _Thread_local bool last_answered;

bool rpc_client_last_answered(void)
{
    return last_answered;
}

static bool answered(const grpc_metadata_array *md)
{
    for (size_t i = 0; i < md->count; i++)
        if (grpc_slice_str_cmp(md->metadata[i].key, RPC_ANSWERED_KEY) == 0)
            return true;
    return false;
}

static grpc_status_code call_end(rpc_client_call *k, sbuf *err)
{
    grpc_status_code st = k->status;
    last_answered = answered(&k->trailing_md);
    if (st != GRPC_STATUS_OK && err) {
        char *d = grpc_slice_to_c_string(k->details);
        sbuf_setf(err, "%s", *d ? d : "call failed");
        gpr_free(d);
    }
    grpc_metadata_array_destroy(&k->initial_md);
    grpc_metadata_array_destroy(&k->trailing_md);
    grpc_slice_unref(k->details);
    grpc_call_unref(k->call);
    grpc_completion_queue_shutdown(k->cq);
    while (grpc_completion_queue_pluck(k->cq, NULL, gpr_inf_future(GPR_CLOCK_REALTIME), NULL).type !=
           GRPC_QUEUE_SHUTDOWN)
        ;
    grpc_completion_queue_destroy(k->cq);
    return st;
}

static gpr_timespec deadline_in(unsigned ms)
{
    return gpr_time_add(gpr_now(GPR_CLOCK_REALTIME), gpr_time_from_millis(ms, GPR_TIMESPAN));
}

/* The first four ops of every call (ops zeroed by the caller): send the
 * request whole, read the server's initial metadata. */
static void request_ops(grpc_op *ops, rpc_client_call *k, grpc_byte_buffer *send)
{
    ops[0].op = GRPC_OP_SEND_INITIAL_METADATA;
    ops[1].op = GRPC_OP_SEND_MESSAGE;
    ops[1].data.send_message.send_message = send;
    ops[2].op = GRPC_OP_SEND_CLOSE_FROM_CLIENT;
    ops[3].op = GRPC_OP_RECV_INITIAL_METADATA;
    ops[3].data.recv_initial_metadata.recv_initial_metadata = &k->initial_md;
}

grpc_status_code rpc_client_unary(rpc_client *c, const char *method, const ProtobufCMessage *req,
                                  const ProtobufCMessageDescriptor *resp_desc, ProtobufCMessage **resp,
                                  unsigned timeout_ms, sbuf *err)
{
    rpc_client_call k;
    *resp = NULL;
    call_begin(c, &k, method, deadline_in(timeout_ms));
    grpc_byte_buffer *send = pbbuf_pack(req), *recv = NULL;
    grpc_op ops[6];
    memset(ops, 0, sizeof ops);
    request_ops(ops, &k, send);
    ops[4].op = GRPC_OP_RECV_MESSAGE;
    ops[4].data.recv_message.recv_message = &recv;
    ops[5].op = GRPC_OP_RECV_STATUS_ON_CLIENT;
    ops[5].data.recv_status_on_client.trailing_metadata = &k.trailing_md;
    ops[5].data.recv_status_on_client.status = &k.status;
    ops[5].data.recv_status_on_client.status_details = &k.details;
    k.status = GRPC_STATUS_UNKNOWN;
    if (grpc_call_start_batch(k.call, ops, 6, &k, NULL) == GRPC_CALL_OK)
        call_wait(&k, &k, gpr_inf_future(GPR_CLOCK_REALTIME));
    grpc_byte_buffer_destroy(send);
    if (k.status == GRPC_STATUS_OK) {
        *resp = recv ? pbbuf_unpack(resp_desc, recv) : NULL;
        if (!*resp) {
            k.status = GRPC_STATUS_INTERNAL;
            grpc_slice_unref(k.details);
            k.details = grpc_slice_from_static_string("the agent's reply could not be decoded");
        }
    }
    if (recv)
        grpc_byte_buffer_destroy(recv);
    return call_end(&k, err);
}

/* Wait for tag, polling every POLL_MS so *stop can cancel the call: 1 done
 * (ok says whether it succeeded), 0 cancelled. */
static int stream_wait(rpc_client_call *k, void *tag, bool *ok, volatile sig_atomic_t *stop)
{
    for (;;) {
        grpc_event ev = grpc_completion_queue_pluck(k->cq, tag, deadline_in(POLL_MS), NULL);
        if (ev.type == GRPC_OP_COMPLETE) {
            *ok = ev.success;
            return 1;
        }
        if (stop && *stop) {
            grpc_call_cancel(k->call, NULL);
            grpc_completion_queue_pluck(k->cq, tag, gpr_inf_future(GPR_CLOCK_REALTIME), NULL);
            return 0;
        }
    }
}

/* 0: the request is out and the server's metadata in; -1: the call failed
 * (its status says why); -2: stopped. While the channel connects this can
 * take long (a server that accepted the connection but does not answer),
 * so it waits like a stream read does, watching *stop. */
static int stream_start(rpc_client_call *k, const ProtobufCMessage *req, volatile sig_atomic_t *stop)
{
    grpc_byte_buffer *send = pbbuf_pack(req);
    grpc_op ops[4];
    memset(ops, 0, sizeof ops);
    request_ops(ops, k, send);
    bool ok = false;
    int r = -1;
    if (grpc_call_start_batch(k->call, ops, 4, (void *)1, NULL) == GRPC_CALL_OK)
        r = stream_wait(k, (void *)1, &ok, stop) ? (ok ? 0 : -1) : -2;
    grpc_byte_buffer_destroy(send);
    return r;
}

/* 1: got a message, 0: end of stream, -1: stopped. */
static int stream_next(rpc_client_call *k, grpc_byte_buffer **msg, volatile sig_atomic_t *stop)
{
    grpc_op op;
    memset(&op, 0, sizeof op);
    op.op = GRPC_OP_RECV_MESSAGE;
    op.data.recv_message.recv_message = msg;
    if (grpc_call_start_batch(k->call, &op, 1, (void *)2, NULL) != GRPC_CALL_OK)
        return 0;
    bool ok;
    if (stream_wait(k, (void *)2, &ok, stop))
        return *msg ? 1 : 0;
    if (*msg)
        grpc_byte_buffer_destroy(*msg);
    *msg = NULL;
    return -1;
}

grpc_status_code rpc_client_stream(rpc_client *c, const char *method, const ProtobufCMessage *req,
                                   const ProtobufCMessageDescriptor *resp_desc, rpc_client_stream_cb cb, void *data,
                                   volatile sig_atomic_t *stop, sbuf *err)
{
    rpc_client_call k;
    call_begin(c, &k, method, gpr_inf_future(GPR_CLOCK_REALTIME));
    int r = stream_start(&k, req, stop);
    bool stopped = r == -2;
    while (r == 0) {
        grpc_byte_buffer *bb = NULL;
        int got = stream_next(&k, &bb, stop);
        if (got <= 0) {
            stopped = got < 0;
            break;
        }
        ProtobufCMessage *m = pbbuf_unpack(resp_desc, bb);
        grpc_byte_buffer_destroy(bb);
        int halt = m ? cb(m, data) : 0;
        if (m)
            protobuf_c_message_free_unpacked(m, NULL);
        if (halt) {
            grpc_call_cancel(k.call, NULL);
            stopped = true;
            break;
        }
    }
    grpc_op op;
    memset(&op, 0, sizeof op);
    op.op = GRPC_OP_RECV_STATUS_ON_CLIENT;
    op.data.recv_status_on_client.trailing_metadata = &k.trailing_md;
    op.data.recv_status_on_client.status = &k.status;
    op.data.recv_status_on_client.status_details = &k.details;
    if (grpc_call_start_batch(k.call, &op, 1, (void *)3, NULL) == GRPC_CALL_OK)
        call_wait(&k, (void *)3, gpr_inf_future(GPR_CLOCK_REALTIME));
    if (stopped)
        k.status = GRPC_STATUS_OK;
    return call_end(&k, err);
}
