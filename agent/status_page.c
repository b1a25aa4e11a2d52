/* status_page: the HTML status page and its lag history. See status_page.h.
 *
 * Lag history: every tick shares one time axis (tick_ms, a ring of
 * STATUS_PAGE_SAMPLES wall-clock times), and each stream has a ring of lag
 * values on it, NaN where the stream did not exist or was not running
 * (the chart leaves a gap there rather than drawing a false 0). A tick
 * takes one metrics_snap, as a scrape does: a few mutex-guarded copies,
 * every ten seconds. A stream absent for a whole ring is forgotten; at
 * most SERIES_MAX streams are drawn.
 *
 * Escaping: every string that did not come from this file goes through
 * add_text, which first makes it printable, bounded, valid UTF-8
 * (sbuf_add_printable), then HTML-escapes & < > " ' so that it is text
 * wherever it lands, element content or a quoted attribute. */
#include "status_page.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lib/clock.h"
#include "metrics.h"

#define SERIES_MAX 32
#define TEXT_MAX 512 /* input bytes of one name or message shown */

/* The chart's geometry, in SVG user units. */
#define CH_W 600
#define CH_H 130
#define CH_LEFT 48
#define CH_RIGHT 590
#define CH_TOP 10
#define CH_BOTTOM 110

typedef struct lag_series {
    char *name;
    float lag[STATUS_PAGE_SAMPLES];
    unsigned absent; /* ticks since it was last seen */
} lag_series;

typedef struct table_rate {
    char *key; /* "workflow\x1fschema.table" */
    wf_rate rate;
    bool seen;
} table_rate;

struct status_page {
    agent *a;
    uv_timer_t timer;
    unsigned interval_ms;
    int64_t tick_ms[STATUS_PAGE_SAMPLES];
    size_t head;   /* next slot */
    size_t ntick;  /* filled slots, up to STATUS_PAGE_SAMPLES */
    lag_series *series[SERIES_MAX];
    size_t nseries;
    table_rate *rates;
    size_t nrates;
};

/* ---- escaping ------------------------------------------------------------------------ */

static void add_text_n(sbuf *out, const char *s, size_t len)
{
    sbuf tmp = SBUF_INIT;
    sbuf_add_printable(&tmp, s, len, TEXT_MAX);
    for (size_t i = 0; i < tmp.len; i++) {
        switch (tmp.buf[i]) {
        case '&': sbuf_adds(out, "&amp;"); break;
        case '<': sbuf_adds(out, "&lt;"); break;
        case '>': sbuf_adds(out, "&gt;"); break;
        case '"': sbuf_adds(out, "&quot;"); break;
        case '\'': sbuf_adds(out, "&#39;"); break;
        default: sbuf_addc(out, tmp.buf[i]);
        }
    }
    sbuf_free(&tmp);
}

static void add_text(sbuf *out, const char *s)
{
    if (s)
        add_text_n(out, s, strlen(s));
}

static void add_time(sbuf *out, int64_t wall_ms)
{
    if (wall_ms <= 0) {
        sbuf_adds(out, "-");
        return;
    }
    time_t secs = (time_t)(wall_ms / 1000);
    struct tm tm;
    gmtime_r(&secs, &tm);
    char t[32];
    strftime(t, sizeof t, "%Y-%m-%d %H:%M:%S UTC", &tm);
    sbuf_adds(out, t);
}

static void add_pos(sbuf *out, const vpos *p)
{
    if (p->gtid && *p->gtid) {
        sbuf_adds(out, "gtid ");
        add_text(out, p->gtid);
    }
    if (p->file && *p->file) {
        sbuf_adds(out, p->gtid && *p->gtid ? ", " : "");
        add_text(out, p->file);
        sbuf_addf(out, ":%llu", (unsigned long long)p->offset);
    }
    if (!(p->gtid && *p->gtid) && !(p->file && *p->file))
        sbuf_adds(out, "-");
}

static void add_rate_eta(sbuf *out, double per_second, int64_t eta)
{
    sbuf_addf(out, "<td class=\"num\">%.0f/s</td><td class=\"num\">", per_second);
    if (eta < 0)
        sbuf_adds(out, "-");
    else
        sbuf_add_duration(out, eta);
    sbuf_adds(out, "</td>");
}

/* ---- lag history --------------------------------------------------------------------- */

