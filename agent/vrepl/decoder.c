/* decoder: binlog TABLE_MAP and ROWS event bodies into typed column values.
 * See decoder.h for the contract.
 *
 * A TABLE_MAP body becomes a dec_table: the wire type and metadata of each
 * column, then the optional metadata blocks a server writes with
 * binlog_row_metadata=FULL (signedness, collations, names, ENUM/SET strings,
 * geometry types, primary key). From those we derive once per table a small
 * decode plan per column (dec_plan: an op code, a fixed width or the size of
 * a length prefix, fraction digits, binary CHAR padding), so the row loop is
 * a switch over precomputed ops instead of a re-reading of metadata.
 *
 * A ROWS body is decoded one image at a time into a scratch area reused for
 * the whole event: a values array plus one byte buffer for strings and for
 * the text DECIMAL and temporal values are rendered into. A finished image
 * is copied into a single allocation, values followed by bytes: one malloc
 * per row and none per value, and a row owns everything it points at, so it
 * outlives the event.
 *
 * Every read goes through a bounds-checked cursor, and counts read from the
 * input are checked against the bytes that remain before anything is
 * allocated, so hostile input costs at most a small multiple of its size.
 * Errors name the event, row, column, type and byte offset.
 *
 * The traps (field notes, "Row decoding"; each one was measured):
 * - CHAR, BINARY, ENUM and SET are all STRING on the wire, with the real type
 *   and the byte length folded into two metadata bytes. A binary CHAR loses
 *   its trailing 0x00 bytes, which we pad back to the declared length; the
 *   binary collation (63) is what marks it, so UUID and INET6 pad too.
 * - MariaDB counts YEAR as numeric in SIGNEDNESS and GEOMETRY as a character
 *   column in the charset lists; MySQL does neither (server_flavor).
 * - DEFAULT_CHARSET exceptions are indexed by character column, not column.
 * - Negative TIME2 with a fraction borrows one second from the integer part.
 * - TIME2, DATETIME2, TIMESTAMP2, DECIMAL and BIT are big-endian, everything
 *   else little-endian.
 * - MariaDB 5.3 "hires" TIME/DATETIME/TIMESTAMP columns with a fraction are
 *   logged under the old type codes with no metadata at all: their width
 *   comes from the schema (dec_table_fill), else they decode as the classic
 *   MySQL formats.
 * - UUID and INET6 arrive in their textual byte order (trailing zeros
 *   stripped like any binary CHAR); rendered as text they round-trip, but
 *   only with a charset introducer (see dec_value_render_sql).
 * - Event types 166-168 are MariaDB's compressed v1 events and 169-171 the
 *   compressed v2 ones; only the rows part after the column bitmaps is
 *   compressed (zlib, behind a one-byte header and a big-endian length). */
#include "vrepl/decoder.h"

#include <arpa/inet.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "db/db.h"

/* Optional metadata block types (MySQL's Table_map_event). */
enum {
    TM_SIGNEDNESS = 1,
    TM_DEFAULT_CHARSET = 2,
    TM_COLUMN_CHARSET = 3,
    TM_COLUMN_NAME = 4,
    TM_SET_STR_VALUE = 5,
    TM_ENUM_STR_VALUE = 6,
    TM_GEOMETRY_TYPE = 7,
    TM_SIMPLE_PRIMARY_KEY = 8,
    TM_PRIMARY_KEY_WITH_PREFIX = 9,
    TM_ENUM_AND_SET_DEFAULT_CHARSET = 10,
    TM_ENUM_AND_SET_COLUMN_CHARSET = 11,
    TM_COLUMN_VISIBILITY = 12,
};

#define DEC_BINARY_COLLATION 63
/* MySQL's JSON depth limit is 100; anything deeper is not from a server. */
#define DEC_JSON_MAX_DEPTH 100
/* JSON text is at most a few times its binary form; shared sub-documents
 * (offsets pointing at the same value) could otherwise blow up without end. */
#define DEC_JSON_EXPANSION 32
/* zlib cannot expand beyond about 1032:1, nor can an event exceed 1 GiB. */
#define DEC_ZLIB_MAX_RATIO 1032
#define DEC_ROWS_MAX (1u << 30)
/* Decoded rows may use this much plus DEC_ROWS_EXPANSION times the rows
 * bytes. Each row costs ncols values however few columns it carries, so a
 * wide table with tiny MINIMAL rows could otherwise turn kilobytes of input
 * into gigabytes; servers split events at 8 KB by default, far below this. */
#define DEC_ROWS_BUDGET (64u << 20)
#define DEC_ROWS_EXPANSION 32
/* render_text cuts values at this many bytes. */
#define DEC_TEXT_CUT 64

enum dec_op {
    DEC_OP_INT,
    DEC_OP_YEAR,
    DEC_OP_FLOAT,
    DEC_OP_DOUBLE,
    DEC_OP_DECIMAL,
    DEC_OP_BIT,
    DEC_OP_ENUM,
    DEC_OP_SET,
    DEC_OP_DATE,
    DEC_OP_TIME,
    DEC_OP_TIME_HIRES,
    DEC_OP_TIME2,
    DEC_OP_DATETIME,
    DEC_OP_DATETIME_HIRES,
    DEC_OP_DATETIME2,
    DEC_OP_TIMESTAMP,
    DEC_OP_TIMESTAMP_HIRES,
    DEC_OP_TIMESTAMP2,
    DEC_OP_STRING,     /* CHAR, BINARY, VARCHAR, VARBINARY */
    DEC_OP_BLOB,       /* TEXT, BLOB, GEOMETRY, MariaDB JSON */
    DEC_OP_JSON,       /* MySQL binary JSON */
};

struct dec_plan {
    uint8_t op;
    uint8_t width;  /* fixed size, or the size of the length prefix */
    uint8_t fsp;    /* fraction digits of temporal values */
    uint8_t kind;   /* dec_kind of a non-NULL value */
    uint8_t is_unsigned;
    uint8_t precision, scale;
    uint32_t max_len; /* STRING: longest valid value */
    uint32_t pad;     /* STRING: 0x00-pad short values to this length */
};

/* ---- bounds-checked reading ---------------------------------------------- */

typedef struct dec_rd {
    const uint8_t *p;
    size_t len;
    size_t pos;
} dec_rd;

static size_t rd_left(const dec_rd *r)
{
    return r->len - r->pos;
}

static uint64_t dec_le(const uint8_t *p, unsigned n)
{
    uint64_t v = 0;
    for (unsigned i = n; i-- > 0;)
        v = v << 8 | p[i];
    return v;
}

static uint64_t dec_be(const uint8_t *p, unsigned n)
{
    uint64_t v = 0;
    for (unsigned i = 0; i < n; i++)
        v = v << 8 | p[i];
    return v;
}

/* Length-encoded integer; false when truncated or not a valid prefix (0xfb
 * is the protocol's NULL and 0xff an error marker: neither occurs here). */
static bool rd_packed(dec_rd *r, uint64_t *v)
{
    if (rd_left(r) < 1)
        return false;
    uint8_t c = r->p[r->pos];
    unsigned n = c < 0xfb ? 0 : c == 0xfc ? 2 : c == 0xfd ? 3 : c == 0xfe ? 8 : 255;
    if (n == 255 || rd_left(r) < 1 + (size_t)n)
        return false;
    *v = n ? dec_le(r->p + r->pos + 1, n) : c;
    r->pos += 1 + n;
    return true;
}

/* ---- names and classes of column types ----------------------------------- */

const char *dec_type_name(uint8_t type)
{
    switch (type) {
    case MYSQL_TYPE_DECIMAL: return "DECIMAL(old)";
    case MYSQL_TYPE_TINY: return "TINYINT";
    case MYSQL_TYPE_SHORT: return "SMALLINT";
    case MYSQL_TYPE_LONG: return "INT";
    case MYSQL_TYPE_FLOAT: return "FLOAT";
    case MYSQL_TYPE_DOUBLE: return "DOUBLE";
    case MYSQL_TYPE_NULL: return "NULL";
    case MYSQL_TYPE_TIMESTAMP: return "TIMESTAMP";
    case MYSQL_TYPE_LONGLONG: return "BIGINT";
    case MYSQL_TYPE_INT24: return "MEDIUMINT";
    case MYSQL_TYPE_DATE: return "DATE";
    case MYSQL_TYPE_TIME: return "TIME";
    case MYSQL_TYPE_DATETIME: return "DATETIME";
    case MYSQL_TYPE_YEAR: return "YEAR";
    case MYSQL_TYPE_NEWDATE: return "DATE";
    case MYSQL_TYPE_VARCHAR: return "VARCHAR";
    case MYSQL_TYPE_BIT: return "BIT";
    case MYSQL_TYPE_TIMESTAMP2: return "TIMESTAMP2";
    case MYSQL_TYPE_DATETIME2: return "DATETIME2";
    case MYSQL_TYPE_TIME2: return "TIME2";
    case MYSQL_TYPE_JSON: return "JSON";
    case MYSQL_TYPE_NEWDECIMAL: return "DECIMAL";
    case MYSQL_TYPE_ENUM: return "ENUM";
    case MYSQL_TYPE_SET: return "SET";
    case MYSQL_TYPE_TINY_BLOB: return "TINYBLOB";
    case MYSQL_TYPE_MEDIUM_BLOB: return "MEDIUMBLOB";
    case MYSQL_TYPE_LONG_BLOB: return "LONGBLOB";
    case MYSQL_TYPE_BLOB: return "BLOB";
    case MYSQL_TYPE_VAR_STRING: return "VARCHAR";
    case MYSQL_TYPE_STRING: return "CHAR";
    case MYSQL_TYPE_GEOMETRY: return "GEOMETRY";
    default: return "unknown type";
    }
}

static bool dec_is_enumset(const dec_column *c)
{
    return c->real_type == MYSQL_TYPE_ENUM || c->real_type == MYSQL_TYPE_SET;
}

/* The columns SIGNEDNESS has a bit for. */
static bool dec_is_numeric(const dec_column *c, server_flavor f)
{
    switch (c->type) {
    case MYSQL_TYPE_TINY:
    case MYSQL_TYPE_SHORT:
    case MYSQL_TYPE_INT24:
    case MYSQL_TYPE_LONG:
    case MYSQL_TYPE_LONGLONG:
    case MYSQL_TYPE_NEWDECIMAL:
    case MYSQL_TYPE_FLOAT:
    case MYSQL_TYPE_DOUBLE:
        return true;
    case MYSQL_TYPE_YEAR:
        return f == FLAVOR_MARIADB;
    default:
        return false;
    }
}

/* The columns DEFAULT_CHARSET and COLUMN_CHARSET list. */
static bool dec_is_character(const dec_column *c, server_flavor f)
{
    if (dec_is_enumset(c))
        return false;
    switch (c->type) {
    case MYSQL_TYPE_STRING:
    case MYSQL_TYPE_VAR_STRING:
    case MYSQL_TYPE_VARCHAR:
    case MYSQL_TYPE_BLOB:
    case MYSQL_TYPE_TINY_BLOB:
    case MYSQL_TYPE_MEDIUM_BLOB:
    case MYSQL_TYPE_LONG_BLOB:
        return true;
    case MYSQL_TYPE_GEOMETRY:
        return f == FLAVOR_MARIADB;
    default:
        return false;
    }
}

static const char *dec_col_type_name(const dec_column *c)
{
    if (c->real_type == MYSQL_TYPE_STRING && c->charset == DEC_BINARY_COLLATION)
        return "BINARY";
    return dec_type_name(c->real_type);
}

/* ---- per-column plans ---------------------------------------------------- */

/* MariaDB 5.3 hires widths, indexed by fraction digits. */
static const uint8_t dec_time_hires_bytes[7] = {3, 4, 4, 5, 5, 5, 6};
static const uint8_t dec_datetime_hires_bytes[7] = {5, 6, 6, 7, 7, 7, 8};
/* Bytes of a TIME2/DATETIME2/TIMESTAMP2 fraction, by fraction digits. */
static const uint8_t dec_frac_bytes[7] = {0, 1, 1, 2, 2, 3, 3};
/* Bytes of a partial DECIMAL digit group, by digits. */
static const uint8_t dec_dig2bytes[10] = {0, 1, 1, 2, 2, 3, 3, 4, 4, 4};

