/* rules_follow: a router's control-plane side without the router, for
 * tests: follows a workflow's routing rules with rules_watch (agent/router/
 * rules.h) on a libuv loop, as tablet-router does.
 *
 *   rules_follow --control-plane HOST:PORT --workflow NAME [--router-id ID]
 *                [--address HOST:PORT] [--clients N] [--report-interval-ms N]
 *                [--seconds N] [--status-listen HOST:PORT]
 *
 * Prints one line per event on stdout, flushed at once:
 *   rules v3 mode VALIDATE source H:P destination H:P detached 0
 *   connected | disconnected: ERROR | problem: ERROR | report ok | report failed: ERROR
 *   status connected=0 version=3 error=ERROR        (on SIGUSR1)
 *   stopped in N ms                                  (how long rules_watch_stop took)
 * Every rules version is reported as applied at once. It runs until
 * SIGTERM or SIGINT, or for --seconds. With --status-listen it serves the
 * router's status API (router_status.h) as the router will, from the
 * rules it applies and the watcher's state, for cpctl router status. 
 *
 *   rules_follow --report-only --control-plane HOST:PORT [--workflow NAME]
 *                [--router-id ID] [--address A] [--applied V] [--clients N]
 *                [--repeat N]
 *
 * sends one ReportRouter exactly as given (empty fields too) and prints
 * "ok current_version=N" (exit 0) or "STATUS_NUMBER message" (exit 1).
 * With --repeat N it sends N, from routers ID-1 to ID-N, and stops at the
 * first failure.
 *
 *   rules_follow --set MODE --control-plane HOST:PORT --workflow NAME
 *                [--source H:P] [--destination H:P] [--detached]
 *
 * changes the rules directly (SetRouting, MODE a number: 1 SOURCE,
 * 2 VALIDATE, 3 PRIMARY), as cpctl's lifecycle commands do after the
 * agent acted; the control plane checks only the mode, so a test can hand
 * routers addresses that are garbage. Prints "ok version=N" or the status. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "../../controlplane-mock/args.h"
#include "controlplane/v1/routing.pb-c.h"
#include "lib/clock.h"
#include "router/router_status.h"
#include "router/rules.h"
#include "rpc/rpc_client.h"

typedef struct follower {
    uv_loop_t loop;
    uv_signal_t sigterm, sigint, sigusr1;
    uv_timer_t deadline;
    rules_watch *watch;
    rpc_server *status;
    const char *id, *address;
    router_rules applied;
    int64_t started_mono_ms;
    uint32_t clients;
    rules_watch_state last;
    bool stopping;
} follower;

static uint32_t clients(void *data)
{
    return ((follower *)data)->clients;
}

static void on_rules(const router_rules *r, void *data)
{
    follower *f = data;
    printf("rules v%llu mode %s source %s destination %s detached %d\n", (unsigned long long)r->version,
           router_mode_name(r->mode), *r->source ? r->source : "-", *r->destination ? r->destination : "-",
           r->detached);
    fflush(stdout);
    f->applied = *r;
    rules_watch_applied(f->watch, r->version);
}

/* The router's status, as far as a router without backends has one. */
static void status_fill(router_status *st, void *data)
{
    static rules_watch_state watch;
    static router_status_route route;
    follower *f = data;
    rules_watch_state_get(f->watch, &watch);
    route.rules = &f->applied;
    route.watch = &watch;
    st->router_id = f->id;
    st->listen = f->address;
    st->started_mono_ms = f->started_mono_ms;
    st->client_connections = f->clients;
    st->routes = &route;
    st->n_routes = 1;
}

static void on_state(const rules_watch_state *st, void *data)
{
    follower *f = data;
    if (st->connected != f->last.connected)
        printf(st->connected ? "connected\n" : "disconnected: %s\n", st->error);
    if (st->connected && *st->error && strcmp(st->error, f->last.error) != 0)
        printf("problem: %s\n", st->error);
    if (strcmp(st->report_error, f->last.report_error) != 0)
        printf(*st->report_error ? "report failed: %s\n" : "report ok\n", st->report_error);
    fflush(stdout);
    f->last = *st;
}

