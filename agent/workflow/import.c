/* import: the import workflow's thread. See import.h.
 *
 * The invariant everything rests on: at every commit, each table on the
 * destination holds a subset of the source's rows as of the stream's saved
 * position P, each row exactly as the source had it at P. Copy pages are
 * only written from a snapshot taken at exactly P, so they keep it; the
 * stream keeps it because it applies whole transactions with their
 * position. A copy cycle therefore is:
 *   1. catch up: run the stream from P to the source's current position;
 *   2. open a snapshot (exact GTID G) and run the stream to exactly G;
 *   3. copy pages from the snapshot for at most snapshot_seconds;
 *   4. close it (so undo history never grows for hours).
 * The first cycle skips 1-2 and sets P = G. A restart after a crash is
 * just the next cycle: pages committed out of order past a table's resume
 * point are redone with upserts, and the stream replays from P.
 *
 * Commands arrive from the loop through a queue; a command that has to
 * interrupt a long step sets `interrupt` (the copier's cancel flag) and
 * asks the running stream to stop. */
#include "workflow/import.h"

#include <errmsg.h>
#include <mysqld_error.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

#include "db/probe.h"
#include "db/schema.h"
#include "lib/log.h"
#include "vrepl/copier.h"
#include "vrepl/snapshot.h"
#include "workflow/sidecar.h"

#define BACKOFF_MAX_MS 30000

typedef enum { STEP_OK, STEP_INTERRUPTED, STEP_TRANSIENT, STEP_FATAL } step_result;

typedef struct wf_cmd {
    wf_cmd_kind kind;
    db_endpoint *dest; /* resume: new destination credentials, or NULL */
    wf_cmd_cb cb;
    void *data;
    int code;
    char *message;
    struct wf_cmd *next;
} wf_cmd;

struct import_wf {
    uv_loop_t *loop;
    uv_async_t async;
    uv_thread_t thread;
    import_def def;
    db_endpoint source;
    uint32_t server_id;
    void (*changed)(void *);
    void *changed_data;

    uv_mutex_t lock; /* guards everything below it */
    uv_cond_t cond;
    wf_cmd *pending, *completed;
    wf_cmd *stop_cmd; /* completed only once the thread has exited */
    bool interrupt, paused, stop, thread_done, joined;
    stream *active_stream;
    wf_state state;
    char *error_code, *message;
    unsigned cycles;
    copier_table *tables;
    const char **phases;
    uint64_t *estimates;
    size_t ntables;
    copier *copier;
    int64_t rate_t0;
    uint64_t rate_rows0;
    double rate;
    vpos position;

    /* the workflow thread's own */
    MYSQL *dest;
    MYSQL *src;
    db_flavor flavor;
    copy_row *rows;
    schema_table **schemas;
    bool setup_done;
};

static int64_t now_ms(void)
{
    struct timeval tv;
    gettimeofday(&tv, NULL);
    return (int64_t)tv.tv_sec * 1000 + tv.tv_usec / 1000;
}

const char *wf_state_name(wf_state s)
{
    static const char *const names[] = {"STARTING", "COPYING", "CATCHING_UP", "REPLICATING", "PAUSED", "ERROR", "STOPPED"};
    return (unsigned)s < sizeof names / sizeof names[0] ? names[s] : "?";
}

void wf_status_clear(wf_status *s)
{
    free(s->error_code);
    free(s->message);
    free(s->throttle_reason);
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

/* ---- state ---------------------------------------------------------------------------- */

static void wf_notify(import_wf *wf)
{
    uv_async_send(&wf->async);
}

static void wf_set(import_wf *wf, wf_state state, const char *code, const char *msg)
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
        log_error("workflow", "%s: %s: %s", wf->def.name, wf_state_name(state), msg ? msg : "");
    else
        log_info("workflow", "%s: %s%s%s", wf->def.name, wf_state_name(state), msg && *msg ? ": " : "",
                 msg ? msg : "");
    if (wf->dest) {
        sbuf err = SBUF_INIT;
        sidecar_workflow_save(wf->dest, wf->def.sidecar, wf->def.name, wf_state_name(state), msg, &err);
        sbuf_free(&err);
    }
    wf_notify(wf);
}

static bool wf_interrupted(import_wf *wf)
{
    uv_mutex_lock(&wf->lock);
    bool i = wf->interrupt;
    uv_mutex_unlock(&wf->lock);
    return i;
}

static void wf_stream_changed(void *data)
{
    wf_notify(data);
}

/* ---- setup ------------------------------------------------------------------------------- */

