/* cmd_serve: `cpctl serve`, the control-plane mock's routing service.
 *
 *   cpctl serve [--listen 127.0.0.1:15990] [--state routing.tsv]
 *
 * Keeps, per workflow, the routing rules (mode, the two sides' addresses, a
 * version that grows with every change) in a tab-separated file rewritten
 * atomically on each change, and serves controlplane.v1.Routing: get,
 * watch (every change is pushed to watchers at once), and compare-and-set.
 * It follows the agent's workflow states and corrects rules that contradict
 * them (reconcile.c): a switch the agent finished by itself after a crash
 * moves the writes too. It reuses the agent's rpc_server: the same libuv
 * loop and gRPC core plumbing.
 *
 * Routers report which rules version they apply (ReportRouter) when they
 * apply one and as a heartbeat. The last report per (workflow, router) is
 * kept in memory with the monotonic time it arrived, and GetRouting lists
 * them with their age: a router silent for a minute is still shown (its
 * age says it is silent), one silent for 10 minutes is forgotten. Reports
 * are not saved: after a restart routers are known again within one
 * heartbeat. A bound per workflow (and overall) keeps a misconfigured
 * fleet, say one that picks a new router_id at every start, from growing
 * the list without end. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <uv.h>

#include "args.h"
#include "controlplane/v1/routing.pb-c.h"
#include "cpctl.h"
#include "lib/clock.h"
#include "lib/log.h"
#include "rpc/rpc_server.h"
#include "tabletagent/v1/tabletagent.pb-c.h"

typedef struct route {
    char *workflow;
    uint64_t version;
    int mode;
    char *source, *destination;
    int64_t updated_ms;
    bool detached;
    bool hold; /* a switch is under way: routers hold writes */
} route;

typedef struct watch {
    rpc_call *call;
    char *workflow;
    struct watch *next;
} watch;

/* A router's last report. */
typedef struct router_seen {
    char *workflow, *router_id, *address;
    uint64_t applied, holding;
    uint32_t clients;
    int64_t at_mono_ms;
} router_seen;

#define ROUTERS_PER_WORKFLOW_MAX 256
#define ROUTERS_MAX 4096
#define ROUTER_FORGET_MS (10 * 60 * 1000)
#define REPORT_FIELD_MAX 255

typedef struct server {
    const char *path;
    route *v;
    size_t n;
    router_seen *routers;
    size_t nrouters;
    watch *watchers;
    rpc_server *rpc;
    reconciler *reconciler;
    uv_signal_t sigint, sigterm;
} server;

/* ---- the state file --------------------------------------------------------------- */

static route *route_find(server *s, const char *wf)
{
    for (size_t i = 0; i < s->n; i++)
        if (strcmp(s->v[i].workflow, wf) == 0)
            return &s->v[i];
    return NULL;
}

static route *route_add(server *s, const char *wf)
{
    s->v = xrealloc(s->v, (s->n + 1) * sizeof *s->v);
    route *r = &s->v[s->n++];
    memset(r, 0, sizeof *r);
    r->workflow = xstrdup(wf);
    r->source = xstrdup("");
    r->destination = xstrdup("");
    return r;
}

static int state_load(server *s, sbuf *err)
{
    FILE *f = fopen(s->path, "r");
    if (!f)
        return errno == ENOENT ? 0 : (sbuf_setf(err, "cannot read %s: %s", s->path, strerror(errno)), -1);
    char line[4096];
    while (fgets(line, sizeof line, f)) {
        char *fields[8] = {0}, *save = NULL, *p = line;
        line[strcspn(line, "\n")] = '\0';
        for (int i = 0; i < 8; i++, p = NULL)
            fields[i] = strtok_r(p, "\t", &save);
        if (!fields[6] || *fields[0] == '#')
            continue;
        route *r = route_add(s, fields[0]);
        r->version = strtoull(fields[1], NULL, 10);
        r->mode = atoi(fields[2]);
        free(r->source);
        free(r->destination);
        r->source = xstrdup(strcmp(fields[3], "-") ? fields[3] : "");
        r->destination = xstrdup(strcmp(fields[4], "-") ? fields[4] : "");
        r->updated_ms = strtoll(fields[5], NULL, 10);
        r->detached = atoi(fields[6]) != 0;
        r->hold = fields[7] && atoi(fields[7]) != 0; /* files from before holds have 7 fields */
    }
    fclose(f);
    return 0;
}

