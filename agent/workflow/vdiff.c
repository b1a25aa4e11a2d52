/* vdiff: chunked, exact comparison of two synchronized snapshots. See
 * vdiff.h for the method.
 *
 * Per row, both servers compute the same thing:
 *   MD5(CONCAT_WS(0x1e, IFNULL(CONCAT('v', CAST(c1 AS BINARY)), 'n'), ...))
 * ('v'/'n' tell NULL from any value). A chunk's summary is the row count,
 * the XOR of each hash's first 64 bits and the sum of its next 32 bits: the
 * client computes it from A's rows, B's server computes it in SQL, and two
 * independent functions over a 128-bit hash make an accidental match of
 * different chunks practically impossible.
 *
 * Thread A reads chunk after chunk into a small queue; thread B (the
 * caller's) checks each against its side. Keys are rendered as SQL literals
 * (numbers bare, everything else quoted bytes) and reused in the range
 * predicate, expanded so the range is an index range. */
#include "workflow/vdiff.h"

#include <errmsg.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "db/db.h"
#include "lib/keymap.h"
#include "vrepl/copier.h"

#define QUEUE_CHUNKS 4

typedef struct arow {
    char *key;    /* encoded key (copier.h) */
    char *display;/* "(42,'x')" for samples */
    char hash[33];
} arow;

typedef struct chunk {
    vdiff_table *t;
    char *lo;      /* encoded key the chunk starts after; NULL: table start */
    char *hi;      /* encoded key of its last row; NULL: to the end (tail check) */
    arow *rows;
    size_t n;
    uint64_t x;    /* XOR of the hashes' first 64 bits */
    uint64_t sum;  /* sum of their next 32 bits */
    bool last;     /* the table has no rows after hi */
} chunk;

typedef struct engine {
    const vdiff_config *cfg;
    uv_mutex_t qlock;
    uv_cond_t nonempty, nonfull;
    chunk *q[QUEUE_CHUNKS];
    size_t qhead, qcount;
    bool a_done, failed;
    int error;
    sbuf err;
} engine;

void vdiff_result_copy(vdiff_result *dst, const vdiff_result *src)
{
    *dst = *src;
    for (size_t i = 0; i < src->nsamples; i++)
        dst->samples[i] = xstrdup(src->samples[i]);
}

void vdiff_result_clear(vdiff_result *r)
{
    for (size_t i = 0; i < r->nsamples; i++)
        free(r->samples[i]);
    memset(r, 0, sizeof *r);
}

/* ---- SQL ---------------------------------------------------------------------------- */

static void add_row_hash(sbuf *q, const schema_table *s)
{
    sbuf_adds(q, "MD5(CONCAT_WS(0x1e");
    for (size_t i = 0; i < s->ncols; i++) {
        sbuf_adds(q, ", IFNULL(CONCAT('v', CAST(");
        db_add_ident(q, s->cols[i].name);
        sbuf_adds(q, " AS BINARY)), 'n')");
    }
    sbuf_adds(q, "))");
}

static void add_key_list(sbuf *q, const schema_table *s)
{
    for (size_t k = 0; k < s->nkey; k++) {
        if (k)
            sbuf_addc(q, ',');
        db_add_ident(q, s->cols[s->key[k]].name);
    }
}

/* "(k1 > v1 OR (k1 = v1 AND k2 > v2))" for op ">" or the <= form for "<=". */
static int add_bound(sbuf *q, const schema_table *s, const char *key, bool upper)
{
    const char *lits[16];
    size_t lens[16];
    if (s->nkey > 16 || copier_key_split(key, lits, lens, s->nkey) != 0)
        return -1;
    sbuf_addc(q, '(');
    for (size_t i = 0; i < s->nkey; i++) {
        sbuf_adds(q, i ? " OR (" : "(");
        for (size_t j = 0; j <= i; j++) {
            if (j)
                sbuf_adds(q, " AND ");
            db_add_ident(q, s->cols[s->key[j]].name);
            sbuf_adds(q, j < i ? " = " : upper ? " < " : " > ");
            sbuf_add(q, lits[j], lens[j]);
        }
        sbuf_addc(q, ')');
    }
    if (upper) { /* <= : also the key itself */
        sbuf_adds(q, " OR (");
        for (size_t j = 0; j < s->nkey; j++) {
            if (j)
                sbuf_adds(q, " AND ");
            db_add_ident(q, s->cols[s->key[j]].name);
            sbuf_adds(q, " = ");
            sbuf_add(q, lits[j], lens[j]);
        }
        sbuf_addc(q, ')');
    }
    sbuf_addc(q, ')');
    return 0;
}

