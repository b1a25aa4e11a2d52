/* cmd_cutover: the lifecycle after the copy, driven like an orchestrator
 * would: the agent acts, and only when it reports success does the control
 * plane change the routing rules.
 *
 *   cpctl validate NAME      reads -> destination (writes stay on the source)
 *   cpctl switch NAME        hold the routers, SwitchTraffic, then reads+writes -> destination
 *   cpctl reverse NAME       hold the routers, ReverseTraffic, then everything -> source
 *   cpctl detach NAME        Detach, writes stay on the side that has them
 *   cpctl routing NAME [--watch]   the rules, then the routers that apply them
 *
 * A switch or reverse goes through the routers that report for the
 * workflow: first rules with hold (same mode), so that each router stops
 * sending new work to the write side and says when nothing of its own is
 * open there; then the agent fences and switches; then the new rules
 * release what the routers held, to the new write side (to the old one if
 * the switch failed). A router that does not say it holds in time does not
 * stop the switch: the fence keeps the data safe, and the output names it.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "args.h"
#include "controlplane/v1/routing.pb-c.h"
#include "cpctl.h"
#include "lib/clock.h"
#include "pbjson.h"
#include "tabletagent/v1/tabletagent.pb-c.h"

#define AGENT(m) "/tabletagent.v1.TabletAgent/" m
#define ROUTING(m) "/controlplane.v1.Routing/" m

rpc_client *cp_control(cp_ctx *ctx)
{
    if (ctx->control)
        return ctx->control;
    sbuf err = SBUF_INIT;
    ctx->control = rpc_client_open(ctx->control_addr, NULL, &err);
    if (!ctx->control)
        fprintf(stderr, "cpctl: %s\n", err.buf);
    sbuf_free(&err);
    return ctx->control;
}

static int routing_get_quiet(cp_ctx *ctx, const char *wf, Controlplane__V1__RoutingRules **out, bool quiet)
{
    rpc_client *c = cp_control(ctx);
    if (!c)
        return EXIT_UNREACHABLE;
    Controlplane__V1__GetRoutingRequest req = CONTROLPLANE__V1__GET_ROUTING_REQUEST__INIT;
    req.workflow = (char *)wf;
    sbuf err = SBUF_INIT;
    ProtobufCMessage *resp;
    grpc_status_code st = rpc_client_unary(c, ROUTING("GetRouting"), &req.base,
                                           &controlplane__v1__routing_rules__descriptor, &resp, ctx->timeout_ms, &err);
    int rc = EXIT_OK;
    if (st != GRPC_STATUS_OK) {
        if (!quiet)
            fprintf(stderr, "cpctl: the control plane at %s did not answer (%s); start it with: cpctl serve\n",
                    ctx->control_addr, err.buf);
        rc = EXIT_UNREACHABLE;
    } else {
        *out = (void *)resp;
    }
    sbuf_free(&err);
    return rc;
}

static int routing_get(cp_ctx *ctx, const char *wf, Controlplane__V1__RoutingRules **out)
{
    return routing_get_quiet(ctx, wf, out, false);
}

static const char *mode_name(int mode)
{
    const ProtobufCEnumValue *v = protobuf_c_enum_descriptor_get_value(&controlplane__v1__mode__descriptor, mode);
    return v ? v->name + strlen("MODE_") : "NONE";
}

static void print_rules(const cp_ctx *ctx, const Controlplane__V1__RoutingRules *r)
{
    if (ctx->json) {
        cp_print_json(&r->base);
        return;
    }
    printf("Routing    %s  version %llu  mode %s%s%s  reads -> %s (%s)  writes -> %s (%s)\n", r->workflow,
           (unsigned long long)r->version, mode_name(r->mode), r->detached ? " (detached)" : "",
           r->hold ? " (hold)" : "", *r->reads ? r->reads : "source", !strcmp(r->reads, "destination") ? r->destination : r->source,
           *r->writes ? r->writes : "source", !strcmp(r->writes, "destination") ? r->destination : r->source);
}

static bool same_or_keep(const char *want, const char *have)
{
    return !want || !*want || strcmp(want, have) == 0;
}

/* Change the routing, compare-and-set on the version read before. The
 * control plane also reconciles rules with the agent's workflow states by
 * itself (cpctl serve), so a change may already be in: then nothing is
 * sent, and a version that moved under us is read again. */
