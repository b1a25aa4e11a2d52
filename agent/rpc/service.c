/* service: TabletAgent and grpc.health.v1 handlers. See service.h.
 *
 * Status messages are built on the stack from the agent's state and packed
 * at once by rpc_server, so string fields point into live agent memory
 * without copies. A watcher is a stream call plus the last serving state it
 * saw: StreamHealth gets every update, Health.Watch only changes (that is
 * what the gRPC health protocol specifies). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "grpc/health/v1/health.pb-c.h"
#include "lib/clock.h"
#include "lib/log.h"
#include "rpc/service_internal.h"
#include "tabletagent/v1/tabletagent.pb-c.h"
#include "workflow/streams.h"
#include "workflow/workflows.h"

#define HEALTH_SERVICE_NAME "tabletagent.v1.TabletAgent"
/* Always SERVING while the loop answers: for liveness probes, which must
 * not restart the agent because the database is down. */
#define LIVENESS_SERVICE_NAME "liveness"

typedef enum { WATCH_STATUS, WATCH_HEALTH } watch_kind;

struct watcher {
    struct service *service;
    rpc_call *call;
    watch_kind kind;
    char *health_name; /* Health.Watch: the service watched */
    int last_state; /* Health.Watch: last status sent, -1 before the first */
    struct watcher *prev, *next;
};

static char *S(const char *s)
{
    return (char *)(s ? s : "");
}

service *service_new(const service_deps *deps)
{
    service *s = xcalloc(1, sizeof *s);
    s->loop = deps->loop;
    s->cfg = deps->cfg;
    s->monitor = deps->monitor;
    s->streams = deps->streams;
    s->workflows = deps->workflows;
    s->started_ms = clock_mono_ms();
    s->secrets = config_secret_policy(s->cfg);
    return s;
}

void service_set_monitor(service *s, monitor *m)
{
    s->monitor = m;
}

/* The agent's own resident memory. */
static uint64_t self_rss_bytes(void)
{
    FILE *f = fopen("/proc/self/statm", "r");
    unsigned long size = 0, rss = 0;
    if (!f)
        return 0;
    if (fscanf(f, "%lu %lu", &size, &rss) != 2)
        rss = 0;
    fclose(f);
    return (uint64_t)rss * (uint64_t)sysconf(_SC_PAGESIZE);
}

void service_free(service *s)
{
    free(s);
}

/* ---- status ------------------------------------------------------------------ */

static Tabletagent__V1__Flavor flavor_pb(server_flavor f)
{
    switch (f) {
    case FLAVOR_MARIADB: return TABLETAGENT__V1__FLAVOR__MARIADB;
    case FLAVOR_MYSQL: return TABLETAGENT__V1__FLAVOR__MYSQL;
    default: return TABLETAGENT__V1__FLAVOR__FLAVOR_UNSPECIFIED;
    }
}

typedef struct status_msg {
    Tabletagent__V1__AgentStatus status;
    Tabletagent__V1__SourceStatus source;
    Tabletagent__V1__Position position;
    sbuf address;
    pb_stream_holder *streams;
    pb_StreamStatus **stream_ptrs;
    size_t nstreams;
    pb_workflow_holder *workflows;
    Tabletagent__V1__Workflow **workflow_ptrs;
    size_t nworkflows;
} status_msg;

static void status_fill_source(status_msg *m, const service *a, const probe_result *r)
{
    Tabletagent__V1__SourceStatus *src = &m->source;
    tabletagent__v1__source_status__init(src);
    tabletagent__v1__position__init(&m->position);
    sbuf_init(&m->address, 0);
    const db_endpoint *ep = &a->cfg->source;
    if (ep->socket && *ep->socket)
        sbuf_adds(&m->address, ep->socket);
    else
        sbuf_addf(&m->address, "%s:%u", S(ep->host), ep->port);
    src->address = m->address.buf;
    src->position = &m->position;
    if (!r)
        return;
    src->reachable = r->reachable;
    src->flavor = flavor_pb(r->flavor);
    src->version = S(r->version);
    src->server_id = r->server_id;
    src->server_uuid = S(r->server_uuid);
    src->read_only = r->read_only;
    src->log_bin = r->log_bin;
    src->binlog_format = S(r->binlog_format);
    src->binlog_row_image = S(r->binlog_row_image);
    src->binlog_row_metadata = S(r->binlog_row_metadata);
    src->gtid_strict_mode = r->gtid_strict_mode;
    m->position.gtid = S(r->gtid);
    m->position.file = S(r->file);
    m->position.offset = r->offset;
    src->oldest_binlog_file = S(r->oldest_file);
    src->oldest_gtid = S(r->oldest_gtid);
    src->binlog_retention_seconds = r->retention_s;
    src->probed_at_unix_ms = r->at_ms;
    src->probe_duration_ms = r->duration_ms;
}