static int add_range(sbuf *q, const schema_table *s, const char *lo, const char *hi)
{
    sbuf_adds(q, " WHERE 1");
    if (lo) {
        sbuf_adds(q, " AND ");
        if (add_bound(q, s, lo, false) != 0)
            return -1;
    }
    if (hi) {
        sbuf_adds(q, " AND ");
        if (add_bound(q, s, hi, true) != 0)
            return -1;
    }
    return 0;
}

/* SELECT key..., hash FROM t WHERE range ORDER BY key [LIMIT n] */
static int rows_query(const schema_table *s, const char *lo, const char *hi, uint64_t limit, sbuf *q)
{
    sbuf_adds(q, "SELECT ");
    add_key_list(q, s);
    sbuf_adds(q, ", ");
    add_row_hash(q, s);
    sbuf_adds(q, " FROM ");
    db_add_table(q, s->schema, s->name);
    if (add_range(q, s, lo, hi) != 0)
        return -1;
    sbuf_adds(q, " ORDER BY ");
    add_key_list(q, s);
    if (limit)
        sbuf_addf(q, " LIMIT %" PRIu64, limit);
    return 0;
}

static uint64_t hex_u64(const char *h, size_t n)
{
    uint64_t v = 0;
    for (size_t i = 0; i < n; i++) {
        char c = h[i];
        v = v << 4 | (uint64_t)(c <= '9' ? c - '0' : (c | 32) - 'a' + 10);
    }
    return v;
}

/* ---- reading rows ---------------------------------------------------------------------- */

static void literal(sbuf *out, const MYSQL_FIELD *f, const char *v, unsigned long len)
{
    if (!v)
        sbuf_adds(out, "NULL");
    else if (IS_NUM(f->type))
        sbuf_add(out, v, len);
    else
        db_add_string(out, v, len);
}

static void arow_fill(arow *r, const schema_table *s, MYSQL_FIELD *f, MYSQL_ROW row, unsigned long *len)
{
    sbuf key = SBUF_INIT, lit = SBUF_INIT, disp = SBUF_INIT;
    sbuf_addc(&disp, '(');
    for (size_t k = 0; k < s->nkey; k++) {
        sbuf_reset(&lit);
        literal(&lit, &f[k], row[k], len[k]);
        copier_key_append(&key, lit.buf, lit.len);
        sbuf_adds(&disp, k ? "," : "");
        sbuf_add(&disp, lit.buf, lit.len > 80 ? 80 : lit.len);
    }
    sbuf_addc(&disp, ')');
    r->key = sbuf_detach(&key, NULL);
    r->display = sbuf_detach(&disp, NULL);
    size_t hlen = row[s->nkey] ? len[s->nkey] : 0;
    memcpy(r->hash, row[s->nkey] ? row[s->nkey] : "", hlen > 32 ? 32 : hlen);
    r->hash[hlen > 32 ? 32 : hlen] = '\0';
    sbuf_free(&lit);
}

static void rows_free(arow *rows, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(rows[i].key);
        free(rows[i].display);
    }
    free(rows);
}

