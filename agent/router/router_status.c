/* router_status: a router_status struct into a RouterStatus message, and
 * the GetStatus handler. See router_status.h.
 *
 * The message owns copies of every string (the filler's pointers are only
 * good during the handler, and the message must also serve tests), so it
 * is freed field by field rather than with protobuf-c's unpacked free. */
#include "router/router_status.h"

#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "lib/clock.h"
#include "router/v1/router.pb-c.h"

static char *dup_or_empty(const char *s)
{
    return xstrdup(s ? s : "");
}

static Router__V1__WorkflowRoute *route_message(const router_status_route *r, int64_t now)
{
    Router__V1__WorkflowRoute *m = xmalloc(sizeof *m);
    router__v1__workflow_route__init(m);
    const router_rules *rules = r->rules;
    m->workflow = dup_or_empty(rules->workflow);
    m->rules_version = rules->version;
    m->mode = (Controlplane__V1__Mode)rules->mode; /* the same numbers: rules.h mirrors the enum */
    m->reads = xstrdup(rules->version ? (router_mode_reads_destination(rules->mode) ? "destination" : "source") : "");
    m->writes = xstrdup(rules->version ? (router_mode_writes_destination(rules->mode) ? "destination" : "source") : "");
    m->source = dup_or_empty(rules->source);
    m->destination = dup_or_empty(rules->destination);
    m->detached = rules->detached;
    const rules_watch_state *w = r->watch;
    m->control_plane_connected = w && w->connected;
    m->control_plane_error = dup_or_empty(w ? w->error : "the router does not follow a control plane");
    m->report_error = dup_or_empty(w ? w->report_error : NULL);
    if (w && w->rules_mono_ms)
        m->rules_age_seconds = (double)(now - w->rules_mono_ms) / 1000.0;
    if (w && w->since_mono_ms)
        m->control_plane_since_seconds = (double)(now - w->since_mono_ms) / 1000.0;
    return m;
}

static Router__V1__Backend *backend_message(const router_status_backend *b)
{
    Router__V1__Backend *m = xmalloc(sizeof *m);
    router__v1__backend__init(m);
    m->side = dup_or_empty(b->side);
    m->address = dup_or_empty(b->address);
    m->connections = b->connections;
    m->up = b->up;
    m->last_error = dup_or_empty(b->last_error);
    return m;
}

ProtobufCMessage *router_status_message(const router_status *st)
{
    int64_t now = clock_mono_ms();
    Router__V1__RouterStatus *m = xmalloc(sizeof *m);
    router__v1__router_status__init(m);
    m->router_id = dup_or_empty(st->router_id);
    m->version = xstrdup(TABLET_AGENT_VERSION);
    m->uptime_seconds = st->started_mono_ms ? (now - st->started_mono_ms) / 1000 : 0;
    m->listen = dup_or_empty(st->listen);
    m->client_connections = st->client_connections;
    m->workflows = xcalloc(st->n_routes + 1, sizeof *m->workflows);
    for (size_t i = 0; i < st->n_routes; i++)
        m->workflows[m->n_workflows++] = route_message(&st->routes[i], now);
    m->backends = xcalloc(st->n_backends + 1, sizeof *m->backends);
    for (size_t i = 0; i < st->n_backends; i++)
        m->backends[m->n_backends++] = backend_message(&st->backends[i]);
    m->statements_source = st->statements_source;
    m->statements_destination = st->statements_destination;
    m->statements_total = st->statements_total;
    m->errors_total = st->errors_total;
    if (st->ryw) {
        m->reads_after_writes_waited = st->ryw->waited;
        m->reads_after_writes_wait_seconds = (double)st->ryw->wait_us / 1e6;
        m->reads_after_writes_waited_to_source = st->ryw->waited_to_source;
        m->reads_after_writes_to_source = st->ryw->to_source;
    }
    return &m->base;
}

void router_status_message_free(ProtobufCMessage *msg)
{
    Router__V1__RouterStatus *m = (void *)msg;
    if (!m)
        return;
    for (size_t i = 0; i < m->n_workflows; i++) {
        Router__V1__WorkflowRoute *r = m->workflows[i];
        free(r->workflow);
        free(r->reads);
        free(r->writes);
        free(r->source);
        free(r->destination);
        free(r->control_plane_error);
        free(r->report_error);
        free(r);
    }
    for (size_t i = 0; i < m->n_backends; i++) {
        Router__V1__Backend *b = m->backends[i];
        free(b->side);
        free(b->address);
        free(b->last_error);
        free(b);
    }
    free(m->workflows);
    free(m->backends);
    free(m->router_id);
    free(m->version);
    free(m->listen);
    free(m);
}

static void handle_get_status(rpc_call *call, const ProtobufCMessage *req, void *ctx)
{
    (void)req;
    const router_status_service *svc = ctx;
    router_status st;
    memset(&st, 0, sizeof st);
    svc->fill(&st, svc->data);
    ProtobufCMessage *m = router_status_message(&st);
    rpc_call_reply(call, m);
    router_status_message_free(m);
}

const rpc_method router_status_methods[] = {
    {"/router.v1.Router/GetStatus", RPC_UNARY, &router__v1__get_status_request__descriptor, handle_get_status},
};
const size_t router_status_nmethods = sizeof router_status_methods / sizeof router_status_methods[0];
