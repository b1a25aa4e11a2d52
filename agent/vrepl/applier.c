/* applier: rows -> SQL -> target, with the position in the same
 * transaction. See applier.h for the contract.
 *
 * Round trips dominate apply speed, so statements accumulate in one buffer
 * and go to the server as a single multi-statement query: normally one
 * round trip per commit ("BEGIN; ...; position; COMMIT"). A transaction
 * too big for one packet goes in several, cut between statements. A
 * descriptor per statement (its kind, table and offset in the buffer) lets
 * an error be reported as "UPDATE on `db`.`t`" rather than "statement 812
 * of a batch", and says where the cuts may go.
 *
 * Compaction keeps, per table, the latest full image of every row touched
 * in the open transaction (keyed by the rendered key, e.g. "42" or
 * "'a',7"), or the fact that it was deleted. Flushing writes deletions and
 * images with two set statements per table:
 *   - tables whose only unique key is the identifying key:
 *       DELETE .. WHERE key IN (deleted keys); INSERT .. ON DUPLICATE KEY UPDATE
 *   - tables with other unique keys (an upsert could hit the wrong row):
 *       DELETE .. WHERE key IN (every touched key); INSERT (final images)
 * Both leave the table exactly as the source had it at the last commit,
 * whatever order the source changed the rows in. */
#include "vrepl/applier.h"

#include <errmsg.h>
#include <mysqld_error.h>
#include <stdlib.h>
#include <string.h>

#include "db/sidecar_schema.h"
#include "lib/keymap.h"
#include "lib/log.h"

#define STMT_MAX_BYTES (4u << 20)

typedef enum { ST_BEGIN, ST_DML, ST_POSITION, ST_COMMIT } stmt_kind;

typedef struct stmt_desc {
    stmt_kind kind;
    const char *verb; /* static: "INSERT", "UPDATE", "DELETE", "UPSERT" */
    vtable *table;    /* referenced while pending */
    size_t off;       /* where its text starts in the pending buffer */
} stmt_desc;

typedef struct tb_entry {
    size_t key_off, key_len; /* in tbatch.keys */
    bool deleted;
    dec_row row;
} tb_entry;

typedef struct tbatch {
    vtable *t;
    keymap *index; /* rendered key -> entry index */
    tb_entry *e;
    size_t n, cap;
    sbuf keys;
} tbatch;

struct applier {
    MYSQL *conn;
    char *sidecar;
    char *name;
    server_flavor flavor;
    bool careful;
    bool in_trx;
    sbuf sql;
    stmt_desc *descs;
    size_t ndescs, capdescs;
    size_t max_pending;
    size_t max_packet; /* the target's max_allowed_packet */
    tbatch *tbs;
    size_t ntbs, captbs;
    char *gtid_label;
    uint64_t rows_applied;
    unsigned last_errno;
    sbuf key, scratch;
};

/* ---- positions ------------------------------------------------------------------ */

/* ---- statements ------------------------------------------------------------------- */

static void desc_push(applier *a, stmt_kind kind, const char *verb, vtable *t)
{
    /* Statements are separated by ';', never led by one: the buffer may
     * have just been sent in the middle of a transaction. */
    if (a->sql.len)
        sbuf_addc(&a->sql, ';');
    if (a->ndescs == a->capdescs) {
        a->capdescs = a->capdescs ? a->capdescs * 2 : 64;
        a->descs = xrealloc(a->descs, a->capdescs * sizeof *a->descs);
    }
    a->descs[a->ndescs++] = (stmt_desc){kind, verb, t ? vtable_ref(t) : NULL, a->sql.len};
}

static void descs_reset(applier *a)
{
    for (size_t i = 0; i < a->ndescs; i++)
        vtable_unref(a->descs[i].table);
    a->ndescs = 0;
}

/* Start a new statement in the pending buffer, opening the transaction. */
static sbuf *stmt_open(applier *a, stmt_kind kind, const char *verb, vtable *t)
{
    if (!a->in_trx) {
        desc_push(a, ST_BEGIN, "BEGIN", NULL);
        sbuf_adds(&a->sql, "BEGIN");
        a->in_trx = true;
    }
    desc_push(a, kind, verb, t);
    return &a->sql;
}