static int fetch_rows(MYSQL *m, const schema_table *s, const char *lo, const char *hi, uint64_t limit, arow **out,
                      size_t *n, sbuf *err)
{
    sbuf q = SBUF_INIT;
    *out = NULL;
    *n = 0;
    if (rows_query(s, lo, hi, limit, &q) != 0) {
        sbuf_setf(err, "a saved key of `%s`.`%s` is malformed", s->schema, s->name);
        sbuf_free(&q);
        return CR_UNKNOWN_ERROR;
    }
    MYSQL_RES *r;
    int e = db_query(m, q.buf, &r, err);
    sbuf_free(&q);
    if (e)
        return e;
    MYSQL_FIELD *f = mysql_fetch_fields(r);
    *out = xcalloc(mysql_num_rows(r) + 1, sizeof **out);
    MYSQL_ROW row;
    while ((row = mysql_fetch_row(r)))
        arow_fill(&(*out)[(*n)++], s, f, row, mysql_fetch_lengths(r));
    mysql_free_result(r);
    return 0;
}

static void chunk_summarize(chunk *c)
{
    for (size_t i = 0; i < c->n; i++) {
        c->x ^= hex_u64(c->rows[i].hash, 16);
        c->sum += hex_u64(c->rows[i].hash + 16, 8);
    }
}

static void chunk_free(chunk *c)
{
    if (!c)
        return;
    free(c->lo);
    free(c->hi);
    rows_free(c->rows, c->n);
    free(c);
}

/* ---- the queue between the two sides -------------------------------------------------------- */

static bool queue_push(engine *g, chunk *c)
{
    uv_mutex_lock(&g->qlock);
    while (g->qcount == QUEUE_CHUNKS && !g->failed)
        uv_cond_wait(&g->nonfull, &g->qlock);
    bool ok = !g->failed;
    if (ok) {
        g->q[(g->qhead + g->qcount++) % QUEUE_CHUNKS] = c;
        uv_cond_signal(&g->nonempty);
    }
    uv_mutex_unlock(&g->qlock);
    return ok;
}

static chunk *queue_pop(engine *g)
{
    uv_mutex_lock(&g->qlock);
    while (g->qcount == 0 && !g->a_done && !g->failed)
        uv_cond_wait(&g->nonempty, &g->qlock);
    chunk *c = NULL;
    if (g->qcount && !g->failed) {
        c = g->q[g->qhead];
        g->qhead = (g->qhead + 1) % QUEUE_CHUNKS;
        g->qcount--;
        uv_cond_signal(&g->nonfull);
    }
    uv_mutex_unlock(&g->qlock);
    return c;
}

static void engine_fail(engine *g, int e, const char *msg)
{
    uv_mutex_lock(&g->qlock);
    if (!g->failed) {
        g->failed = true;
        g->error = e ? e : CR_UNKNOWN_ERROR;
        sbuf_setf(&g->err, "%s", msg);
    }
    uv_cond_broadcast(&g->nonempty);
    uv_cond_broadcast(&g->nonfull);
    uv_mutex_unlock(&g->qlock);
}

/* ---- side A: chunks ----------------------------------------------------------------------- */

static bool cancelled(const engine *g)
{
    return g->cfg->cancel && *g->cfg->cancel;
}

static unsigned threads_running(MYSQL *m)
{
    sbuf err = SBUF_INIT;
    MYSQL_RES *r;
    unsigned n = 0;
    if (db_query(m, "SHOW GLOBAL STATUS LIKE 'Threads_running'", &r, &err) == 0) {
        MYSQL_ROW row = mysql_fetch_row(r);
        n = row && row[1] ? (unsigned)strtoul(row[1], NULL, 10) : 0;
        mysql_free_result(r);
    }
    sbuf_free(&err);
    return n;
}

/* Like the copy, step back while the writing side is overloaded. */
static void throttle(engine *g)
{
    unsigned limit = g->cfg->throttle_threads_running;
    /* our own query counts as running: allow for it */
    while (limit && !cancelled(g) && threads_running(g->cfg->a) > limit + 1) {
        if (g->cfg->throttled)
            *g->cfg->throttled = true;
        struct timespec ts = {0, 250 * 1000000L};
        nanosleep(&ts, NULL);
    }
    if (g->cfg->throttled)
        *g->cfg->throttled = false;
}

