/* applier: row changes into SQL on the target server, exactly once.
 *
 * Stage four of the data path (streamer -> decoder -> applier). The caller
 * (stream.c) feeds whole source transactions and decides when to commit;
 * the applier turns rows into statements addressed by the table's key,
 * sends them in as few round trips as it can, and commits them together
 * with the stream's position row in the sidecar schema, in one destination
 * transaction: after a crash the data and the position agree.
 *
 * Many source transactions share one destination transaction. Within it,
 * full row images are compacted per key (only the last image of a row, or
 * its deletion, is written), so a hot row updated a thousand times costs
 * one write. Partial images (binlog_row_image=MINIMAL) are applied one
 * statement per change, in order. */
#ifndef APPLIER_H
#define APPLIER_H

#include <stdbool.h>
#include <stdint.h>

#include "db/db.h"
#include "lib/gtid.h"
#include "lib/sbuf.h"
#include "vrepl/streamer.h"
#include "vrepl/vpos.h"

typedef struct applier applier;

typedef struct applier_config {
    const db_endpoint *target;
    const char *sidecar_schema;
    const char *stream_name;
    server_flavor flavor; /* of the source's GTIDs */
} applier_config;

int applier_open(const applier_config *cfg, applier **out, sbuf *err);
void applier_close(applier *a);

/* The saved position of this stream, if any (found false when new). */
int applier_position_load(applier *a, vpos *out, uint64_t *transactions, bool *found, sbuf *err);
/* Create or overwrite the stream's position row (a new or reset stream). */
int applier_position_init(applier *a, const vpos *start, sbuf *err);

/* The upsert that saves a stream's position row. */
void applier_position_sql(const char *sidecar, const char *name, const vpos *pos, uint64_t transactions,
                          uint32_t source_ts, sbuf *out);
/* Read a stream's saved position on any connection to its target. */
int applier_position_read(MYSQL *m, const char *sidecar, const char *name, vpos *out, uint64_t *transactions,
                          bool *found, sbuf *err);

/* Feed a transaction's pieces. Statements may be sent early when they grow
 * large, but nothing commits before applier_commit. */
void applier_begin(applier *a, const char *gtid_label);
int applier_rows(applier *a, const stream_event *ev, sbuf *err);
/* Write pending changes and the position, and COMMIT. */
int applier_commit(applier *a, const vpos *pos, uint64_t transactions, uint32_t source_ts, sbuf *err);
void applier_rollback(applier *a);
/* DDL with policy exec: run it (in its schema), then save the position. */
int applier_ddl(applier *a, const char *schema, const char *statement, const vpos *pos, uint64_t transactions,
                sbuf *err);
/* Compaction on (fast) or off (one statement per change, for pinpointing
 * the exact failing transaction). */
void applier_set_careful(applier *a, bool careful);
size_t applier_pending_bytes(const applier *a);
/* Row changes applied (each row of each event, before compaction). */
uint64_t applier_rows_applied(const applier *a);
/* The error number of the last failure (0 when none). */
unsigned applier_last_errno(const applier *a);

#endif
