/* render: human-readable views of agent messages for the terminal.
 *
 * One screen for `status` (label column, then facts), one line per update
 * for `watch`. Problems are spelled out on their own line so they are seen
 * at a glance, not buried in a field. */
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

#include "cpctl.h"
#include "tabletagent/v1/tabletagent.pb-c.h"

static const char *on_off(int v)
{
    return v ? "ON" : "OFF";
}

static const char *or_dash(const char *s)
{
    return s && *s ? s : "-";
}

static const char *flavor_name(Tabletagent__V1__Flavor f)
{
    return f == TABLETAGENT__V1__FLAVOR__MARIADB ? "MariaDB" : f == TABLETAGENT__V1__FLAVOR__MYSQL ? "MySQL" : "?";
}

static int64_t now_ms(void)
{
    struct timeval tv;
    gettimeofday(&tv, NULL);
    return (int64_t)tv.tv_sec * 1000 + tv.tv_usec / 1000;
}

static void render_source(const Tabletagent__V1__SourceStatus *src, sbuf *out)
{
    sbuf_addf(out, "Source     %s  %s\n", or_dash(src->address),
              src->reachable ? "reachable" : "UNREACHABLE");
    if (!src->reachable)
        return;
    sbuf_addf(out, "Server     %s %s  server_id %u%s%s  read_only %s\n", flavor_name(src->flavor),
              or_dash(src->version), src->server_id, *src->server_uuid ? "  uuid " : "", src->server_uuid,
              on_off(src->read_only));
    sbuf_addf(out, "Binlog     %s  format %s  row_image %s  row_metadata %s  gtid_strict_mode %s\n",
              on_off(src->log_bin), or_dash(src->binlog_format), or_dash(src->binlog_row_image),
              or_dash(src->binlog_row_metadata), on_off(src->gtid_strict_mode));
    const Tabletagent__V1__Position *p = src->position;
    if (p)
        sbuf_addf(out, "Position   gtid %s  file %s:%llu\n", *p->gtid ? p->gtid : "(empty)", or_dash(p->file),
                  (unsigned long long)p->offset);
    sbuf_addf(out, "Oldest     %s  gtid %s  retention ", or_dash(src->oldest_binlog_file),
              *src->oldest_gtid ? src->oldest_gtid : "(empty)");
    if (src->binlog_retention_seconds)
        sbuf_add_duration(out, src->binlog_retention_seconds);
    else
        sbuf_adds(out, "never expires");
    sbuf_addc(out, '\n');
    if (src->probed_at_unix_ms)
        sbuf_addf(out, "Probed     %.1f s ago, took %u ms\n", (double)(now_ms() - src->probed_at_unix_ms) / 1000.0,
                  src->probe_duration_ms);
}

static const char *stream_state_name(Tabletagent__V1__StreamState s)
{
    const ProtobufCEnumValue *v = protobuf_c_enum_descriptor_get_value(&tabletagent__v1__stream_state__descriptor, s);
    return v ? v->name + strlen("STREAM_") : "?";
}

void render_stream(const ProtobufCMessage *msg, sbuf *out)
{
    const Tabletagent__V1__StreamStatus *s = (const void *)msg;
    sbuf_addf(out, "Stream     %s  %s", s->name, stream_state_name(s->state));
    if (s->lag_seconds >= 0)
        sbuf_addf(out, "  lag %.0f s", s->lag_seconds);
    sbuf_addf(out, "\n           %s -> %s\n", s->source, s->target);
    if (s->applied)
        sbuf_addf(out, "Applied    gtid %s  file %s:%llu  (%llu transactions, %llu rows this run)\n",
                  *s->applied->gtid ? s->applied->gtid : "-", or_dash(s->applied->file),
                  (unsigned long long)s->applied->offset, (unsigned long long)s->transactions,
                  (unsigned long long)s->rows);
    if (s->error && *s->error->code)
        sbuf_addf(out, "Problem    [%s] %s\n", s->error->code, s->error->message);
    else if (*s->message)
        sbuf_addf(out, "Note       %s\n", s->message);
}

/* 1234567 -> "1,234,567" */
void render_count(uint64_t n, sbuf *out)
{
    char digits[32];
    int len = snprintf(digits, sizeof digits, "%llu", (unsigned long long)n);
    for (int i = 0; i < len; i++) {
        if (i && (len - i) % 3 == 0)
            sbuf_addc(out, ',');
        sbuf_addc(out, digits[i]);
    }
}

static const char *workflow_state_name(Tabletagent__V1__WorkflowState s)
{
    const ProtobufCEnumValue *v =
        protobuf_c_enum_descriptor_get_value(&tabletagent__v1__workflow_state__descriptor, s);
    return v ? v->name + strlen("WORKFLOW_") : "?";
}

static void render_bar(uint64_t done, uint64_t total, int width, sbuf *out)
{
    int filled = total ? (int)((double)done / (double)total * width) : 0;
    if (filled > width)
        filled = width;
    sbuf_addc(out, '[');
    for (int i = 0; i < width; i++)
        sbuf_addc(out, i < filled ? '#' : '.');
    sbuf_addc(out, ']');
}

