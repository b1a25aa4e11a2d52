/* schema: a table's columns and identifying key from information_schema.
 * See schema.h for the contract.
 *
 * Three small queries: TABLES (does it exist, engine, size), COLUMNS joined
 * to COLLATIONS (so a collation comes back as the numeric id the binlog
 * uses), and STATISTICS (the key). Schema and table names go into the SQL
 * as string literals built byte by byte (db_add_string): a name with quotes,
 * backticks or any Unicode is just data here.
 *
 * Things information_schema does that we undo or work around:
 * - binary strings (BINARY, VARBINARY, BLOB) and MariaDB's UUID/INET6/INET4
 *   report no collation at all; the binlog calls them collation 63, so we do;
 * - ENUM/SET values are shown inside COLUMN_TYPE with quotes doubled and
 *   backslash escapes (\\, \n, \0 ...), which schema_parse_elements undoes;
 * - generated columns are spotted through EXTRA ("VIRTUAL GENERATED",
 *   "STORED GENERATED", MariaDB's older "PERSISTENT GENERATED"), which both
 *   MySQL and MariaDB fill; MySQL 8's "DEFAULT_GENERATED" is not one. */
#include "db/schema.h"

#include <mysqld_error.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "db/db.h"

#define SCHEMA_BINARY_COLLATION 63

/* WHERE clause shared by the three queries. */
static void schema_add_where(sbuf *q, const char *prefix, const char *db, const char *table)
{
    sbuf_addf(q, " WHERE %sTABLE_SCHEMA = ", prefix);
    db_add_cstring(q, db);
    sbuf_addf(q, " AND %sTABLE_NAME = ", prefix);
    db_add_cstring(q, table);
}

static char *schema_dup(const char *s)
{
    return s ? xstrdup(s) : NULL;
}

static uint64_t schema_u64(const char *s)
{
    return s ? strtoull(s, NULL, 10) : 0;
}

static int schema_load_table(MYSQL *m, schema_table *t, sbuf *err)
{
    sbuf q = SBUF_INIT;
    sbuf_adds(&q, "SELECT ENGINE, TABLE_ROWS, DATA_LENGTH + INDEX_LENGTH "
                  "FROM information_schema.TABLES");
    schema_add_where(&q, "", t->schema, t->name);
    MYSQL_RES *res;
    int e = db_query(m, sbuf_cstr(&q), &res, err);
    sbuf_free(&q);
    if (e)
        return e;
    MYSQL_ROW row = mysql_fetch_row(res);
    if (!row) {
        mysql_free_result(res);
        sbuf_reset(err);
        sbuf_adds(err, "table ");
        db_add_table(err, t->schema, t->name);
        sbuf_adds(err, " does not exist");
        return ER_NO_SUCH_TABLE;
    }
    t->engine = schema_dup(row[0]);
    t->est_rows = schema_u64(row[1]);
    t->data_bytes = schema_u64(row[2]);
    mysql_free_result(res);
    return 0;
}

static bool schema_is_binary_type(const char *dt)
{
    static const char *const types[] = {"binary", "varbinary", "tinyblob", "blob", "mediumblob",
                                        "longblob", "uuid", "inet6", "inet4"};
    for (size_t i = 0; dt && i < sizeof types / sizeof types[0]; i++)
        if (strcmp(dt, types[i]) == 0)
            return true;
    return false;
}

static bool schema_is_generated(const char *extra)
{
    return extra && (strstr(extra, "VIRTUAL GENERATED") || strstr(extra, "STORED GENERATED") ||
                     strstr(extra, "PERSISTENT GENERATED"));
}

/* DATA_TYPE in lower case whatever the server sends. */
static char *schema_lower(const char *s)
{
    char *d = xstrdup(s ? s : "");
    for (char *p = d; *p; p++)
        if (*p >= 'A' && *p <= 'Z')
            *p = (char)(*p - 'A' + 'a');
    return d;
}

