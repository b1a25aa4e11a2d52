/* rpc_server: gRPC C core serving protobuf-c messages on a libuv loop.
 *
 * The server owns one completion queue, drained by its own thread; events
 * are handed to the loop, and every handler, reply and stream send happens
 * on the loop thread. Callers never see gRPC batches or byte buffers.
 *
 * Call contract: a handler receives an rpc_call and must end it exactly once,
 * with rpc_call_reply (unary), rpc_call_fail or rpc_call_end, now or later.
 * The pointer stays valid until then, even if the client has gone: the cancel
 * callback only tells the handler to stop working and end the call. */
#ifndef RPC_SERVER_H
#define RPC_SERVER_H

#include <grpc/status.h>
#include <protobuf-c/protobuf-c.h>
#include <stdbool.h>
#include <uv.h>

#include "lib/prom.h"
#include "lib/sbuf.h"

/* Every status this server sends carries this trailing metadata key, so a
 * client can tell a status the server chose (UNAVAILABLE: a database it
 * needs is down) from a transport failure (the server is unreachable). */
#define RPC_ANSWERED_KEY "tablet-answered"

typedef struct rpc_server rpc_server;
typedef struct rpc_call rpc_call;

typedef enum { RPC_UNARY, RPC_SERVER_STREAM } rpc_kind;

/* The request is freed when the handler returns: copy what you keep. Its
 * strings are valid UTF-8 without NUL bytes and its enums hold values the
 * .proto defines (pbcheck.h); the rest is the handler's to validate. */
typedef void (*rpc_handler)(rpc_call *call, const ProtobufCMessage *req, void *ctx);
typedef void (*rpc_cancel_cb)(rpc_call *call, void *data);

typedef struct rpc_method {
    const char *path; /* "/tabletagent.v1.TabletAgent/GetStatus" */
    rpc_kind kind;
    const ProtobufCMessageDescriptor *request;
    rpc_handler handler;
} rpc_method;

/* Mutual TLS: the server presents cert/key and requires a client
 * certificate signed by client_ca. All three are PEM file paths. */
typedef struct rpc_tls {
    const char *cert_file;
    const char *key_file;
    const char *client_ca_file;
} rpc_tls;

rpc_server *rpc_server_new(uv_loop_t *loop, void *ctx);
/* Add a listening address serving the given methods (the table must outlive
 * the server). tls NULL means plaintext. Call before rpc_server_start. */
int rpc_server_listen(rpc_server *srv, const char *address, const rpc_tls *tls,
                      const rpc_method *methods, size_t nmethods, sbuf *err);
int rpc_server_start(rpc_server *srv, sbuf *err);
/* Stop accepting, give calls grace_ms to finish, then cancel them. done runs
 * on the loop once every call is ended and the queue thread has exited; the
 * server is freed right after done returns. */
void rpc_server_shutdown(rpc_server *srv, unsigned grace_ms, void (*done)(void *), void *arg);

/* What the server's calls ended with, per method: counted on the loop
 * when a call ends (an increment and a histogram bucket), read on the loop
 * (the daemon's metrics). One entry per method path, whichever address
 * served it; methods nobody registered count as "unknown". */
#define RPC_STATUS_CODES 17
typedef struct rpc_method_stats {
    const char *method;               /* "tabletagent.v1.TabletAgent/GetStatus" */
    uint64_t calls[RPC_STATUS_CODES]; /* by the status code sent */
    prom_hist seconds;                /* arrival to status, on rpc_seconds_buckets */
} rpc_method_stats;

extern const prom_buckets rpc_seconds_buckets;
size_t rpc_server_stats_count(const rpc_server *srv);
const rpc_method_stats *rpc_server_stats_at(const rpc_server *srv, size_t i);
/* "OK", "INVALID_ARGUMENT", ...: the names of the gRPC status codes. */
const char *rpc_status_name(grpc_status_code code);

void rpc_call_reply(rpc_call *call, const ProtobufCMessage *resp);
void rpc_call_fail(rpc_call *call, grpc_status_code code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Server streaming: queue one message. Returns -1 if the call is over (the
 * client left, or it fell too far behind and was dropped); end it then. */
int rpc_call_send(rpc_call *call, const ProtobufCMessage *msg);
void rpc_call_end(rpc_call *call, grpc_status_code code, const char *message);
void rpc_call_on_cancel(rpc_call *call, rpc_cancel_cb cb, void *data);
const char *rpc_call_method(const rpc_call *call);

#endif
