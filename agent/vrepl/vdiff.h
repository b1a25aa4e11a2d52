/* vdiff: prove two servers hold the same rows, table by table.
 *
 * Given connections whose snapshots show the same point of the workflow's
 * history (the caller synchronises them: see import_vdiff.c), the engine
 * walks each table by its key in chunks. The writing side ("A") finds the
 * next chunk's last key with an index walk; then both servers, at once,
 * return only a row count and the XOR of every row's hash over that key
 * range, so equal chunks cost one short result per side and nothing
 * crosses the network per row. A chunk that differs is drilled down:
 * both sides' per-row hashes for the range are fetched and matched by
 * key, which names every missing, extra and mismatched row. A thread per
 * side, so a diff runs at the speed of the slower server (a snapshot at an
 * exact position is one connection, so a drill-down borrows A's in turn).
 *
 * Values are compared as bytes: a row's hash covers each column's stored
 * bytes (see vdiff.c), so 'a' and 'A' differ even under a case-insensitive
 * collation, NULL and '' differ, and a FLOAT compares by the text the
 * server prints for it. Keys are ordered,
 * and chunk ranges bounded, by each key column's collation, the same on
 * both sides because the destination's tables were created from the
 * source's definitions; so 'é' and 'e' under a _ci collation are one key
 * position, and two rows whose keys differ only that way are reported as
 * one missing and one extra row. */
#ifndef VDIFF_H
#define VDIFF_H

#include <mysql.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#include "db/schema.h"
#include "lib/sbuf.h"

#define VDIFF_SAMPLES 10

/* What a table's comparison found so far. */
typedef struct vdiff_result {
    bool done;
    uint64_t rows_estimated;
    uint64_t compared; /* distinct keys seen: matching + mismatched + missing + extra */
    uint64_t matching, mismatched;
    uint64_t missing, extra; /* on the destination: in the source only, in the destination only */
    char *samples[VDIFF_SAMPLES]; /* "mismatched (42)", "missing on the destination ('a',7)" */
    size_t nsamples;
} vdiff_result;

void vdiff_result_copy(vdiff_result *dst, const vdiff_result *src);
void vdiff_result_clear(vdiff_result *r);

typedef struct vdiff_table {
    schema_table *schema; /* borrowed */
    char *resume_key;     /* encoded key (copier.h) to continue after; NULL: start */
    vdiff_result r;       /* updated as chunks complete, under the config's lock */
} vdiff_table;

typedef struct vdiff_config {
    MYSQL *a; /* the writing side, in a snapshot; SET NAMES binary */
    MYSQL *b; /* the other side, at the same point */
    bool b_is_dest; /* which side is the destination, for missing/extra */
    vdiff_table *tables;
    size_t ntables;
    uint64_t chunk_rows;
    uv_mutex_t *lock; /* guards the tables' results for readers */
    /* Called from the engine's threads after each chunk (save progress). */
    void (*chunk_done)(vdiff_table *t, const char *last_key, void *data);
    void *data;
    const atomic_bool *cancel;         /* stop between chunks once set */
    unsigned throttle_threads_running; /* pause while side A is busier; 0 off */
    atomic_bool *throttled;            /* set while paused, for status */
} vdiff_config;

/* Blocking: compare every table not done. 0, or an error number with err
 * (a failed query; the results so far stand). */
int vdiff_run(const vdiff_config *cfg, sbuf *err);

#endif
