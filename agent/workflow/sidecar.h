/* sidecar: a workflow's state in the agent's own schema on the destination.
 *
 * Tables (all keyed by workflow name, so several workflows can share one
 * destination):
 *   workflows    state, message, timestamps
 *   copy_state   one row per table: pending / copied / indexed, estimated
 *                rows, secondary indexes deferred until the rows are in
 *   copy_chunks  one row per committed page (see copier.h)
 *   streams      replication positions (see applier.h)
 * Keeping the state next to the data it describes is what makes resuming
 * exact: a page and its copy_chunks row, a batch and its streams row,
 * commit in the same transaction. */
#ifndef SIDECAR_H
#define SIDECAR_H

#include <mysql.h>
#include <stdbool.h>
#include <stdint.h>

#include "lib/sbuf.h"

typedef struct copy_row {
    char *schema;
    char *table;
    char *state; /* pending, copied, indexed */
    uint64_t rows_estimated;
    uint64_t rows_copied; /* kept once the table is copied */
    char *deferred; /* "ADD KEY ..., ADD UNIQUE KEY ..." or "" */
} copy_row;

void copy_rows_free(copy_row *rows, size_t n);

/* Create the schema and tables (idempotent). m must allow multi-statements. */
int sidecar_setup(MYSQL *m, const char *sidecar, sbuf *err);
int sidecar_workflow_save(MYSQL *m, const char *sidecar, const char *name, const char *state, const char *message,
                          sbuf *err);
/* found false for a workflow the destination has never seen. */
int sidecar_workflow_state(MYSQL *m, const char *sidecar, const char *name, sbuf *state, bool *found, sbuf *err);
int sidecar_copy_load(MYSQL *m, const char *sidecar, const char *wf, copy_row **rows, size_t *n, sbuf *err);
int sidecar_copy_add(MYSQL *m, const char *sidecar, const char *wf, const copy_row *row, sbuf *err);
/* Move a table to state (and record rows, when not 0); "copied" also
 * drops its page rows. */
int sidecar_copy_mark(MYSQL *m, const char *sidecar, const char *wf, const char *schema, const char *table,
                      const char *state, uint64_t rows, sbuf *err);
/* Where a table's copy resumes: the end of the longest run of consecutive
 * committed pages from page 0. */
int sidecar_chunks_resume(MYSQL *m, const char *sidecar, const char *wf, const char *schema, const char *table,
                          char **last_key, uint64_t *next_chunk, uint64_t *rows, sbuf *err);
/* Remove every row of the workflow (detach). */
int sidecar_forget(MYSQL *m, const char *sidecar, const char *wf, sbuf *err);

#endif