static void schema_fill_column(schema_column *c, MYSQL_ROW row)
{
    c->name = xstrdup(row[0] ? row[0] : "");
    c->data_type = schema_lower(row[1]);
    c->column_type = xstrdup(row[2] ? row[2] : "");
    c->nullable = row[3] && strcmp(row[3], "YES") == 0;
    c->generated = schema_is_generated(row[4]);
    c->charset = schema_dup(row[5]);
    c->collation = schema_dup(row[6]);
    c->collation_id = row[7] ? (uint32_t)strtoul(row[7], NULL, 10) : 0;
    c->octet_length = schema_u64(row[8]);
    c->is_unsigned = strstr(c->column_type, " unsigned") != NULL;
    if (!c->collation && schema_is_binary_type(c->data_type))
        c->collation_id = SCHEMA_BINARY_COLLATION;
    if (strcmp(c->data_type, "enum") == 0 || strcmp(c->data_type, "set") == 0) {
        if (schema_parse_elements(c->column_type, &c->elements, &c->nelements) != 0) {
            c->elements = NULL;
            c->nelements = 0;
        }
    }
}

static int schema_load_columns(MYSQL *m, schema_table *t, sbuf *err)
{
    sbuf q = SBUF_INIT;
    sbuf_adds(&q, "SELECT c.COLUMN_NAME, c.DATA_TYPE, c.COLUMN_TYPE, c.IS_NULLABLE, c.EXTRA, "
                  "c.CHARACTER_SET_NAME, c.COLLATION_NAME, co.ID, c.CHARACTER_OCTET_LENGTH "
                  "FROM information_schema.COLUMNS c "
                  "LEFT JOIN information_schema.COLLATIONS co "
                  "ON co.COLLATION_NAME = c.COLLATION_NAME");
    schema_add_where(&q, "c.", t->schema, t->name);
    sbuf_adds(&q, " ORDER BY c.ORDINAL_POSITION");
    MYSQL_RES *res;
    int e = db_query(m, sbuf_cstr(&q), &res, err);
    sbuf_free(&q);
    if (e)
        return e;
    size_t n = (size_t)mysql_num_rows(res);
    t->cols = xcalloc(n ? n : 1, sizeof *t->cols);
    MYSQL_ROW row;
    while ((row = mysql_fetch_row(res)) && t->ncols < n)
        schema_fill_column(&t->cols[t->ncols++], row);
    mysql_free_result(res);
    if (t->ncols == 0) {
        sbuf_reset(err);
        sbuf_adds(err, "table ");
        db_add_table(err, t->schema, t->name);
        sbuf_adds(err, " has no columns in information_schema (dropped meanwhile?)");
        return ER_NO_SUCH_TABLE;
    }
    return 0;
}

/* One index from STATISTICS rows: name, position, column, NON_UNIQUE. */
typedef struct schema_index {
    char *name;
    size_t *cols;
    size_t n;
    bool unique;
    bool usable; /* every column known and NOT NULL */
} schema_index;

static void schema_index_take(schema_table *t, schema_index *ix)
{
    t->key_name = ix->name;
    t->key = ix->cols;
    t->nkey = ix->n;
    t->key_is_primary = strcmp(ix->name, "PRIMARY") == 0;
    ix->name = NULL;
    ix->cols = NULL;
}

static bool schema_index_ok(const schema_index *ix)
{
    return ix->name && ix->unique && ix->usable && ix->n > 0;
}

/* The index collected so far ends: keep it if it is the first usable one. */
static void schema_index_end(schema_table *t, schema_index *ix, size_t *nunique)
{
    if (ix->name) {
        (*nunique)++;
        if (!t->key_name && schema_index_ok(ix))
            schema_index_take(t, ix);
    }
    free(ix->name);
    free(ix->cols);
    memset(ix, 0, sizeof *ix);
}

/* Rows (UNIQUE indexes only) arrive PRIMARY first, then by index name and
 * position: the first usable index is the identifying key. */
static void schema_pick_key(schema_table *t, MYSQL_RES *res)
{
    schema_index cur = {0};
    size_t cap = 0, nunique = 0;
    MYSQL_ROW row;
    while ((row = mysql_fetch_row(res))) {
        if (!row[0])
            continue;
        if (!cur.name || strcmp(cur.name, row[0]) != 0) {
            schema_index_end(t, &cur, &nunique);
            cap = 0;
            cur = (schema_index){.name = xstrdup(row[0]), .usable = true,
                                 .unique = row[3] && strcmp(row[3], "0") == 0};
        }
        int idx = row[2] ? schema_column_index(t, row[2]) : -1;
        /* A functional index part (no column) cannot identify a row here. */
        if (idx < 0 || t->cols[idx].nullable) {
            cur.usable = false;
            continue;
        }
        if (cur.n == cap) {
            cap = cap ? cap * 2 : 4;
            cur.cols = xrealloc(cur.cols, cap * sizeof *cur.cols);
        }
        cur.cols[cur.n++] = (size_t)idx;
    }
    schema_index_end(t, &cur, &nunique);
    t->has_other_unique = nunique > (t->key_name ? 1u : 0u);
}