static int wf_connect(import_wf *wf, sbuf *err)
{
    int e = 0;
    if (!wf->dest && (e = db_connect(&wf->def.dest, DB_MULTI_STATEMENTS | DB_BINARY, &wf->dest, err)) == 0)
        e = db_exec(wf->dest, "SET SESSION time_zone='+00:00', sql_mode='NO_AUTO_VALUE_ON_ZERO,"
                              "NO_ENGINE_SUBSTITUTION', foreign_key_checks=0", err);
    if (e) {
        sbuf msg = SBUF_INIT;
        sbuf_addf(&msg, "destination: %s", err->buf);
        sbuf_setf(err, "%s", msg.buf);
        sbuf_free(&msg);
        return e;
    }
    if (!wf->src && (e = db_connect(&wf->source, DB_BINARY, &wf->src, err)) == 0)
        wf->flavor = probe_flavor_of(mysql_get_server_info(wf->src));
    if (e) {
        sbuf msg = SBUF_INIT;
        sbuf_addf(&msg, "source: %s", err->buf);
        sbuf_setf(err, "%s", msg.buf);
        sbuf_free(&msg);
    }
    return e;
}

static void wf_disconnect(import_wf *wf)
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

/* SHOW CREATE TABLE without the secondary indexes, which come back later
 * as one ALTER TABLE (much faster than maintaining them row by row).
 * Tables with foreign keys keep their indexes: the constraints need them. */
static void split_indexes(const char *create, const schema_table *t, bool defer, sbuf *table_sql, sbuf *deferred)
{
    bool has_fk = strstr(create, " FOREIGN KEY ") != NULL;
    const char *body = strchr(create, '\n'), *tail = strrchr(create, '\n');
    if (!defer || has_fk || !body || !tail || tail <= body) {
        sbuf_addf(table_sql, "CREATE TABLE IF NOT EXISTS %s", create + strlen("CREATE TABLE "));
        return;
    }
    sbuf_add(table_sql, "CREATE TABLE IF NOT EXISTS ", strlen("CREATE TABLE IF NOT EXISTS "));
    sbuf_add(table_sql, create + strlen("CREATE TABLE "), (size_t)(body - create) - strlen("CREATE TABLE "));
    bool first = true;
    for (const char *line = body + 1; line < tail;) {
        const char *nl = memchr(line, '\n', (size_t)(tail + 1 - line));
        size_t len = (size_t)(nl - line);
        while (len && (line[len - 1] == ',' || line[len - 1] == ' '))
            len--;
        const char *p = line;
        while (*p == ' ')
            p++;
        size_t plen = len - (size_t)(p - line);
        bool secondary = (!strncmp(p, "KEY ", 4) || !strncmp(p, "UNIQUE KEY ", 11) || !strncmp(p, "FULLTEXT KEY ", 13) ||
                          !strncmp(p, "SPATIAL KEY ", 12) || !strncmp(p, "INDEX ", 6));
        if (secondary && t->key_name && !t->key_is_primary) {
            sbuf name = SBUF_INIT;
            db_add_ident(&name, t->key_name);
            secondary = !(strncmp(p, "UNIQUE KEY ", 11) == 0 && strncmp(p + 11, name.buf, name.len) == 0);
            sbuf_free(&name);
        }
        if (secondary) {
            sbuf_adds(deferred, deferred->len ? ", ADD " : "ADD ");
            sbuf_add(deferred, p, plen);
        } else {
            sbuf_adds(table_sql, first ? "\n" : ",\n");
            sbuf_add(table_sql, line, len);
            first = false;
        }
        line = nl + 1;
    }
    sbuf_adds(table_sql, tail);
}

static int wf_create_database(import_wf *wf, const char *db, sbuf *err)
{
    sbuf q = SBUF_INIT;
    sbuf_adds(&q, "SELECT CONCAT('CHARACTER SET ', DEFAULT_CHARACTER_SET_NAME, ' COLLATE ', DEFAULT_COLLATION_NAME) "
                  "FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = ");
    db_add_cstring(&q, db);
    sbuf opts = SBUF_INIT;
    bool found;
    int e = db_query_value(wf->src, q.buf, &opts, &found, err);
    if (!e) {
        sbuf_reset(&q);
        sbuf_adds(&q, "CREATE DATABASE IF NOT EXISTS ");
        db_add_ident(&q, db);
        if (found)
            sbuf_addf(&q, " %s", opts.buf);
        e = db_exec(wf->dest, q.buf, err);
    }
    sbuf_free(&q);
    sbuf_free(&opts);
    return e;
}

static int wf_dest_empty(import_wf *wf, const schema_table *t, sbuf *err)
{
    sbuf q = SBUF_INIT, v = SBUF_INIT;
    bool found;
    sbuf_adds(&q, "SELECT 1 FROM ");
    db_add_table(&q, t->schema, t->name);
    sbuf_adds(&q, " LIMIT 1");
    int e = db_query_value(wf->dest, q.buf, &v, &found, err);
    if (!e && found) {
        sbuf_setf(err, "destination table `%s`.`%s` already has rows; an import needs it empty or absent "
                       "(drop or empty it, or exclude it with --exclude)", t->schema, t->name);
        e = ER_TABLE_EXISTS_ERROR;
    }
    sbuf_free(&q);
    sbuf_free(&v);
    return e;
}

