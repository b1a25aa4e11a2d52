/* import_vdiff: VDiff of an import workflow, in the direction it runs.
 *
 * Synchronising without a long write stop: the workflow's thread stops the
 * running stream (forward before a switch, reverse after), opens a
 * snapshot at an exact position G on the writing side (snapshot.c), runs
 * the stream to exactly G, opens a snapshot on the other side (nothing else
 * writes there: it only follows the stream, and after a switch the source
 * is fenced), and lets the workflow restart the stream. Application writes never stop; the
 * stream pauses for the catch-up only, a few milliseconds when it keeps up.
 *
 * A thread of its own then compares the two snapshots (vdiff.c) and
 * records each table's progress in the sidecar schema on the destination,
 * at most once a second, so a restarted agent resumes the diff: at a new
 * synchronised point, from each table's last compared key. A diff that
 * had ended is read back as the last report. */
#include "workflow/import_vdiff.h"

#include <stdlib.h>
#include <string.h>

#include "db/sidecar_schema.h"
#include "lib/clock.h"
#include "lib/log.h"
#include "vrepl/snapshot.h"

#define SAVE_EVERY_MS 1000

struct wf_vdiff {
    import_wf *wf;
    uv_mutex_t lock; /* guards the tables' results and the fields below */
    uv_thread_t thread;
    bool thread_running;
    atomic_bool cancel, throttled;
    wf_vdiff_state state;
    char *message;
    vpos at;
    bool writes_on_dest;
    vdiff_table *tables;
    schema_table **schemas;
    size_t n;
    MYSQL *a, *b;   /* the two snapshots */
    MYSQL *persist; /* the destination, for the sidecar tables */
    int64_t started_ms, finished_ms; /* wall clock: reported and saved */
    int64_t mono0, saved_mono;       /* this process's run, for rates and saving */
    uint64_t chunk_rows, compared0;
};

/* ---- persistence ---------------------------------------------------------------------------- */

/* Best effort: a lost save only costs a resumed diff some rework. */
static void vd_persist(wf_vdiff *v, const sbuf *q)
{
    sbuf err = SBUF_INIT;
    if (v->persist && db_exec(v->persist, q->buf, &err) != 0)
        log_event(LOG_WARN, "vdiff", LOG_ABOUT(.workflow = v->wf->def.name), "saving progress failed: %s", err.buf);
    sbuf_free(&err);
}

static void vd_save(wf_vdiff *v)
{
    const import_def *d = &v->wf->def;
    sbuf q = SBUF_INIT;
    uv_mutex_lock(&v->lock);
    sbuf_adds(&q, "REPLACE INTO ");
    db_add_table(&q, d->sidecar, "vdiff");
    sbuf_adds(&q, " VALUES (");
    db_add_cstring(&q, d->name);
    sbuf_addc(&q, ',');
    db_add_cstring(&q, wf_vdiff_state_name(v->state));
    sbuf_addc(&q, ',');
    db_add_cstring(&q, v->message);
    sbuf_addc(&q, ',');
    db_add_cstring(&q, v->at.gtid ? v->at.gtid : "");
    sbuf_addf(&q, ",%d,%llu,%lld,%lld)", v->writes_on_dest, (unsigned long long)v->chunk_rows,
              (long long)v->started_ms, (long long)v->finished_ms);
    uv_mutex_unlock(&v->lock);
    vd_persist(v, &q);
    sbuf_free(&q);
}

