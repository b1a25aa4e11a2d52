/* stream: reader thread + supervisor/applier thread. See stream.h.
 *
 * Lifecycle of one run (an "attempt"): the supervisor connects the
 * applier, loads the saved position, starts a reader from it and applies
 * what the reader queues. Any failure ends the attempt: the reader is
 * interrupted and joined, the queue drained, the open destination
 * transaction rolled back, and the next attempt starts from the last
 * committed position. Transient errors (connections, deadlocks) retry
 * with exponential backoff; a purged or never-existing binlog file, a
 * statement-format write to a carried table (which the binlog holds as
 * SQL text, not rows) or an apply error that reproduces in careful mode
 * (no compaction, one commit per transaction, so the error names the
 * exact GTID) is final.
 *
 * Batching: the supervisor commits when the queue runs dry (so a caught-up
 * stream has no added latency), or when a batch reaches batch_trx
 * transactions, 16 MB of statements, or batch_ms. */
#include "vrepl/stream.h"

#include <errmsg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lib/bqueue.h"
#include "lib/clock.h"
#include "lib/log.h"

#define QUEUE_MAX_ITEMS 8192
#define QUEUE_MAX_BYTES (48u << 20)
#define BATCH_MAX_BYTES (16u << 20)
#define BACKOFF_MIN_MS 250
#define BACKOFF_MAX_MS 30000
#define CAREFUL_TRX 1000

typedef struct qitem {
    stream_event ev;
    int error; /* reader failed: error number, message in errmsg */
    char *errmsg;
} qitem;


struct stream {
    stream_config cfg;
    /* Called from the stream's threads on every state change. */
    void (*notify_fn)(void *data);
    void *notify_data;

    /* Loop mode (stream_start) and spawned mode: the stream's own thread. */
    bool spawned;
    uv_loop_t *loop;
    uv_async_t notify;
    uv_thread_t thread;
    bool thread_started, thread_done, joined;
    stream_cb on_change, on_stopped;
    void *cb_data, *stopped_data;

    uv_mutex_t lock; /* guards status and stop */
    stream_status st;
    bool stop;
    bool caught_up;
    uint32_t last_ts;
    int64_t last_event_ms; /* clock_mono_ms of the reader's last BEGIN, COMMIT or DDL */

    /* supervisor-thread only */
    bqueue *q; /* reader -> applier: qitem */
    uv_thread_t reader;
    bool reader_started;
    streamer *streamer; /* the reader's, for interrupting */
    uv_mutex_t streamer_lock;
    applier *applier;
    gtid_set *applied_set;
    vpos committed, pending;
    uint64_t trx_committed, trx_pending;
    server_flavor flavor;
    unsigned careful_left;
    stream_error fail_code; /* what the last failed attempt was doing */
};

const char *stream_state_name(stream_state s)
{
    static const char *const names[] = {"STARTING", "RUNNING", "RETRYING", "STOPPED", "ERROR"};
    return (unsigned)s < 5 ? names[s] : "?";
}

const char *stream_error_name(stream_error e)
{
    static const char *const names[] = {"",       "SOURCE",         "TARGET",    "APPLY",      "DDL",
                                        "PURGED", "NO_SUCH_BINLOG", "STATEMENT", "SAME_SERVER",
                                        "INTERNAL"};
    return (unsigned)e < sizeof names / sizeof names[0] ? names[e] : "?";
}

const char *ddl_policy_name(ddl_policy p)
{
    return p == DDL_EXEC ? "exec" : p == DDL_IGNORE ? "ignore" : "stop";
}

/* ---- config and status ------------------------------------------------------------ */

void stream_config_clear(stream_config *c)
{
    free(c->name);
    db_endpoint_clear(&c->source);
    db_endpoint_clear(&c->target);
    table_filter_clear(&c->filter);
    vpos_clear(&c->start);
    vpos_clear(&c->stop_at);
    free(c->sidecar_schema);
    memset(c, 0, sizeof *c);
}

static void endpoint_copy(db_endpoint *dst, const db_endpoint *src)
{
    db_endpoint *d = db_endpoint_dup(src);
    *dst = *d;
    free(d);
}