int cp_routing_set(cp_ctx *ctx, const char *wf, int mode, const char *source, const char *dest, bool detached,
                   bool hold, uint64_t *version)
{
    int rc = EXIT_FAILED;
    for (int attempt = 0; attempt < 3; attempt++) {
        Controlplane__V1__RoutingRules *cur = NULL;
        if ((rc = routing_get(ctx, wf, &cur)) != EXIT_OK)
            return rc;
        if (cur->version && (int)cur->mode == mode && cur->detached == detached && cur->hold == hold &&
            same_or_keep(source, cur->source) && same_or_keep(dest, cur->destination)) {
            if (!ctx->json)
                print_rules(ctx, cur);
            if (version)
                *version = cur->version;
            protobuf_c_message_free_unpacked(&cur->base, NULL);
            return EXIT_OK;
        }
        Controlplane__V1__SetRoutingRequest req = CONTROLPLANE__V1__SET_ROUTING_REQUEST__INIT;
        req.workflow = (char *)wf;
        req.mode = mode;
        req.expected_version = cur->version;
        req.source = (char *)(source ? source : "");
        req.destination = (char *)(dest ? dest : "");
        req.detached = detached;
        req.hold = hold;
        ProtobufCMessage *resp;
        sbuf err = SBUF_INIT;
        grpc_status_code st = rpc_client_unary(cp_control(ctx), ROUTING("SetRouting"), &req.base,
                                               &controlplane__v1__routing_rules__descriptor, &resp, ctx->timeout_ms,
                                               &err);
        protobuf_c_message_free_unpacked(&cur->base, NULL);
        if (st == GRPC_STATUS_ABORTED && attempt < 2) {
            sbuf_free(&err);
            continue;
        }
        if (st != GRPC_STATUS_OK) {
            rc = cp_report_failure(ctx, "routing change", st, err.buf);
        } else {
            rc = EXIT_OK;
            if (version)
                *version = ((const Controlplane__V1__RoutingRules *)(const void *)resp)->version;
            if (!ctx->json)
                print_rules(ctx, (const void *)resp);
            protobuf_c_message_free_unpacked(resp, NULL);
        }
        sbuf_free(&err);
        break;
    }
    return rc;
}

/* host:port of the agent's source and of the workflow's destination.
 * quiet: a failure is not reported (the caller expects some). */
static int sides_of(cp_ctx *ctx, const char *wf, sbuf *source, sbuf *dest, Tabletagent__V1__Workflow **out,
                    bool quiet)
{
    ProtobufCMessage *st_resp, *wf_resp;
    sbuf err = SBUF_INIT;
    Tabletagent__V1__GetStatusRequest sreq = TABLETAGENT__V1__GET_STATUS_REQUEST__INIT;
    Tabletagent__V1__GetWorkflowRequest wreq = TABLETAGENT__V1__GET_WORKFLOW_REQUEST__INIT;
    wreq.name = (char *)wf;
    rpc_client *a = cp_agent(ctx);
    if (!a)
        return EXIT_UNREACHABLE;
    grpc_status_code st = rpc_client_unary(a, AGENT("GetStatus"), &sreq.base, &tabletagent__v1__agent_status__descriptor,
                                           &st_resp, ctx->timeout_ms, &err);
    if (st == GRPC_STATUS_OK)
        st = rpc_client_unary(a, AGENT("GetWorkflow"), &wreq.base, &tabletagent__v1__workflow__descriptor, &wf_resp,
                              ctx->timeout_ms, &err);
    if (st != GRPC_STATUS_OK) {
        int rc = quiet ? EXIT_FAILED : cp_report_failure(ctx, "reading the workflow", st, err.buf);
        sbuf_free(&err);
        return rc;
    }
    const Tabletagent__V1__AgentStatus *as = (const void *)st_resp;
    const Tabletagent__V1__Workflow *w = (const void *)wf_resp;
    sbuf_adds(source, as->source ? as->source->address : "");
    const char *at = strrchr(w->destination, '@');
    sbuf_adds(dest, at ? at + 1 : w->destination);
    protobuf_c_message_free_unpacked(st_resp, NULL);
    *out = (void *)wf_resp;
    sbuf_free(&err);
    return EXIT_OK;
}

