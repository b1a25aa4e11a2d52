/* router_metrics: what tablet-router tells Prometheus (GET /metrics on
 * --metrics-listen), gathered when a scrape asks.
 *
 * The numbers are the ones the status API reports: the router_status its
 * GetStatus is built from (filled by the router on the loop) and the
 * sessions' counters (session_stats). Nothing is counted here. README,
 * "Operations: metrics", lists every name. */
#ifndef ROUTER_METRICS_H
#define ROUTER_METRICS_H

#include "lib/sbuf.h"
#include "router/router_status.h"
#include "router/session.h"

/* Loop thread: the whole exposition text for the router. */
void router_metrics_render(const router_status *st, const session_stats *stats, const hold_stats *holds, sbuf *out);

#endif
