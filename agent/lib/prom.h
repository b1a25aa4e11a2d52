/* prom: metrics in the Prometheus text exposition format (version 0.0.4),
 * built on an sbuf.
 *
 * A scrape's text is written family by family: prom_family writes the
 * HELP and TYPE lines, then each sample of that family follows (a family
 * may have none yet: its name is still listed). Label values are escaped
 * as the format says (backslash, double quote, newline) and are always
 * valid UTF-8 (other bytes show as \xNN, like sbuf_add_printable). The
 * caller gives names and label names: they are the program's constants.
 *
 * Counters and histograms live with whoever owns the numbers, under the
 * lock (or on the thread) that already guards them; this module keeps no
 * state. A histogram has fixed bucket bounds, kept per bucket (not
 * cumulative) so that an observation is one increment; the cumulative
 * counts the format wants are summed when the text is written. */
#ifndef LIB_PROM_H
#define LIB_PROM_H

#include <stddef.h>
#include <stdint.h>

#include "lib/sbuf.h"

typedef enum { PROM_COUNTER, PROM_GAUGE, PROM_HISTOGRAM } prom_type;

typedef struct prom_label {
    const char *name;
    const char *value;
} prom_label;

/* A label list inline: prom_count(&w, PROM_LABELS({"workflow", name}), n). */
#define PROM_LABELS(...) \
    ((const prom_label[]){__VA_ARGS__}), (sizeof((const prom_label[]){__VA_ARGS__}) / sizeof(prom_label))

#define PROM_HIST_MAX_BUCKETS 16

/* Upper bounds (le), ascending and finite; +Inf is implied. */
typedef struct prom_buckets {
    const double *le;
    size_t n; /* at most PROM_HIST_MAX_BUCKETS */
} prom_buckets;

typedef struct prom_hist {
    uint64_t counts[PROM_HIST_MAX_BUCKETS + 1]; /* [i]: in (le[i-1], le[i]]; [n]: above the last bound */
    uint64_t count;
    double sum;
} prom_hist;

/* One observation (seconds, bytes...). Not thread-safe: under the owner's lock. */
void prom_hist_observe(prom_hist *h, const prom_buckets *b, double v);

typedef struct prom_writer {
    sbuf *out;
    const char *family;
    prom_type type;
} prom_writer;

void prom_begin(prom_writer *w, sbuf *out);
/* Start a family: its HELP (escaped) and TYPE lines. For a counter the
 * name is the samples' name, ending in _total; for a histogram the base
 * name of its _bucket, _sum and _count samples. */
void prom_family(prom_writer *w, const char *name, prom_type type, const char *help);
/* A sample of the current family: an exact integer, or any double
 * (NaN, +Inf and -Inf as the format writes them). */
void prom_count(prom_writer *w, const prom_label *labels, size_t nlabels, uint64_t v);
void prom_value(prom_writer *w, const prom_label *labels, size_t nlabels, double v);
/* The current (histogram) family's samples for one label set: cumulative
 * _bucket{le} lines ending with +Inf, then _sum and _count. */
void prom_histogram(prom_writer *w, const prom_label *labels, size_t nlabels, const prom_buckets *b,
                    const prom_hist *h);

/* A number as the format writes it: the shortest text that reads back as
 * the same double ("0.25", "1e-06", "+Inf"). */
void prom_add_number(sbuf *out, double v);
/* A label value's escaped text (without the quotes). */
void prom_add_label_value(sbuf *out, const char *value);

#endif
