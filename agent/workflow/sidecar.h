/* sidecar: a workflow's rows in the agent's own schema on the destination
 * (the tables are defined in db/sidecar_schema.h): its state and message,
 * and per table the copy's progress (pending / copied / indexed, estimated
 * rows, secondary indexes deferred until the rows are in) and where a
 * table's copy resumes from its committed pages. */
#ifndef SIDECAR_H
#define SIDECAR_H

#include <mysql.h>
#include <stdbool.h>
#include <stdint.h>

#include "lib/sbuf.h"

/* A table's copy, as saved (the names are what copy_state holds). */
typedef enum { COPY_PENDING, COPY_COPIED, COPY_INDEXED } copy_state;

typedef struct copy_row {
    char *schema;
    char *table;
    copy_state state;
    uint64_t rows_estimated;
    uint64_t rows_copied; /* kept once the table is copied */
    char *deferred; /* "ADD KEY ..., ADD UNIQUE KEY ..." or "" */
} copy_row;

void copy_rows_free(copy_row *rows, size_t n);

int sidecar_workflow_save(MYSQL *m, const char *sidecar, const char *name, const char *state, const char *message,
                          sbuf *err);
/* found false for a workflow the destination has never seen. */
int sidecar_workflow_state(MYSQL *m, const char *sidecar, const char *name, sbuf *state, bool *found, sbuf *err);
int sidecar_copy_load(MYSQL *m, const char *sidecar, const char *wf, copy_row **rows, size_t *n, sbuf *err);
int sidecar_copy_add(MYSQL *m, const char *sidecar, const char *wf, const copy_row *row, sbuf *err);
/* Move a table to state (and record rows, when not 0); COPY_COPIED also
 * drops its page rows. */
int sidecar_copy_mark(MYSQL *m, const char *sidecar, const char *wf, const char *schema, const char *table,
                      copy_state state, uint64_t rows, sbuf *err);
/* Where a table's copy resumes: the end of the longest run of consecutive
 * committed pages from page 0. */
int sidecar_chunks_resume(MYSQL *m, const char *sidecar, const char *wf, const char *schema, const char *table,
                          char **last_key, uint64_t *next_chunk, uint64_t *rows, sbuf *err);
/* Remove every row of the workflow (detach). */
int sidecar_forget(MYSQL *m, const char *sidecar, const char *wf, sbuf *err);

#endif