static unsigned dec_decimal_size(unsigned precision, unsigned scale)
{
    unsigned intg = precision - scale;
    return intg / 9 * 4 + dec_dig2bytes[intg % 9] + scale / 9 * 4 + dec_dig2bytes[scale % 9];
}

static uint8_t dec_string_kind(const dec_column *c)
{
    if (c->type == MYSQL_TYPE_GEOMETRY || c->charset == DEC_BINARY_COLLATION)
        return DEC_BYTES;
    if (c->charset == 0 && c->type != MYSQL_TYPE_VARCHAR && c->type != MYSQL_TYPE_VAR_STRING &&
        c->type != MYSQL_TYPE_STRING)
        return DEC_BYTES; /* a BLOB or TEXT we know nothing about */
    return DEC_TEXT;
}

static void dec_plan_integer(const dec_column *c, struct dec_plan *p)
{
    static const uint8_t widths[] = {[MYSQL_TYPE_TINY] = 1, [MYSQL_TYPE_SHORT] = 2,
                                     [MYSQL_TYPE_INT24] = 3, [MYSQL_TYPE_LONG] = 4,
                                     [MYSQL_TYPE_LONGLONG] = 8};
    p->op = DEC_OP_INT;
    p->width = widths[c->type];
    p->is_unsigned = c->is_unsigned;
    p->kind = c->is_unsigned ? DEC_UINT : DEC_INT;
}

static void dec_plan_temporal(const dec_column *c, struct dec_plan *p)
{
    p->kind = DEC_TEMPORAL;
    p->fsp = (uint8_t)(c->meta <= 6 ? c->meta : 0);
    switch (c->type) {
    case MYSQL_TYPE_DATE:
    case MYSQL_TYPE_NEWDATE:
        p->op = DEC_OP_DATE, p->width = 3, p->fsp = 0;
        break;
    case MYSQL_TYPE_TIME:
        p->op = p->fsp ? DEC_OP_TIME_HIRES : DEC_OP_TIME;
        p->width = dec_time_hires_bytes[p->fsp];
        break;
    case MYSQL_TYPE_DATETIME:
        p->op = p->fsp ? DEC_OP_DATETIME_HIRES : DEC_OP_DATETIME;
        p->width = p->fsp ? dec_datetime_hires_bytes[p->fsp] : 8;
        break;
    case MYSQL_TYPE_TIMESTAMP:
        p->op = p->fsp ? DEC_OP_TIMESTAMP_HIRES : DEC_OP_TIMESTAMP;
        p->width = 4 + dec_frac_bytes[p->fsp];
        break;
    case MYSQL_TYPE_TIME2:
        p->op = DEC_OP_TIME2, p->width = 3 + dec_frac_bytes[p->fsp];
        break;
    case MYSQL_TYPE_DATETIME2:
        p->op = DEC_OP_DATETIME2, p->width = 5 + dec_frac_bytes[p->fsp];
        break;
    case MYSQL_TYPE_TIMESTAMP2:
        p->op = DEC_OP_TIMESTAMP2, p->width = 4 + dec_frac_bytes[p->fsp];
        break;
    }
}

static void dec_plan_string(const dec_column *c, struct dec_plan *p)
{
    p->kind = dec_string_kind(c);
    switch (c->type) {
    case MYSQL_TYPE_VARCHAR:
    case MYSQL_TYPE_VAR_STRING:
        p->op = DEC_OP_STRING;
        p->max_len = c->meta;
        p->width = c->meta > 255 ? 2 : 1;
        break;
    case MYSQL_TYPE_JSON:
        p->op = DEC_OP_JSON, p->width = (uint8_t)c->meta, p->kind = DEC_TEXT;
        break;
    case MYSQL_TYPE_BLOB:
    case MYSQL_TYPE_TINY_BLOB:
    case MYSQL_TYPE_MEDIUM_BLOB:
    case MYSQL_TYPE_LONG_BLOB:
    case MYSQL_TYPE_GEOMETRY:
        p->op = DEC_OP_BLOB, p->width = (uint8_t)c->meta;
        break;
    default: /* STRING: CHAR or BINARY */
        p->op = DEC_OP_STRING;
        p->max_len = c->max_len;
        p->width = c->max_len > 255 ? 2 : 1;
        p->pad = c->charset == DEC_BINARY_COLLATION ? c->max_len : 0;
        break;
    }
}

/* Metadata was validated by the table-map parser: this cannot fail. */
static void dec_plan_column(const dec_column *c, struct dec_plan *p)
{
    memset(p, 0, sizeof *p);
    switch (c->real_type) {
    case MYSQL_TYPE_TINY:
    case MYSQL_TYPE_SHORT:
    case MYSQL_TYPE_INT24:
    case MYSQL_TYPE_LONG:
    case MYSQL_TYPE_LONGLONG:
        dec_plan_integer(c, p);
        break;
    case MYSQL_TYPE_YEAR:
        p->op = DEC_OP_YEAR, p->width = 1, p->kind = DEC_INT;
        break;
    case MYSQL_TYPE_FLOAT:
        p->op = DEC_OP_FLOAT, p->width = 4, p->kind = DEC_FLOAT;
        break;
    case MYSQL_TYPE_DOUBLE:
        p->op = DEC_OP_DOUBLE, p->width = 8, p->kind = DEC_DOUBLE;
        break;
    case MYSQL_TYPE_NEWDECIMAL:
        p->op = DEC_OP_DECIMAL, p->kind = DEC_DECIMAL;
        p->precision = (uint8_t)(c->meta >> 8), p->scale = (uint8_t)c->meta;
        p->width = (uint8_t)dec_decimal_size(p->precision, p->scale);
        break;
    case MYSQL_TYPE_BIT:
        p->op = DEC_OP_BIT, p->kind = DEC_UINT;
        p->width = (uint8_t)((c->meta >> 8) + ((c->meta & 0xff) ? 1 : 0));
        break;
    case MYSQL_TYPE_ENUM:
    case MYSQL_TYPE_SET:
        p->op = c->real_type == MYSQL_TYPE_ENUM ? DEC_OP_ENUM : DEC_OP_SET;
        p->width = (uint8_t)(c->meta & 0xff), p->kind = DEC_UINT; /* the pack length */
        break;
    case MYSQL_TYPE_DATE:
    case MYSQL_TYPE_NEWDATE:
    case MYSQL_TYPE_TIME:
    case MYSQL_TYPE_DATETIME:
    case MYSQL_TYPE_TIMESTAMP:
    case MYSQL_TYPE_TIME2:
    case MYSQL_TYPE_DATETIME2:
    case MYSQL_TYPE_TIMESTAMP2:
        dec_plan_temporal(c, p);
        break;
    default:
        dec_plan_string(c, p);
        break;
    }
}

static void dec_plan_build(dec_table *t)
{
    free(t->plan);
    t->plan = xcalloc(t->ncols, sizeof *t->plan);
    for (uint32_t i = 0; i < t->ncols; i++)
        dec_plan_column(&t->cols[i], &t->plan[i]);
}

/* ---- TABLE_MAP: fixed part ----------------------------------------------- */

static int dec_tm_truncated(sbuf *err, const char *what, const dec_rd *r)
{
    sbuf_setf(err, "TABLE_MAP: truncated reading %s at offset %zu (%zu bytes left)", what, r->pos,
              rd_left(r));
    return -1;
}

/* Length byte, name, NUL terminator. */
static int dec_tm_name(dec_rd *r, const char *what, char **out, sbuf *err)
{
    if (rd_left(r) < 1)
        return dec_tm_truncated(err, what, r);
    size_t n = r->p[r->pos];
    if (rd_left(r) < n + 2)
        return dec_tm_truncated(err, what, r);
    if (r->p[r->pos + 1 + n] != 0) {
        sbuf_setf(err, "TABLE_MAP: %s at offset %zu is not NUL-terminated", what, r->pos);
        return -1;
    }
    *out = xstrndup((const char *)r->p + r->pos + 1, n);
    r->pos += n + 2;
    return 0;
}

static int dec_tm_header(dec_rd *r, dec_table *t, sbuf *err)
{
    if (rd_left(r) < 8)
        return dec_tm_truncated(err, "the table id", r);
    t->id = dec_le(r->p, 6);
    r->pos = 8; /* 2 bytes of flags, unused */
    if (dec_tm_name(r, "the schema name", &t->schema, err) ||
        dec_tm_name(r, "the table name", &t->name, err))
        return -1;
    uint64_t n;
    size_t at = r->pos;
    if (!rd_packed(r, &n))
        return dec_tm_truncated(err, "the column count", r);
    /* One type byte per column follows: that bounds the allocation. */
    if (n == 0 || n > rd_left(r)) {
        sbuf_setf(err, "TABLE_MAP `%s`.`%s`: column count %llu at offset %zu does not fit the "
                       "%zu bytes left", t->schema, t->name, (unsigned long long)n, at, rd_left(r));
        return -1;
    }
    t->ncols = (uint32_t)n;
    t->cols = xcalloc(t->ncols, sizeof *t->cols);
    for (uint32_t i = 0; i < t->ncols; i++) {
        t->cols[i].type = t->cols[i].real_type = r->p[r->pos + i];
    }
    r->pos += t->ncols;
    return 0;
}

static int dec_tm_bad_meta(sbuf *err, const dec_table *t, uint32_t i, const char *why)
{
    const dec_column *c = &t->cols[i];
    sbuf_setf(err, "TABLE_MAP `%s`.`%s`: column %u (%s, type %u): %s (metadata 0x%04x)", t->schema,
              t->name, i + 1, dec_type_name(c->real_type), c->type, why, c->meta);
    return -1;
}

/* CHAR/BINARY/ENUM/SET: the real type and the byte length share two bytes.
 * A length above 255 stores its two high bits, inverted, in bits 4-5 of the
 * type byte. */
static int dec_tm_meta_string(dec_table *t, uint32_t i, sbuf *err)
{
    dec_column *c = &t->cols[i];
    unsigned b0 = c->meta >> 8, b1 = c->meta & 0xff;
    if ((b0 & 0x30) != 0x30) {
        c->real_type = (uint8_t)(b0 | 0x30);
        c->max_len = b1 | (((b0 & 0x30) ^ 0x30) << 4);
    } else {
        c->real_type = (uint8_t)b0;
        c->max_len = b1;
    }
    switch (c->real_type) {
    case MYSQL_TYPE_ENUM:
        if (c->max_len != 1 && c->max_len != 2)
            return dec_tm_bad_meta(err, t, i, "ENUM width must be 1 or 2");
        c->max_len = 0; /* the width is a pack length, not a string length */
        return 0;
    case MYSQL_TYPE_SET:
        if (c->max_len < 1 || c->max_len > 8)
            return dec_tm_bad_meta(err, t, i, "SET width must be 1 to 8");
        c->max_len = 0;
        return 0;
    case MYSQL_TYPE_STRING:
        return 0;
    default:
        return dec_tm_bad_meta(err, t, i, "not a CHAR, ENUM or SET");
    }
}

