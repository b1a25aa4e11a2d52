/* import_core: the state an import's dispatcher and phases share. See
 * import_core.h for how the files depend on each other. */
#include "workflow/import_core.h"

#include <stdlib.h>
#include <string.h>

#include "lib/log.h"

const char *wf_phase_name(wf_phase p)
{
    static const char *const names[] = {"creating", "pending", "copying", "copied", "indexing", "done"};
    return (unsigned)p < sizeof names / sizeof names[0] ? names[p] : "?";
}

const char *wf_vdiff_state_name(wf_vdiff_state s)
{
    static const char *const names[] = {"NONE", "RUNNING", "DONE", "ERROR", "CANCELLED"};
    return (unsigned)s < sizeof names / sizeof names[0] ? names[s] : "?";
}

const char *wf_state_name(wf_state s)
{
    static const char *const names[] = {"STARTING", "COPYING",  "CATCHING_UP", "REPLICATING", "PAUSED",
                                        "ERROR",    "STOPPED",  "SWITCHING",   "PRIMARY",     "REVERSING"};
    return (unsigned)s < sizeof names / sizeof names[0] ? names[s] : "?";
}

/* ---- state ---------------------------------------------------------------------------- */

void wf_notify(import_wf *wf)
{
    uv_mutex_lock(&wf->lock);
    uv_cond_broadcast(&wf->cond);
    uv_mutex_unlock(&wf->lock);
    uv_async_send(&wf->async);
}

void wf_set(import_wf *wf, wf_state state, const char *code, const char *msg)
{
    uv_mutex_lock(&wf->lock);
    bool changed = wf->state != state || strcmp(wf->message ? wf->message : "", msg ? msg : "") != 0;
    wf->state = state;
    free(wf->error_code);
    free(wf->message);
    wf->error_code = xstrdup(code ? code : "");
    wf->message = xstrdup(msg ? msg : "");
    uv_mutex_unlock(&wf->lock);
    if (!changed)
        return;
    if (state == WF_ERROR)
        log_event(LOG_ERROR, "workflow", LOG_ABOUT(.workflow = wf->def.name), "%s: %s", wf_state_name(state),
                  msg ? msg : "");
    else
        log_event(LOG_INFO, "workflow", LOG_ABOUT(.workflow = wf->def.name), "%s%s%s", wf_state_name(state),
                  msg && *msg ? ": " : "", msg ? msg : "");
    if (wf->dest && !wf->detached) {
        sbuf err = SBUF_INIT;
        sidecar_workflow_save(wf->dest, wf->def.sidecar, wf->def.name, wf_state_name(state), msg, &err);
        sbuf_free(&err);
    }
    wf_notify(wf);
}

int wf_milestone(import_wf *wf, bool *milestone, sbuf *err)
{
    if (*milestone)
        return 0;
    *milestone = true;
    if (import_def_save(wf->state_dir, &wf->def, err) == 0)
        return 0;
    *milestone = false;
    return -1;
}

bool wf_interrupted(import_wf *wf)
{
    return atomic_load(&wf->interrupt);
}

void wf_stream_changed(void *data)
{
    wf_notify(data);
}

step_result wf_classify(int e)
{
    return db_error_is_transient((unsigned)e) ? STEP_TRANSIENT : STEP_FATAL;
}

int wf_connect(import_wf *wf, sbuf *err)
{
    int e = 0;
    if (!wf->dest)
        e = db_connect(&wf->def.dest, DB_MULTI_STATEMENTS | DB_DATA, &wf->dest, err);
    if (e) {
        sbuf msg = SBUF_INIT;
        sbuf_addf(&msg, "destination: %s", err->buf);
        sbuf_setf(err, "%s", msg.buf);
        sbuf_free(&msg);
        return e;
    }
    if (!wf->src && (e = db_connect(&wf->source, DB_DATA, &wf->src, err)) == 0)
        wf->flavor = flavor_of_version(mysql_get_server_info(wf->src));
    if (e) {
        sbuf msg = SBUF_INIT;
        sbuf_addf(&msg, "source: %s", err->buf);
        sbuf_setf(err, "%s", msg.buf);
        sbuf_free(&msg);
    }
    return e;
}

void wf_disconnect(import_wf *wf)
{
    if (wf->dest)
        mysql_close(wf->dest);
    if (wf->src)
        mysql_close(wf->src);
    wf->dest = wf->src = NULL;
    uv_mutex_lock(&wf->lock);
    copier *c = wf->copier;
    wf->copier = NULL;
    uv_mutex_unlock(&wf->lock);
    copier_close(c);
}

/* ---- streams ------------------------------------------------------------------------------ */

void wf_stream_name(const import_wf *wf, bool reverse, sbuf *out)
{
    sbuf_addf(out, "%s%s", wf->def.name, reverse ? WF_REVERSE_SUFFIX : "");
}

void wf_stream_config(const import_wf *wf, bool reverse, const vpos *start, bool reset, const vpos *stop_at,
                      stream_config *cfg)
{
    stream_config t;
    memset(&t, 0, sizeof t);
    sbuf name = SBUF_INIT;
    wf_stream_name(wf, reverse, &name);
    t.name = name.buf;
    t.source = reverse ? wf->def.dest : wf->source;
    t.target = reverse ? wf->source : wf->def.dest;
    t.filter = wf->def.tables;
    t.ddl = wf->def.opt.ddl;
    t.server_id = wf->server_id + (reverse ? 1 : 0);
    t.sidecar_schema = wf->def.sidecar;
    t.reset = reset;
    if (start)
        t.start = *start;
    if (stop_at)
        t.stop_at = *stop_at;
    stream_config_copy(cfg, &t);
    sbuf_free(&name);
}