static int sides(cp_ctx *ctx, const char *wf, sbuf *source, sbuf *dest, Tabletagent__V1__Workflow **out)
{
    return sides_of(ctx, wf, source, dest, out, false);
}

int cp_routing_register(cp_ctx *ctx, const char *wf)
{
    Controlplane__V1__RoutingRules *cur = NULL;
    if (routing_get_quiet(ctx, wf, &cur, true) != EXIT_OK) {
        fprintf(stderr, "cpctl: note: no control plane at %s, so no routing rules for %s (start one with: cpctl "
                        "serve)\n", ctx->control_addr, wf);
        return EXIT_OK;
    }
    bool known = cur->version != 0;
    protobuf_c_message_free_unpacked(&cur->base, NULL);
    if (known)
        return EXIT_OK;
    sbuf src = SBUF_INIT, dst = SBUF_INIT;
    Tabletagent__V1__Workflow *w = NULL;
    int rc = sides(ctx, wf, &src, &dst, &w);
    if (rc == EXIT_OK) {
        protobuf_c_message_free_unpacked(&w->base, NULL);
        rc = cp_routing_set(ctx, wf, CONTROLPLANE__V1__MODE__MODE_SOURCE, src.buf, dst.buf, false, false, NULL);
    }
    sbuf_free(&src);
    sbuf_free(&dst);
    return rc;
}

static int cmd_validate(cp_ctx *ctx, const char *name, double max_lag)
{
    sbuf src = SBUF_INIT, dst = SBUF_INIT;
    Tabletagent__V1__Workflow *w = NULL;
    int rc = sides(ctx, name, &src, &dst, &w);
    if (rc == EXIT_OK) {
        double lag = w->stream ? w->stream->lag_seconds : -1;
        if (w->state != TABLETAGENT__V1__WORKFLOW_STATE__WORKFLOW_REPLICATING || lag < 0 || lag > max_lag) {
            fprintf(stderr, "cpctl: validate: workflow %s is not ready (state %d, lag %.0f s); reads stay on the "
                            "source\n", name, w->state, lag);
            rc = EXIT_FAILED;
        } else {
            rc = cp_routing_set(ctx, name, CONTROLPLANE__V1__MODE__MODE_VALIDATE, src.buf, dst.buf, false, false, NULL);
        }
        protobuf_c_message_free_unpacked(&w->base, NULL);
    }
    sbuf_free(&src);
    sbuf_free(&dst);
    return rc;
}

/* The routers that did not say they hold: names for people (", "
 * between) and for --json (the elements of an array). */
typedef struct late_routers {
    sbuf text, json;
} late_routers;

/* JSON: the agent's response with what cpctl adds, hold_ms (-1: no
 * router held) and routers_not_holding (the routers that did not say they
 * held in time). */
static void print_cutover(const cp_ctx *ctx, const char *what, const Tabletagent__V1__CutoverResponse *r,
                          int64_t hold_ms, const late_routers *late)
{
    if (ctx->json) {
        sbuf out = SBUF_INIT;
        pbjson_write(&r->base, &out);
        sbuf_setlen(&out, out.len - 1); /* the object's closing brace */
        sbuf_addf(&out, ",\"hold_ms\":%lld,\"routers_not_holding\":[%s]}\n", (long long)hold_ms,
                  sbuf_cstr(&late->json));
        fputs(out.buf, stdout);
        fflush(stdout);
        sbuf_free(&out);
        return;
    }
    printf("%s done in %u ms: source at %s, destination at %s\n", what, r->total_ms,
           r->source_position ? r->source_position->gtid : "-", r->destination_position ? r->destination_position->gtid : "-");
    for (size_t i = 0; i < r->n_steps; i++)
        printf("  %-20s %6u ms\n", r->steps[i]->name, r->steps[i]->duration_ms);
    if (hold_ms >= 0)
        printf("  %-20s %6lld ms   (routers held writes: from hold to release)\n", "hold", (long long)hold_ms);
    if (*r->fenced_accounts)
        printf("  fenced accounts: %s\n", r->fenced_accounts);
}

