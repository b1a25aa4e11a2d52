/* stmt_target: which table a statement from the binlog writes.
 *
 * A session with binlog_format=STATEMENT (or MIXED) puts SQL text in the
 * binlog instead of row images. The streamer cannot apply it, but it must
 * know whether it touches a table the stream carries, and the statement's
 * write target decides that, not the tables it mentions: pt-table-checksum's
 * REPLACE INTO percona.checksums ... SELECT ... FROM shop.orders reads a
 * carried table and writes its own.
 *
 * Only the head of a statement is parsed: the verb, its modifiers and the
 * first table name of
 *   INSERT|REPLACE [LOW_PRIORITY|DELAYED|HIGH_PRIORITY] [IGNORE] [INTO] tbl
 *   UPDATE [LOW_PRIORITY] [IGNORE] tbl [[AS] alias] SET
 *   DELETE [LOW_PRIORITY] [QUICK] [IGNORE] FROM tbl [[AS] alias] [WHERE|ORDER|LIMIT|...]
 *   LOAD DATA|XML ... INTO TABLE tbl
 * with tbl as name, db.name, `quoted` or "quoted" parts. Multi-table
 * UPDATE and DELETE, WITH ... and anything else that writes rows in a form
 * not listed come back as STMT_WRITE_UNKNOWN, for the caller to judge
 * conservatively. Pure: no I/O, no global state. */
#ifndef STMT_TARGET_H
#define STMT_TARGET_H

#include <stddef.h>

typedef enum {
    STMT_OTHER,         /* not a row write: BEGIN, COMMIT, DDL, ... */
    STMT_WRITE,         /* writes rows of exactly one table: db, table */
    STMT_WRITE_UNKNOWN, /* writes rows, of tables this parser cannot name */
} stmt_kind;

typedef struct stmt_target {
    stmt_kind kind;
    const char *verb; /* "INSERT", "REPLACE", "UPDATE", "DELETE", "LOAD DATA", "WITH"; NULL for STMT_OTHER */
    char *db;         /* STMT_WRITE: the name's qualifier, else the default schema ("" if none) */
    char *table;      /* STMT_WRITE: the table, unquoted */
} stmt_target;

/* Parse the n bytes at q (not NUL-terminated, any bytes). default_db is
 * the statement's default schema (NULL or "" for none). Fills *out; free
 * with stmt_target_clear. */
void stmt_target_parse(const char *q, size_t n, const char *default_db, stmt_target *out);
void stmt_target_clear(stmt_target *t);

#endif