static int wf_create_table(import_wf *wf, const schema_table *t, sbuf *deferred, sbuf *err)
{
    sbuf q = SBUF_INIT, create = SBUF_INIT, sql = SBUF_INIT;
    bool found;
    sbuf_adds(&q, "SHOW CREATE TABLE ");
    db_add_table(&q, t->schema, t->name);
    MYSQL_RES *r;
    int e = db_query(wf->src, q.buf, &r, err);
    if (!e) {
        MYSQL_ROW row = mysql_fetch_row(r);
        unsigned long *len = mysql_fetch_lengths(r);
        if (row && row[1])
            sbuf_add(&create, row[1], len[1]);
        mysql_free_result(r);
        split_indexes(create.buf, t, wf->def.opt.defer_indexes, &sql, deferred);
        sbuf_reset(&q);
        sbuf_adds(&q, "USE ");
        db_add_ident(&q, t->schema);
        e = db_exec(wf->dest, q.buf, err);
    }
    if (!e)
        e = db_exec(wf->dest, sql.buf, err);
    if (!e)
        e = wf_dest_empty(wf, t, err);
    (void)found;
    sbuf_free(&q);
    sbuf_free(&create);
    sbuf_free(&sql);
    return e;
}

/* A new workflow: find the tables, create them on the destination. */
static int wf_discover(import_wf *wf, sbuf *err)
{
    sbuf q = SBUF_INIT, nokey = SBUF_INIT;
    sbuf_adds(&q, "SELECT TABLE_SCHEMA, TABLE_NAME FROM information_schema.TABLES WHERE TABLE_TYPE = 'BASE TABLE' "
                  "AND TABLE_SCHEMA NOT IN ('mysql', 'information_schema', 'performance_schema', 'sys', ");
    db_add_cstring(&q, wf->def.sidecar);
    sbuf_adds(&q, ") ORDER BY TABLE_SCHEMA, TABLE_NAME");
    MYSQL_RES *r;
    int e = db_query(wf->src, q.buf, &r, err);
    sbuf_free(&q);
    if (e)
        return e;
    MYSQL_ROW row;
    size_t added = 0;
    while (!e && (row = mysql_fetch_row(r))) {
        if (!table_filter_match(&wf->def.tables, row[0], row[1]))
            continue;
        schema_table *t;
        if ((e = schema_table_load(wf->src, row[0], row[1], &t, err)) != 0)
            break;
        if (t->nkey == 0) {
            sbuf_addf(&nokey, "%s`%s`.`%s`", nokey.len ? ", " : "", t->schema, t->name);
            schema_table_free(t);
            continue;
        }
        sbuf deferred = SBUF_INIT;
        if ((e = wf_create_database(wf, t->schema, err)) == 0 && (e = wf_create_table(wf, t, &deferred, err)) == 0) {
            copy_row c = {.schema = t->schema, .table = t->name, .state = "pending", .rows_estimated = t->est_rows,
                          .deferred = deferred.buf};
            e = sidecar_copy_add(wf->dest, wf->def.sidecar, wf->def.name, &c, err);
            added++;
        }
        sbuf_free(&deferred);
        schema_table_free(t);
    }
    mysql_free_result(r);
    if (!e && nokey.len) {
        sbuf_setf(err, "tables without a PRIMARY KEY or NOT NULL UNIQUE key cannot be copied or replicated: %s; "
                       "add a key or exclude them (run preflight)", nokey.buf);
        e = ER_REQUIRES_PRIMARY_KEY;
    }
    if (!e && added == 0) {
        sbuf_setf(err, "no table on the source matches the workflow's table filter");
        e = ER_NO_SUCH_TABLE;
    }
    sbuf_free(&nokey);
    return e;
}

/* Load copy state and schemas; set each table's resume point. */
static int wf_load_tables(import_wf *wf, sbuf *err)
{
    copy_row *rows;
    size_t n;
    int e = sidecar_copy_load(wf->dest, wf->def.sidecar, wf->def.name, &rows, &n, err);
    if (e)
        return e;
    copier_table *tables = xcalloc(n + 1, sizeof *tables);
    schema_table **schemas = xcalloc(n + 1, sizeof *schemas);
    const char **phases = xcalloc(n + 1, sizeof *phases);
    uint64_t *estimates = xcalloc(n + 1, sizeof *estimates);
    for (size_t i = 0; !e && i < n; i++) {
        if ((e = schema_table_load(wf->src, rows[i].schema, rows[i].table, &schemas[i], err)) != 0)
            break;
        copier_table *t = &tables[i];
        t->schema = schemas[i];
        estimates[i] = rows[i].rows_estimated;
        bool copied = strcmp(rows[i].state, "pending") != 0;
        phases[i] = strcmp(rows[i].state, "indexed") == 0 ? "done" : copied ? "copied" : "pending";
        t->read_done = copied;
        if (copied) {
            t->rows_copied = rows[i].rows_copied;
            continue;
        }
        e = sidecar_chunks_resume(wf->dest, wf->def.sidecar, wf->def.name, rows[i].schema, rows[i].table,
                                  &t->last_key, &t->next_chunk, &t->rows_copied, err);
        if (!e && t->next_chunk) {
            sbuf key = SBUF_INIT;
            copier_key_describe(t->last_key, schemas[i]->nkey, &key);
            log_info("workflow", "%s: resuming `%s`.`%s` after saved key %s (page %llu, %llu rows already copied)",
                     wf->def.name, rows[i].schema, rows[i].table, key.buf, (unsigned long long)t->next_chunk,
                     (unsigned long long)t->rows_copied);
            sbuf_free(&key);
        }
    }
    uv_mutex_lock(&wf->lock);
    wf->tables = tables;
    wf->phases = phases;
    wf->estimates = estimates;
    wf->ntables = n;
    uv_mutex_unlock(&wf->lock);
    wf->rows = rows;
    wf->schemas = schemas;
    return e;
}