#define ROUTER_LIVE_S 15.0 /* three missed heartbeats: not on the critical path */
#define HOLD_POLL_MS 5

/* The routers that reported lately, and of those the ones that do not
 * hold at version v yet (into late). */
static size_t routers_not_holding(const Controlplane__V1__RoutingRules *r, uint64_t v, size_t *live, late_routers *late)
{
    size_t n = 0;
    *live = 0;
    sbuf_reset(&late->text);
    sbuf_reset(&late->json);
    for (size_t i = 0; i < r->n_routers; i++) {
        const Controlplane__V1__RouterInfo *x = r->routers[i];
        if (x->seconds_since_report > ROUTER_LIVE_S)
            continue;
        (*live)++;
        if (v && x->holding_version >= v)
            continue;
        if (n++) {
            sbuf_adds(&late->text, ", ");
            sbuf_addc(&late->json, ',');
        }
        sbuf_add_printable(&late->text, x->router_id, strlen(x->router_id), 200);
        pbjson_add_string(&late->json, x->router_id, strlen(x->router_id));
    }
    return n;
}

/* Hold the workflow's routers and wait until each says it holds, at most
 * wait_ms. The rules version of the hold, or 0 when nothing was held (no
 * control plane, no rules, no router reporting); late: the routers that
 * did not say they hold in time. */
static uint64_t hold_routers(cp_ctx *ctx, const char *name, unsigned wait_ms, int *mode, late_routers *late)
{
    Controlplane__V1__RoutingRules *cur = NULL;
    if (routing_get_quiet(ctx, name, &cur, true) != EXIT_OK) {
        fprintf(stderr, "cpctl: note: no control plane at %s: no routers are held\n", ctx->control_addr);
        return 0;
    }
    size_t live = 0;
    routers_not_holding(cur, 0, &live, late);
    uint64_t v = 0;
    *mode = cur->mode;
    bool rules = cur->version != 0;
    protobuf_c_message_free_unpacked(&cur->base, NULL);
    int64_t t0 = clock_mono_ms();
    if (!rules || !live || cp_routing_set(ctx, name, *mode, NULL, NULL, false, true, &v) != EXIT_OK) {
        sbuf_reset(&late->text);
        sbuf_reset(&late->json);
        return 0;
    }
    size_t waiting = live;
    for (;;) {
        if (routing_get_quiet(ctx, name, &cur, true) == EXIT_OK) {
            waiting = routers_not_holding(cur, v, &live, late);
            protobuf_c_message_free_unpacked(&cur->base, NULL);
        }
        if (!waiting || clock_mono_ms() - t0 >= wait_ms || (ctx->interrupted && *ctx->interrupted))
            break;
        clock_sleep_ms(HOLD_POLL_MS);
    }
    if (waiting && !ctx->json)
        printf("Routers    %zu of %zu holding after %lld ms; not holding: %s (switching anyway: the fence keeps the "
               "data safe, but their clients may see errors)\n",
               live - waiting, live, (long long)(clock_mono_ms() - t0), late->text.buf);
    else if (!ctx->json)
        printf("Routers    all %zu holding after %lld ms\n", live, (long long)(clock_mono_ms() - t0));
    return v;
}

#define SETTLE_MS 15000 /* under the routers' hold-max-ms (20 s) */

/* The agent did not answer a switch (killed, restarted): whether it
 * happened is unknown until the agent, back, finishes or undoes it from
 * its journal. The routers keep holding meanwhile; the mode to release
 * them to is the one the settled workflow says, or -1. */
