/* copier: paged, parallel, exactly-once copy of snapshot rows. See copier.h.
 *
 * Values travel as text: the snapshot connection reads with SET NAMES
 * binary, so strings arrive as their stored bytes, and the writers insert
 * them with SET NAMES binary, so they are stored unchanged. Two types need
 * care to round-trip: FLOAT is read as CAST(x AS DOUBLE) (the server prints
 * a FLOAT with too few digits to identify it) and BIT as x+0 (a number).
 *
 * Paging uses the expanded form of "key > last"
 *     k1 > v1 OR (k1 = v1 AND k2 > v2) OR ...
 * because MariaDB turns it into an index range, where the row-constructor
 * form (k1, k2) > (v1, v2) ends up scanning the index from the start.
 *
 * A page travels as the reader's result set; the writer that takes it
 * picks how it reaches the target, cheapest first, because the target's CPU
 * is what limits a copy:
 *  - bulk: one prepared REPLACE executed over arrays of values (MariaDB's
 *    COM_STMT_BULK_EXECUTE). The values arrive as length-prefixed bytes
 *    pointing into the result set, so neither side renders or parses text;
 *    it costs the target about 30% less CPU than LOAD DATA. Needs a MariaDB
 *    target whose binary log (if any) is not in STATEMENT format.
 *  - LOAD DATA LOCAL INFILE fed from memory (tab-separated text, about a
 *    quarter cheaper for the server than INSERT syntax);
 *  - multi-row INSERTs, which every server takes.
 *
 * Writes are upserts (REPLACE, INSERT .. ON DUPLICATE KEY UPDATE): between
 * copy cycles the replication stream may already have written rows beyond
 * the copied range, and a resumed copy may redo a page that had committed
 * out of order; in both cases the row on the target equals the snapshot's. */
#include "vrepl/copier.h"

#include <errmsg.h>
#include <mariadb_com.h>
#include <mysqld_error.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <uv.h>

#include "db/key.h"
#include "lib/bqueue.h"
#include "lib/clock.h"
#include "lib/log.h"

#define QUEUE_PAGES 8
/* Pages aim at this size, whatever chunk_rows says: a page is held in
 * memory from its read to its commit, and a table of wide rows must not
 * make a sidecar's pages gigabytes. A table's first page reads few rows;
 * later ones as many as fit, by the bytes per row seen so far. */
#define PAGE_BYTES (4u << 20)
#define FIRST_PAGE_ROWS 100
#define STMT_MAX (8u << 20)
#define WRITE_RETRIES 6

typedef struct tplan {
    copier_table *t;
    sbuf select_head; /* SELECT cols FROM t */
    sbuf order_by;    /* ORDER BY key */
    uint64_t limit;   /* rows in its next page */
    sbuf insert_head; /* INSERT INTO t (cols) VALUES */
    sbuf upsert_tail; /* ON DUPLICATE KEY UPDATE ... */
    sbuf load_sql;    /* LOAD DATA LOCAL INFILE ... (col list) SET ... */
    sbuf bulk_sql;    /* REPLACE INTO t (cols) VALUES (?, ...) */
    size_t ncols;     /* in the select list */
    bool *insertable; /* per select column */
    bool *as_text;    /* per select column: needs a character-set introducer */
    bool busy;        /* a reader is reading a page of it (table_lock) */
} tplan;

typedef struct page {
    tplan *plan;
    uint64_t chunk;
    uint64_t rows;
    MYSQL_RES *res; /* the rows, as read */
    char *end_key;
} page;

struct copier {
    copier_config cfg;
    bool bulk;          /* the target takes bulk executions */
    bool load_data;     /* else: the target accepts LOAD DATA LOCAL INFILE */
    size_t bulk_budget; /* bytes of values per bulk execution */
    size_t max_packet;  /* the target's max_allowed_packet */
    MYSQL **writers;
    uv_thread_t *threads;
    MYSQL *probe; /* throttle checks */
    uv_mutex_t lock;
    bqueue *pages;    /* readers -> writers */
    int error;        /* first fatal error of this run */
    sbuf error_msg;
    bool throttled;
    sbuf throttle_reason;
    int64_t last_throttle_check;
    int64_t throttled_from; /* throttled time counted up to here; 0: not counting */
    size_t next_table; /* readers share the table list */
    uv_mutex_t table_lock;
};