static void render_rate_eta(const Tabletagent__V1__Workflow *w, sbuf *out)
{
    if (w->rows_per_second > 0) {
        sbuf_adds(out, "  ");
        render_count((uint64_t)w->rows_per_second, out);
        sbuf_adds(out, " rows/s");
    }
    if (w->eta_seconds > 0) {
        sbuf_adds(out, "  ETA ");
        sbuf_add_duration(out, w->eta_seconds);
    }
}

void render_workflow_line(const ProtobufCMessage *msg, sbuf *out)
{
    const Tabletagent__V1__Workflow *w = (const void *)msg;
    uint64_t pct = w->rows_estimated ? w->rows_copied * 100 / w->rows_estimated : 0;
    sbuf_addf(out, "%s %s %llu%% ", w->name, workflow_state_name(w->state),
              (unsigned long long)(pct > 100 ? 100 : pct));
    render_count(w->rows_copied, out);
    sbuf_adds(out, "/");
    render_count(w->rows_estimated, out);
    sbuf_adds(out, " rows");
    render_rate_eta(w, out);
    if (w->stream && w->stream->lag_seconds >= 0)
        sbuf_addf(out, "  lag %.0fs", w->stream->lag_seconds);
    if (w->throttled)
        sbuf_addf(out, "  THROTTLED (%s)", w->throttle_reason);
    if (w->error && *w->error->code)
        sbuf_addf(out, "  [%s] %s", w->error->code, w->error->message);
}

void render_workflow(const ProtobufCMessage *msg, sbuf *out)
{
    const Tabletagent__V1__Workflow *w = (const void *)msg;
    sbuf_addf(out, "Workflow   %s  %s  -> %s  (copy cycles: %u)\n", w->name, workflow_state_name(w->state),
              w->destination, w->copy_cycles);
    uint64_t pct = w->rows_estimated ? w->rows_copied * 100 / w->rows_estimated : 0;
    sbuf_adds(out, "Progress   ");
    render_bar(w->rows_copied, w->rows_estimated, 30, out);
    sbuf_addf(out, " %3llu%%  ", (unsigned long long)(pct > 100 ? 100 : pct));
    render_count(w->rows_copied, out);
    sbuf_adds(out, " / ");
    render_count(w->rows_estimated, out);
    sbuf_adds(out, " rows");
    render_rate_eta(w, out);
    sbuf_addc(out, '\n');
    for (size_t i = 0; i < w->n_tables; i++) {
        const Tabletagent__V1__TableProgress *t = w->tables[i];
        sbuf_addf(out, "  %s.%s", t->schema, t->name);
        size_t used = strlen(t->schema) + strlen(t->name) + 3;
        for (; used < 38; used++)
            sbuf_addc(out, ' ');
        sbuf_addf(out, " %-9s ", t->phase);
        render_count(t->rows_copied, out);
        sbuf_adds(out, " / ");
        render_count(t->rows_estimated, out);
        sbuf_addc(out, '\n');
    }
    if (w->throttled)
        sbuf_addf(out, "Throttled  %s\n", w->throttle_reason);
    if (w->stream)
        sbuf_addf(out, "Replicate  lag %.0f s  applied gtid %s\n", w->stream->lag_seconds,
                  w->stream->applied && *w->stream->applied->gtid ? w->stream->applied->gtid : "-");
    else if (w->position && *w->position->gtid)
        sbuf_addf(out, "Position   gtid %s\n", w->position->gtid);
    if (w->error && *w->error->code)
        sbuf_addf(out, "Problem    [%s] %s\n", w->error->code, w->error->message);
    else if (*w->message)
        sbuf_addf(out, "Note       %s\n", w->message);
}

void render_status(const ProtobufCMessage *msg, const char *agent_addr, sbuf *out)
{
    const Tabletagent__V1__AgentStatus *st = (const void *)msg;
    sbuf_addf(out, "Agent      %s  tablet-agent %s  up ", agent_addr, st->agent_version);
    sbuf_add_duration(out, st->uptime_seconds);
    sbuf_addf(out, "  rss %.1f MB\n", (double)st->rss_bytes / (1024.0 * 1024.0));
    bool serving = st->state == TABLETAGENT__V1__SERVING_STATE__SERVING;
    sbuf_addf(out, "Health     %s\n", serving ? "SERVING" : "NOT_SERVING");
    if (!serving && *st->health_error)
        sbuf_addf(out, "Problem    %s\n", st->health_error);
    if (st->source)
        render_source(st->source, out);
    for (size_t i = 0; i < st->n_streams; i++)
        render_stream(&st->streams[i]->base, out);
    for (size_t i = 0; i < st->n_workflows; i++)
        render_workflow(&st->workflows[i]->base, out);
}

