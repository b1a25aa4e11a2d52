/* router_metrics: tablet-router's Prometheus families. See router_metrics.h.
 *
 * A family with one unlabelled number is one line (metric_gauge,
 * metric_counter); a histogram kept in session_stats is one line too
 * (metric_histogram with its prom_hist and bounds). Sides are "source"
 * and "destination", statement kinds the classifier's ("select",
 * "insert", ... "other"), error kinds named below. */
#include "router/router_metrics.h"

#include "lib/prom.h"
#include "lib/version.h"

static void metric_gauge(prom_writer *w, const char *name, const char *help, double v)
{
    prom_family(w, name, PROM_GAUGE, help);
    prom_value(w, NULL, 0, v);
}

static void metric_counter(prom_writer *w, const char *name, const char *help, uint64_t v)
{
    prom_family(w, name, PROM_COUNTER, help);
    prom_count(w, NULL, 0, v);
}

static void metric_histogram(prom_writer *w, const char *name, const char *help, const prom_buckets *b,
                             const prom_hist *h)
{
    prom_family(w, name, PROM_HISTOGRAM, help);
    prom_histogram(w, NULL, 0, b, h);
}

/* The router's own errors (session_stats.errors_by_kind) as label values. */
static const char *const error_kinds[SESSION_ERR_KINDS] = {
    [WERR_ACCESS_DENIED] = "access_denied",        [WERR_BAD_HANDSHAKE] = "bad_handshake",
    [WERR_UNKNOWN_COM] = "unknown_command",        [WERR_PACKET_TOO_BIG] = "packet_too_big",
    [WERR_OUT_OF_ORDER] = "out_of_order",          [WERR_UNKNOWN_STMT] = "unknown_statement",
    [WERR_NO_BACKEND] = "no_backend",              [WERR_LOST_BACKEND] = "lost_backend",
    [WERR_ROUTER] = "no_route",                    [WERR_TOO_MANY] = "too_many_connections",
    [WERR_HELD] = "held_too_long",                 [WERR_TXN_ROLLED_BACK] = "rolled_back_at_switch",
    [SESSION_ERR_SERVER] = "server",
};

static void statement_families(prom_writer *w, const router_status *st, const session_stats *stats)
{
    prom_family(w, "tablet_router_statements_total", PROM_COUNTER,
                "Client commands sent to a side, by the classifier's kind of statement (select, insert, update, "
                "delete, ddl, txn, set, show, other; prepared statements by their text, other commands other).");
    for (int sd = 0; sd < SIDES; sd++)
        for (classify_kind k = CLASSIFY_KIND_SELECT; k <= CLASSIFY_KIND_OTHER; k++)
            prom_count(w, PROM_LABELS({"side", side_name((side)sd)}, {"kind", classify_kind_name(k)}),
                       stats->statements_by_kind[sd][k]);
    prom_family(w, "tablet_router_errors_total", PROM_COUNTER,
                "Errors the router answered itself, by kind: no_route (no rules yet), no_backend, lost_backend, "
                "access_denied, too_many_connections, server (a server's refusal passed on), protocol kinds.");
    for (int k = 0; k < SESSION_ERR_KINDS; k++)
        prom_count(w, PROM_LABELS({"kind", error_kinds[k]}), stats->errors_by_kind[k]);
    prom_family(w, "tablet_router_backend_up", PROM_GAUGE,
                "1 while the router's last look at a server (its greeting) succeeded, else 0.");
    for (size_t i = 0; i < st->n_backends; i++)
        prom_value(w, PROM_LABELS({"side", st->backends[i].side}), st->backends[i].up);
}

static void rules_families(prom_writer *w, const router_status *st)
{
    prom_family(w, "tablet_router_rules_version", PROM_GAUGE,
                "The version of the routing rules the router applies (0: none yet).");
    for (size_t i = 0; i < st->n_routes; i++)
        if (st->routes[i].rules)
            prom_count(w, PROM_LABELS({"workflow", st->routes[i].rules->workflow}), st->routes[i].rules->version);
    prom_family(w, "tablet_router_control_plane_up", PROM_GAUGE,
                "1 while the router's rules stream from the control plane is open, else 0 (absent with fixed rules).");
    for (size_t i = 0; i < st->n_routes; i++)
        if (st->routes[i].rules && st->routes[i].watch)
            prom_value(w, PROM_LABELS({"workflow", st->routes[i].rules->workflow}), st->routes[i].watch->connected);
}

static void hold_families(prom_writer *w, const hold_stats *hs)
{
    metric_gauge(w, "tablet_router_held_statements",
                 "Statements (and logins) waiting now for a switch to release them.", hs->held);
    prom_family(w, "tablet_router_held_statements_total", PROM_COUNTER,
                "Statements (and logins) that waited for a switch, by how it ended: released (they ran), expired "
                "(waited hold-statement-wait-ms or found the queue full: error 1205).");
    prom_count(w, PROM_LABELS({"outcome", "released"}), hs->released_total);
    prom_count(w, PROM_LABELS({"outcome", "expired"}), hs->expired_total);
    metric_histogram(w, "tablet_router_hold_seconds", "How long each hold lasted, from the rules that began it to "
                     "their release (or to hold-max-ms).", &hold_seconds_buckets, &hs->seconds);
}

void router_metrics_render(const router_status *st, const session_stats *stats, const hold_stats *holds, sbuf *out)
{
    prom_writer w;
    prom_begin(&w, out);
    prom_family(&w, "tablet_router_build_info", PROM_GAUGE, "Always 1; the router's version as a label.");
    prom_value(&w, PROM_LABELS({"version", TABLET_AGENT_VERSION}), 1);
    metric_gauge(&w, "tablet_router_client_connections", "Open client connections.", st->client_connections);
    metric_counter(&w, "tablet_router_client_connections_total", "Client connections accepted.",
                   stats->connections_total);
    statement_families(&w, st, stats);
    rules_families(&w, st);
    hold_families(&w, holds);
}
