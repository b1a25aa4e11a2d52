/* rpc_client: a blocking gRPC client for protobuf-c messages (gRPC C core).
 *
 * cpctl and the router's control-plane threads want one call at a time, so
 * blocking calls on a private completion queue are the simplest thing that
 * works: each bounded by a deadline, and streams that can be interrupted.
 *
 * Threads: nothing here belongs to one thread. Each call has its own
 * completion queue and a client's channel is gRPC's (thread-safe), so any
 * thread may call, several at once; rpc_client_last_answered() speaks of
 * the calling thread's last call. A channel reconnects by itself after the
 * server went away, waiting at most 5 s between attempts (gRPC's default,
 * two minutes, would leave a follower deaf long after the server is back). */
#ifndef RPC_CLIENT_H
#define RPC_CLIENT_H

#include <grpc/status.h>
#include <protobuf-c/protobuf-c.h>
#include <signal.h>
#include <stdbool.h>

#include "lib/sbuf.h"

typedef struct rpc_client rpc_client;

typedef struct rpc_client_tls {
    const char *ca_file;   /* CA that signed the server certificate */
    const char *cert_file; /* client certificate (mTLS), may be NULL */
    const char *key_file;
} rpc_client_tls;

/* tls NULL: plaintext. Connection problems surface on the first call. */
rpc_client *rpc_client_open(const char *target, const rpc_client_tls *tls, sbuf *err);
void rpc_client_close(rpc_client *c);

/* method must outlive the call (a string literal). Returns the gRPC status
 * (GRPC_STATUS_OK = 0); on failure err holds the server's message or a
 * description of the transport problem. */
grpc_status_code rpc_client_unary(rpc_client *c, const char *method, const ProtobufCMessage *req,
                                  const ProtobufCMessageDescriptor *resp_desc, ProtobufCMessage **resp,
                                  unsigned timeout_ms, sbuf *err);

/* Did this thread's last call get its status from the server (it answered
 * and chose the status), rather than from the transport (it could not be
 * reached)? */
bool rpc_client_last_answered(void);

/* Server stream: cb gets each message; return non-zero to stop. The stream
 * also stops, within 200 ms and even while still connecting, when *stop
 * becomes non-zero (set it from a signal handler or another thread); a
 * stopped stream returns GRPC_STATUS_OK. */
typedef int (*rpc_client_stream_cb)(const ProtobufCMessage *msg, void *data);
grpc_status_code rpc_client_stream(rpc_client *c, const char *method, const ProtobufCMessage *req,
                                   const ProtobufCMessageDescriptor *resp_desc, rpc_client_stream_cb cb, void *data,
                                   volatile sig_atomic_t *stop, sbuf *err);

#endif
