/* import: the import workflow's thread, its commands and its status.
 *
 * The invariant everything rests on: at every commit, each table on the
 * destination holds a subset of the source's rows as of the stream's saved
 * position P, each row exactly as the source had it at P. Copy pages are
 * only written from a snapshot taken at exactly P, so they keep it; the
 * stream keeps it because it applies whole transactions with their
 * position. A copy cycle therefore is (import_copy.c):
 *   1. catch up: run the stream from P to the source's current position;
 *   2. open a snapshot (exact GTID G) and run the stream to exactly G;
 *   3. copy pages from the snapshot for at most snapshot_seconds;
 *   4. close it (so undo history never grows for hours).
 * The first cycle skips 1-2 and sets P = G. A restart after a crash is
 * just the next cycle: pages committed out of order past a table's resume
 * point are redone with upserts, and the stream replays from P.
 *
 * Once every table is in, the thread follows a background stream: forward
 * (source -> destination), or after a switch, reverse. It sleeps on its
 * condition variable until a command arrives or the stream ends; commands
 * (cutover.c for switch, reverse and detach) run on this thread one after
 * another, with the stream still running when they need it to. */
#include <errmsg.h>
#include <mysqld_error.h>
#include <stdlib.h>
#include <string.h>

#include "lib/clock.h"
#include "lib/log.h"
#include "workflow/cutover.h"
#include "workflow/import_copy.h"
#include "workflow/import_core.h"
#include "workflow/import_vdiff.h"

#define BACKOFF_MAX_MS 30000
#define FENCE_CHECK_MS 2000ULL /* how often a fenced side is looked at while following */

void wf_status_clear(wf_status *s)
{
    free(s->error_code);
    free(s->message);
    free(s->throttle_reason);
    free(s->stream_name);
    for (size_t i = 0; i < s->ntables; i++) {
        free(s->tables[i].schema);
        free(s->tables[i].name);
    }
    free(s->tables);
    if (s->has_stream)
        stream_status_clear(&s->stream);
    vpos_clear(&s->position);
    memset(s, 0, sizeof *s);
}

/* Keep the current direction's stream running until a command arrives or
 * the stream ends by itself (an error it could not retry). */
static step_result wf_follow(import_wf *wf, sbuf *err)
{
    int e = wf_connect(wf, err);
    if (e)
        return wf_classify(e);
    wf_vdiff_resume(wf);
    uv_mutex_lock(&wf->lock);
    copier *c = wf->copier;
    wf->copier = NULL;
    stream **slot = wf->primary ? &wf->rev : &wf->fwd;
    bool running = *slot != NULL;
    uv_mutex_unlock(&wf->lock);
    copier_close(c);
    if (!running) {
        stream_config cfg;
        wf_stream_config(wf, wf->primary, &wf->position, false, NULL, &cfg);
        stream *s = stream_spawn(&cfg, wf_stream_changed, wf);
        stream_config_clear(&cfg);
        uv_mutex_lock(&wf->lock);
        *slot = s;
        uv_mutex_unlock(&wf->lock);
    }
    if (wf->copy_finished) {
        wf->copy_finished = false;
        uv_mutex_lock(&wf->lock);
        wf->copied_ms = clock_wall_ms();
        uv_mutex_unlock(&wf->lock);
    }
    wf_set(wf, wf->primary ? WF_PRIMARY : WF_REPLICATING, "", "");
    uv_mutex_lock(&wf->lock);
    while (!wf->pending && !wf->stop && !stream_done(*slot)) {
        if (uv_cond_timedwait(&wf->cond, &wf->lock, FENCE_CHECK_MS * 1000000ULL) != UV_ETIMEDOUT)
            continue;
        uv_mutex_unlock(&wf->lock);
        cutover_fence_keep(wf);
        uv_mutex_lock(&wf->lock);
    }
    stream *s = *slot;
    bool ended = !wf->pending && !wf->stop && stream_done(s);
    uv_mutex_unlock(&wf->lock);
    if (!ended)
        return STEP_OK; /* a command: the loop runs it, the stream keeps going */
    stream_status ss;
    stream_status_get(s, &ss);
    wf->fail_code = ss.error;
    sbuf_setf(err, "replication %s: %s", ss.error ? stream_error_name(ss.error) : "stopped", ss.message);
    stream_status_clear(&ss);
    wf_streams_stop(wf);
    return STEP_FATAL;
}