void stream_config_copy(stream_config *dst, const stream_config *src)
{
    *dst = *src;
    dst->name = xstrdup(src->name);
    endpoint_copy(&dst->source, &src->source);
    endpoint_copy(&dst->target, &src->target);
    table_filter_copy(&dst->filter, &src->filter);
    memset(&dst->start, 0, sizeof dst->start);
    memset(&dst->stop_at, 0, sizeof dst->stop_at);
    vpos_set(&dst->start, src->start.gtid, src->start.file, src->start.offset);
    vpos_set(&dst->stop_at, src->stop_at.gtid, src->stop_at.file, src->stop_at.offset);
    dst->sidecar_schema = xstrdup(src->sidecar_schema ? src->sidecar_schema : "_tablet_agent");
}

void stream_status_clear(stream_status *s)
{
    free(s->message);
    vpos_clear(&s->applied);
    memset(s, 0, sizeof *s);
}

static void status_set(stream *s, stream_state state, stream_error code, const char *msg)
{
    /* The message goes out in protobuf string fields, which must be UTF-8:
     * a server's error text quoting raw bytes is escaped if need be. */
    sbuf safe = SBUF_INIT;
    if (msg && !utf8_valid(msg, strlen(msg))) {
        sbuf_add_printable(&safe, msg, strlen(msg), SIZE_MAX);
        msg = safe.buf;
    }
    uv_mutex_lock(&s->lock);
    bool changed = s->st.state != state || strcmp(s->st.message ? s->st.message : "", msg ? msg : "") != 0;
    s->st.state = state;
    free(s->st.message);
    s->st.error = code;
    s->st.message = xstrdup(msg ? msg : "");
    uv_mutex_unlock(&s->lock);
    if (changed) {
        if (state == STREAM_ERROR || state == STREAM_RETRYING)
            log_event(LOG_WARN, "stream", LOG_ABOUT(.stream = s->cfg.name), "%s: %s", stream_state_name(state),
                      msg ? msg : "");
        else
            log_event(LOG_INFO, "stream", LOG_ABOUT(.stream = s->cfg.name), "%s%s%s", stream_state_name(state),
                      msg && *msg ? ": " : "", msg ? msg : "");
        if (s->notify_fn)
            s->notify_fn(s->notify_data);
    }
    sbuf_free(&safe);
}

static void status_progress(stream *s, bool caught_up)
{
    uv_mutex_lock(&s->lock);
    vpos_set(&s->st.applied, s->committed.gtid, s->committed.file, s->committed.offset);
    s->st.transactions = s->trx_committed;
    s->st.rows = s->applier ? applier_rows_applied(s->applier) : s->st.rows;
    s->caught_up = caught_up;
    uv_mutex_unlock(&s->lock);
}

static bool stop_requested(stream *s)
{
    uv_mutex_lock(&s->lock);
    bool stop = s->stop;
    uv_mutex_unlock(&s->lock);
    return stop;
}

/* ---- queue ------------------------------------------------------------------------- */

static void qitem_free(qitem *it)
{
    if (!it)
        return;
    stream_event_free(&it->ev);
    free(it->errmsg);
    free(it);
}

/* Empty the queue (the reader has stopped or is stopping). */
static void queue_drain(bqueue *q)
{
    qitem *it;
    while ((it = bqueue_take(q)))
        qitem_free(it);
}

/* ---- reader thread ------------------------------------------------------------------- */

static void reader_fail(stream *s, int e, const char *msg)
{
    qitem *it = xcalloc(1, sizeof *it);
    *it = (qitem){.error = e ? e : CR_UNKNOWN_ERROR, .errmsg = xstrdup(msg)};
    if (!bqueue_push(s->q, it, 0))
        qitem_free(it);
}

