/* vdiff: chunked, exact comparison of two synchronized snapshots. See
 * vdiff.h for the method.
 *
 * Per row, both servers compute the same hash:
 *   SHA1(CONCAT(IFNULL(CONCAT(LENGTH(c1), ':', c1), 'n'), ...))
 * Each value is length-prefixed, so no shifting of bytes between columns
 * can produce the same string, and 'n' tells NULL from any value. On a
 * SET NAMES binary connection the ':' literal is a binary string, which
 * makes CONCAT binary: every value enters as its stored bytes, never
 * converted between character sets. (SHA1 because MariaDB computes it
 * nearly twice as fast as MD5.) A chunk's summary is its row count and the
 * XOR of the first 64 bits of its rows' hashes. The hash mixes every input
 * bit, so unlike a CRC no pattern of changes to several rows can cancel
 * out in the XOR; and since keys are unique no two rows share a hash. Two
 * different chunks summarise alike with odds of 2^-64.
 *
 * Thread A walks chunk boundaries and A's summaries into a small queue;
 * thread B (the caller's) checks each against its side. Keys are read,
 * encoded and turned into range predicates exactly as the copier pages
 * through a table (copier.h), so both walk a table the same way. */
#include "vrepl/vdiff.h"

#include <errmsg.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "db/db.h"
#include "db/key.h"
#include "lib/keymap.h"
#include "vrepl/copier.h"

#define QUEUE_CHUNKS 8

typedef struct arow {
    char *key; /* encoded key (copier.h) */
    char hash[41];
} arow;

typedef struct chunk {
    vdiff_table *t;
    char *lo;   /* encoded key the chunk starts after; NULL: table start */
    char *hi;   /* encoded key of its last row on A; NULL: to the table's end */
    uint64_t n; /* A's rows in the range */
    uint64_t x; /* XOR of their hashes' first 64 bits */
} chunk;

typedef struct engine {
    const vdiff_config *cfg;
    uv_mutex_t a_lock; /* A's one connection: thread A's, lent to drill-downs */
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
    sbuf_adds(q, "SHA1(CONCAT(''");
    for (size_t i = 0; i < s->ncols; i++) {
        sbuf_adds(q, ", IFNULL(CONCAT(LENGTH(");
        db_add_ident(q, s->cols[i].name);
        sbuf_adds(q, "), ':', ");
        db_add_ident(q, s->cols[i].name);
        sbuf_adds(q, "), 'n')");
    }
    sbuf_adds(q, "))");
}

/* The key columns, in key order: as selected (round-tripping their text),
 * or as named for ORDER BY. */
static void add_key_list(sbuf *q, const schema_table *s, bool select)
{
    for (size_t k = 0; k < s->nkey; k++) {
        if (k)
            sbuf_addc(q, ',');
        if (select)
            key_add_column(q, &s->cols[s->key[k]]);
        else
            db_add_ident(q, s->cols[s->key[k]].name);
    }
}

/* Finish q with " FROM t WHERE key > lo AND key <= hi" (either bound may
 * be absent) and tail, and run it. */
static int range_query(MYSQL *m, const schema_table *s, sbuf *q, const char *lo, const char *hi, const char *tail,
                       MYSQL_RES **r, sbuf *err)
{
    sbuf_adds(q, " FROM ");
    db_add_table(q, s->schema, s->name);
    sbuf_adds(q, " WHERE 1");
    int bad = 0;
    if (lo) {
        sbuf_adds(q, " AND ");
        bad |= key_bound(q, s, lo, false);
    }
    if (hi) {
        sbuf_adds(q, " AND ");
        bad |= key_bound(q, s, hi, true);
    }
    sbuf_adds(q, tail);
    int e;
    if (bad) {
        sbuf_setf(err, "a saved key of `%s`.`%s` is malformed", s->schema, s->name);
        e = CR_UNKNOWN_ERROR;
    } else {
        e = db_query(m, q->buf, r, err);
    }
    sbuf_free(q);
    return e;
}

/* The encoded key of a result row whose first columns are the key's. */
static char *key_of(const schema_table *s, const MYSQL_FIELD *f, MYSQL_ROW row, const unsigned long *len)
{
    sbuf key = SBUF_INIT;
    for (size_t k = 0; k < s->nkey; k++)
        key_append_value(&key, &s->cols[s->key[k]], &f[k], row[k], len[k]);
    return sbuf_detach(&key, NULL);
}

/* The key of A's row n_rows after lo: the chunk's end. NULL in *hi when
 * fewer rows remain (the chunk runs to the table's end). */
