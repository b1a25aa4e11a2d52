/* import: an import workflow, from the first snapshot to continuous
 * replication, on its own thread.
 *
 * Phases: setup (sidecar tables, destination tables from the source
 * definitions) -> copy cycles (catch up, snapshot, copy pages for at most
 * snapshot_seconds) -> replicating -> (switch) primary, with reverse
 * replication -> (reverse) replicating ... -> detach. A restart, or a
 * kill -9, resumes from what the sidecar schema says. Commands (pause,
 * resume, switch, reverse, detach, stop) are carried out by the workflow's
 * thread one after another, so commands on one workflow never run
 * concurrently. */
#ifndef IMPORT_H
#define IMPORT_H

#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#include "db/db.h"
#include "lib/prom.h"
#include "vrepl/stream.h"
#include "workflow/import_def.h"
#include "workflow/wf_err.h"
#include "vrepl/vdiff.h"

typedef enum {
    WF_STARTING,
    WF_COPYING,
    WF_CATCHING_UP,
    WF_REPLICATING, /* writes on the source, destination follows */
    WF_PAUSED,
    WF_ERROR,
    WF_STOPPED,
    WF_SWITCHING,   /* SwitchTraffic in flight */
    WF_PRIMARY,     /* writes on the destination, source follows (reverse) */
    WF_REVERSING,   /* ReverseTraffic in flight */
} wf_state;

const char *wf_state_name(wf_state s);

/* Where a table's copy stands; the names are the API's TableProgress.phase. */
typedef enum {
    WF_PHASE_CREATING, /* setup is creating it on the destination */
    WF_PHASE_PENDING,
    WF_PHASE_COPYING,
    WF_PHASE_COPIED, /* every row in; deferred indexes still to add */
    WF_PHASE_INDEXING,
    WF_PHASE_DONE,
} wf_phase;

const char *wf_phase_name(wf_phase p);

typedef struct wf_table_status {
    char *schema;
    char *name;
    wf_phase phase;
    uint64_t rows_copied;
    uint64_t rows_estimated;
} wf_table_status;

typedef struct wf_status {
    wf_state state;
    char *error_code;
    char *message;
    uint64_t rows_copied;
    uint64_t rows_estimated;
    double rows_per_second;
    int64_t eta_seconds; /* -1 unknown */
    wf_table_status *tables;
    size_t ntables;
    bool throttled;
    char *throttle_reason;
    uint64_t throttled_ms; /* the copy's time paused by the throttle, in this process */
    bool has_stream;
    stream_status stream; /* the replication stream, when one runs */
    char *stream_name;    /* its own name: the workflow's, or NAME.reverse */
    vpos position;        /* consistent position of the destination */
    unsigned copy_cycles;
    int64_t created_ms, updated_ms;
    int64_t copied_ms; /* every row in and replication started; 0: not (in this process) */
} wf_status;

void wf_status_clear(wf_status *s);

/* A copy rate, measured over windows of at least two seconds. The count
 * fed in can go down (a table's rows recounted from the sidecar after a
 * failure, or a table copied again) or jump up without any copying (an
 * agent restart loads the rows an earlier process copied); either way the
 * difference is not rows copied in the window, so a new window starts from
 * the count and the last rate stands until it ends. `epoch` names the
 * table list the count is summed over: a new list is such a jump. */
typedef struct wf_rate {
    int64_t t0_ms;     /* start of the current window; 0: none yet */
    uint64_t count0;   /* the count then */
    uint64_t epoch;
    double per_second; /* over the last whole window; 0 until one ends */
} wf_rate;

void wf_rate_update(wf_rate *r, int64_t now_ms, uint64_t count, uint64_t epoch);
/* Seconds until done reaches total at this rate: 0 when nothing is left,
 * -1 when the rate is unknown. */
int64_t wf_rate_eta(uint64_t done, uint64_t total, double per_second);

typedef struct import_wf import_wf;

typedef enum {
    WF_CMD_PAUSE,
    WF_CMD_RESUME,
    WF_CMD_STOP,
    WF_CMD_SWITCH,
    WF_CMD_REVERSE,
    WF_CMD_DETACH,
    WF_CMD_VDIFF, /* start a diff at a synchronised point (import_vdiff.c) */
} wf_cmd_kind;

typedef enum { WF_SIDE_ANY, WF_SIDE_SOURCE, WF_SIDE_DEST } wf_side;

typedef struct wf_cmd_args {
    unsigned timeout_ms;  /* switch, reverse: the whole operation; 0 = 30000 */
    double max_lag_s;     /* switch, reverse: the stream must be this close; 0 = 10 */
    wf_side primary;      /* detach: the side the caller expects to keep writes (ANY: whichever has them) */
    bool force;           /* detach: without the destination, whatever it holds */
    uint64_t chunk_rows;  /* vdiff: rows per checksummed chunk; 0 = 1000 */
} wf_cmd_args;

#define CUTOVER_MAX_STEPS 16
/* The shortest timeout a switch or reverse can honour: fencing waits for
 * locks in whole seconds. */