static void status_build(status_msg *m, const service *a)
{
    const probe_result *r = a->monitor ? monitor_last(a->monitor) : NULL;
    tabletagent__v1__agent_status__init(&m->status);
    status_fill_source(m, a, r);
    Tabletagent__V1__AgentStatus *st = &m->status;
    st->source = &m->source;
    st->agent_version = TABLET_AGENT_VERSION;
    st->uptime_seconds = (clock_mono_ms() - a->started_ms) / 1000;
    st->sequence = a->sequence;
    st->rss_bytes = self_rss_bytes();
    m->nstreams = streams_count(a->streams);
    m->streams = xcalloc(m->nstreams, sizeof *m->streams);
    m->stream_ptrs = xcalloc(m->nstreams, sizeof *m->stream_ptrs);
    for (size_t i = 0; i < m->nstreams; i++) {
        pbconv_stream_status(streams_at(a->streams, i), &m->streams[i]);
        m->stream_ptrs[i] = &m->streams[i].msg;
    }
    st->n_streams = m->nstreams;
    st->streams = m->stream_ptrs;
    m->nworkflows = workflows_count(a->workflows);
    m->workflows = xcalloc(m->nworkflows + 1, sizeof *m->workflows);
    m->workflow_ptrs = xcalloc(m->nworkflows + 1, sizeof *m->workflow_ptrs);
    for (size_t i = 0; i < m->nworkflows; i++) {
        pbconv_workflow(workflows_at(a->workflows, i), &a->cfg->source, &m->workflows[i]);
        m->workflow_ptrs[i] = &m->workflows[i].msg;
    }
    st->n_workflows = m->nworkflows;
    st->workflows = m->workflow_ptrs;
    if (a->monitor && monitor_serving(a->monitor)) {
        st->state = TABLETAGENT__V1__SERVING_STATE__SERVING;
    } else {
        st->state = TABLETAGENT__V1__SERVING_STATE__NOT_SERVING;
        st->health_error = S(r ? r->error : "the first probe of the source has not finished yet");
    }
}

static void status_release(status_msg *m)
{
    sbuf_free(&m->address);
    for (size_t i = 0; i < m->nstreams; i++)
        pbconv_stream_release(&m->streams[i]);
    free(m->streams);
    free(m->stream_ptrs);
    for (size_t i = 0; i < m->nworkflows; i++)
        pbconv_workflow_release(&m->workflows[i]);
    free(m->workflows);
    free(m->workflow_ptrs);
}

/* ---- watchers ------------------------------------------------------------------ */

static void watcher_remove(service *s, watcher *w)
{
    if (w->prev)
        w->prev->next = w->next;
    else
        s->watchers = w->next;
    if (w->next)
        w->next->prev = w->prev;
    s->nwatchers--;
    free(w->health_name);
    free(w);
}

static void watcher_on_cancel(rpc_call *call, void *data)
{
    watcher *w = data;
    watcher_remove(w->service, w);
    rpc_call_end(call, GRPC_STATUS_CANCELLED, "client went away");
}

static void watcher_add(service *s, rpc_call *call, watch_kind kind)
{
    watcher *w = xcalloc(1, sizeof *w);
    w->service = s;
    w->call = call;
    w->kind = kind;
    w->last_state = -1;
    w->next = s->watchers;
    if (s->watchers)
        s->watchers->prev = w;
    s->watchers = w;
    s->nwatchers++;
    rpc_call_on_cancel(call, watcher_on_cancel, w);
}

static Grpc__Health__V1__HealthCheckResponse__ServingStatus health_state(const service *s, const char *name)
{
    if (strcmp(name, LIVENESS_SERVICE_NAME) == 0)
        return GRPC__HEALTH__V1__HEALTH_CHECK_RESPONSE__SERVING_STATUS__SERVING;
    return s->monitor && monitor_serving(s->monitor) ? GRPC__HEALTH__V1__HEALTH_CHECK_RESPONSE__SERVING_STATUS__SERVING
                                              : GRPC__HEALTH__V1__HEALTH_CHECK_RESPONSE__SERVING_STATUS__NOT_SERVING;
}

