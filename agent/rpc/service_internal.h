/* service_internal: what the service_*.c files share. Not an API. */
#ifndef SERVICE_INTERNAL_H
#define SERVICE_INTERNAL_H

#include <stdatomic.h>

#include "config.h"
#include "monitor.h"
#include "workflow/streams.h"
#include "workflow/workflows.h"
#include "rpc/pbconv.h"
#include "rpc/rpc_server.h"
#include "rpc/service.h"

typedef struct watcher watcher;

struct service {
    uv_loop_t *loop;
    const agent_config *cfg;
    monitor *monitor;
    streams *streams;
    workflows *workflows;
    int64_t started_ms; /* clock_mono_ms, for the uptime */
    uint64_t sequence;  /* grows with every status change */
    secret_policy secrets; /* what a request's password references may name */
    watcher *watchers;
    unsigned nwatchers;
};

/* A handler's blocking step (preflight, a look at two servers) on the libuv
 * thread pool. run works on the job's own copies, never on agent state;
 * done runs on the loop, ends the call if it is still set, and frees the
 * job. When the client goes away first, the call is ended at once with
 * CANCELLED, cancel is set (run may poll it between steps) and call
 * becomes NULL. While call is set the agent and its registries are alive:
 * shutdown cancels every call before it frees them. */
typedef struct svc_job svc_job;
typedef void (*svc_job_fn)(svc_job *j);
struct svc_job {
    uv_work_t work;
    service *service;
    rpc_call *call;
    atomic_bool cancel;
    svc_job_fn run, done;
    const char *what; /* "preflight", for messages */
};

/* j is embedded first in the caller's job struct. If the pool refuses the
 * work, the call fails with UNAVAILABLE and done runs at once. */
void svc_job_start(service *s, rpc_call *call, svc_job *j, const char *what, svc_job_fn run, svc_job_fn done);

/* The one place the workflow layer's errors become gRPC status codes. */
grpc_status_code service_status(wf_err e);

/* The workflow (stream) a request names, or NULL after failing the call:
 * INVALID_ARGUMENT for a name no workflow could have (empty, bad
 * characters), NOT_FOUND for one that none has. */
import_wf *service_workflow(service *s, rpc_call *call, const char *name);
stream *service_stream(service *s, rpc_call *call, const char *name);

/* Is name a workflow's, or one of its streams' (NAME.reverse)? err says
 * whose. */
bool service_name_taken_by_workflow(service *s, const char *name, sbuf *err);
/* Is name, or a stream a workflow of that name would run, a stream's? */
bool service_name_taken_by_stream(service *s, const char *name, sbuf *err);

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