/* Checks what each type's metadata means; the plan relies on it. */
static int dec_tm_meta_check(dec_table *t, uint32_t i, sbuf *err)
{
    dec_column *c = &t->cols[i];
    unsigned hi = c->meta >> 8, lo = c->meta & 0xff;
    switch (c->type) {
    case MYSQL_TYPE_STRING:
    case MYSQL_TYPE_ENUM:
    case MYSQL_TYPE_SET:
        return dec_tm_meta_string(t, i, err);
    case MYSQL_TYPE_NEWDECIMAL:
        if (hi < 1 || hi > 65 || lo > 30 || lo > hi)
            return dec_tm_bad_meta(err, t, i, "DECIMAL precision/scale out of range");
        return 0;
    case MYSQL_TYPE_BIT:
        if (lo > 7 || hi > 8 || hi + (lo ? 1 : 0) > 8 || hi + lo == 0)
            return dec_tm_bad_meta(err, t, i, "BIT length out of range");
        return 0;
    case MYSQL_TYPE_TIME2:
    case MYSQL_TYPE_DATETIME2:
    case MYSQL_TYPE_TIMESTAMP2:
        if (c->meta > 6)
            return dec_tm_bad_meta(err, t, i, "more than 6 fraction digits");
        return 0;
    case MYSQL_TYPE_BLOB:
    case MYSQL_TYPE_TINY_BLOB:
    case MYSQL_TYPE_MEDIUM_BLOB:
    case MYSQL_TYPE_LONG_BLOB:
    case MYSQL_TYPE_GEOMETRY:
    case MYSQL_TYPE_JSON:
        if (c->meta < 1 || c->meta > 4)
            return dec_tm_bad_meta(err, t, i, "length prefix must be 1 to 4 bytes");
        return 0;
    case MYSQL_TYPE_FLOAT:
    case MYSQL_TYPE_DOUBLE:
        if (c->meta != (c->type == MYSQL_TYPE_FLOAT ? 4 : 8))
            return dec_tm_bad_meta(err, t, i, "unexpected width");
        return 0;
    default:
        return 0;
    }
}

/* Bytes of per-column metadata, or -1 for a type we cannot decode. */
static int dec_meta_size(uint8_t type)
{
    switch (type) {
    case MYSQL_TYPE_TINY:
    case MYSQL_TYPE_SHORT:
    case MYSQL_TYPE_INT24:
    case MYSQL_TYPE_LONG:
    case MYSQL_TYPE_LONGLONG:
    case MYSQL_TYPE_YEAR:
    case MYSQL_TYPE_DATE:
    case MYSQL_TYPE_NEWDATE:
    case MYSQL_TYPE_TIME:
    case MYSQL_TYPE_DATETIME:
    case MYSQL_TYPE_TIMESTAMP:
        return 0;
    case MYSQL_TYPE_FLOAT:
    case MYSQL_TYPE_DOUBLE:
    case MYSQL_TYPE_BLOB:
    case MYSQL_TYPE_TINY_BLOB:
    case MYSQL_TYPE_MEDIUM_BLOB:
    case MYSQL_TYPE_LONG_BLOB:
    case MYSQL_TYPE_GEOMETRY:
    case MYSQL_TYPE_JSON:
    case MYSQL_TYPE_TIME2:
    case MYSQL_TYPE_DATETIME2:
    case MYSQL_TYPE_TIMESTAMP2:
        return 1;
    case MYSQL_TYPE_VARCHAR:
    case MYSQL_TYPE_VAR_STRING:
    case MYSQL_TYPE_STRING:
    case MYSQL_TYPE_ENUM:
    case MYSQL_TYPE_SET:
    case MYSQL_TYPE_NEWDECIMAL:
    case MYSQL_TYPE_BIT:
        return 2;
    default:
        return -1;
    }
}

/* Two-byte metadata is read the way the server's table_def reads it:
 * VARCHAR (the length) and BIT (bits, then bytes) little-endian; STRING,
 * ENUM, SET (type, then length) and DECIMAL (precision, then scale) with
 * the first byte high. */
static uint16_t dec_meta_value(uint8_t type, const uint8_t *m, int size)
{
    if (size == 0)
        return 0;
    if (size == 1)
        return m[0];
    switch (type) {
    case MYSQL_TYPE_VARCHAR:
    case MYSQL_TYPE_VAR_STRING:
    case MYSQL_TYPE_BIT:
        return (uint16_t)(m[0] | m[1] << 8);
    default:
        return (uint16_t)(m[0] << 8 | m[1]);
    }
}

static int dec_tm_meta(dec_rd *r, dec_table *t, sbuf *err)
{
    uint64_t n;
    if (!rd_packed(r, &n))
        return dec_tm_truncated(err, "the metadata length", r);
    if (n > rd_left(r))
        return dec_tm_truncated(err, "the metadata block", r);
    size_t at = r->pos, end = r->pos + (size_t)n;
    for (uint32_t i = 0; i < t->ncols; i++) {
        dec_column *c = &t->cols[i];
        int size = dec_meta_size(c->type);
        if (size < 0) {
            sbuf_setf(err, "TABLE_MAP `%s`.`%s`: column %u has type %u, which this decoder does "
                           "not know", t->schema, t->name, i + 1, c->type);
            return -1;
        }
        if ((size_t)size > end - r->pos) {
            sbuf_setf(err, "TABLE_MAP `%s`.`%s`: metadata block of %llu bytes at offset %zu ends "
                           "before column %u (%s)", t->schema, t->name, (unsigned long long)n, at,
                      i + 1, dec_type_name(c->type));
            return -1;
        }
        c->meta = dec_meta_value(c->type, r->p + r->pos, size);
        r->pos += (size_t)size;
        if (dec_tm_meta_check(t, i, err))
            return -1;
    }
    if (r->pos != end) {
        sbuf_setf(err, "TABLE_MAP `%s`.`%s`: metadata block at offset %zu has %llu bytes, the "
                       "columns use %zu", t->schema, t->name, at, (unsigned long long)n, r->pos - at);
        return -1;
    }
    return 0;
}

static int dec_tm_nulls(dec_rd *r, dec_table *t, sbuf *err)
{
    size_t n = (t->ncols + 7) / 8;
    if (rd_left(r) < n)
        return dec_tm_truncated(err, "the NULL bitmap", r);
    for (uint32_t i = 0; i < t->ncols; i++)
        t->cols[i].nullable = (r->p[r->pos + i / 8] >> (i % 8)) & 1;
    r->pos += n;
    return 0;
}

/* ---- TABLE_MAP: optional metadata ---------------------------------------- */

typedef struct dec_tlv {
    dec_table *t;
    server_flavor flavor;
    uint8_t type;
    size_t at; /* offset of the value in the event */
    dec_rd v;  /* the value only */
} dec_tlv;

static int dec_tlv_error(sbuf *err, const dec_tlv *b, const char *why)
{
    sbuf_setf(err, "TABLE_MAP `%s`.`%s`: optional metadata block %u at offset %zu: %s",
              b->t->schema, b->t->name, b->type, b->at, why);
    return -1;
}

static int dec_tlv_packed(dec_tlv *b, uint64_t *v, sbuf *err)
{
    if (!rd_packed(&b->v, v))
        return dec_tlv_error(err, b, "truncated");
    return 0;
}

static int dec_opt_signedness(dec_tlv *b, sbuf *err)
{
    dec_table *t = b->t;
    uint32_t k = 0;
    for (uint32_t i = 0; i < t->ncols; i++)
        k += dec_is_numeric(&t->cols[i], b->flavor);
    if (b->v.len != (k + 7) / 8)
        return dec_tlv_error(err, b, "SIGNEDNESS length does not match the numeric columns");
    k = 0;
    for (uint32_t i = 0; i < t->ncols; i++) {
        if (!dec_is_numeric(&t->cols[i], b->flavor))
            continue;
        t->cols[i].is_unsigned = (b->v.p[k / 8] >> (7 - k % 8)) & 1;
        k++;
    }
    t->have |= DEC_HAVE_SIGNEDNESS;
    return 0;
}

typedef bool (*dec_col_pred)(const dec_column *c, server_flavor f);

static bool dec_is_enumset_pred(const dec_column *c, server_flavor f)
{
    (void)f;
    return dec_is_enumset(c);
}

static int dec_collation(dec_tlv *b, uint32_t *out, sbuf *err)
{
    uint64_t v;
    if (dec_tlv_packed(b, &v, err))
        return -1;
    if (v == 0 || v > UINT32_MAX)
        return dec_tlv_error(err, b, "collation id out of range");
    *out = (uint32_t)v;
    return 0;
}

/* DEFAULT_CHARSET: the most used collation, then (index, collation) pairs
 * for the exceptions, the index counting only the columns pred selects. */
static int dec_opt_default_charset(dec_tlv *b, dec_col_pred pred, sbuf *err)
{
    dec_table *t = b->t;
    uint32_t def;
    if (dec_collation(b, &def, err))
        return -1;
    uint32_t k = 0;
    for (uint32_t i = 0; i < t->ncols; i++)
        if (pred(&t->cols[i], b->flavor))
            t->cols[i].charset = def, k++;
    while (rd_left(&b->v) > 0) {
        uint64_t idx;
        uint32_t coll;
        if (dec_tlv_packed(b, &idx, err) || dec_collation(b, &coll, err))
            return -1;
        if (idx >= k)
            return dec_tlv_error(err, b, "charset exception for a column that does not exist");
        for (uint32_t i = 0, j = 0; i < t->ncols; i++) {
            if (pred(&t->cols[i], b->flavor) && j++ == idx) {
                t->cols[i].charset = coll;
                break;
            }
        }
    }
    t->have |= DEC_HAVE_CHARSET;
    return 0;
}

static int dec_opt_column_charset(dec_tlv *b, dec_col_pred pred, sbuf *err)
{
    dec_table *t = b->t;
    for (uint32_t i = 0; i < t->ncols; i++) {
        if (!pred(&t->cols[i], b->flavor))
            continue;
        if (rd_left(&b->v) == 0)
            return dec_tlv_error(err, b, "fewer collations than columns");
        if (dec_collation(b, &t->cols[i].charset, err))
            return -1;
    }
    if (rd_left(&b->v) != 0)
        return dec_tlv_error(err, b, "more collations than columns");
    t->have |= DEC_HAVE_CHARSET;
    return 0;
}

/* A length-prefixed string inside a block. */
static int dec_tlv_string(dec_tlv *b, char **out, sbuf *err)
{
    uint64_t n;
    if (dec_tlv_packed(b, &n, err))
        return -1;
    if (n > rd_left(&b->v))
        return dec_tlv_error(err, b, "string longer than the block");
    *out = xstrndup((const char *)b->v.p + b->v.pos, (size_t)n);
    b->v.pos += (size_t)n;
    return 0;
}

static int dec_opt_names(dec_tlv *b, sbuf *err)
{
    dec_table *t = b->t;
    for (uint32_t i = 0; i < t->ncols; i++) {
        char *name;
        if (dec_tlv_string(b, &name, err))
            return -1;
        free(t->cols[i].name);
        t->cols[i].name = name;
    }
    if (rd_left(&b->v) != 0)
        return dec_tlv_error(err, b, "more names than columns");
    t->have |= DEC_HAVE_NAMES;
    return 0;
}

static void dec_elements_free(dec_column *c)
{
    for (uint32_t i = 0; i < c->nelements; i++)
        free(c->elements[i]);
    free(c->elements);
    c->elements = NULL;
    c->nelements = 0;
}

static int dec_opt_strvalues(dec_tlv *b, uint8_t real_type, sbuf *err)
{
    dec_table *t = b->t;
    for (uint32_t i = 0; i < t->ncols; i++) {
        dec_column *c = &t->cols[i];
        if (c->real_type != real_type)
            continue;
        uint64_t n;
        if (dec_tlv_packed(b, &n, err))
            return -1;
        /* Each value takes at least its length byte. */
        if (n > rd_left(&b->v))
            return dec_tlv_error(err, b, "value count larger than the block");
        dec_elements_free(c);
        c->elements = xcalloc((size_t)n, sizeof *c->elements);
        for (; c->nelements < n; c->nelements++)
            if (dec_tlv_string(b, &c->elements[c->nelements], err))
                return -1;
    }
    if (rd_left(&b->v) != 0)
        return dec_tlv_error(err, b, "more value lists than columns");
    t->have |= DEC_HAVE_ENUMSET;
    return 0;
}

static int dec_opt_geometry(dec_tlv *b, sbuf *err)
{
    dec_table *t = b->t;
    for (uint32_t i = 0; i < t->ncols; i++) {
        if (t->cols[i].type != MYSQL_TYPE_GEOMETRY)
            continue;
        uint64_t g;
        if (dec_tlv_packed(b, &g, err))
            return -1;
        if (g > 255)
            return dec_tlv_error(err, b, "geometry type out of range");
        t->cols[i].geom_type = (uint8_t)g;
    }
    if (rd_left(&b->v) != 0)
        return dec_tlv_error(err, b, "more geometry types than columns");
    t->have |= DEC_HAVE_GEOMETRY;
    return 0;
}