/* Returns -1 when the watcher's client is gone and it must be removed. */
static int watcher_push(service *s, watcher *w, const status_msg *m)
{
    if (w->kind == WATCH_STATUS)
        return rpc_call_send(w->call, &m->status.base);
    int state = health_state(s, w->health_name);
    if (state == w->last_state)
        return 0;
    w->last_state = state;
    Grpc__Health__V1__HealthCheckResponse resp = GRPC__HEALTH__V1__HEALTH_CHECK_RESPONSE__INIT;
    resp.status = state;
    return rpc_call_send(w->call, &resp.base);
}

void service_notify(service *s)
{
    s->sequence++;
    if (!s->watchers)
        return;
    status_msg m;
    status_build(&m, s);
    for (watcher *w = s->watchers, *next; w; w = next) {
        next = w->next;
        if (watcher_push(s, w, &m) != 0) {
            rpc_call *call = w->call;
            watcher_remove(s, w);
            rpc_call_end(call, GRPC_STATUS_RESOURCE_EXHAUSTED, "stream dropped");
        }
    }
    status_release(&m);
}

void service_close(service *s)
{
    while (s->watchers) {
        rpc_call *call = s->watchers->call;
        watcher_remove(s, s->watchers);
        rpc_call_end(call, GRPC_STATUS_UNAVAILABLE, "the agent is shutting down; reconnect to its replacement");
    }
}

grpc_status_code service_status(wf_err e)
{
    switch (e) {
    case WF_OK: return GRPC_STATUS_OK;
    case WF_EINVAL: return GRPC_STATUS_INVALID_ARGUMENT;
    case WF_ESTATE: return GRPC_STATUS_FAILED_PRECONDITION;
    case WF_ENOTFOUND: return GRPC_STATUS_NOT_FOUND;
    case WF_EEXISTS: return GRPC_STATUS_ALREADY_EXISTS;
    case WF_EUNAVAILABLE: return GRPC_STATUS_UNAVAILABLE;
    case WF_ETIMEOUT: return GRPC_STATUS_DEADLINE_EXCEEDED;
    case WF_EABORTED: return GRPC_STATUS_ABORTED;
    case WF_EINTERNAL: return GRPC_STATUS_INTERNAL;
    }
    return GRPC_STATUS_INTERNAL;
}

/* ---- names ----------------------------------------------------------------------- */

static bool name_valid(rpc_call *call, const char *name)
{
    sbuf err = SBUF_INIT;
    bool ok = pbconv_name(name, "name", &err) == 0;
    if (!ok)
        rpc_call_fail(call, GRPC_STATUS_INVALID_ARGUMENT, "%s", err.buf);
    sbuf_free(&err);
    return ok;
}

import_wf *service_workflow(service *s, rpc_call *call, const char *name)
{
    if (!name_valid(call, name))
        return NULL;
    import_wf *wf = workflows_get(s->workflows, name);
    if (!wf)
        rpc_call_fail(call, GRPC_STATUS_NOT_FOUND, "no workflow named \"%s\"; cpctl workflow list shows them", name);
    return wf;
}

stream *service_stream(service *s, rpc_call *call, const char *name)
{
    if (!name_valid(call, name))
        return NULL;
    stream *st = streams_get(s->streams, name);
    if (!st)
        rpc_call_fail(call, GRPC_STATUS_NOT_FOUND, "no stream named \"%s\"; cpctl status lists them", name);
    return st;
}

#define REVERSE_SUFFIX ".reverse"

bool service_name_taken_by_workflow(service *s, const char *name, sbuf *err)
{
    size_t n = strlen(name), k = strlen(REVERSE_SUFFIX);
    sbuf owner = SBUF_INIT;
    if (n > k && strcmp(name + n - k, REVERSE_SUFFIX) == 0)
        sbuf_add(&owner, name, n - k);
    else
        sbuf_adds(&owner, name);
    bool taken = workflows_get(s->workflows, owner.buf) != NULL;
    if (taken)
        sbuf_setf(err, "%s is the name of workflow %s's %s stream; a workflow's streams are its own (pick "
                       "another name)", name, owner.buf, owner.len == n ? "forward" : "reverse");
    sbuf_free(&owner);
    return taken;
}