static void vd_save_table(wf_vdiff *v, const vdiff_table *t, const char *resume)
{
    const import_def *d = &v->wf->def;
    sbuf q = SBUF_INIT, samples = SBUF_INIT;
    uv_mutex_lock(&v->lock);
    const vdiff_result *r = &t->r;
    for (size_t i = 0; i < r->nsamples; i++)
        sbuf_addf(&samples, "%s%s", i ? "\n" : "", r->samples[i]);
    sbuf_adds(&q, "REPLACE INTO ");
    db_add_table(&q, d->sidecar, "vdiff_tables");
    sbuf_adds(&q, " VALUES (");
    db_add_cstring(&q, d->name);
    sbuf_addc(&q, ',');
    db_add_cstring(&q, t->schema->schema);
    sbuf_addc(&q, ',');
    db_add_cstring(&q, t->schema->name);
    sbuf_addc(&q, ',');
    if (resume)
        db_add_cstring(&q, resume);
    else
        sbuf_adds(&q, "NULL");
    sbuf_addf(&q, ",%d,%llu,%llu,%llu,%llu,%llu,", r->done, (unsigned long long)r->compared,
              (unsigned long long)r->matching, (unsigned long long)r->mismatched, (unsigned long long)r->missing,
              (unsigned long long)r->extra);
    db_add_string(&q, samples.buf, samples.len);
    sbuf_addc(&q, ')');
    uv_mutex_unlock(&v->lock);
    vd_persist(v, &q);
    sbuf_free(&q);
    sbuf_free(&samples);
}

/* From the engine after each chunk; saves once a second, and every
 * finished table. */
static void vd_chunk_done(vdiff_table *t, const char *last_key, void *data)
{
    wf_vdiff *v = data;
    int64_t now = clock_mono_ms();
    if (last_key && now - v->saved_mono < SAVE_EVERY_MS)
        return;
    v->saved_mono = now;
    vd_save_table(v, t, last_key);
}

static void vd_load_row(vdiff_table *t, MYSQL_ROW row)
{
    vdiff_result *r = &t->r;
    t->resume_key = row[2] ? xstrdup(row[2]) : NULL;
    r->done = atoi(row[3]) != 0;
    r->compared = strtoull(row[4], NULL, 10);
    r->matching = strtoull(row[5], NULL, 10);
    r->mismatched = strtoull(row[6], NULL, 10);
    r->missing = strtoull(row[7], NULL, 10);
    r->extra = strtoull(row[8], NULL, 10);
    for (char *s = row[9], *nl; s && *s && r->nsamples < VDIFF_SAMPLES; s = nl ? nl + 1 : NULL) {
        nl = strchr(s, '\n');
        r->samples[r->nsamples++] = nl ? xstrndup(s, (size_t)(nl - s)) : xstrdup(s);
    }
}

/* Resume points and counts of a diff an agent restart cut. */
static int vd_load_tables(wf_vdiff *v, sbuf *err)
{
    const import_def *d = &v->wf->def;
    sbuf q = SBUF_INIT;
    sbuf_adds(&q, "SELECT table_schema, table_name, resume_key, done, compared, matching, mismatched, missing, extra, "
                  "samples FROM ");
    db_add_table(&q, d->sidecar, "vdiff_tables");
    sbuf_adds(&q, " WHERE workflow = ");
    db_add_cstring(&q, d->name);
    MYSQL_RES *res;
    int e = db_query(v->persist, q.buf, &res, err);
    sbuf_free(&q);
    if (e)
        return e;
    MYSQL_ROW row;
    while ((row = mysql_fetch_row(res)))
        for (size_t i = 0; i < v->n; i++)
            if (strcmp(v->tables[i].schema->schema, row[0]) == 0 && strcmp(v->tables[i].schema->name, row[1]) == 0)
                vd_load_row(&v->tables[i], row);
    mysql_free_result(res);
    return 0;
}

static int vd_forget_tables(wf_vdiff *v, sbuf *err)
{
    sbuf q = SBUF_INIT;
    sbuf_adds(&q, "DELETE FROM ");
    db_add_table(&q, v->wf->def.sidecar, "vdiff_tables");
    sbuf_adds(&q, " WHERE workflow = ");
    db_add_cstring(&q, v->wf->def.name);
    int e = db_exec(v->persist, q.buf, err);
    sbuf_free(&q);
    return e;
}

