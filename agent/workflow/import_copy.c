/* import_copy: an import's setup and copy cycles. See import.c for the
 * invariant that the cycles keep, and import_internal.h for the split.
 *
 * Setup creates the sidecar tables and, for a new workflow, the destination
 * tables from SHOW CREATE TABLE (secondary indexes deferred), publishing
 * the list of them first so a status shows the creation's progress; it
 * then loads each table's resume point. A copy cycle catches the stream
 * up, opens a snapshot at exactly the stream's position and copies pages
 * from it for at most snapshot_seconds. */
#include "workflow/import_copy.h"

#include <errmsg.h>
#include <mysqld_error.h>
#include <stdlib.h>
#include <string.h>

#include "db/key.h"
#include "db/sidecar_schema.h"
#include "lib/clock.h"
#include "lib/log.h"
#include "vrepl/snapshot.h"

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

/* ---- the stand-in table list ------------------------------------------------------ */

/* A status shows a stand-in list while the copy's own list does not exist:
 * during setup the tables being created (phase "creating", then "pending"
 * once made), so a long setup shows how far it is, and after a failure
 * unloaded the copy's list, the progress it had made, so an ERROR still
 * says how much was copied. The copy's list replaces it when it loads.
 * Like the copy's list, its phases and estimates change under wf->lock;
 * the names are fixed while it is published. */
static void wf_standin_publish(import_wf *wf, wf_table_status *list, size_t n)
{
    uv_mutex_lock(&wf->lock);
    wf->standin = list;
    wf->nstandin = n;
    uv_mutex_unlock(&wf->lock);
}

static void wf_standin_set(import_wf *wf, size_t i, wf_phase phase, uint64_t rows_estimated)
{
    uv_mutex_lock(&wf->lock);
    wf->standin[i].phase = phase;
    wf->standin[i].rows_estimated = rows_estimated;
    uv_mutex_unlock(&wf->lock);
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
    wf_table_status *list = xcalloc(mysql_num_rows(r) + 1, sizeof *list);
    size_t n = 0;
    MYSQL_ROW row;
    while ((row = mysql_fetch_row(r)))
        if (table_filter_match(&wf->def.tables, row[0], row[1]))
            list[n++] = (wf_table_status){xstrdup(row[0]), xstrdup(row[1]), WF_PHASE_CREATING, 0, 0};
    mysql_free_result(r);
    wf_standin_publish(wf, list, n);
    log_event(LOG_INFO, "workflow", LOG_ABOUT(.workflow = wf->def.name),
              "new import: creating %zu destination table(s)", n);
    size_t added = 0;
    for (size_t i = 0; !e && i < n; i++) {
        schema_table *t;
        if ((e = schema_table_load(wf->src, list[i].schema, list[i].name, &t, err)) != 0)
            break;
        if (t->nkey == 0) {
            sbuf_addf(&nokey, "%s`%s`.`%s`", nokey.len ? ", " : "", t->schema, t->name);
            schema_table_free(t);
            continue;
        }
        sbuf deferred = SBUF_INIT;
        if ((e = wf_create_database(wf, t->schema, err)) == 0 && (e = wf_create_table(wf, t, &deferred, err)) == 0) {
            copy_row c = {.schema = t->schema, .table = t->name, .state = COPY_PENDING, .rows_estimated = t->est_rows,
                          .deferred = deferred.buf};
            e = sidecar_copy_add(wf->dest, wf->def.sidecar, wf->def.name, &c, err);
            added++;
        }
        if (!e)
            wf_standin_set(wf, i, WF_PHASE_PENDING, t->est_rows);
        sbuf_free(&deferred);
        schema_table_free(t);
    }
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
    wf_phase *phases = xcalloc(n + 1, sizeof *phases);
    uint64_t *estimates = xcalloc(n + 1, sizeof *estimates);
    for (size_t i = 0; !e && i < n; i++) {
        if ((e = schema_table_load(wf->src, rows[i].schema, rows[i].table, &schemas[i], err)) != 0)
            break;
        copier_table *t = &tables[i];
        t->schema = schemas[i];
        estimates[i] = rows[i].rows_estimated;
        bool copied = rows[i].state != COPY_PENDING;
        phases[i] = rows[i].state == COPY_INDEXED ? WF_PHASE_DONE : copied ? WF_PHASE_COPIED : WF_PHASE_PENDING;
        t->read_done = copied;
        if (copied) {
            t->rows_copied = rows[i].rows_copied;
            continue;
        }
        e = sidecar_chunks_resume(wf->dest, wf->def.sidecar, wf->def.name, rows[i].schema, rows[i].table,
                                  &t->last_key, &t->next_chunk, &t->rows_copied, err);
        if (!e && t->next_chunk) {
            sbuf key = SBUF_INIT;
            key_describe(t->last_key, schemas[i]->nkey, &key);
            log_event(LOG_INFO, "workflow",
                      LOG_ABOUT(.workflow = wf->def.name, .schema = rows[i].schema, .table = rows[i].table),
                      "resuming `%s`.`%s` after saved key %s (page %llu, %llu rows already copied)", rows[i].schema,
                      rows[i].table, key.buf, (unsigned long long)t->next_chunk, (unsigned long long)t->rows_copied);
            sbuf_free(&key);
        }
    }
    uv_mutex_lock(&wf->lock);
    wf->tables = tables;
    wf->phases = phases;
    wf->estimates = estimates;
    wf->ntables = n;
    wf->tables_epoch++;
    wf_table_status *standin = wf->standin;
    size_t nstandin = wf->nstandin;
    wf->standin = NULL;
    wf->nstandin = 0;
    uv_mutex_unlock(&wf->lock);
    wf_standin_free(standin, nstandin);
    wf->rows = rows;
    wf->schemas = schemas;
    return e;
}