static void reader_main(void *arg)
{
    stream *s = arg;
    sbuf err = SBUF_INIT;
    streamer_config sc = {
        .source = &s->cfg.source,
        .server_id = s->cfg.server_id,
        .start_gtid = s->flavor == FLAVOR_MARIADB ? s->committed.gtid : NULL,
        .start_file = s->committed.file,
        .start_offset = s->committed.offset,
        .heartbeat_ms = s->cfg.heartbeat_ms,
        .filter = &s->cfg.filter,
        .skip_schema = s->cfg.sidecar_schema,
    };
    streamer *st = NULL;
    int e = streamer_open(&sc, &st, &err);
    if (e) {
        sbuf_setf(&err, "%s", sbuf_cstr(&err));
        reader_fail(s, e, err.buf);
        sbuf_free(&err);
        mysql_thread_end();
        return;
    }
    uv_mutex_lock(&s->streamer_lock);
    s->streamer = st;
    bool stopping = bqueue_closed(s->q);
    uv_mutex_unlock(&s->streamer_lock);
    while (!stopping) {
        qitem *it = xcalloc(1, sizeof *it);
        e = streamer_next(st, &it->ev, &err);
        if (e) {
            qitem_free(it);
            reader_fail(s, e, err.buf);
            break;
        }
        /* The clock is read once or twice a transaction, never per row. */
        bool txn = it->ev.kind != SEV_ROWS && it->ev.kind != SEV_HEARTBEAT;
        int64_t now = txn ? clock_mono_ms() : 0;
        uv_mutex_lock(&s->lock);
        s->st.events++;
        if (txn)
            s->last_event_ms = now;
        uv_mutex_unlock(&s->lock);
        if (!bqueue_push(s->q, it, it->ev.bytes)) {
            qitem_free(it);
            break;
        }
    }
    uv_mutex_lock(&s->streamer_lock);
    s->streamer = NULL;
    uv_mutex_unlock(&s->streamer_lock);
    streamer_close(st);
    sbuf_free(&err);
    mysql_thread_end();
}

static void reader_stop(stream *s)
{
    if (!s->reader_started)
        return;
    bqueue_close(s->q, false);
    queue_drain(s->q);
    uv_mutex_lock(&s->streamer_lock);
    if (s->streamer)
        streamer_interrupt(s->streamer);
    uv_mutex_unlock(&s->streamer_lock);
    uv_thread_join(&s->reader);
    s->reader_started = false;
    queue_drain(s->q);
    bqueue_reopen(s->q);
}

/* ---- supervisor: applying ---------------------------------------------------------------- */

typedef enum { RUN_ERROR_TRANSIENT, RUN_ERROR_FATAL, RUN_STOPPED, RUN_STOP_REACHED, RUN_DDL_STOP } run_result;

/* Has position p (with applied GTID set `set`) reached the stop position? */
static bool position_reached(const stream *s, const gtid_set *set, const vpos *p)
{
    const vpos *stop = &s->cfg.stop_at;
    if (stop->gtid && *stop->gtid && s->flavor == FLAVOR_MARIADB) {
        gtid_set *want = NULL;
        sbuf err = SBUF_INIT;
        bool reached = gtid_set_parse(FLAVOR_MARIADB, stop->gtid, &want, &err) == 0 && gtid_set_contains(set, want);
        gtid_set_free(want);
        sbuf_free(&err);
        return reached;
    }
    if (stop->file && *stop->file && p->file)
        return vpos_cmp_file(p->file, p->offset, stop->file, stop->offset) >= 0;
    return false;
}

static bool stop_position_reached(stream *s)
{
    return position_reached(s, s->applied_set, &s->committed);
}

static bool has_stop(const stream *s)
{
    return (s->cfg.stop_at.gtid && *s->cfg.stop_at.gtid) || (s->cfg.stop_at.file && *s->cfg.stop_at.file);
}

static void pending_label(stream *s, const stream_event *ev, sbuf *out)
{
    sbuf_reset(out);
    if (ev->mysql_gtid) {
        for (int i = 0; i < 16; i++)
            sbuf_addf(out, "%s%02x", i == 4 || i == 6 || i == 8 || i == 10 ? "-" : "", ev->mysql_uuid[i]);
        sbuf_addf(out, ":%llu", (unsigned long long)ev->gtid_seq);
    } else {
        sbuf_addf(out, "%u-%u-%llu", ev->gtid_domain, ev->gtid_server, (unsigned long long)ev->gtid_seq);
    }
    (void)s;
}

static void pending_advance(stream *s, const stream_event *begin, const stream_event *commit)
{
    sbuf err = SBUF_INIT, text = SBUF_INIT;
    if (begin && begin->mysql_gtid)
        gtid_set_add_mysql(s->applied_set, begin->mysql_uuid, NULL, begin->gtid_seq, &err);
    else if (begin)
        gtid_set_add_mariadb(s->applied_set, begin->gtid_domain, begin->gtid_server, begin->gtid_seq, &err);
    gtid_set_format(s->applied_set, &text);
    vpos_set(&s->pending, text.buf, commit->file, commit->offset);
    s->trx_pending++;
    sbuf_free(&err);
    sbuf_free(&text);
}