static int state_save(server *s, sbuf *err)
{
    sbuf text = SBUF_INIT, tmp = SBUF_INIT;
    sbuf_adds(&text, "# workflow\tversion\tmode\tsource\tdestination\tupdated_ms\tdetached\thold\n");
    for (size_t i = 0; i < s->n; i++) {
        route *r = &s->v[i];
        sbuf_addf(&text, "%s\t%llu\t%d\t%s\t%s\t%lld\t%d\t%d\n", r->workflow, (unsigned long long)r->version,
                  r->mode, *r->source ? r->source : "-", *r->destination ? r->destination : "-",
                  (long long)r->updated_ms, r->detached, r->hold);
    }
    sbuf_addf(&tmp, "%s.tmp", s->path);
    FILE *f = fopen(tmp.buf, "w");
    int rc = -1;
    if (f && fwrite(text.buf, 1, text.len, f) == text.len && fflush(f) == 0 && fsync(fileno(f)) == 0) {
        fclose(f);
        f = NULL;
        rc = rename(tmp.buf, s->path);
    }
    if (f)
        fclose(f);
    if (rc)
        sbuf_setf(err, "cannot write %s: %s", s->path, strerror(errno));
    sbuf_free(&text);
    sbuf_free(&tmp);
    return rc;
}

/* ---- messages ------------------------------------------------------------------------ */

static void rules_of(const route *r, const char *wf, Controlplane__V1__RoutingRules *m)
{
    controlplane__v1__routing_rules__init(m);
    m->workflow = (char *)wf;
    if (!r)
        return;
    m->version = r->version;
    m->mode = r->mode;
    bool reads_dest = r->mode == CONTROLPLANE__V1__MODE__MODE_VALIDATE || r->mode == CONTROLPLANE__V1__MODE__MODE_PRIMARY;
    bool writes_dest = r->mode == CONTROLPLANE__V1__MODE__MODE_PRIMARY;
    m->reads = reads_dest ? "destination" : "source";
    m->writes = writes_dest ? "destination" : "source";
    m->source = r->source;
    m->destination = r->destination;
    m->updated_at_unix_ms = r->updated_ms;
    m->detached = r->detached;
    m->hold = r->hold;
}

/* ---- router reports -------------------------------------------------------------------- */

static void router_seen_free(router_seen *r)
{
    free(r->workflow);
    free(r->router_id);
    free(r->address);
}

/* Drop the routers silent for ROUTER_FORGET_MS. */
static void routers_forget(server *s, int64_t now)
{
    size_t keep = 0;
    for (size_t i = 0; i < s->nrouters; i++) {
        if (now - s->routers[i].at_mono_ms > ROUTER_FORGET_MS) {
            sbuf id = SBUF_INIT;
            sbuf_add_printable(&id, s->routers[i].router_id, strlen(s->routers[i].router_id), REPORT_FIELD_MAX);
            log_info("routing", "%s: router %s forgotten: silent for 10 minutes", s->routers[i].workflow, id.buf);
            sbuf_free(&id);
            router_seen_free(&s->routers[i]);
        } else {
            s->routers[keep++] = s->routers[i];
        }
    }
    s->nrouters = keep;
}

/* Order of the list: by workflow, then router_id. */
static int router_cmp(const char *wf, const char *id, const router_seen *x)
{
    int c = strcmp(wf, x->workflow);
    return c ? c : strcmp(id, x->router_id);
}