/* Forget the loaded tables: after a failure the in-memory resume points
 * may be ahead of what committed, so they are read again from the sidecar. */
static void wf_unload(import_wf *wf)
{
    uv_mutex_lock(&wf->lock);
    copier_table *tables = wf->tables;
    const char **phases = wf->phases;
    uint64_t *estimates = wf->estimates;
    size_t n = wf->ntables;
    wf->tables = NULL;
    wf->phases = NULL;
    wf->estimates = NULL;
    wf->ntables = 0;
    uv_mutex_unlock(&wf->lock);
    for (size_t i = 0; i < n; i++) {
        free(tables[i].last_key);
        schema_table_free(wf->schemas[i]);
    }
    free(tables);
    free(phases);
    free(estimates);
    free(wf->schemas);
    copy_rows_free(wf->rows, n);
    wf->schemas = NULL;
    wf->rows = NULL;
    wf->setup_done = false;
}

static step_result classify(int e)
{
    return db_error_is_transient((unsigned)e) ? STEP_TRANSIENT : STEP_FATAL;
}

static step_result wf_setup(import_wf *wf, sbuf *err)
{
    if (wf->def.password_missing) {
        sbuf_setf(err, "the destination password was given inline and is not kept across restarts; resume the "
                       "workflow with the destination credentials");
        return STEP_FATAL;
    }
    int e = wf_connect(wf, err);
    if (e)
        return classify(e);
    if ((e = sidecar_setup(wf->dest, wf->def.sidecar, err)) != 0) {
        sbuf msg = SBUF_INIT;
        sbuf_addf(&msg, "cannot create the sidecar schema `%s` on the destination (grant the agent CREATE on it): %s",
                  wf->def.sidecar, err->buf);
        sbuf_setf(err, "%s", msg.buf);
        sbuf_free(&msg);
        return classify(e);
    }
    sbuf state = SBUF_INIT;
    bool found = false;
    e = sidecar_workflow_state(wf->dest, wf->def.sidecar, wf->def.name, &state, &found, err);
    if (!e && !found) {
        log_info("workflow", "%s: new import: creating the destination tables", wf->def.name);
        e = wf_discover(wf, err);
        if (!e)
            e = sidecar_workflow_save(wf->dest, wf->def.sidecar, wf->def.name, "COPYING", "", err);
    }
    if (!e && found && strcmp(state.buf, "PAUSED") == 0) {
        uv_mutex_lock(&wf->lock);
        wf->paused = true;
        uv_mutex_unlock(&wf->lock);
    }
    sbuf_free(&state);
    if (!e)
        e = wf_load_tables(wf, err);
    if (e)
        return classify(e);
    wf->setup_done = true;
    return STEP_OK;
}

/* ---- streams --------------------------------------------------------------------------- */

static void wf_stream_config(import_wf *wf, const vpos *stop_at, stream_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->name = wf->def.name;
    cfg->source = wf->source;
    cfg->target = wf->def.dest;
    cfg->filter = wf->def.tables;
    cfg->ddl = wf->def.opt.ddl;
    cfg->server_id = wf->server_id;
    cfg->sidecar_schema = wf->def.sidecar;
    if (stop_at)
        cfg->stop_at = *stop_at;
    cfg->start = wf->position; /* used only if no position is saved */
}