/* SIMPLE_PRIMARY_KEY lists column indexes; PRIMARY_KEY_WITH_PREFIX adds a
 * prefix length to each, which identifying a row does not need. */
static int dec_opt_key(dec_tlv *b, bool with_prefix, sbuf *err)
{
    dec_table *t = b->t;
    free(t->key);
    t->key = xcalloc(rd_left(&b->v) ? rd_left(&b->v) : 1, sizeof *t->key);
    t->nkey = 0;
    while (rd_left(&b->v) > 0) {
        uint64_t idx, prefix;
        if (dec_tlv_packed(b, &idx, err))
            return -1;
        if (with_prefix && dec_tlv_packed(b, &prefix, err))
            return -1;
        if (idx >= t->ncols)
            return dec_tlv_error(err, b, "key column index out of range");
        t->key[t->nkey++] = (uint32_t)idx;
    }
    if (t->nkey)
        t->have |= DEC_HAVE_KEY;
    return 0;
}

/* MySQL 8.0.23+: a bit per column, set when visible. Invisible columns are
 * still in every row image, so there is nothing to keep. */
static int dec_opt_visibility(dec_tlv *b, sbuf *err)
{
    if (b->v.len != (b->t->ncols + 7) / 8)
        return dec_tlv_error(err, b, "COLUMN_VISIBILITY length does not match the columns");
    return 0;
}

static int dec_opt_block(dec_tlv *b, sbuf *err)
{
    switch (b->type) {
    case TM_SIGNEDNESS: return dec_opt_signedness(b, err);
    case TM_DEFAULT_CHARSET: return dec_opt_default_charset(b, dec_is_character, err);
    case TM_COLUMN_CHARSET: return dec_opt_column_charset(b, dec_is_character, err);
    case TM_COLUMN_NAME: return dec_opt_names(b, err);
    case TM_SET_STR_VALUE: return dec_opt_strvalues(b, MYSQL_TYPE_SET, err);
    case TM_ENUM_STR_VALUE: return dec_opt_strvalues(b, MYSQL_TYPE_ENUM, err);
    case TM_GEOMETRY_TYPE: return dec_opt_geometry(b, err);
    case TM_SIMPLE_PRIMARY_KEY: return dec_opt_key(b, false, err);
    case TM_PRIMARY_KEY_WITH_PREFIX: return dec_opt_key(b, true, err);
    case TM_ENUM_AND_SET_DEFAULT_CHARSET:
        return dec_opt_default_charset(b, dec_is_enumset_pred, err);
    case TM_ENUM_AND_SET_COLUMN_CHARSET:
        return dec_opt_column_charset(b, dec_is_enumset_pred, err);
    case TM_COLUMN_VISIBILITY: return dec_opt_visibility(b, err);
    default: return 0; /* newer servers may add blocks: skip them */
    }
}

static int dec_tm_optional(dec_rd *r, dec_table *t, server_flavor flavor, sbuf *err)
{
    while (rd_left(r) > 0) {
        dec_tlv b = {.t = t, .flavor = flavor, .type = r->p[r->pos]};
        size_t at = r->pos++;
        uint64_t n;
        if (!rd_packed(r, &n) || n > rd_left(r)) {
            sbuf_setf(err, "TABLE_MAP `%s`.`%s`: optional metadata block %u at offset %zu is "
                           "truncated", t->schema, t->name, b.type, at);
            return -1;
        }
        b.at = r->pos;
        b.v = (dec_rd){r->p + r->pos, (size_t)n, 0};
        r->pos += (size_t)n;
        if (dec_opt_block(&b, err))
            return -1;
    }
    return 0;
}

static bool dec_has_mysql_only_type(const uint8_t *body, size_t len)
{
    if (len < 8)
        return false;
    dec_rd r = {body, len, 8};
    for (int k = 0; k < 2; k++) {
        if (rd_left(&r) < 1 || rd_left(&r) < (size_t)r.p[r.pos] + 2)
            return false;
        r.pos += (size_t)r.p[r.pos] + 2;
    }
    uint64_t n;
    if (!rd_packed(&r, &n) || n > rd_left(&r))
        return false;
    return memchr(r.p + r.pos, MYSQL_TYPE_JSON, (size_t)n) != NULL;
}

int dec_table_map_parse_flavor(const uint8_t *body, size_t len, server_flavor flavor, dec_table **out,
                               sbuf *err)
{
    *out = NULL;
    dec_table *t = xcalloc(1, sizeof *t);
    dec_rd r = {body, len, 0};
    if (dec_tm_header(&r, t, err) || dec_tm_meta(&r, t, err) || dec_tm_nulls(&r, t, err) ||
        dec_tm_optional(&r, t, flavor, err)) {
        dec_table_free(t);
        return -1;
    }
    dec_plan_build(t);
    *out = t;
    return 0;
}

int dec_table_map_parse(const uint8_t *body, size_t len, dec_table **out, sbuf *err)
{
    server_flavor f = dec_has_mysql_only_type(body, len) ? FLAVOR_MYSQL : FLAVOR_MARIADB;
    return dec_table_map_parse_flavor(body, len, f, out, err);
}

void dec_table_free(dec_table *t)
{
    if (!t)
        return;
    for (uint32_t i = 0; t->cols && i < t->ncols; i++) {
        free(t->cols[i].name);
        dec_elements_free(&t->cols[i]);
    }
    free(t->cols);
    free(t->key);
    free(t->plan);
    free(t->schema);
    free(t->name);
    free(t);
}

/* ---- filling the gaps from information_schema ----------------------------- */

static dec_hint dec_hint_of(const char *data_type)
{
    if (!data_type)
        return DEC_HINT_NONE;
    if (strcmp(data_type, "json") == 0)
        return DEC_HINT_JSON;
    if (strcmp(data_type, "uuid") == 0)
        return DEC_HINT_UUID;
    if (strcmp(data_type, "inet6") == 0)
        return DEC_HINT_INET6;
    if (strcmp(data_type, "inet4") == 0)
        return DEC_HINT_INET4;
    return DEC_HINT_NONE;
}

static uint8_t dec_geom_type_of(const char *data_type)
{
    static const char *const names[] = {"geometry", "point", "linestring", "polygon",
                                        "multipoint", "multilinestring", "multipolygon",
                                        "geometrycollection"};
    for (uint8_t i = 0; data_type && i < sizeof names / sizeof names[0]; i++)
        if (strcmp(data_type, names[i]) == 0)
            return i;
    return 0;
}

/* The fraction digits in a COLUMN_TYPE such as "time(6)" (MariaDB adds a
 * mariadb-5.3 comment after it for old-format columns): their width. */
static uint16_t dec_fsp_of(const char *column_type)
{
    const char *p = column_type ? strchr(column_type, '(') : NULL;
    if (!p || p[1] < '0' || p[1] > '6' || p[2] != ')')
        return 0;
    return (uint16_t)(p[1] - '0');
}

static void dec_fill_column(dec_table *t, dec_column *c, const schema_column *s)
{
    if (!c->name && s->name)
        c->name = xstrdup(s->name);
    if (!(t->have & DEC_HAVE_SIGNEDNESS) && dec_is_numeric(c, FLAVOR_MYSQL))
        c->is_unsigned = s->is_unsigned;
    if (c->charset == 0 && (dec_is_character(c, FLAVOR_MYSQL) || dec_is_enumset(c)))
        c->charset = s->collation_id;
    if (!c->elements && dec_is_enumset(c) && s->nelements) {
        c->elements = xcalloc(s->nelements, sizeof *c->elements);
        for (; c->nelements < s->nelements; c->nelements++)
            c->elements[c->nelements] = xstrdup(s->elements[c->nelements]);
    }
    if (c->type == MYSQL_TYPE_GEOMETRY && !(t->have & DEC_HAVE_GEOMETRY))
        c->geom_type = dec_geom_type_of(s->data_type);
    if (c->real_type == MYSQL_TYPE_STRING && c->max_len == 0 && s->octet_length <= UINT16_MAX)
        c->max_len = (uint32_t)s->octet_length;
    if (c->type == MYSQL_TYPE_TIME || c->type == MYSQL_TYPE_DATETIME ||
        c->type == MYSQL_TYPE_TIMESTAMP)
        c->meta = dec_fsp_of(s->column_type);
    c->hint = dec_hint_of(s->data_type);
}

int dec_table_fill(dec_table *t, const schema_table *s, sbuf *err)
{
    if (s->ncols != t->ncols) {
        sbuf_setf(err, "table `%s`.`%s`: the binlog table map has %u columns but "
                       "information_schema has %zu: the table changed after the event was written",
                  t->schema, t->name, t->ncols, s->ncols);
        return -1;
    }
    for (uint32_t i = 0; i < t->ncols; i++)
        dec_fill_column(t, &t->cols[i], &s->cols[i]);
    if (t->nkey == 0 && s->nkey > 0) {
        free(t->key);
        t->key = xcalloc(s->nkey, sizeof *t->key);
        for (size_t i = 0; i < s->nkey; i++)
            if (s->key[i] < t->ncols)
                t->key[t->nkey++] = (uint32_t)s->key[i];
    }
    dec_plan_build(t);
    return 0;
}

/* ---- text helpers ---------------------------------------------------------- */

