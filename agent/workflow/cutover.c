/* cutover: SwitchTraffic, ReverseTraffic and Detach for an import workflow.
 *
 * A switch moves writes from the source to the destination:
 *   check        forward stream running, lag under the limit
 *   fence        the source: accounts locked, FTWRL, sessions killed,
 *                read_only (fence.c); journal "fencing" written first
 *   position     the source's final position P (fixed while fenced)
 *   catch_up     wait until the forward stream has applied P
 *   stop_forward
 *   dest_position  D, where reverse replication starts
 *   commit       journal "committed" (P, D, what the fence changed): the
 *                point of no return
 *   release      UNLOCK TABLES; read_only and the locks stay, so only the
 *                agent (READ_ONLY ADMIN) writes on the source
 *   reverse      start the reverse stream destination -> source from D
 * Any failure before "commit" undoes everything (read_only restored,
 * accounts unlocked, forward stream restarted) and says which step failed;
 * after it, a failure is finished forward. A reverse is the mirror image,
 * fencing the destination and lifting the source's fence at the end.
 *
 * The journal of a switch lives in the destination's sidecar schema (the
 * source is the fenced side), the journal of a reverse in the source's
 * (the destination is). After a crash, cutover_recover reads both and
 * either undoes a cut operation ("fencing") or completes it ("committed").
 * The FTWRL dies with the agent's connection; read_only and account locks
 * do not, which is why the journal records them before they are set. */
#include "workflow/cutover.h"

#include <mysqld_error.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "db/sidecar_schema.h"
#include "lib/clock.h"
#include "lib/gtid.h"
#include "lib/log.h"
#include "vrepl/snapshot.h"

#define DEFAULT_TIMEOUT_MS 30000
#define DEFAULT_MAX_LAG_S 10.0
#define LOCK_WAIT_S 5

typedef struct journal {
    char *direction; /* "switch" or "reverse" */
    char *phase;     /* "fencing", "committed", "done", "rolled_back" */
    char *writes_on; /* "source" or "destination" */
    vpos source, dest;
    fence_record source_fence, dest_fence;
} journal;

static void journal_clear(journal *j)
{
    free(j->direction);
    free(j->phase);
    free(j->writes_on);
    vpos_clear(&j->source);
    vpos_clear(&j->dest);
    fence_record_clear(&j->source_fence);
    fence_record_clear(&j->dest_fence);
    memset(j, 0, sizeof *j);
}

/* ---- the journal table ----------------------------------------------------------------- */