/* ---- the comparison thread ---------------------------------------------------------------------- */

static void vd_finish(wf_vdiff *v, int e, const char *err)
{
    uint64_t diffs = 0;
    uv_mutex_lock(&v->lock);
    for (size_t i = 0; i < v->n; i++)
        diffs += v->tables[i].r.mismatched + v->tables[i].r.missing + v->tables[i].r.extra;
    free(v->message);
    v->finished_ms = clock_wall_ms();
    sbuf m = SBUF_INIT;
    if (e) {
        v->state = WF_VDIFF_ERROR;
        sbuf_addf(&m, "%s; run the vdiff again once the server is back", err);
    } else if (atomic_load(&v->cancel)) {
        v->state = WF_VDIFF_CANCELLED;
        sbuf_adds(&m, "stopped before the end");
    } else {
        v->state = WF_VDIFF_DONE;
        if (diffs)
            sbuf_addf(&m, "%llu row(s) differ", (unsigned long long)diffs);
        else
            sbuf_adds(&m, "no differences");
    }
    v->message = sbuf_detach(&m, NULL);
    uv_mutex_unlock(&v->lock);
}

static void vd_main(void *arg)
{
    wf_vdiff *v = arg;
    vdiff_config cfg = {
        .a = v->a,
        .b = v->b,
        .b_is_dest = !v->writes_on_dest,
        .tables = v->tables,
        .ntables = v->n,
        .chunk_rows = v->chunk_rows,
        .lock = &v->lock,
        .chunk_done = vd_chunk_done,
        .data = v,
        .cancel = &v->cancel,
        .throttle_threads_running = v->wf->def.opt.throttle_threads_running,
        .throttled = &v->throttled,
    };
    sbuf err = SBUF_INIT;
    int e = vdiff_run(&cfg, &err);
    vd_finish(v, e, err.buf);
    if (!atomic_load(&v->cancel)) /* a cancelled diff stays RUNNING on disk: the next start resumes it */
        vd_save(v);
    log_event(LOG_INFO, "vdiff", LOG_ABOUT(.workflow = v->wf->def.name), "%s: %s", wf_vdiff_state_name(v->state),
              v->message);
    mysql_close(v->a);
    mysql_close(v->b);
    v->a = v->b = NULL;
    sbuf_free(&err);
    mysql_thread_end();
    wf_notify(v->wf);
}

/* ---- synchronising ------------------------------------------------------------------------------ */

static int open_snapshot(const db_endpoint *ep, MYSQL **out, sbuf *err)
{
    int e = db_connect(ep, DB_DATA, out, err);
    if (!e)
        e = db_exec(*out, "START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY", err);
    return e;
}

/* Stop the stream, snapshot the writing side at G, stream to exactly G,
 * snapshot the other side. The workflow restarts the stream afterwards.
 * WF_OK, or an error with err. */
static wf_err vd_sync(wf_vdiff *v, sbuf *err)
{
    import_wf *wf = v->wf;
    bool reverse = v->writes_on_dest;
    wf_streams_stop(wf);
    snapshot *snap;
    const db_endpoint *writer = reverse ? &wf->def.dest : &wf->source;
    /* MariaDB: the exact-GTID snapshot, no lock; MySQL: a brief FTWRL */
    if (snapshot_open(writer, wf->flavor, snapshot_method_for(wf->flavor), 1, &snap, err) != 0)
        return WF_EUNAVAILABLE;
    vpos stop = {0};
    wf_stop_at(wf, &snap->pos, &stop);
    step_result r = wf_run_stream(wf, reverse, &stop, err);
    vpos_clear(&stop);
    wf_err code = WF_OK;
    if (r == STEP_INTERRUPTED) {
        sbuf_setf(err, "another command interrupted the synchronisation; run the vdiff again");
        code = WF_EABORTED;
    } else if (r != STEP_OK) {
        code = WF_EUNAVAILABLE;
    } else if (open_snapshot(reverse ? &wf->source : &wf->def.dest, &v->b, err) != 0) {
        code = WF_EUNAVAILABLE;
    }
    if (!code) {
        v->a = snap->conns[0];
        snap->conns[0] = NULL;
        vpos_set(&v->at, snap->pos.gtid, snap->pos.file, snap->pos.offset);
    }
    snapshot_close(snap);
    return code;
}

