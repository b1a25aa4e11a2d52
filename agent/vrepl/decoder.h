/* decoder: binlog TABLE_MAP and ROWS events into typed column values.
 *
 * Stage three of the data path (snapshot -> copier, streamer -> decoder ->
 * applier). The streamer hands over event bodies (after the 19-byte common
 * header, without the 4-byte checksum); this module turns them into rows
 * the applier can turn into SQL. libmariadb's own row decoder is wrong for
 * many types (see ARCHITECTURE.md), so everything here is ours and pure:
 * no I/O, no globals, safe on hostile input (fuzzed).
 *
 * Values are rendered as SQL literals for a connection that runs
 * SET NAMES binary and time_zone '+00:00': bytes then pass through
 * unconverted and TIMESTAMPs mean UTC, which makes every value exact. */
#ifndef DECODER_H
#define DECODER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "db/schema.h"
#include "lib/flavor.h"
#include "lib/sbuf.h"

/* Event type codes (MySQL/MariaDB protocol). */
enum {
    BINLOG_QUERY = 2,
    BINLOG_ROTATE = 4,
    BINLOG_FORMAT_DESCRIPTION = 15,
    BINLOG_XID = 16,
    BINLOG_TABLE_MAP = 19,
    BINLOG_WRITE_ROWS_V1 = 23,
    BINLOG_UPDATE_ROWS_V1 = 24,
    BINLOG_DELETE_ROWS_V1 = 25,
    BINLOG_HEARTBEAT = 27,
    BINLOG_WRITE_ROWS_V2 = 30,
    BINLOG_UPDATE_ROWS_V2 = 31,
    BINLOG_DELETE_ROWS_V2 = 32,
    BINLOG_GTID_MYSQL = 33,
    BINLOG_PARTIAL_UPDATE_ROWS = 39,
    BINLOG_ANNOTATE_ROWS = 160,
    BINLOG_CHECKPOINT = 161,
    BINLOG_GTID_MARIADB = 162,
    BINLOG_GTID_LIST = 163,
    BINLOG_QUERY_COMPRESSED = 165,
    /* MariaDB's compressed rows events: 166-168 compress the v1 events,
     * 169-171 the v2 ones (as in the server and in mariadb_rpl.h). */
    BINLOG_WRITE_ROWS_COMPRESSED_V1 = 166,
    BINLOG_UPDATE_ROWS_COMPRESSED_V1 = 167,
    BINLOG_DELETE_ROWS_COMPRESSED_V1 = 168,
    BINLOG_WRITE_ROWS_COMPRESSED_V2 = 169,
    BINLOG_UPDATE_ROWS_COMPRESSED_V2 = 170,
    BINLOG_DELETE_ROWS_COMPRESSED_V2 = 171,
};

/* "INT", "VARCHAR", "CHAR", "ENUM"...: pass real_type for STRING columns. */
const char *dec_type_name(uint8_t type);

/* True for the ROWS event types dec_rows_parse accepts. */
bool dec_is_rows_event(uint8_t type);

/* What the schema knows that the wire type does not. */
typedef enum { DEC_HINT_NONE, DEC_HINT_JSON, DEC_HINT_UUID, DEC_HINT_INET6, DEC_HINT_INET4 } dec_hint;

/* Which server wrote the events. The optional table-map metadata counts
 * columns differently: MariaDB includes YEAR in SIGNEDNESS and GEOMETRY in
 * the charset lists, MySQL includes neither. */

typedef struct dec_column {
    char *name;         /* NULL when neither the table map nor schema named it */
    uint8_t type;       /* binlog type code (MYSQL_TYPE_*) */
    uint8_t real_type;  /* STRING columns: the real CHAR/ENUM/SET type; else == type */
    uint16_t meta;      /* raw per-column metadata, read as the server does
                           (STRING/ENUM/SET/DECIMAL: first byte high; VARCHAR,
                           BIT: little-endian); old TIME/DATETIME/TIMESTAMP:
                           fraction digits of a MariaDB 5.3 column, set by
                           dec_table_fill from the schema */
    uint32_t max_len;   /* CHAR/BINARY: declared length in bytes */
    bool nullable;
    bool is_unsigned;
    uint32_t charset;   /* collation id; 63 = binary; 0 = unknown */
    uint8_t geom_type;
    dec_hint hint;
    char **elements;    /* ENUM/SET strings, when known */
    uint32_t nelements;
} dec_column;