/* Run the workflow's stream until stop_at (NULL: until interrupted). */
static step_result wf_run_stream(import_wf *wf, const vpos *stop_at, sbuf *err)
{
    stream_config cfg;
    wf_stream_config(wf, stop_at, &cfg);
    stream *s = stream_new(&cfg, wf_stream_changed, wf);
    uv_mutex_lock(&wf->lock);
    wf->active_stream = s;
    if (wf->interrupt)
        stream_request_stop(s);
    uv_mutex_unlock(&wf->lock);
    stream_state st = stream_run(s);
    stream_status ss;
    stream_status_get(s, &ss);
    uv_mutex_lock(&wf->lock);
    wf->active_stream = NULL;
    vpos_set(&wf->position, ss.applied.gtid, ss.applied.file, ss.applied.offset);
    uv_mutex_unlock(&wf->lock);
    step_result r = STEP_OK;
    if (st == STREAM_ERROR || (st == STREAM_STOPPED && *ss.error_code)) {
        sbuf_setf(err, "replication %s: %s", *ss.error_code ? ss.error_code : "error", ss.message);
        r = STEP_FATAL;
    } else if (st == STREAM_STOPPED && !ss.stop_reached) {
        r = STEP_INTERRUPTED;
    }
    stream_status_clear(&ss);
    stream_free(s);
    return r;
}

static int wf_source_position(import_wf *wf, vpos *out, sbuf *err)
{
    sbuf gtid = SBUF_INIT;
    bool found = false;
    int e = wf->flavor == FLAVOR_MARIADB ? db_query_value(wf->src, "SELECT @@gtid_binlog_pos", &gtid, &found, err) : 0;
    MYSQL_RES *r = NULL;
    if (!e)
        e = db_query(wf->src, "SHOW MASTER STATUS", &r, err);
    if (!e) {
        MYSQL_ROW row = mysql_fetch_row(r);
        vpos_set(out, found ? gtid.buf : "", row ? row[0] : "", row && row[1] ? strtoull(row[1], NULL, 10) : 0);
        mysql_free_result(r);
    }
    sbuf_free(&gtid);
    return e;
}

/* A stop position the stream can compare: GTID on MariaDB, else file/offset. */
static void wf_stop_at(const import_wf *wf, const vpos *p, vpos *out)
{
    memset(out, 0, sizeof *out);
    vpos_set(out, wf->flavor == FLAVOR_MARIADB ? p->gtid : "", wf->flavor == FLAVOR_MARIADB ? "" : p->file,
             wf->flavor == FLAVOR_MARIADB ? 0 : p->offset);
}

/* ---- copy ------------------------------------------------------------------------------ */

static void wf_copy_progress(void *data)
{
    (void)data; /* status reads the atomic counters; nothing to push */
}

static int wf_copier(import_wf *wf, sbuf *err)
{
    if (wf->copier)
        return 0;
    copier_config cc = {&wf->source, &wf->def.dest, wf->def.sidecar, wf->def.name, wf->def.opt.parallelism,
                        wf->def.opt.chunk_rows, wf->def.opt.throttle_threads_running, wf_copy_progress, wf};
    copier *c;
    int e = copier_open(&cc, &c, err);
    if (!e) {
        uv_mutex_lock(&wf->lock);
        wf->copier = c;
        uv_mutex_unlock(&wf->lock);
    }
    return e;
}

static step_result wf_position_at_snapshot(import_wf *wf, snapshot **snap, sbuf *err)
{
    vpos saved = {0};
    bool found = false;
    int e = applier_position_read(wf->dest, wf->def.sidecar, wf->def.name, &saved, NULL, &found, err);
    if (e)
        return classify(e);
    snapshot_method m = snapshot_method_for(wf->flavor);
    step_result r = STEP_OK;
    if (!found) {
        if ((e = snapshot_open(&wf->source, wf->flavor, m, wf->def.opt.parallelism, snap, err)) != 0)
            return classify(e);
        sbuf q = SBUF_INIT;
        applier_position_sql(wf->def.sidecar, wf->def.name, &(*snap)->pos, 0, 0, &q);
        e = db_exec(wf->dest, q.buf, err);
        sbuf_free(&q);
        if (!e)
            log_info("workflow", "%s: first snapshot at gtid '%s' (%s:%llu)", wf->def.name, (*snap)->pos.gtid,
                     (*snap)->pos.file, (unsigned long long)(*snap)->pos.offset);
        vpos_clear(&saved);
        return e ? classify(e) : STEP_OK;
    }
    wf_set(wf, WF_CATCHING_UP, "", "bringing the copied rows up to date before the next snapshot");
    vpos_set(&wf->position, saved.gtid, saved.file, saved.offset);
    vpos now = {0}, stop = {0};
    if ((e = wf_source_position(wf, &now, err)) != 0)
        r = classify(e);
    if (r == STEP_OK) {
        wf_stop_at(wf, &now, &stop);
        r = wf_run_stream(wf, &stop, err);
    }
    if (r == STEP_OK && (e = snapshot_open(&wf->source, wf->flavor, m, wf->def.opt.parallelism, snap, err)) != 0)
        r = classify(e);
    if (r == STEP_OK) {
        vpos_clear(&stop);
        wf_stop_at(wf, &(*snap)->pos, &stop);
        r = wf_run_stream(wf, &stop, err); /* exactly to the snapshot */
        if (r != STEP_OK) {
            snapshot_close(*snap);
            *snap = NULL;
        }
    }
    vpos_clear(&now);
    vpos_clear(&stop);
    vpos_clear(&saved);
    return r;
}