/* Forget the loaded tables: after a failure the in-memory resume points
 * may be ahead of what committed, so they are read again from the sidecar. */
void wf_unload(import_wf *wf)
{
    wf_table_status *last = xcalloc(wf->ntables + 1, sizeof *last);
    uv_mutex_lock(&wf->lock);
    for (size_t i = 0; i < wf->ntables; i++)
        last[i] = (wf_table_status){xstrdup(wf->tables[i].schema->schema), xstrdup(wf->tables[i].schema->name),
                                    wf->phases[i], __atomic_load_n(&wf->tables[i].rows_copied, __ATOMIC_RELAXED),
                                    wf->estimates[i]};
    copier_table *tables = wf->tables;
    wf_phase *phases = wf->phases;
    uint64_t *estimates = wf->estimates;
    size_t n = wf->ntables;
    wf->tables = NULL;
    wf->phases = NULL;
    wf->estimates = NULL;
    wf->ntables = 0;
    wf->tables_epoch++;
    wf_table_status *standin = wf->standin;
    size_t nstandin = wf->nstandin;
    if (n) { /* the progress made, until the list loads again */
        wf->standin = last;
        wf->nstandin = n;
        last = NULL;
    }
    uv_mutex_unlock(&wf->lock);
    if (last) /* nothing was loaded: a setup's own stand-in stays */
        free(last);
    else
        wf_standin_free(standin, nstandin);
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

step_result wf_setup(import_wf *wf, sbuf *err)
{
    if (wf->def.password_missing) {
        sbuf_setf(err, "the destination password was given inline and is not kept across restarts; resume the "
                       "workflow with the destination credentials");
        return STEP_FATAL;
    }
    int e = wf_connect(wf, err);
    if (e)
        return wf_classify(e);
    if (wf_milestone(wf, &wf->def.dest_written, err) != 0)
        return STEP_TRANSIENT;
    if ((e = sidecar_schema_create(wf->dest, wf->def.sidecar, SIDECAR_ALL, err)) != 0) {
        sbuf msg = SBUF_INIT;
        sbuf_addf(&msg, "cannot create the sidecar schema `%s` on the destination (grant the agent CREATE on it): %s",
                  wf->def.sidecar, err->buf);
        sbuf_setf(err, "%s", msg.buf);
        sbuf_free(&msg);
        return wf_classify(e);
    }
    sbuf state = SBUF_INIT;
    bool found = false;
    e = sidecar_workflow_state(wf->dest, wf->def.sidecar, wf->def.name, &state, &found, err);
    if (!e && !found) {
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
    return e ? wf_classify(e) : STEP_OK;
}

/* ---- streams --------------------------------------------------------------------------- */

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
                        wf->def.opt.chunk_rows, wf->def.opt.throttle_threads_running, wf_copy_progress, wf,
                        &wf->throttled_ms};
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
        return wf_classify(e);
    snapshot_method m = snapshot_method_for(wf->flavor);
    step_result r = STEP_OK;
    if (!found) {
        if ((e = snapshot_open(&wf->source, wf->flavor, m, wf->def.opt.parallelism, snap, err)) != 0)
            return wf_classify(e);
        sbuf q = SBUF_INIT;
        applier_position_sql(wf->def.sidecar, wf->def.name, &(*snap)->pos, 0, 0, &q);
        e = db_exec(wf->dest, q.buf, err);
        sbuf_free(&q);
        if (!e)
            log_event(LOG_INFO, "workflow", LOG_ABOUT(.workflow = wf->def.name),
                      "first snapshot at gtid '%s' (%s:%llu)", (*snap)->pos.gtid, (*snap)->pos.file,
                      (unsigned long long)(*snap)->pos.offset);
        vpos_clear(&saved);
        return e ? wf_classify(e) : STEP_OK;
    }
    wf_set(wf, WF_CATCHING_UP, "", "bringing the copied rows up to date before the next snapshot");
    vpos_set(&wf->position, saved.gtid, saved.file, saved.offset);
    vpos now = {0}, stop = {0};
    if ((e = snapshot_position(wf->src, wf->flavor, &now, err)) != 0)
        r = wf_classify(e);
    if (r == STEP_OK) {
        wf_stop_at(wf, &now, &stop);
        r = wf_run_stream(wf, false, &stop, err);
    }
    if (r == STEP_OK && (e = snapshot_open(&wf->source, wf->flavor, m, wf->def.opt.parallelism, snap, err)) != 0)
        r = wf_classify(e);
    if (r == STEP_OK) {
        vpos_clear(&stop);
        wf_stop_at(wf, &(*snap)->pos, &stop);
        r = wf_run_stream(wf, false, &stop, err); /* exactly to the snapshot */
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
    j->error = db_connect(&wf->def.dest, DB_DATA, &m, &j->err);
    if (!j->error)
        j->error = db_exec(m, q.buf, &j->err);
    if (j->error == ER_DUP_KEYNAME) /* built before a crash */
        j->error = 0;
    if (!j->error)
        j->error = sidecar_copy_mark(m, wf->def.sidecar, wf->def.name, row->schema, row->table, COPY_INDEXED, 0, &j->err);
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
        if (!wf->tables[i].read_done || wf->phases[i] == WF_PHASE_DONE)
            continue;
        uint64_t rows = __atomic_load_n(&wf->tables[i].rows_copied, __ATOMIC_RELAXED);
        if (wf->phases[i] != WF_PHASE_COPIED)
            log_event(LOG_INFO, "workflow",
                      LOG_ABOUT(.workflow = wf->def.name, .schema = wf->rows[i].schema, .table = wf->rows[i].table),
                      "`%s`.`%s` copied: %llu rows in %llu pages", wf->rows[i].schema, wf->rows[i].table,
                      (unsigned long long)rows, (unsigned long long)wf->tables[i].next_chunk);
        if (wf->phases[i] != WF_PHASE_COPIED &&
            (e = sidecar_copy_mark(wf->dest, wf->def.sidecar, wf->def.name, wf->rows[i].schema, wf->rows[i].table,
                                   COPY_COPIED, rows, err)) != 0)
            break;
        uv_mutex_lock(&wf->lock);
        wf->phases[i] = *wf->rows[i].deferred ? WF_PHASE_INDEXING : WF_PHASE_DONE;
        uv_mutex_unlock(&wf->lock);
        if (!*wf->rows[i].deferred) {
            e = sidecar_copy_mark(wf->dest, wf->def.sidecar, wf->def.name, wf->rows[i].schema, wf->rows[i].table,
                                  COPY_INDEXED, 0, err);
            continue;
        }
        jobs[njobs] = (index_job){wf, i, 0, SBUF_INIT};
        uv_thread_create(&threads[njobs], index_build, &jobs[njobs]);
        njobs++;
    }
    int64_t t0 = clock_mono_ms();
    if (njobs)
        log_event(LOG_INFO, "workflow", LOG_ABOUT(.workflow = wf->def.name),
                  "adding deferred secondary indexes to %zu table(s)", njobs);
    for (size_t j = 0; j < njobs; j++) {
        uv_thread_join(&threads[j]);
        uv_mutex_lock(&wf->lock);
        wf->phases[jobs[j].i] = jobs[j].error ? WF_PHASE_COPIED : WF_PHASE_DONE;
        uv_mutex_unlock(&wf->lock);
        if (jobs[j].error && !e) {
            e = jobs[j].error;
            sbuf_setf(err, "adding the deferred indexes of `%s`.`%s` failed: %s", wf->rows[jobs[j].i].schema,
                      wf->rows[jobs[j].i].table, jobs[j].err.buf);
        }
        sbuf_free(&jobs[j].err);
    }
    if (njobs)
        log_event(LOG_INFO, "workflow", LOG_ABOUT(.workflow = wf->def.name), "deferred indexes added in %.1f s",
                  (double)(clock_mono_ms() - t0) / 1000.0);
    free(jobs);
    free(threads);
    return e ? wf_classify(e) : STEP_OK;
}

