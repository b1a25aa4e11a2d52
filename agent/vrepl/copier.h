/* copier: rows of a snapshot into the target, in key order, in chunks.
 *
 * Stage two of the copy path (snapshot -> copier -> target). A reader
 * per snapshot connection pages through each table by its identifying key
 * (WHERE key > last ORDER BY key LIMIT n) and queues the result set as a
 * page; several writer connections apply pages in parallel, each in the
 * cheapest form the target takes (bulk executions, LOAD DATA, INSERT).
 * Each page commits in one destination transaction together with its row
 * in the sidecar table copy_chunks, so a page is either wholly in or not
 * at all. Pages may commit out of order; on resume the caller continues
 * from the end of the longest run of consecutive committed pages (and the
 * copy's upserts make re-copying a later page harmless).
 *
 * The copier is driven by one caller thread (a workflow) and owns its
 * writer threads. It pauses while the source is overloaded (Threads_running
 * above a threshold) and says so. */
#ifndef COPIER_H
#define COPIER_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "db/db.h"
#include "db/schema.h"
#include "lib/sbuf.h"
#include "vrepl/snapshot.h"

/* One table's copy progress; owned by the caller, updated by the copier. */
typedef struct copier_table {
    schema_table *schema; /* borrowed */
    char *last_key;       /* encoded key of the last copied row; NULL: from the start */
    uint64_t next_chunk;
    uint64_t rows_copied; /* committed rows (atomic) */
    bool read_done;       /* the reader reached the end of the table */
} copier_table;

typedef struct copier_config {
    const db_endpoint *source; /* for the throttle probe */
    const db_endpoint *target;
    const char *sidecar;
    const char *workflow;
    unsigned writers;
    uint64_t chunk_rows; /* most rows per page (pages also stop near 4 MB) */
    unsigned throttle_threads_running; /* 0: never throttle */
    /* Called from copier threads after each committed page. */
    void (*progress)(void *data);
    void *progress_data;
    /* Owned by the caller, may be NULL: milliseconds readers spent paused
     * by the throttle, added to atomically (it outlives the copier). */
    uint64_t *throttled_ms;
} copier_config;

typedef struct copier copier;

int copier_open(const copier_config *cfg, copier **out, sbuf *err);
void copier_close(copier *c);
/* Copy from the snapshot until every table is read, until_ms (on
 * clock_mono_ms) passes, or cancel is set; returns once all pages read so far
 * are committed. 0, or an error number with err. */
int copier_run(copier *c, snapshot *snap, copier_table *tables, size_t n, int64_t until_ms,
               const atomic_bool *cancel, sbuf *err);
/* Whether the last throttle check paused copying, and why. */
bool copier_throttled(copier *c, sbuf *reason);

#endif
