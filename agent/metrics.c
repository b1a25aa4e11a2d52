/* metrics: the agent's Prometheus families. See metrics.h.
 *
 * A scrape first takes one snapshot of everything (streams, workflows,
 * their VDiff and cutover counts) through the same calls GetStatus uses,
 * then writes family after family from it, so every family describes the
 * same moment and each lock is taken once. Streams are the agent's own
 * (StartStream) and the one each workflow runs, under the stream's own
 * name (NAME, or NAME.reverse after a switch).
 *
 * Label values come from names people chose (workflows, streams, tables):
 * lib/prom escapes them. No endpoint, user or password is ever a label. */
#include "metrics.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "lib/prom.h"
#include "rpc/rpc_server.h"
#include "workflow/streams.h"

void metrics_snap_take(agent *a, metrics_snap *s)
{
    size_t ns = a->streams ? streams_count(a->streams) : 0;
    size_t nw = a->workflows ? workflows_count(a->workflows) : 0;
    s->streams = xcalloc(ns + nw + 1, sizeof *s->streams);
    s->wfs = xcalloc(nw + 1, sizeof *s->wfs);
    s->nstreams = 0;
    for (size_t i = 0; i < ns; i++) {
        stream *st = streams_at(a->streams, i);
        stream_row *r = &s->streams[s->nstreams++];
        r->name = stream_get_config(st)->name;
        stream_status_get(st, &r->st);
    }
    s->nown = s->nstreams;
    s->nwfs = nw;
    for (size_t i = 0; i < nw; i++) {
        import_wf *wf = workflows_at(a->workflows, i);
        wf_row *r = &s->wfs[i];
        r->name = import_get_def(wf)->name;
        import_status(wf, &r->st);
        import_vdiff_report(wf, &r->vdiff);
        import_cutover_stats(wf, &r->cut);
        if (r->st.has_stream) { /* borrowed: freed with the workflow's status */
            stream_row *sr = &s->streams[s->nstreams++];
            sr->name = r->st.stream_name;
            sr->st = r->st.stream;
        }
    }
}

void metrics_snap_release(metrics_snap *s)
{
    for (size_t i = 0; i < s->nown; i++)
        stream_status_clear(&s->streams[i].st);
    for (size_t i = 0; i < s->nwfs; i++) {
        wf_status_clear(&s->wfs[i].st);
        wf_vdiff_report_clear(&s->wfs[i].vdiff);
    }
    free(s->streams);
    free(s->wfs);
}

/* ---- families ------------------------------------------------------------------------ */

static void source_families(prom_writer *w, agent *a)
{
    const probe_result *r = a->monitor ? monitor_last(a->monitor) : NULL;
    prom_family(w, "tablet_agent_source_up", PROM_GAUGE,
                "1 while the last probe of the source succeeded (it is reachable and answers), else 0.");
    prom_value(w, NULL, 0, a->monitor && monitor_serving(a->monitor) ? 1 : 0);
    prom_family(w, "tablet_agent_source_probe_seconds", PROM_GAUGE,
                "How long the last probe of the source took, failed ones included.");
    if (r)
        prom_value(w, NULL, 0, r->duration_ms / 1000.0);
    prom_family(w, "tablet_agent_binlog_retention_seconds", PROM_GAUGE,
                "How long the source keeps binary logs (binlog_expire_logs_seconds or expire_logs_days); "
                "+Inf when they never expire.");
    if (r && r->version)
        prom_value(w, NULL, 0, r->retention_s > 0 ? (double)r->retention_s : INFINITY);
}

static void table_label(sbuf *out, const wf_table_status *t)
{
    sbuf_reset(out);
    sbuf_addf(out, "%s.%s", t->schema, t->name);
}

