/* cutover: SwitchTraffic, ReverseTraffic and Detach for an import workflow.
 *
 * A cutover moves the writes from one side to the other: a switch from the
 * source to the destination, a reverse back. Both are the same steps in
 * opposite directions (the cut_dir table names the sides and the steps):
 *   check        the running stream (forward for a switch, reverse for a
 *                reverse) is healthy and its lag under the limit
 *   fence        the side losing the writes: accounts locked, FTWRL,
 *                sessions killed, read_only (fence.c); journal "fencing"
 *                written first
 *   position     that side's final position P (fixed while fenced)
 *   catch_up     wait until the running stream has applied P
 *   stop         the running stream
 *   position     the other side's position D, where the new direction's
 *                stream starts
 *   commit       journal "committed" (P, D, what the fence changed): the
 *                point of no return
 *   release      UNLOCK TABLES; read_only and the locks stay, so only the
 *                agent (READ_ONLY ADMIN) writes on the fenced side
 *   start        the new direction's stream, from D
 *   unfence      lift the fence the opposite cutover had left on the side
 *                taking the writes
 * Any failure before "commit" undoes everything (read_only restored,
 * accounts unlocked, the stream restarted) and says which step failed;
 * after it, a failure is finished forward.
 *
 * The journal of a switch lives in the destination's sidecar schema (the
 * source is the fenced side), the journal of a reverse in the source's
 * (the destination is); the destination's row is the authority on where
 * the writes are. After a crash, cutover_recover reads both and either
 * undoes a cut operation ("fencing") or completes it ("committed"), with
 * the same code the live operation finishes with. The FTWRL dies with the
 * agent's connection; read_only and account locks do not, which is why the
 * journal records them before they are set. */
#include "workflow/cutover.h"

#include <mysqld_error.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "db/sidecar_schema.h"
#include "lib/clock.h"
#include "lib/log.h"
#include "vrepl/snapshot.h"

#define DEFAULT_TIMEOUT_MS 30000
#define DEFAULT_MAX_LAG_S 10.0
#define LOCK_WAIT_S 5

/* ---- directions ------------------------------------------------------------------------- */

typedef struct cut_dir {
    const char *verb;        /* "switch", "reverse": the journal's direction too */
    bool to_dest;            /* the writes end on the destination */
    wf_state from_state;     /* required before, and after a rollback */
    wf_state busy_state, to_state;
    const char *busy_message, *done_message;
    /* step names, as reported and as the test hook knows them */
    const char *fence_step, *from_pos_step, *stop_step, *to_pos_step, *start_step, *unfence_step;
} cut_dir;

static const cut_dir SWITCH = {
    "switch", true, WF_REPLICATING, WF_SWITCHING, WF_PRIMARY,
    "switching writes to the destination",
    "writes are on the destination; reverse replication keeps the source in sync",
    "fence_source", "source_position", "stop_forward", "dest_position", "start_reverse", "unfence_destination",
};

static const cut_dir REVERSE = {
    "reverse", false, WF_PRIMARY, WF_REVERSING, WF_REPLICATING,
    "moving writes back to the source",
    "writes are back on the source; the destination follows again",
    "fence_destination", "dest_position", "stop_reverse", "source_position", "start_forward", "unfence_source",
};

static const char *side_name(bool dest)
{
    return dest ? "destination" : "source";
}

/* ---- the journal --------------------------------------------------------------------------- */

typedef enum { J_FENCING, J_COMMITTED, J_DONE, J_ROLLED_BACK } journal_phase;
static const char *const journal_phases[] = {"fencing", "committed", "done", "rolled_back"};

typedef struct journal {
    const cut_dir *dir;
    journal_phase phase;
    bool writes_on_dest;
    vpos source, dest;
    fence_record source_fence, dest_fence;
} journal;

static void journal_clear(journal *j)
{
    vpos_clear(&j->source);
    vpos_clear(&j->dest);
    fence_record_clear(&j->source_fence);
    fence_record_clear(&j->dest_fence);
    memset(j, 0, sizeof *j);
}

static void journal_set(journal *j, journal_phase phase, bool writes_on_dest)
{
    j->phase = phase;
    j->writes_on_dest = writes_on_dest;
}

/* The side that fences (from) and the side that takes the writes (to). */
static vpos *from_pos(const cut_dir *d, journal *j)
{
    return d->to_dest ? &j->source : &j->dest;
}

static vpos *to_pos(const cut_dir *d, journal *j)
{
    return d->to_dest ? &j->dest : &j->source;
}

static fence_record *from_fence(const cut_dir *d, journal *j)
{
    return d->to_dest ? &j->source_fence : &j->dest_fence;
}