static int settled_mode(cp_ctx *ctx, const char *name, int old_mode)
{
    fprintf(stderr, "cpctl: the agent did not answer; whether the switch happened is unknown, so the routers keep "
                    "holding until the workflow settles (at most %d s)\n", SETTLE_MS / 1000);
    int64_t t0 = clock_mono_ms();
    while (clock_mono_ms() - t0 < SETTLE_MS && !(ctx->interrupted && *ctx->interrupted)) {
        sbuf src = SBUF_INIT, dst = SBUF_INIT;
        Tabletagent__V1__Workflow *w = NULL;
        /* A new channel for each look: the old one, which saw the agent
         * die, waits out gRPC's reconnect backoff (seconds) before it
         * tries again, and the routers hold meanwhile. */
        rpc_client_close(ctx->client);
        ctx->client = NULL;
        int rc = sides_of(ctx, name, &src, &dst, &w, true); /* an agent still starting fails */
        sbuf_free(&src);
        sbuf_free(&dst);
        if (rc == EXIT_OK) {
            int state = w->state;
            protobuf_c_message_free_unpacked(&w->base, NULL);
            if (state == TABLETAGENT__V1__WORKFLOW_STATE__WORKFLOW_PRIMARY)
                return CONTROLPLANE__V1__MODE__MODE_PRIMARY;
            if (state == TABLETAGENT__V1__WORKFLOW_STATE__WORKFLOW_REPLICATING)
                return old_mode == CONTROLPLANE__V1__MODE__MODE_PRIMARY ? CONTROLPLANE__V1__MODE__MODE_SOURCE : old_mode;
        }
        clock_sleep_ms(200);
    }
    return -1;
}

static int cutover(cp_ctx *ctx, const char *name, bool reverse, unsigned timeout_ms, double max_lag,
                   unsigned hold_wait_ms)
{
    rpc_client *a = cp_agent(ctx);
    if (!a)
        return EXIT_UNREACHABLE;
    int old_mode = 0;
    int64_t hold_t0 = clock_mono_ms();
    late_routers late = {SBUF_INIT, SBUF_INIT};
    uint64_t held = hold_routers(ctx, name, hold_wait_ms, &old_mode, &late);
    Tabletagent__V1__CutoverRequest req = TABLETAGENT__V1__CUTOVER_REQUEST__INIT;
    req.name = (char *)name;
    req.timeout_ms = timeout_ms;
    req.max_lag_seconds = max_lag;
    ProtobufCMessage *resp;
    sbuf err = SBUF_INIT;
    unsigned t = timeout_ms ? timeout_ms + 10000 : 45000;
    grpc_status_code st = rpc_client_unary(a, reverse ? AGENT("ReverseTraffic") : AGENT("SwitchTraffic"), &req.base,
                                           &tabletagent__v1__cutover_response__descriptor, &resp, t, &err);
    if (st != GRPC_STATUS_OK) {
        sbuf_free(&late.text);
        sbuf_free(&late.json);
        bool answered = rpc_client_last_answered();
        int rc = cp_report_failure(ctx, reverse ? "reverse" : "switch", st, err.buf);
        sbuf_free(&err);
        int mode = held && !answered ? settled_mode(ctx, name, old_mode) : -1;
        if (mode >= 0 && cp_routing_set(ctx, name, mode, NULL, NULL, false, false, NULL) == EXIT_OK) {
            fprintf(stderr, "cpctl: the workflow settled%s; the routers were released to it\n",
                    mode == old_mode ? " where it was" : " switched");
            return mode == old_mode ? rc : EXIT_OK;
        }
        if (held && cp_routing_set(ctx, name, old_mode, NULL, NULL, false, false, NULL) == EXIT_OK)
            fprintf(stderr, "cpctl: the routers were released to the side they used before\n");
        else
            fprintf(stderr, "cpctl: the routing rules were not changed\n");
        return rc;
    }
    sbuf_free(&err);
    sbuf src = SBUF_INIT, dst = SBUF_INIT;
    Tabletagent__V1__Workflow *w = NULL;
    int rc = sides(ctx, name, &src, &dst, &w);
    if (rc == EXIT_OK) {
        protobuf_c_message_free_unpacked(&w->base, NULL);
        rc = cp_routing_set(ctx, name, reverse ? CONTROLPLANE__V1__MODE__MODE_SOURCE : CONTROLPLANE__V1__MODE__MODE_PRIMARY,
                            src.buf, dst.buf, false, false, NULL);
    }
    print_cutover(ctx, reverse ? "reverse" : "switch", (const void *)resp, held ? clock_mono_ms() - hold_t0 : -1,
                  &late);
    protobuf_c_message_free_unpacked(resp, NULL);
    sbuf_free(&late.text);
    sbuf_free(&late.json);
    sbuf_free(&src);
    sbuf_free(&dst);
    return rc;
}

