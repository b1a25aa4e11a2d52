/* metrics: what tablet-agent tells Prometheus (GET /metrics on
 * --metrics-listen), gathered when a scrape asks.
 *
 * Every number already lives somewhere: the monitor's last probe, the
 * status snapshots of streams and workflows (the ones GetStatus reads),
 * the RPC server's per-method counts. This module only reads them, on the
 * loop thread, and writes them out with lib/prom; nothing is counted on a
 * timer and nothing is kept here between scrapes. README, "Operations:
 * metrics", lists every name. */
#ifndef METRICS_H
#define METRICS_H

#include "agent.h"
#include "lib/sbuf.h"

/* Loop thread: the whole exposition text for the agent. */
void metrics_render(agent *a, sbuf *out);

#endif