static void describe_failure(applier *a, size_t idx, unsigned e, const char *msg, sbuf *err)
{
    const stmt_desc *d = idx < a->ndescs ? &a->descs[idx] : NULL;
    sbuf_setf(err, "applying %s%s failed: ", a->gtid_label ? "GTID " : "transactions",
              a->gtid_label ? a->gtid_label : "");
    if (d && d->table)
        sbuf_addf(err, "%s on `%s`.`%s`: ", d->verb, d->table->map->schema, d->table->map->name);
    else if (d)
        sbuf_addf(err, "%s: ", d->verb);
    sbuf_add_printable(err, msg, strlen(msg), 1024); /* the server's text may quote raw row bytes */
    sbuf_addf(err, " (error %u)", e);
}

/* The end of statement k's text in the pending buffer. */
static size_t stmt_end(const applier *a, size_t k)
{
    return k + 1 < a->ndescs ? a->descs[k + 1].off - 1 : a->sql.len;
}

/* Statements first..last, text [from, to), in one multi-statement round
 * trip; the server's error names the statement it stopped at. */
static unsigned send_range(applier *a, size_t first, size_t from, size_t to, sbuf *err)
{
    size_t idx = first;
    unsigned e = 0;
    if (mysql_real_query(a->conn, a->sql.buf + from, (unsigned long)(to - from)) != 0) {
        e = mysql_errno(a->conn);
    } else {
        for (;;) {
            MYSQL_RES *r = mysql_store_result(a->conn);
            if (r)
                mysql_free_result(r);
            idx++;
            int st = mysql_next_result(a->conn);
            if (st == -1)
                break;
            if (st > 0) {
                e = mysql_errno(a->conn);
                break;
            }
        }
    }
    if (e)
        describe_failure(a, idx, e, mysql_error(a->conn), err);
    return e;
}

/* Send everything pending: one multi-statement round trip, or as few as
 * fit the target's max_allowed_packet, cut between statements (a
 * transaction may span round trips; each statement must fit one). */
static int applier_send(applier *a, sbuf *err)
{
    if (!a->sql.len)
        return 0;
    size_t limit = a->max_packet > 2048 ? a->max_packet - 1024 : a->max_packet;
    unsigned e = 0;
    for (size_t i = 0; !e && i < a->ndescs;) {
        size_t from = a->descs[i].off, j = i;
        while (j + 1 < a->ndescs && stmt_end(a, j + 1) - from <= limit)
            j++;
        size_t to = stmt_end(a, j);
        if (to - from > limit) { /* one statement bigger than a packet: a huge row */
            sbuf msg = SBUF_INIT;
            sbuf_adds(&msg, "a statement of ");
            db_add_packet_advice(&msg, to - from, a->max_packet);
            e = ER_NET_PACKET_TOO_LARGE;
            describe_failure(a, i, e, msg.buf, err);
            sbuf_free(&msg);
            break;
        }
        e = send_range(a, i, from, to, err);
        i = j + 1;
    }
    if (e)
        a->last_errno = e;
    sbuf_reset(&a->sql);
    descs_reset(a);
    return (int)e;
}

static int maybe_send(applier *a, sbuf *err)
{
    return a->sql.len >= a->max_pending ? applier_send(a, err) : 0;
}

/* ---- rendering helpers --------------------------------------------------------------- */

static int render_key(const vtable *t, const dec_row *r, sbuf *out, sbuf *err)
{
    const dec_table *m = t->map;
    sbuf_reset(out);
    if (m->nkey == 0) {
        sbuf_setf(err, "table `%s`.`%s` has no PRIMARY KEY or NOT NULL UNIQUE key: rows cannot be addressed; "
                       "add a primary key on the source", m->schema, m->name);
        return -1;
    }
    for (uint32_t i = 0; i < m->nkey; i++) {
        if (i)
            sbuf_addc(out, ',');
        if (dec_value_render_sql(m, r, m->key[i], out) != 0) {
            sbuf_setf(err, "the row image of `%s`.`%s` lacks key column `%s`", m->schema, m->name,
                      m->cols[m->key[i]].name ? m->cols[m->key[i]].name : "?");
            return -1;
        }
    }
    return 0;
}

static void add_key_columns(sbuf *sb, const dec_table *m)
{
    if (m->nkey > 1)
        sbuf_addc(sb, '(');
    for (uint32_t i = 0; i < m->nkey; i++) {
        if (i)
            sbuf_addc(sb, ',');
        db_add_ident(sb, m->cols[m->key[i]].name);
    }
    if (m->nkey > 1)
        sbuf_addc(sb, ')');
}