static void cmd_pause(import_wf *wf, wf_cmd *c)
{
    wf_state st = wf_state_get(wf);
    if (wf->paused || st == WF_ERROR || st == WF_STOPPED) {
        sbuf msg = SBUF_INIT;
        sbuf_setf(&msg, "workflow %s is %s; only a running workflow can be paused", wf->def.name, wf_state_name(st));
        wf_cmd_done(wf, c, WF_ESTATE, msg.buf);
        sbuf_free(&msg);
        return;
    }
    wf_streams_stop(wf);
    uv_mutex_lock(&wf->lock);
    wf->paused = true;
    uv_mutex_unlock(&wf->lock);
    wf_set(wf, WF_PAUSED, "", "paused on request");
    wf_cmd_done(wf, c, WF_OK, NULL);
}

static bool same_text(const char *a, const char *b)
{
    return strcmp(a ? a : "", b ? b : "") == 0;
}

/* The same server address: the socket if either names one, else host and port. */
static bool same_address(const db_endpoint *a, const db_endpoint *b)
{
    if ((a->socket && *a->socket) || (b->socket && *b->socket))
        return same_text(a->socket, b->socket);
    return same_text(a->host, b->host) && a->port == b->port;
}

static void cmd_resume(import_wf *wf, wf_cmd *c)
{
    wf_state st = wf_state_get(wf);
    if (!wf->paused && st != WF_ERROR) {
        sbuf msg = SBUF_INIT;
        sbuf_setf(&msg, "workflow %s is %s; only a PAUSED or ERROR workflow can be resumed", wf->def.name,
                  wf_state_name(st));
        wf_cmd_done(wf, c, WF_ESTATE, msg.buf);
        sbuf_free(&msg);
        return;
    }
    if (c->dest && !same_address(&wf->def.dest, c->dest)) {
        /* The copied rows and the stream's position belong to the server
         * the workflow copied to: another would silently miss them. */
        sbuf msg = SBUF_INIT, was = SBUF_INIT, given = SBUF_INIT;
        db_endpoint_describe(&wf->def.dest, &was);
        db_endpoint_describe(c->dest, &given);
        sbuf_setf(&msg, "workflow %s copies to %s; resume takes new credentials for that server, not another one "
                        "(%s): to move to another destination, start a new import",
                  wf->def.name, was.buf, given.buf);
        wf_cmd_done(wf, c, WF_EINVAL, msg.buf);
        sbuf_free(&msg);
        sbuf_free(&was);
        sbuf_free(&given);
        return;
    }
    if (c->dest) { /* the thread is the only reader of def.dest */
        db_endpoint_clear(&wf->def.dest);
        wf->def.dest = *c->dest;
        free(c->dest);
        c->dest = NULL;
        wf->def.password_missing = false;
        wf_disconnect(wf);
    }
    uv_mutex_lock(&wf->lock);
    wf->paused = false;
    uv_mutex_unlock(&wf->lock);
    wf_set(wf, WF_STARTING, "", "resumed");
    wf_cmd_done(wf, c, WF_OK, NULL);
}

static void cmd_run(import_wf *wf, wf_cmd *c)
{
    switch (c->kind) {
    case WF_CMD_PAUSE: cmd_pause(wf, c); break;
    case WF_CMD_RESUME: cmd_resume(wf, c); break;
    case WF_CMD_SWITCH: cutover_switch(wf, c); break;
    case WF_CMD_REVERSE: cutover_reverse(wf, c); break;
    case WF_CMD_DETACH:
        wf_vdiff_stop(wf);
        cutover_detach(wf, c);
        break;
    case WF_CMD_VDIFF: wf_vdiff_command(wf, c); break;
    case WF_CMD_STOP:
        uv_mutex_lock(&wf->lock);
        wf->stop = true;
        if (wf->stop_cmd) /* stopped twice: the first stop reports */
            wf_cmd_complete_locked(wf, c, WF_OK, "");
        else
            wf->stop_cmd = c;
        uv_mutex_unlock(&wf->lock);
        break;
    }
}

/* Run queued commands; while paused or in error, wait for the next one.
 * Returns false when the workflow must stop. */