static int commit_batch(stream *s, uint32_t ts, sbuf *err)
{
    if (applier_commit(s->applier, &s->pending, s->trx_pending, ts, err) != 0)
        return -1;
    vpos_set(&s->committed, s->pending.gtid, s->pending.file, s->pending.offset);
    s->trx_committed = s->trx_pending;
    s->last_ts = ts;
    if (s->careful_left)
        s->careful_left = s->careful_left > 1 ? s->careful_left - 1 : 0;
    if (!s->careful_left)
        applier_set_careful(s->applier, false);
    status_progress(s, bqueue_empty(s->q));
    return 0;
}

/* -1 to go on, else the run_result that ends the attempt. */
static int apply_ddl(stream *s, const stream_event *begin, stream_event *ev, sbuf *err)
{
    if (s->cfg.ddl == DDL_STOP) {
        sbuf msg = SBUF_INIT;
        sbuf_adds(&msg, "stopped before DDL");
        if (*ev->schema) {
            sbuf_adds(&msg, " on `");
            sbuf_add_printable(&msg, ev->schema, strlen(ev->schema), 256);
            sbuf_addc(&msg, '`');
        }
        sbuf_adds(&msg, ": ");
        sbuf_add_printable(&msg, ev->statement, ev->statement_len, 300);
        sbuf_adds(&msg, " -- apply it to the destination yourself and restart the stream with ddl=ignore, "
                        "or restart it with ddl=exec to have the agent apply it");
        status_set(s, STREAM_STOPPED, STREAM_E_DDL, msg.buf);
        sbuf_free(&msg);
        return RUN_DDL_STOP;
    }
    pending_advance(s, begin, ev);
    int rc = s->cfg.ddl == DDL_EXEC
                 ? applier_ddl(s->applier, ev->schema, ev->statement, &s->pending, s->trx_pending, err)
                 : applier_commit(s->applier, &s->pending, s->trx_pending, ev->timestamp, err);
    if (rc != 0) {
        s->fail_code = STREAM_E_DDL;
        return db_error_is_transient(applier_last_errno(s->applier)) ? RUN_ERROR_TRANSIENT : RUN_ERROR_FATAL;
    }
    sbuf text = SBUF_INIT;
    sbuf_add_printable(&text, ev->statement, ev->statement_len, 200);
    log_event(LOG_INFO, "stream", LOG_ABOUT(.stream = s->cfg.name), "DDL %s: %s",
              s->cfg.ddl == DDL_EXEC ? "applied" : "ignored", text.buf);
    sbuf_free(&text);
    vpos_set(&s->committed, s->pending.gtid, s->pending.file, s->pending.offset);
    s->trx_committed = s->trx_pending;
    status_progress(s, bqueue_empty(s->q));
    return stop_position_reached(s) ? RUN_STOP_REACHED : -1;
}

typedef struct batch {
    bool open;
    unsigned trx;
    int64_t started;
    uint32_t last_ts;
    stream_event begin;
    bool have_begin;
} batch;

static bool batch_due(stream *s, const batch *b)
{
    return s->careful_left || b->trx >= s->cfg.batch_trx || bqueue_empty(s->q) ||
           applier_pending_bytes(s->applier) >= BATCH_MAX_BYTES || clock_mono_ms() - b->started >= s->cfg.batch_ms;
}

static run_result classify(stream *s, unsigned e)
{
    s->fail_code = STREAM_E_APPLY;
    return db_error_is_transient(e) ? RUN_ERROR_TRANSIENT : RUN_ERROR_FATAL;
}

