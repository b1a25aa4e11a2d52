/* rpc_client: a blocking gRPC client for protobuf-c messages (gRPC C core).
 *
 * The control plane is a command-line tool, so blocking calls on a private
 * completion queue are the simplest thing that works: one call at a time,
 * each bounded by a deadline, and streams that can be interrupted. */
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

/* Returns the gRPC status (GRPC_STATUS_OK = 0); on failure err holds the
 * server's message or a description of the transport problem. */
grpc_status_code rpc_client_unary(rpc_client *c, const char *method, const ProtobufCMessage *req,
                                  const ProtobufCMessageDescriptor *resp_desc, ProtobufCMessage **resp,
                                  unsigned timeout_ms, sbuf *err);

/* Did the last call's status come from the server (it answered and chose
 * the status), rather than from the transport (it could not be reached)? */
bool rpc_client_last_answered(void);

/* Server stream: cb gets each message; return non-zero to stop. The stream
 * also stops when *stop becomes non-zero (set it from a signal handler). */
typedef int (*rpc_client_stream_cb)(const ProtobufCMessage *msg, void *data);
grpc_status_code rpc_client_stream(rpc_client *c, const char *method, const ProtobufCMessage *req,
                                   const ProtobufCMessageDescriptor *resp_desc, rpc_client_stream_cb cb, void *data,
                                   volatile sig_atomic_t *stop, sbuf *err);

#endif
