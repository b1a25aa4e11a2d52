/* sidecar: workflow tables on the destination. See sidecar.h. */
#include "workflow/sidecar.h"

#include <mysqld_error.h>
#include <stdlib.h>
#include <string.h>

#include "db/db.h"
#include "vrepl/applier.h"
#include "vrepl/copier.h"

static const char *const copy_states[] = {"pending", "copied", "indexed"};

void copy_rows_free(copy_row *rows, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(rows[i].schema);
        free(rows[i].table);
        free(rows[i].deferred);
    }
    free(rows);
}

int sidecar_workflow_save(MYSQL *m, const char *sidecar, const char *name, const char *state, const char *message,
                          sbuf *err)
{
    sbuf q = SBUF_INIT;
    sbuf_adds(&q, "INSERT INTO ");
    db_add_table(&q, sidecar, "workflows");
    sbuf_adds(&q, " (name, state, message) VALUES (");
    db_add_cstring(&q, name);
    sbuf_addc(&q, ',');
    db_add_cstring(&q, state);
    sbuf_addc(&q, ',');
    db_add_cstring(&q, message ? message : "");
    sbuf_adds(&q, ") ON DUPLICATE KEY UPDATE state=VALUES(state), message=VALUES(message)");
    int e = db_exec(m, q.buf, err);
    sbuf_free(&q);
    return e;
}

static void where_workflow(sbuf *q, const char *wf)
{
    sbuf_adds(q, " WHERE workflow = ");
    db_add_cstring(q, wf);
}

static void and_table(sbuf *q, const char *schema, const char *table)
{
    sbuf_adds(q, " AND table_schema = ");
    db_add_cstring(q, schema);
    sbuf_adds(q, " AND table_name = ");
    db_add_cstring(q, table);
}

int sidecar_workflow_state(MYSQL *m, const char *sidecar, const char *name, sbuf *state, bool *found, sbuf *err)
{
    sbuf q = SBUF_INIT;
    sbuf_adds(&q, "SELECT state FROM ");
    db_add_table(&q, sidecar, "workflows");
    sbuf_adds(&q, " WHERE name = ");
    db_add_cstring(&q, name);
    int e = db_query_value(m, q.buf, state, found, err);
    sbuf_free(&q);
    return e;
}

int sidecar_copy_load(MYSQL *m, const char *sidecar, const char *wf, copy_row **rows, size_t *n, sbuf *err)
{
    sbuf q = SBUF_INIT;
    sbuf_adds(&q, "SELECT table_schema, table_name, state, rows_estimated, deferred_indexes, rows_copied FROM ");
    db_add_table(&q, sidecar, "copy_state");
    where_workflow(&q, wf);
    sbuf_adds(&q, " ORDER BY table_schema, table_name");
    MYSQL_RES *r;
    int e = db_query(m, q.buf, &r, err);
    sbuf_free(&q);
    *rows = NULL;
    *n = 0;
    if (e)
        return e;
    *rows = xcalloc(mysql_num_rows(r) + 1, sizeof **rows);
    MYSQL_ROW row;
    while ((row = mysql_fetch_row(r))) {
        unsigned long *len = mysql_fetch_lengths(r);
        copy_row *c = &(*rows)[(*n)++];
        c->schema = xstrndup(row[0], len[0]);
        c->table = xstrndup(row[1], len[1]);
        c->state = strcmp(row[2], copy_states[COPY_INDEXED]) == 0  ? COPY_INDEXED
                   : strcmp(row[2], copy_states[COPY_COPIED]) == 0 ? COPY_COPIED
                                                                   : COPY_PENDING;
        c->rows_estimated = strtoull(row[3], NULL, 10);
        c->deferred = xstrndup(row[4], len[4]);
        c->rows_copied = strtoull(row[5], NULL, 10);
    }
    mysql_free_result(r);
    return 0;
}

int sidecar_copy_add(MYSQL *m, const char *sidecar, const char *wf, const copy_row *c, sbuf *err)
{
    sbuf q = SBUF_INIT;
    sbuf_adds(&q, "INSERT IGNORE INTO ");
    db_add_table(&q, sidecar, "copy_state");
    sbuf_adds(&q, " (workflow, table_schema, table_name, state, rows_estimated, deferred_indexes) VALUES (");
    db_add_cstring(&q, wf);
    sbuf_addc(&q, ',');
    db_add_cstring(&q, c->schema);
    sbuf_addc(&q, ',');
    db_add_cstring(&q, c->table);
    sbuf_addc(&q, ',');
    db_add_cstring(&q, copy_states[c->state]);
    sbuf_addf(&q, ",%llu,", (unsigned long long)c->rows_estimated);
    db_add_cstring(&q, c->deferred ? c->deferred : "");
    sbuf_addc(&q, ')');
    int e = db_exec(m, q.buf, err);
    sbuf_free(&q);
    return e;
}

