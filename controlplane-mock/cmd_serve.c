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
 * loop and gRPC core plumbing. */
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
} route;

typedef struct watch {
    rpc_call *call;
    char *workflow;
    struct watch *next;
} watch;

typedef struct server {
    const char *path;
    route *v;
    size_t n;
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
        char *fields[7] = {0}, *save = NULL, *p = line;
        line[strcspn(line, "\n")] = '\0';
        for (int i = 0; i < 7; i++, p = NULL)
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
    }
    fclose(f);
    return 0;
}

static int state_save(server *s, sbuf *err)
{
    sbuf text = SBUF_INIT, tmp = SBUF_INIT;
    sbuf_adds(&text, "# workflow\tversion\tmode\tsource\tdestination\tupdated_ms\tdetached\n");
    for (size_t i = 0; i < s->n; i++) {
        route *r = &s->v[i];
        sbuf_addf(&text, "%s\t%llu\t%d\t%s\t%s\t%lld\t%d\n", r->workflow, (unsigned long long)r->version, r->mode,
                  *r->source ? r->source : "-", *r->destination ? r->destination : "-", (long long)r->updated_ms,
                  r->detached);
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
    rpc_call_reply(call, &m.base);
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
                        sbuf *err)
{
    rt->version++;
    rt->mode = mode;
    rt->detached = detached;
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
    log_info("routing", "%s: version %llu mode %d%s", rt->workflow, (unsigned long long)rt->version, rt->mode,
             rt->detached ? " (detached)" : "");
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
    if (route_change(s, rt, r->mode, r->source, r->destination, r->detached, &err) != 0) {
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
    if (route_change(s, rt, want, NULL, NULL, false, &err) != 0)
        log_error("routing", "%s: %s", workflow, err.buf);
    sbuf_free(&err);
}

#define ROUTING_PATH(m) "/controlplane.v1.Routing/" m
static const rpc_method routing_methods[] = {
    {ROUTING_PATH("GetRouting"), RPC_UNARY, &controlplane__v1__get_routing_request__descriptor, handle_get},
    {ROUTING_PATH("WatchRouting"), RPC_SERVER_STREAM, &controlplane__v1__get_routing_request__descriptor, handle_watch},
    {ROUTING_PATH("SetRouting"), RPC_UNARY, &controlplane__v1__set_routing_request__descriptor, handle_set},
};

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
    if (state_load(&s, &err) != 0 || rpc_server_listen(s.rpc, listen, NULL, routing_methods, 3, &err) != 0 ||
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
    sbuf_free(&err);
    return rc;
}