/* One event; returns -1 to continue, else a run_result. */
static int apply_event(stream *s, batch *b, qitem *it, sbuf *err, sbuf *label)
{
    stream_event *ev = &it->ev;
    switch (ev->kind) {
    case SEV_BEGIN:
        b->begin = *ev;
        b->have_begin = true;
        pending_label(s, ev, label);
        applier_begin(s->applier, label->buf);
        uv_mutex_lock(&s->lock);
        s->caught_up = false;
        uv_mutex_unlock(&s->lock);
        return -1;
    case SEV_ROWS:
        if (applier_rows(s->applier, ev, err) != 0)
            return applier_last_errno(s->applier) ? (int)classify(s, applier_last_errno(s->applier))
                                                  : RUN_ERROR_FATAL;
        return -1;
    case SEV_COMMIT:
        pending_advance(s, b->have_begin ? &b->begin : NULL, ev);
        b->have_begin = false;
        if (!b->open) {
            b->open = true;
            b->started = clock_mono_ms();
        }
        b->trx++;
        b->last_ts = ev->timestamp;
        /* The applied set already includes this transaction: stop exactly
         * here if it reaches the stop position. */
        bool at_stop = has_stop(s) && position_reached(s, s->applied_set, &s->pending);
        if (at_stop || batch_due(s, b)) {
            if (commit_batch(s, b->last_ts, err) != 0)
                return classify(s, applier_last_errno(s->applier));
            b->open = false;
            b->trx = 0;
            if (stop_position_reached(s))
                return RUN_STOP_REACHED;
        }
        return -1;
    case SEV_DDL: {
        if (b->open && commit_batch(s, b->last_ts, err) != 0)
            return classify(s, applier_last_errno(s->applier));
        b->open = false;
        b->trx = 0;
        int r = apply_ddl(s, b->have_begin ? &b->begin : NULL, ev, err);
        b->have_begin = false;
        return r;
    }
    case SEV_HEARTBEAT:
        if (b->open) {
            if (commit_batch(s, b->last_ts, err) != 0)
                return classify(s, applier_last_errno(s->applier));
            b->open = false;
            b->trx = 0;
        }
        status_progress(s, bqueue_empty(s->q));
        return -1;
    }
    return -1;
}

/* The reader's errors that no retry can cure, as the status's error code:
 * the same position fails the same way until a person acts. */
static stream_error final_source_code(int e)
{
    switch (e) {
    case STREAMER_EPURGED:
        return STREAM_E_PURGED;
    case STREAMER_ENOBINLOG:
        return STREAM_E_NO_SUCH_BINLOG;
    case STREAMER_ESTATEMENT:
        return STREAM_E_STATEMENT;
    default:
        return STREAM_OK;
    }
}

static run_result apply_loop(stream *s, sbuf *err)
{
    batch b = {0};
    sbuf label = SBUF_INIT;
    int r = -1;
    while (r < 0) {
        if (stop_requested(s)) {
            r = RUN_STOPPED;
            break;
        }
        int64_t wait = b.open ? s->cfg.batch_ms - (clock_mono_ms() - b.started) : 200;
        qitem *it = bqueue_pop(s->q, wait > 0 ? wait : 0);
        if (!it) {
            if (b.open && !b.have_begin && clock_mono_ms() - b.started >= s->cfg.batch_ms) {
                if (commit_batch(s, b.last_ts, err) != 0)
                    r = classify(s, applier_last_errno(s->applier));
                b.open = false;
                b.trx = 0;
            }
            continue;
        }
        if (it->error) {
            stream_error final = final_source_code(it->error);
            s->fail_code = final ? final : STREAM_E_SOURCE;
            sbuf_setf(err, "%s", it->errmsg);
            if (stop_requested(s))
                r = RUN_STOPPED;
            else if (final)
                r = RUN_ERROR_FATAL;
            else
                r = it->error == STREAMER_EINTERRUPTED || db_error_is_transient((unsigned)it->error)
                        ? RUN_ERROR_TRANSIENT : RUN_ERROR_FATAL;
            qitem_free(it);
            break;
        }
        r = apply_event(s, &b, it, err, &label);
        qitem_free(it); /* a BEGIN owns no memory: its copy in b stays valid */
    }
    sbuf_free(&label);
    return (run_result)r;
}

/* ---- supervisor: attempts ------------------------------------------------------------------ */