static int journal_write(MYSQL *m, const char *sidecar, const char *wf, const journal *j, sbuf *err)
{
    sbuf q = SBUF_INIT;
    sbuf_adds(&q, "REPLACE INTO ");
    db_add_table(&q, sidecar, "cutover");
    sbuf_adds(&q, " (workflow, direction, phase, writes_on, source_gtid, source_file, source_offset, dest_gtid, "
                  "dest_file, dest_offset, source_read_only_before, source_accounts, dest_read_only_before, "
                  "dest_accounts) VALUES (");
    const char *strs[] = {wf, j->direction, j->phase, j->writes_on, j->source.gtid, j->source.file};
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
        j->direction = xstrdup(row[0]);
        j->phase = xstrdup(row[1]);
        j->writes_on = xstrdup(row[2]);
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

static void journal_set(journal *j, const char *direction, const char *phase, const char *writes_on)
{
    char *d = xstrdup(direction), *p = xstrdup(phase), *w = xstrdup(writes_on); /* may alias j's */
    free(j->direction);
    free(j->phase);
    free(j->writes_on);
    j->direction = d;
    j->phase = p;
    j->writes_on = w;
}

static void fence_copy(fence_record *dst, const fence_record *src)
{
    fence_record_clear(dst);
    dst->read_only_before = src->read_only_before;
    dst->accounts = xstrdup(src->accounts ? src->accounts : "");
}

/* ---- steps -------------------------------------------------------------------------------- */

typedef struct op {
    import_wf *wf;
    wf_cmd *cmd;
    cutover_report *rep;
    int64_t started, step_started, deadline;
    const char *step;
    sbuf err;
} op;

static void op_begin(op *o, import_wf *wf, wf_cmd *c)
{
    memset(o, 0, sizeof *o);
    o->wf = wf;
    o->cmd = c;
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

static void step_start(op *o, const char *name)
{
    o->step = name;
    o->step_started = clock_mono_ms();
}

static void step_end(op *o, bool ok)
{
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

static void op_fail(op *o, wf_err code, const char *undo)
{
    sbuf msg = SBUF_INIT;
    sbuf_addf(&msg, "%s failed at step %s: %s; %s", o->cmd->kind == WF_CMD_SWITCH ? "switch" : "reverse", o->step,
              o->err.buf, undo);
    o->rep->total_ms = (uint32_t)(clock_mono_ms() - o->started);
    o->rep->rolled_back = true;
    log_error("cutover", "%s: %s", o->wf->def.name, msg.buf);
    wf_cmd_done(o->wf, o->cmd, code, msg.buf);
    sbuf_free(&msg);
    sbuf_free(&o->err);
}

static void op_succeed(op *o)
{
    o->rep->total_ms = (uint32_t)(clock_mono_ms() - o->started);
    wf_cmd_done(o->wf, o->cmd, WF_OK, NULL);
    sbuf_free(&o->err);
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

static void reverse_name(const import_wf *wf, sbuf *out)
{
    sbuf_addf(out, "%s.reverse", wf->def.name);
}

/* ---- switch ----------------------------------------------------------------------------------- */

/* Everything up to the point of no return; on failure, the fence is undone
 * here and the caller restarts forward replication. */
static int switch_prepare(op *o, journal *j, fence **f)
{
    import_wf *wf = o->wf;
    int e;
    step_start(o, "check");
    if (check_stream(o, wf->fwd) != 0)
        return -1;
    step_end(o, true);

    step_start(o, "fence_source");
    journal_set(j, "switch", "fencing", "source");
    fence_record planned = {0};
    if ((e = fence_plan(&wf->source, wf->def.fence_exempt, &planned, &o->err)) != 0 ||
        (fence_copy(&j->source_fence, &planned), (e = journal_write(wf->dest, wf->def.sidecar, wf->def.name, j, &o->err)) != 0) ||
        (e = fence_raise(&wf->source, &planned, op_lock_wait_s(o), f, &o->err)) != 0) {
        fence_record_clear(&planned);
        return -1;
    }
    fence_record_clear(&planned);
    if (op_late(o))
        return -2;
    step_end(o, true);

    step_start(o, "source_position");
    if (snapshot_position(fence_conn(*f), wf->flavor, &j->source, &o->err) != 0)
        return -1;
    step_end(o, true);

    step_start(o, "catch_up");
    int w = wait_applied(o, wf->fwd, wf->flavor, &j->source);
    if (w != 0)
        return w;
    step_end(o, true);

    step_start(o, "stop_forward");
    wf_stream_stop(wf, false);
    step_end(o, true);

    step_start(o, "dest_position");
    if (snapshot_position(wf->dest, wf->flavor, &j->dest, &o->err) != 0)
        return -1;
    step_end(o, true);
    return 0;
}

static void switch_undo(op *o, journal *j, fence *f, int rc)
{
    import_wf *wf = o->wf;
    sbuf uerr = SBUF_INIT;
    int e = f ? fence_undo(f, &j->source_fence, &uerr) : fence_lift(&wf->source, &j->source_fence, &uerr);
    journal_set(j, "switch", "rolled_back", "source");
    journal_write(wf->dest, wf->def.sidecar, wf->def.name, j, &uerr);
    if (!wf->fwd)
        wf_stream_spawn(wf, false, &wf->position, false);
    wf_set(wf, WF_REPLICATING, "", "switch rolled back");
    op_fail(o, rc == -2 ? WF_ETIMEOUT : WF_EABORTED,
            e ? "rolling back the fence failed too; check read_only and account locks on the source"
              : "rolled back: writes are open on the source again and forward replication runs");
    sbuf_free(&uerr);
}

/* After the point of no return: finish, whatever it takes (recovery
 * finishes it again after a crash). */
static void switch_finish(op *o, journal *j, fence *f)
{
    import_wf *wf = o->wf;
    sbuf err = SBUF_INIT, name = SBUF_INIT;
    step_start(o, "release_fence");
    if (f)
        fence_release(f, &err);
    step_end(o, true);

    step_start(o, "start_reverse");
    MYSQL *src = NULL;
    reverse_name(wf, &name);
    if (wf_connect_source(wf, &src, &err) == 0)
        stream_position_at_least(src, wf->def.sidecar, name.buf, wf->flavor, &j->dest, &err);
    if (src)
        mysql_close(src);
    wf_stream_spawn(wf, true, &j->dest, false);
    step_end(o, true);

    step_start(o, "unfence_destination"); /* fenced by an earlier reverse */
    if (j->dest_fence.accounts && fence_lift(&wf->def.dest, &j->dest_fence, &err) != 0)
        log_error("cutover", "%s: opening writes on the destination failed: %s; run SET GLOBAL read_only=0 there",
                  wf->def.name, err.buf);
    fence_record_clear(&j->dest_fence);
    fence_record_clear(&wf->dest_fence);
    step_end(o, true);

    wf->primary = true;
    fence_copy(&wf->source_fence, &j->source_fence);
    journal_set(j, "switch", "done", "destination");
    journal_write(wf->dest, wf->def.sidecar, wf->def.name, j, &err);
    vpos_set(&o->rep->source, j->source.gtid, j->source.file, j->source.offset);
    vpos_set(&o->rep->dest, j->dest.gtid, j->dest.file, j->dest.offset);
    o->rep->fenced_accounts = xstrdup(j->source_fence.accounts ? j->source_fence.accounts : "");
    wf_set(wf, WF_PRIMARY, "", "writes are on the destination; reverse replication keeps the source in sync");
    log_info("cutover", "%s: switched in %lld ms at source '%s', destination '%s'", wf->def.name,
             (long long)(clock_mono_ms() - o->started), j->source.gtid, j->dest.gtid);
    op_succeed(o);
    sbuf_free(&err);
    sbuf_free(&name);
}

void cutover_switch(import_wf *wf, wf_cmd *c)
{
    op o;
    op_begin(&o, wf, c);
    wf_state st = wf_state_get(wf);
    if (st != WF_REPLICATING || wf->primary) {
        sbuf_setf(&o.err, "workflow %s is %s; a switch needs it REPLICATING", wf->def.name, wf_state_name(st));
        wf_cmd_done(wf, c, WF_ESTATE, o.err.buf);
        sbuf_free(&o.err);
        return;
    }
    if (wf_milestone(wf, &wf->def.cutover_started, &o.err) != 0) {
        wf_cmd_done(wf, c, WF_EINTERNAL, o.err.buf);
        sbuf_free(&o.err);
        return;
    }
    wf_set(wf, WF_SWITCHING, "", "switching writes to the destination");
    journal j = {0};
    fence *f = NULL;
    fence_copy(&j.dest_fence, &wf->dest_fence);
    int rc = wf_connect(wf, &o.err) == 0 ? switch_prepare(&o, &j, &f) : -1;
    if (rc == 0) {
        step_start(&o, "commit");
        journal_set(&j, "switch", "committed", "destination");
        if (journal_write(wf->dest, wf->def.sidecar, wf->def.name, &j, &o.err) != 0)
            rc = -1;
        else
            step_end(&o, true);
    }
    if (rc != 0) {
        step_end(&o, false);
        switch_undo(&o, &j, f, rc);
    } else {
        switch_finish(&o, &j, f);
    }
    journal_clear(&j);
}

/* ---- reverse ------------------------------------------------------------------------------------ */

static int reverse_prepare(op *o, journal *j, MYSQL *src, fence **f)
{
    import_wf *wf = o->wf;
    int e;
    step_start(o, "check");
    if (check_stream(o, wf->rev) != 0)
        return -1;
    step_end(o, true);

    step_start(o, "fence_destination");
    journal_set(j, "reverse", "fencing", "destination");
    fence_record planned = {0};
    if ((e = fence_plan(&wf->def.dest, wf->def.fence_exempt, &planned, &o->err)) != 0 ||
        (fence_copy(&j->dest_fence, &planned), (e = sidecar_schema_create(src, wf->def.sidecar, SIDECAR_STREAMS | SIDECAR_CUTOVER, &o->err)) != 0) ||
        (e = journal_write(src, wf->def.sidecar, wf->def.name, j, &o->err)) != 0 ||
        (e = fence_raise(&wf->def.dest, &planned, op_lock_wait_s(o), f, &o->err)) != 0) {
        fence_record_clear(&planned);
        return -1;
    }
    fence_record_clear(&planned);
    if (op_late(o))
        return -2;
    step_end(o, true);

    step_start(o, "dest_position");
    if (snapshot_position(fence_conn(*f), wf->flavor, &j->dest, &o->err) != 0)
        return -1;
    step_end(o, true);

    step_start(o, "catch_up");
    int w = wait_applied(o, wf->rev, wf->flavor, &j->dest);
    if (w != 0)
        return w;
    step_end(o, true);

    step_start(o, "stop_reverse");
    wf_stream_stop(wf, true);
    step_end(o, true);

    step_start(o, "source_position");
    if (snapshot_position(src, wf->flavor, &j->source, &o->err) != 0)
        return -1;
    step_end(o, true);
    return 0;
}

static void reverse_undo(op *o, journal *j, MYSQL *src, fence *f, int rc)
{
    import_wf *wf = o->wf;
    sbuf uerr = SBUF_INIT;
    int e = f ? fence_undo(f, &j->dest_fence, &uerr) : fence_lift(&wf->def.dest, &j->dest_fence, &uerr);
    journal_set(j, "reverse", "rolled_back", "destination");
    if (src)
        journal_write(src, wf->def.sidecar, wf->def.name, j, &uerr);
    if (!wf->rev)
        wf_stream_spawn(wf, true, NULL, false);
    wf_set(wf, WF_PRIMARY, "", "reverse rolled back");
    op_fail(o, rc == -2 ? WF_ETIMEOUT : WF_EABORTED,
            e ? "rolling back the fence failed too; check read_only and account locks on the destination"
              : "rolled back: writes are open on the destination again and reverse replication runs");
    sbuf_free(&uerr);
}

static void reverse_finish(op *o, journal *j, MYSQL *src, fence *f)
{
    import_wf *wf = o->wf;
    sbuf err = SBUF_INIT;
    step_start(o, "release_fence");
    if (f)
        fence_release(f, &err);
    step_end(o, true);

    step_start(o, "start_forward");
    stream_position_at_least(wf->dest, wf->def.sidecar, wf->def.name, wf->flavor, &j->source, &err);
    vpos_set(&wf->position, j->source.gtid, j->source.file, j->source.offset);
    wf_stream_spawn(wf, false, &j->source, false);
    step_end(o, true);

    step_start(o, "unfence_source");
    if (fence_lift(&wf->source, &wf->source_fence, &err) != 0)
        log_error("cutover", "%s: opening writes on the source failed: %s; run SET GLOBAL read_only=0 there",
                  wf->def.name, err.buf);
    step_end(o, true);

    wf->primary = false;
    fence_copy(&wf->dest_fence, &j->dest_fence);
    /* The destination's journal says where writes are now; it must change
     * before the reverse is marked done, or a crash in between would bring
     * the workflow back as switched. */
    journal j2 = {0};
    bool found = false;
    if (journal_read(wf->dest, wf->def.sidecar, wf->def.name, &j2, &found, &err) == 0 && found) {
        fence_copy(&j2.dest_fence, &j->dest_fence);
        journal_set(&j2, j2.direction, j2.phase, "source");
        journal_write(wf->dest, wf->def.sidecar, wf->def.name, &j2, &err);
    }
    journal_clear(&j2);
    journal_set(j, "reverse", "done", "source");
    journal_write(src, wf->def.sidecar, wf->def.name, j, &err);
    vpos_set(&o->rep->source, j->source.gtid, j->source.file, j->source.offset);
    vpos_set(&o->rep->dest, j->dest.gtid, j->dest.file, j->dest.offset);
    o->rep->fenced_accounts = xstrdup(j->dest_fence.accounts ? j->dest_fence.accounts : "");
    wf_set(wf, WF_REPLICATING, "", "writes are back on the source; the destination follows again");
    op_succeed(o);
    sbuf_free(&err);
}

void cutover_reverse(import_wf *wf, wf_cmd *c)
{
    op o;
    op_begin(&o, wf, c);
    wf_state st = wf_state_get(wf);
    if (st != WF_PRIMARY || !wf->primary) {
        sbuf_setf(&o.err, "workflow %s is %s; a reverse needs it PRIMARY (switched)", wf->def.name,
                  wf_state_name(st));
        wf_cmd_done(wf, c, WF_ESTATE, o.err.buf);
        sbuf_free(&o.err);
        return;
    }
    wf_set(wf, WF_REVERSING, "", "moving writes back to the source");
    journal j = {0};
    fence *f = NULL;
    MYSQL *src = NULL;
    fence_copy(&j.source_fence, &wf->source_fence);
    int rc = wf_connect(wf, &o.err) == 0 && wf_connect_source(wf, &src, &o.err) == 0 ? reverse_prepare(&o, &j, src, &f)
                                                                                  : -1;
    if (rc == 0) {
        step_start(&o, "commit");
        journal_set(&j, "reverse", "committed", "source");
        if (journal_write(src, wf->def.sidecar, wf->def.name, &j, &o.err) != 0)
            rc = -1;
        else
            step_end(&o, true);
    }
    if (rc != 0) {
        step_end(&o, false);
        reverse_undo(&o, &j, src, f, rc);
    } else {
        reverse_finish(&o, &j, src, f);
    }
    if (src)
        mysql_close(src);
    journal_clear(&j);
}

/* ---- detach ---------------------------------------------------------------------------------------- */

static const char *side_name(bool dest)
{
    return dest ? "destination" : "source";
}

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
        if (wf->source_fence.accounts && *wf->source_fence.accounts)
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
    const fence_record *f = dest ? &wf->dest_fence : NULL;
    if (dest && f->accounts && *f->accounts && fence_lift(&wf->def.dest, f, err) != 0)
        return WF_EUNAVAILABLE;
    if (dest)
        sbuf_adds(note, "writes stay open on the destination; the source stays read-only");
    else if (wf->dest_fence.accounts && *wf->dest_fence.accounts)
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
        log_info("cutover", "%s: detached: %s", wf->def.name, note.buf);
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

static step_result recover_switch(import_wf *wf, journal *j, sbuf *err)
{
    if (strcmp(j->phase, "fencing") == 0) {
        log_warn("cutover", "%s: a switch was cut before its point of no return; rolling it back", wf->def.name);
        if (fence_lift(&wf->source, &j->source_fence, err) != 0)
            return STEP_TRANSIENT;
        journal_set(j, "switch", "rolled_back", "source");
        return journal_write(wf->dest, wf->def.sidecar, wf->def.name, j, err) ? STEP_TRANSIENT : STEP_OK;
    }
    if (strcmp(j->phase, "committed") == 0) {
        log_warn("cutover", "%s: a switch was cut after its point of no return; finishing it", wf->def.name);
        MYSQL *src = NULL;
        sbuf name = SBUF_INIT;
        reverse_name(wf, &name);
        int e = fence_reapply(&wf->source, &j->source_fence, err);
        if (!e && j->dest_fence.accounts)
            e = fence_lift(&wf->def.dest, &j->dest_fence, err);
        fence_record_clear(&j->dest_fence);
        if (!e)
            e = wf_connect_source(wf, &src, err);
        if (!e)
            e = stream_position_at_least(src, wf->def.sidecar, name.buf, wf->flavor, &j->dest, err);
        if (src)
            mysql_close(src);
        sbuf_free(&name);
        if (e)
            return STEP_TRANSIENT;
        journal_set(j, "switch", "done", "destination");
        if (journal_write(wf->dest, wf->def.sidecar, wf->def.name, j, err) != 0)
            return STEP_TRANSIENT;
    }
    return STEP_OK;
}

static step_result recover_reverse(import_wf *wf, journal *rj, journal *sj, MYSQL *src, sbuf *err)
{
    if (strcmp(rj->phase, "fencing") == 0) {
        log_warn("cutover", "%s: a reverse was cut before its point of no return; rolling it back", wf->def.name);
        if (fence_lift(&wf->def.dest, &rj->dest_fence, err) != 0)
            return STEP_TRANSIENT;
        journal_set(rj, "reverse", "rolled_back", "destination");
        return journal_write(src, wf->def.sidecar, wf->def.name, rj, err) ? STEP_TRANSIENT : STEP_OK;
    }
    if (strcmp(rj->phase, "committed") == 0) {
        log_warn("cutover", "%s: a reverse was cut after its point of no return; finishing it", wf->def.name);
        int e = fence_reapply(&wf->def.dest, &rj->dest_fence, err);
        if (!e)
            e = stream_position_at_least(wf->dest, wf->def.sidecar, wf->def.name, wf->flavor, &rj->source, err);
        if (!e)
            e = fence_lift(&wf->source, &sj->source_fence, err);
        if (e)
            return STEP_TRANSIENT;
        journal_set(rj, "reverse", "done", "source");
        fence_copy(&sj->dest_fence, &rj->dest_fence);
        journal_set(sj, sj->direction, sj->phase, "source");
        if (journal_write(src, wf->def.sidecar, wf->def.name, rj, err) ||
            journal_write(wf->dest, wf->def.sidecar, wf->def.name, sj, err))
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
    if (r == STEP_OK && have_s)
        r = recover_switch(wf, &sj, err);
    if (r == STEP_OK && have_r && have_s)
        r = recover_reverse(wf, &rj, &sj, src, err);
    if (r == STEP_OK && have_s) {
        wf->primary = strcmp(sj.writes_on, "destination") == 0;
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