/* Record a report; an error for the caller's status otherwise. */
static grpc_status_code routers_record(server *s, const Controlplane__V1__RouterReport *r, sbuf *err)
{
    if (!*r->router_id || !*r->workflow) {
        sbuf_setf(err, "a router report needs router_id (unique per router replica and stable across its restarts, "
                       "e.g. its host:port) and workflow (whose rules it applies)");
        return GRPC_STATUS_INVALID_ARGUMENT;
    }
    if (strlen(r->router_id) > REPORT_FIELD_MAX || strlen(r->workflow) > REPORT_FIELD_MAX ||
        strlen(r->address) > REPORT_FIELD_MAX) {
        sbuf_setf(err, "router_id, workflow and address take at most %d bytes each", REPORT_FIELD_MAX);
        return GRPC_STATUS_INVALID_ARGUMENT;
    }
    int64_t now = clock_mono_ms();
    routers_forget(s, now);
    size_t at = s->nrouters, same_wf = 0;
    for (size_t i = 0; i < s->nrouters; i++) {
        int c = router_cmp(r->workflow, r->router_id, &s->routers[i]);
        same_wf += strcmp(r->workflow, s->routers[i].workflow) == 0;
        if (c <= 0 && at == s->nrouters)
            at = i;
    }
    router_seen *x = at < s->nrouters && router_cmp(r->workflow, r->router_id, &s->routers[at]) == 0 ? &s->routers[at]
                                                                                                  : NULL;
    if (!x) {
        if (same_wf >= ROUTERS_PER_WORKFLOW_MAX || s->nrouters >= ROUTERS_MAX) {
            if (same_wf >= ROUTERS_PER_WORKFLOW_MAX)
                sbuf_setf(err, "%d routers already report for workflow %s", ROUTERS_PER_WORKFLOW_MAX, r->workflow);
            else
                sbuf_setf(err, "%d routers already report to this control plane", ROUTERS_MAX);
            sbuf_adds(err, "; a router_id must stay the same across a router's restarts (routers silent for 10 "
                           "minutes are forgotten)");
            return GRPC_STATUS_RESOURCE_EXHAUSTED;
        }
        s->routers = xrealloc(s->routers, (s->nrouters + 1) * sizeof *s->routers);
        memmove(&s->routers[at + 1], &s->routers[at], (s->nrouters - at) * sizeof *s->routers);
        s->nrouters++;
        x = &s->routers[at];
        memset(x, 0, sizeof *x);
        x->workflow = xstrdup(r->workflow);
        x->router_id = xstrdup(r->router_id);
        x->address = xstrdup("");
        sbuf id = SBUF_INIT;
        sbuf_add_printable(&id, r->router_id, strlen(r->router_id), REPORT_FIELD_MAX);
        log_info("routing", "%s: router %s reports (rules v%llu)", x->workflow, id.buf,
                 (unsigned long long)r->applied_version);
        sbuf_free(&id);
    }
    if (strcmp(x->address, r->address) != 0) {
        free(x->address);
        x->address = xstrdup(r->address);
    }
    x->applied = r->applied_version;
    x->holding = r->holding_version;
    x->clients = r->clients;
    x->at_mono_ms = now;
    return GRPC_STATUS_OK;
}

/* A router that stops says so: forget it now. */
static grpc_status_code routers_leave(server *s, const Controlplane__V1__RouterReport *r)
{
    for (size_t i = 0; i < s->nrouters; i++) {
        if (router_cmp(r->workflow, r->router_id, &s->routers[i]) != 0)
            continue;
        sbuf id = SBUF_INIT;
        sbuf_add_printable(&id, r->router_id, strlen(r->router_id), REPORT_FIELD_MAX);
        log_info("routing", "%s: router %s left", s->routers[i].workflow, id.buf);
        sbuf_free(&id);
        router_seen_free(&s->routers[i]);
        memmove(&s->routers[i], &s->routers[i + 1], (s->nrouters - i - 1) * sizeof *s->routers);
        s->nrouters--;
        break;
    }
    return GRPC_STATUS_OK;
}

