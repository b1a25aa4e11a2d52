/* import_core: what an import workflow's phases share. Not an API.
 *
 * An import is one module in five files, arranged as a graph without
 * cycles: the dispatcher calls the phases, the phases call the core, and
 * nothing calls upward.
 *
 *   import.c        dispatcher: the thread, its commands, following a
 *                   stream, status (the public API, import.h)
 *   import_copy.c   phase: setup, destination tables, copy cycles
 *   cutover.c       phase: switch, reverse, detach, crash recovery
 *   import_vdiff.c  phase: VDiff at a synchronised point, resumable
 *   import_core.c   the state they share: the struct below, state changes,
 *                   connections, the workflow's streams, command completion
 */
#ifndef IMPORT_CORE_H
#define IMPORT_CORE_H

#include <mysql.h>
#include <stdatomic.h>

#include "db/probe.h"
#include "db/schema.h"
#include "vrepl/copier.h"
#include "vrepl/vdiff.h"
#include "workflow/fence.h"
#include "workflow/import.h"
#include "workflow/sidecar.h"

/* A workflow's reverse stream is named NAME + this. */
#define WF_REVERSE_SUFFIX ".reverse"

typedef enum { STEP_OK, STEP_INTERRUPTED, STEP_TRANSIENT, STEP_FATAL } step_result;

typedef struct wf_vdiff wf_vdiff;

typedef struct wf_cmd {
    wf_cmd_kind kind;
    wf_cmd_args args;
    db_endpoint *dest; /* resume: new destination credentials, or NULL */
    wf_cmd_cb cb;
    void *data;
    wf_cmd_result res;
    struct wf_cmd *next;
} wf_cmd;

struct import_wf {
    uv_loop_t *loop;
    uv_async_t async;
    uv_thread_t thread;
    import_def def;
    char *state_dir;
    db_endpoint source;
    uint32_t server_id;
    void (*changed)(void *);
    void *changed_data;

    uv_mutex_t lock; /* guards everything down to the thread's own part */
    uv_cond_t cond;
    wf_cmd *pending, *completed;
    wf_cmd *stop_cmd; /* completed only once the thread has exited */
    atomic_bool interrupt; /* a command waits: the copy phase stops early */
    bool paused, stop, thread_done, joined, detached;
    stream *catchup;  /* a blocking catch-up run of the copy phase */
    stream *fwd, *rev; /* background streams: forward, and reverse after a switch */
    wf_vdiff *vdiff;   /* the current or last VDiff */
    wf_state state;
    char *error_code, *message;
    unsigned cycles;
    copier_table *tables;
    wf_phase *phases;
    uint64_t *estimates;
    size_t ntables;
    uint64_t tables_epoch; /* counts the table lists published above */
    wf_table_status *standin; /* shown while tables is empty: see import_copy.c */
    size_t nstandin;
    copier *copier;
    wf_rate rate;
    vpos position;
    int64_t copied_ms; /* see wf_status */
    uint64_t throttled_ms;        /* the copier adds to it atomically */
    wf_cutover_stats cut_stats;   /* cutover.c counts there */

    /* the workflow thread's own */
    MYSQL *dest;
    MYSQL *src;
    server_flavor flavor;
    copy_row *rows;
    schema_table **schemas;
    stream_error fail_code;  /* a failed step's cause, when a stream was it */
    bool setup_done;
    bool vdiff_checked;      /* looked for a diff to resume after a restart */
    bool copy_finished;      /* this process finished the copy; replication not yet started */
    bool primary;            /* writes belong to the destination (switched) */
    bool cutover_known;      /* primary and the fences were read from the journals */
    fence_record source_fence; /* what the last switch changed on the source */
    fence_record dest_fence;   /* what the last reverse changed on the destination */
};

/* ---- state (import_core.c) ---- */

void wf_notify(import_wf *wf);
void wf_set(import_wf *wf, wf_state state, const char *code, const char *msg);
wf_state wf_state_get(import_wf *wf);
bool wf_interrupted(import_wf *wf);
/* Pass a milestone of wf->def (dest_written, cutover_started): set and
 * saved before the step it names; -1 with err if it cannot be saved. */
int wf_milestone(import_wf *wf, bool *milestone, sbuf *err);
step_result wf_classify(int e);

/* ---- connections ---- */

/* The thread's own connections to the destination and the source. */
int wf_connect(import_wf *wf, sbuf *err);
void wf_disconnect(import_wf *wf);
/* A new multi-statement connection to the source (journals, positions). */
int wf_connect_source(import_wf *wf, MYSQL **m, sbuf *err);

/* ---- the workflow's streams ---- */

/* The name of the workflow's forward (or reverse) stream: where its
 * position is saved. */
void wf_stream_name(const import_wf *wf, bool reverse, sbuf *out);
/* Configuration of the workflow's forward or reverse stream. */
void wf_stream_config(const import_wf *wf, bool reverse, const vpos *start, bool reset, const vpos *stop_at,
                      stream_config *cfg);
void wf_stream_changed(void *data);
/* Start the forward (or reverse) stream in the background. */
stream *wf_stream_spawn(import_wf *wf, bool reverse, const vpos *start, bool reset);
/* Stop one background stream; both (forward, reverse). */
void wf_stream_stop(import_wf *wf, bool reverse);
void wf_streams_stop(import_wf *wf);
/* Run the forward (or reverse) stream until stop_at, blocking. */
step_result wf_run_stream(import_wf *wf, bool reverse, const vpos *stop_at, sbuf *err);
/* A stop position the stream compares: GTID on MariaDB, else file/offset. */
void wf_stop_at(const import_wf *wf, const vpos *p, vpos *out);

/* ---- commands ---- */

/* Complete a command: its callback runs on the loop (_locked: wf->lock held). */
void wf_cmd_done(import_wf *wf, wf_cmd *c, wf_err code, const char *msg);
void wf_cmd_complete_locked(import_wf *wf, wf_cmd *c, wf_err code, const char *msg);

void wf_standin_free(wf_table_status *list, size_t n);

#endif