static int chunk_end(MYSQL *m, const schema_table *s, const char *lo, uint64_t n_rows, char **hi, sbuf *err)
{
    sbuf q = SBUF_INIT, tail = SBUF_INIT;
    *hi = NULL;
    sbuf_adds(&q, "SELECT ");
    add_key_list(&q, s, true);
    sbuf_adds(&tail, " ORDER BY ");
    add_key_list(&tail, s, false);
    sbuf_addf(&tail, " LIMIT 1 OFFSET %" PRIu64, n_rows - 1);
    MYSQL_RES *r;
    int e = range_query(m, s, &q, lo, NULL, tail.buf, &r, err);
    sbuf_free(&tail);
    if (e)
        return e;
    MYSQL_ROW row = mysql_fetch_row(r);
    if (row)
        *hi = key_of(s, mysql_fetch_fields(r), row, mysql_fetch_lengths(r));
    mysql_free_result(r);
    return 0;
}

/* ---- summaries and rows ---------------------------------------------------------------------- */

static int summarize(MYSQL *m, const chunk *c, uint64_t *n, uint64_t *x, sbuf *err)
{
    const schema_table *s = c->t->schema;
    sbuf q = SBUF_INIT;
    sbuf_adds(&q, "SELECT COUNT(*), IFNULL(BIT_XOR(CAST(CONV(LEFT(");
    add_row_hash(&q, s);
    sbuf_adds(&q, ", 16), 16, 10) AS UNSIGNED)), 0)");
    MYSQL_RES *r;
    int e = range_query(m, s, &q, c->lo, c->hi, "", &r, err);
    if (e)
        return e;
    MYSQL_ROW row = mysql_fetch_row(r);
    *n = row && row[0] ? strtoull(row[0], NULL, 10) : 0;
    *x = row && row[1] ? strtoull(row[1], NULL, 10) : 0;
    mysql_free_result(r);
    return 0;
}

static void rows_free(arow *rows, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(rows[i].key);
    free(rows);
}

/* Every row's key and hash in the chunk's range. */
static int fetch_rows(MYSQL *m, const chunk *c, arow **out, size_t *n, sbuf *err)
{
    const schema_table *s = c->t->schema;
    sbuf q = SBUF_INIT;
    *out = NULL;
    *n = 0;
    sbuf_adds(&q, "SELECT ");
    add_key_list(&q, s, true);
    sbuf_adds(&q, ", ");
    add_row_hash(&q, s);
    MYSQL_RES *r;
    int e = range_query(m, s, &q, c->lo, c->hi, "", &r, err);
    if (e)
        return e;
    MYSQL_FIELD *f = mysql_fetch_fields(r);
    *out = xcalloc(mysql_num_rows(r) + 1, sizeof **out);
    MYSQL_ROW row;
    while ((row = mysql_fetch_row(r))) {
        unsigned long *len = mysql_fetch_lengths(r);
        arow *a = &(*out)[(*n)++];
        a->key = key_of(s, f, row, len);
        size_t hlen = row[s->nkey] ? len[s->nkey] : 0;
        hlen = hlen > 40 ? 40 : hlen;
        memcpy(a->hash, row[s->nkey] ? row[s->nkey] : "", hlen);
        a->hash[hlen] = '\0';
    }
    mysql_free_result(r);
    return 0;
}

static void chunk_free(chunk *c)
{
    if (!c)
        return;
    free(c->lo);
    free(c->hi);
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
    return g->cfg->cancel && atomic_load(g->cfg->cancel);
}

static unsigned statements_running(engine *g)
{
    sbuf err = SBUF_INIT;
    unsigned n = 0;
    uv_mutex_lock(&g->a_lock);
    db_statements_running(g->cfg->a, &n, &err);
    uv_mutex_unlock(&g->a_lock);
    sbuf_free(&err);
    return n;
}

/* Like the copy, step back while the writing side is overloaded. */
static void throttle(engine *g)
{
    unsigned limit = g->cfg->throttle_threads_running;
    while (limit && !cancelled(g) && statements_running(g) > limit) {
        if (g->cfg->throttled)
            atomic_store(g->cfg->throttled, true);
        struct timespec ts = {0, 250 * 1000000L};
        nanosleep(&ts, NULL);
    }
    if (g->cfg->throttled)
        atomic_store(g->cfg->throttled, false);
}