/* The workflow's routers into m (freed by routers_info_free), in router_id
 * order since the list is sorted. */
static void routers_info(server *s, const char *wf, Controlplane__V1__RoutingRules *m)
{
    int64_t now = clock_mono_ms();
    routers_forget(s, now);
    m->routers = xcalloc(s->nrouters + 1, sizeof *m->routers);
    for (size_t i = 0; i < s->nrouters; i++) {
        router_seen *x = &s->routers[i];
        if (strcmp(x->workflow, wf) != 0)
            continue;
        Controlplane__V1__RouterInfo *ri = xmalloc(sizeof *ri);
        controlplane__v1__router_info__init(ri);
        ri->router_id = x->router_id;
        ri->address = x->address;
        ri->applied_version = x->applied;
        ri->holding_version = x->holding;
        ri->clients = x->clients;
        ri->seconds_since_report = (double)(now - x->at_mono_ms) / 1000.0;
        m->routers[m->n_routers++] = ri;
    }
}

static void routers_info_free(Controlplane__V1__RoutingRules *m)
{
    for (size_t i = 0; i < m->n_routers; i++)
        free(m->routers[i]);
    free(m->routers);
}

static void push(server *s, const route *r)
{
    Controlplane__V1__RoutingRules m;
    rules_of(r, r->workflow, &m);
    for (watch **w = &s->watchers; *w;) {
        if (strcmp((*w)->workflow, r->workflow) != 0 || rpc_call_send((*w)->call, &m.base) == 0) {
            w = &(*w)->next;
            continue;
        }
        watch *dead = *w;
        *w = dead->next;
        rpc_call_end(dead->call, GRPC_STATUS_RESOURCE_EXHAUSTED, "dropped");
        free(dead->workflow);
        free(dead);
    }
}

/* ---- handlers ------------------------------------------------------------------------- */

static void handle_get(rpc_call *call, const ProtobufCMessage *req, void *ctx)
{
    server *s = ctx;
    const Controlplane__V1__GetRoutingRequest *r = (const void *)req;
    Controlplane__V1__RoutingRules m;
    rules_of(route_find(s, r->workflow), r->workflow, &m);
    routers_info(s, r->workflow, &m);
    rpc_call_reply(call, &m.base);
    routers_info_free(&m);
}

static void handle_report(rpc_call *call, const ProtobufCMessage *req, void *ctx)
{
    server *s = ctx;
    const Controlplane__V1__RouterReport *r = (const void *)req;
    sbuf err = SBUF_INIT;
    grpc_status_code st = r->leaving ? routers_leave(s, r) : routers_record(s, r, &err);
    if (st != GRPC_STATUS_OK) {
        rpc_call_fail(call, st, "%s", err.buf);
    } else {
        const route *rt = route_find(s, r->workflow);
        Controlplane__V1__RouterReportReply reply = CONTROLPLANE__V1__ROUTER_REPORT_REPLY__INIT;
        reply.current_version = rt ? rt->version : 0;
        rpc_call_reply(call, &reply.base);
    }
    sbuf_free(&err);
}

static void watch_cancel(rpc_call *call, void *data)
{
    server *s = data;
    for (watch **w = &s->watchers; *w; w = &(*w)->next) {
        if ((*w)->call != call)
            continue;
        watch *dead = *w;
        *w = dead->next;
        free(dead->workflow);
        free(dead);
        rpc_call_end(call, GRPC_STATUS_CANCELLED, "client went away");
        return;
    }
}

static void handle_watch(rpc_call *call, const ProtobufCMessage *req, void *ctx)
{
    server *s = ctx;
    const Controlplane__V1__GetRoutingRequest *r = (const void *)req;
    watch *w = xcalloc(1, sizeof *w);
    w->call = call;
    w->workflow = xstrdup(r->workflow);
    w->next = s->watchers;
    s->watchers = w;
    rpc_call_on_cancel(call, watch_cancel, s);
    Controlplane__V1__RoutingRules m;
    rules_of(route_find(s, r->workflow), r->workflow, &m);
    rpc_call_send(call, &m.base);
}