static lag_series *series_find(status_page *p, const char *name)
{
    for (size_t i = 0; i < p->nseries; i++)
        if (strcmp(p->series[i]->name, name) == 0)
            return p->series[i];
    if (p->nseries == SERIES_MAX)
        return NULL;
    lag_series *s = xcalloc(1, sizeof *s);
    s->name = xstrdup(name);
    for (size_t i = 0; i < STATUS_PAGE_SAMPLES; i++)
        s->lag[i] = NAN;
    p->series[p->nseries++] = s;
    return s;
}

static void series_free(lag_series *s)
{
    free(s->name);
    free(s);
}

static table_rate *rate_find(status_page *p, const char *wf, const wf_table_status *t)
{
    sbuf key = SBUF_INIT;
    sbuf_addf(&key, "%s\x1f%s.%s", wf, t->schema, t->name);
    for (size_t i = 0; i < p->nrates; i++) {
        if (strcmp(p->rates[i].key, key.buf) == 0) {
            sbuf_free(&key);
            return &p->rates[i];
        }
    }
    p->rates = xrealloc(p->rates, (p->nrates + 1) * sizeof *p->rates);
    table_rate *r = &p->rates[p->nrates++];
    memset(r, 0, sizeof *r);
    r->key = sbuf_detach(&key, NULL);
    return r;
}

/* Each table's copy rate, from its rows copied now; tables that are gone
 * are forgotten when prune is set (at a tick). */
static void rates_update(status_page *p, const metrics_snap *s, bool prune)
{
    int64_t now = clock_mono_ms();
    for (size_t i = 0; i < p->nrates; i++)
        p->rates[i].seen = false;
    for (size_t i = 0; i < s->nwfs; i++) {
        for (size_t j = 0; j < s->wfs[i].st.ntables; j++) {
            const wf_table_status *t = &s->wfs[i].st.tables[j];
            table_rate *r = rate_find(p, s->wfs[i].name, t);
            wf_rate_update(&r->rate, now, t->rows_copied, 0);
            r->seen = true;
        }
    }
    if (!prune)
        return;
    size_t k = 0;
    for (size_t i = 0; i < p->nrates; i++) {
        if (p->rates[i].seen)
            p->rates[k++] = p->rates[i];
        else
            free(p->rates[i].key);
    }
    p->nrates = k;
}

static void on_tick(uv_timer_t *t)
{
    status_page *p = t->data;
    size_t slot = p->head;
    p->tick_ms[slot] = clock_wall_ms();
    p->head = (p->head + 1) % STATUS_PAGE_SAMPLES;
    if (p->ntick < STATUS_PAGE_SAMPLES)
        p->ntick++;
    for (size_t i = 0; i < p->nseries; i++) {
        p->series[i]->lag[slot] = NAN;
        p->series[i]->absent++;
    }
    metrics_snap s;
    metrics_snap_take(p->a, &s);
    for (size_t i = 0; i < s.nstreams; i++) {
        lag_series *ls = series_find(p, s.streams[i].name);
        if (!ls)
            continue;
        ls->absent = 0;
        const stream_status *st = &s.streams[i].st;
        if (st->state == STREAM_RUNNING && st->lag_seconds >= 0)
            ls->lag[slot] = (float)st->lag_seconds;
    }
    rates_update(p, &s, true);
    metrics_snap_release(&s);
    size_t k = 0;
    for (size_t i = 0; i < p->nseries; i++) {
        if (p->series[i]->absent >= STATUS_PAGE_SAMPLES)
            series_free(p->series[i]);
        else
            p->series[k++] = p->series[i];
    }
    p->nseries = k;
}

/* ---- the chart ----------------------------------------------------------------------- */

static void add_coord(sbuf *out, double x, double y)
{
    sbuf_addf(out, "%.1f,%.1f ", x, y);
}

/* One stream's lag over the ring's window as an SVG line chart: time on
 * x (now at the right), seconds on y from 0 to the window's maximum (at
 * least 1 s). Gaps where the stream did not run. */
