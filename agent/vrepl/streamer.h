/* streamer: a binlog reader that turns one server's binlog into a sequence
 * of transactions for the applier.
 *
 * Stage two of the data path (streamer -> decoder -> applier). It connects
 * as a replica (libmariadb does the transport and framing), starts from a
 * MariaDB GTID position or a binlog file/offset, and yields events already
 * grouped and filtered: BEGIN (with the transaction's GTID), ROWS (decoded,
 * for tables that pass the filter), COMMIT (with the binlog coordinate
 * after the transaction), DDL, HEARTBEAT. Table metadata comes from the
 * table map, filled from information_schema where the map is silent.
 * Statement-format row writes (SQL text instead of row images, see
 * stmt_target.h) are skipped when their target is outside the filter and
 * end the stream with STREAMER_ESTATEMENT when it is inside.
 *
 * A streamer is used by one thread; streamer_interrupt may be called from
 * any thread to unblock a waiting streamer_next. */
#ifndef STREAMER_H
#define STREAMER_H

#include <stdbool.h>
#include <stdint.h>

#include "db/db.h"
#include "db/probe.h"
#include "db/schema.h"
#include "lib/sbuf.h"
#include "vrepl/decoder.h"
#include "vrepl/table_filter.h"

/* A table as the applier sees it: the decoded map plus what the schema adds.
 * Shared between the streamer's cache and queued events: reference counted. */
typedef struct vtable {
    int refs; /* atomic */
    dec_table *map;
    schema_table *schema; /* NULL when the table is gone from the server */
    bool *generated;      /* per column: skip on insert */
    bool other_unique;    /* has a unique key besides the identifying key */
} vtable;

vtable *vtable_ref(vtable *t);
void vtable_unref(vtable *t);

typedef enum {
    SEV_BEGIN,     /* gtid_* set */
    SEV_ROWS,      /* table, rows */
    SEV_COMMIT,    /* file, offset: the coordinate after the transaction */
    SEV_DDL,       /* schema, statement (a standalone transaction) */
    SEV_HEARTBEAT, /* the source has nothing newer */
} sev_kind;

typedef struct stream_event {
    sev_kind kind;
    uint32_t timestamp; /* source commit time, seconds */
    /* SEV_BEGIN */
    uint32_t gtid_domain;
    uint32_t gtid_server;
    uint64_t gtid_seq;
    uint8_t mysql_uuid[16]; /* MySQL GTIDs: uuid + seq (gtid_seq) */
    bool mysql_gtid;
    /* SEV_ROWS */
    vtable *table;
    dec_rows rows;
    /* SEV_COMMIT (and SEV_DDL, which commits too) */
    char *file;
    uint64_t offset;
    /* SEV_DDL */
    char *schema;
    char *statement;      /* NUL-terminated, but may hold a NUL: statement_len counts */
    size_t statement_len;
    size_t bytes; /* approximate memory held, for queue accounting */
} stream_event;

void stream_event_free(stream_event *e);

typedef struct streamer_config {
    const db_endpoint *source;
    uint32_t server_id;      /* must be unique among the source's replicas */
    const char *start_gtid;  /* MariaDB GTID list; NULL or "": use file/offset */
    const char *start_file;
    uint64_t start_offset;
    unsigned heartbeat_ms;
    const table_filter *filter;
    const char *skip_schema; /* never streamed: the agent's sidecar schema */
} streamer_config;

typedef struct streamer streamer;

/* Error numbers returned besides the server's own. */
enum {
    STREAMER_EPURGED = 100001,
    STREAMER_EINTERRUPTED = 100002,
    STREAMER_ESTATEMENT = 100003, /* a statement-format write to a carried table */
    STREAMER_ENOBINLOG = 100004,  /* the source never had the start file */
};

int streamer_open(const streamer_config *cfg, streamer **out, sbuf *err);
/* Blocks for the next event. 0 and *ev filled, or an error number:
 * STREAMER_EPURGED (the position is gone), STREAMER_ENOBINLOG (the file
 * is not, and was never, on the source), STREAMER_ESTATEMENT (the binlog
 * holds SQL text, not rows, for a table the filter carries; statement-
 * format writes to other tables are skipped), STREAMER_EINTERRUPTED, a
 * connection error (db_error_is_connection), or another failure. The three
 * first are final: reading again from the same position fails the same way. */
int streamer_next(streamer *s, stream_event *ev, sbuf *err);
void streamer_interrupt(streamer *s);
void streamer_close(streamer *s);
/* Forget cached schemas (after DDL). */
void streamer_schema_invalidate(streamer *s);

#endif