/* Apply a change: a new version, saved, pushed to watchers. */
static int route_change(server *s, route *rt, int mode, const char *source, const char *dest, bool detached,
                        bool hold, sbuf *err)
{
    rt->version++;
    rt->mode = mode;
    rt->detached = detached;
    rt->hold = hold;
    rt->updated_ms = clock_wall_ms();
    if (source && *source) {
        free(rt->source);
        rt->source = xstrdup(source);
    }
    if (dest && *dest) {
        free(rt->destination);
        rt->destination = xstrdup(dest);
    }
    if (state_save(s, err) != 0)
        return -1;
    log_info("routing", "%s: version %llu mode %d%s%s", rt->workflow, (unsigned long long)rt->version, rt->mode,
             rt->detached ? " (detached)" : "", rt->hold ? " (hold)" : "");
    push(s, rt);
    return 0;
}

static void handle_set(rpc_call *call, const ProtobufCMessage *req, void *ctx)
{
    server *s = ctx;
    const Controlplane__V1__SetRoutingRequest *r = (const void *)req;
    sbuf err = SBUF_INIT;
    if (!*r->workflow || r->mode < CONTROLPLANE__V1__MODE__MODE_SOURCE || r->mode > CONTROLPLANE__V1__MODE__MODE_PRIMARY) {
        rpc_call_fail(call, GRPC_STATUS_INVALID_ARGUMENT, "a workflow and a mode (SOURCE, VALIDATE, PRIMARY) are needed");
        return;
    }
    route *rt = route_find(s, r->workflow);
    uint64_t current = rt ? rt->version : 0;
    if (r->expected_version && r->expected_version != current) {
        rpc_call_fail(call, GRPC_STATUS_ABORTED, "routing of %s is at version %llu, not %llu: someone changed it; "
                      "read it again", r->workflow, (unsigned long long)current, (unsigned long long)r->expected_version);
        return;
    }
    if (!rt)
        rt = route_add(s, r->workflow);
    if (route_change(s, rt, r->mode, r->source, r->destination, r->detached, r->hold, &err) != 0) {
        rpc_call_fail(call, GRPC_STATUS_INTERNAL, "%s", err.buf);
        sbuf_free(&err);
        return;
    }
    Controlplane__V1__RoutingRules m;
    rules_of(rt, rt->workflow, &m);
    rpc_call_reply(call, &m.base);
}

/* The agent's word on where a workflow's writes are wins over rules that
 * say otherwise. Only settled states count: SWITCHING and REVERSING are
 * the lifecycle commands' own business, and REPLICATING agrees with both
 * SOURCE and VALIDATE. */
static void reconcile(void *data, const char *workflow, int state)
{
    server *s = data;
    route *rt = route_find(s, workflow);
    if (!rt || !rt->version || rt->detached)
        return;
    int want = rt->mode;
    if (state == TABLETAGENT__V1__WORKFLOW_STATE__WORKFLOW_PRIMARY)
        want = CONTROLPLANE__V1__MODE__MODE_PRIMARY;
    else if (state == TABLETAGENT__V1__WORKFLOW_STATE__WORKFLOW_REPLICATING && rt->mode == CONTROLPLANE__V1__MODE__MODE_PRIMARY)
        want = CONTROLPLANE__V1__MODE__MODE_SOURCE;
    if (want == rt->mode)
        return;
    log_warn("routing", "%s: the agent reports the workflow %s but the rules had mode %d: rules follow the agent",
             workflow, state == TABLETAGENT__V1__WORKFLOW_STATE__WORKFLOW_PRIMARY ? "PRIMARY" : "REPLICATING", rt->mode);
    sbuf err = SBUF_INIT;
    if (route_change(s, rt, want, NULL, NULL, false, false, &err) != 0)
        log_error("routing", "%s: %s", workflow, err.buf);
    sbuf_free(&err);
}