/* The agent decides which side keeps the writes (its journals know; the
 * rules may be stale); the rules follow what it reports. The control plane
 * being away does not stop a detach: the rules are then only a note. */
static int cmd_detach(cp_ctx *ctx, const char *name, bool force, const char *keep)
{
    rpc_client *a = cp_agent(ctx);
    if (!a)
        return EXIT_UNREACHABLE;
    Tabletagent__V1__DetachRequest req = TABLETAGENT__V1__DETACH_REQUEST__INIT;
    req.name = (char *)name;
    req.force = force;
    if (keep)
        req.primary = strcmp(keep, "destination") == 0 ? TABLETAGENT__V1__SIDE__SIDE_DESTINATION
                                                       : TABLETAGENT__V1__SIDE__SIDE_SOURCE;
    ProtobufCMessage *resp;
    sbuf err = SBUF_INIT;
    grpc_status_code st = rpc_client_unary(a, AGENT("Detach"), &req.base, &tabletagent__v1__detach_response__descriptor,
                                           &resp, ctx->timeout_ms, &err);
    if (st != GRPC_STATUS_OK) {
        int rc = cp_report_failure(ctx, "detach", st, err.buf);
        sbuf_free(&err);
        return rc;
    }
    sbuf_free(&err);
    const Tabletagent__V1__DetachResponse *d = (const void *)resp;
    if (ctx->json)
        cp_print_json(resp);
    else
        printf("detached %s: %s\n", d->name, d->message);
    int primary = d->primary;
    protobuf_c_message_free_unpacked(resp, NULL);
    Controlplane__V1__RoutingRules *cur = NULL;
    if (routing_get_quiet(ctx, name, &cur, true) != EXIT_OK) {
        fprintf(stderr, "cpctl: note: no control plane at %s, so no routing rules were changed\n", ctx->control_addr);
        return EXIT_OK;
    }
    bool known = cur->version != 0;
    int mode = primary == TABLETAGENT__V1__SIDE__SIDE_DESTINATION ? CONTROLPLANE__V1__MODE__MODE_PRIMARY
               : primary == TABLETAGENT__V1__SIDE__SIDE_SOURCE    ? CONTROLPLANE__V1__MODE__MODE_SOURCE
                                                                  : cur->mode;
    protobuf_c_message_free_unpacked(&cur->base, NULL);
    return known ? cp_routing_set(ctx, name, mode, NULL, NULL, true, false, NULL) : EXIT_OK;
}

static int watch_print(const ProtobufCMessage *m, void *data)
{
    print_rules(data, (const void *)m);
    fflush(stdout);
    return 0;
}