static int attempt_setup(stream *s, sbuf *err)
{
    applier_config ac = {&s->cfg.target, s->cfg.sidecar_schema, s->cfg.name, s->flavor};
    int e = applier_open(&ac, &s->applier, err);
    if (e)
        return e;
    vpos saved = {0};
    uint64_t trx = 0;
    bool found = false;
    e = applier_position_load(s->applier, &saved, &trx, &found, err);
    if (e)
        return e;
    if (!found || s->cfg.reset) {
        e = applier_position_init(s->applier, &s->cfg.start, err);
        vpos_set(&saved, s->cfg.start.gtid, s->cfg.start.file, s->cfg.start.offset);
        trx = 0;
        s->cfg.reset = false; /* reset once, resume after that */
        if (!e)
            log_event(LOG_INFO, "stream", LOG_ABOUT(.stream = s->cfg.name), "starting at gtid '%s' file %s:%llu",
                      saved.gtid, saved.file, (unsigned long long)saved.offset);
    } else {
        log_event(LOG_INFO, "stream", LOG_ABOUT(.stream = s->cfg.name),
                  "resuming from saved position gtid '%s' file %s:%llu", saved.gtid, saved.file,
                  (unsigned long long)saved.offset);
    }
    vpos_set(&s->committed, saved.gtid, saved.file, saved.offset);
    vpos_set(&s->pending, saved.gtid, saved.file, saved.offset);
    s->trx_committed = s->trx_pending = trx;
    vpos_clear(&saved);
    gtid_set_free(s->applied_set);
    s->applied_set = NULL;
    if (!e && gtid_set_parse(s->flavor, s->committed.gtid ? s->committed.gtid : "", &s->applied_set, err) != 0)
        e = CR_UNKNOWN_ERROR;
    return e;
}

static void attempt_teardown(stream *s)
{
    reader_stop(s);
    if (s->applier) {
        applier_rollback(s->applier);
        uv_mutex_lock(&s->lock);
        s->st.rows = applier_rows_applied(s->applier);
        uv_mutex_unlock(&s->lock);
        applier_close(s->applier);
        s->applier = NULL;
    }
}

/* The first contact with both servers, once per stream: the source's
 * flavour, and that the target is not the source itself. An address that
 * leads back to the source (a wrong port, a VIP, a DNS alias) would have
 * the source apply its own binlog, each applied event writing a new one,
 * until its disk fills. */
static bool first_contact(stream *s, run_result *r, sbuf *err)
{
    MYSQL *src = NULL, *dst = NULL;
    bool same = false;
    int e = db_connect(&s->cfg.source, 0, &src, err);
    if (!e) {
        s->flavor = flavor_of_version(mysql_get_server_info(src));
        s->fail_code = STREAM_E_TARGET;
        e = db_connect(&s->cfg.target, 0, &dst, err);
    }
    if (!e)
        e = db_same_server(src, dst, &same, err);
    if (!e && same) {
        sbuf who = SBUF_INIT;
        db_server_describe(src, &who);
        sbuf_setf(err, "the target is the source server itself (%s): applying its binlog there would loop "
                       "forever; point the target at another server", who.buf);
        sbuf_free(&who);
        s->fail_code = STREAM_E_SAME_SERVER;
        *r = RUN_ERROR_FATAL;
    } else if (e) { /* as attempt_setup: the source is retried whatever it says */
        *r = !src || db_error_is_connection((unsigned)e) ? RUN_ERROR_TRANSIENT : RUN_ERROR_FATAL;
    }
    if (src)
        mysql_close(src);
    if (dst)
        mysql_close(dst);
    if (e || same)
        s->flavor = 0;
    return !e && !same;
}

static run_result attempt(stream *s, sbuf *err)
{
    s->fail_code = STREAM_E_SOURCE;
    run_result r = RUN_ERROR_TRANSIENT;
    if (!s->flavor && !first_contact(s, &r, err))
        return r;
    int e = attempt_setup(s, err);
    if (e) {
        s->fail_code = STREAM_E_TARGET;
        return db_error_is_connection((unsigned)e) ? RUN_ERROR_TRANSIENT : RUN_ERROR_FATAL;
    }
    if (stop_position_reached(s))
        return RUN_STOP_REACHED;
    applier_set_careful(s->applier, s->careful_left > 0);
    s->reader_started = uv_thread_create(&s->reader, reader_main, s) == 0;
    status_set(s, STREAM_RUNNING, STREAM_OK, s->careful_left ? "careful mode: one commit per transaction" : "");
    status_progress(s, false);
    return apply_loop(s, err);
}

static void backoff_sleep(stream *s, unsigned ms)
{
    for (unsigned slept = 0; slept < ms && !stop_requested(s); slept += 50) {
        struct timespec ts = {0, 50 * 1000000L};
        nanosleep(&ts, NULL);
    }
}