static void copy_families(prom_writer *w, const metrics_snap *s)
{
    sbuf table = SBUF_INIT;
    prom_family(w, "tablet_agent_copy_rows_total", PROM_COUNTER,
                "Rows of a table copied (committed on the destination) by a workflow's copy.");
    for (size_t i = 0; i < s->nwfs; i++) {
        for (size_t j = 0; j < s->wfs[i].st.ntables; j++) {
            const wf_table_status *t = &s->wfs[i].st.tables[j];
            table_label(&table, t);
            prom_count(w, PROM_LABELS({"workflow", s->wfs[i].name}, {"table", table.buf}), t->rows_copied);
        }
    }
    prom_family(w, "tablet_agent_copy_rows_estimated", PROM_GAUGE,
                "Rows a table is expected to have (the source's estimate, or the rows copied once it is done).");
    for (size_t i = 0; i < s->nwfs; i++) {
        for (size_t j = 0; j < s->wfs[i].st.ntables; j++) {
            const wf_table_status *t = &s->wfs[i].st.tables[j];
            table_label(&table, t);
            prom_count(w, PROM_LABELS({"workflow", s->wfs[i].name}, {"table", table.buf}), t->rows_estimated);
        }
    }
    sbuf_free(&table);
    prom_family(w, "tablet_agent_copy_throttled_seconds_total", PROM_COUNTER,
                "Time a workflow's copy waited because the source was busy (reason threads_running: "
                "Threads_running above --throttle-threads-running), since the agent started.");
    for (size_t i = 0; i < s->nwfs; i++)
        prom_value(w, PROM_LABELS({"workflow", s->wfs[i].name}, {"reason", "threads_running"}),
                   s->wfs[i].st.throttled_ms / 1000.0);
}

static void workflow_families(prom_writer *w, const metrics_snap *s)
{
    prom_family(w, "tablet_agent_workflow_state", PROM_GAUGE,
                "1 for the state each workflow is in (COPYING, REPLICATING, PRIMARY, ERROR, ...), 0 for the others.");
    for (size_t i = 0; i < s->nwfs; i++)
        for (wf_state st = WF_STARTING; st <= WF_REVERSING; st++)
            prom_value(w, PROM_LABELS({"workflow", s->wfs[i].name}, {"state", wf_state_name(st)}),
                       s->wfs[i].st.state == st);
}

static void stream_families(prom_writer *w, const metrics_snap *s)
{
    prom_family(w, "tablet_agent_stream_state", PROM_GAUGE,
                "1 for the state each replication stream is in, 0 for the others.");
    for (size_t i = 0; i < s->nstreams; i++)
        for (stream_state st = STREAM_STARTING; st <= STREAM_ERROR; st++)
            prom_value(w, PROM_LABELS({"stream", s->streams[i].name}, {"state", stream_state_name(st)}),
                       s->streams[i].st.state == st);
    prom_family(w, "tablet_agent_stream_transactions_total", PROM_COUNTER,
                "Source transactions a stream applied, since it was created (kept with its position).");
    for (size_t i = 0; i < s->nstreams; i++)
        prom_count(w, PROM_LABELS({"stream", s->streams[i].name}), s->streams[i].st.transactions);
    prom_family(w, "tablet_agent_stream_events_total", PROM_COUNTER,
                "Binlog events a stream read since it last started.");
    for (size_t i = 0; i < s->nstreams; i++)
        prom_count(w, PROM_LABELS({"stream", s->streams[i].name}), s->streams[i].st.events);
    prom_family(w, "tablet_agent_stream_lag_seconds", PROM_GAUGE,
                "From a transaction's commit on the source to its apply, while the stream runs (0 when caught up).");
    for (size_t i = 0; i < s->nstreams; i++)
        if (s->streams[i].st.lag_seconds >= 0)
            prom_value(w, PROM_LABELS({"stream", s->streams[i].name}), s->streams[i].st.lag_seconds);
    prom_family(w, "tablet_agent_stream_last_event_age_seconds", PROM_GAUGE,
                "Since the stream last read a transaction from the source (heartbeats excluded): grows while "
                "the source is idle, and while the stream is stuck even though lag reads 0.");
    for (size_t i = 0; i < s->nstreams; i++)
        prom_value(w, PROM_LABELS({"stream", s->streams[i].name}), s->streams[i].st.last_event_age_seconds);
    prom_family(w, "tablet_agent_stream_errors_total", PROM_COUNTER,
                "A stream's failed attempts (retried or final) and DDL stops, by kind: SOURCE, TARGET, APPLY, "
                "DDL, PURGED, NO_SUCH_BINLOG, STATEMENT, SAME_SERVER, INTERNAL.");
    for (size_t i = 0; i < s->nstreams; i++)
        for (stream_error e = STREAM_E_SOURCE; e < STREAM_E_COUNT; e++)
            prom_count(w, PROM_LABELS({"stream", s->streams[i].name}, {"kind", stream_error_name(e)}),
                       s->streams[i].st.errors[e]);
}