bool service_name_taken_by_stream(service *s, const char *name, sbuf *err)
{
    sbuf rev = SBUF_INIT;
    sbuf_addf(&rev, "%s" REVERSE_SUFFIX, name);
    const char *taken = streams_get(s->streams, name) ? name
                        : streams_get(s->streams, rev.buf) ? rev.buf : NULL;
    if (taken)
        sbuf_setf(err, "a stream named %s exists; a workflow named %s would run streams %s and %s, so pick "
                       "another name", taken, name, name, rev.buf);
    sbuf_free(&rev);
    return taken != NULL;
}

/* ---- jobs on the thread pool ------------------------------------------------------ */

static void svc_job_work(uv_work_t *w)
{
    svc_job *j = w->data;
    j->run(j);
}

static void svc_job_after(uv_work_t *w, int status)
{
    svc_job *j = w->data;
    if (j->call)
        rpc_call_on_cancel(j->call, NULL, NULL);
    if (status == UV_ECANCELED)
        atomic_store(&j->cancel, true);
    j->done(j);
}

static void svc_job_on_cancel(rpc_call *call, void *data)
{
    svc_job *j = data;
    atomic_store(&j->cancel, true);
    j->call = NULL;
    rpc_call_on_cancel(call, NULL, NULL);
    rpc_call_end(call, GRPC_STATUS_CANCELLED, "client went away; stopped");
}

void svc_job_start(service *s, rpc_call *call, svc_job *j, const char *what, svc_job_fn run, svc_job_fn done)
{
    j->service = s;
    j->call = call;
    j->what = what;
    j->run = run;
    j->done = done;
    atomic_init(&j->cancel, false);
    j->work.data = j;
    int e = uv_queue_work(s->loop, &j->work, svc_job_work, svc_job_after);
    if (e != 0) {
        rpc_call_fail(call, GRPC_STATUS_UNAVAILABLE, "cannot schedule %s: %s; retry", what, uv_strerror(e));
        j->call = NULL;
        atomic_store(&j->cancel, true);
        done(j);
        return;
    }
    rpc_call_on_cancel(call, svc_job_on_cancel, j);
}

/* ---- handlers ----------------------------------------------------------------- */

static void handle_get_status(rpc_call *call, const ProtobufCMessage *req, void *ctx)
{
    service *s = ctx;
    (void)req;
    status_msg m;
    status_build(&m, s);
    rpc_call_reply(call, &m.status.base);
    status_release(&m);
}

static void handle_stream_health(rpc_call *call, const ProtobufCMessage *req, void *ctx)
{
    service *s = ctx;
    (void)req;
    watcher_add(s, call, WATCH_STATUS);
    status_msg m;
    status_build(&m, s);
    if (rpc_call_send(call, &m.status.base) != 0) {
        watcher_remove(s, s->watchers);
        rpc_call_end(call, GRPC_STATUS_UNAVAILABLE, "cannot send");
    }
    status_release(&m);
}

static bool health_service_known(const char *name)
{
    return !*name || strcmp(name, HEALTH_SERVICE_NAME) == 0 || strcmp(name, LIVENESS_SERVICE_NAME) == 0;
}

static void handle_health_check(rpc_call *call, const ProtobufCMessage *req, void *ctx)
{
    service *s = ctx;
    const Grpc__Health__V1__HealthCheckRequest *r = (const void *)req;
    if (!health_service_known(S(r->service))) {
        rpc_call_fail(call, GRPC_STATUS_NOT_FOUND, "unknown service \"%s\": use \"\" or \"%s\"", r->service,
                      HEALTH_SERVICE_NAME);
        return;
    }
    Grpc__Health__V1__HealthCheckResponse resp = GRPC__HEALTH__V1__HEALTH_CHECK_RESPONSE__INIT;
    resp.status = health_state(s, S(r->service));
    rpc_call_reply(call, &resp.base);
}