static int a_table(engine *g, vdiff_table *t, sbuf *err)
{
    char *lo = t->resume_key ? xstrdup(t->resume_key) : NULL;
    for (unsigned chunks = 0;; chunks++) {
        if (cancelled(g)) {
            free(lo);
            return 0;
        }
        if (chunks % 16 == 0)
            throttle(g);
        chunk *c = xcalloc(1, sizeof *c);
        c->t = t;
        c->lo = lo;
        int e = fetch_rows(g->cfg->a, t->schema, lo, NULL, g->cfg->chunk_rows, &c->rows, &c->n, err);
        if (e) {
            chunk_free(c);
            return e;
        }
        chunk_summarize(c);
        c->last = c->n < g->cfg->chunk_rows;
        c->hi = c->n ? xstrdup(c->rows[c->n - 1].key) : NULL;
        lo = c->hi ? xstrdup(c->hi) : NULL;
        bool last = c->last;
        if (!queue_push(g, c)) {
            chunk_free(c);
            free(lo);
            return 0;
        }
        if (last) {
            free(lo);
            return 0;
        }
    }
}

static void a_main(void *arg)
{
    engine *g = arg;
    sbuf err = SBUF_INIT;
    for (size_t i = 0; i < g->cfg->ntables && !cancelled(g); i++) {
        vdiff_table *t = &g->cfg->tables[i];
        if (t->r.done)
            continue;
        int e = a_table(g, t, &err);
        if (e) {
            sbuf msg = SBUF_INIT;
            sbuf_addf(&msg, "reading `%s`.`%s` on the writing side failed: %s", t->schema->schema, t->schema->name,
                      err.buf);
            engine_fail(g, e, msg.buf);
            sbuf_free(&msg);
            break;
        }
    }
    uv_mutex_lock(&g->qlock);
    g->a_done = true;
    uv_cond_broadcast(&g->nonempty);
    uv_mutex_unlock(&g->qlock);
    sbuf_free(&err);
    mysql_thread_end();
}

/* ---- side B: checks ----------------------------------------------------------------------- */

static void add_sample(vdiff_table *t, const char *kind, const char *display)
{
    if (t->r.nsamples == VDIFF_SAMPLES)
        return;
    sbuf s = SBUF_INIT;
    sbuf_addf(&s, "%s %s", kind, display);
    t->r.samples[t->r.nsamples++] = sbuf_detach(&s, NULL);
}

static int b_summary(engine *g, const chunk *c, uint64_t *n, uint64_t *x, uint64_t *sum, sbuf *err)
{
    const schema_table *s = c->t->schema;
    sbuf q = SBUF_INIT, h = SBUF_INIT;
    add_row_hash(&h, s);
    sbuf_addf(&q, "SELECT COUNT(*), IFNULL(BIT_XOR(CAST(CONV(LEFT(%s, 16), 16, 10) AS UNSIGNED)), 0), "
                  "IFNULL(SUM(CAST(CONV(SUBSTRING(%s, 17, 8), 16, 10) AS UNSIGNED)), 0) FROM ", h.buf, h.buf);
    db_add_table(&q, s->schema, s->name);
    int e = add_range(&q, s, c->lo, c->last ? NULL : c->hi) ? CR_UNKNOWN_ERROR : 0;
    MYSQL_RES *r = NULL;
    if (!e)
        e = db_query(g->cfg->b, q.buf, &r, err);
    if (!e) {
        MYSQL_ROW row = mysql_fetch_row(r);
        *n = row && row[0] ? strtoull(row[0], NULL, 10) : 0;
        *x = row && row[1] ? strtoull(row[1], NULL, 10) : 0;
        *sum = row && row[2] ? strtoull(row[2], NULL, 10) : 0;
        mysql_free_result(r);
    }
    sbuf_free(&q);
    sbuf_free(&h);
    return e;
}

/* A row that one side has and the other lacks. */
static void only_on(engine *g, vdiff_table *t, bool on_a, const char *display)
{
    bool on_dest = on_a != g->cfg->b_is_dest;
    t->r.compared++;
    if (on_dest)
        t->r.extra++;
    else
        t->r.missing++;
    add_sample(t, on_dest ? "extra on the destination" : "missing on the destination", display);
}