static fence_record *to_fence(const cut_dir *d, journal *j)
{
    return d->to_dest ? &j->dest_fence : &j->source_fence;
}

static const db_endpoint *from_ep(const import_wf *wf, const cut_dir *d)
{
    return d->to_dest ? &wf->source : &wf->def.dest;
}

static const db_endpoint *to_ep(const import_wf *wf, const cut_dir *d)
{
    return d->to_dest ? &wf->def.dest : &wf->source;
}

/* Where a cutover's journal row lives: on the side that is not fenced. */
static MYSQL *journal_conn(const import_wf *wf, const cut_dir *d, MYSQL *src)
{
    return d->to_dest ? wf->dest : src;
}

static int journal_write(MYSQL *m, const char *sidecar, const char *wf, const journal *j, sbuf *err)
{
    sbuf q = SBUF_INIT;
    sbuf_adds(&q, "REPLACE INTO ");
    db_add_table(&q, sidecar, "cutover");
    sbuf_adds(&q, " (workflow, direction, phase, writes_on, source_gtid, source_file, source_offset, dest_gtid, "
                  "dest_file, dest_offset, source_read_only_before, source_accounts, dest_read_only_before, "
                  "dest_accounts) VALUES (");
    const char *strs[] = {wf, j->dir->verb, journal_phases[j->phase], side_name(j->writes_on_dest),
                          j->source.gtid, j->source.file};
    for (size_t i = 0; i < 6; i++) {
        db_add_cstring(&q, strs[i] ? strs[i] : "");
        sbuf_addc(&q, ',');
    }
    sbuf_addf(&q, "%llu,", (unsigned long long)j->source.offset);
    db_add_cstring(&q, j->dest.gtid ? j->dest.gtid : "");
    sbuf_addc(&q, ',');
    db_add_cstring(&q, j->dest.file ? j->dest.file : "");
    sbuf_addf(&q, ",%llu,%d,", (unsigned long long)j->dest.offset, j->source_fence.read_only_before);
    db_add_cstring(&q, j->source_fence.accounts ? j->source_fence.accounts : "");
    sbuf_addf(&q, ",%d,", j->dest_fence.read_only_before);
    db_add_cstring(&q, j->dest_fence.accounts ? j->dest_fence.accounts : "");
    sbuf_addc(&q, ')');
    int e = db_exec(m, q.buf, err);
    sbuf_free(&q);
    return e;
}

/* found false when the workflow has no journal on this server. */
static int journal_read(MYSQL *m, const char *sidecar, const char *wf, journal *j, bool *found, sbuf *err)
{
    sbuf q = SBUF_INIT;
    sbuf_adds(&q, "SELECT direction, phase, writes_on, source_gtid, source_file, source_offset, dest_gtid, dest_file, "
                  "dest_offset, source_read_only_before, source_accounts, dest_read_only_before, dest_accounts FROM ");
    db_add_table(&q, sidecar, "cutover");
    sbuf_adds(&q, " WHERE workflow = ");
    db_add_cstring(&q, wf);
    MYSQL_RES *r;
    int e = db_query(m, q.buf, &r, err);
    sbuf_free(&q);
    *found = false;
    if (e == ER_NO_SUCH_TABLE || e == ER_BAD_DB_ERROR)
        return 0;
    if (e)
        return e;
    MYSQL_ROW row = mysql_fetch_row(r);
    if (row) {
        *found = true;
        j->dir = strcmp(row[0], REVERSE.verb) == 0 ? &REVERSE : &SWITCH;
        j->phase = J_DONE; /* a phase this version does not know: nothing to recover */
        for (size_t i = 0; i < sizeof journal_phases / sizeof journal_phases[0]; i++)
            if (strcmp(row[1], journal_phases[i]) == 0)
                j->phase = (journal_phase)i;
        j->writes_on_dest = strcmp(row[2], side_name(true)) == 0;
        vpos_set(&j->source, row[3], row[4], strtoull(row[5], NULL, 10));
        vpos_set(&j->dest, row[6], row[7], strtoull(row[8], NULL, 10));
        j->source_fence.read_only_before = atoi(row[9]) != 0;
        j->source_fence.accounts = xstrdup(row[10]);
        j->dest_fence.read_only_before = atoi(row[11]) != 0;
        j->dest_fence.accounts = xstrdup(row[12]);
    }
    mysql_free_result(r);
    return 0;
}

static void fence_copy(fence_record *dst, const fence_record *src)
{
    fence_record_clear(dst);
    dst->read_only_before = src->read_only_before;
    dst->accounts = xstrdup(src->accounts ? src->accounts : "");
}