static void sleep_ms(unsigned ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* ---- plans ------------------------------------------------------------------------ */

/* A column's value from its text form (ph: ? or @v1). BIT arrives as a
 * number, UUID/INET6 as text; the rest is stored as the bytes read. */
static bool converts(const tplan *p, size_t i)
{
    return key_column_is_bit(&p->t->schema->cols[i]) || p->as_text[i];
}

static void add_value_expr(sbuf *q, const tplan *p, size_t i, const char *ph)
{
    if (key_column_is_bit(&p->t->schema->cols[i]))
        sbuf_addf(q, "CAST(%s AS UNSIGNED)", ph);
    else if (p->as_text[i])
        sbuf_addf(q, "CONVERT(%s USING latin1)", ph);
    else
        sbuf_adds(q, ph);
}

/* Columns that convert go through a user variable. */
static void plan_load_sql(tplan *p)
{
    const schema_table *s = p->t->schema;
    sbuf set = SBUF_INIT;
    sbuf *q = &p->load_sql;
    sbuf_adds(q, "LOAD DATA LOCAL INFILE 'page' REPLACE INTO TABLE ");
    db_add_table(q, s->schema, s->name);
    sbuf_adds(q, " CHARACTER SET binary FIELDS TERMINATED BY '\\t' ESCAPED BY '\\\\' LINES TERMINATED BY "
                 "'\\n' (");
    bool first = true;
    for (size_t i = 0; i < s->ncols; i++) {
        if (!p->insertable[i])
            continue;
        if (!first)
            sbuf_addc(q, ',');
        first = false;
        if (!converts(p, i)) {
            db_add_ident(q, s->cols[i].name);
            continue;
        }
        char var[32];
        snprintf(var, sizeof var, "@v%zu", i);
        sbuf_adds(q, var);
        sbuf_adds(&set, set.len ? ", " : " SET ");
        db_add_ident(&set, s->cols[i].name);
        sbuf_adds(&set, " = ");
        add_value_expr(&set, p, i, var);
    }
    sbuf_addc(q, ')');
    sbuf_add(q, set.buf, set.len);
    sbuf_free(&set);
}

static void plan_bulk_sql(tplan *p)
{
    const schema_table *s = p->t->schema;
    sbuf *q = &p->bulk_sql;
    sbuf values = SBUF_INIT;
    sbuf_adds(q, "REPLACE INTO ");
    db_add_table(q, s->schema, s->name);
    sbuf_adds(q, " (");
    for (size_t i = 0; i < s->ncols; i++) {
        if (!p->insertable[i])
            continue;
        if (values.len) {
            sbuf_addc(q, ',');
            sbuf_addc(&values, ',');
        }
        db_add_ident(q, s->cols[i].name);
        add_value_expr(&values, p, i, "?");
    }
    sbuf_adds(q, ") VALUES (");
    sbuf_add(q, values.buf, values.len);
    sbuf_addc(q, ')');
    sbuf_free(&values);
}

static void plan_build(tplan *p, copier_table *t, uint64_t chunk_rows)
{
    const schema_table *s = t->schema;
    memset(p, 0, sizeof *p);
    p->t = t;
    p->ncols = s->ncols;
    p->insertable = xcalloc(s->ncols, sizeof *p->insertable);
    p->as_text = xcalloc(s->ncols, sizeof *p->as_text);
    sbuf_adds(&p->select_head, "SELECT ");
    sbuf_adds(&p->insert_head, "INSERT INTO ");
    db_add_table(&p->insert_head, s->schema, s->name);
    sbuf_adds(&p->insert_head, " (");
    bool first_ins = true, first_upd = true;
    for (size_t i = 0; i < s->ncols; i++) {
        const schema_column *c = &s->cols[i];
        if (i)
            sbuf_addc(&p->select_head, ',');
        key_add_column(&p->select_head, c);
        p->insertable[i] = !c->generated;
        p->as_text[i] = key_column_as_text(c);
        if (c->generated)
            continue;
        if (!first_ins)
            sbuf_addc(&p->insert_head, ',');
        first_ins = false;
        db_add_ident(&p->insert_head, c->name);
        bool in_key = false;
        for (size_t k = 0; k < s->nkey; k++)
            in_key |= s->key[k] == i;
        if (in_key)
            continue;
        sbuf_adds(&p->upsert_tail, first_upd ? " ON DUPLICATE KEY UPDATE " : ",");
        first_upd = false;
        db_add_ident(&p->upsert_tail, c->name);
        sbuf_adds(&p->upsert_tail, "=VALUES(");
        db_add_ident(&p->upsert_tail, c->name);
        sbuf_addc(&p->upsert_tail, ')');
    }
    if (first_upd) { /* every column is part of the key: nothing to update */
        sbuf ignore = SBUF_INIT;
        sbuf_addf(&ignore, "INSERT IGNORE%s", p->insert_head.buf + strlen("INSERT"));
        sbuf_free(&p->insert_head);
        p->insert_head = ignore;
    }
    sbuf_adds(&p->insert_head, ") VALUES ");
    plan_load_sql(p);
    plan_bulk_sql(p);
    sbuf_adds(&p->select_head, " FROM ");
    db_add_table(&p->select_head, s->schema, s->name);
    sbuf_adds(&p->order_by, " ORDER BY ");
    for (size_t k = 0; k < s->nkey; k++) {
        if (k)
            sbuf_addc(&p->order_by, ',');
        db_add_ident(&p->order_by, s->cols[s->key[k]].name);
    }
    p->limit = chunk_rows < FIRST_PAGE_ROWS ? chunk_rows : FIRST_PAGE_ROWS;
}

static void plan_free(tplan *p)
{
    sbuf_free(&p->select_head);
    sbuf_free(&p->order_by);
    sbuf_free(&p->insert_head);
    sbuf_free(&p->upsert_tail);
    sbuf_free(&p->load_sql);
    sbuf_free(&p->bulk_sql);
    free(p->insertable);
    free(p->as_text);
}

/* Rows for the next page so that it comes near PAGE_BYTES. */
static void plan_fit_limit(tplan *p, MYSQL_RES *r, uint64_t chunk_rows)
{
    uint64_t rows = mysql_num_rows(r), bytes = 0;
    MYSQL_ROW row;
    mysql_data_seek(r, 0);
    while ((row = mysql_fetch_row(r))) {
        unsigned long *len = mysql_fetch_lengths(r);
        for (size_t i = 0; i < p->ncols; i++)
            bytes += len[i] + 1;
    }
    uint64_t fit = PAGE_BYTES / (bytes / rows + 1);
    p->limit = fit < 1 ? 1 : fit > chunk_rows ? chunk_rows : fit;
}

/* " WHERE key > last" from an encoded key. */
static int plan_where(const tplan *p, const char *key, sbuf *out, sbuf *err)
{
    const schema_table *s = p->t->schema;
    sbuf_adds(out, " WHERE ");
    if (key_bound(out, s, key, false) != 0) {
        sbuf_setf(err, "the saved copy position of `%s`.`%s` is malformed", s->schema, s->name);
        return -1;
    }
    return 0;
}

/* ---- pages ------------------------------------------------------------------------- */

static void add_value(sbuf *sb, const tplan *p, size_t col, const MYSQL_FIELD *f, const char *v, unsigned long len)
{
    key_add_literal(sb, p->as_text[col], f, v, len);
}

static void add_row(sbuf *sb, const tplan *p, MYSQL_FIELD *f, MYSQL_ROW row, unsigned long *len, bool first)
{
    if (!first)
        sbuf_addc(sb, ',');
    sbuf_addc(sb, '(');
    bool first_col = true;
    for (size_t i = 0; i < p->ncols; i++) {
        if (!p->insertable[i])
            continue;
        if (!first_col)
            sbuf_addc(sb, ',');
        first_col = false;
        add_value(sb, p, i, &f[i], row[i], len[i]);
    }
    sbuf_addc(sb, ')');
}

static void page_end_key(page *pg, const tplan *p, MYSQL_FIELD *f, MYSQL_ROW row, unsigned long *len)
{
    const schema_table *s = p->t->schema;
    sbuf key = SBUF_INIT;
    for (size_t k = 0; k < s->nkey; k++) {
        size_t c = s->key[k];
        key_append_value(&key, &s->cols[c], &f[c], row[c], len[c]);
    }
    free(pg->end_key);
    pg->end_key = sbuf_detach(&key, NULL);
}

/* One field of a LOAD DATA page: \N for NULL, the bytes otherwise with
 * the separators and the escape character escaped. */
static void add_field(sbuf *sb, const char *v, unsigned long len)
{
    static const char esc[256] = {['\\'] = '\\', ['\t'] = 't', ['\n'] = 'n', [0] = '0'};
    if (!v) {
        sbuf_add(sb, "\\N", 2);
        return;
    }
    const unsigned char *p = (const unsigned char *)v;
    size_t run = 0;
    for (size_t i = 0; i < len; i++) {
        if (!esc[p[i]])
            continue;
        sbuf_add(sb, v + run, i - run);
        sbuf_addc(sb, '\\');
        sbuf_addc(sb, esc[p[i]]);
        run = i + 1;
    }
    sbuf_add(sb, v + run, len - run);
}

/* A page as tab-separated rows for LOAD DATA. */
static void page_render_tsv(const page *pg, sbuf *out)
{
    const tplan *p = pg->plan;
    MYSQL_ROW row;
    mysql_data_seek(pg->res, 0);
    while ((row = mysql_fetch_row(pg->res))) {
        unsigned long *len = mysql_fetch_lengths(pg->res);
        bool first = true;
        for (size_t i = 0; i < p->ncols; i++) {
            if (!p->insertable[i])
                continue;
            if (!first)
                sbuf_addc(out, '\t');
            first = false;
            add_field(out, row[i], len[i]);
        }
        sbuf_addc(out, '\n');
    }
}

/* A page as one or more INSERT statements of about stmt_max bytes. */
static void page_render_insert(const page *pg, size_t stmt_max, sbuf *out)
{
    const tplan *p = pg->plan;
    MYSQL_FIELD *f = mysql_fetch_fields(pg->res);
    MYSQL_ROW row;
    size_t stmt_start = 0;
    bool first = true, any = false;
    mysql_data_seek(pg->res, 0);
    while ((row = mysql_fetch_row(pg->res))) {
        unsigned long *len = mysql_fetch_lengths(pg->res);
        if (first) {
            if (any)
                sbuf_addc(out, ';');
            any = true;
            stmt_start = out->len;
            sbuf_add(out, p->insert_head.buf, p->insert_head.len);
        }
        add_row(out, p, f, row, len, first);
        first = false;
        if (out->len - stmt_start >= stmt_max) {
            sbuf_add(out, p->upsert_tail.buf, p->upsert_tail.len);
            first = true;
        }
    }
    if (!first)
        sbuf_add(out, p->upsert_tail.buf, p->upsert_tail.len);
}

/* A page owns its result set; it ends at its last row's key. */
static page *page_new(tplan *p, uint64_t chunk, MYSQL_RES *r)
{
    page *pg = xcalloc(1, sizeof *pg);
    pg->plan = p;
    pg->chunk = chunk;
    pg->res = r;
    pg->rows = mysql_num_rows(r);
    mysql_data_seek(r, pg->rows - 1);
    MYSQL_ROW row = mysql_fetch_row(r);
    page_end_key(pg, p, mysql_fetch_fields(r), row, mysql_fetch_lengths(r));
    return pg;
}

static void page_free(page *pg)
{
    if (!pg)
        return;
    mysql_free_result(pg->res);
    free(pg->end_key);
    free(pg);
}

static void copier_fail(copier *c, int e, const char *msg)
{
    uv_mutex_lock(&c->lock);
    if (!c->error) {
        c->error = e ? e : CR_UNKNOWN_ERROR;
        sbuf_setf(&c->error_msg, "%s", msg);
    }
    uv_mutex_unlock(&c->lock);
    bqueue_close(c->pages, true); /* readers stop queueing, writers stop writing */
}

/* ---- writers ----------------------------------------------------------------------- */

/* The page's row in copy_chunks and COMMIT, so the rows and the record of
 * them land together. */
static void page_add_commit(copier *c, const page *pg, sbuf *sql)
{
    const schema_table *s = pg->plan->t->schema;
    sbuf_adds(sql, "INSERT INTO ");
    db_add_table(sql, c->cfg.sidecar, "copy_chunks");
    sbuf_adds(sql, " (workflow, table_schema, table_name, chunk, end_key, rows_copied) VALUES (");
    db_add_cstring(sql, c->cfg.workflow);
    sbuf_addc(sql, ',');
    db_add_cstring(sql, s->schema);
    sbuf_addc(sql, ',');
    db_add_cstring(sql, s->name);
    sbuf_addf(sql, ",%llu,", (unsigned long long)pg->chunk);
    db_add_cstring(sql, pg->end_key ? pg->end_key : "");
    sbuf_addf(sql, ",%llu) ON DUPLICATE KEY UPDATE end_key=VALUES(end_key), rows_copied=VALUES(rows_copied);COMMIT",
              (unsigned long long)pg->rows);
}

static int writer_session(copier *c, MYSQL **m, sbuf *err)
{
    return db_connect(c->cfg.target, DB_MULTI_STATEMENTS | DB_DATA | DB_LOCAL_INFILE, m, err);
}

/* LOAD DATA LOCAL INFILE reads the page from memory through these. */
typedef struct infile {
    const sbuf *data;
    size_t pos;
} infile;

static int infile_init(void **ptr, const char *name, void *userdata)
{
    (void)name;
    infile *f = userdata;
    f->pos = 0;
    *ptr = f;
    return 0;
}

static int infile_read(void *ptr, char *buf, unsigned int len)
{
    infile *f = ptr;
    size_t n = f->data->len - f->pos;
    if (n > len)
        n = len;
    memcpy(buf, f->data->buf + f->pos, n);
    f->pos += n;
    return (int)n;
}

static void infile_end(void *ptr)
{
    (void)ptr;
}

static int infile_error(void *ptr, char *msg, unsigned int len)
{
    (void)ptr;
    snprintf(msg, len, "page not readable");
    return CR_UNKNOWN_ERROR;
}

static void rollback(MYSQL *m)
{
    sbuf ignore = SBUF_INIT;
    db_exec(m, "ROLLBACK", &ignore);
    sbuf_free(&ignore);
}

/* A page as text: BEGIN; LOAD DATA (rows in data) or INSERTs; COMMIT. */
static void page_text(copier *c, const page *pg, sbuf *sql, sbuf *data)
{
    sbuf_adds(sql, "BEGIN;");
    if (c->load_data) {
        sbuf_add(sql, pg->plan->load_sql.buf, pg->plan->load_sql.len);
        page_render_tsv(pg, data);
    } else {
        page_render_insert(pg, c->max_packet / 2 < STMT_MAX ? c->max_packet / 2 : STMT_MAX, sql);
    }
    sbuf_addc(sql, ';');
    page_add_commit(c, pg, sql);
}

static int write_text(copier *c, MYSQL *m, const sbuf *sql, const sbuf *data, sbuf *err)
{
    infile f = {data, 0};
    if (c->load_data)
        mysql_set_local_infile_handler(m, infile_init, infile_read, infile_end, infile_error, &f);
    int e = db_execn(m, sql->buf, sql->len, err);
    if (!e)
        e = db_drain(m, err);
    if (e)
        rollback(m);
    return e;
}

/* Column-wise value arrays of one page, pointing into its result set. */
typedef struct bulk_arrays {
    size_t ncols, nrows;
    char **v;
    unsigned long *len;
    char *ind;
    MYSQL_BIND *bind;
} bulk_arrays;

static int stmt_error(MYSQL_STMT *st, sbuf *err)
{
    unsigned e = mysql_stmt_errno(st);
    sbuf_setf(err, "bulk write failed: %s (error %u)", mysql_stmt_error(st), e);
    return e ? (int)e : CR_UNKNOWN_ERROR;
}

/* Execute rows [from, from + n) of the arrays. */
static int bulk_execute(MYSQL_STMT *st, bulk_arrays *a, size_t from, size_t n, sbuf *err)
{
    unsigned int size = (unsigned int)n;
    for (size_t k = 0; k < a->ncols; k++) {
        size_t at = k * a->nrows + from;
        a->bind[k] = (MYSQL_BIND){.buffer_type = MYSQL_TYPE_STRING, .buffer = &a->v[at], .length = &a->len[at]};
        a->bind[k].u.indicator = &a->ind[at];
    }
    if (mysql_stmt_attr_set(st, STMT_ATTR_ARRAY_SIZE, &size) || mysql_stmt_bind_param(st, a->bind) ||
        mysql_stmt_execute(st))
        return stmt_error(st, err);
    return 0;
}

/* Fill row r of the arrays; its size on the wire (bytes, length, indicator). */
static size_t bulk_fill(bulk_arrays *a, const tplan *p, size_t r, MYSQL_ROW row, const unsigned long *len)
{
    size_t bytes = 0;
    for (size_t i = 0, k = 0; i < p->ncols; i++) {
        if (!p->insertable[i])
            continue;
        size_t at = k++ * a->nrows + r;
        a->v[at] = row[i];
        a->len[at] = row[i] ? len[i] : 0;
        a->ind[at] = row[i] ? STMT_INDICATOR_NONE : STMT_INDICATOR_NULL;
        bytes += a->len[at] + 10;
    }
    return bytes;
}

/* A row the target would hang up on (see db_add_packet_advice). */
static int row_too_big(copier *c, const page *pg, MYSQL_ROW row, const unsigned long *len, size_t bytes, sbuf *err)
{
    const schema_table *s = pg->plan->t->schema;
    MYSQL_FIELD *f = mysql_fetch_fields(pg->res);
    sbuf key = SBUF_INIT, shown = SBUF_INIT;
    for (size_t k = 0; k < s->nkey; k++) {
        size_t i = s->key[k];
        key_append_value(&key, &s->cols[i], &f[i], row[i], len[i]);
    }
    key_describe(key.buf, s->nkey, &shown);
    sbuf_setf(err, "the row %s is ", shown.buf);
    db_add_packet_advice(err, bytes, c->max_packet);
    sbuf_free(&key);
    sbuf_free(&shown);
    return ER_NET_PACKET_TOO_LARGE;
}

/* BEGIN; the page's rows in executions of up to bulk_budget bytes; its
 * chunk row and COMMIT (in commit_sql). */
static int write_bulk(copier *c, MYSQL *m, const page *pg, const sbuf *commit_sql, sbuf *err)
{
    const tplan *p = pg->plan;
    bulk_arrays a = {0, pg->rows, NULL, NULL, NULL, NULL};
    for (size_t i = 0; i < p->ncols; i++)
        a.ncols += p->insertable[i];
    a.v = xcalloc(a.ncols * a.nrows, sizeof *a.v);
    a.len = xcalloc(a.ncols * a.nrows, sizeof *a.len);
    a.ind = xcalloc(a.ncols * a.nrows, 1);
    a.bind = xcalloc(a.ncols, sizeof *a.bind);
    MYSQL_STMT *st = NULL;
    int e = db_exec(m, "BEGIN", err);
    if (!e && !(st = mysql_stmt_init(m)))
        e = CR_OUT_OF_MEMORY, sbuf_setf(err, "out of memory preparing a bulk write");
    if (!e && mysql_stmt_prepare(st, p->bulk_sql.buf, (unsigned long)p->bulk_sql.len))
        e = stmt_error(st, err);
    size_t from = 0, bytes = 0;
    mysql_data_seek(pg->res, 0);
    for (size_t r = 0; !e && r < a.nrows; r++) {
        MYSQL_ROW row = mysql_fetch_row(pg->res);
        unsigned long *len = mysql_fetch_lengths(pg->res);
        size_t row_bytes = bulk_fill(&a, p, r, row, len);
        if (row_bytes + 1024 > c->max_packet) {
            e = row_too_big(c, pg, row, len, row_bytes, err);
            break;
        }
        if (r > from && bytes + row_bytes > c->bulk_budget) {
            e = bulk_execute(st, &a, from, r - from, err);
            from = r;
            bytes = 0;
        }
        bytes += row_bytes;
    }
    if (!e)
        e = bulk_execute(st, &a, from, a.nrows - from, err);
    if (!e && !(e = db_execn(m, commit_sql->buf, commit_sql->len, err)))
        e = db_drain(m, err);
    if (st)
        mysql_stmt_close(st);
    if (e)
        rollback(m);
    free(a.v);
    free(a.len);
    free(a.ind);
    free(a.bind);
    return e;
}

typedef struct writer_arg {
    copier *c;
    size_t idx;
} writer_arg;

static int writer_apply(copier *c, size_t idx, const page *pg, sbuf *sql, sbuf *data, sbuf *err)
{
    int e = 0;
    sbuf_reset(sql);
    sbuf_reset(data);
    if (c->bulk)
        page_add_commit(c, pg, sql);
    else
        page_text(c, pg, sql, data);
    for (int attempt = 0; attempt < WRITE_RETRIES; attempt++) {
        if (!c->writers[idx] && (e = writer_session(c, &c->writers[idx], err)) != 0) {
            sleep_ms(250u << attempt);
            continue;
        }
        MYSQL *m = c->writers[idx];
        e = c->bulk ? write_bulk(c, m, pg, sql, err) : write_text(c, m, sql, data, err);
        if (!e || !db_error_is_transient((unsigned)e))
            return e;
        if (db_error_is_connection((unsigned)e)) {
            mysql_close(c->writers[idx]);
            c->writers[idx] = NULL;
        }
        log_event(LOG_WARN, "copier",
                  LOG_ABOUT(.schema = pg->plan->t->schema->schema, .table = pg->plan->t->schema->name),
                  "writing a page of `%s`.`%s` failed (%s); retrying", pg->plan->t->schema->schema,
                  pg->plan->t->schema->name, err->buf);
        sleep_ms(250u << attempt);
    }
    return e;
}

static void writer_main(void *arg)
{
    writer_arg *wa = arg;
    copier *c = wa->c;
    sbuf sql = SBUF_INIT, data = SBUF_INIT, err = SBUF_INIT;
    page *pg;
    while ((pg = bqueue_pop(c->pages, -1))) {
        int e = writer_apply(c, wa->idx, pg, &sql, &data, &err);
        if (e) {
            sbuf msg = SBUF_INIT;
            sbuf_addf(&msg, "copying `%s`.`%s` failed: %s", pg->plan->t->schema->schema, pg->plan->t->schema->name,
                      err.buf);
            copier_fail(c, e, msg.buf);
            sbuf_free(&msg);
        } else {
            __atomic_add_fetch(&pg->plan->t->rows_copied, pg->rows, __ATOMIC_RELAXED);
            if (c->cfg.progress)
                c->cfg.progress(c->cfg.progress_data);
        }
        page_free(pg);
    }
    sbuf_free(&sql);
    sbuf_free(&data);
    sbuf_free(&err);
    free(wa);
    mysql_thread_end();
}

/* ---- throttling --------------------------------------------------------------------- */

static unsigned statements_running(copier *c)
{
    sbuf err = SBUF_INIT;
    unsigned n = 0;
    if (!c->probe && db_connect(c->cfg.source, 0, &c->probe, &err) != 0) {
        sbuf_free(&err);
        return 0;
    }
    if (db_statements_running(c->probe, &n, &err) != 0) {
        mysql_close(c->probe);
        c->probe = NULL;
    }
    sbuf_free(&err);
    return n;
}

/* Add the throttled time up to now to the caller's total (c->lock held).
 * Counted once for all readers, at the checks and at the end of a run. */
static void throttle_account(copier *c, int64_t now)
{
    if (c->throttled_from && c->cfg.throttled_ms && now > c->throttled_from)
        __atomic_fetch_add(c->cfg.throttled_ms, (uint64_t)(now - c->throttled_from), __ATOMIC_RELAXED);
}

/* Wait while the source is overloaded; false if the run should end. */
static bool throttle_wait(copier *c, int64_t until_ms, const atomic_bool *cancel)
{
    if (!c->cfg.throttle_threads_running)
        return true;
    for (;;) {
        uv_mutex_lock(&c->table_lock); /* one probe connection for all readers */
        unsigned n = 0;
        bool due = clock_mono_ms() - c->last_throttle_check >= 1000;
        if (due) {
            n = statements_running(c);
            c->last_throttle_check = clock_mono_ms();
            uv_mutex_lock(&c->lock);
            bool was = c->throttled;
            throttle_account(c, c->last_throttle_check);
            c->throttled = n > c->cfg.throttle_threads_running;
            c->throttled_from = c->throttled ? c->last_throttle_check : 0;
            if (c->throttled)
                sbuf_setf(&c->throttle_reason, "source Threads_running is %u (not counting idle and replication threads), above the limit of %u", n,
                          c->cfg.throttle_threads_running);
            if (c->throttled != was)
                log_info("copier", "%s", c->throttled ? c->throttle_reason.buf : "throttle released");
            uv_mutex_unlock(&c->lock);
        }
        uv_mutex_lock(&c->lock);
        bool throttled = c->throttled, failed = c->error != 0;
        uv_mutex_unlock(&c->lock);
        uv_mutex_unlock(&c->table_lock);
        if (!throttled)
            return true;
        if (failed || atomic_load(cancel) || clock_mono_ms() >= until_ms)
            return false;
        sleep_ms(250);
    }
}

/* ---- readers ------------------------------------------------------------------------ */

typedef struct reader_ctx {
    copier *c;
    MYSQL *conn;
    tplan *plans;
    size_t nplans;
    int64_t until_ms;
    const atomic_bool *cancel;
} reader_ctx;

static bool reader_should_stop(reader_ctx *rc)
{
    uv_mutex_lock(&rc->c->lock);
    bool failed = rc->c->error != 0;
    uv_mutex_unlock(&rc->c->lock);
    return failed || atomic_load(rc->cancel) || clock_mono_ms() >= rc->until_ms;
}

/* Read one page of a table: 1 page queued, 0 table done, -1 error. */
static int reader_page(reader_ctx *rc, tplan *p, sbuf *q, sbuf *err)
{
    copier_table *t = p->t;
    sbuf_reset(q);
    sbuf_add(q, p->select_head.buf, p->select_head.len);
    if (t->last_key && plan_where(p, t->last_key, q, err) != 0)
        return -1;
    sbuf_add(q, p->order_by.buf, p->order_by.len);
    sbuf_addf(q, " LIMIT %llu", (unsigned long long)p->limit);
    MYSQL_RES *r;
    int e = db_query(rc->conn, q->buf, &r, err);
    if (e)
        return -1;
    uint64_t n = mysql_num_rows(r);
    if (n == 0) {
        mysql_free_result(r);
        t->read_done = true;
        return 0;
    }
    page *pg = page_new(p, t->next_chunk++, r);
    free(t->last_key);
    t->last_key = xstrdup(pg->end_key);
    if (n < p->limit)
        t->read_done = true;
    plan_fit_limit(p, r, rc->c->cfg.chunk_rows);
    if (!bqueue_push(rc->c->pages, pg, 0)) {
        page_free(pg);
        return -1;
    }
    return t->read_done ? 0 : 1;
}

/* The next table to read a page from, round-robin over the tables not
 * done and not being read by another reader. Interleaving matters: when
 * all writers fill the same table they contend for the same rightmost
 * index page, and the target server cannot use its cores. */
static tplan *reader_claim(reader_ctx *rc)
{
    copier *c = rc->c;
    uv_mutex_lock(&c->table_lock);
    tplan *p = NULL;
    for (size_t k = 0; !p && k < rc->nplans; k++) {
        tplan *cand = &rc->plans[(c->next_table + k) % rc->nplans];
        if (!cand->t->read_done && !cand->busy) {
            p = cand;
            c->next_table = (c->next_table + k + 1) % rc->nplans;
        }
    }
    if (p)
        p->busy = true;
    uv_mutex_unlock(&c->table_lock);
    return p;
}

static void reader_release(reader_ctx *rc, tplan *p)
{
    uv_mutex_lock(&rc->c->table_lock);
    p->busy = false;
    uv_mutex_unlock(&rc->c->table_lock);
}

static void reader_report(reader_ctx *rc, const tplan *p, const sbuf *err)
{
    uv_mutex_lock(&rc->c->lock);
    bool already = rc->c->error != 0;
    uv_mutex_unlock(&rc->c->lock);
    if (already)
        return;
    sbuf msg = SBUF_INIT;
    sbuf_addf(&msg, "reading `%s`.`%s` from the source failed: %s", p->t->schema->schema, p->t->schema->name,
              err->buf);
    copier_fail(rc->c, mysql_errno(rc->conn), msg.buf);
    sbuf_free(&msg);
}

static void reader_main(void *arg)
{
    reader_ctx *rc = arg;
    sbuf q = SBUF_INIT, err = SBUF_INIT;
    tplan *p;
    while (!reader_should_stop(rc) && throttle_wait(rc->c, rc->until_ms, rc->cancel) && (p = reader_claim(rc))) {
        int r = reader_page(rc, p, &q, &err);
        reader_release(rc, p);
        if (r < 0) {
            reader_report(rc, p, &err);
            break;
        }
    }
    sbuf_free(&q);
    sbuf_free(&err);
}

static void reader_thread(void *arg)
{
    reader_main(arg);
    mysql_thread_end();
}

/* ---- public -------------------------------------------------------------------------- */

/* The cheapest way the target takes pages (see the top of this file). */
static void copier_pick_method(copier *c)
{
    MYSQL *m = c->writers[0];
    unsigned long caps = 0, ext = 0;
    mariadb_get_infov(m, MARIADB_CONNECTION_SERVER_CAPABILITIES, &caps);
    mariadb_get_infov(m, MARIADB_CONNECTION_EXTENDED_SERVER_CAPABILITIES, &ext);
    sbuf err = SBUF_INIT;
    MYSQL_RES *r;
    c->max_packet = 1u << 20; /* the least any server allows, if the query fails */
    if (db_query(m, "SELECT IF(@@log_bin, @@session.binlog_format, 'OFF'), @@local_infile = 1, @@max_allowed_packet", &r,
                 &err) == 0) {
        MYSQL_ROW row = mysql_fetch_row(r);
        if (row && row[0] && row[1] && row[2]) {
            unsigned long long packet = strtoull(row[2], NULL, 10);
            c->bulk = !(caps & CLIENT_MYSQL) && (ext & (MARIADB_CLIENT_STMT_BULK_OPERATIONS >> 32)) &&
                      strcasecmp(row[0], "STATEMENT") != 0 && packet >= (1u << 20);
            c->load_data = strcmp(row[1], "1") == 0;
            c->bulk_budget = packet / 2 < (16u << 20) ? packet / 2 : (16u << 20);
            c->max_packet = (size_t)packet;
        }
        mysql_free_result(r);
    }
    log_info("copier", "writing pages with %s",
             c->bulk        ? "bulk REPLACE executions (binary protocol)"
             : c->load_data ? "LOAD DATA LOCAL INFILE (the target takes no bulk executions)"
                            : "multi-row INSERTs (the target takes neither bulk executions nor LOAD DATA LOCAL)");
    sbuf_free(&err);
}

int copier_open(const copier_config *cfg, copier **out, sbuf *err)
{
    copier *c = xcalloc(1, sizeof *c);
    c->cfg = *cfg;
    if (!c->cfg.writers)
        c->cfg.writers = 4;
    if (!c->cfg.chunk_rows)
        c->cfg.chunk_rows = 10000;
    uv_mutex_init(&c->lock);
    uv_mutex_init(&c->table_lock);
    c->pages = bqueue_new(QUEUE_PAGES, 0);
    c->writers = xcalloc(c->cfg.writers, sizeof *c->writers);
    c->threads = xcalloc(c->cfg.writers, sizeof *c->threads);
    for (unsigned i = 0; i < c->cfg.writers; i++) {
        int e = writer_session(c, &c->writers[i], err);
        if (e) {
            copier_close(c);
            *out = NULL;
            return e;
        }
    }
    copier_pick_method(c);
    *out = c;
    return 0;
}

void copier_close(copier *c)
{
    if (!c)
        return;
    for (unsigned i = 0; i < c->cfg.writers; i++)
        if (c->writers[i])
            mysql_close(c->writers[i]);
    if (c->probe)
        mysql_close(c->probe);
    free(c->writers);
    free(c->threads);
    sbuf_free(&c->error_msg);
    sbuf_free(&c->throttle_reason);
    uv_mutex_destroy(&c->lock);
    uv_mutex_destroy(&c->table_lock);
    bqueue_free(c->pages);
    free(c);
}

static void run_reset(copier *c)
{
    c->error = 0;
    bqueue_reopen(c->pages);
    c->next_table = 0;
    sbuf_reset(&c->error_msg);
}

int copier_run(copier *c, snapshot *snap, copier_table *tables, size_t n, int64_t until_ms,
               const atomic_bool *cancel, sbuf *err)
{
    run_reset(c);
    tplan *plans = xcalloc(n, sizeof *plans);
    for (size_t i = 0; i < n; i++)
        plan_build(&plans[i], &tables[i], c->cfg.chunk_rows);
    for (unsigned i = 0; i < c->cfg.writers; i++) {
        writer_arg *wa = xcalloc(1, sizeof *wa);
        *wa = (writer_arg){c, i};
        uv_thread_create(&c->threads[i], writer_main, wa);
    }
    size_t nreaders = snap->nconns;
    reader_ctx *rcs = xcalloc(nreaders, sizeof *rcs);
    uv_thread_t *rthreads = xcalloc(nreaders, sizeof *rthreads);
    for (size_t i = 0; i < nreaders; i++) {
        rcs[i] = (reader_ctx){c, snap->conns[i], plans, n, until_ms, cancel};
        if (i > 0)
            uv_thread_create(&rthreads[i], reader_thread, &rcs[i]);
    }
    reader_main(&rcs[0]); /* the caller's thread reads too */
    for (size_t i = 1; i < nreaders; i++)
        uv_thread_join(&rthreads[i]);
    uv_mutex_lock(&c->lock); /* time between runs is not throttled time */
    throttle_account(c, clock_mono_ms());
    c->throttled_from = 0;
    uv_mutex_unlock(&c->lock);
    bqueue_close(c->pages, false); /* writers finish what is queued */
    for (unsigned i = 0; i < c->cfg.writers; i++)
        uv_thread_join(&c->threads[i]);
    /* After a failure, pages still queued were never written. */
    for (page *pg; (pg = bqueue_take(c->pages));)
        page_free(pg);
    for (size_t i = 0; i < n; i++)
        plan_free(&plans[i]);
    free(plans);
    free(rcs);
    free(rthreads);
    if (c->error)
        sbuf_setf(err, "%s", c->error_msg.buf);
    return c->error;
}

bool copier_throttled(copier *c, sbuf *reason)
{
    uv_mutex_lock(&c->lock);
    bool t = c->throttled;
    if (t && reason)
        sbuf_setf(reason, "%s", c->throttle_reason.buf);
    uv_mutex_unlock(&c->lock);
    return t;
}