/* The chunk differs: match B's rows to A's by key. */
static int b_drill(engine *g, const chunk *c, sbuf *err)
{
    arow *brows;
    size_t bn;
    int e = fetch_rows(g->cfg->b, c->t->schema, c->lo, c->last ? NULL : c->hi, 0, &brows, &bn, err);
    if (e)
        return e;
    keymap *seen = keymap_new();
    bool ins;
    for (size_t i = 0; i < c->n; i++)
        *keymap_put(seen, c->rows[i].key, strlen(c->rows[i].key), &ins) = i + 1;
    vdiff_table *t = c->t;
    uv_mutex_lock(g->cfg->lock);
    for (size_t i = 0; i < bn; i++) {
        size_t *slot = keymap_get(seen, brows[i].key, strlen(brows[i].key));
        if (!slot || !*slot) {
            only_on(g, t, false, brows[i].display);
            continue;
        }
        const arow *a = &c->rows[*slot - 1];
        *slot = 0; /* matched */
        t->r.compared++;
        if (strcmp(a->hash, brows[i].hash) == 0) {
            t->r.matching++;
        } else {
            t->r.mismatched++;
            add_sample(t, "mismatched", a->display);
        }
    }
    for (size_t i = 0; i < c->n; i++) {
        size_t *slot = keymap_get(seen, c->rows[i].key, strlen(c->rows[i].key));
        if (slot && *slot)
            only_on(g, t, true, c->rows[i].display);
    }
    uv_mutex_unlock(g->cfg->lock);
    keymap_free(seen);
    rows_free(brows, bn);
    return 0;
}

static int b_check(engine *g, chunk *c, sbuf *err)
{
    uint64_t n, x, sum;
    int e = b_summary(g, c, &n, &x, &sum, err);
    if (e)
        return e;
    if (n == c->n && x == c->x && sum == c->sum) {
        uv_mutex_lock(g->cfg->lock);
        c->t->r.compared += n;
        c->t->r.matching += n;
        uv_mutex_unlock(g->cfg->lock);
    } else if ((e = b_drill(g, c, err)) != 0) {
        return e;
    }
    if (c->last) {
        uv_mutex_lock(g->cfg->lock);
        c->t->r.done = true;
        uv_mutex_unlock(g->cfg->lock);
    }
    if (g->cfg->chunk_done)
        g->cfg->chunk_done(c->t, c->last ? NULL : c->hi, g->cfg->data);
    return 0;
}

int vdiff_run(const vdiff_config *cfg, sbuf *err)
{
    engine g = {.cfg = cfg, .err = SBUF_INIT};
    uv_mutex_init(&g.qlock);
    uv_cond_init(&g.nonempty);
    uv_cond_init(&g.nonfull);
    uv_thread_t a;
    uv_thread_create(&a, a_main, &g);
    chunk *c;
    sbuf berr = SBUF_INIT;
    while ((c = queue_pop(&g))) {
        int e = b_check(&g, c, &berr);
        if (e) {
            sbuf msg = SBUF_INIT;
            sbuf_addf(&msg, "reading `%s`.`%s` on the other side failed: %s", c->t->schema->schema,
                      c->t->schema->name, berr.buf);
            engine_fail(&g, e, msg.buf);
            sbuf_free(&msg);
        }
        chunk_free(c);
    }
    uv_thread_join(&a);
    while (g.qcount) {
        chunk_free(g.q[g.qhead]);
        g.qhead = (g.qhead + 1) % QUEUE_CHUNKS;
        g.qcount--;
    }
    int rc = g.error;
    if (rc)
        sbuf_setf(err, "%s", g.err.buf);
    sbuf_free(&g.err);
    sbuf_free(&berr);
    uv_mutex_destroy(&g.qlock);
    uv_cond_destroy(&g.nonempty);
    uv_cond_destroy(&g.nonfull);
    return rc;
}
