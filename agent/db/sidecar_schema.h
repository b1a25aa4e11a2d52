/* sidecar_schema: the agent's own schema on a server, every table of it in
 * one place.
 *
 * The state that makes resuming exact lives next to the data it describes
 * (a page and its copy_chunks row, a batch and its stream position, commit
 * together), so each server the agent writes holds a schema of its own
 * (_tablet_agent by default). All rows are keyed by workflow or stream
 * name, so several workflows can share a server:
 *   streams       a stream's applied position (vrepl/applier)
 *   workflows     a workflow's state and message (workflow/sidecar)
 *   copy_state    per table: pending / copied / indexed, deferred indexes
 *   copy_chunks   per committed copy page (vrepl/copier)
 *   cutover       the switch/reverse journal (workflow/cutover)
 *   vdiff         a VDiff's report, and vdiff_tables its per-table progress
 * A destination gets them all; a source only what reverse replication and
 * a reverse's journal need. Creation is idempotent. */
#ifndef SIDECAR_SCHEMA_H
#define SIDECAR_SCHEMA_H

#include <mysql.h>

#include "lib/sbuf.h"

enum {
    SIDECAR_STREAMS = 1 << 0,
    SIDECAR_WORKFLOWS = 1 << 1,
    SIDECAR_COPY = 1 << 2, /* copy_state and copy_chunks */
    SIDECAR_CUTOVER = 1 << 3,
    SIDECAR_VDIFF = 1 << 4, /* vdiff and vdiff_tables */
    SIDECAR_ALL = (1 << 5) - 1,
};

/* CREATE DATABASE and the chosen tables, IF NOT EXISTS, one statement at a
 * time (any connection will do). */
int sidecar_schema_create(MYSQL *m, const char *schema, unsigned tables, sbuf *err);

#endif
