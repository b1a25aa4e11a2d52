/* render_router: views of routers for the terminal.
 *
 * `cpctl routing NAME` ends with the routers that reported for the
 * workflow, one line each, under a summary that answers the question an
 * operator has after a change: has it reached every router? A router
 * behind the current version, or silent for over a minute (it may be
 * gone, or cut off from the control plane and serving older rules), is
 * named as such.
 *
 * `cpctl router status` shows one router's own view (router.v1.Router/
 * GetStatus): per workflow the rules it serves and whether it hears the
 * control plane (a problem on its own line), then its backends and where
 * its statements went.
 *
 * Router ids, addresses and error texts come from the network: shown
 * escaped (sbuf_add_printable) and bounded, columns padded by display
 * width. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "controlplane/v1/routing.pb-c.h"
#include "cpctl.h"
#include "router/v1/router.pb-c.h"

#define SILENT_SECONDS 60
#define CELL_MAX 64 /* input bytes shown of an id or address */

typedef enum { R_ON, R_BEHIND, R_AHEAD, R_SILENT } router_standing;

static router_standing standing(const Controlplane__V1__RouterInfo *ri, uint64_t current)
{
    if (ri->seconds_since_report > SILENT_SECONDS)
        return R_SILENT;
    return ri->applied_version < current ? R_BEHIND : ri->applied_version > current ? R_AHEAD : R_ON;
}

static void printable(sbuf *out, const char *s)
{
    sbuf_add_printable(out, s, strlen(s), CELL_MAX);
}

void render_routers(const ProtobufCMessage *msg, sbuf *out)
{
    const Controlplane__V1__RoutingRules *r = (const void *)msg;
    if (!r->n_routers) {
        sbuf_adds(out, "routers: none reported\n");
        return;
    }
    size_t count[4] = {0};
    sbuf *cells = xcalloc(r->n_routers * 3, sizeof *cells);
    size_t width[3] = {0};
    for (size_t i = 0; i < r->n_routers; i++) {
        const Controlplane__V1__RouterInfo *ri = r->routers[i];
        router_standing st = standing(ri, r->version);
        count[st]++;
        sbuf *c = &cells[i * 3];
        printable(&c[0], ri->router_id);
        printable(&c[1], *ri->address ? ri->address : "-");
        sbuf_addf(&c[2], "v%llu%s", (unsigned long long)ri->applied_version,
                  ri->applied_version < r->version ? " (behind)" : ri->applied_version > r->version ? " (ahead)" : "");
        for (int k = 0; k < 3; k++) {
            size_t w = render_width(c[k].buf, c[k].len);
            width[k] = w > width[k] ? w : width[k];
        }
    }
    sbuf_addf(out, "routers: %zu (", r->n_routers);
    if (count[R_ON] == r->n_routers) {
        sbuf_addf(out, "all on v%llu", (unsigned long long)r->version);
    } else {
        static const char *const what[] = {"on", "behind", "ahead of"};
        const char *sep = "";
        for (int k = R_ON; k <= R_SILENT; k++) {
            if (!count[k])
                continue;
            sbuf_addf(out, "%s%zu ", sep, count[k]);
            if (k == R_SILENT)
                sbuf_adds(out, "silent for over a minute");
            else
                sbuf_addf(out, "%s v%llu", what[k], (unsigned long long)r->version);
            sep = ", ";
        }
    }
    sbuf_adds(out, ")\n");
    for (size_t i = 0; i < r->n_routers; i++) {
        const Controlplane__V1__RouterInfo *ri = r->routers[i];
        sbuf_adds(out, "  ");
        for (int k = 0; k < 3; k++) {
            render_pad(out, cells[i * 3 + k].buf, width[k]);
            sbuf_adds(out, "  ");
            sbuf_free(&cells[i * 3 + k]);
        }
        sbuf_addf(out, "%u client%s  seen ", ri->clients, ri->clients == 1 ? "" : "s");
        sbuf_add_duration(out, (int64_t)ri->seconds_since_report);
        sbuf_adds(out, standing(ri, r->version) == R_SILENT ? " ago (silent)\n" : " ago\n");
    }
    free(cells);
}

/* ---- one router's status ------------------------------------------------------------------ */

static const char *mode_name(int mode)
{
    const ProtobufCEnumValue *v = protobuf_c_enum_descriptor_get_value(&controlplane__v1__mode__descriptor, mode);
    return v && mode ? v->name + strlen("MODE_") : "NONE";
}

/* "destination (10.0.0.2:3306)": a side and its address. */
static void render_side(const char *side, const Router__V1__WorkflowRoute *r, sbuf *out)
{
    const char *addr = !strcmp(side, "destination") ? r->destination : r->source;
    sbuf_adds(out, *side ? side : "-");
    sbuf_adds(out, " (");
    printable(out, *addr ? addr : "-");
    sbuf_addc(out, ')');
}