static void handle_health_watch(rpc_call *call, const ProtobufCMessage *req, void *ctx)
{
    service *s = ctx;
    const Grpc__Health__V1__HealthCheckRequest *r = (const void *)req;
    if (!health_service_known(S(r->service))) {
        /* The health protocol: report SERVICE_UNKNOWN and keep the stream. */
        Grpc__Health__V1__HealthCheckResponse resp = GRPC__HEALTH__V1__HEALTH_CHECK_RESPONSE__INIT;
        resp.status = GRPC__HEALTH__V1__HEALTH_CHECK_RESPONSE__SERVING_STATUS__SERVICE_UNKNOWN;
        rpc_call_send(call, &resp.base);
        rpc_call_end(call, GRPC_STATUS_OK, NULL);
        return;
    }
    watcher_add(s, call, WATCH_HEALTH);
    s->watchers->health_name = xstrdup(S(r->service));
    status_msg m;
    status_build(&m, s);
    if (watcher_push(s, s->watchers, &m) != 0) {
        watcher_remove(s, s->watchers);
        rpc_call_end(call, GRPC_STATUS_UNAVAILABLE, "cannot send");
    }
    status_release(&m);
}

#define AGENT_PATH(m) "/tabletagent.v1.TabletAgent/" m
#define HEALTH_PATH(m) "/grpc.health.v1.Health/" m

static const rpc_method health_methods[] = {
    {HEALTH_PATH("Check"), RPC_UNARY, &grpc__health__v1__health_check_request__descriptor, handle_health_check},
    {HEALTH_PATH("Watch"), RPC_SERVER_STREAM, &grpc__health__v1__health_check_request__descriptor,
     handle_health_watch},
};

static const rpc_method agent_methods[] = {
    {HEALTH_PATH("Check"), RPC_UNARY, &grpc__health__v1__health_check_request__descriptor, handle_health_check},
    {HEALTH_PATH("Watch"), RPC_SERVER_STREAM, &grpc__health__v1__health_check_request__descriptor,
     handle_health_watch},
    {AGENT_PATH("GetStatus"), RPC_UNARY, &tabletagent__v1__get_status_request__descriptor, handle_get_status},
    {AGENT_PATH("StreamHealth"), RPC_SERVER_STREAM, &tabletagent__v1__stream_health_request__descriptor,
     handle_stream_health},
    {AGENT_PATH("Preflight"), RPC_UNARY, &tabletagent__v1__preflight_request__descriptor, handle_preflight},
    {AGENT_PATH("CreateImport"), RPC_UNARY, &tabletagent__v1__create_import_request__descriptor,
     handle_create_import},
    {AGENT_PATH("GetWorkflow"), RPC_UNARY, &tabletagent__v1__get_workflow_request__descriptor, handle_get_workflow},
    {AGENT_PATH("ListWorkflows"), RPC_UNARY, &tabletagent__v1__list_workflows_request__descriptor,
     handle_list_workflows},
    {AGENT_PATH("PauseWorkflow"), RPC_UNARY, &tabletagent__v1__workflow_command_request__descriptor,
     handle_pause_workflow},
    {AGENT_PATH("ResumeWorkflow"), RPC_UNARY, &tabletagent__v1__workflow_command_request__descriptor,
     handle_resume_workflow},
    {AGENT_PATH("SwitchTraffic"), RPC_UNARY, &tabletagent__v1__cutover_request__descriptor, handle_switch_traffic},
    {AGENT_PATH("ReverseTraffic"), RPC_UNARY, &tabletagent__v1__cutover_request__descriptor, handle_reverse_traffic},
    {AGENT_PATH("Detach"), RPC_UNARY, &tabletagent__v1__detach_request__descriptor, handle_detach},
    {AGENT_PATH("VDiff"), RPC_UNARY, &tabletagent__v1__vdiff_request__descriptor, handle_vdiff},
    {AGENT_PATH("GetVDiff"), RPC_UNARY, &tabletagent__v1__vdiff_request__descriptor, handle_get_vdiff},
    {AGENT_PATH("StartStream"), RPC_UNARY, &tabletagent__v1__start_stream_request__descriptor, handle_start_stream},
    {AGENT_PATH("StopStream"), RPC_UNARY, &tabletagent__v1__stop_stream_request__descriptor, handle_stop_stream},
    {AGENT_PATH("GetStream"), RPC_UNARY, &tabletagent__v1__get_stream_request__descriptor, handle_get_stream},
};

const rpc_method *service_methods(size_t *n)
{
    *n = sizeof agent_methods / sizeof agent_methods[0];
    return agent_methods;
}

const rpc_method *service_health_methods(size_t *n)
{
    *n = sizeof health_methods / sizeof health_methods[0];
    return health_methods;
}