/* Which optional table-map metadata blocks were present. */
enum {
    DEC_HAVE_SIGNEDNESS = 1 << 0,
    DEC_HAVE_CHARSET = 1 << 1,
    DEC_HAVE_NAMES = 1 << 2,
    DEC_HAVE_ENUMSET = 1 << 3,
    DEC_HAVE_KEY = 1 << 4,
    DEC_HAVE_GEOMETRY = 1 << 5,
};

typedef struct dec_table {
    uint64_t id;
    char *schema;
    char *name;
    uint32_t ncols;
    dec_column *cols;
    uint32_t nkey;      /* identifying key: PK, else NOT NULL unique (schema) */
    uint32_t *key;      /* column indexes in key order */
    unsigned have;      /* DEC_HAVE_* */
    struct dec_plan *plan; /* private: per-column decode steps */
} dec_table;

/* dec_table_map_parse assumes MariaDB, unless a column has a type only
 * MySQL writes (binary JSON). */
int dec_table_map_parse(const uint8_t *body, size_t len, dec_table **out, sbuf *err);
int dec_table_map_parse_flavor(const uint8_t *body, size_t len, server_flavor flavor, dec_table **out,
                               sbuf *err);
/* Fill what the table map lacked (names, signedness, charsets, ENUM/SET
 * strings, key, hints) from information_schema. A column-count mismatch is
 * an error: the schema changed after the event was written. */
int dec_table_fill(dec_table *t, const schema_table *s, sbuf *err);
void dec_table_free(dec_table *t);

typedef enum {
    DEC_ABSENT,   /* not in this row image (MINIMAL/partial images) */
    DEC_NULL,
    DEC_INT,      /* num.i: signed integers, YEAR */
    DEC_UINT,     /* num.u: unsigned integers, BIT, ENUM index, SET bitmap */
    DEC_FLOAT,    /* num.d, from a 4-byte float */
    DEC_DOUBLE,   /* num.d */
    DEC_DECIMAL,  /* text: "-12.50", exactly `scale` fraction digits */
    DEC_TEMPORAL, /* text: "2024-02-29", "-838:59:59.000000", "0000-00-00 00:00:00" */
    DEC_TEXT,     /* bytes in the column's character set; JSON text too */
    DEC_BYTES,    /* binary strings, BLOB, GEOMETRY (SRID + WKB) */
} dec_kind;

typedef struct dec_value {
    dec_kind kind;
    union {
        int64_t i;
        uint64_t u;
        double d;
    } num;
    uint32_t off; /* text and byte kinds: row->data + off, len bytes */
    uint32_t len;
} dec_value;

/* One row image. It owns its memory (vals and data), so a row can outlive
 * its event: move it by struct copy and zero the original. vals and data
 * are one allocation (data follows vals): release with dec_row_free. */
typedef struct dec_row {
    uint32_t ncols;
    dec_value *vals;
    char *data;
} dec_row;

typedef enum { DEC_ROWS_INSERT, DEC_ROWS_UPDATE, DEC_ROWS_DELETE } dec_rows_kind;

typedef struct dec_rows {
    dec_rows_kind kind;
    uint64_t table_id;
    uint16_t flags;   /* 1 = STMT_END_F */
    size_t nrows;
    dec_row *before;  /* UPDATE and DELETE, else NULL */
    dec_row *after;   /* INSERT and UPDATE, else NULL */
} dec_rows;

/* The table id of a ROWS event body, to find its table map first. */
int dec_rows_table_id(uint8_t type, const uint8_t *body, size_t len, uint64_t *id, sbuf *err);
int dec_rows_parse(const dec_table *t, uint8_t type, const uint8_t *body, size_t len, dec_rows *out,
                   sbuf *err);
void dec_rows_free(dec_rows *r);
void dec_row_free(dec_row *r);

static inline const char *dec_value_bytes(const dec_row *r, const dec_value *v)
{
    return r->data + v->off;
}

/* Append column col of row r as a SQL literal (see the file comment).
 * DEC_ABSENT appends nothing and returns -1. */
int dec_value_render_sql(const dec_table *t, const dec_row *r, uint32_t col, sbuf *out);
/* Append a readable form for messages and diff samples (strings quoted,
 * binary as 0x.., long values cut with "..."). */
void dec_value_render_text(const dec_table *t, const dec_row *r, uint32_t col, sbuf *out);

#endif
