/* prom: the Prometheus text format on sbuf. See prom.h.
 *
 * The format, line by line: "# HELP name text", "# TYPE name type", then
 * samples "name{label="value",...} number". Only three characters are
 * escaped in a label value (\\, \", \n) and two in HELP text (\\, \n);
 * the format is UTF-8, so bytes that are not (a table name in another
 * encoding) become the four characters \xNN, whose backslash is itself
 * escaped: a reader gets the text "\xNN" back, never a broken byte. */
#include "lib/prom.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

void prom_hist_observe(prom_hist *h, const prom_buckets *b, double v)
{
    size_t i = 0, n = b->n < PROM_HIST_MAX_BUCKETS ? b->n : PROM_HIST_MAX_BUCKETS;
    while (i < n && v > b->le[i])
        i++;
    h->counts[i]++;
    h->count++;
    h->sum += v;
}

void prom_add_number(sbuf *out, double v)
{
    if (isnan(v)) {
        sbuf_adds(out, "NaN");
        return;
    }
    if (isinf(v)) {
        sbuf_adds(out, v > 0 ? "+Inf" : "-Inf");
        return;
    }
    if (v == floor(v) && fabs(v) < 1e15) {
        sbuf_addf(out, "%.0f", v == 0 ? 0.0 : v); /* no "-0" */
        return;
    }
    /* The shortest %g that reads back exactly: "0.1", not 0.10000000000000001. */
    sbuf text = SBUF_INIT;
    for (int prec = 1; prec <= 17; prec++) {
        sbuf_setf(&text, "%.*g", prec, v);
        if (strtod(text.buf, NULL) == v)
            break;
    }
    sbuf_add(out, text.buf, text.len);
    sbuf_free(&text);
}

void prom_add_label_value(sbuf *out, const char *value)
{
    const unsigned char *p = (const unsigned char *)(value ? value : "");
    size_t len = strlen((const char *)p), i = 0;
    while (i < len) {
        size_t n = utf8_seq_len(p + i, len - i);
        if (n == 0) {
            sbuf_addf(out, "\\\\x%02X", p[i]);
            i++;
            continue;
        }
        if (p[i] == '\\')
            sbuf_adds(out, "\\\\");
        else if (p[i] == '"')
            sbuf_adds(out, "\\\"");
        else if (p[i] == '\n')
            sbuf_adds(out, "\\n");
        else
            sbuf_add(out, p + i, n);
        i += n;
    }
}

static void add_help(sbuf *out, const char *help)
{
    for (const char *p = help; *p; p++) {
        if (*p == '\\')
            sbuf_adds(out, "\\\\");
        else if (*p == '\n')
            sbuf_adds(out, "\\n");
        else
            sbuf_addc(out, *p);
    }
}

void prom_begin(prom_writer *w, sbuf *out)
{
    w->out = out;
    w->family = "";
    w->type = PROM_GAUGE;
}

void prom_family(prom_writer *w, const char *name, prom_type type, const char *help)
{
    static const char *const types[] = {"counter", "gauge", "histogram"};
    w->family = name;
    w->type = type;
    sbuf_addf(w->out, "# HELP %s ", name);
    add_help(w->out, help);
    sbuf_addf(w->out, "\n# TYPE %s %s\n", name, types[type]);
}

/* name{a="x",b="y"[,le="..."]} with suffix after the family name. */
static void sample_head(prom_writer *w, const char *suffix, const prom_label *labels, size_t n, const char *le)
{
    sbuf_adds(w->out, w->family);
    sbuf_adds(w->out, suffix);
    if (n == 0 && !le) {
        sbuf_addc(w->out, ' ');
        return;
    }
    sbuf_addc(w->out, '{');
    for (size_t i = 0; i < n; i++) {
        sbuf_addf(w->out, "%s%s=\"", i ? "," : "", labels[i].name);
        prom_add_label_value(w->out, labels[i].value);
        sbuf_addc(w->out, '"');
    }
    if (le)
        sbuf_addf(w->out, "%sle=\"%s\"", n ? "," : "", le);
    sbuf_adds(w->out, "} ");
}

void prom_count(prom_writer *w, const prom_label *labels, size_t nlabels, uint64_t v)
{
    sample_head(w, "", labels, nlabels, NULL);
    sbuf_addf(w->out, "%llu\n", (unsigned long long)v);
}

void prom_value(prom_writer *w, const prom_label *labels, size_t nlabels, double v)
{
    sample_head(w, "", labels, nlabels, NULL);
    prom_add_number(w->out, v);
    sbuf_addc(w->out, '\n');
}

void prom_histogram(prom_writer *w, const prom_label *labels, size_t nlabels, const prom_buckets *b,
                    const prom_hist *h)
{
    sbuf le = SBUF_INIT;
    uint64_t cumulative = 0;
    size_t n = b->n < PROM_HIST_MAX_BUCKETS ? b->n : PROM_HIST_MAX_BUCKETS;
    for (size_t i = 0; i <= n; i++) {
        cumulative += h->counts[i];
        sbuf_reset(&le);
        if (i < n)
            prom_add_number(&le, b->le[i]);
        else
            sbuf_adds(&le, "+Inf");
        sample_head(w, "_bucket", labels, nlabels, le.buf);
        sbuf_addf(w->out, "%llu\n", (unsigned long long)cumulative);
    }
    sbuf_free(&le);
    sample_head(w, "_sum", labels, nlabels, NULL);
    prom_add_number(w->out, h->sum);
    sbuf_addc(w->out, '\n');
    sample_head(w, "_count", labels, nlabels, NULL);
    sbuf_addf(w->out, "%llu\n", (unsigned long long)h->count);
}