static bool fence_known(const fence_record *f)
{
    return f->accounts && *f->accounts;
}

void cutover_fence_keep(import_wf *wf)
{
    if (!wf->cutover_known)
        return;
    bool source = wf->primary; /* switched: the source is fenced; reversed: the destination */
    if (!source && !fence_known(&wf->dest_fence))
        return;
    bool raised = false;
    sbuf err = SBUF_INIT;
    if (fence_keep(source ? &wf->source : &wf->def.dest, source ? &wf->source_fence : &wf->dest_fence, &raised,
                   &err) == 0 && raised)
        log_event(LOG_WARN, "cutover", LOG_ABOUT(.workflow = wf->def.name),
                  "the %s, which this workflow keeps fenced, was writable again (read_only does not survive a "
                  "restart): fenced again. Set read_only=ON in its configuration to close that window",
                  source ? "source" : "destination");
    sbuf_free(&err); /* a server that does not answer is looked at again later */
}

/* ---- counting (the metrics) ------------------------------------------------------------------ */

static const double cut_step_le[] = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30};
const prom_buckets wf_cut_step_buckets = {cut_step_le, sizeof cut_step_le / sizeof cut_step_le[0]};

const char *wf_cut_outcome_name(wf_cut_outcome o)
{
    static const char *const names[WF_CUT_OUTCOMES] = {"success", "rolled_back", "timed_out", "refused"};
    return (unsigned)o < WF_CUT_OUTCOMES ? names[o] : "?";
}

static wf_cut_step_stats *step_stats(wf_cutover_stats *st, const char *name)
{
    for (size_t i = 0; i < st->nsteps; i++)
        if (strcmp(st->steps[i].name, name) == 0)
            return &st->steps[i];
    if (st->nsteps == WF_CUT_STEP_NAMES)
        return NULL;
    st->steps[st->nsteps].name = name;
    return &st->steps[st->nsteps++];
}

/* One finished (or refused) switch or reverse and its steps' times. */
static void cut_count(import_wf *wf, const cut_dir *d, wf_cut_outcome outcome, const cutover_report *rep)
{
    uv_mutex_lock(&wf->lock);
    wf_cutover_stats *st = &wf->cut_stats;
    st->outcomes[!d->to_dest][outcome]++;
    for (size_t i = 0; rep && i < rep->nsteps; i++) {
        wf_cut_step_stats *ss = step_stats(st, rep->steps[i].name);
        if (ss)
            prom_hist_observe(&ss->seconds, &wf_cut_step_buckets, rep->steps[i].ms / 1000.0);
    }
    wf_cut_recent *r = &st->recent[st->nrecorded++ % WF_CUT_RECENT];
    memset(r, 0, sizeof *r);
    r->reverse = !d->to_dest;
    r->outcome = outcome;
    r->ended_ms = clock_wall_ms();
    if (rep) {
        r->total_ms = rep->total_ms;
        r->nsteps = rep->nsteps;
        memcpy(r->steps, rep->steps, rep->nsteps * sizeof rep->steps[0]);
    }
    uv_mutex_unlock(&wf->lock);
}

/* ---- an operation and its steps ----------------------------------------------------------- */

typedef struct op {
    import_wf *wf;
    wf_cmd *cmd;
    const cut_dir *dir;
    cutover_report *rep;
    int64_t started, step_started, deadline;
    const char *step;
    MYSQL *src; /* the source: the reverse's journal, the switch's new stream position */
    sbuf err;
} op;

static void op_begin(op *o, import_wf *wf, wf_cmd *c, const cut_dir *d)
{
    memset(o, 0, sizeof *o);
    o->wf = wf;
    o->cmd = c;
    o->dir = d;
    o->rep = &c->res.report;
    o->started = o->step_started = clock_mono_ms();
    unsigned timeout = c->args.timeout_ms ? c->args.timeout_ms : DEFAULT_TIMEOUT_MS;
    o->deadline = o->started + timeout;
}

/* For tests: TABLET_AGENT_TEST_PAUSE_AFTER=step[:ms] sleeps after that step
 * so a test can kill -9 the agent at a known point. */