stream_state stream_run(stream *s)
{
    sbuf err = SBUF_INIT;
    unsigned backoff = 0;
    for (;;) {
        uint64_t trx_before = s->trx_committed;
        run_result r = attempt(s, &err);
        attempt_teardown(s);
        if (r == RUN_ERROR_TRANSIENT || r == RUN_ERROR_FATAL || r == RUN_DDL_STOP) {
            stream_error why = r == RUN_DDL_STOP ? STREAM_E_DDL : s->fail_code;
            uv_mutex_lock(&s->lock);
            s->st.errors[(unsigned)why < STREAM_E_COUNT ? why : STREAM_E_INTERNAL]++;
            uv_mutex_unlock(&s->lock);
        }
        if (r == RUN_STOPPED) {
            status_set(s, STREAM_STOPPED, STREAM_OK, "stopped on request");
            break;
        }
        if (r == RUN_STOP_REACHED) {
            uv_mutex_lock(&s->lock);
            s->st.stop_reached = true;
            uv_mutex_unlock(&s->lock);
            status_set(s, STREAM_STOPPED, STREAM_OK, "reached its stop position");
            break;
        }
        if (r == RUN_DDL_STOP)
            break;
        if (r == RUN_ERROR_FATAL) {
            bool apply_error = s->fail_code == STREAM_E_APPLY;
            if (apply_error && !s->careful_left) {
                /* Pinpoint: replay from the last commit without compaction. */
                log_event(LOG_WARN, "stream", LOG_ABOUT(.stream = s->cfg.name),
                          "%s; replaying carefully to find the exact transaction", err.buf);
                s->careful_left = CAREFUL_TRX;
                continue;
            }
            status_set(s, STREAM_ERROR, s->fail_code, err.buf);
            break;
        }
        if (s->trx_committed > trx_before)
            backoff = 0;
        backoff = backoff ? (backoff * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : backoff * 2) : BACKOFF_MIN_MS;
        uv_mutex_lock(&s->lock);
        s->st.retries++;
        uv_mutex_unlock(&s->lock);
        sbuf msg = SBUF_INIT;
        sbuf_addf(&msg, "%s; retrying in %.1f s", err.buf, backoff / 1000.0);
        status_set(s, STREAM_RETRYING, STREAM_OK, msg.buf);
        sbuf_free(&msg);
        backoff_sleep(s, backoff);
        if (stop_requested(s)) {
            status_set(s, STREAM_STOPPED, STREAM_OK, "stopped on request");
            break;
        }
    }
    sbuf_free(&err);
    gtid_set_free(s->applied_set);
    s->applied_set = NULL;
    uv_mutex_lock(&s->lock);
    stream_state final = s->st.state;
    uv_mutex_unlock(&s->lock);
    return final;
}

static void stream_thread_main(void *arg)
{
    stream *s = arg;
    stream_run(s);
    mysql_thread_end();
    uv_mutex_lock(&s->lock);
    s->thread_done = true;
    uv_mutex_unlock(&s->lock);
    if (s->loop)
        uv_async_send(&s->notify);
    else if (s->notify_fn)
        s->notify_fn(s->notify_data);
}

stream *stream_spawn(const stream_config *cfg, void (*notify)(void *data), void *data)
{
    stream *s = stream_new(cfg, notify, data);
    s->spawned = true;
    s->thread_started = uv_thread_create(&s->thread, stream_thread_main, s) == 0;
    if (!s->thread_started) {
        s->thread_done = s->joined = true;
        status_set(s, STREAM_ERROR, STREAM_E_INTERNAL, "cannot start the stream thread");
    }
    return s;
}

bool stream_done(stream *s)
{
    uv_mutex_lock(&s->lock);
    bool done = s->thread_done;
    uv_mutex_unlock(&s->lock);
    return done;
}

void stream_join(stream *s)
{
    stream_request_stop(s);
    if (s->thread_started && !s->joined)
        uv_thread_join(&s->thread);
    s->joined = true;
}

/* ---- loop side ------------------------------------------------------------------------------- */

static void stream_on_notify(uv_async_t *h)
{
    stream *s = h->data;
    uv_mutex_lock(&s->lock);
    bool done = s->thread_done;
    uv_mutex_unlock(&s->lock);
    if (done && !s->joined) {
        uv_thread_join(&s->thread);
        s->joined = true;
    }
    if (s->on_change)
        s->on_change(s, s->cb_data);
    if (done && s->on_stopped) {
        stream_cb cb = s->on_stopped;
        s->on_stopped = NULL;
        cb(s, s->stopped_data);
    }
}

