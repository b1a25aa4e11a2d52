/* render: human-readable views of agent messages for the terminal.
 *
 * One screen for `status` (label column, then facts), one line per update
 * for `watch`. Problems are spelled out on their own line so they are seen
 * at a glance, not buried in a field.
 *
 * A workflow's view fits a given number of lines: with hundreds of tables
 * it lists those moving now (the most rows since the last redraw first),
 * then those started, then those to come, then those done, and counts the
 * rest; a summary line counts every table by phase. Names are padded and
 * cut by display width, not bytes: a table may be called `café_日本`.
 * Display width comes from the C library's wcwidth() under a C.UTF-8
 * locale object switched to for the measurement only (uselocale), so it
 * follows the Unicode tables glibc ships without a table of our own, and
 * does not change the process's locale. */
#include <locale.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <wchar.h>

#include "cpctl.h"
#include "lib/clock.h"
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

/* ---- display width ------------------------------------------------------------------- */

/* Made once and kept: cpctl renders on its main thread only. */
static locale_t utf8_locale(void)
{
    static locale_t loc;
    static bool tried;
    if (!tried) {
        tried = true;
        loc = newlocale(LC_CTYPE_MASK, "C.UTF-8", (locale_t)0);
    }
    return loc;
}

/* The code point of the UTF-8 sequence of n bytes at p (n from utf8_seq_len). */
static uint32_t utf8_decode(const unsigned char *p, size_t n)
{
    static const unsigned char lead_mask[] = {0, 0x7F, 0x1F, 0x0F, 0x07};
    uint32_t cp = p[0] & lead_mask[n];
    for (size_t i = 1; i < n; i++)
        cp = (cp << 6) | (p[i] & 0x3F);
    return cp;
}

/* Columns of one character: wcwidth, where a character it calls
 * unprintable (or an invalid byte) counts one, the width of the
 * replacement glyph a terminal shows. Without the locale: one each. */
static size_t char_width(locale_t loc, uint32_t cp)
{
    if (loc == (locale_t)0)
        return 1;
    int w = wcwidth((wchar_t)cp);
    return w < 0 ? 1 : (size_t)w;
}

/* Walk UTF-8 text up to `max` display columns: returns the bytes that fit,
 * with their width in *width. */
static size_t width_prefix(const char *s, size_t len, size_t max, size_t *width)
{
    locale_t loc = utf8_locale(), old = (locale_t)0;
    if (loc != (locale_t)0)
        old = uselocale(loc);
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0, w = 0;
    while (i < len) {
        size_t n = utf8_seq_len(p + i, len - i);
        size_t cw = n ? char_width(loc, utf8_decode(p + i, n)) : 1;
        if (w + cw > max)
            break;
        w += cw;
        i += n ? n : 1;
    }
    if (loc != (locale_t)0)
        uselocale(old);
    *width = w;
    return i;
}

size_t render_width(const char *s, size_t len)
{
    size_t w;
    width_prefix(s, len, (size_t)-1, &w);
    return w;
}

int render_rows(const char *text, int cols)
{
    int rows = 0;
    for (const char *p = text; *p;) {
        const char *nl = strchr(p, '\n');
        size_t len = nl ? (size_t)(nl - p) : strlen(p);
        size_t w = render_width(p, len);
        rows += cols > 0 && w > (size_t)cols ? (int)((w + (size_t)cols - 1) / (size_t)cols) : 1;
        p += len + (nl ? 1 : 0);
    }
    return rows;
}

/* Text in exactly `width` columns: padded with spaces, or cut at a
 * character boundary with an ellipsis. */
void render_pad(sbuf *out, const char *s, size_t width)
{
    size_t len = strlen(s), w;
    size_t fit = width_prefix(s, len, width, &w);
    if (fit < len) {
        fit = width_prefix(s, len, width ? width - 1 : 0, &w);
        sbuf_add(out, s, fit);
        if (width) {
            sbuf_adds(out, "\xE2\x80\xA6"); /* U+2026, the ellipsis */
            w++;
        }
    } else {
        sbuf_add(out, s, fit);
    }
    for (; w < width; w++)
        sbuf_addc(out, ' ');
}