static bool wf_commands(import_wf *wf, bool hold)
{
    for (;;) {
        uv_mutex_lock(&wf->lock);
        while (!wf->pending && (hold || wf->paused) && !wf->stop)
            uv_cond_wait(&wf->cond, &wf->lock);
        wf_cmd *list = wf->pending;
        wf->pending = NULL;
        atomic_store(&wf->interrupt, false);
        uv_mutex_unlock(&wf->lock);
        wf_cmd *rev = NULL; /* oldest first: the list was pushed newest first */
        while (list) {
            wf_cmd *next = list->next;
            list->next = rev;
            rev = list;
            list = next;
        }
        for (wf_cmd *c = rev, *next; c; c = next) {
            next = c->next;
            cmd_run(wf, c);
        }
        uv_mutex_lock(&wf->lock);
        bool stop = wf->stop, paused = wf->paused, more = wf->pending != NULL;
        uv_mutex_unlock(&wf->lock);
        if (stop)
            return false;
        hold = hold && wf_state_get(wf) == WF_ERROR;
        if (!more && !paused && !hold)
            return true;
    }
}

/* ---- thread -------------------------------------------------------------------------------- */

static void wf_backoff(import_wf *wf, unsigned ms)
{
    uv_mutex_lock(&wf->lock);
    if (!wf->pending && !wf->stop)
        uv_cond_timedwait(&wf->cond, &wf->lock, (uint64_t)ms * 1000000ULL);
    uv_mutex_unlock(&wf->lock);
}

/* Setup (the copy's, then whatever a crash left of a cutover), the copy
 * cycles, then following the stream: each step starts where the last one
 * left the workflow. */
static step_result wf_step(import_wf *wf, sbuf *err)
{
    if (!wf->setup_done) {
        step_result r = wf_setup(wf, err);
        if (r == STEP_OK)
            r = cutover_recover(wf, err);
        wf->setup_done = r == STEP_OK;
        return r;
    }
    if (!wf_copy_complete(wf))
        return wf_copy_cycle(wf, err);
    return wf_follow(wf, err);
}

static void wf_main(void *arg)
{
    import_wf *wf = arg;
    sbuf err = SBUF_INIT;
    unsigned backoff = 0;
    bool hold = false;
    while (wf_commands(wf, hold)) {
        hold = false;
        sbuf_reset(&err);
        wf->fail_code = STREAM_OK;
        step_result r = wf_step(wf, &err);
        if (r == STEP_OK || r == STEP_INTERRUPTED) {
            backoff = 0;
            continue;
        }
        wf_streams_stop(wf);
        wf_disconnect(wf);
        wf_unload(wf);
        if (r == STEP_FATAL) {
            wf_set(wf, WF_ERROR, wf->fail_code ? stream_error_name(wf->fail_code) : "FATAL", err.buf);
            hold = true;
            continue;
        }
        backoff = backoff ? (backoff * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : backoff * 2) : 500;
        sbuf msg = SBUF_INIT;
        sbuf_addf(&msg, "%s; retrying in %.1f s", err.buf, backoff / 1000.0);
        wf_set(wf, WF_STARTING, "", msg.buf);
        sbuf_free(&msg);
        wf_backoff(wf, backoff);
    }
    wf_vdiff_stop(wf);
    wf_streams_stop(wf);
    wf_disconnect(wf);
    wf_unload(wf);
    sbuf_free(&err);
    mysql_thread_end();
    if (!wf->detached)
        wf_set(wf, WF_STOPPED, "", "stopped");
    uv_mutex_lock(&wf->lock);
    wf->thread_done = true;
    for (wf_cmd *c = wf->pending, *next; c; c = next) {
        next = c->next;
        wf_cmd_complete_locked(wf, c, WF_EUNAVAILABLE, "the workflow stopped");
    }
    wf->pending = NULL;
    if (wf->stop_cmd)
        wf_cmd_complete_locked(wf, wf->stop_cmd, WF_OK, "");
    wf->stop_cmd = NULL;
    uv_mutex_unlock(&wf->lock);
    uv_async_send(&wf->async); /* the loop may free wf from here on */
}

/* ---- loop side ------------------------------------------------------------------------------- */