/* ---- lifecycle ------------------------------------------------------------------------------------ */

static void vd_free(wf_vdiff *v)
{
    if (!v)
        return;
    if (v->thread_running)
        uv_thread_join(&v->thread);
    for (size_t i = 0; i < v->n; i++) {
        free(v->tables[i].resume_key);
        vdiff_result_clear(&v->tables[i].r);
        schema_table_free(v->schemas[i]);
    }
    free(v->tables);
    free(v->schemas);
    if (v->a)
        mysql_close(v->a);
    if (v->b)
        mysql_close(v->b);
    if (v->persist)
        mysql_close(v->persist);
    vpos_clear(&v->at);
    free(v->message);
    uv_mutex_destroy(&v->lock);
    free(v);
}

void wf_vdiff_stop(import_wf *wf)
{
    uv_mutex_lock(&wf->lock);
    wf_vdiff *v = wf->vdiff;
    wf->vdiff = NULL;
    uv_mutex_unlock(&wf->lock);
    if (v)
        atomic_store(&v->cancel, true);
    vd_free(v);
}

static int vd_prepare(wf_vdiff *v, bool resume, sbuf *err)
{
    import_wf *wf = v->wf;
    int e = db_connect(&wf->def.dest, DB_MULTI_STATEMENTS | DB_DATA, &v->persist, err);
    if (!e)
        e = sidecar_schema_create(v->persist, wf->def.sidecar, SIDECAR_VDIFF, err);
    v->n = wf->ntables;
    v->tables = xcalloc(v->n + 1, sizeof *v->tables);
    v->schemas = xcalloc(v->n + 1, sizeof *v->schemas);
    for (size_t i = 0; !e && i < v->n; i++) {
        e = schema_table_load(wf->src, wf->rows[i].schema, wf->rows[i].table, &v->schemas[i], err);
        if (!e) {
            v->tables[i].schema = v->schemas[i];
            v->tables[i].r.rows_estimated = v->schemas[i]->est_rows;
        }
    }
    if (!e)
        e = resume ? vd_load_tables(v, err) : vd_forget_tables(v, err);
    for (size_t i = 0; i < v->n; i++)
        v->compared0 += v->tables[i].r.compared;
    return e;
}

static wf_vdiff *vd_new(import_wf *wf, wf_vdiff_state state, const char *message)
{
    wf_vdiff *v = xcalloc(1, sizeof *v);
    v->wf = wf;
    uv_mutex_init(&v->lock);
    v->writes_on_dest = wf->primary;
    v->started_ms = clock_wall_ms();
    v->mono0 = clock_mono_ms();
    v->state = state;
    v->message = xstrdup(message);
    return v;
}

wf_err wf_vdiff_begin(import_wf *wf, bool resume, uint64_t chunk_rows, sbuf *err)
{
    wf_vdiff_stop(wf);
    wf_vdiff *v = vd_new(wf, WF_VDIFF_RUNNING, resume ? "resumed after an agent restart" : "");
    v->chunk_rows = chunk_rows ? chunk_rows : 1000;
    wf_err code = WF_OK;
    if (wf_connect(wf, err) != 0 || vd_prepare(v, resume, err) != 0)
        code = WF_EUNAVAILABLE;
    if (!code)
        code = vd_sync(v, err);
    if (code) {
        sbuf msg = SBUF_INIT;
        sbuf_addf(&msg, "cannot start the vdiff of %s: %s", wf->def.name, err->buf);
        sbuf_setf(err, "%s", msg.buf);
        sbuf_free(&msg);
        vd_free(v);
        return code;
    }
    vd_save(v);
    log_event(LOG_INFO, "vdiff", LOG_ABOUT(.workflow = wf->def.name),
              "comparing %zu table(s) at gtid '%s', the %s writing", v->n, v->at.gtid,
              v->writes_on_dest ? "destination" : "source");
    uv_mutex_lock(&wf->lock);
    wf->vdiff = v;
    uv_mutex_unlock(&wf->lock);
    v->thread_running = uv_thread_create(&v->thread, vd_main, v) == 0;
    return WF_OK;
}