static void add_chart(sbuf *out, const status_page *p, const lag_series *ls)
{
    int64_t now = clock_wall_ms();
    int64_t window = (int64_t)p->interval_ms * STATUS_PAGE_SAMPLES;
    double max = 1;
    size_t first = (p->head + STATUS_PAGE_SAMPLES - p->ntick) % STATUS_PAGE_SAMPLES;
    for (size_t k = 0; k < p->ntick; k++) {
        float v = ls->lag[(first + k) % STATUS_PAGE_SAMPLES];
        if (!isnan(v) && v > max)
            max = v;
    }
    max = ceil(max);
    sbuf_addf(out, "<svg class=\"lag-chart\" xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" "
                   "viewBox=\"0 0 %d %d\" role=\"img\" aria-label=\"replication lag of ", CH_W, CH_H, CH_W, CH_H);
    add_text(out, ls->name);
    sbuf_adds(out, "\">");
    sbuf_addf(out, "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" class=\"plot\"/>", CH_LEFT, CH_TOP,
              CH_RIGHT - CH_LEFT, CH_BOTTOM - CH_TOP);
    sbuf_addf(out, "<text x=\"%d\" y=\"%d\" class=\"axis\" text-anchor=\"end\">%.0f s</text>", CH_LEFT - 4, CH_TOP + 8,
              max);
    sbuf_addf(out, "<text x=\"%d\" y=\"%d\" class=\"axis\" text-anchor=\"end\">0</text>", CH_LEFT - 4, CH_BOTTOM);
    sbuf_addf(out, "<text x=\"%d\" y=\"%d\" class=\"axis\">-", CH_LEFT, CH_BOTTOM + 16);
    sbuf_add_duration(out, window / 1000);
    sbuf_addf(out, "</text><text x=\"%d\" y=\"%d\" class=\"axis\" text-anchor=\"end\">now</text>", CH_RIGHT,
              CH_BOTTOM + 16);
    bool open = false;
    size_t points = 0;
    for (size_t k = 0; k < p->ntick; k++) {
        size_t i = (first + k) % STATUS_PAGE_SAMPLES;
        float v = ls->lag[i];
        int64_t age = now - p->tick_ms[i];
        if (isnan(v) || age > window) {
            if (open)
                sbuf_adds(out, "\"/>");
            open = false;
            continue;
        }
        double x = CH_RIGHT - (double)age / (double)window * (CH_RIGHT - CH_LEFT);
        double y = CH_BOTTOM - v / max * (CH_BOTTOM - CH_TOP);
        if (!open)
            sbuf_adds(out, "<polyline class=\"lag\" points=\"");
        open = true;
        add_coord(out, x, y);
        points++;
        /* A lone sample would draw nothing: give it a short flat line. */
        if (k + 1 == p->ntick || isnan(ls->lag[(i + 1) % STATUS_PAGE_SAMPLES]))
            add_coord(out, x + 2, y);
    }
    if (open)
        sbuf_adds(out, "\"/>");
    if (!points)
        sbuf_addf(out, "<text x=\"%d\" y=\"%d\" class=\"axis\" text-anchor=\"middle\">no samples yet</text>",
                  (CH_LEFT + CH_RIGHT) / 2, (CH_TOP + CH_BOTTOM) / 2);
    sbuf_adds(out, "</svg>");
}

/* ---- sections ------------------------------------------------------------------------ */

static const char style[] =
    "body{font:14px/1.4 system-ui,sans-serif;margin:1em 2em;color:#222;background:#fff}"
    "h1{font-size:1.4em;margin:.2em 0}h2{font-size:1.15em;border-bottom:1px solid #ccc;margin-top:1.4em}"
    "h3{font-size:1em;margin:.8em 0 .3em}"
    "table{border-collapse:collapse;margin:.3em 0}td,th{padding:2px 8px;text-align:left;vertical-align:top}"
    "th{background:#f0f0f0}.num{text-align:right;font-variant-numeric:tabular-nums}"
    ".bar{width:160px;height:12px;background:#e6e6e6;border-radius:3px;overflow:hidden}"
    ".bar span{display:block;height:100%;background:#3a7bd5}"
    ".ok{color:#17803d;font-weight:bold}.bad{color:#b3261e;font-weight:bold}.muted{color:#777}"
    "svg .plot{fill:#fafafa;stroke:#bbb}svg .axis{font-size:10px;fill:#555}"
    "svg .lag{fill:none;stroke:#3a7bd5;stroke-width:1.5}";