static void test_pause(const char *step)
{
    const char *want = getenv("TABLET_AGENT_TEST_PAUSE_AFTER");
    size_t n = strlen(step);
    if (!want || strncmp(want, step, n) != 0 || (want[n] && want[n] != ':'))
        return;
    long ms = want[n] == ':' ? atol(want + n + 1) : 5000;
    log_warn("cutover", "test hook: pausing %ld ms after step %s", ms, step);
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* Waiting for a lock counts against the operation's deadline: never
 * longer than what is left of it (but at least a second, the server's
 * unit), nor than LOCK_WAIT_S. */
static unsigned op_lock_wait_s(const op *o)
{
    int64_t left = (o->deadline - clock_mono_ms()) / 1000;
    return left < 1 ? 1 : left > LOCK_WAIT_S ? LOCK_WAIT_S : (unsigned)left;
}

/* Past the deadline before the point of no return: give up (-2). */
static int op_late(op *o)
{
    if (clock_mono_ms() < o->deadline)
        return 0;
    sbuf_setf(&o->err, "the operation's time (timeout_ms %u) ran out", o->cmd->args.timeout_ms ? o->cmd->args.timeout_ms
                                                                                                : DEFAULT_TIMEOUT_MS);
    return -2;
}

/* Steps are timed and reported; recovery after a crash runs some of the
 * same code without an operation (o NULL). */
static void step_start(op *o, const char *name)
{
    if (!o)
        return;
    o->step = name;
    o->step_started = clock_mono_ms();
}

static void step_end(op *o, bool ok)
{
    if (!o)
        return;
    cutover_report *r = o->rep;
    if (r->nsteps < CUTOVER_MAX_STEPS)
        r->steps[r->nsteps++] = (cutover_step){o->step, (uint32_t)(clock_mono_ms() - o->step_started), ok};
    if (ok)
        test_pause(o->step);
}

/* Wait until the stream has applied want, or the operation's deadline. */
static int wait_applied(op *o, stream *s, server_flavor flavor, const vpos *want)
{
    for (;;) {
        stream_status st;
        stream_status_get(s, &st);
        bool ok = vpos_reached(flavor, &st.applied, want);
        bool dead = st.state == STREAM_ERROR || st.state == STREAM_STOPPED;
        sbuf_setf(&o->err, "the stream is %s at gtid '%s' (%s)", stream_state_name(st.state), st.applied.gtid,
                  st.message);
        stream_status_clear(&st);
        if (ok)
            return 0;
        if (dead)
            return -1;
        if (clock_mono_ms() >= o->deadline) {
            sbuf msg = SBUF_INIT;
            sbuf_addf(&msg, "timed out waiting to apply '%s': %s", want->gtid, o->err.buf);
            sbuf_setf(&o->err, "%s", msg.buf);
            sbuf_free(&msg);
            return -2;
        }
        struct timespec ts = {0, 2 * 1000000L};
        nanosleep(&ts, NULL);
    }
}

/* The stream is running, healthy, and close enough. */
static int check_stream(op *o, stream *s)
{
    double max_lag = o->cmd->args.max_lag_s > 0 ? o->cmd->args.max_lag_s : DEFAULT_MAX_LAG_S;
    if (!s) {
        sbuf_setf(&o->err, "the stream is not running");
        return -1;
    }
    stream_status st;
    stream_status_get(s, &st);
    int rc = 0;
    if (st.state != STREAM_RUNNING || st.error) {
        sbuf_setf(&o->err, "the stream is %s (%s)", stream_state_name(st.state), st.message);
        rc = -1;
    } else if (st.lag_seconds > max_lag) {
        sbuf_setf(&o->err, "replication lag is %.0f s, above the limit of %.0f s; wait for it to catch up",
                  st.lag_seconds, max_lag);
        rc = -1;
    }
    stream_status_clear(&st);
    return rc;
}

/* Make sure the named stream's saved position is at least `at`. */
static int stream_position_at_least(MYSQL *m, const char *sidecar, const char *name, server_flavor flavor,
                                    const vpos *at, sbuf *err)
{
    vpos saved = {0};
    bool found = false;
    /* the sidecar may not exist yet on the source */
    int e = sidecar_schema_create(m, sidecar, SIDECAR_STREAMS | SIDECAR_CUTOVER, err);
    if (!e)
        e = applier_position_read(m, sidecar, name, &saved, NULL, &found, err);
    if (!e && (!found || !vpos_reached(flavor, &saved, at))) {
        sbuf q = SBUF_INIT;
        applier_position_sql(sidecar, name, at, 0, 0, &q);
        e = db_exec(m, q.buf, err);
        sbuf_free(&q);
    }
    vpos_clear(&saved);
    return e;
}

/* ---- switch and reverse ------------------------------------------------------------------------ */

/* Everything up to the point of no return; on failure the caller undoes
 * the fence (cut_undo) and restarts the stream. 0, -1 failed, -2 late. */
static int cut_prepare(op *o, journal *j, fence **f)
{
    import_wf *wf = o->wf;
    const cut_dir *d = o->dir;
    stream *running = d->to_dest ? wf->fwd : wf->rev;
    MYSQL *jm = journal_conn(wf, d, o->src);
    int e;
    step_start(o, "check");
    if (check_stream(o, running) != 0)
        return -1;
    step_end(o, true);

    step_start(o, d->fence_step);
    journal_set(j, J_FENCING, !d->to_dest);
    fence_record planned = {0};
    if ((e = fence_plan(from_ep(wf, d), wf->def.fence_exempt, &planned, &o->err)) != 0 ||
        (fence_copy(from_fence(d, j), &planned),
         (e = sidecar_schema_create(jm, wf->def.sidecar, SIDECAR_STREAMS | SIDECAR_CUTOVER, &o->err)) != 0) ||
        (e = journal_write(jm, wf->def.sidecar, wf->def.name, j, &o->err)) != 0 ||
        (e = fence_raise(from_ep(wf, d), &planned, op_lock_wait_s(o), f, &o->err)) != 0) {
        fence_record_clear(&planned);
        return -1;
    }
    fence_record_clear(&planned);
    if (op_late(o))
        return -2;
    step_end(o, true);

    step_start(o, d->from_pos_step);
    if (snapshot_position(fence_conn(*f), wf->flavor, from_pos(d, j), &o->err) != 0)
        return -1;
    step_end(o, true);

    step_start(o, "catch_up");
    int w = wait_applied(o, running, wf->flavor, from_pos(d, j));
    if (w != 0)
        return w;
    step_end(o, true);

    step_start(o, d->stop_step);
    wf_stream_stop(wf, !d->to_dest);
    step_end(o, true);

    step_start(o, d->to_pos_step);
    if (snapshot_position(d->to_dest ? wf->dest : o->src, wf->flavor, to_pos(d, j), &o->err) != 0)
        return -1;
    step_end(o, true);
    return 0;
}

/* Before the point of no return, or after a crash cut it there: lift the
 * fence (f: still held by this process), journal the rollback. */
static int cut_undo(import_wf *wf, const cut_dir *d, journal *j, fence *f, MYSQL *src, sbuf *err)
{
    int e = f ? fence_undo(f, from_fence(d, j), err) : fence_lift(from_ep(wf, d), from_fence(d, j), err);
    journal_set(j, J_ROLLED_BACK, !d->to_dest);
    MYSQL *jm = journal_conn(wf, d, src);
    int e2 = jm ? journal_write(jm, wf->def.sidecar, wf->def.name, j, err) : 0;
    return e ? e : e2;
}

/* After the point of no return, live (o set) or found committed after a
 * crash (o NULL): the new direction's stream starts at the to side's
 * position, the fence the opposite cutover left on the to side comes off,
 * the authority's journal (the destination's) says where the writes are,
 * and this cutover's journal says done. Idempotent, so recovery can finish
 * whatever a crash cut. Failures are reported, not undone: there is no
 * way back from here but forward. */
static int cut_complete(op *o, import_wf *wf, const cut_dir *d, journal *j, MYSQL *src, sbuf *err)
{
    int e = 0;
    step_start(o, d->start_step);
    sbuf name = SBUF_INIT;
    wf_stream_name(wf, d->to_dest, &name);
    e = stream_position_at_least(d->to_dest ? src : wf->dest, wf->def.sidecar, name.buf, wf->flavor, to_pos(d, j), err);
    sbuf_free(&name);
    if (o) {
        if (!d->to_dest)
            vpos_set(&wf->position, j->source.gtid, j->source.file, j->source.offset);
        wf_stream_spawn(wf, d->to_dest, to_pos(d, j), false);
    }
    step_end(o, true);

    step_start(o, d->unfence_step);
    fence_record *tf = to_fence(d, j);
    if (tf->accounts && fence_lift(to_ep(wf, d), tf, err) != 0) {
        log_event(LOG_ERROR, "cutover", LOG_ABOUT(.workflow = wf->def.name),
                  "opening writes on the %s failed: %s; run SET GLOBAL read_only=0 there", side_name(d->to_dest),
                  err->buf);
        e = e ? e : -1;
    }
    fence_record_clear(tf);
    step_end(o, true);

    if (!d->to_dest) { /* the authority's row, before this one says done */
        journal a = {0};
        bool found = false;
        int ae = journal_read(wf->dest, wf->def.sidecar, wf->def.name, &a, &found, err);
        if (ae == 0 && found) {
            fence_copy(&a.dest_fence, &j->dest_fence);
            a.writes_on_dest = false;
            ae = journal_write(wf->dest, wf->def.sidecar, wf->def.name, &a, err);
        }
        journal_clear(&a);
        if (ae != 0) {
            /* The authority still says the destination writes: this row
             * stays COMMITTED so that a restarted agent finishes the reverse
             * instead of believing the authority and resuming as PRIMARY. */
            log_error("cutover", "%s: recording the reverse on the destination failed: %s; the reverse is done, and "
                      "the agent records it when it starts again", wf->def.name, err->buf);
            return e ? e : -1;
        }
    }
    journal_set(j, J_DONE, d->to_dest);
    if (journal_write(journal_conn(wf, d, src), wf->def.sidecar, wf->def.name, j, err) != 0)
        e = e ? e : -1;
    return e;
}

static void cut_report(op *o, journal *j)
{
    vpos_set(&o->rep->source, j->source.gtid, j->source.file, j->source.offset);
    vpos_set(&o->rep->dest, j->dest.gtid, j->dest.file, j->dest.offset);
    const fence_record *ff = from_fence(o->dir, j);
    o->rep->fenced_accounts = xstrdup(ff->accounts ? ff->accounts : "");
    o->rep->total_ms = (uint32_t)(clock_mono_ms() - o->started);
}

static void cut_failed(op *o, journal *j, fence *f, int rc)
{
    import_wf *wf = o->wf;
    const cut_dir *d = o->dir;
    sbuf uerr = SBUF_INIT, msg = SBUF_INIT;
    int e = cut_undo(wf, d, j, f, o->src, &uerr);
    if (!(d->to_dest ? wf->fwd : wf->rev))
        wf_stream_spawn(wf, !d->to_dest, d->to_dest ? &wf->position : NULL, false);
    sbuf_addf(&msg, "%s rolled back", d->verb);
    wf_set(wf, d->from_state, "", msg.buf);
    sbuf_setf(&msg, "%s failed at step %s: %s; ", d->verb, o->step, o->err.buf);
    if (e)
        sbuf_addf(&msg, "rolling back the fence failed too (%s); check read_only and account locks on the %s",
                  uerr.buf, side_name(!d->to_dest));
    else
        sbuf_addf(&msg, "rolled back: writes are open on the %s again and the %s stream runs", side_name(!d->to_dest),
                  d->to_dest ? "forward" : "reverse");
    o->rep->total_ms = (uint32_t)(clock_mono_ms() - o->started);
    o->rep->rolled_back = true;
    cut_count(wf, d, rc == -2 ? WF_CUT_TIMED_OUT : WF_CUT_ROLLED_BACK, o->rep);
    log_event(LOG_ERROR, "cutover", LOG_ABOUT(.workflow = wf->def.name), "%s", msg.buf);
    wf_cmd_done(wf, o->cmd, rc == -2 ? WF_ETIMEOUT : WF_EABORTED, msg.buf);
    sbuf_free(&uerr);
    sbuf_free(&msg);
}

static void cut_succeeded(op *o, journal *j, fence *f)
{
    import_wf *wf = o->wf;
    const cut_dir *d = o->dir;
    sbuf err = SBUF_INIT;
    step_start(o, "release_fence");
    if (f)
        fence_release(f, &err);
    step_end(o, true);
    cut_complete(o, wf, d, j, o->src, &err);
    wf->primary = d->to_dest;
    fence_copy(d->to_dest ? &wf->source_fence : &wf->dest_fence, from_fence(d, j));
    fence_record_clear(d->to_dest ? &wf->dest_fence : &wf->source_fence);
    cut_report(o, j);
    cut_count(wf, d, WF_CUT_SUCCESS, o->rep);
    wf_set(wf, d->to_state, "", d->done_message);
    log_event(LOG_INFO, "cutover", LOG_ABOUT(.workflow = wf->def.name),
              "%s done in %u ms at source '%s', destination '%s'", d->verb, o->rep->total_ms, j->source.gtid,
              j->dest.gtid);
    wf_cmd_done(wf, o->cmd, WF_OK, NULL);
    sbuf_free(&err);
}

static void cutover_move(import_wf *wf, wf_cmd *c, const cut_dir *d)
{
    op o;
    op_begin(&o, wf, c, d);
    wf_state st = wf_state_get(wf);
    if (st != d->from_state || wf->primary == d->to_dest) {
        sbuf_setf(&o.err, "workflow %s is %s; a %s needs it %s%s", wf->def.name, wf_state_name(st), d->verb,
                  wf_state_name(d->from_state), d->to_dest ? "" : " (switched)");
        cut_count(wf, d, WF_CUT_REFUSED, NULL);
        wf_cmd_done(wf, c, WF_ESTATE, o.err.buf);
        sbuf_free(&o.err);
        return;
    }
    if (wf_milestone(wf, &wf->def.cutover_started, &o.err) != 0) {
        cut_count(wf, d, WF_CUT_REFUSED, NULL);
        wf_cmd_done(wf, c, WF_EINTERNAL, o.err.buf);
        sbuf_free(&o.err);
        return;
    }
    wf_set(wf, d->busy_state, "", d->busy_message);
    journal j = {.dir = d};
    fence *f = NULL;
    fence_copy(to_fence(d, &j), d->to_dest ? &wf->dest_fence : &wf->source_fence);
    /* Fresh connections: the workflow's own may be idle since a server
     * restarted, and a journal write on a dead one after the point of no
     * return would be lost. */
    wf_disconnect(wf);
    int rc = wf_connect(wf, &o.err) == 0 && wf_connect_source(wf, &o.src, &o.err) == 0 ? cut_prepare(&o, &j, &f) : -1;
    if (rc == 0) {
        step_start(&o, "commit");
        journal_set(&j, J_COMMITTED, d->to_dest);
        if (journal_write(journal_conn(wf, d, o.src), wf->def.sidecar, wf->def.name, &j, &o.err) != 0)
            rc = -1;
        else
            step_end(&o, true);
    }
    if (rc != 0) {
        step_end(&o, false);
        cut_failed(&o, &j, f, rc);
    } else {
        cut_succeeded(&o, &j, f);
    }
    if (o.src)
        mysql_close(o.src);
    journal_clear(&j);
    sbuf_free(&o.err);
}

void cutover_switch(import_wf *wf, wf_cmd *c)
{
    cutover_move(wf, c, &SWITCH);
}

void cutover_reverse(import_wf *wf, wf_cmd *c)
{
    cutover_move(wf, c, &REVERSE);
}

/* ---- detach ---------------------------------------------------------------------------------------- */

/* Without the destination: allowed when the workflow never wrote there, or
 * when the caller says it is gone for good (force). Fences stay as they
 * are: opening writes on the source could serve data older than what the
 * destination took since a switch, and that is for a person to decide. */
static wf_err detach_without_destination(import_wf *wf, wf_cmd *c, const char *why, sbuf *note, sbuf *err)
{
    if (!wf->def.dest_written) {
        sbuf_adds(note, "nothing was ever written to the destination; writes stay open on the source");
        c->res.primary = WF_SIDE_SOURCE;
        return WF_OK;
    }
    if (!c->args.force) {
        sbuf_setf(err, "cannot reach the destination (%s): it holds this workflow's %s; retry when it answers, or "
                       "detach with force if it is gone for good", why,
                  wf->def.cutover_started ? "writes since a switch, or its fence" : "copied tables and sidecar state");
        return WF_EUNAVAILABLE;
    }
    sbuf_adds(note, "forced without the destination: its tables and sidecar schema stay as they are");
    if (wf->def.cutover_started) {
        sbuf_adds(note, "; a switch was made, so the source may still be fenced by it (read_only, locked accounts");
        if (fence_known(&wf->source_fence))
            sbuf_addf(note, ": %s", wf->source_fence.accounts);
        sbuf_adds(note, "): open it by hand only if its data is what the application should see");
    }
    c->res.primary = WF_SIDE_ANY;
    return WF_OK;
}

/* With the destination: the journals say which side has the latest data;
 * only that side may stay writable. */
static wf_err detach_with_destination(import_wf *wf, wf_cmd *c, sbuf *note, sbuf *err)
{
    if (!wf->cutover_known && wf->def.cutover_started) {
        step_result r = cutover_recover(wf, err);
        if (r != STEP_OK)
            return WF_EUNAVAILABLE;
    }
    bool dest = wf->def.cutover_started && wf->primary;
    wf_side want = c->args.primary;
    if (want != WF_SIDE_ANY && (want == WF_SIDE_DEST) != dest) {
        sbuf_setf(err, "workflow %s has its writes on the %s%s; keeping the %s writable would leave both servers "
                       "taking writes. %s first, then detach", wf->def.name, side_name(dest),
                  dest ? " (switched)" : "", side_name(!dest),
                  dest ? "Reverse (ReverseTraffic)" : "Switch (SwitchTraffic)");
        return WF_ESTATE;
    }
    if (dest && fence_known(&wf->dest_fence) && fence_lift(&wf->def.dest, &wf->dest_fence, err) != 0)
        return WF_EUNAVAILABLE;
    if (dest)
        sbuf_adds(note, "writes stay open on the destination; the source stays read-only");
    else if (fence_known(&wf->dest_fence))
        sbuf_adds(note, "writes stay open on the source; the destination stays read-only");
    else
        sbuf_adds(note, "writes stay open on the source");
    if (sidecar_forget(wf->dest, wf->def.sidecar, wf->def.name, err) != 0)
        return WF_EUNAVAILABLE;
    c->res.primary = dest ? WF_SIDE_DEST : WF_SIDE_SOURCE;
    return WF_OK;
}

void cutover_detach(import_wf *wf, wf_cmd *c)
{
    sbuf err = SBUF_INIT, note = SBUF_INIT, why = SBUF_INIT;
    wf_streams_stop(wf);
    wf_disconnect(wf); /* fresh connections: an old one says nothing about the server now */
    wf_err code = wf_connect(wf, &why) == 0 || wf->dest ? detach_with_destination(wf, c, &note, &err)
                                                     : detach_without_destination(wf, c, why.buf, &note, &err);
    if (code) {
        wf_cmd_done(wf, c, code, err.buf);
    } else {
        MYSQL *src = NULL;
        sbuf serr = SBUF_INIT;
        if (wf_connect_source(wf, &src, &serr) == 0) {
            sidecar_forget(src, wf->def.sidecar, wf->def.name, &serr);
            mysql_close(src);
        } else if (wf->def.cutover_started) {
            sbuf_adds(&note, "; the source's sidecar rows of reverse replication stay (it could not be reached)");
        }
        sbuf_free(&serr);
        wf->detached = true;
        log_event(LOG_INFO, "cutover", LOG_ABOUT(.workflow = wf->def.name), "detached: %s", note.buf);
        wf_cmd_done(wf, c, WF_OK, note.buf);
        uv_mutex_lock(&wf->lock);
        wf->stop = true;
        uv_mutex_unlock(&wf->lock);
    }
    sbuf_free(&err);
    sbuf_free(&note);
    sbuf_free(&why);
}

/* ---- recovery ---------------------------------------------------------------------------------------- */

/* A cutover whose journal says it was cut: before its point of no return
 * it is undone, after it finished, by the code the live operation uses. */
static step_result recover_one(import_wf *wf, journal *j, MYSQL *src, sbuf *err)
{
    const cut_dir *d = j->dir;
    if (j->phase == J_FENCING) {
        log_event(LOG_WARN, "cutover", LOG_ABOUT(.workflow = wf->def.name),
                  "a %s was cut before its point of no return; rolling it back", d->verb);
        return cut_undo(wf, d, j, NULL, src, err) ? STEP_TRANSIENT : STEP_OK;
    }
    if (j->phase == J_COMMITTED) {
        log_event(LOG_WARN, "cutover", LOG_ABOUT(.workflow = wf->def.name),
                  "a %s was cut after its point of no return; finishing it", d->verb);
        /* the FTWRL died with the old process; read_only and the locks are
         * set again in case they were not yet */
        if (fence_reapply(from_ep(wf, d), from_fence(d, j), err) != 0 || cut_complete(NULL, wf, d, j, src, err) != 0)
            return STEP_TRANSIENT;
    }
    return STEP_OK;
}

step_result cutover_recover(import_wf *wf, sbuf *err)
{
    journal sj = {0}, rj = {0};
    bool have_s = false, have_r = false;
    MYSQL *src = NULL;
    step_result r = STEP_OK;
    if (journal_read(wf->dest, wf->def.sidecar, wf->def.name, &sj, &have_s, err) != 0 ||
        wf_connect_source(wf, &src, err) != 0 ||
        journal_read(src, wf->def.sidecar, wf->def.name, &rj, &have_r, err) != 0)
        r = STEP_TRANSIENT;
    /* A reverse can only have run after a switch, whose row stays. */
    if (r == STEP_OK && have_s)
        r = recover_one(wf, &sj, src, err);
    if (r == STEP_OK && have_r && have_s)
        r = recover_one(wf, &rj, src, err);
    if (r == STEP_OK && have_s) { /* the authority's row, as recovery left it */
        journal_clear(&sj);
        if (journal_read(wf->dest, wf->def.sidecar, wf->def.name, &sj, &have_s, err) != 0)
            r = STEP_TRANSIENT;
    }
    if (r == STEP_OK && have_s) {
        wf->primary = sj.writes_on_dest;
        fence_copy(&wf->source_fence, &sj.source_fence);
        fence_copy(&wf->dest_fence, &sj.dest_fence);
    }
    wf->cutover_known = r == STEP_OK;
    if (src)
        mysql_close(src);
    journal_clear(&sj);
    journal_clear(&rj);
    return r;
}