/* Decimal digits of v, zero-padded to at least width; returns the end. */
static char *dec_put_uint(char *p, uint64_t v, unsigned width)
{
    char tmp[24];
    unsigned n = 0;
    do {
        tmp[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    while (n < width)
        tmp[n++] = '0';
    while (n)
        *p++ = tmp[--n];
    return p;
}

static const uint32_t dec_pow10[10] = {1,      10,      100,      1000,      10000,
                                       100000, 1000000, 10000000, 100000000, 1000000000};

/* ".ffffff" cut to fsp digits; nothing for fsp 0. */
static char *dec_put_frac(char *p, uint32_t usec, unsigned fsp)
{
    if (fsp == 0)
        return p;
    *p++ = '.';
    return dec_put_uint(p, usec / dec_pow10[6 - fsp], fsp);
}

static char *dec_put_date(char *p, unsigned y, unsigned m, unsigned d)
{
    p = dec_put_uint(p, y, 4);
    *p++ = '-';
    p = dec_put_uint(p, m, 2);
    *p++ = '-';
    return dec_put_uint(p, d, 2);
}

static char *dec_put_hms(char *p, uint64_t h, unsigned mi, unsigned s)
{
    p = dec_put_uint(p, h, 2);
    *p++ = ':';
    p = dec_put_uint(p, mi, 2);
    *p++ = ':';
    return dec_put_uint(p, s, 2);
}

/* Days since 1970-01-01 to a proleptic Gregorian date (H. Hinnant). */
static void dec_civil_from_days(int64_t z, unsigned *y, unsigned *m, unsigned *d)
{
    z += 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    unsigned doe = (unsigned)(z - era * 146097);
    unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    unsigned mp = (5 * doy + 2) / 153;
    *d = doy - (153 * mp + 2) / 5 + 1;
    *m = mp < 10 ? mp + 3 : mp - 9;
    *y = (unsigned)(yoe + era * 400 + (*m <= 2));
}

/* ---- value decoders ---------------------------------------------------------
 * Each reads one non-NULL value at r, fills v and appends any bytes to data.
 * They return NULL, or the reason for the error message. */

typedef struct dec_ctx {
    const dec_column *col;
    const struct dec_plan *plan;
    dec_rd *r;
    dec_value *v;
    sbuf *data;
} dec_ctx;

static void dec_set_text(dec_ctx *x, dec_kind kind, const char *s, size_t n)
{
    x->v->kind = kind;
    x->v->off = (uint32_t)x->data->len;
    x->v->len = (uint32_t)n;
    sbuf_add(x->data, s, n);
}

static const char *dec_read_int(dec_ctx *x, const uint8_t *p)
{
    unsigned w = x->plan->width;
    uint64_t u = dec_le(p, w);
    if (x->plan->is_unsigned) {
        x->v->kind = DEC_UINT;
        x->v->num.u = u;
    } else {
        unsigned shift = 64 - 8 * w;
        x->v->kind = DEC_INT;
        x->v->num.i = (int64_t)(u << shift) >> shift;
    }
    return NULL;
}

static const char *dec_read_real(dec_ctx *x, const uint8_t *p)
{
    if (x->plan->op == DEC_OP_FLOAT) {
        uint32_t bits = (uint32_t)dec_le(p, 4);
        float f;
        memcpy(&f, &bits, 4);
        x->v->kind = DEC_FLOAT;
        x->v->num.d = f;
    } else {
        uint64_t bits = dec_le(p, 8);
        memcpy(&x->v->num.d, &bits, 8);
        x->v->kind = DEC_DOUBLE;
    }
    if (!isfinite(x->v->num.d))
        return "not a finite number (servers never store NaN or infinity)";
    return NULL;
}

/* Binary DECIMAL: groups of 9 digits in 4 big-endian bytes, the leading and
 * trailing partial groups in fewer; the sign bit is flipped, and a negative
 * number has every byte inverted. Writes "-123.4500" into out. */
static const char *dec_decimal_text(const uint8_t *src, unsigned precision, unsigned scale,
                                    char *out, size_t *outlen)
{
    uint8_t b[40];
    unsigned size = dec_decimal_size(precision, scale);
    memcpy(b, src, size);
    bool neg = !(b[0] & 0x80);
    b[0] ^= 0x80;
    if (neg)
        for (unsigned i = 0; i < size; i++)
            b[i] ^= 0xff;
    unsigned intg = precision - scale;
    char digits[80];
    unsigned nd = 0, pos = 0;
    /* Digit groups in order: partial int, full int, full frac, partial frac. */
    unsigned groups[4][2] = {{intg % 9, 1}, {9, intg / 9}, {9, scale / 9}, {scale % 9, 1}};
    for (int g = 0; g < 4; g++) {
        unsigned ndig = groups[g][0];
        for (unsigned k = 0; ndig && k < groups[g][1]; k++) {
            unsigned nb = dec_dig2bytes[ndig];
            uint32_t v = (uint32_t)dec_be(b + pos, nb);
            pos += nb;
            if (v >= dec_pow10[ndig])
                return "DECIMAL digit group out of range";
            dec_put_uint(digits + nd, v, ndig);
            nd += ndig;
        }
    }
    unsigned lead = 0;
    while (lead < intg && digits[lead] == '0')
        lead++;
    bool zero = true;
    for (unsigned i = lead; i < nd; i++)
        zero = zero && digits[i] == '0';
    char *p = out;
    if (neg && !zero)
        *p++ = '-';
    if (lead == intg)
        *p++ = '0';
    memcpy(p, digits + lead, intg - lead);
    p += intg - lead;
    if (scale) {
        *p++ = '.';
        memcpy(p, digits + intg, scale);
        p += scale;
    }
    *outlen = (size_t)(p - out);
    return NULL;
}

static const char *dec_read_decimal(dec_ctx *x, const uint8_t *p)
{
    char buf[80];
    size_t n;
    const char *why = dec_decimal_text(p, x->plan->precision, x->plan->scale, buf, &n);
    if (!why)
        dec_set_text(x, DEC_DECIMAL, buf, n);
    return why;
}

static const char *dec_read_small(dec_ctx *x, const uint8_t *p)
{
    switch (x->plan->op) {
    case DEC_OP_YEAR:
        x->v->kind = DEC_INT;
        x->v->num.i = p[0] ? 1900 + p[0] : 0;
        return NULL;
    case DEC_OP_BIT:
        x->v->kind = DEC_UINT;
        x->v->num.u = dec_be(p, x->plan->width);
        return NULL;
    default: /* ENUM index, SET bitmap */
        x->v->kind = DEC_UINT;
        x->v->num.u = dec_le(p, x->plan->width);
        return NULL;
    }
}

static const char *dec_temporal_done(dec_ctx *x, const char *buf, const char *end)
{
    dec_set_text(x, DEC_TEMPORAL, buf, (size_t)(end - buf));
    return NULL;
}

/* Fraction of TIME2/DATETIME2/TIMESTAMP2 in microseconds (big-endian). */
static uint32_t dec_frac2(const uint8_t *p, unsigned fsp)
{
    switch (fsp) {
    case 1: case 2: return p[0] * 10000u;
    case 3: case 4: return (uint32_t)dec_be(p, 2) * 100u;
    case 5: case 6: return (uint32_t)dec_be(p, 3);
    default: return 0;
    }
}

static const char *dec_read_date(dec_ctx *x, const uint8_t *p)
{
    char buf[16];
    uint32_t v = (uint32_t)dec_le(p, 3);
    return dec_temporal_done(x, buf, dec_put_date(buf, v >> 9, (v >> 5) & 15, v & 31));
}

/* TIME2: 3 bytes of sign-offset hh:mm:ss (hour 10 bits, minute and second
 * 6 bits each), then the fraction. A negative value with a fraction is
 * stored as (integer part - 1, fraction - 2^bits): undo that borrow, as the
 * server's my_time_packed_from_binary does. */
static const char *dec_read_time2(dec_ctx *x, const uint8_t *p)
{
    unsigned fsp = x->plan->fsp;
    int64_t packed;
    if (fsp >= 5) {
        packed = (int64_t)dec_be(p, 6) - 0x800000000000LL;
    } else {
        int64_t intpart = (int64_t)dec_be(p, 3) - 0x800000;
        int64_t frac = 0, scale = 1;
        if (fsp >= 3)
            frac = (int64_t)dec_be(p + 3, 2), scale = 100;
        else if (fsp >= 1)
            frac = p[3], scale = 10000;
        int64_t range = fsp >= 3 ? 0x10000 : 0x100;
        if (intpart < 0 && frac) {
            intpart++;
            frac -= range;
        }
        packed = intpart * (1LL << 24) + frac * scale;
    }
    bool neg = packed < 0;
    uint64_t a = neg ? (uint64_t)-packed : (uint64_t)packed;
    uint64_t hms = a >> 24;
    uint32_t usec = (uint32_t)(a & 0xffffff);
    if (usec >= 1000000)
        return "TIME2 fraction out of range";
    char buf[40], *q = buf;
    if (neg)
        *q++ = '-';
    q = dec_put_hms(q, (hms >> 12) & 1023, (hms >> 6) & 63, hms & 63);
    return dec_temporal_done(x, buf, dec_put_frac(q, usec, fsp));
}

/* Old TIME: 3 bytes little-endian, signed, the digits HHMMSS. */
static const char *dec_read_time(dec_ctx *x, const uint8_t *p)
{
    int32_t v = (int32_t)(dec_le(p, 3) << 8) >> 8;
    uint32_t a = v < 0 ? (uint32_t)-v : (uint32_t)v;
    char buf[40], *q = buf;
    if (v < 0)
        *q++ = '-';
    q = dec_put_hms(q, a / 10000, a / 100 % 100, a % 100);
    return dec_temporal_done(x, buf, q);
}

/* MariaDB 5.3 TIME(n): big-endian count of 10^-n seconds, offset so that
 * -838:59:59 stays positive. */
static const char *dec_read_time_hires(dec_ctx *x, const uint8_t *p)
{
    unsigned fsp = x->plan->fsp;
    int64_t zero = (int64_t)3020400 * dec_pow10[fsp];
    int64_t v = (int64_t)dec_be(p, x->plan->width) - zero;
    bool neg = v < 0;
    uint64_t a = neg ? (uint64_t)-v : (uint64_t)v;
    uint64_t sec = a / dec_pow10[fsp];
    uint32_t usec = (uint32_t)(a % dec_pow10[fsp]) * dec_pow10[6 - fsp];
    char buf[48], *q = buf;
    if (neg)
        *q++ = '-';
    q = dec_put_hms(q, sec / 3600, sec / 60 % 60, sec % 60);
    return dec_temporal_done(x, buf, dec_put_frac(q, usec, fsp));
}

/* DATETIME2: 5 bytes big-endian minus 2^39: year*13+month (17 bits), day
 * (5), hour (5), minute (6), second (6); then the fraction. */
static const char *dec_read_datetime2(dec_ctx *x, const uint8_t *p)
{
    int64_t v = (int64_t)dec_be(p, 5) - 0x8000000000LL;
    if (v < 0)
        return "negative DATETIME2";
    uint32_t usec = dec_frac2(p + 5, x->plan->fsp);
    if (usec >= 1000000)
        return "DATETIME2 fraction out of range";
    uint64_t ymd = (uint64_t)v >> 17, hms = (uint64_t)v & 0x1ffff, ym = ymd >> 5;
    char buf[48], *q = dec_put_date(buf, (unsigned)(ym / 13), (unsigned)(ym % 13), ymd & 31);
    *q++ = ' ';
    q = dec_put_hms(q, hms >> 12, (hms >> 6) & 63, hms & 63);
    return dec_temporal_done(x, buf, dec_put_frac(q, usec, x->plan->fsp));
}

/* Old DATETIME: 8 bytes little-endian, the digits YYYYMMDDhhmmss. */
static const char *dec_read_datetime(dec_ctx *x, const uint8_t *p)
{
    uint64_t v = dec_le(p, 8);
    uint64_t d = v / 1000000, t = v % 1000000;
    if (d > 99991231)
        return "DATETIME out of range";
    char buf[48], *q = dec_put_date(buf, (unsigned)(d / 10000), d / 100 % 100, d % 100);
    *q++ = ' ';
    q = dec_put_hms(q, t / 10000, t / 100 % 100, t % 100);
    return dec_temporal_done(x, buf, q);
}

/* MariaDB 5.3 DATETIME(n): big-endian count of 10^-n seconds since year 0,
 * months of 32 days and years of 13 months. */
static const char *dec_read_datetime_hires(dec_ctx *x, const uint8_t *p)
{
    unsigned fsp = x->plan->fsp;
    uint64_t v = dec_be(p, x->plan->width);
    uint32_t usec = (uint32_t)(v % dec_pow10[fsp]) * dec_pow10[6 - fsp];
    uint64_t s = v / dec_pow10[fsp];
    unsigned sec = s % 60, min = s / 60 % 60, hour = s / 3600 % 24;
    uint64_t days = s / 86400;
    unsigned day = days % 32, month = days / 32 % 13;
    uint64_t year = days / 32 / 13;
    if (year > 9999)
        return "DATETIME out of range";
    char buf[48], *q = dec_put_date(buf, (unsigned)year, month, day);
    *q++ = ' ';
    q = dec_put_hms(q, hour, min, sec);
    return dec_temporal_done(x, buf, dec_put_frac(q, usec, fsp));
}

/* Seconds since the epoch, shown in UTC; zero is the zero date. The old
 * type is little-endian; TIMESTAMP2 and MariaDB 5.3 TIMESTAMP(n) are
 * big-endian and differ in the fraction: TIMESTAMP2 keeps two digits per
 * byte (TIMESTAMP2(1) stores hundredths), MariaDB 5.3 exactly fsp digits. */
static const char *dec_read_timestamp(dec_ctx *x, const uint8_t *p)
{
    unsigned fsp = x->plan->fsp;
    uint32_t sec, usec = 0;
    if (x->plan->op == DEC_OP_TIMESTAMP) {
        sec = (uint32_t)dec_le(p, 4);
    } else if (x->plan->op == DEC_OP_TIMESTAMP_HIRES) {
        sec = (uint32_t)dec_be(p, 4);
        usec = (uint32_t)dec_be(p + 4, dec_frac_bytes[fsp]) * dec_pow10[6 - fsp];
    } else {
        sec = (uint32_t)dec_be(p, 4);
        usec = dec_frac2(p + 4, fsp);
    }
    if (usec >= 1000000)
        return "TIMESTAMP fraction out of range";
    char buf[48], *q;
    if (sec == 0 && usec == 0) {
        q = dec_put_date(buf, 0, 0, 0);
        *q++ = ' ';
        q = dec_put_hms(q, 0, 0, 0);
    } else {
        unsigned y, m, d;
        dec_civil_from_days(sec / 86400, &y, &m, &d);
        q = dec_put_date(buf, y, m, d);
        *q++ = ' ';
        q = dec_put_hms(q, sec % 86400 / 3600, sec % 3600 / 60, sec % 60);
    }
    return dec_temporal_done(x, buf, dec_put_frac(q, usec, fsp));
}

static const char *dec_json_text(const uint8_t *p, size_t n, sbuf *out);

/* Length-prefixed values: VARCHAR, CHAR, BLOB, TEXT, GEOMETRY, JSON. */
static const char *dec_read_var(dec_ctx *x)
{
    const struct dec_plan *pl = x->plan;
    dec_rd *r = x->r;
    if (rd_left(r) < pl->width)
        return "length prefix truncated";
    uint64_t n = dec_le(r->p + r->pos, pl->width);
    if (n > rd_left(r) - pl->width)
        return "length exceeds the event";
    if (pl->op == DEC_OP_STRING && n > pl->max_len)
        return "longer than the column's declared length";
    const uint8_t *s = r->p + r->pos + pl->width;
    r->pos += pl->width + (size_t)n;
    x->v->kind = pl->kind;
    x->v->off = (uint32_t)x->data->len;
    if (pl->op == DEC_OP_JSON) {
        const char *why = dec_json_text(s, (size_t)n, x->data);
        x->v->len = (uint32_t)(x->data->len - x->v->off);
        return why;
    }
    sbuf_add(x->data, s, (size_t)n);
    if (pl->pad > n) {
        /* The server strips trailing 0x00 from binary CHAR: put them back. */
        sbuf_grow(x->data, pl->pad - n);
        memset(x->data->buf + x->data->len, 0, pl->pad - n);
        sbuf_setlen(x->data, x->data->len + pl->pad - n);
        n = pl->pad;
    }
    x->v->len = (uint32_t)n;
    return NULL;
}

static const char *dec_read_value(dec_ctx *x)
{
    const struct dec_plan *pl = x->plan;
    if (pl->op == DEC_OP_STRING || pl->op == DEC_OP_BLOB || pl->op == DEC_OP_JSON)
        return dec_read_var(x);
    if (rd_left(x->r) < pl->width)
        return "value truncated";
    const uint8_t *p = x->r->p + x->r->pos;
    x->r->pos += pl->width;
    switch (pl->op) {
    case DEC_OP_INT: return dec_read_int(x, p);
    case DEC_OP_FLOAT:
    case DEC_OP_DOUBLE: return dec_read_real(x, p);
    case DEC_OP_DECIMAL: return dec_read_decimal(x, p);
    case DEC_OP_YEAR:
    case DEC_OP_BIT:
    case DEC_OP_ENUM:
    case DEC_OP_SET: return dec_read_small(x, p);
    case DEC_OP_DATE: return dec_read_date(x, p);
    case DEC_OP_TIME: return dec_read_time(x, p);
    case DEC_OP_TIME_HIRES: return dec_read_time_hires(x, p);
    case DEC_OP_TIME2: return dec_read_time2(x, p);
    case DEC_OP_DATETIME: return dec_read_datetime(x, p);
    case DEC_OP_DATETIME_HIRES: return dec_read_datetime_hires(x, p);
    case DEC_OP_DATETIME2: return dec_read_datetime2(x, p);
    default: return dec_read_timestamp(x, p);
    }
}

/* ---- MySQL binary JSON ------------------------------------------------------
 * The format of MySQL's json_binary.cc: a type byte, then objects and arrays
 * as a count and a size, entry tables (key offset+length; value type +
 * offset, or the value itself when small enough), then keys and values.
 * Offsets count from the start of the enclosing object or array. We print
 * the text MySQL would print: `{"a": 1, "b": [true, null]}`. */

enum {
    JSONB_SMALL_OBJECT = 0x00,
    JSONB_LARGE_OBJECT = 0x01,
    JSONB_SMALL_ARRAY = 0x02,
    JSONB_LARGE_ARRAY = 0x03,
    JSONB_LITERAL = 0x04,
    JSONB_INT16 = 0x05,
    JSONB_UINT16 = 0x06,
    JSONB_INT32 = 0x07,
    JSONB_UINT32 = 0x08,
    JSONB_INT64 = 0x09,
    JSONB_UINT64 = 0x0a,
    JSONB_DOUBLE = 0x0b,
    JSONB_STRING = 0x0c,
    JSONB_OPAQUE = 0x0f,
};

typedef struct dec_json {
    sbuf *out;
    size_t limit; /* out->len may not pass this */
} dec_json;

static const char *dec_json_value(dec_json *j, uint8_t type, const uint8_t *p, size_t n,
                                  int depth);

/* Variable-length length: 7 bits per byte, low first, at most 5 bytes. */
static bool dec_json_varlen(const uint8_t *p, size_t n, uint64_t *len, size_t *used)
{
    uint64_t v = 0;
    for (size_t i = 0; i < 5 && i < n; i++) {
        v |= (uint64_t)(p[i] & 0x7f) << (7 * i);
        if (!(p[i] & 0x80)) {
            *len = v;
            *used = i + 1;
            return v <= UINT32_MAX;
        }
    }
    return false;
}

static void dec_json_quote(sbuf *out, const uint8_t *s, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    sbuf_grow(out, n + 2);
    sbuf_addc(out, '"');
    for (size_t i = 0; i < n; i++) {
        uint8_t c = s[i];
        const char *esc = c == '"' ? "\\\"" : c == '\\' ? "\\\\" : c == '\b' ? "\\b"
                        : c == '\f' ? "\\f" : c == '\n' ? "\\n" : c == '\r' ? "\\r"
                        : c == '\t' ? "\\t" : NULL;
        if (esc) {
            sbuf_adds(out, esc);
        } else if (c < 0x20) {
            char u[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
            sbuf_add(out, u, 6);
        } else {
            sbuf_addc(out, (char)c);
        }
    }
    sbuf_addc(out, '"');
}

/* Shortest text that reads back as the same double, in MySQL's style: an
 * exponent without '+' or leading zeros, ".0" on integral values so they
 * stay doubles. */
static void dec_json_double(sbuf *out, double d)
{
    char buf[40];
    for (int prec = 15; prec <= 17; prec++) {
        snprintf(buf, sizeof buf, "%.*g", prec, d);
        if (strtod(buf, NULL) == d)
            break;
    }
    char *e = strchr(buf, 'e');
    if (!e) {
        sbuf_adds(out, buf);
        if (!strchr(buf, '.'))
            sbuf_adds(out, ".0");
        return;
    }
    sbuf_add(out, buf, (size_t)(e - buf + 1));
    const char *x = e + 1;
    if (*x == '+' || *x == '-')
        x++;
    if (e[1] == '-')
        sbuf_addc(out, '-');
    while (*x == '0' && x[1])
        x++;
    sbuf_adds(out, x);
}

static void dec_json_base64(sbuf *out, const uint8_t *s, size_t n)
{
    static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    for (size_t i = 0; i < n; i += 3) {
        uint32_t v = (uint32_t)s[i] << 16 | (i + 1 < n ? (uint32_t)s[i + 1] << 8 : 0) |
                     (i + 2 < n ? s[i + 2] : 0);
        char q[4] = {b64[v >> 18], b64[(v >> 12) & 63], i + 1 < n ? b64[(v >> 6) & 63] : '=',
                     i + 2 < n ? b64[v & 63] : '='};
        sbuf_add(out, q, 4);
    }
}

/* DATE/TIME/DATETIME/TIMESTAMP inside JSON: MySQL's packed longlong,
 * (ymd << 17 | hms) << 24 | microseconds, negative for negative TIME. */
static const char *dec_json_temporal(sbuf *out, uint8_t field_type, const uint8_t *p, size_t n)
{
    if (n < 8)
        return "JSON temporal value truncated";
    uint64_t packed = dec_le(p, 8);
    bool neg = packed >> 63;
    uint64_t a = neg ? 0 - packed : packed; /* two's complement magnitude, no overflow */
    uint32_t usec = (uint32_t)(a & 0xffffff);
    uint64_t ymdhms = a >> 24, ymd = ymdhms >> 17, ym = ymd >> 5, hms = ymdhms & 0x1ffff;
    if (usec >= 1000000 || ym / 13 > 9999)
        return "JSON temporal value out of range";
    char buf[48], *q = buf;
    *q++ = '"';
    if (field_type == MYSQL_TYPE_TIME) {
        if (neg)
            *q++ = '-';
        hms = ymdhms & 0x3fffff;
        q = dec_put_hms(q, (hms >> 12) & 1023, (hms >> 6) & 63, hms & 63);
        q = dec_put_frac(q, usec, 6);
    } else {
        q = dec_put_date(q, (unsigned)(ym / 13), (unsigned)(ym % 13), ymd & 31);
        if (field_type != MYSQL_TYPE_DATE) {
            *q++ = ' ';
            q = dec_put_hms(q, hms >> 12, (hms >> 6) & 63, hms & 63);
            q = dec_put_frac(q, usec, 6);
        }
    }
    *q++ = '"';
    sbuf_add(out, buf, (size_t)(q - buf));
    return NULL;
}

static const char *dec_json_opaque(dec_json *j, const uint8_t *p, size_t n)
{
    uint64_t len;
    size_t used;
    if (n < 1 || !dec_json_varlen(p + 1, n - 1, &len, &used) || len > n - 1 - used)
        return "JSON opaque value truncated";
    uint8_t ft = p[0];
    const uint8_t *d = p + 1 + used;
    switch (ft) {
    case MYSQL_TYPE_NEWDECIMAL: {
        if (len < 2 || d[0] < 1 || d[0] > 65 || d[1] > 30 || d[1] > d[0] ||
            len - 2 < dec_decimal_size(d[0], d[1]))
            return "JSON DECIMAL malformed";
        char buf[80];
        size_t bn;
        const char *why = dec_decimal_text(d + 2, d[0], d[1], buf, &bn);
        if (!why)
            sbuf_add(j->out, buf, bn);
        return why;
    }
    case MYSQL_TYPE_DATE:
    case MYSQL_TYPE_TIME:
    case MYSQL_TYPE_DATETIME:
    case MYSQL_TYPE_TIMESTAMP:
        return dec_json_temporal(j->out, ft, d, (size_t)len);
    default:
        sbuf_addf(j->out, "\"base64:type%u:", ft);
        dec_json_base64(j->out, d, (size_t)len);
        sbuf_addc(j->out, '"');
        return NULL;
    }
}

static bool dec_json_inlined(uint8_t type, bool large)
{
    return type == JSONB_LITERAL || type == JSONB_INT16 || type == JSONB_UINT16 ||
           (large && (type == JSONB_INT32 || type == JSONB_UINT32));
}

static const char *dec_json_container(dec_json *j, uint8_t type, const uint8_t *p, size_t n,
                                      int depth)
{
    bool large = type == JSONB_LARGE_OBJECT || type == JSONB_LARGE_ARRAY;
    bool obj = type == JSONB_SMALL_OBJECT || type == JSONB_LARGE_OBJECT;
    unsigned os = large ? 4 : 2;
    if (n < 2 * os)
        return "JSON container header truncated";
    uint64_t count = dec_le(p, os), size = dec_le(p + os, os);
    if (size > n || size < 2 * os)
        return "JSON container size out of range";
    size_t ke = os + 2, ve = 1 + os;
    if (count > size || 2 * os + count * ((obj ? ke : 0) + ve) > size)
        return "JSON container entries exceed its size";
    const uint8_t *vt = p + 2 * os + (obj ? count * ke : 0);
    sbuf_addc(j->out, obj ? '{' : '[');
    for (uint64_t i = 0; i < count; i++) {
        if (i)
            sbuf_adds(j->out, ", ");
        if (obj) {
            const uint8_t *k = p + 2 * os + i * ke;
            uint64_t koff = dec_le(k, os), klen = dec_le(k + os, 2);
            if (koff > size || klen > size - koff)
                return "JSON key out of range";
            dec_json_quote(j->out, p + koff, (size_t)klen);
            sbuf_adds(j->out, ": ");
        }
        const uint8_t *e = vt + i * ve;
        const char *why;
        if (dec_json_inlined(e[0], large)) {
            why = dec_json_value(j, e[0], e + 1, os, depth + 1);
        } else {
            uint64_t voff = dec_le(e + 1, os);
            if (voff >= size)
                return "JSON value offset out of range";
            why = dec_json_value(j, e[0], p + voff, (size_t)(size - voff), depth + 1);
        }
        if (why)
            return why;
        if (j->out->len > j->limit)
            return "JSON text too large for its binary size (shared sub-documents?)";
    }
    sbuf_addc(j->out, obj ? '}' : ']');
    return NULL;
}

static const char *dec_json_number(dec_json *j, uint8_t type, const uint8_t *p, size_t n)
{
    static const uint8_t width[] = {[JSONB_INT16] = 2, [JSONB_UINT16] = 2, [JSONB_INT32] = 4,
                                    [JSONB_UINT32] = 4, [JSONB_INT64] = 8, [JSONB_UINT64] = 8,
                                    [JSONB_DOUBLE] = 8};
    unsigned w = width[type];
    if (n < w)
        return "JSON number truncated";
    uint64_t u = dec_le(p, w);
    unsigned shift = 64 - 8 * w;
    switch (type) {
    case JSONB_UINT16:
    case JSONB_UINT32:
    case JSONB_UINT64:
        sbuf_addf(j->out, "%llu", (unsigned long long)u);
        return NULL;
    case JSONB_DOUBLE: {
        double d;
        memcpy(&d, &u, 8);
        if (!isfinite(d))
            return "JSON double is not finite";
        dec_json_double(j->out, d);
        return NULL;
    }
    default:
        sbuf_addf(j->out, "%lld", (long long)((int64_t)(u << shift) >> shift));
        return NULL;
    }
}

static const char *dec_json_value(dec_json *j, uint8_t type, const uint8_t *p, size_t n,
                                  int depth)
{
    if (depth > DEC_JSON_MAX_DEPTH)
        return "JSON nested too deeply";
    switch (type) {
    case JSONB_SMALL_OBJECT:
    case JSONB_LARGE_OBJECT:
    case JSONB_SMALL_ARRAY:
    case JSONB_LARGE_ARRAY:
        return dec_json_container(j, type, p, n, depth);
    case JSONB_LITERAL:
        if (n < 1 || p[0] > 2)
            return "JSON literal malformed";
        sbuf_adds(j->out, p[0] == 0 ? "null" : p[0] == 1 ? "true" : "false");
        return NULL;
    case JSONB_INT16:
    case JSONB_UINT16:
    case JSONB_INT32:
    case JSONB_UINT32:
    case JSONB_INT64:
    case JSONB_UINT64:
    case JSONB_DOUBLE:
        return dec_json_number(j, type, p, n);
    case JSONB_STRING: {
        uint64_t len;
        size_t used;
        if (!dec_json_varlen(p, n, &len, &used) || len > n - used)
            return "JSON string truncated";
        dec_json_quote(j->out, p + used, (size_t)len);
        return NULL;
    }
    case JSONB_OPAQUE:
        return dec_json_opaque(j, p, n);
    default:
        return "JSON value of unknown type";
    }
}

/* A MySQL JSON column value as JSON text; empty means JSON null. */
static const char *dec_json_text(const uint8_t *p, size_t n, sbuf *out)
{
    if (n == 0) {
        sbuf_adds(out, "null");
        return NULL;
    }
    dec_json j = {out, out->len + n * DEC_JSON_EXPANSION + 64};
    return dec_json_value(&j, p[0], p + 1, n - 1, 0);
}

/* ---- ROWS events --------------------------------------------------------- */

bool dec_is_rows_event(uint8_t type)
{
    return (type >= BINLOG_WRITE_ROWS_V1 && type <= BINLOG_DELETE_ROWS_V1) ||
           (type >= BINLOG_WRITE_ROWS_V2 && type <= BINLOG_DELETE_ROWS_V2) ||
           (type >= 166 && type <= 171);
}

typedef struct dec_rows_fmt {
    dec_rows_kind kind;
    bool v2;
    bool compressed;
    const char *name;
} dec_rows_fmt;

/* 166-168 are MariaDB's compressed forms of the v1 events, 169-171 of v2
 * (decoder.h names them the other way round; the numbers are what count). */
static bool dec_rows_format(uint8_t type, dec_rows_fmt *f)
{
    static const char *const names[] = {"WRITE_ROWS", "UPDATE_ROWS", "DELETE_ROWS"};
    unsigned k;
    memset(f, 0, sizeof *f);
    if (type >= 23 && type <= 25)
        k = type - 23u;
    else if (type >= 30 && type <= 32)
        k = type - 30u, f->v2 = true;
    else if (type >= 166 && type <= 168)
        k = type - 166u, f->compressed = true;
    else if (type >= 169 && type <= 171)
        k = type - 169u, f->v2 = f->compressed = true;
    else
        return false;
    f->kind = k == 0 ? DEC_ROWS_INSERT : k == 1 ? DEC_ROWS_UPDATE : DEC_ROWS_DELETE;
    f->name = names[k];
    return true;
}

int dec_rows_table_id(uint8_t type, const uint8_t *body, size_t len, uint64_t *id, sbuf *err)
{
    if (!dec_is_rows_event(type)) {
        sbuf_setf(err, "event type %u is not a ROWS event", type);
        return -1;
    }
    if (len < 8) {
        sbuf_setf(err, "ROWS event of %zu bytes is too short for its header", len);
        return -1;
    }
    *id = dec_le(body, 6);
    return 0;
}

/* What one dec_rows_parse call shares across its rows. */
typedef struct dec_parse {
    const dec_table *t;
    const dec_rows_fmt *fmt;
    dec_rd r;           /* the rows part */
    const char *where;  /* how offsets in r are counted */
    size_t rows_at;     /* offset of the rows part in the event body */
    dec_value *vals;    /* scratch image */
    sbuf data;          /* scratch bytes */
    size_t cap;         /* rows allocated in out */
    size_t used;        /* bytes of decoded rows so far */
} dec_parse;

static int dec_value_error(dec_parse *ps, size_t row, const char *image, uint32_t col,
                           size_t at, const char *why, sbuf *err)
{
    const dec_column *c = &ps->t->cols[col];
    sbuf_setf(err, "%s `%s`.`%s` row %zu (%s image) column %u `%s` (%s): %s at offset %zu%s "
                   "(%zu bytes left)",
              ps->fmt->name, ps->t->schema, ps->t->name, row + 1, image, col + 1,
              c->name ? c->name : "?", dec_col_type_name(c), why, ps->rows_at + at, ps->where,
              ps->r.len - at);
    return -1;
}

/* Decode one image: a NULL bitmap over the present columns, then the
 * values of the present non-NULL columns. */
static int dec_image(dec_parse *ps, const uint8_t *present, uint32_t npresent, size_t rowno,
                     const char *image, dec_row *out, sbuf *err)
{
    const dec_table *t = ps->t;
    dec_rd *r = &ps->r;
    size_t nb = (npresent + 7) / 8;
    if (rd_left(r) < nb) {
        sbuf_setf(err, "%s `%s`.`%s` row %zu (%s image): NULL bitmap truncated at offset %zu%s",
                  ps->fmt->name, t->schema, t->name, rowno + 1, image, ps->rows_at + r->pos,
                  ps->where);
        return -1;
    }
    const uint8_t *nulls = r->p + r->pos;
    r->pos += nb;
    sbuf_reset(&ps->data);
    for (uint32_t i = 0, k = 0; i < t->ncols; i++) {
        dec_value *v = &ps->vals[i];
        memset(v, 0, sizeof *v);
        if (!((present[i / 8] >> (i % 8)) & 1)) {
            v->kind = DEC_ABSENT;
            continue;
        }
        bool null = (nulls[k / 8] >> (k % 8)) & 1;
        k++;
        if (null) {
            v->kind = DEC_NULL;
            continue;
        }
        size_t at = r->pos;
        dec_ctx x = {&t->cols[i], &t->plan[i], r, v, &ps->data};
        const char *why = dec_read_value(&x);
        if (why)
            return dec_value_error(ps, rowno, image, i, at, why, err);
    }
    size_t vsize = t->ncols * sizeof(dec_value);
    ps->used += vsize + ps->data.len;
    if (ps->data.len > UINT32_MAX ||
        ps->used > DEC_ROWS_BUDGET + DEC_ROWS_EXPANSION * (uint64_t)ps->r.len) {
        sbuf_setf(err, "%s `%s`.`%s` row %zu: decoded rows would take %zu bytes for %zu bytes "
                       "of rows (%u columns per row)",
                  ps->fmt->name, t->schema, t->name, rowno + 1, ps->used, ps->r.len, t->ncols);
        return -1;
    }
    out->ncols = t->ncols;
    out->vals = xmalloc(vsize + ps->data.len);
    out->data = (char *)out->vals + vsize;
    memcpy(out->vals, ps->vals, vsize);
    if (ps->data.len)
        memcpy(out->data, ps->data.buf, ps->data.len);
    return 0;
}

static uint32_t dec_popcount(const uint8_t *bits, uint32_t n)
{
    uint32_t k = 0;
    for (uint32_t i = 0; i < n; i++)
        k += (bits[i / 8] >> (i % 8)) & 1;
    return k;
}

static void dec_rows_grow(dec_parse *ps, dec_rows *out)
{
    if (out->nrows < ps->cap)
        return;
    ps->cap = ps->cap ? ps->cap * 2 : 8;
    if (ps->fmt->kind != DEC_ROWS_INSERT) {
        out->before = xrealloc(out->before, ps->cap * sizeof *out->before);
        memset(out->before + out->nrows, 0, (ps->cap - out->nrows) * sizeof *out->before);
    }
    if (ps->fmt->kind != DEC_ROWS_DELETE) {
        out->after = xrealloc(out->after, ps->cap * sizeof *out->after);
        memset(out->after + out->nrows, 0, (ps->cap - out->nrows) * sizeof *out->after);
    }
}

static int dec_rows_loop(dec_parse *ps, const uint8_t *cols, const uint8_t *cols_ai,
                         dec_rows *out, sbuf *err)
{
    uint32_t n = ps->t->ncols;
    uint32_t nb = dec_popcount(cols, n), na = cols_ai ? dec_popcount(cols_ai, n) : 0;
    if (nb == 0 && na == 0) {
        if (ps->r.len == 0)
            return 0;
        sbuf_setf(err, "%s `%s`.`%s`: no column is present, yet the event has %zu bytes of rows",
                  ps->fmt->name, ps->t->schema, ps->t->name, ps->r.len);
        return -1;
    }
    ps->vals = xmalloc(n * sizeof *ps->vals);
    while (rd_left(&ps->r) > 0) {
        dec_rows_grow(ps, out);
        size_t row = out->nrows;
        switch (ps->fmt->kind) {
        case DEC_ROWS_INSERT:
            if (dec_image(ps, cols, nb, row, "after", &out->after[row], err))
                return -1;
            break;
        case DEC_ROWS_DELETE:
            if (dec_image(ps, cols, nb, row, "before", &out->before[row], err))
                return -1;
            break;
        case DEC_ROWS_UPDATE:
            if (dec_image(ps, cols, nb, row, "before", &out->before[row], err)) 
                return -1;
            if (dec_image(ps, cols_ai, na, row, "after", &out->after[row], err)) {
                dec_row_free(&out->before[row]);
                return -1;
            }
            break;
        }
        out->nrows++;
    }
    return 0;
}

/* MariaDB compressed rows: a header byte 0x80 | n (n = bytes of the
 * big-endian uncompressed length that follow, 1-4; bits 4-6 = algorithm,
 * 0 = zlib), the length, then a zlib stream. */
static int dec_rows_inflate(const dec_rows_fmt *f, const uint8_t *p, size_t n, size_t at,
                            uint8_t **out, size_t *outlen, sbuf *err)
{
    if (n < 1 || (p[0] & 0xf0) != 0x80 || (p[0] & 7) < 1 || (p[0] & 7) > 4) {
        sbuf_setf(err, "%s (compressed): bad compression header 0x%02x at offset %zu", f->name,
                  n ? p[0] : 0, at);
        return -1;
    }
    unsigned ll = p[0] & 7;
    if (n < 1 + ll) {
        sbuf_setf(err, "%s (compressed): length truncated at offset %zu", f->name, at);
        return -1;
    }
    uint64_t ulen = dec_be(p + 1, ll);
    size_t clen = n - 1 - ll;
    if (ulen > DEC_ROWS_MAX || ulen > (uint64_t)clen * DEC_ZLIB_MAX_RATIO + 64) {
        sbuf_setf(err, "%s (compressed): uncompressed length %llu is impossible for %zu "
                       "compressed bytes", f->name, (unsigned long long)ulen, clen);
        return -1;
    }
    uLongf got = (uLongf)ulen;
    *out = xmalloc(ulen ? (size_t)ulen : 1);
    int zr = uncompress(*out, &got, p + 1 + ll, (uLong)clen);
    if (zr != Z_OK || got != ulen) {
        sbuf_setf(err, "%s (compressed): zlib error %d at offset %zu (%lu of %llu bytes)", f->name,
                  zr, at + 1 + ll, (unsigned long)got, (unsigned long long)ulen);
        free(*out);
        *out = NULL;
        return -1;
    }
    *outlen = (size_t)ulen;
    return 0;
}

/* Post-header (table id, flags, v2 extra data), width, column bitmaps. */
static int dec_rows_header(const dec_table *t, const dec_rows_fmt *f, dec_rd *r, dec_rows *out,
                           const uint8_t **cols, const uint8_t **cols_ai, sbuf *err)
{
    if (rd_left(r) < 8)
        goto truncated;
    out->table_id = dec_le(r->p, 6);
    out->flags = (uint16_t)dec_le(r->p + 6, 2);
    r->pos = 8;
    if (f->v2) {
        if (rd_left(r) < 2)
            goto truncated;
        size_t extra = (size_t)dec_le(r->p + r->pos, 2);
        if (extra < 2 || extra > rd_left(r)) {
            sbuf_setf(err, "%s: extra data length %zu at offset %zu out of range", f->name, extra,
                      r->pos);
            return -1;
        }
        r->pos += extra;
    }
    if (out->table_id != t->id) {
        sbuf_setf(err, "%s: table id %llu, but the table map is for id %llu (`%s`.`%s`)", f->name,
                  (unsigned long long)out->table_id, (unsigned long long)t->id, t->schema, t->name);
        return -1;
    }
    uint64_t width;
    size_t at = r->pos;
    if (!rd_packed(r, &width))
        goto truncated;
    if (width != t->ncols) {
        sbuf_setf(err, "%s `%s`.`%s`: %llu columns at offset %zu, the table map has %u", f->name,
                  t->schema, t->name, (unsigned long long)width, at, t->ncols);
        return -1;
    }
    size_t nb = (t->ncols + 7) / 8;
    if (rd_left(r) < nb * (f->kind == DEC_ROWS_UPDATE ? 2 : 1))
        goto truncated;
    *cols = r->p + r->pos;
    r->pos += nb;
    if (f->kind == DEC_ROWS_UPDATE) {
        *cols_ai = r->p + r->pos;
        r->pos += nb;
    }
    return 0;
truncated:
    sbuf_setf(err, "%s: header truncated at offset %zu (%zu bytes)", f->name, r->pos, r->len);
    return -1;
}

int dec_rows_parse(const dec_table *t, uint8_t type, const uint8_t *body, size_t len, dec_rows *out,
                   sbuf *err)
{
    memset(out, 0, sizeof *out);
    dec_rows_fmt f;
    if (!dec_rows_format(type, &f)) {
        sbuf_setf(err, type == BINLOG_PARTIAL_UPDATE_ROWS
                           ? "event type %u (PARTIAL_UPDATE_ROWS, binlog_row_value_options="
                             "PARTIAL_JSON) is not supported"
                           : "event type %u is not a ROWS event",
                  type);
        return -1;
    }
    out->kind = f.kind;
    dec_rd r = {body, len, 0};
    const uint8_t *cols = NULL, *cols_ai = NULL;
    if (dec_rows_header(t, &f, &r, out, &cols, &cols_ai, err))
        return -1;
    dec_parse ps = {.t = t, .fmt = &f, .where = "", .rows_at = r.pos};
    uint8_t *inflated = NULL;
    size_t ilen = 0;
    if (f.compressed) {
        if (dec_rows_inflate(&f, body + r.pos, len - r.pos, r.pos, &inflated, &ilen, err))
            return -1;
        ps.r = (dec_rd){inflated, ilen, 0};
        ps.rows_at = 0;
        ps.where = " of the uncompressed rows";
    } else {
        ps.r = (dec_rd){body + r.pos, len - r.pos, 0};
    }
    int rc = dec_rows_loop(&ps, cols, cols_ai, out, err);
    free(ps.vals);
    sbuf_free(&ps.data);
    free(inflated);
    if (rc) {
        dec_rows_free(out);
        return -1;
    }
    return 0;
}

void dec_row_free(dec_row *r)
{
    if (!r)
        return;
    free(r->vals); /* data lives in the same block */
    r->vals = NULL;
    r->data = NULL;
    r->ncols = 0;
}

void dec_rows_free(dec_rows *r)
{
    if (!r)
        return;
    for (size_t i = 0; i < r->nrows; i++) {
        if (r->before)
            dec_row_free(&r->before[i]);
        if (r->after)
            dec_row_free(&r->after[i]);
    }
    free(r->before);
    free(r->after);
    r->before = r->after = NULL;
    r->nrows = 0;
}

/* ---- rendering ------------------------------------------------------------- */

static void dec_add_uuid(sbuf *out, const uint8_t *b)
{
    static const char hex[] = "0123456789abcdef";
    char s[36], *q = s;
    for (int i = 0; i < 16; i++) {
        if (i == 4 || i == 6 || i == 8 || i == 10)
            *q++ = '-';
        *q++ = hex[b[i] >> 4];
        *q++ = hex[b[i] & 15];
    }
    sbuf_add(out, s, sizeof s);
}

/* UUID/INET6/INET4 as the text a server parses back to the same bytes;
 * false when the value does not have the type's size. */
static bool dec_add_hinted(sbuf *out, dec_hint hint, const uint8_t *b, size_t n)
{
    char s[INET6_ADDRSTRLEN];
    if (hint == DEC_HINT_UUID && n == 16) {
        dec_add_uuid(out, b);
        return true;
    }
    if ((hint == DEC_HINT_INET6 && n == 16) || (hint == DEC_HINT_INET4 && n == 4)) {
        if (!inet_ntop(n == 16 ? AF_INET6 : AF_INET, b, s, sizeof s))
            return false;
        sbuf_adds(out, s);
        return true;
    }
    return false;
}

/* Integers are most of what an applier renders: no printf for them. */
static void dec_add_number(sbuf *out, const dec_value *v)
{
    char buf[24], *p = buf;
    switch (v->kind) {
    case DEC_INT:
        if (v->num.i < 0)
            *p++ = '-';
        p = dec_put_uint(p, v->num.i < 0 ? 0 - (uint64_t)v->num.i : (uint64_t)v->num.i, 1);
        sbuf_add(out, buf, (size_t)(p - buf));
        break;
    case DEC_UINT:
        p = dec_put_uint(p, v->num.u, 1);
        sbuf_add(out, buf, (size_t)(p - buf));
        break;
    case DEC_FLOAT: sbuf_addf(out, "%.9g", v->num.d); break;
    default: sbuf_addf(out, "%.17g", v->num.d); break;
    }
}

int dec_value_render_sql(const dec_table *t, const dec_row *r, uint32_t col, sbuf *out)
{
    if (col >= r->ncols)
        return -1;
    const dec_value *v = &r->vals[col];
    const char *b = dec_value_bytes(r, v);
    switch (v->kind) {
    case DEC_ABSENT:
        return -1;
    case DEC_NULL:
        sbuf_adds(out, "NULL");
        return 0;
    case DEC_INT:
    case DEC_UINT:
    case DEC_FLOAT:
    case DEC_DOUBLE:
        dec_add_number(out, v);
        return 0;
    case DEC_BYTES:
        /* UUID/INET text needs an introducer: under SET NAMES binary a bare
         * '...' is a binary string, which these types take as their 16 (or
         * 4) byte native form, and the text fails (NULL when not strict). */
        if (col < t->ncols && t->cols[col].hint != DEC_HINT_NONE) {
            size_t mark = out->len;
            sbuf_adds(out, "_utf8mb4'");
            if (dec_add_hinted(out, t->cols[col].hint, (const uint8_t *)b, v->len)) {
                sbuf_addc(out, '\'');
                return 0;
            }
            sbuf_setlen(out, mark);
        }
        db_add_string(out, b, v->len);
        return 0;
    default: /* DECIMAL, TEMPORAL, TEXT */
        db_add_string(out, b, v->len);
        return 0;
    }
}

/* 'text' with quotes and non-printable bytes escaped, cut to DEC_TEXT_CUT. */
static void dec_add_readable(sbuf *out, const char *s, size_t n)
{
    size_t m = n > DEC_TEXT_CUT ? DEC_TEXT_CUT : n;
    sbuf_addc(out, '\'');
    for (size_t i = 0; i < m; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '\'' || c == '\\')
            sbuf_addc(out, '\\'), sbuf_addc(out, (char)c);
        else if (c < 0x20 || c == 0x7f)
            sbuf_addf(out, "\\x%02x", c);
        else
            sbuf_addc(out, (char)c);
    }
    sbuf_addc(out, '\'');
    if (m < n)
        sbuf_adds(out, "...");
}

/* ENUM and SET by their strings, when the table map or schema gave them. */
static bool dec_add_enumset(sbuf *out, const dec_column *c, uint64_t v)
{
    if (!c->elements || !dec_is_enumset(c))
        return false;
    if (c->real_type == MYSQL_TYPE_ENUM) {
        if (v == 0 || v > c->nelements)
            return false;
        dec_add_readable(out, c->elements[v - 1], strlen(c->elements[v - 1]));
        return true;
    }
    if (c->nelements < 64 && (v >> c->nelements) != 0)
        return false;
    sbuf text = SBUF_INIT;
    for (uint32_t i = 0; i < c->nelements && i < 64; i++) {
        if (!((v >> i) & 1))
            continue;
        if (text.len)
            sbuf_addc(&text, ',');
        sbuf_adds(&text, c->elements[i]);
    }
    dec_add_readable(out, sbuf_cstr(&text), text.len);
    sbuf_free(&text);
    return true;
}

void dec_value_render_text(const dec_table *t, const dec_row *r, uint32_t col, sbuf *out)
{
    if (col >= r->ncols) {
        sbuf_adds(out, "(no such column)");
        return;
    }
    const dec_value *v = &r->vals[col];
    const dec_column *c = col < t->ncols ? &t->cols[col] : NULL;
    const char *b = dec_value_bytes(r, v);
    switch (v->kind) {
    case DEC_ABSENT:
        sbuf_adds(out, "(absent)");
        return;
    case DEC_NULL:
        sbuf_adds(out, "NULL");
        return;
    case DEC_UINT:
        if (!c || !dec_add_enumset(out, c, v->num.u))
            dec_add_number(out, v);
        return;
    case DEC_INT:
    case DEC_FLOAT:
    case DEC_DOUBLE:
        dec_add_number(out, v);
        return;
    case DEC_DECIMAL:
        sbuf_add(out, b, v->len);
        return;
    case DEC_TEMPORAL:
    case DEC_TEXT:
        dec_add_readable(out, b, v->len);
        return;
    case DEC_BYTES:
        if (c && c->hint != DEC_HINT_NONE) {
            size_t mark = out->len;
            if (dec_add_hinted(out, c->hint, (const uint8_t *)b, v->len))
                return;
            sbuf_setlen(out, mark);
        }
        sbuf_adds(out, "0x");
        sbuf_add_hex(out, b, v->len > DEC_TEXT_CUT / 2 ? DEC_TEXT_CUT / 2 : v->len);
        if (v->len > DEC_TEXT_CUT / 2)
            sbuf_adds(out, "...");
        return;
    }
}