int sidecar_copy_mark(MYSQL *m, const char *sidecar, const char *wf, const char *schema, const char *table,
                      copy_state state, uint64_t rows, sbuf *err)
{
    sbuf q = SBUF_INIT;
    sbuf_adds(&q, "UPDATE ");
    db_add_table(&q, sidecar, "copy_state");
    sbuf_adds(&q, " SET state = ");
    db_add_cstring(&q, copy_states[state]);
    if (rows)
        sbuf_addf(&q, ", rows_copied = %llu", (unsigned long long)rows);
    where_workflow(&q, wf);
    and_table(&q, schema, table);
    int e = db_exec(m, q.buf, err);
    if (!e && state == COPY_COPIED) {
        sbuf_reset(&q);
        sbuf_adds(&q, "DELETE FROM ");
        db_add_table(&q, sidecar, "copy_chunks");
        where_workflow(&q, wf);
        and_table(&q, schema, table);
        e = db_exec(m, q.buf, err);
    }
    sbuf_free(&q);
    return e;
}

int sidecar_chunks_resume(MYSQL *m, const char *sidecar, const char *wf, const char *schema, const char *table,
                          char **last_key, uint64_t *next_chunk, uint64_t *rows, sbuf *err)
{
    sbuf q = SBUF_INIT;
    sbuf_adds(&q, "SELECT chunk, end_key, rows_copied FROM ");
    db_add_table(&q, sidecar, "copy_chunks");
    where_workflow(&q, wf);
    and_table(&q, schema, table);
    sbuf_adds(&q, " ORDER BY chunk");
    MYSQL_RES *r;
    int e = db_query(m, q.buf, &r, err);
    sbuf_free(&q);
    *last_key = NULL;
    *next_chunk = 0;
    *rows = 0;
    if (e)
        return e;
    MYSQL_ROW row;
    while ((row = mysql_fetch_row(r))) {
        if (strtoull(row[0], NULL, 10) != *next_chunk)
            break; /* a gap: pages after it are redone */
        unsigned long *len = mysql_fetch_lengths(r);
        free(*last_key);
        *last_key = xstrndup(row[1], len[1]);
        *rows += strtoull(row[2], NULL, 10);
        (*next_chunk)++;
    }
    mysql_free_result(r);
    return 0;
}

int sidecar_forget(MYSQL *m, const char *sidecar, const char *wf, sbuf *err)
{
    /* Each server holds only some of these (the source: the reverse
     * stream's position and a reverse's journal), so a missing table just
     * means nothing to forget there. */
    enum { BY_WORKFLOW, BY_NAME, BY_STREAM }; /* a stream: the workflow's, and its reverse */
    static const struct {
        const char *table;
        int key;
    } rows[] = {
        {"copy_chunks", BY_WORKFLOW}, {"copy_state", BY_WORKFLOW},   {"streams", BY_STREAM},
        {"workflows", BY_NAME},       {"vdiff", BY_WORKFLOW},        {"vdiff_tables", BY_WORKFLOW},
        {"cutover", BY_WORKFLOW},
    };
    sbuf q = SBUF_INIT, reverse = SBUF_INIT;
    sbuf_addf(&reverse, "%s.reverse", wf);
    int e = 0;
    for (size_t i = 0; !e && i < sizeof rows / sizeof rows[0]; i++) {
        sbuf_reset(&q);
        sbuf_adds(&q, "DELETE FROM ");
        db_add_table(&q, sidecar, rows[i].table);
        if (rows[i].key == BY_WORKFLOW) {
            where_workflow(&q, wf);
        } else {
            sbuf_adds(&q, " WHERE name IN (");
            db_add_cstring(&q, wf);
            if (rows[i].key == BY_STREAM) {
                sbuf_addc(&q, ',');
                db_add_cstring(&q, reverse.buf);
            }
            sbuf_addc(&q, ')');
        }
        e = db_exec(m, q.buf, err);
        if (e == ER_NO_SUCH_TABLE)
            e = 0;
    }
    sbuf_free(&q);
    sbuf_free(&reverse);
    return e;
}
