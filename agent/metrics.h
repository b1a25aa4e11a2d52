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
#include "workflow/workflows.h"

typedef struct stream_row {
    const char *name;
    stream_status st;
} stream_row;

typedef struct wf_row {
    const char *name;
    wf_status st;
    wf_vdiff_report vdiff;
    wf_cutover_stats cut;
} wf_row;

/* Every stream and workflow at one moment, as GetStatus sees them: the
 * agent's own streams (StartStream), then the one each workflow runs,
 * under the stream's own name. The status page reads the same snapshot. */
typedef struct metrics_snap {
    stream_row *streams;
    size_t nstreams;
    size_t nown; /* the first nown are the agent's own streams' snapshots */
    wf_row *wfs;
    size_t nwfs;
} metrics_snap;

/* Loop thread: take the snapshot; release frees it. */
void metrics_snap_take(agent *a, metrics_snap *s);
void metrics_snap_release(metrics_snap *s);

/* Loop thread: the whole exposition text for the agent. */
void metrics_render(agent *a, sbuf *out);

#endif