stream *stream_new(const stream_config *cfg, void (*notify)(void *data), void *data)
{
    stream *s = xcalloc(1, sizeof *s);
    stream_config_copy(&s->cfg, cfg);
    if (!s->cfg.heartbeat_ms)
        s->cfg.heartbeat_ms = 1000;
    if (!s->cfg.batch_ms)
        s->cfg.batch_ms = 100;
    if (!s->cfg.batch_trx)
        s->cfg.batch_trx = 20000;
    s->notify_fn = notify;
    s->notify_data = data;
    uv_mutex_init(&s->lock);
    uv_mutex_init(&s->streamer_lock);
    s->q = bqueue_new(QUEUE_MAX_ITEMS, QUEUE_MAX_BYTES);
    s->st.state = STREAM_STARTING;
    s->st.started_ms = clock_wall_ms();
    s->st.message = xstrdup("");
    s->last_event_ms = clock_mono_ms();
    return s;
}

void stream_request_stop(stream *s)
{
    uv_mutex_lock(&s->lock);
    s->stop = true;
    uv_mutex_unlock(&s->lock);
    uv_mutex_lock(&s->streamer_lock);
    if (s->streamer)
        streamer_interrupt(s->streamer);
    uv_mutex_unlock(&s->streamer_lock);
    bqueue_wake(s->q);
}

static void stream_async_notify(void *data)
{
    uv_async_send(&((stream *)data)->notify);
}

stream *stream_start(uv_loop_t *loop, const stream_config *cfg, stream_cb on_change, void *data)
{
    stream *s = stream_new(cfg, NULL, NULL);
    s->loop = loop;
    s->on_change = on_change;
    s->cb_data = data;
    uv_async_init(loop, &s->notify, stream_on_notify);
    s->notify.data = s;
    s->notify_fn = stream_async_notify;
    s->notify_data = s;
    s->thread_started = uv_thread_create(&s->thread, stream_thread_main, s) == 0;
    if (!s->thread_started) {
        s->thread_done = s->joined = true;
        status_set(s, STREAM_ERROR, STREAM_E_INTERNAL, "cannot start the stream thread");
    }
    return s;
}

void stream_stop(stream *s, stream_cb done, void *data)
{
    s->on_stopped = done;
    s->stopped_data = data;
    stream_request_stop(s);
    uv_mutex_lock(&s->lock);
    bool finished = s->thread_done;
    uv_mutex_unlock(&s->lock);
    if (finished)
        uv_async_send(&s->notify);
}

bool stream_running(const stream *s)
{
    uv_mutex_lock((uv_mutex_t *)&s->lock);
    bool r = !s->thread_done;
    uv_mutex_unlock((uv_mutex_t *)&s->lock);
    return r || !s->joined;
}

static void stream_destroy(stream *s)
{
    bqueue_free(s->q);
    uv_mutex_destroy(&s->lock);
    uv_mutex_destroy(&s->streamer_lock);
    stream_status_clear(&s->st);
    vpos_clear(&s->committed);
    vpos_clear(&s->pending);
    stream_config_clear(&s->cfg);
    free(s);
}

static void stream_closed(uv_handle_t *h)
{
    stream_destroy(h->data);
}

void stream_free(stream *s)
{
    if (!s)
        return;
    s->on_change = NULL;
    s->on_stopped = NULL;
    if (s->loop)
        uv_close((uv_handle_t *)&s->notify, stream_closed);
    else
        stream_destroy(s);
}

void stream_status_get(stream *s, stream_status *out)
{
    uv_mutex_lock(&s->lock);
    *out = s->st;
    out->error = s->st.error;
    out->message = xstrdup(s->st.message ? s->st.message : "");
    memset(&out->applied, 0, sizeof out->applied);
    vpos_set(&out->applied, s->st.applied.gtid, s->st.applied.file, s->st.applied.offset);
    if (s->st.state == STREAM_RUNNING && !s->caught_up && s->last_ts)
        out->lag_seconds = (double)(time(NULL) - (time_t)s->last_ts);
    else if (s->st.state == STREAM_RUNNING)
        out->lag_seconds = 0;
    else
        out->lag_seconds = -1;
    if (out->lag_seconds < -0.0 && s->st.state == STREAM_RUNNING)
        out->lag_seconds = 0;
    out->last_event_age_seconds = (double)(clock_mono_ms() - s->last_event_ms) / 1000.0;
    uv_mutex_unlock(&s->lock);
}

const stream_config *stream_get_config(const stream *s)
{
    return &s->cfg;
}