bool wf_copy_complete(import_wf *wf)
{
    for (size_t i = 0; i < wf->ntables; i++)
        if (wf->phases[i] != WF_PHASE_DONE)
            return false;
    return true;
}

step_result wf_copy_cycle(import_wf *wf, sbuf *err)
{
    int e = wf_connect(wf, err);
    if (!e)
        e = wf_copier(wf, err);
    if (e)
        return wf_classify(e);
    snapshot *snap = NULL;
    step_result r = wf_position_at_snapshot(wf, &snap, err);
    if (r != STEP_OK)
        return r;
    uv_mutex_lock(&wf->lock);
    vpos_set(&wf->position, snap->pos.gtid, snap->pos.file, snap->pos.offset);
    wf->cycles++;
    for (size_t i = 0; i < wf->ntables; i++)
        if (!wf->tables[i].read_done)
            wf->phases[i] = WF_PHASE_COPYING;
    uv_mutex_unlock(&wf->lock);
    wf_set(wf, WF_COPYING, "", "");
    int64_t until = clock_mono_ms() + (int64_t)wf->def.opt.snapshot_seconds * 1000;
    e = copier_run(wf->copier, snap, wf->tables, wf->ntables, until, &wf->interrupt, err);
    snapshot_close(snap);
    if (e)
        return wf_classify(e);
    r = wf_finish_tables(wf, err);
    if (r == STEP_OK && wf_copy_complete(wf))
        wf->copy_finished = true;
    if (r == STEP_OK && wf_interrupted(wf))
        r = STEP_INTERRUPTED;
    return r;
}