static void cutover_families(prom_writer *w, const metrics_snap *s)
{
    static const char *const directions[2] = {"switch", "reverse"};
    prom_family(w, "tablet_agent_cutover_step_seconds", PROM_HISTOGRAM,
                "How long each step of a switch or reverse took (check, fence_source, catch_up, commit, ...).");
    for (size_t i = 0; i < s->nwfs; i++) {
        const wf_cutover_stats *c = &s->wfs[i].cut;
        for (size_t j = 0; j < c->nsteps; j++)
            prom_histogram(w, PROM_LABELS({"workflow", s->wfs[i].name}, {"step", c->steps[j].name}),
                           &wf_cut_step_buckets, &c->steps[j].seconds);
    }
    prom_family(w, "tablet_agent_cutovers_total", PROM_COUNTER,
                "Switches and reverses since the agent started, by outcome: success, rolled_back, timed_out "
                "(rolled back too), refused (the workflow was not in the state it needs).");
    for (size_t i = 0; i < s->nwfs; i++)
        for (int d = 0; d < 2; d++)
            for (wf_cut_outcome o = WF_CUT_SUCCESS; o < WF_CUT_OUTCOMES; o++)
                prom_count(w,
                           PROM_LABELS({"workflow", s->wfs[i].name}, {"direction", directions[d]},
                                       {"outcome", wf_cut_outcome_name(o)}),
                           s->wfs[i].cut.outcomes[d][o]);
}

static void vdiff_families(prom_writer *w, const metrics_snap *s)
{
    prom_family(w, "tablet_agent_vdiff_rows_compared_total", PROM_COUNTER,
                "Rows the current or last VDiff of a workflow compared (starts again with each VDiff).");
    for (size_t i = 0; i < s->nwfs; i++)
        if (s->wfs[i].vdiff.state != WF_VDIFF_NONE)
            prom_count(w, PROM_LABELS({"workflow", s->wfs[i].name}), s->wfs[i].vdiff.total.compared);
    prom_family(w, "tablet_agent_vdiff_differences", PROM_GAUGE,
                "Rows the current or last VDiff found different: mismatched, missing on or extra on the "
                "destination.");
    for (size_t i = 0; i < s->nwfs; i++) {
        const vdiff_result *t = &s->wfs[i].vdiff.total;
        if (s->wfs[i].vdiff.state != WF_VDIFF_NONE)
            prom_count(w, PROM_LABELS({"workflow", s->wfs[i].name}), t->mismatched + t->missing + t->extra);
    }
}

static void rpc_families(prom_writer *w, agent *a)
{
    size_t n = a->rpc ? rpc_server_stats_count(a->rpc) : 0;
    prom_family(w, "tablet_agent_rpc_requests_total", PROM_COUNTER,
                "gRPC calls the agent ended, by method and status code.");
    for (size_t i = 0; i < n; i++) {
        const rpc_method_stats *m = rpc_server_stats_at(a->rpc, i);
        for (int code = 0; code < RPC_STATUS_CODES; code++)
            if (m->calls[code])
                prom_count(w, PROM_LABELS({"method", m->method}, {"code", rpc_status_name(code)}), m->calls[code]);
    }
    prom_family(w, "tablet_agent_rpc_seconds", PROM_HISTOGRAM,
                "From a call's arrival to its status, by method (a stream's whole life for StreamHealth).");
    for (size_t i = 0; i < n; i++) {
        const rpc_method_stats *m = rpc_server_stats_at(a->rpc, i);
        if (m->seconds.count)
            prom_histogram(w, PROM_LABELS({"method", m->method}), &rpc_seconds_buckets, &m->seconds);
    }
}

void metrics_render(agent *a, sbuf *out)
{
    prom_writer w;
    prom_begin(&w, out);
    prom_family(&w, "tablet_agent_build_info", PROM_GAUGE, "Always 1; the agent's version as a label.");
    prom_value(&w, PROM_LABELS({"version", TABLET_AGENT_VERSION}), 1);
    source_families(&w, a);
    metrics_snap s;
    metrics_snap_take(a, &s);
    workflow_families(&w, &s);
    copy_families(&w, &s);
    stream_families(&w, &s);
    cutover_families(&w, &s);
    vdiff_families(&w, &s);
    rpc_families(&w, a);
    metrics_snap_release(&s);
}