static void add_key_tuple(sbuf *sb, const dec_table *m, const char *key, size_t len)
{
    if (m->nkey > 1)
        sbuf_addc(sb, '(');
    sbuf_add(sb, key, len);
    if (m->nkey > 1)
        sbuf_addc(sb, ')');
}

static bool column_writable(const vtable *t, const dec_row *r, uint32_t c)
{
    return !t->generated[c] && r->vals[c].kind != DEC_ABSENT;
}

/* "(a,b,c)" of the row's writable columns: their names, or their values. */
static void add_row_list(sbuf *sb, const vtable *t, const dec_row *r, bool values)
{
    bool first = true;
    sbuf_addc(sb, '(');
    for (uint32_t c = 0; c < t->map->ncols; c++) {
        if (!column_writable(t, r, c))
            continue;
        if (!first)
            sbuf_addc(sb, ',');
        first = false;
        if (values)
            dec_value_render_sql(t->map, r, c, sb);
        else
            db_add_ident(sb, t->map->cols[c].name);
    }
    sbuf_addc(sb, ')');
}

static bool is_key_column(const dec_table *m, uint32_t c)
{
    for (uint32_t i = 0; i < m->nkey; i++)
        if (m->key[i] == c)
            return true;
    return false;
}

/* " ON DUPLICATE KEY UPDATE c=VALUES(c),..."; false when every column is
 * part of the key (then INSERT IGNORE does the job). */
static bool add_upsert_clause(sbuf *sb, const vtable *t, const dec_row *r)
{
    bool first = true;
    for (uint32_t c = 0; c < t->map->ncols; c++) {
        if (!column_writable(t, r, c) || is_key_column(t->map, c))
            continue;
        sbuf_adds(sb, first ? " ON DUPLICATE KEY UPDATE " : ",");
        first = false;
        db_add_ident(sb, t->map->cols[c].name);
        sbuf_adds(sb, "=VALUES(");
        db_add_ident(sb, t->map->cols[c].name);
        sbuf_addc(sb, ')');
    }
    return !first;
}

static bool row_complete(const dec_row *r)
{
    for (uint32_t c = 0; c < r->ncols; c++)
        if (r->vals[c].kind == DEC_ABSENT)
            return false;
    return true;
}

/* ---- compaction -------------------------------------------------------------------------- */

static tbatch *tbatch_for(applier *a, vtable *t)
{
    for (size_t i = 0; i < a->ntbs; i++)
        if (a->tbs[i].t == t)
            return &a->tbs[i];
    if (a->ntbs == a->captbs) {
        a->captbs = a->captbs ? a->captbs * 2 : 8;
        a->tbs = xrealloc(a->tbs, a->captbs * sizeof *a->tbs);
    }
    tbatch *b = &a->tbs[a->ntbs++];
    memset(b, 0, sizeof *b);
    b->t = vtable_ref(t);
    b->index = keymap_new();
    return b;
}

static tb_entry *tbatch_entry(tbatch *b, const sbuf *key)
{
    bool inserted;
    size_t *slot = keymap_put(b->index, key->buf, key->len, &inserted);
    if (!inserted) {
        tb_entry *e = &b->e[*slot];
        dec_row_free(&e->row);
        return e;
    }
    if (b->n == b->cap) {
        b->cap = b->cap ? b->cap * 2 : 64;
        b->e = xrealloc(b->e, b->cap * sizeof *b->e);
    }
    *slot = b->n;
    tb_entry *e = &b->e[b->n++];
    memset(e, 0, sizeof *e);
    e->key_off = b->keys.len;
    e->key_len = key->len;
    sbuf_add(&b->keys, key->buf, key->len);
    return e;
}

static void tbatch_free(tbatch *b)
{
    for (size_t i = 0; i < b->n; i++)
        dec_row_free(&b->e[i].row);
    free(b->e);
    keymap_free(b->index);
    sbuf_free(&b->keys);
    vtable_unref(b->t);
}