typedef struct index_job {
    import_wf *wf;
    size_t i;
    int error;
    sbuf err;
} index_job;

static void index_build(void *arg)
{
    index_job *j = arg;
    import_wf *wf = j->wf;
    const copy_row *row = &wf->rows[j->i];
    MYSQL *m = NULL;
    sbuf q = SBUF_INIT;
    sbuf_adds(&q, "ALTER TABLE ");
    db_add_table(&q, row->schema, row->table);
    sbuf_addf(&q, " %s", row->deferred);
    j->error = db_connect(&wf->def.dest, DB_BINARY, &m, &j->err);
    if (!j->error)
        j->error = db_exec(m, q.buf, &j->err);
    if (j->error == ER_DUP_KEYNAME) /* built before a crash */
        j->error = 0;
    if (!j->error)
        j->error = sidecar_copy_mark(m, wf->def.sidecar, wf->def.name, row->schema, row->table, "indexed", 0, &j->err);
    if (m)
        mysql_close(m);
    sbuf_free(&q);
    mysql_thread_end();
}

/* Tables whose rows are all in: mark them and add their deferred indexes,
 * several tables at a time. */
static step_result wf_finish_tables(import_wf *wf, sbuf *err)
{
    index_job *jobs = xcalloc(wf->ntables + 1, sizeof *jobs);
    uv_thread_t *threads = xcalloc(wf->ntables + 1, sizeof *threads);
    size_t njobs = 0;
    int e = 0;
    for (size_t i = 0; !e && i < wf->ntables; i++) {
        if (!wf->tables[i].read_done || strcmp(wf->phases[i], "done") == 0)
            continue;
        uint64_t rows = __atomic_load_n(&wf->tables[i].rows_copied, __ATOMIC_RELAXED);
        if (strcmp(wf->phases[i], "copied") != 0)
            log_info("workflow", "%s: `%s`.`%s` copied: %llu rows", wf->def.name, wf->rows[i].schema,
                     wf->rows[i].table, (unsigned long long)rows);
        if (strcmp(wf->phases[i], "copied") != 0 &&
            (e = sidecar_copy_mark(wf->dest, wf->def.sidecar, wf->def.name, wf->rows[i].schema, wf->rows[i].table,
                                   "copied", rows, err)) != 0)
            break;
        uv_mutex_lock(&wf->lock);
        wf->phases[i] = *wf->rows[i].deferred ? "indexing" : "done";
        uv_mutex_unlock(&wf->lock);
        if (!*wf->rows[i].deferred) {
            e = sidecar_copy_mark(wf->dest, wf->def.sidecar, wf->def.name, wf->rows[i].schema, wf->rows[i].table,
                                  "indexed", 0, err);
            continue;
        }
        jobs[njobs] = (index_job){wf, i, 0, SBUF_INIT};
        uv_thread_create(&threads[njobs], index_build, &jobs[njobs]);
        njobs++;
    }
    int64_t t0 = now_ms();
    if (njobs)
        log_info("workflow", "%s: adding deferred secondary indexes to %zu table(s)", wf->def.name, njobs);
    for (size_t j = 0; j < njobs; j++) {
        uv_thread_join(&threads[j]);
        uv_mutex_lock(&wf->lock);
        wf->phases[jobs[j].i] = jobs[j].error ? "copied" : "done";
        uv_mutex_unlock(&wf->lock);
        if (jobs[j].error && !e) {
            e = jobs[j].error;
            sbuf_setf(err, "adding the deferred indexes of `%s`.`%s` failed: %s", wf->rows[jobs[j].i].schema,
                      wf->rows[jobs[j].i].table, jobs[j].err.buf);
        }
        sbuf_free(&jobs[j].err);
    }
    if (njobs)
        log_info("workflow", "%s: deferred indexes added in %.1f s", wf->def.name, (double)(now_ms() - t0) / 1000.0);
    free(jobs);
    free(threads);
    return e ? classify(e) : STEP_OK;
}

static bool wf_copy_complete(import_wf *wf)
{
    for (size_t i = 0; i < wf->ntables; i++)
        if (strcmp(wf->phases[i], "done") != 0)
            return false;
    return true;
}

