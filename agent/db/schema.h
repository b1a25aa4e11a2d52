/* schema: what information_schema says about a table.
 *
 * The copier builds its SELECTs and INSERTs from it, the decoder fills in
 * what a binlog table map lacks (names, signedness, charsets, ENUM/SET
 * strings, the key), preflight checks it, and VDiff orders rows by its key.
 * One query per table for columns, one for keys: cheap enough to reload
 * after every DDL. */
#ifndef SCHEMA_H
#define SCHEMA_H

#include <mysql.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/sbuf.h"

typedef struct schema_column {
    char *name;
    char *data_type;   /* DATA_TYPE, lower case: "int", "varchar", "json", "uuid", "inet6" */
    char *column_type; /* COLUMN_TYPE: "int(10) unsigned", "enum('a','b')" */
    bool nullable;
    bool is_unsigned;
    bool generated;    /* VIRTUAL or STORED generated column */
    char *charset;     /* NULL for non-text columns */
    char *collation;   /* NULL for non-text columns */
    uint32_t collation_id; /* 63 for binary strings, 0 when not a string */
    uint64_t octet_length; /* CHARACTER_OCTET_LENGTH, 0 when not a string */
    char **elements;   /* ENUM/SET values, unquoted */
    size_t nelements;
} schema_column;

typedef struct schema_table {
    char *schema;
    char *name;
    char *engine;
    schema_column *cols; /* in ORDINAL_POSITION order, as in the binlog */
    size_t ncols;
    /* The identifying key: the PRIMARY KEY, else the first UNIQUE key whose
     * columns are all NOT NULL. nkey == 0 when the table has neither. */
    char *key_name;
    size_t *key; /* column indexes, in key order */
    size_t nkey;
    bool key_is_primary;
    /* A UNIQUE index other than the key exists (nullable ones count): rows
     * can then conflict on something the key does not cover. */
    bool has_other_unique;
    uint64_t est_rows;   /* TABLE_ROWS, an estimate */
    uint64_t data_bytes; /* DATA_LENGTH + INDEX_LENGTH */
} schema_table;

/* Returns 0, or an error number with err filled; a missing table gives
 * ER_NO_SUCH_TABLE (1146) with the qualified name in the message. */
int schema_table_load(MYSQL *m, const char *db, const char *table, schema_table **out, sbuf *err);
void schema_table_free(schema_table *t);
/* Index of the named column, or -1. */
int schema_column_index(const schema_table *t, const char *name);
/* Parse "enum('a','b''c')" / "set(...)" into values (quotes undone).
 * Returns -1 on text that is not an enum/set definition. */
int schema_parse_elements(const char *column_type, char ***out, size_t *n);

#endif