static int cmd_routing(cp_ctx *ctx, const char *name, bool watch, int hold)
{
    if (hold >= 0) { /* an operator's hold (maintenance) or release, in the current mode */
        Controlplane__V1__RoutingRules *cur = NULL;
        int rc = routing_get(ctx, name, &cur);
        if (rc != EXIT_OK)
            return rc;
        int mode = cur->mode;
        bool known = cur->version != 0, detached = cur->detached;
        protobuf_c_message_free_unpacked(&cur->base, NULL);
        if (!known) {
            fprintf(stderr, "cpctl: routing: workflow %s has no routing rules yet, so nothing to %s\n", name,
                    hold ? "hold" : "release");
            return EXIT_FAILED;
        }
        return cp_routing_set(ctx, name, mode, NULL, NULL, detached, hold, NULL);
    }
    if (watch) {
        rpc_client *c = cp_control(ctx);
        if (!c)
            return EXIT_UNREACHABLE;
        Controlplane__V1__GetRoutingRequest req = CONTROLPLANE__V1__GET_ROUTING_REQUEST__INIT;
        req.workflow = (char *)name;
        sbuf err = SBUF_INIT;
        grpc_status_code st = rpc_client_stream(c, ROUTING("WatchRouting"), &req.base,
                                                &controlplane__v1__routing_rules__descriptor, watch_print, ctx,
                                                ctx->interrupted, &err);
        int rc = st == GRPC_STATUS_OK ? EXIT_OK : cp_report_failure(ctx, "routing watch", st, err.buf);
        sbuf_free(&err);
        return rc;
    }
    Controlplane__V1__RoutingRules *r = NULL;
    int rc = routing_get(ctx, name, &r);
    if (rc == EXIT_OK) {
        print_rules(ctx, r);
        if (!ctx->json) {
            sbuf out = SBUF_INIT;
            render_routers(&r->base, &out);
            fputs(sbuf_cstr(&out), stdout);
            sbuf_free(&out);
        }
        protobuf_c_message_free_unpacked(&r->base, NULL);
    }
    return rc;
}

int cmd_lifecycle(cp_ctx *ctx, int argc, char **argv)
{
    const char *timeout = NULL, *max_lag = NULL, *keep = NULL, *hold_wait = NULL;
    bool watch = false, force = false, hold = false, release = false;
    arg_opt opts[] = {
        {"timeout-ms", ARG_STR, &timeout, "switch/reverse: the whole operation (30000)"},
        {"max-lag", ARG_STR, &max_lag, "refuse above this replication lag in seconds (10; validate: 5)"},
        {"hold-wait-ms", ARG_STR, &hold_wait, "switch/reverse: wait this long for the routers to hold (7000)"},
        {"watch", ARG_FLAG, &watch, "routing: print every change until interrupted"},
        {"hold", ARG_FLAG, &hold, "routing: routers hold new work for the write side (until --release)"},
        {"release", ARG_FLAG, &release, "routing: routers send what they hold to the write side"},
        {"force", ARG_FLAG, &force, "detach: the destination is gone for good; detach without it"},
        {"keep", ARG_STR, &keep, "detach: refuse unless the writes are on this side (source or destination)"},
    };
    const char *pos[1];
    sbuf synopsis = SBUF_INIT;
    sbuf_addf(&synopsis, "%s NAME [--timeout-ms N] [--max-lag S] [--hold-wait-ms N] [--force] [--keep SIDE] [--watch] "
                         "[--hold|--release]", argv[0]);
    int prc = args_command(argc, argv, opts, sizeof opts / sizeof opts[0], pos, 1, "a workflow NAME", synopsis.buf);
    sbuf_free(&synopsis);
    if (prc)
        return prc < 0 ? EXIT_USAGE : EXIT_OK;
    unsigned t = timeout ? (unsigned)strtoul(timeout, NULL, 10) : 0;
    double lag = max_lag ? atof(max_lag) : 0;
    if (strcmp(argv[0], "validate") == 0)
        return cmd_validate(ctx, pos[0], max_lag ? lag : 5);
    unsigned hw = hold_wait ? (unsigned)strtoul(hold_wait, NULL, 10) : 7000;
    if (strcmp(argv[0], "switch") == 0)
        return cutover(ctx, pos[0], false, t, lag, hw);
    if (strcmp(argv[0], "reverse") == 0)
        return cutover(ctx, pos[0], true, t, lag, hw);
    if (strcmp(argv[0], "detach") == 0) {
        if (keep && strcmp(keep, "source") != 0 && strcmp(keep, "destination") != 0) {
            fprintf(stderr, "cpctl: detach: --keep takes source or destination, not \"%s\"\n", keep);
            return EXIT_USAGE;
        }
        return cmd_detach(ctx, pos[0], force, keep);
    }
    if (hold && release) {
        fprintf(stderr, "cpctl: routing: --hold or --release, not both\n");
        return EXIT_USAGE;
    }
    return cmd_routing(ctx, pos[0], watch, hold ? 1 : release ? 0 : -1);
}