static void stop(follower *f)
{
    if (f->stopping)
        return;
    f->stopping = true;
    int64_t t0 = clock_mono_ms();
    rules_watch_stop(f->watch);
    printf("stopped in %lld ms\n", (long long)(clock_mono_ms() - t0));
    if (f->status)
        rpc_server_shutdown(f->status, 0, NULL, NULL);
    fflush(stdout);
    uv_close((uv_handle_t *)&f->sigterm, NULL);
    uv_close((uv_handle_t *)&f->sigint, NULL);
    uv_close((uv_handle_t *)&f->sigusr1, NULL);
    uv_close((uv_handle_t *)&f->deadline, NULL);
}

static void on_signal(uv_signal_t *h, int sig)
{
    follower *f = h->data;
    if (sig != SIGUSR1) {
        stop(f);
        return;
    }
    rules_watch_state st;
    rules_watch_state_get(f->watch, &st);
    printf("status connected=%d version=%llu error=%s\n", st.connected, (unsigned long long)st.last_version,
           *st.error ? st.error : "-");
    fflush(stdout);
}

static void on_deadline(uv_timer_t *t)
{
    stop(t->data);
}

static int report_once(const char *cp, const char *wf, const char *id, const char *addr, const char *applied,
                       uint32_t n, int repeat)
{
    sbuf err = SBUF_INIT;
    rpc_client *c = rpc_client_open(cp, NULL, &err);
    if (!c) {
        printf("%d %s\n", GRPC_STATUS_UNAVAILABLE, err.buf);
        sbuf_free(&err);
        return 1;
    }
    Controlplane__V1__RouterReport req = CONTROLPLANE__V1__ROUTER_REPORT__INIT;
    req.workflow = (char *)wf;
    req.router_id = (char *)id;
    req.address = (char *)addr;
    req.applied_version = strtoull(applied, NULL, 10);
    req.clients = n;
    ProtobufCMessage *resp = NULL;
    grpc_status_code st = GRPC_STATUS_OK;
    sbuf rid = SBUF_INIT;
    for (int i = 1; i <= (repeat > 0 ? repeat : 1) && st == GRPC_STATUS_OK; i++) {
        if (repeat > 0) {
            sbuf_setf(&rid, "%s-%d", id, i);
            req.router_id = rid.buf;
        }
        if (resp)
            protobuf_c_message_free_unpacked(resp, NULL);
        resp = NULL;
        st = rpc_client_unary(c, "/controlplane.v1.Routing/ReportRouter", &req.base,
                              &controlplane__v1__router_report_reply__descriptor, &resp, 5000, &err);
    }
    sbuf_free(&rid);
    if (st == GRPC_STATUS_OK)
        printf("ok current_version=%llu\n",
               (unsigned long long)((Controlplane__V1__RouterReportReply *)resp)->current_version);
    else
        printf("%d %s\n", st, err.buf);
    if (resp)
        protobuf_c_message_free_unpacked(resp, NULL);
    rpc_client_close(c);
    sbuf_free(&err);
    return st == GRPC_STATUS_OK ? 0 : 1;
}

static int set_rules(const char *cp, const char *wf, const char *mode, const char *src, const char *dst, bool detached)
{
    sbuf err = SBUF_INIT;
    rpc_client *c = rpc_client_open(cp, NULL, &err);
    grpc_status_code st = GRPC_STATUS_UNAVAILABLE;
    ProtobufCMessage *resp = NULL;
    if (c) {
        Controlplane__V1__SetRoutingRequest req = CONTROLPLANE__V1__SET_ROUTING_REQUEST__INIT;
        req.workflow = (char *)wf;
        req.mode = atoi(mode);
        req.source = (char *)src;
        req.destination = (char *)dst;
        req.detached = detached;
        st = rpc_client_unary(c, "/controlplane.v1.Routing/SetRouting", &req.base,
                              &controlplane__v1__routing_rules__descriptor, &resp, 5000, &err);
    }
    if (st == GRPC_STATUS_OK)
        printf("ok version=%llu\n", (unsigned long long)((Controlplane__V1__RoutingRules *)resp)->version);
    else
        printf("%d %s\n", st, err.buf);
    if (resp)
        protobuf_c_message_free_unpacked(resp, NULL);
    rpc_client_close(c);
    sbuf_free(&err);
    return st == GRPC_STATUS_OK ? 0 : 1;
}