static void section_source(sbuf *out, status_page *p)
{
    agent *a = p->a;
    const probe_result *r = a->monitor ? monitor_last(a->monitor) : NULL;
    bool up = a->monitor && monitor_serving(a->monitor);
    sbuf_adds(out, "<section id=\"source\"><h2>Source</h2><table>");
    sbuf_adds(out, "<tr><th>server</th><td>");
    sbuf who = SBUF_INIT;
    db_endpoint_describe(&a->cfg->source, &who);
    add_text(out, who.buf);
    sbuf_free(&who);
    sbuf_addf(out, "</td></tr><tr><th>health</th><td class=\"%s\">%s</td></tr>", up ? "ok" : "bad",
              up ? "serving" : (r ? "not serving" : "not probed yet"));
    if (r && r->error) {
        sbuf_adds(out, "<tr><th>problem</th><td>");
        add_text(out, r->error);
        sbuf_adds(out, "</td></tr>");
    }
    if (r && r->version) {
        sbuf_adds(out, "<tr><th>version</th><td>");
        add_text(out, r->version);
        sbuf_adds(out, "</td></tr><tr><th>position</th><td>");
        vpos pos = {r->gtid, r->file, r->offset};
        add_pos(out, &pos);
        sbuf_addf(out, "</td></tr><tr><th>read_only</th><td>%s</td></tr><tr><th>binlog retention</th><td>",
                  r->read_only ? "ON" : "OFF");
        if (r->retention_s > 0)
            sbuf_add_duration(out, r->retention_s);
        else
            sbuf_adds(out, "never expire");
        sbuf_adds(out, "</td></tr>");
    }
    if (r) {
        sbuf_adds(out, "<tr><th>last probe</th><td>");
        add_time(out, r->at_ms);
        sbuf_addf(out, ", took %u ms</td></tr>", r->duration_ms);
    }
    sbuf_adds(out, "</table></section>");
}

static void section_workflows(sbuf *out, status_page *p, const metrics_snap *s)
{
    sbuf_adds(out, "<section id=\"workflows\"><h2>Workflows</h2>");
    if (!s->nwfs)
        sbuf_adds(out, "<p class=\"muted\">none</p>");
    for (size_t i = 0; i < s->nwfs; i++) {
        const wf_status *st = &s->wfs[i].st;
        sbuf_adds(out, "<div class=\"workflow\"><h3>workflow <span class=\"wf-name\">");
        add_text(out, s->wfs[i].name);
        sbuf_addf(out, "</span>: <span class=\"wf-state %s\">%s</span></h3>",
                  st->state == WF_ERROR ? "bad" : "ok", wf_state_name(st->state));
        if (st->message && *st->message) {
            sbuf_adds(out, "<p class=\"wf-message\">");
            add_text(out, st->message);
            sbuf_adds(out, "</p>");
        }
        if (st->throttled) {
            sbuf_adds(out, "<p class=\"bad\">copy throttled: ");
            add_text(out, st->throttle_reason);
            sbuf_adds(out, "</p>");
        }
        sbuf_addf(out, "<p>%llu of about %llu rows copied, %.0f rows/s, ETA ",
                  (unsigned long long)st->rows_copied, (unsigned long long)st->rows_estimated, st->rows_per_second);
        if (st->eta_seconds < 0)
            sbuf_adds(out, "-");
        else
            sbuf_add_duration(out, st->eta_seconds);
        sbuf_adds(out, "; destination at ");
        add_pos(out, &st->position);
        sbuf_adds(out, "</p><table class=\"tables\"><tr><th>table</th><th>phase</th><th>progress</th>"
                       "<th>rows</th><th>rate</th><th>ETA</th></tr>");
        for (size_t j = 0; j < st->ntables; j++) {
            const wf_table_status *t = &st->tables[j];
            table_rate *r = rate_find(p, s->wfs[i].name, t);
            bool done = t->phase >= WF_PHASE_COPIED;
            double pct = done ? 100 : t->rows_estimated ? 100.0 * (double)t->rows_copied / (double)t->rows_estimated : 0;
            if (pct > 100)
                pct = 100;
            sbuf_adds(out, "<tr class=\"table\"><td class=\"name\">");
            add_text(out, t->schema);
            sbuf_adds(out, ".");
            add_text(out, t->name);
            sbuf_addf(out, "</td><td>%s</td><td><div class=\"bar\" title=\"%.0f%%\"><span style=\"width:%.1f%%\">"
                           "</span></div></td><td class=\"num rows\">%llu / %llu</td>",
                      wf_phase_name(t->phase), pct, pct, (unsigned long long)t->rows_copied,
                      (unsigned long long)t->rows_estimated);
            if (done)
                sbuf_adds(out, "<td class=\"num\">-</td><td class=\"num\">done</td>");
            else
                add_rate_eta(out, r->rate.per_second,
                             wf_rate_eta(t->rows_copied, t->rows_estimated, r->rate.per_second));
            sbuf_adds(out, "</tr>");
        }
        sbuf_adds(out, "</table></div>");
    }
    sbuf_adds(out, "</section>");
}