static int schema_load_key(MYSQL *m, schema_table *t, sbuf *err)
{
    sbuf q = SBUF_INIT;
    sbuf_adds(&q, "SELECT INDEX_NAME, SEQ_IN_INDEX, COLUMN_NAME, NON_UNIQUE "
                  "FROM information_schema.STATISTICS");
    schema_add_where(&q, "", t->schema, t->name);
    sbuf_adds(&q, " AND NON_UNIQUE = 0 ORDER BY INDEX_NAME <> 'PRIMARY', INDEX_NAME, SEQ_IN_INDEX");
    MYSQL_RES *res;
    int e = db_query(m, sbuf_cstr(&q), &res, err);
    sbuf_free(&q);
    if (e)
        return e;
    schema_pick_key(t, res);
    mysql_free_result(res);
    return 0;
}

int schema_table_load(MYSQL *m, const char *db, const char *table, schema_table **out, sbuf *err)
{
    *out = NULL;
    schema_table *t = xcalloc(1, sizeof *t);
    t->schema = xstrdup(db);
    t->name = xstrdup(table);
    int e = schema_load_table(m, t, err);
    if (!e)
        e = schema_load_columns(m, t, err);
    if (!e)
        e = schema_load_key(m, t, err);
    if (e) {
        schema_table_free(t);
        return e;
    }
    *out = t;
    return 0;
}

void schema_table_free(schema_table *t)
{
    if (!t)
        return;
    for (size_t i = 0; i < t->ncols; i++) {
        schema_column *c = &t->cols[i];
        free(c->name);
        free(c->data_type);
        free(c->column_type);
        free(c->charset);
        free(c->collation);
        for (size_t k = 0; k < c->nelements; k++)
            free(c->elements[k]);
        free(c->elements);
    }
    free(t->cols);
    free(t->key);
    free(t->key_name);
    free(t->engine);
    free(t->schema);
    free(t->name);
    free(t);
}

int schema_column_index(const schema_table *t, const char *name)
{
    for (size_t i = 0; i < t->ncols; i++)
        if (strcmp(t->cols[i].name, name) == 0)
            return (int)i;
    return -1;
}

/* The character a backslash escape in COLUMN_TYPE stands for. */
static char schema_unescape(char c)
{
    switch (c) {
    case '0': return '\0';
    case 'n': return '\n';
    case 'r': return '\r';
    case 't': return '\t';
    case 'b': return '\b';
    case 'Z': return '\032';
    default: return c; /* \\ \' \" and anything else stand for themselves */
    }
}

/* One 'quoted' value at *pp; leaves *pp after the closing quote. */
static int schema_parse_quoted(const char **pp, sbuf *v)
{
    const char *p = *pp;
    if (*p != '\'')
        return -1;
    for (p++;; p++) {
        if (*p == '\0')
            return -1;
        if (*p == '\'' && p[1] == '\'') {
            sbuf_addc(v, '\'');
            p++;
        } else if (*p == '\'') {
            *pp = p + 1;
            return 0;
        } else if (*p == '\\' && p[1]) {
            sbuf_addc(v, schema_unescape(*++p));
        } else {
            sbuf_addc(v, *p);
        }
    }
}

int schema_parse_elements(const char *column_type, char ***out, size_t *n)
{
    *out = NULL;
    *n = 0;
    const char *p = column_type;
    if (strncasecmp(p, "enum(", 5) == 0)
        p += 5;
    else if (strncasecmp(p, "set(", 4) == 0)
        p += 4;
    else
        return -1;
    char **vals = NULL;
    size_t nv = 0;
    sbuf v = SBUF_INIT;
    for (;;) {
        sbuf_reset(&v);
        if (schema_parse_quoted(&p, &v) != 0)
            break;
        vals = xrealloc(vals, (nv + 1) * sizeof *vals);
        vals[nv++] = xstrndup(sbuf_cstr(&v), v.len);
        if (*p == ',') {
            p++;
            continue;
        }
        if (*p == ')') {
            sbuf_free(&v);
            *out = vals;
            *n = nv;
            return 0;
        }
        break;
    }
    sbuf_free(&v);
    for (size_t i = 0; i < nv; i++)
        free(vals[i]);
    free(vals);
    return -1;
}