static int flush_deletes(applier *a, tbatch *b, bool all, sbuf *err)
{
    const dec_table *m = b->t->map;
    sbuf *sb = NULL;
    for (size_t i = 0; i < b->n; i++) {
        tb_entry *e = &b->e[i];
        if (!all && !e->deleted)
            continue;
        if (!sb) {
            sb = stmt_open(a, ST_DML, "DELETE", b->t);
            sbuf_adds(sb, "DELETE FROM ");
            db_add_table(sb, m->schema, m->name);
            sbuf_adds(sb, " WHERE ");
            add_key_columns(sb, m);
            sbuf_adds(sb, " IN (");
        } else {
            sbuf_addc(sb, ',');
        }
        add_key_tuple(sb, m, b->keys.buf + e->key_off, e->key_len);
        if (sb->len >= a->max_pending) {
            sbuf_addc(sb, ')');
            sb = NULL;
            if (applier_send(a, err))
                return -1;
        }
    }
    if (sb)
        sbuf_addc(sb, ')');
    return 0;
}

static bool has_update_columns(const vtable *t, const dec_row *r)
{
    for (uint32_t c = 0; c < t->map->ncols; c++)
        if (column_writable(t, r, c) && !is_key_column(t->map, c))
            return true;
    return false;
}

/* One INSERT (or upsert) for many rows, cut where the next row would take
 * it past STMT_MAX_BYTES or half the target's packet: that row starts the
 * next statement (it is rendered twice, which only happens at a cut). */
static int flush_images(applier *a, tbatch *b, bool upsert, sbuf *err)
{
    size_t limit = a->max_pending < STMT_MAX_BYTES ? a->max_pending : STMT_MAX_BYTES;
    sbuf *sb = NULL;
    const dec_row *first = NULL;
    size_t stmt_start = 0;
    for (size_t i = 0; i < b->n; i++) {
        tb_entry *e = &b->e[i];
        if (e->deleted)
            continue;
        if (sb) {
            size_t mark = sb->len;
            sbuf_addc(sb, ',');
            add_row_list(sb, b->t, &e->row, true);
            if (sb->len - stmt_start <= limit)
                continue;
            sbuf_setlen(sb, mark);
            if (upsert)
                add_upsert_clause(sb, b->t, first);
            sb = NULL;
            if (maybe_send(a, err))
                return -1;
        }
        first = &e->row;
        /* A table that is all key has nothing to update: IGNORE. */
        bool ignore = upsert && !has_update_columns(b->t, first);
        sb = stmt_open(a, ST_DML, upsert ? "UPSERT" : "INSERT", b->t);
        stmt_start = sb->len;
        sbuf_adds(sb, ignore ? "INSERT IGNORE INTO " : "INSERT INTO ");
        db_add_table(sb, b->t->map->schema, b->t->map->name);
        add_row_list(sb, b->t, first, false);
        sbuf_adds(sb, " VALUES ");
        add_row_list(sb, b->t, &e->row, true);
    }
    if (sb && upsert)
        add_upsert_clause(sb, b->t, first);
    return maybe_send(a, err);
}

static int tbatch_flush(applier *a, tbatch *b, sbuf *err)
{
    bool replace_all = b->t->other_unique;
    if (flush_deletes(a, b, replace_all, err) != 0)
        return -1;
    return flush_images(a, b, !replace_all, err);
}

/* Turn the compaction state into statements (still uncommitted). */
static int compaction_flush(applier *a, sbuf *err)
{
    int rc = 0;
    for (size_t i = 0; i < a->ntbs; i++) {
        if (rc == 0)
            rc = tbatch_flush(a, &a->tbs[i], err);
        tbatch_free(&a->tbs[i]);
    }
    a->ntbs = 0;
    return rc;
}

static void compaction_discard(applier *a)
{
    for (size_t i = 0; i < a->ntbs; i++)
        tbatch_free(&a->tbs[i]);
    a->ntbs = 0;
}

static bool event_compactable(const applier *a, const stream_event *ev)
{
    if (a->careful)
        return false;
    if (ev->rows.kind == DEC_ROWS_DELETE) /* needs only the key of the before image */
        return true;
    for (size_t i = 0; i < ev->rows.nrows; i++)
        if (!row_complete(&ev->rows.after[i]))
            return false;
    return true;
}