static bool vd_running(import_wf *wf)
{
    uv_mutex_lock(&wf->lock);
    wf_vdiff *v = wf->vdiff;
    if (v)
        uv_mutex_lock(&v->lock);
    bool running = v && v->state == WF_VDIFF_RUNNING;
    if (v)
        uv_mutex_unlock(&v->lock);
    uv_mutex_unlock(&wf->lock);
    return running;
}

void wf_vdiff_command(import_wf *wf, wf_cmd *c)
{
    wf_state st = wf_state_get(wf);
    sbuf err = SBUF_INIT;
    wf_err code = WF_OK;
    if ((st != WF_REPLICATING && st != WF_PRIMARY) || wf->paused) {
        sbuf_setf(&err, "workflow %s is %s; a vdiff needs it REPLICATING (copy finished) or PRIMARY", wf->def.name,
                  wf->paused ? "PAUSED" : wf_state_name(st));
        code = WF_ESTATE;
    } else if (vd_running(wf)) {
        sbuf_setf(&err, "a vdiff of %s is already running; follow it with GetVDiff (cpctl vdiff %s --show)",
                  wf->def.name, wf->def.name);
        code = WF_ESTATE;
    } else {
        code = wf_vdiff_begin(wf, false, c->args.chunk_rows, &err);
    }
    wf_cmd_done(wf, c, code, code ? err.buf : NULL);
    sbuf_free(&err);
}

/* The report of a diff that ended before the agent restarted, from the
 * sidecar tables (no thread: there is nothing left to compare). */
static void vd_restore(import_wf *wf, MYSQL_ROW row)
{
    wf_vdiff_state state = WF_VDIFF_DONE;
    for (wf_vdiff_state st = WF_VDIFF_NONE; st <= WF_VDIFF_CANCELLED; st++)
        if (strcmp(row[0], wf_vdiff_state_name(st)) == 0)
            state = st;
    wf_vdiff *v = vd_new(wf, state, row[2]);
    sbuf err = SBUF_INIT;
    if (vd_prepare(v, true, &err) != 0) {
        log_event(LOG_WARN, "vdiff", LOG_ABOUT(.workflow = wf->def.name), "cannot read the last vdiff's report: %s",
                  err.buf);
        vd_free(v);
        sbuf_free(&err);
        return;
    }
    mysql_close(v->persist);
    v->persist = NULL;
    vpos_set(&v->at, row[3], "", 0);
    v->writes_on_dest = atoi(row[4]) != 0;
    v->started_ms = strtoll(row[5], NULL, 10);
    v->finished_ms = strtoll(row[6], NULL, 10);
    v->compared0 = 0; /* the rate is the whole run's */
    uv_mutex_lock(&wf->lock);
    wf->vdiff = v;
    uv_mutex_unlock(&wf->lock);
    sbuf_free(&err);
}