static void wf_cmd_free(wf_cmd *c)
{
    db_endpoint_free(c->dest);
    free(c->res.message);
    vpos_clear(&c->res.report.source);
    vpos_clear(&c->res.report.dest);
    free(c->res.report.fenced_accounts);
    free(c);
}

static void wf_on_async(uv_async_t *h)
{
    import_wf *wf = h->data;
    uv_mutex_lock(&wf->lock);
    wf_cmd *done = wf->completed;
    wf->completed = NULL;
    bool finished = wf->thread_done;
    uv_mutex_unlock(&wf->lock);
    if (finished && !wf->joined) {
        uv_thread_join(&wf->thread);
        wf->joined = true;
    }
    while (done) {
        wf_cmd *next = done->next;
        if (done->cb)
            done->cb(wf, &done->res, done->data);
        wf_cmd_free(done);
        done = next;
    }
    if (wf->changed)
        wf->changed(wf->changed_data);
}

import_wf *import_start(uv_loop_t *loop, const import_def *def, const char *state_dir, const db_endpoint *source,
                        void (*changed)(void *), void *data)
{
    import_wf *wf = xcalloc(1, sizeof *wf);
    wf->loop = loop;
    import_def_copy(&wf->def, def);
    wf->state_dir = xstrdup(state_dir);
    db_endpoint *src = db_endpoint_dup(source);
    wf->source = *src;
    free(src);
    wf->source.read_timeout_s = 600;
    wf->changed = changed;
    wf->changed_data = data;
    uint32_t h = 2166136261u;
    for (const char *p = def->name; *p; p++)
        h = (h ^ (unsigned char)*p) * 16777619u;
    wf->server_id = 3500000000u + (h % 500000u) * 2;
    uv_mutex_init(&wf->lock);
    uv_cond_init(&wf->cond);
    wf->state = WF_STARTING;
    wf->message = xstrdup("");
    wf->error_code = xstrdup("");
    uv_async_init(loop, &wf->async, wf_on_async);
    wf->async.data = wf;
    uv_thread_create(&wf->thread, wf_main, wf);
    return wf;
}

void import_command(import_wf *wf, wf_cmd_kind kind, wf_cmd_cb cb, void *data)
{
    import_command_with(wf, kind, NULL, NULL, cb, data);
}

void import_command_with(import_wf *wf, wf_cmd_kind kind, const wf_cmd_args *args, db_endpoint *dest, wf_cmd_cb cb,
                         void *data)
{
    wf_cmd *c = xcalloc(1, sizeof *c);
    c->kind = kind;
    if (args)
        c->args = *args;
    c->cb = cb;
    c->data = data;
    c->dest = dest;
    uv_mutex_lock(&wf->lock);
    if (wf->thread_done) { /* nobody will run it: answer at once */
        wf_cmd_complete_locked(wf, c, WF_EUNAVAILABLE, "the workflow has stopped");
        uv_mutex_unlock(&wf->lock);
        uv_async_send(&wf->async);
        return;
    }
    c->next = wf->pending;
    wf->pending = c;
    /* Interrupt the copy phase; background streams keep running, a switch
     * needs the forward stream alive. */
    atomic_store(&wf->interrupt, true);
    if (wf->catchup)
        stream_request_stop(wf->catchup);
    uv_cond_broadcast(&wf->cond);
    uv_mutex_unlock(&wf->lock);
}

wf_state import_state(import_wf *wf)
{
    return wf_state_get(wf);
}

/* While the copy's table list does not exist, the stand-in's (setup's new
 * tables, or the progress before a failure) is shown. */
static void status_standin(import_wf *wf, wf_status *out)
{
    out->ntables = wf->nstandin;
    out->tables = xcalloc(wf->nstandin + 1, sizeof *out->tables);
    for (size_t i = 0; i < wf->nstandin; i++) {
        const wf_table_status *c = &wf->standin[i];
        out->tables[i] = *c;
        out->tables[i].schema = xstrdup(c->schema);
        out->tables[i].name = xstrdup(c->name);
        out->rows_copied += c->rows_copied;
        out->rows_estimated += c->rows_estimated > c->rows_copied ? c->rows_estimated : c->rows_copied;
    }
}