/* "schema.name" from untrusted bytes: control characters escaped. */
static void render_table_name(const char *schema, const char *name, sbuf *out)
{
    sbuf_add_printable(out, schema, strlen(schema), 256);
    sbuf_addc(out, '.');
    sbuf_add_printable(out, name, strlen(name), 256);
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
        sbuf_addf(out, "Probed     %.1f s ago, took %u ms\n", (double)(clock_wall_ms() - src->probed_at_unix_ms) / 1000.0,
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

/* ---- workflow ------------------------------------------------------------------------- */

/* Table lines of a view that has no screen to fit (piped, or `status`). */
#define RENDER_TABLE_LINES 20
/* The name column, on a screen 80 columns wide or wider. */
#define NAME_COLUMNS 36

/* Tables by phase. "copying" is every table of the running copy cycle,
 * so one without a row yet counts as pending: it waits for its turn. */
typedef struct table_counts {
    size_t creating, pending, copying, copied, indexing, done;
} table_counts;

static void count_tables(const Tabletagent__V1__Workflow *w, table_counts *c)
{
    memset(c, 0, sizeof *c);
    for (size_t i = 0; i < w->n_tables; i++) {
        const Tabletagent__V1__TableProgress *t = w->tables[i];
        if (!strcmp(t->phase, "creating"))
            c->creating++;
        else if (!strcmp(t->phase, "copying"))
            *(t->rows_copied ? &c->copying : &c->pending) += 1;
        else if (!strcmp(t->phase, "copied"))
            c->copied++;
        else if (!strcmp(t->phase, "indexing"))
            c->indexing++;
        else if (!strcmp(t->phase, "done"))
            c->done++;
        else
            c->pending++;
    }
}

static void render_table_counts(const Tabletagent__V1__Workflow *w, sbuf *out)
{
    table_counts c;
    count_tables(w, &c);
    if (c.creating) {
        sbuf_addf(out, "creating tables: %zu/%zu", w->n_tables - c.creating, w->n_tables);
        return;
    }
    sbuf_addf(out, "%zu %s: %zu done, %zu copying, %zu pending", w->n_tables, w->n_tables == 1 ? "table" : "tables",
              c.done, c.copying, c.pending);
    if (c.copied)
        sbuf_addf(out, ", %zu copied", c.copied);
    if (c.indexing)
        sbuf_addf(out, ", %zu indexing", c.indexing);
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
    if (w->n_tables) {
        sbuf_adds(out, "  ");
        render_table_counts(w, out);
    }
    if (w->stream && w->stream->lag_seconds >= 0)
        sbuf_addf(out, "  lag %.0fs", w->stream->lag_seconds);
    if (w->throttled)
        sbuf_addf(out, "  THROTTLED (%s)", w->throttle_reason);
    if (w->error && *w->error->code)
        sbuf_addf(out, "  [%s] %s", w->error->code, w->error->message);
}

/* Which tables to list first: lower ranks first, then the most rows since
 * the last redraw, then the agent's order. */
typedef struct table_rank {
    size_t i;
    int rank;
    uint64_t moved;
} table_rank;

enum { RANK_MOVING, RANK_STARTED, RANK_WAITING, RANK_DONE };

static int table_rank_cmp(const void *a, const void *b)
{
    const table_rank *x = a, *y = b;
    if (x->rank != y->rank)
        return x->rank < y->rank ? -1 : 1;
    if (x->moved != y->moved)
        return x->moved > y->moved ? -1 : 1;
    return x->i < y->i ? -1 : x->i > y->i;
}

/* The same table in the previous reply, if it has it at the same place. */
static const Tabletagent__V1__TableProgress *prev_table(const Tabletagent__V1__Workflow *prev, size_t i,
                                                        const Tabletagent__V1__TableProgress *t)
{
    if (!prev || i >= prev->n_tables)
        return NULL;
    const Tabletagent__V1__TableProgress *p = prev->tables[i];
    return strcmp(p->schema, t->schema) == 0 && strcmp(p->name, t->name) == 0 ? p : NULL;
}

static void rank_table(const Tabletagent__V1__Workflow *w, const Tabletagent__V1__Workflow *prev, size_t i,
                       table_rank *r)
{
    const Tabletagent__V1__TableProgress *t = w->tables[i], *p = prev_table(prev, i, t);
    r->i = i;
    r->moved = p && t->rows_copied > p->rows_copied ? t->rows_copied - p->rows_copied : 0;
    if (r->moved || (p && strcmp(p->phase, t->phase) != 0))
        r->rank = RANK_MOVING; /* rows came in, or it moved on: just created, copied or done */
    else if (!strcmp(t->phase, "indexing") || (!strcmp(t->phase, "copying") && t->rows_copied))
        r->rank = RANK_STARTED;
    else if (!strcmp(t->phase, "done") || !strcmp(t->phase, "copied"))
        r->rank = RANK_DONE;
    else
        r->rank = RANK_WAITING;
}

static void render_table_line(const Tabletagent__V1__TableProgress *t, size_t name_cols, sbuf *out)
{
    sbuf name = SBUF_INIT;
    render_table_name(t->schema, t->name, &name);
    sbuf_adds(out, "  ");
    render_pad(out, name.buf, name_cols);
    sbuf_addf(out, "  %-9s ", t->phase);
    render_count(t->rows_copied, out);
    sbuf_adds(out, " / ");
    render_count(t->rows_estimated, out);
    sbuf_addc(out, '\n');
    sbuf_free(&name);
}

static size_t count_lines(const sbuf *sb)
{
    size_t n = 0;
    for (size_t i = 0; i < sb->len; i++)
        n += sb->buf[i] == '\n';
    return n;
}

void render_workflow_fit(const ProtobufCMessage *msg, const ProtobufCMessage *prev_msg, int lines, int cols,
                         sbuf *out)
{
    const Tabletagent__V1__Workflow *w = (const void *)msg, *prev = (const void *)prev_msg;
    sbuf head = SBUF_INIT, foot = SBUF_INIT;
    sbuf_addf(&head, "Workflow   %s  %s  -> %s  (copy cycles: %u)\n", w->name, workflow_state_name(w->state),
              w->destination, w->copy_cycles);
    uint64_t pct = w->rows_estimated ? w->rows_copied * 100 / w->rows_estimated : 0;
    sbuf_adds(&head, "Progress   ");
    render_bar(w->rows_copied, w->rows_estimated, 30, &head);
    sbuf_addf(&head, " %3llu%%  ", (unsigned long long)(pct > 100 ? 100 : pct));
    render_count(w->rows_copied, &head);
    sbuf_adds(&head, " / ");
    render_count(w->rows_estimated, &head);
    sbuf_adds(&head, " rows");
    render_rate_eta(w, &head);
    sbuf_addc(&head, '\n');
    if (w->n_tables) {
        sbuf_adds(&head, "Tables     ");
        render_table_counts(w, &head);
        sbuf_addc(&head, '\n');
    }
    if (w->throttled)
        sbuf_addf(&foot, "Throttled  %s\n", w->throttle_reason);
    if (w->stream)
        sbuf_addf(&foot, "Replicate  lag %.0f s  applied gtid %s\n", w->stream->lag_seconds,
                  w->stream->applied && *w->stream->applied->gtid ? w->stream->applied->gtid : "-");
    else if (w->position && *w->position->gtid)
        sbuf_addf(&foot, "Position   gtid %s\n", w->position->gtid);
    if (w->error && *w->error->code)
        sbuf_addf(&foot, "Problem    [%s] %s\n", w->error->code, w->error->message);
    else if (*w->message)
        sbuf_addf(&foot, "Note       %s\n", w->message);

    /* Room for table lines, one of them saying how many are left out. */
    size_t room = RENDER_TABLE_LINES;
    if (lines > 0) {
        size_t fixed = count_lines(&head) + count_lines(&foot);
        room = (size_t)lines > fixed ? (size_t)lines - fixed : 0;
    }
    size_t shown = w->n_tables <= room ? w->n_tables : room ? room - 1 : 0;
    size_t name_cols = NAME_COLUMNS;
    if (cols > 0 && cols < 80)
        name_cols = cols > 56 ? (size_t)cols - 44 : 12;

    sbuf_add(out, head.buf, head.len);
    table_rank *ranks = xcalloc(w->n_tables + 1, sizeof *ranks);
    for (size_t i = 0; i < w->n_tables; i++)
        rank_table(w, prev, i, &ranks[i]);
    if (shown < w->n_tables) /* all of them: the agent's order reads best */
        qsort(ranks, w->n_tables, sizeof *ranks, table_rank_cmp);
    for (size_t k = 0; k < shown; k++)
        render_table_line(w->tables[ranks[k].i], name_cols, out);
    if (shown < w->n_tables && room)
        sbuf_addf(out, "  ... %zu more (cpctl --json workflow status %s lists every table)\n", w->n_tables - shown,
                  w->name);
    sbuf_add(out, foot.buf, foot.len);
    free(ranks);
    sbuf_free(&head);
    sbuf_free(&foot);
}

void render_workflow(const ProtobufCMessage *msg, sbuf *out)
{
    render_workflow_fit(msg, NULL, 0, 0, out);
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
    sbuf_adds(out, "  ");
    render_pad(out, label, 32);
    sbuf_addc(out, ' ');
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
        render_table_name(t->schema, t->name, &label);
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