static step_result wf_copy_cycle(import_wf *wf, sbuf *err)
{
    int e = wf_connect(wf, err);
    if (!e)
        e = wf_copier(wf, err);
    if (e)
        return classify(e);
    snapshot *snap = NULL;
    step_result r = wf_position_at_snapshot(wf, &snap, err);
    if (r != STEP_OK)
        return r;
    uv_mutex_lock(&wf->lock);
    vpos_set(&wf->position, snap->pos.gtid, snap->pos.file, snap->pos.offset);
    wf->cycles++;
    for (size_t i = 0; i < wf->ntables; i++)
        if (!wf->tables[i].read_done)
            wf->phases[i] = "copying";
    uv_mutex_unlock(&wf->lock);
    wf_set(wf, WF_COPYING, "", "");
    int64_t until = now_ms() + (int64_t)wf->def.opt.snapshot_seconds * 1000;
    e = copier_run(wf->copier, snap, wf->tables, wf->ntables, until, &wf->interrupt, err);
    snapshot_close(snap);
    if (e)
        return classify(e);
    r = wf_finish_tables(wf, err);
    if (r == STEP_OK && wf_interrupted(wf))
        r = STEP_INTERRUPTED;
    return r;
}

static step_result wf_replicate(import_wf *wf, sbuf *err)
{
    int e = wf_connect(wf, err);
    if (e)
        return classify(e);
    uv_mutex_lock(&wf->lock);
    copier *c = wf->copier;
    wf->copier = NULL;
    uv_mutex_unlock(&wf->lock);
    copier_close(c);
    wf_set(wf, WF_REPLICATING, "", "");
    return wf_run_stream(wf, NULL, err);
}

/* ---- commands ----------------------------------------------------------------------------- */

static void cmd_complete_locked(import_wf *wf, wf_cmd *c, int code, const char *msg)
{
    c->code = code;
    c->message = xstrdup(msg ? msg : "");
    c->next = wf->completed;
    wf->completed = c;
}

static void cmd_complete(import_wf *wf, wf_cmd *c, int code, const char *msg)
{
    uv_mutex_lock(&wf->lock);
    cmd_complete_locked(wf, c, code, msg);
    uv_mutex_unlock(&wf->lock);
    wf_notify(wf);
}