static void status_tables(import_wf *wf, wf_status *out)
{
    if (!wf->ntables && wf->nstandin) {
        status_standin(wf, out);
        return;
    }
    out->ntables = wf->ntables;
    out->tables = xcalloc(wf->ntables + 1, sizeof *out->tables);
    for (size_t i = 0; i < wf->ntables; i++) {
        wf_table_status *t = &out->tables[i];
        copier_table *ct = &wf->tables[i];
        t->schema = xstrdup(ct->schema->schema);
        t->name = xstrdup(ct->schema->name);
        t->phase = wf->phases[i];
        t->rows_copied = __atomic_load_n(&ct->rows_copied, __ATOMIC_RELAXED);
        t->rows_estimated = wf->estimates[i] > t->rows_copied ? wf->estimates[i] : t->rows_copied;
        if (t->phase == WF_PHASE_DONE || t->phase == WF_PHASE_INDEXING)
            t->rows_estimated = t->rows_copied ? t->rows_copied : t->rows_estimated;
        out->rows_copied += t->rows_copied;
        out->rows_estimated += t->rows_estimated;
    }
}

static void status_rate(import_wf *wf, wf_status *out)
{
    wf_rate_update(&wf->rate, clock_mono_ms(), out->rows_copied, wf->tables_epoch);
    out->rows_per_second = wf->rate.per_second;
    out->eta_seconds = wf_rate_eta(out->rows_copied, out->rows_estimated, wf->rate.per_second);
}

void import_status(import_wf *wf, wf_status *out)
{
    memset(out, 0, sizeof *out);
    uv_mutex_lock(&wf->lock);
    out->state = wf->state;
    out->error_code = xstrdup(wf->error_code);
    out->message = xstrdup(wf->message);
    out->copy_cycles = wf->cycles;
    out->created_ms = wf->def.created_ms;
    out->copied_ms = wf->copied_ms;
    status_tables(wf, out);
    status_rate(wf, out);
    out->throttle_reason = xstrdup("");
    out->throttled_ms = __atomic_load_n(&wf->throttled_ms, __ATOMIC_RELAXED);
    if (wf->copier) {
        sbuf reason = SBUF_INIT;
        out->throttled = copier_throttled(wf->copier, &reason);
        free(out->throttle_reason);
        out->throttle_reason = sbuf_detach(&reason, NULL);
    }
    stream *s = wf->catchup ? wf->catchup : wf->rev ? wf->rev : wf->fwd;
    if (s) {
        out->has_stream = true;
        stream_status_get(s, &out->stream);
        out->stream_name = xstrdup(stream_get_config(s)->name);
        vpos_set(&out->position, out->stream.applied.gtid, out->stream.applied.file, out->stream.applied.offset);
    } else {
        vpos_set(&out->position, wf->position.gtid, wf->position.file, wf->position.offset);
    }
    uv_mutex_unlock(&wf->lock);
}

void import_cutover_stats(import_wf *wf, wf_cutover_stats *out)
{
    uv_mutex_lock(&wf->lock);
    *out = wf->cut_stats;
    uv_mutex_unlock(&wf->lock);
}

const import_def *import_get_def(const import_wf *wf)
{
    return &wf->def;
}

static void wf_closed(uv_handle_t *h)
{
    import_wf *wf = h->data;
    import_def_clear(&wf->def);
    free(wf->state_dir);
    wf_standin_free(wf->standin, wf->nstandin);
    db_endpoint_clear(&wf->source);
    vpos_clear(&wf->position);
    fence_record_clear(&wf->source_fence);
    fence_record_clear(&wf->dest_fence);
    free(wf->error_code);
    free(wf->message);
    uv_mutex_destroy(&wf->lock);
    uv_cond_destroy(&wf->cond);
    free(wf);
}

void import_free(import_wf *wf)
{
    if (!wf->joined) { /* detached: the thread is on its way out */
        uv_mutex_lock(&wf->lock);
        wf->stop = true;
        uv_cond_broadcast(&wf->cond);
        uv_mutex_unlock(&wf->lock);
        uv_thread_join(&wf->thread);
        wf->joined = true;
    }
    /* Commands it completed meanwhile still need their callbacks. */
    wf_on_async(&wf->async);
    wf->changed = NULL;
    uv_close((uv_handle_t *)&wf->async, wf_closed);
}