#define ROUTING_PATH(m) "/controlplane.v1.Routing/" m
static const rpc_method routing_methods[] = {
    {ROUTING_PATH("GetRouting"), RPC_UNARY, &controlplane__v1__get_routing_request__descriptor, handle_get},
    {ROUTING_PATH("WatchRouting"), RPC_SERVER_STREAM, &controlplane__v1__get_routing_request__descriptor, handle_watch},
    {ROUTING_PATH("SetRouting"), RPC_UNARY, &controlplane__v1__set_routing_request__descriptor, handle_set},
    {ROUTING_PATH("ReportRouter"), RPC_UNARY, &controlplane__v1__router_report__descriptor, handle_report},
};
#define ROUTING_NMETHODS (sizeof routing_methods / sizeof routing_methods[0])

/* ---- the process ---------------------------------------------------------------------- */

static void on_stopped(void *arg)
{
    server *s = arg;
    uv_close((uv_handle_t *)&s->sigint, NULL);
    uv_close((uv_handle_t *)&s->sigterm, NULL);
}

static void on_signal(uv_signal_t *h, int sig)
{
    (void)sig;
    server *s = h->data;
    reconciler_stop(s->reconciler);
    s->reconciler = NULL;
    while (s->watchers) {
        watch *w = s->watchers;
        s->watchers = w->next;
        rpc_call_end(w->call, GRPC_STATUS_UNAVAILABLE, "the control plane is shutting down");
        free(w->workflow);
        free(w);
    }
    rpc_server_shutdown(s->rpc, 300, on_stopped, s);
}

int cmd_serve(cp_ctx *ctx, int argc, char **argv)
{
    const char *listen = "127.0.0.1:15990", *state = "routing.tsv";
    arg_opt opts[] = {
        {"listen", ARG_STR, &listen, "address to serve controlplane.v1.Routing on"},
        {"state", ARG_STR, &state, "file keeping the routing rules"},
    };
    int prc = args_command(argc, argv, opts, sizeof opts / sizeof opts[0], NULL, 0, NULL,
                           "serve [--listen HOST:PORT] [--state FILE]   (follows the agent given by --agent)");
    if (prc)
        return prc < 0 ? EXIT_USAGE : EXIT_OK;
    sbuf err = SBUF_INIT;
    signal(SIGINT, SIG_DFL);
    signal(SIGTERM, SIG_DFL);
    server s = {.path = state};
    uv_loop_t loop;
    uv_loop_init(&loop);
    int rc = EXIT_OK;
    s.rpc = rpc_server_new(&loop, &s);
    if (state_load(&s, &err) != 0 || rpc_server_listen(s.rpc, listen, NULL, routing_methods, ROUTING_NMETHODS, &err) != 0 ||
        rpc_server_start(s.rpc, &err) != 0) {
        fprintf(stderr, "cpctl: serve: %s\n", err.buf);
        rpc_server_shutdown(s.rpc, 0, NULL, NULL);
        rc = EXIT_FAILED;
    } else {
        log_info("routing", "control-plane mock serving routing rules on %s (state in %s)", listen, state);
        uv_signal_init(&loop, &s.sigint);
        uv_signal_init(&loop, &s.sigterm);
        s.sigint.data = s.sigterm.data = &s;
        uv_signal_start(&s.sigint, on_signal, SIGINT);
        uv_signal_start(&s.sigterm, on_signal, SIGTERM);
        s.reconciler = reconciler_start(&loop, ctx->agent_addr, ctx->use_tls ? &ctx->tls : NULL, reconcile, &s);
    }
    uv_run(&loop, UV_RUN_DEFAULT);
    uv_loop_close(&loop);
    for (size_t i = 0; i < s.n; i++) {
        free(s.v[i].workflow);
        free(s.v[i].source);
        free(s.v[i].destination);
    }
    free(s.v);
    for (size_t i = 0; i < s.nrouters; i++)
        router_seen_free(&s.routers[i]);
    free(s.routers);
    sbuf_free(&err);
    return rc;
}