int main(int argc, char **argv)
{
    const char *cp = NULL, *wf = "", *id = "", *addr = "", *n = "0", *interval = "0", *seconds = "0";
    const char *applied = "0", *repeat = "0", *set = NULL, *src = "", *dst = "", *status_listen = NULL;
    bool report_only = false, detached = false;
    arg_opt opts[] = {
        {"control-plane", ARG_STR, &cp, "the control plane (cpctl serve)"},
        {"workflow", ARG_STR, &wf, "whose rules to follow"},
        {"router-id", ARG_STR, &id, "this router's id (default: its address)"},
        {"address", ARG_STR, &addr, "where applications would connect"},
        {"clients", ARG_STR, &n, "client count to report"},
        {"report-interval-ms", ARG_STR, &interval, "heartbeat (5000)"},
        {"seconds", ARG_STR, &seconds, "run this long (0: until SIGTERM)"},
        {"report-only", ARG_FLAG, &report_only, "send one report and exit"},
        {"applied", ARG_STR, &applied, "--report-only: the applied version"},
        {"repeat", ARG_STR, &repeat, "--report-only: this many routers, ID-1 to ID-N"},
        {"set", ARG_STR, &set, "change the rules to this mode (1-3) and exit"},
        {"source", ARG_STR, &src, "--set: the source's host:port"},
        {"destination", ARG_STR, &dst, "--set: the destination's host:port"},
        {"detached", ARG_FLAG, &detached, "--set: the workflow is detached"},
        {"status-listen", ARG_STR, &status_listen, "serve router.v1.Router/GetStatus here"},
    };
    sbuf err = SBUF_INIT;
    size_t got;
    if (args_parse(argc, argv, opts, sizeof opts / sizeof opts[0], NULL, 0, &got, &err) != 0 || !cp) {
        fprintf(stderr, "rules_follow: %s\n", err.len ? err.buf : "--control-plane is needed");
        sbuf_free(&err);
        return 2;
    }
    signal(SIGPIPE, SIG_IGN);
    if (report_only)
        return report_once(cp, wf, id, addr, applied, (uint32_t)atoi(n), atoi(repeat));
    if (set)
        return set_rules(cp, wf, set, src, dst, detached);

    follower f = {.clients = (uint32_t)atoi(n), .id = *id ? id : addr, .address = addr};
    f.started_mono_ms = clock_mono_ms();
    strncpy(f.applied.workflow, wf, sizeof f.applied.workflow - 1);
    uv_loop_init(&f.loop);
    rules_watch_opts o = {.control_plane = cp,
                          .workflow = wf,
                          .router_id = id,
                          .address = addr,
                          .report_interval_ms = (unsigned)atoi(interval),
                          .clients = clients,
                          .on_state = on_state};
    f.watch = rules_watch_start(&f.loop, &o, on_rules, &f, &err);
    if (!f.watch) {
        fprintf(stderr, "rules_follow: %s\n", err.buf);
        sbuf_free(&err);
        uv_loop_close(&f.loop);
        return 2;
    }
    router_status_service svc = {status_fill, &f};
    if (status_listen) {
        f.status = rpc_server_new(&f.loop, &svc);
        if (rpc_server_listen(f.status, status_listen, NULL, router_status_methods, router_status_nmethods,
                              &err) != 0 ||
            rpc_server_start(f.status, &err) != 0) {
            fprintf(stderr, "rules_follow: %s\n", err.buf);
            return 2;
        }
    }
    uv_signal_init(&f.loop, &f.sigterm);
    uv_signal_init(&f.loop, &f.sigint);
    uv_signal_init(&f.loop, &f.sigusr1);
    uv_timer_init(&f.loop, &f.deadline);
    f.sigterm.data = f.sigint.data = f.sigusr1.data = f.deadline.data = &f;
    uv_signal_start(&f.sigterm, on_signal, SIGTERM);
    uv_signal_start(&f.sigint, on_signal, SIGINT);
    uv_signal_start(&f.sigusr1, on_signal, SIGUSR1);
    if (atoi(seconds) > 0)
        uv_timer_start(&f.deadline, on_deadline, (uint64_t)atoi(seconds) * 1000, 0);
    uv_run(&f.loop, UV_RUN_DEFAULT);
    uv_loop_close(&f.loop);
    sbuf_free(&err);
    return 0;
}