static void section_lag(sbuf *out, status_page *p, const metrics_snap *s)
{
    sbuf_adds(out, "<section id=\"streams\"><h2>Replication lag</h2>");
    if (!s->nstreams)
        sbuf_adds(out, "<p class=\"muted\">no stream runs</p>");
    for (size_t i = 0; i < s->nstreams; i++) {
        const stream_status *st = &s->streams[i].st;
        sbuf_adds(out, "<div class=\"stream\"><h3>stream <span class=\"stream-name\">");
        add_text(out, s->streams[i].name);
        sbuf_addf(out, "</span>: <span class=\"%s\">%s</span></h3><p>", st->state == STREAM_ERROR ? "bad" : "ok",
                  stream_state_name(st->state));
        if (st->lag_seconds >= 0)
            sbuf_addf(out, "lag now %.1f s, ", st->lag_seconds);
        sbuf_addf(out, "last event %.0f s ago, %llu transactions applied; at ", st->last_event_age_seconds,
                  (unsigned long long)st->transactions);
        add_pos(out, &st->applied);
        if (st->message && *st->message) {
            sbuf_adds(out, "<br>");
            add_text(out, st->message);
        }
        sbuf_adds(out, "</p>");
        const lag_series *ls = NULL;
        for (size_t k = 0; k < p->nseries; k++)
            if (strcmp(p->series[k]->name, s->streams[i].name) == 0)
                ls = p->series[k];
        if (ls)
            add_chart(out, p, ls);
        sbuf_adds(out, "</div>");
    }
    sbuf_adds(out, "</section>");
}

static void section_cutovers(sbuf *out, const metrics_snap *s)
{
    sbuf_adds(out, "<section id=\"cutovers\"><h2>Last cutovers</h2>");
    size_t shown = 0;
    for (size_t i = 0; i < s->nwfs; i++) {
        const wf_cutover_stats *c = &s->wfs[i].cut;
        uint64_t n = c->nrecorded < WF_CUT_RECENT ? c->nrecorded : WF_CUT_RECENT;
        if (!n)
            continue;
        sbuf_adds(out, "<h3>");
        add_text(out, s->wfs[i].name);
        sbuf_adds(out, "</h3><table class=\"cutovers\"><tr><th>ended</th><th>what</th><th>outcome</th><th>total</th>"
                       "<th>steps (ms)</th></tr>");
        for (uint64_t k = 0; k < n; k++) {
            const wf_cut_recent *r = &c->recent[(c->nrecorded - 1 - k) % WF_CUT_RECENT];
            sbuf_adds(out, "<tr class=\"cutover\"><td>");
            add_time(out, r->ended_ms);
            sbuf_addf(out, "</td><td>%s</td><td class=\"%s\">%s</td><td class=\"num\">%u ms</td><td>",
                      r->reverse ? "reverse" : "switch", r->outcome == WF_CUT_SUCCESS ? "ok" : "bad",
                      wf_cut_outcome_name(r->outcome), r->total_ms);
            for (size_t j = 0; j < r->nsteps; j++)
                sbuf_addf(out, "%s<span class=\"step%s\">%s %u</span>", j ? ", " : "", r->steps[j].ok ? "" : " bad",
                          r->steps[j].name, r->steps[j].ms);
            sbuf_adds(out, "</td></tr>");
        }
        sbuf_adds(out, "</table>");
        shown++;
    }
    if (!shown)
        sbuf_adds(out, "<p class=\"muted\">none since the agent started</p>");
    sbuf_adds(out, "</section>");
}