void wf_streams_stop(import_wf *wf)
{
    uv_mutex_lock(&wf->lock);
    stream *f = wf->fwd, *r = wf->rev;
    uv_mutex_unlock(&wf->lock);
    if (f)
        stream_join(f);
    if (r)
        stream_join(r);
    uv_mutex_lock(&wf->lock);
    wf->fwd = wf->rev = NULL;
    uv_mutex_unlock(&wf->lock);
    stream_free(f);
    stream_free(r);
}

/* ---- commands ----------------------------------------------------------------------------- */

void wf_cmd_complete_locked(import_wf *wf, wf_cmd *c, wf_err code, const char *msg)
{
    c->res.code = code;
    free(c->res.message);
    c->res.message = xstrdup(msg ? msg : "");
    c->next = wf->completed;
    wf->completed = c;
}

void wf_cmd_done(import_wf *wf, wf_cmd *c, wf_err code, const char *msg)
{
    uv_mutex_lock(&wf->lock);
    wf_cmd_complete_locked(wf, c, code, msg);
    uv_mutex_unlock(&wf->lock);
    uv_async_send(&wf->async);
}

wf_state wf_state_get(import_wf *wf)
{
    uv_mutex_lock(&wf->lock);
    wf_state st = wf->state;
    uv_mutex_unlock(&wf->lock);
    return st;
}

#define RATE_WINDOW_MS 2000

void wf_rate_update(wf_rate *r, int64_t now_ms, uint64_t count, uint64_t epoch)
{
    if (!r->t0_ms || epoch != r->epoch || count < r->count0) {
        r->t0_ms = now_ms;
        r->count0 = count;
        r->epoch = epoch;
    } else if (now_ms - r->t0_ms >= RATE_WINDOW_MS) {
        r->per_second = (double)(count - r->count0) * 1000.0 / (double)(now_ms - r->t0_ms);
        r->t0_ms = now_ms;
        r->count0 = count;
    }
}

int64_t wf_rate_eta(uint64_t done, uint64_t total, double per_second)
{
    uint64_t left = total > done ? total - done : 0;
    return left == 0 ? 0 : per_second > 0 ? (int64_t)((double)left / per_second) : -1;
}

/* Run the workflow's stream until stop_at (NULL: until interrupted). */
step_result wf_run_stream(import_wf *wf, bool reverse, const vpos *stop_at, sbuf *err)
{
    stream_config cfg;
    wf_stream_config(wf, reverse, &wf->position, false, stop_at, &cfg);
    stream *s = stream_new(&cfg, wf_stream_changed, wf);
    stream_config_clear(&cfg);
    uv_mutex_lock(&wf->lock);
    wf->catchup = s;
    if (atomic_load(&wf->interrupt))
        stream_request_stop(s);
    uv_mutex_unlock(&wf->lock);
    stream_state st = stream_run(s);
    stream_status ss;
    stream_status_get(s, &ss);
    uv_mutex_lock(&wf->lock);
    wf->catchup = NULL;
    if (!reverse)
        vpos_set(&wf->position, ss.applied.gtid, ss.applied.file, ss.applied.offset);
    uv_mutex_unlock(&wf->lock);
    step_result r = STEP_OK;
    if (st == STREAM_ERROR || (st == STREAM_STOPPED && ss.error)) {
        wf->fail_code = ss.error;
        sbuf_setf(err, "replication %s: %s", ss.error ? stream_error_name(ss.error) : "error", ss.message);
        r = STEP_FATAL;
    } else if (st == STREAM_STOPPED && !ss.stop_reached) {
        r = STEP_INTERRUPTED;
    }
    stream_status_clear(&ss);
    stream_free(s);
    return r;
}

/* A stop position the stream can compare: GTID on MariaDB, else file/offset. */
void wf_stop_at(const import_wf *wf, const vpos *p, vpos *out)
{
    memset(out, 0, sizeof *out);
    vpos_set(out, wf->flavor == FLAVOR_MARIADB ? p->gtid : "", wf->flavor == FLAVOR_MARIADB ? "" : p->file,
             wf->flavor == FLAVOR_MARIADB ? 0 : p->offset);
}

void wf_standin_free(wf_table_status *list, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(list[i].schema);
        free(list[i].name);
    }
    free(list);
}

stream *wf_stream_spawn(import_wf *wf, bool reverse, const vpos *start, bool reset)
{
    stream_config cfg;
    wf_stream_config(wf, reverse, start, reset, NULL, &cfg);
    stream *s = stream_spawn(&cfg, wf_stream_changed, wf);
    stream_config_clear(&cfg);
    uv_mutex_lock(&wf->lock);
    if (reverse)
        wf->rev = s;
    else
        wf->fwd = s;
    uv_mutex_unlock(&wf->lock);
    return s;
}

void wf_stream_stop(import_wf *wf, bool reverse)
{
    uv_mutex_lock(&wf->lock);
    stream *s = reverse ? wf->rev : wf->fwd;
    uv_mutex_unlock(&wf->lock);
    if (!s)
        return;
    stream_join(s);
    uv_mutex_lock(&wf->lock);
    if (reverse)
        wf->rev = NULL;
    else
        wf->fwd = NULL;
    uv_mutex_unlock(&wf->lock);
    stream_free(s);
}

int wf_connect_source(import_wf *wf, MYSQL **m, sbuf *err)
{
    return db_connect(&wf->source, DB_MULTI_STATEMENTS | DB_DATA, m, err);
}