#define CUTOVER_MIN_TIMEOUT_MS 1000

typedef struct cutover_step {
    const char *name;
    uint32_t ms;
    bool ok;
} cutover_step;

/* What a switch or reverse did, step by step. */
typedef struct cutover_report {
    cutover_step steps[CUTOVER_MAX_STEPS];
    size_t nsteps;
    vpos source; /* the source's position at the switch */
    vpos dest;   /* the destination's */
    uint32_t total_ms;
    char *fenced_accounts;
    bool rolled_back;
} cutover_report;

/* How switches and reverses ended, and how long their steps took, since
 * the agent started: what the metrics count. */
typedef enum {
    WF_CUT_SUCCESS,     /* the writes moved */
    WF_CUT_ROLLED_BACK, /* failed before its point of no return, undone */
    WF_CUT_TIMED_OUT,   /* the same, because its time ran out */
    WF_CUT_REFUSED,     /* not started: the workflow was not in the state it needs */
} wf_cut_outcome;
#define WF_CUT_OUTCOMES 4
const char *wf_cut_outcome_name(wf_cut_outcome o);

#define WF_CUT_STEP_NAMES 24
typedef struct wf_cut_step_stats {
    const char *name; /* a step's name (static) */
    prom_hist seconds;
} wf_cut_step_stats;

/* One finished (or refused) switch or reverse, for people to read (the
 * status page): when it ended, how, and each step's time. */
typedef struct wf_cut_recent {
    bool reverse;
    wf_cut_outcome outcome;
    int64_t ended_ms; /* wall clock */
    uint32_t total_ms;
    cutover_step steps[CUTOVER_MAX_STEPS];
    size_t nsteps;
} wf_cut_recent;

#define WF_CUT_RECENT 5
typedef struct wf_cutover_stats {
    uint64_t outcomes[2][WF_CUT_OUTCOMES]; /* [0] switch, [1] reverse */
    wf_cut_step_stats steps[WF_CUT_STEP_NAMES];
    size_t nsteps;
    /* The last WF_CUT_RECENT, a ring: the newest is
     * recent[(nrecorded - 1) % WF_CUT_RECENT]. */
    wf_cut_recent recent[WF_CUT_RECENT];
    uint64_t nrecorded;
} wf_cutover_stats;

/* The bounds of the step-duration histograms, in seconds. */
extern const prom_buckets wf_cut_step_buckets;

typedef struct wf_cmd_result {
    wf_err code;
    char *message;
    cutover_report report;
    wf_side primary; /* detach: the side left writable */
} wf_cmd_result;

/* Completion of a command, on the loop. */
typedef void (*wf_cmd_cb)(import_wf *wf, const wf_cmd_result *res, void *data);

typedef struct wf_vdiff_table {
    char *schema, *name;
    vdiff_result r;
} wf_vdiff_table;

/* The last VDiff of a workflow, as it stands. */
/* The names are the API's VDiffReport.state. */
typedef enum { WF_VDIFF_NONE, WF_VDIFF_RUNNING, WF_VDIFF_DONE, WF_VDIFF_ERROR, WF_VDIFF_CANCELLED } wf_vdiff_state;

const char *wf_vdiff_state_name(wf_vdiff_state s);

typedef struct wf_vdiff_report {
    wf_vdiff_state state;
    char *message;
    vpos at;             /* the synchronised point, on the writing side */
    bool writes_on_dest; /* the destination was the writing side (switched) */
    bool throttled;
    int64_t started_ms, finished_ms;
    double rows_per_second;
    int64_t eta_seconds; /* -1 unknown */
    wf_vdiff_table *tables;
    size_t ntables;
    vdiff_result total; /* sums, without samples */
} wf_vdiff_report;

void wf_vdiff_report_clear(wf_vdiff_report *r);

/* state_dir: where the definition is kept; the workflow saves its
 * milestones there. */
import_wf *import_start(uv_loop_t *loop, const import_def *def, const char *state_dir, const db_endpoint *source,
                        void (*changed)(void *), void *data);
/* Queue a command; cb runs on the loop once the workflow thread did it. */
void import_command(import_wf *wf, wf_cmd_kind kind, wf_cmd_cb cb, void *data);
/* The same with arguments, and (resume) new destination credentials: the
 * endpoint is taken and freed by the workflow. */
void import_command_with(import_wf *wf, wf_cmd_kind kind, const wf_cmd_args *args, db_endpoint *dest, wf_cmd_cb cb,
                         void *data);
/* The state as last set by the workflow's thread. */
wf_state import_state(import_wf *wf);
void import_status(import_wf *wf, wf_status *out);
/* Counts of switches and reverses, from any thread. */
void import_cutover_stats(import_wf *wf, wf_cutover_stats *out);
/* The current or last VDiff, from any thread. */
void import_vdiff_report(import_wf *wf, wf_vdiff_report *out);
const import_def *import_get_def(const import_wf *wf);
/* Frees a workflow whose thread has stopped (after WF_CMD_STOP). */
void import_free(import_wf *wf);

#endif