static void render_route(const Router__V1__WorkflowRoute *r, sbuf *out)
{
    sbuf_adds(out, "Workflow   ");
    printable(out, r->workflow);
    if (!r->rules_version) {
        sbuf_adds(out, "  no rules yet: nothing to route\n");
    } else {
        sbuf_addf(out, "  rules v%llu  mode %s%s  reads -> ", (unsigned long long)r->rules_version,
                  mode_name(r->mode), r->detached ? " (detached)" : "");
        render_side(r->reads, r, out);
        sbuf_adds(out, "  writes -> ");
        render_side(r->writes, r, out);
        sbuf_addc(out, '\n');
    }
    sbuf_addf(out, "           control plane %s for ", r->control_plane_connected ? "connected" : "DISCONNECTED");
    sbuf_add_duration(out, (int64_t)r->control_plane_since_seconds);
    if (r->rules_version) {
        sbuf_adds(out, "; rules received ");
        sbuf_add_duration(out, (int64_t)r->rules_age_seconds);
        sbuf_adds(out, " ago");
    }
    sbuf_addc(out, '\n');
    if (*r->control_plane_error) {
        sbuf_adds(out, "Problem    ");
        sbuf_add_printable(out, r->control_plane_error, strlen(r->control_plane_error), 1024);
        sbuf_addc(out, '\n');
    }
    if (*r->report_error) {
        sbuf_adds(out, "Problem    the control plane did not take this router's report: ");
        sbuf_add_printable(out, r->report_error, strlen(r->report_error), 512);
        sbuf_addc(out, '\n');
    }
}

void render_router_status(const ProtobufCMessage *msg, const char *addr, sbuf *out)
{
    const Router__V1__RouterStatus *st = (const void *)msg;
    sbuf_adds(out, "Router     ");
    printable(out, st->router_id);
    sbuf_addf(out, "  at %s  tablet-router ", addr);
    printable(out, st->version);
    sbuf_adds(out, "  up ");
    sbuf_add_duration(out, st->uptime_seconds);
    sbuf_adds(out, "\nClients    ");
    render_count(st->client_connections, out);
    sbuf_adds(out, " connected to ");
    printable(out, *st->listen ? st->listen : "-");
    sbuf_addc(out, '\n');
    if (!st->n_workflows)
        sbuf_adds(out, "Workflow   none: the router follows no workflow\n");
    for (size_t i = 0; i < st->n_workflows; i++)
        render_route(st->workflows[i], out);

    size_t wside = 0, waddr = 0;
    sbuf *cells = xcalloc(st->n_backends * 2 + 1, sizeof *cells);
    for (size_t i = 0; i < st->n_backends; i++) {
        printable(&cells[2 * i], st->backends[i]->side);
        printable(&cells[2 * i + 1], st->backends[i]->address);
        size_t a = render_width(cells[2 * i].buf, cells[2 * i].len);
        size_t b = render_width(cells[2 * i + 1].buf, cells[2 * i + 1].len);
        wside = a > wside ? a : wside;
        waddr = b > waddr ? b : waddr;
    }
    for (size_t i = 0; i < st->n_backends; i++) {
        const Router__V1__Backend *b = st->backends[i];
        sbuf_adds(out, "Backend    ");
        render_pad(out, sbuf_cstr(&cells[2 * i]), wside);
        sbuf_adds(out, "  ");
        render_pad(out, sbuf_cstr(&cells[2 * i + 1]), waddr);
        sbuf_addf(out, "  %-4s  ", b->up ? "up" : "DOWN");
        render_count(b->connections, out);
        sbuf_addf(out, " connection%s", b->connections == 1 ? "" : "s");
        if (*b->last_error) {
            sbuf_adds(out, "  last error: ");
            sbuf_add_printable(out, b->last_error, strlen(b->last_error), 512);
        }
        sbuf_addc(out, '\n');
        sbuf_free(&cells[2 * i]);
        sbuf_free(&cells[2 * i + 1]);
    }
    free(cells);

    sbuf_adds(out, "Statements ");
    render_count(st->statements_total, out);
    sbuf_adds(out, " in all: ");
    render_count(st->statements_source, out);
    sbuf_adds(out, " to the source, ");
    render_count(st->statements_destination, out);
    sbuf_adds(out, " to the destination; ");
    render_count(st->errors_total, out);
    sbuf_addf(out, " error%s\n", st->errors_total == 1 ? "" : "s");
    if (st->reads_after_writes_waited || st->reads_after_writes_to_source) {
        sbuf_adds(out, "Reads      after writes: ");
        render_count(st->reads_after_writes_waited, out);
        sbuf_addf(out, " waited (%.3f s in all), ", st->reads_after_writes_wait_seconds);
        render_count(st->reads_after_writes_waited_to_source, out);
        sbuf_adds(out, " of them then to the source; ");
        render_count(st->reads_after_writes_to_source, out);
        sbuf_adds(out, " to the source at once\n");
    }
}