void wf_vdiff_resume(import_wf *wf)
{
    if (wf->vdiff_checked || !wf->dest)
        return;
    wf->vdiff_checked = true;
    sbuf q = SBUF_INIT, err = SBUF_INIT;
    sbuf_adds(&q, "SELECT state, chunk_rows, message, at_gtid, writes_on_dest, started_ms, finished_ms FROM ");
    db_add_table(&q, wf->def.sidecar, "vdiff");
    sbuf_adds(&q, " WHERE workflow = ");
    db_add_cstring(&q, wf->def.name);
    MYSQL_RES *res;
    if (db_query(wf->dest, q.buf, &res, &err) == 0) { /* no table: no diff ever ran */
        MYSQL_ROW row = mysql_fetch_row(res);
        if (row && strcmp(row[0], wf_vdiff_state_name(WF_VDIFF_RUNNING)) == 0) {
            sbuf_reset(&err);
            if (wf_vdiff_begin(wf, true, strtoull(row[1], NULL, 10), &err) != 0)
                log_event(LOG_WARN, "vdiff", LOG_ABOUT(.workflow = wf->def.name), "%s", err.buf);
        } else if (row) {
            vd_restore(wf, row);
        }
        mysql_free_result(res);
    }
    sbuf_free(&q);
    sbuf_free(&err);
}

/* ---- report ------------------------------------------------------------------------------------------ */

void wf_vdiff_report_clear(wf_vdiff_report *r)
{
    free(r->message);
    vpos_clear(&r->at);
    for (size_t i = 0; i < r->ntables; i++) {
        free(r->tables[i].schema);
        free(r->tables[i].name);
        vdiff_result_clear(&r->tables[i].r);
    }
    free(r->tables);
    memset(r, 0, sizeof *r);
}

static void report_add(vdiff_result *sum, const vdiff_result *r)
{
    sum->done = sum->done && r->done;
    sum->rows_estimated += r->rows_estimated > r->compared ? r->rows_estimated : r->compared;
    sum->compared += r->compared;
    sum->matching += r->matching;
    sum->mismatched += r->mismatched;
    sum->missing += r->missing;
    sum->extra += r->extra;
}

static void report_rate(const wf_vdiff *v, wf_vdiff_report *out)
{
    double secs = (double)(v->finished_ms ? v->finished_ms - v->started_ms : clock_mono_ms() - v->mono0) / 1000.0;
    /* Unsigned: a count below the resume point must not wrap round. */
    uint64_t done = out->total.compared > v->compared0 ? out->total.compared - v->compared0 : 0;
    out->rows_per_second = secs > 0 ? (double)done / secs : 0;
    if (v->state != WF_VDIFF_RUNNING)
        out->eta_seconds = 0;
    else
        out->eta_seconds = wf_rate_eta(out->total.compared, out->total.rows_estimated, out->rows_per_second);
}

void import_vdiff_report(import_wf *wf, wf_vdiff_report *out)
{
    memset(out, 0, sizeof *out);
    uv_mutex_lock(&wf->lock);
    wf_vdiff *v = wf->vdiff;
    if (!v) {
        uv_mutex_unlock(&wf->lock);
        out->state = WF_VDIFF_NONE;
        out->message = xstrdup("no vdiff has run since the agent started; start one with VDiff (cpctl vdiff NAME)");
        return;
    }
    uv_mutex_lock(&v->lock);
    out->state = v->state;
    out->message = xstrdup(v->message);
    vpos_set(&out->at, v->at.gtid, v->at.file, v->at.offset);
    out->writes_on_dest = v->writes_on_dest;
    out->started_ms = v->started_ms;
    out->finished_ms = v->finished_ms;
    out->throttled = atomic_load(&v->throttled);
    out->ntables = v->n;
    out->tables = xcalloc(v->n + 1, sizeof *out->tables);
    out->total.done = true;
    for (size_t i = 0; i < v->n; i++) {
        wf_vdiff_table *o = &out->tables[i];
        o->schema = xstrdup(v->tables[i].schema->schema);
        o->name = xstrdup(v->tables[i].schema->name);
        vdiff_result_copy(&o->r, &v->tables[i].r);
        report_add(&out->total, &o->r);
    }
    report_rate(v, out);
    uv_mutex_unlock(&v->lock);
    uv_mutex_unlock(&wf->lock);
}
