/* service_internal: what the service_*.c files share. Not an API. */
#ifndef SERVICE_INTERNAL_H
#define SERVICE_INTERNAL_H

#include "agent.h"
#include "rpc/pbconv.h"
#include "rpc/rpc_server.h"
#include "rpc/service.h"

typedef struct watcher watcher;

struct service {
    agent *agent;
    secret_policy secrets; /* what a request's password references may name */
    watcher *watchers;
    unsigned nwatchers;
};

/* service_preflight.c */
void handle_preflight(rpc_call *call, const ProtobufCMessage *req, void *ctx);

/* service_workflow.c */
void handle_create_import(rpc_call *call, const ProtobufCMessage *req, void *ctx);
void handle_get_workflow(rpc_call *call, const ProtobufCMessage *req, void *ctx);
void handle_list_workflows(rpc_call *call, const ProtobufCMessage *req, void *ctx);
void handle_pause_workflow(rpc_call *call, const ProtobufCMessage *req, void *ctx);
void handle_resume_workflow(rpc_call *call, const ProtobufCMessage *req, void *ctx);
void handle_switch_traffic(rpc_call *call, const ProtobufCMessage *req, void *ctx);
void handle_reverse_traffic(rpc_call *call, const ProtobufCMessage *req, void *ctx);
void handle_detach(rpc_call *call, const ProtobufCMessage *req, void *ctx);

/* service_vdiff.c */
void handle_vdiff(rpc_call *call, const ProtobufCMessage *req, void *ctx);
void handle_get_vdiff(rpc_call *call, const ProtobufCMessage *req, void *ctx);

/* service_stream.c */
void handle_start_stream(rpc_call *call, const ProtobufCMessage *req, void *ctx);
void handle_stop_stream(rpc_call *call, const ProtobufCMessage *req, void *ctx);
void handle_get_stream(rpc_call *call, const ProtobufCMessage *req, void *ctx);

#endif