static void section_vdiff(sbuf *out, const metrics_snap *s)
{
    sbuf_adds(out, "<section id=\"vdiff\"><h2>VDiff</h2>");
    size_t shown = 0;
    for (size_t i = 0; i < s->nwfs; i++) {
        const wf_vdiff_report *v = &s->wfs[i].vdiff;
        if (v->state == WF_VDIFF_NONE)
            continue;
        const vdiff_result *t = &v->total;
        bool clean = v->state == WF_VDIFF_DONE && !t->mismatched && !t->missing && !t->extra;
        sbuf_adds(out, "<div class=\"vdiff\"><h3>");
        add_text(out, s->wfs[i].name);
        sbuf_addf(out, ": <span class=\"%s\">%s</span></h3><p>", clean || v->state == WF_VDIFF_RUNNING ? "ok" : "bad",
                  wf_vdiff_state_name(v->state));
        add_time(out, v->started_ms);
        sbuf_adds(out, " to ");
        add_time(out, v->finished_ms);
        sbuf_adds(out, ", at ");
        add_pos(out, &v->at);
        if (v->message && *v->message) {
            sbuf_adds(out, "<br>");
            add_text(out, v->message);
        }
        sbuf_adds(out, "</p><table><tr><th>table</th><th>compared</th><th>matching</th><th>mismatched</th>"
                       "<th>missing</th><th>extra</th></tr>");
        for (size_t j = 0; j <= v->ntables; j++) {
            const vdiff_result *r = j < v->ntables ? &v->tables[j].r : t;
            sbuf_adds(out, j < v->ntables ? "<tr class=\"vdiff-table\"><td>" : "<tr class=\"vdiff-total\"><th>");
            if (j < v->ntables) {
                add_text(out, v->tables[j].schema);
                sbuf_adds(out, ".");
                add_text(out, v->tables[j].name);
                sbuf_adds(out, "</td>");
            } else {
                sbuf_adds(out, "total</th>");
            }
            sbuf_addf(out, "<td class=\"num\">%llu</td><td class=\"num\">%llu</td><td class=\"num\">%llu</td>"
                           "<td class=\"num\">%llu</td><td class=\"num\">%llu</td></tr>",
                      (unsigned long long)r->compared, (unsigned long long)r->matching,
                      (unsigned long long)r->mismatched, (unsigned long long)r->missing,
                      (unsigned long long)r->extra);
        }
        sbuf_adds(out, "</table></div>");
        shown++;
    }
    if (!shown)
        sbuf_adds(out, "<p class=\"muted\">none</p>");
    sbuf_adds(out, "</section>");
}

/* ---- the page and its lifecycle ------------------------------------------------------ */

void status_page_render(status_page *p, sbuf *out)
{
    metrics_snap s;
    metrics_snap_take(p->a, &s);
    rates_update(p, &s, false);
    sbuf_addf(out,
              "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
              "<meta http-equiv=\"refresh\" content=\"%d\">"
              "<meta name=\"viewport\" content=\"width=device-width\">"
              "<title>tablet-agent status</title><style>%s</style></head><body>",
              STATUS_PAGE_REFRESH_S, style);
    sbuf_adds(out, "<h1>tablet-agent " TABLET_AGENT_VERSION "</h1><p class=\"muted\">");
    add_time(out, clock_wall_ms());
    sbuf_addf(out, "; refreshes every %d s; read-only (metrics at <a href=\"/metrics\">/metrics</a>)</p>",
              STATUS_PAGE_REFRESH_S);
    section_source(out, p);
    section_workflows(out, p, &s);
    section_lag(out, p, &s);
    section_cutovers(out, &s);
    section_vdiff(out, &s);
    sbuf_adds(out, "</body></html>\n");
    metrics_snap_release(&s);
}

status_page *status_page_start(agent *a)
{
    status_page *p = xcalloc(1, sizeof *p);
    p->a = a;
    p->interval_ms = STATUS_PAGE_SAMPLE_MS;
    const char *test = getenv("TABLET_AGENT_TEST_LAG_SAMPLE_MS");
    if (test && atoi(test) >= 100)
        p->interval_ms = (unsigned)atoi(test);
    uv_timer_init(a->loop, &p->timer);
    p->timer.data = p;
    uv_timer_start(&p->timer, on_tick, 0, p->interval_ms);
    return p;
}

static void on_closed(uv_handle_t *h)
{
    status_page *p = h->data;
    for (size_t i = 0; i < p->nseries; i++)
        series_free(p->series[i]);
    for (size_t i = 0; i < p->nrates; i++)
        free(p->rates[i].key);
    free(p->rates);
    free(p);
}

void status_page_stop(status_page *p)
{
    if (!p)
        return;
    uv_timer_stop(&p->timer);
    uv_close((uv_handle_t *)&p->timer, on_closed);
}