void render_status_line(const ProtobufCMessage *msg, sbuf *out)
{
    const Tabletagent__V1__AgentStatus *st = (const void *)msg;
    char ts[32];
    time_t t = time(NULL);
    struct tm tm;
    localtime_r(&t, &tm);
    strftime(ts, sizeof ts, "%H:%M:%S", &tm);
    bool serving = st->state == TABLETAGENT__V1__SERVING_STATE__SERVING;
    sbuf_addf(out, "%s #%llu %-11s", ts, (unsigned long long)st->sequence, serving ? "SERVING" : "NOT_SERVING");
    const Tabletagent__V1__SourceStatus *src = st->source;
    if (src && src->position && src->reachable)
        sbuf_addf(out, " gtid=%s file=%s:%llu", *src->position->gtid ? src->position->gtid : "(empty)",
                  or_dash(src->position->file), (unsigned long long)src->position->offset);
    if (!serving && *st->health_error)
        sbuf_addf(out, " error=\"%s\"", st->health_error);
}

/* ---- vdiff ------------------------------------------------------------------------------ */

static uint64_t vdiff_diffs(const Tabletagent__V1__VDiffTable *t)
{
    return t->mismatched + t->missing_on_destination + t->extra_on_destination;
}

void render_vdiff_line(const ProtobufCMessage *msg, sbuf *out)
{
    const Tabletagent__V1__VDiffReport *r = (const void *)msg;
    const Tabletagent__V1__VDiffTable *t = r->total;
    sbuf_addf(out, "vdiff %s %s ", r->name, r->state);
    if (t) {
        render_count(t->rows_compared, out);
        sbuf_adds(out, "/");
        render_count(t->rows_estimated, out);
        sbuf_addf(out, " rows, %llu difference(s)", (unsigned long long)r->differences);
    }
    if (!strcmp(r->state, "RUNNING") && r->rows_per_second > 0) {
        sbuf_adds(out, "  ");
        render_count((uint64_t)r->rows_per_second, out);
        sbuf_adds(out, " rows/s");
        if (r->eta_seconds > 0) {
            sbuf_adds(out, "  ETA ");
            sbuf_add_duration(out, r->eta_seconds);
        }
    }
    if (r->throttled)
        sbuf_adds(out, "  THROTTLED");
    if (*r->message)
        sbuf_addf(out, "  (%s)", r->message);
}

static void render_vdiff_table(const Tabletagent__V1__VDiffTable *t, const char *label, sbuf *out)
{
    sbuf_addf(out, "  %-32s ", label);
    render_count(t->rows_compared, out);
    sbuf_adds(out, " compared, ");
    render_count(t->matching, out);
    sbuf_addf(out, " matching, %llu mismatched, %llu missing on dest, %llu extra on dest%s\n",
              (unsigned long long)t->mismatched, (unsigned long long)t->missing_on_destination,
              (unsigned long long)t->extra_on_destination, t->done || !*t->name ? "" : "  ...");
}

void render_vdiff(const ProtobufCMessage *msg, sbuf *out)
{
    const Tabletagent__V1__VDiffReport *r = (const void *)msg;
    sbuf_addf(out, "VDiff      %s  %s  at gtid %s (%s writing)\n", r->name, r->state,
              r->position && *r->position->gtid ? r->position->gtid : "-",
              r->writing_side == TABLETAGENT__V1__SIDE__SIDE_DESTINATION ? "destination" : "source");
    if (r->total) {
        sbuf_adds(out, "Progress   ");
        render_bar(r->total->rows_compared, r->total->rows_estimated, 30, out);
        sbuf_adds(out, " ");
        render_count(r->total->rows_compared, out);
        sbuf_adds(out, " / ");
        render_count(r->total->rows_estimated, out);
        sbuf_adds(out, " rows");
        if (r->rows_per_second > 0) {
            sbuf_adds(out, "  ");
            render_count((uint64_t)r->rows_per_second, out);
            sbuf_adds(out, " rows/s");
        }
        if (!strcmp(r->state, "RUNNING") && r->eta_seconds > 0) {
            sbuf_adds(out, "  ETA ");
            sbuf_add_duration(out, r->eta_seconds);
        }
        sbuf_addc(out, '\n');
    }
    for (size_t i = 0; i < r->n_tables; i++) {
        const Tabletagent__V1__VDiffTable *t = r->tables[i];
        sbuf label = SBUF_INIT;
        sbuf_addf(&label, "%s.%s", t->schema, t->name);
        render_vdiff_table(t, label.buf, out);
        sbuf_free(&label);
        for (size_t s = 0; s < t->n_samples; s++)
            sbuf_addf(out, "      %s\n", t->samples[s]);
        if (vdiff_diffs(t) > t->n_samples)
            sbuf_addf(out, "      ... and %llu more\n", (unsigned long long)(vdiff_diffs(t) - t->n_samples));
    }
    if (r->total)
        render_vdiff_table(r->total, "total", out);
    if (r->throttled)
        sbuf_adds(out, "Throttled  the writing side is busy\n");
    if (*r->message)
        sbuf_addf(out, "Result     %s\n", r->message);
}