static int compact_event(applier *a, stream_event *ev, sbuf *err)
{
    tbatch *b = tbatch_for(a, ev->table);
    dec_rows *r = &ev->rows;
    for (size_t i = 0; i < r->nrows; i++) {
        if (r->before) {
            if (render_key(ev->table, &r->before[i], &a->key, err) != 0)
                return -1;
            tb_entry *e = tbatch_entry(b, &a->key);
            e->deleted = true;
        }
        if (r->after) {
            if (render_key(ev->table, &r->after[i], &a->key, err) != 0)
                return -1;
            tb_entry *e = tbatch_entry(b, &a->key);
            e->deleted = false;
            e->row = r->after[i]; /* move: the event no longer owns it */
            memset(&r->after[i], 0, sizeof r->after[i]);
        }
    }
    return 0;
}

/* ---- ordered (one statement per change) ------------------------------------------------------ */

static int ordered_insert(applier *a, const stream_event *ev, sbuf *err)
{
    const dec_rows *r = &ev->rows;
    sbuf *sb = stmt_open(a, ST_DML, "INSERT", ev->table);
    sbuf_adds(sb, "INSERT INTO ");
    db_add_table(sb, ev->table->map->schema, ev->table->map->name);
    add_row_list(sb, ev->table, &r->after[0], false);
    sbuf_adds(sb, " VALUES ");
    for (size_t i = 0; i < r->nrows; i++) {
        if (i)
            sbuf_addc(sb, ',');
        add_row_list(sb, ev->table, &r->after[i], true);
    }
    return maybe_send(a, err);
}

static int add_where_key(applier *a, sbuf *sb, const vtable *t, const dec_row *before, sbuf *err)
{
    const dec_table *m = t->map;
    if (render_key(t, before, &a->key, err) != 0)
        return -1;
    sbuf_adds(sb, " WHERE ");
    add_key_columns(sb, m);
    sbuf_adds(sb, m->nkey > 1 ? " = (" : " = ");
    sbuf_add(sb, a->key.buf, a->key.len);
    if (m->nkey > 1)
        sbuf_addc(sb, ')');
    return 0;
}

static int ordered_update(applier *a, const stream_event *ev, sbuf *err)
{
    const dec_rows *r = &ev->rows;
    const vtable *t = ev->table;
    for (size_t i = 0; i < r->nrows; i++) {
        sbuf *sb = stmt_open(a, ST_DML, "UPDATE", ev->table);
        sbuf_adds(sb, "UPDATE ");
        db_add_table(sb, t->map->schema, t->map->name);
        bool first = true;
        for (uint32_t c = 0; c < t->map->ncols; c++) {
            if (!column_writable(t, &r->after[i], c))
                continue;
            sbuf_adds(sb, first ? " SET " : ",");
            first = false;
            db_add_ident(sb, t->map->cols[c].name);
            sbuf_addc(sb, '=');
            dec_value_render_sql(t->map, &r->after[i], c, sb);
        }
        if (first) { /* nothing writable changed: keep the statement valid */
            sbuf_adds(sb, " SET ");
            db_add_ident(sb, t->map->cols[t->map->key[0]].name);
            sbuf_addc(sb, '=');
            db_add_ident(sb, t->map->cols[t->map->key[0]].name);
        }
        if (add_where_key(a, sb, t, &r->before[i], err) != 0)
            return -1;
        if (maybe_send(a, err))
            return -1;
    }
    return 0;
}

static int ordered_delete(applier *a, const stream_event *ev, sbuf *err)
{
    const dec_rows *r = &ev->rows;
    const dec_table *m = ev->table->map;
    sbuf *sb = stmt_open(a, ST_DML, "DELETE", ev->table);
    sbuf_adds(sb, "DELETE FROM ");
    db_add_table(sb, m->schema, m->name);
    sbuf_adds(sb, " WHERE ");
    add_key_columns(sb, m);
    sbuf_adds(sb, " IN (");
    for (size_t i = 0; i < r->nrows; i++) {
        if (render_key(ev->table, &r->before[i], &a->key, err) != 0)
            return -1;
        if (i)
            sbuf_addc(sb, ',');
        add_key_tuple(sb, m, a->key.buf, a->key.len);
    }
    sbuf_addc(sb, ')');
    return maybe_send(a, err);
}

static int apply_ordered(applier *a, const stream_event *ev, sbuf *err)
{
    if (ev->rows.nrows == 0)
        return 0;
    switch (ev->rows.kind) {
    case DEC_ROWS_INSERT: return ordered_insert(a, ev, err);
    case DEC_ROWS_UPDATE: return ordered_update(a, ev, err);
    case DEC_ROWS_DELETE: return ordered_delete(a, ev, err);
    }
    return 0;
}

