/* key: a row's identifying key as SQL literals. See key.h.
 *
 * The copier pages by it and saves where it stopped, VDiff bounds its
 * chunks with it and names differing rows by it: one encoding, so a key
 * saved by one can be read by the other. */
#include "db/key.h"

#include <stdlib.h>
#include <string.h>

#include "db/db.h"

void key_append(sbuf *key, const char *literal, size_t len)
{
    sbuf_addf(key, "%zu:", len);
    sbuf_add(key, literal, len);
}

int key_split(const char *key, const char **lits, size_t *lens, size_t n)
{
    const char *p = key;
    for (size_t i = 0; i < n; i++) {
        char *end;
        unsigned long long len = strtoull(p, &end, 10);
        if (end == p || *end != ':' || strlen(end + 1) < len)
            return -1;
        lits[i] = end + 1;
        lens[i] = (size_t)len;
        p = end + 1 + len;
    }
    return *p ? -1 : 0;
}

void key_describe(const char *key, size_t nkey, sbuf *out)
{
    const char *lits[16];
    size_t lens[16];
    if (nkey > 16 || key_split(key, lits, lens, nkey) != 0) {
        sbuf_adds(out, "(?)");
        return;
    }
    sbuf_addc(out, '(');
    for (size_t i = 0; i < nkey; i++) {
        if (i)
            sbuf_addc(out, ',');
        sbuf_add(out, lits[i], lens[i] > 64 ? 64 : lens[i]);
        if (lens[i] > 64)
            sbuf_adds(out, "...");
    }
    sbuf_addc(out, ')');
}

static bool is_float(const schema_column *c)
{
    return strcmp(c->data_type, "float") == 0;
}

bool key_column_is_bit(const schema_column *c)
{
    return strcmp(c->data_type, "bit") == 0;
}

/* Types whose text form is not their storage form (MariaDB's UUID, INET6,
 * INET4): on a binary connection a plain literal would be taken as the
 * 16 stored bytes, so their text is marked as text. */
bool key_column_as_text(const schema_column *c)
{
    return strcmp(c->data_type, "uuid") == 0 || strcmp(c->data_type, "inet6") == 0 ||
           strcmp(c->data_type, "inet4") == 0;
}

void key_add_column(sbuf *q, const schema_column *c)
{
    if (is_float(c)) {
        sbuf_adds(q, "CAST(");
        db_add_ident(q, c->name);
        sbuf_adds(q, " AS DOUBLE)");
        return;
    }
    db_add_ident(q, c->name);
    if (key_column_is_bit(c))
        sbuf_adds(q, "+0");
}

void key_add_literal(sbuf *sb, bool as_text, const MYSQL_FIELD *f, const char *v, unsigned long len)
{
    if (!v) {
        sbuf_adds(sb, "NULL");
    } else if (IS_NUM(f->type)) {
        sbuf_add(sb, v, len);
    } else {
        if (as_text)
            sbuf_adds(sb, "_latin1");
        db_add_string(sb, v, len);
    }
}

void key_append_value(sbuf *key, const schema_column *c, const MYSQL_FIELD *f, const char *v, unsigned long len)
{
    sbuf lit = SBUF_INIT;
    key_add_literal(&lit, key_column_as_text(c), f, v, len);
    key_append(key, lit.buf, lit.len);
    sbuf_free(&lit);
}

int key_bound(sbuf *q, const schema_table *s, const char *key, bool upper)
{
    const char *lits[16];
    size_t lens[16];
    if (s->nkey > 16 || key_split(key, lits, lens, s->nkey) != 0)
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
    if (upper) { /* <=: the key itself too */
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
