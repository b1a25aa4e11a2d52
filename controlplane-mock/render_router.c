/* render_router: views of routers for the terminal.
 *
 * `cpctl routing NAME` ends with the routers that reported for the
 * workflow, one line each, under a summary that answers the question an
 * operator has after a change: has it reached every router? A router
 * behind the current version, or silent for over a minute (it may be
 * gone, or cut off from the control plane and serving older rules), is
 * named as such.
 *
 * Router ids, addresses and error texts come from the network: shown
 * escaped (sbuf_add_printable) and bounded, columns padded by display
 * width. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "controlplane/v1/routing.pb-c.h"
#include "cpctl.h"

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