/* ---- public ----------------------------------------------------------------------------------- */

int applier_rows(applier *a, const stream_event *cev, sbuf *err)
{
    stream_event *ev = (stream_event *)cev; /* compaction moves rows out */
    if (ev->table->map->nkey == 0) {
        render_key(ev->table, NULL, &a->key, err);
        return -1;
    }
    a->rows_applied += ev->rows.nrows;
    if (event_compactable(a, ev))
        return compact_event(a, ev, err);
    if (compaction_flush(a, err) != 0)
        return -1;
    return apply_ordered(a, ev, err);
}

void applier_begin(applier *a, const char *gtid_label)
{
    free(a->gtid_label);
    a->gtid_label = gtid_label ? xstrdup(gtid_label) : NULL;
}

void applier_position_sql(const char *sidecar, const char *name, const vpos *pos, uint64_t transactions,
                          uint32_t source_ts, sbuf *sb)
{
    sbuf_adds(sb, "INSERT INTO ");
    db_add_table(sb, sidecar, "streams");
    sbuf_adds(sb, " (name, gtid, file, binlog_offset, transactions, source_ts) VALUES (");
    db_add_cstring(sb, name);
    sbuf_addc(sb, ',');
    db_add_cstring(sb, pos->gtid ? pos->gtid : "");
    sbuf_addc(sb, ',');
    db_add_cstring(sb, pos->file ? pos->file : "");
    sbuf_addf(sb, ",%llu,%llu,%u) ON DUPLICATE KEY UPDATE gtid=VALUES(gtid), file=VALUES(file), "
                  "binlog_offset=VALUES(binlog_offset), transactions=VALUES(transactions), source_ts=VALUES(source_ts)",
              (unsigned long long)pos->offset, (unsigned long long)transactions, source_ts);
}

static void add_position(applier *a, const vpos *pos, uint64_t transactions, uint32_t source_ts)
{
    sbuf *sb = stmt_open(a, ST_POSITION, "saving the stream position", NULL);
    applier_position_sql(a->sidecar, a->name, pos, transactions, source_ts, sb);
}

int applier_commit(applier *a, const vpos *pos, uint64_t transactions, uint32_t source_ts, sbuf *err)
{
    if (compaction_flush(a, err) != 0) {
        applier_rollback(a);
        return -1;
    }
    add_position(a, pos, transactions, source_ts);
    desc_push(a, ST_COMMIT, "COMMIT", NULL);
    sbuf_adds(&a->sql, "COMMIT");
    int e = applier_send(a, err);
    a->in_trx = false;
    if (e)
        applier_rollback(a);
    return e ? -1 : 0;
}

void applier_rollback(applier *a)
{
    compaction_discard(a);
    sbuf_reset(&a->sql);
    descs_reset(a);
    if (a->in_trx || mysql_errno(a->conn)) {
        sbuf err = SBUF_INIT;
        db_exec(a->conn, "ROLLBACK", &err);
        sbuf_free(&err);
    }
    a->in_trx = false;
}

static bool ddl_already_applied(unsigned e)
{
    return e == ER_TABLE_EXISTS_ERROR || e == ER_DUP_FIELDNAME || e == ER_DUP_KEYNAME || e == ER_BAD_TABLE_ERROR ||
           e == ER_CANT_DROP_FIELD_OR_KEY || e == ER_DB_CREATE_EXISTS || e == ER_DB_DROP_EXISTS;
}

int applier_ddl(applier *a, const char *schema, const char *statement, const vpos *pos, uint64_t transactions,
                sbuf *err)
{
    int e = 0;
    if (schema && *schema) {
        sbuf_setf(&a->scratch, "USE ");
        db_add_ident(&a->scratch, schema);
        e = db_exec(a->conn, a->scratch.buf, err);
    }
    if (!e)
        e = db_exec(a->conn, statement, err);
    if (e && ddl_already_applied((unsigned)e)) {
        log_event(LOG_WARN, "applier", LOG_ABOUT(.stream = a->name), "DDL already applied on the target (%s); going on",
                  err->buf);
        e = 0;
    }
    if (e) {
        sbuf_setf(&a->scratch, "DDL failed on the target: ");
        sbuf_add_printable(&a->scratch, err->buf, err->len, 1024);
        sbuf_adds(&a->scratch, "; statement: ");
        sbuf_add_printable(&a->scratch, statement, strlen(statement), 200);
        sbuf_setf(err, "%s", a->scratch.buf);
        a->last_errno = (unsigned)e;
        return -1;
    }
    return applier_commit(a, pos, transactions, 0, err);
}