static int a_table(engine *g, vdiff_table *t, sbuf *err)
{
    char *lo = t->resume_key ? xstrdup(t->resume_key) : NULL;
    for (unsigned chunks = 0; !cancelled(g); chunks++) {
        if (chunks % 16 == 0)
            throttle(g);
        chunk *c = xcalloc(1, sizeof *c);
        c->t = t;
        c->lo = lo;
        uv_mutex_lock(&g->a_lock);
        int e = chunk_end(g->cfg->a, t->schema, lo, g->cfg->chunk_rows, &c->hi, err);
        if (!e)
            e = summarize(g->cfg->a, c, &c->n, &c->x, err);
        uv_mutex_unlock(&g->a_lock);
        if (e) {
            chunk_free(c);
            return e;
        }
        bool last = c->hi == NULL;
        lo = last ? NULL : xstrdup(c->hi);
        if (!queue_push(g, c)) {
            chunk_free(c);
            break;
        }
        if (last)
            return 0;
    }
    free(lo);
    return 0;
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

/* "mismatched (42,'x')" */
static void add_sample(vdiff_table *t, const char *kind, const char *key)
{
    if (t->r.nsamples == VDIFF_SAMPLES)
        return;
    sbuf s = SBUF_INIT;
    sbuf_addf(&s, "%s ", kind);
    key_describe(key, t->schema->nkey, &s);
    t->r.samples[t->r.nsamples++] = sbuf_detach(&s, NULL);
}

/* A row that one side has and the other lacks. */
static void only_on(engine *g, vdiff_table *t, bool on_a, const char *key)
{
    bool on_dest = on_a != g->cfg->b_is_dest;
    t->r.compared++;
    if (on_dest)
        t->r.extra++;
    else
        t->r.missing++;
    add_sample(t, on_dest ? "extra on the destination" : "missing on the destination", key);
}

/* The chunk differs: match both sides' rows by key. */
static int b_drill(engine *g, const chunk *c, sbuf *err)
{
    arow *arows, *brows;
    size_t an, bn;
    uv_mutex_lock(&g->a_lock);
    int e = fetch_rows(g->cfg->a, c, &arows, &an, err);
    uv_mutex_unlock(&g->a_lock);
    if (e)
        return e;
    if ((e = fetch_rows(g->cfg->b, c, &brows, &bn, err)) != 0) {
        rows_free(arows, an);
        return e;
    }
    keymap *seen = keymap_new();
    bool ins;
    for (size_t i = 0; i < an; i++)
        *keymap_put(seen, arows[i].key, strlen(arows[i].key), &ins) = i + 1;
    vdiff_table *t = c->t;
    uv_mutex_lock(g->cfg->lock);
    for (size_t i = 0; i < bn; i++) {
        size_t *slot = keymap_get(seen, brows[i].key, strlen(brows[i].key));
        if (!slot || !*slot) {
            only_on(g, t, false, brows[i].key);
            continue;
        }
        const arow *a = &arows[*slot - 1];
        *slot = 0; /* matched */
        t->r.compared++;
        if (strcmp(a->hash, brows[i].hash) == 0) {
            t->r.matching++;
        } else {
            t->r.mismatched++;
            add_sample(t, "mismatched", a->key);
        }
    }
    for (size_t i = 0; i < an; i++) {
        size_t *slot = keymap_get(seen, arows[i].key, strlen(arows[i].key));
        if (slot && *slot)
            only_on(g, t, true, arows[i].key);
    }
    uv_mutex_unlock(g->cfg->lock);
    keymap_free(seen);
    rows_free(arows, an);
    rows_free(brows, bn);
    return 0;
}

static int b_check(engine *g, chunk *c, sbuf *err)
{
    uint64_t n, x;
    int e = summarize(g->cfg->b, c, &n, &x, err);
    if (e)
        return e;
    if (n == c->n && x == c->x) {
        uv_mutex_lock(g->cfg->lock);
        c->t->r.compared += n;
        c->t->r.matching += n;
        uv_mutex_unlock(g->cfg->lock);
    } else if ((e = b_drill(g, c, err)) != 0) {
        return e;
    }
    if (!c->hi) {
        uv_mutex_lock(g->cfg->lock);
        c->t->r.done = true;
        uv_mutex_unlock(g->cfg->lock);
    }
    if (g->cfg->chunk_done)
        g->cfg->chunk_done(c->t, c->hi, g->cfg->data);
    return 0;
}

int vdiff_run(const vdiff_config *cfg, sbuf *err)
{
    engine g = {.cfg = cfg, .err = SBUF_INIT};
    uv_mutex_init(&g.a_lock);
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
            sbuf_addf(&msg, "comparing `%s`.`%s` failed: %s", c->t->schema->schema, c->t->schema->name, berr.buf);
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
    uv_mutex_destroy(&g.a_lock);
    uv_mutex_destroy(&g.qlock);
    uv_cond_destroy(&g.nonempty);
    uv_cond_destroy(&g.nonfull);
    return rc;
}
