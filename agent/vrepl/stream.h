/* stream: one replication stream, a server's binlog applied to another
 * server, from a position, for a set of tables.
 *
 * The reusable engine behind the copy's catch-up, continuous replication,
 * the cutover's forward and reverse streams and VDiff's synchronisation.
 * Two threads per stream: a reader (streamer + decoder) fills a bounded
 * queue, a supervisor applies it (applier) and owns the lifecycle: it
 * restarts the pipeline from the last committed position after any
 * transient error, with backoff, so nothing is applied twice or lost.
 *
 * The loop thread starts and stops streams and reads their status; the
 * threads report state changes back to the loop through a uv_async. */
#ifndef STREAM_H
#define STREAM_H

#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#include "db/db.h"
#include "vrepl/applier.h"
#include "vrepl/streamer.h"

typedef enum { DDL_STOP, DDL_EXEC, DDL_IGNORE } ddl_policy;

typedef enum {
    STREAM_STARTING,
    STREAM_RUNNING,
    STREAM_RETRYING, /* a transient error; the stream retries by itself */
    STREAM_STOPPED,  /* stopped on request, at its stop position, or at DDL */
    STREAM_ERROR,    /* needs a person: see the message */
} stream_state;

const char *stream_state_name(stream_state s);

/* Why a stream stopped or failed: the vrepl layer's error vocabulary. The
 * names are the API's StreamStatus.error.code. */
typedef enum {
    STREAM_OK = 0,
    STREAM_E_SOURCE,         /* reading the source failed */
    STREAM_E_TARGET,         /* the target refused a connection or setup */
    STREAM_E_APPLY,          /* a transaction could not be applied */
    STREAM_E_DDL,            /* stopped before a DDL (policy stop), or applying one failed */
    STREAM_E_PURGED,         /* the position's binlog is gone: copy again */
    STREAM_E_NO_SUCH_BINLOG, /* the source never had that binlog file */
    STREAM_E_STATEMENT,      /* a statement-format change to a carried table */
    STREAM_E_SAME_SERVER,    /* the target is the source */
    STREAM_E_INTERNAL,       /* a thread could not be started */
} stream_error;

#define STREAM_E_COUNT (STREAM_E_INTERNAL + 1)

/* "" for STREAM_OK, else "SOURCE", "PURGED", ... */
const char *stream_error_name(stream_error e);
const char *ddl_policy_name(ddl_policy p);

typedef struct stream_config {
    char *name;
    db_endpoint source;
    db_endpoint target;
    table_filter filter;
    ddl_policy ddl;
    uint32_t server_id;
    vpos start;
    vpos stop_at;          /* empty gtid and file: run until stopped */
    bool reset;            /* ignore a saved position, start at `start` */
    char *sidecar_schema;  /* on the target; never streamed from the source */
    unsigned heartbeat_ms; /* default 1000 */
    unsigned batch_ms;     /* longest a destination transaction stays open */
    unsigned batch_trx;    /* most source transactions per destination one */
} stream_config;

void stream_config_clear(stream_config *c);
void stream_config_copy(stream_config *dst, const stream_config *src);

typedef struct stream_status {
    stream_state state;
    stream_error error; /* PURGED, NO_SUCH_BINLOG, STATEMENT, SAME_SERVER
                         * are final: the same position fails the same way */
    char *message;
    vpos applied;
    double lag_seconds;
    uint64_t transactions; /* applied since the stream was created */
    uint64_t rows;         /* written by this run */
    uint64_t events;       /* read by this run */
    int64_t started_ms;
    bool stop_reached;
    unsigned retries;
    /* Failed attempts (retried or final) and DDL stops, by cause
     * (stream_error), since the stream was created. */
    uint64_t errors[STREAM_E_COUNT];
    /* Seconds since the reader last got a transaction from the source
     * (heartbeats do not count), or since the stream started. Lag reads 0
     * while nothing arrives; this grows. */
    double last_event_age_seconds;
} stream_status;

void stream_status_clear(stream_status *s);

typedef struct stream stream;
typedef void (*stream_cb)(stream *s, void *data);

/* Blocking use, from a thread of the caller's (workflows do this): create,
 * run until stopped, at the stop position or a final error, free.
 * notify (may be NULL) is called from stream threads on state changes. */
stream *stream_new(const stream_config *cfg, void (*notify)(void *data), void *data);
stream_state stream_run(stream *s);
/* Any thread: make stream_run return soon (rolling back an open batch). */
void stream_request_stop(stream *s);
/* stream_run on a thread of its own, for callers without a loop (the
 * workflows); stream_done tells whether it ended by itself, stream_join
 * stops it and waits. notify also runs when the thread ends. */
stream *stream_spawn(const stream_config *cfg, void (*notify)(void *data), void *data);
bool stream_done(stream *s);
void stream_join(stream *s);

/* Loop use: starts a thread running stream_run at once; connection
 * problems show in the status; on_change runs on the loop. */
stream *stream_start(uv_loop_t *loop, const stream_config *cfg, stream_cb on_change, void *data);
/* Ask the stream to stop; done runs on the loop once its threads exited.
 * An open destination transaction is rolled back: the saved position
 * stays at the last commit. */
void stream_stop(stream *s, stream_cb done, void *data);
/* Free a stream whose threads have exited (stream_running false, or
 * stream_run returned). */
void stream_free(stream *s);
bool stream_running(const stream *s);
void stream_status_get(stream *s, stream_status *out);
const stream_config *stream_get_config(const stream *s);

#endif