void applier_set_careful(applier *a, bool careful)
{
    a->careful = careful;
}

size_t applier_pending_bytes(const applier *a)
{
    size_t n = a->sql.len;
    for (size_t i = 0; i < a->ntbs; i++)
        n += a->tbs[i].keys.len + a->tbs[i].n * 256;
    return n;
}

uint64_t applier_rows_applied(const applier *a)
{
    return a->rows_applied;
}

unsigned applier_last_errno(const applier *a)
{
    return a->last_errno;
}

/* ---- setup ------------------------------------------------------------------------------------- */

static int applier_session(applier *a, sbuf *err)
{
    sbuf v = SBUF_INIT;
    bool found;
    int e = db_query_value(a->conn, "SELECT @@max_allowed_packet", &v, &found, err);
    size_t packet = found ? (size_t)strtoull(v.buf, NULL, 10) : (16u << 20);
    sbuf_free(&v);
    a->max_packet = packet;
    a->max_pending = packet / 2 < (16u << 20) ? packet / 2 : (16u << 20);
    if (a->max_pending < (64u << 10))
        a->max_pending = 64u << 10;
    return e;
}

int applier_open(const applier_config *cfg, applier **out, sbuf *err)
{
    applier *a = xcalloc(1, sizeof *a);
    a->sidecar = xstrdup(cfg->sidecar_schema);
    a->name = xstrdup(cfg->stream_name);
    a->flavor = cfg->flavor;
    int e = db_connect(cfg->target, DB_MULTI_STATEMENTS | DB_DATA, &a->conn, err);
    if (!e)
        e = applier_session(a, err);
    if (!e && (e = sidecar_schema_create(a->conn, a->sidecar, SIDECAR_STREAMS, err)) != 0) {
        sbuf msg = SBUF_INIT;
        sbuf_addf(&msg, "cannot create the sidecar schema `%s` on the target (grant the agent CREATE on it): %s",
                  a->sidecar, err->buf);
        sbuf_setf(err, "%s", msg.buf);
        sbuf_free(&msg);
    }
    if (e) {
        applier_close(a);
        *out = NULL;
        return e;
    }
    *out = a;
    return 0;
}

void applier_close(applier *a)
{
    if (!a)
        return;
    compaction_discard(a);
    descs_reset(a);
    free(a->descs);
    free(a->tbs);
    if (a->conn)
        mysql_close(a->conn);
    sbuf_free(&a->sql);
    sbuf_free(&a->key);
    sbuf_free(&a->scratch);
    free(a->gtid_label);
    free(a->sidecar);
    free(a->name);
    free(a);
}

int applier_position_read(MYSQL *m, const char *sidecar, const char *name, vpos *out, uint64_t *transactions,
                          bool *found, sbuf *err)
{
    sbuf q = SBUF_INIT;
    sbuf_adds(&q, "SELECT gtid, file, binlog_offset, transactions FROM ");
    db_add_table(&q, sidecar, "streams");
    sbuf_adds(&q, " WHERE name = ");
    db_add_cstring(&q, name);
    MYSQL_RES *r;
    int e = db_query(m, q.buf, &r, err);
    sbuf_free(&q);
    if (e)
        return e;
    MYSQL_ROW row = mysql_fetch_row(r);
    *found = row != NULL;
    if (row) {
        vpos_set(out, row[0], row[1], strtoull(row[2], NULL, 10));
        if (transactions)
            *transactions = strtoull(row[3], NULL, 10);
    }
    mysql_free_result(r);
    return 0;
}

int applier_position_load(applier *a, vpos *out, uint64_t *transactions, bool *found, sbuf *err)
{
    return applier_position_read(a->conn, a->sidecar, a->name, out, transactions, found, err);
}

int applier_position_init(applier *a, const vpos *start, sbuf *err)
{
    add_position(a, start, 0, 0);
    desc_push(a, ST_COMMIT, "COMMIT", NULL);
    sbuf_adds(&a->sql, "COMMIT");
    int e = applier_send(a, err);
    a->in_trx = false;
    return e;
}