static void cmd_run(import_wf *wf, wf_cmd *c)
{
    sbuf msg = SBUF_INIT;
    uv_mutex_lock(&wf->lock);
    wf_state st = wf->state;
    bool paused = wf->paused;
    uv_mutex_unlock(&wf->lock);
    int code = 0;
    switch (c->kind) {
    case WF_CMD_PAUSE:
        if (paused || st == WF_ERROR) {
            code = 9; /* FAILED_PRECONDITION */
            sbuf_setf(&msg, "workflow %s is %s; only a running workflow can be paused", wf->def.name,
                      wf_state_name(st));
            break;
        }
        uv_mutex_lock(&wf->lock);
        wf->paused = true;
        uv_mutex_unlock(&wf->lock);
        wf_set(wf, WF_PAUSED, "", "paused on request");
        break;
    case WF_CMD_RESUME:
        if (!paused && st != WF_ERROR) {
            code = 9;
            sbuf_setf(&msg, "workflow %s is %s; only a PAUSED or ERROR workflow can be resumed", wf->def.name,
                      wf_state_name(st));
            break;
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
        break;
    case WF_CMD_STOP:
        uv_mutex_lock(&wf->lock);
        wf->stop = true;
        if (wf->stop_cmd) /* stopped twice: the first stop reports */
            cmd_complete_locked(wf, c, 0, "");
        else
            wf->stop_cmd = c;
        uv_mutex_unlock(&wf->lock);
        sbuf_free(&msg);
        return;
    }
    cmd_complete(wf, c, code, msg.buf);
    sbuf_free(&msg);
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
        wf->interrupt = false;
        uv_mutex_unlock(&wf->lock);
        /* Oldest first: the list was pushed newest first. */
        wf_cmd *rev = NULL;
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
        wf_state st = wf->state;
        uv_mutex_unlock(&wf->lock);
        if (stop)
            return false;
        hold = hold && st == WF_ERROR;
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

static void wf_main(void *arg)
{
    import_wf *wf = arg;
    sbuf err = SBUF_INIT;
    unsigned backoff = 0;
    bool hold = false;
    while (wf_commands(wf, hold)) {
        hold = false;
        sbuf_reset(&err);
        step_result r;
        if (!wf->setup_done)
            r = wf_setup(wf, &err);
        else if (!wf_copy_complete(wf))
            r = wf_copy_cycle(wf, &err);
        else
            r = wf_replicate(wf, &err);
        if (r == STEP_OK || r == STEP_INTERRUPTED) {
            backoff = 0;
            continue;
        }
        wf_disconnect(wf);
        wf_unload(wf);
        if (r == STEP_FATAL) {
            wf_set(wf, WF_ERROR, strncmp(err.buf, "replication DDL", 15) == 0 ? "DDL" : "FATAL", err.buf);
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
    wf_disconnect(wf);
    wf_unload(wf);
    sbuf_free(&err);
    mysql_thread_end();
    wf_set(wf, WF_STOPPED, "", "stopped");
    uv_mutex_lock(&wf->lock);
    wf->thread_done = true;
    for (wf_cmd *c = wf->pending, *next; c; c = next) {
        next = c->next;
        cmd_complete_locked(wf, c, 14 /* UNAVAILABLE */, "the workflow stopped");
    }
    wf->pending = NULL;
    if (wf->stop_cmd)
        cmd_complete_locked(wf, wf->stop_cmd, 0, "");
    wf->stop_cmd = NULL;
    uv_mutex_unlock(&wf->lock);
    wf_notify(wf); /* the loop may free wf from here on */
}

/* ---- loop side ------------------------------------------------------------------------------- */

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
            done->cb(wf, done->code, done->message, done->data);
        db_endpoint_free(done->dest);
        free(done->message);
        free(done);
        done = next;
    }
    if (wf->changed)
        wf->changed(wf->changed_data);
}

import_wf *import_start(uv_loop_t *loop, const import_def *def, const db_endpoint *source, void (*changed)(void *),
                        void *data)
{
    import_wf *wf = xcalloc(1, sizeof *wf);
    wf->loop = loop;
    import_def_copy(&wf->def, def);
    db_endpoint *src = db_endpoint_dup(source);
    wf->source = *src;
    free(src);
    wf->source.read_timeout_s = 600;
    wf->changed = changed;
    wf->changed_data = data;
    uint32_t h = 2166136261u;
    for (const char *p = def->name; *p; p++)
        h = (h ^ (unsigned char)*p) * 16777619u;
    wf->server_id = 3500000000u + h % 1000000u;
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
    import_command_dest(wf, kind, NULL, cb, data);
}

void import_command_dest(import_wf *wf, wf_cmd_kind kind, db_endpoint *dest, wf_cmd_cb cb, void *data)
{
    wf_cmd *c = xcalloc(1, sizeof *c);
    c->kind = kind;
    c->cb = cb;
    c->data = data;
    c->dest = dest;
    uv_mutex_lock(&wf->lock);
    if (wf->thread_done) { /* nobody will run it: answer at once */
        cmd_complete_locked(wf, c, 14 /* UNAVAILABLE */, "the workflow has stopped");
        uv_mutex_unlock(&wf->lock);
        wf_notify(wf);
        return;
    }
    c->next = wf->pending;
    wf->pending = c;
    wf->interrupt = true;
    if (wf->active_stream)
        stream_request_stop(wf->active_stream);
    uv_cond_broadcast(&wf->cond);
    uv_mutex_unlock(&wf->lock);
}

static void status_tables(import_wf *wf, wf_status *out)
{
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
        if (strcmp(t->phase, "done") == 0 || strcmp(t->phase, "indexing") == 0)
            t->rows_estimated = t->rows_copied ? t->rows_copied : t->rows_estimated;
        out->rows_copied += t->rows_copied;
        out->rows_estimated += t->rows_estimated;
    }
}

static void status_rate(import_wf *wf, wf_status *out)
{
    int64_t now = now_ms();
    if (!wf->rate_t0) {
        wf->rate_t0 = now;
        wf->rate_rows0 = out->rows_copied;
    } else if (now - wf->rate_t0 >= 2000) {
        wf->rate = (double)(out->rows_copied - wf->rate_rows0) * 1000.0 / (double)(now - wf->rate_t0);
        wf->rate_t0 = now;
        wf->rate_rows0 = out->rows_copied;
    }
    out->rows_per_second = wf->rate;
    uint64_t left = out->rows_estimated > out->rows_copied ? out->rows_estimated - out->rows_copied : 0;
    out->eta_seconds = left == 0 ? 0 : wf->rate > 0 ? (int64_t)((double)left / wf->rate) : -1;
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
    status_tables(wf, out);
    status_rate(wf, out);
    out->throttle_reason = xstrdup("");
    if (wf->copier) {
        sbuf reason = SBUF_INIT;
        out->throttled = copier_throttled(wf->copier, &reason);
        free(out->throttle_reason);
        out->throttle_reason = sbuf_detach(&reason, NULL);
    }
    if (wf->active_stream) {
        out->has_stream = true;
        stream_status_get(wf->active_stream, &out->stream);
        vpos_set(&out->position, out->stream.applied.gtid, out->stream.applied.file, out->stream.applied.offset);
    } else {
        vpos_set(&out->position, wf->position.gtid, wf->position.file, wf->position.offset);
    }
    uv_mutex_unlock(&wf->lock);
}

const import_def *import_get_def(const import_wf *wf)
{
    return &wf->def;
}

bool import_finished(const import_wf *wf)
{
    return wf->joined;
}

static void wf_closed(uv_handle_t *h)
{
    import_wf *wf = h->data;
    import_def_clear(&wf->def);
    db_endpoint_clear(&wf->source);
    vpos_clear(&wf->position);
    free(wf->error_code);
    free(wf->message);
    uv_mutex_destroy(&wf->lock);
    uv_cond_destroy(&wf->cond);
    free(wf);
}

void import_free(import_wf *wf)
{
    uv_close((uv_handle_t *)&wf->async, wf_closed);
}
