/* classify: where the router may run one statement, read from its text.
 *
 * The router calls classify_statement for every COM_QUERY text and every
 * COM_STMT_PREPARE text. The answer is a route (read side, write side, or
 * wherever the session's previous statement ran), a kind for metrics, and
 * flags for the state a statement leaves on the server that runs it: what
 * pins the session to the write side, what must be replayed on every
 * backend connection (SET of session variables, USE), and the transaction
 * and lock boundaries the router may want as hints (the server's status
 * flags stay the authority on transactions).
 *
 * Invariants the router may rely on (the fuzz target checks them):
 *   - route READ or LAST carries no flag;
 *   - PIN, SESSION_SET, USE and AUTOCOMMIT exclude each other;
 *   - MULTI always comes with route WRITE;
 *   - key and name are NUL-terminated, "" unless their flag is set.
 *
 * Pure: no allocation, no I/O, no global state, safe on any thread. */
#ifndef ROUTER_CLASSIFY_H
#define ROUTER_CLASSIFY_H

#include <stddef.h>

typedef enum {
    CLASSIFY_ROUTE_READ,  /* may run on the read side (if the session is not pinned and not in a transaction) */
    CLASSIFY_ROUTE_WRITE, /* must run on the write side */
    CLASSIFY_ROUTE_LAST,  /* must run where the session's previous statement ran (SHOW WARNINGS, ROW_COUNT(),
                             FOUND_ROWS(), @@warning_count, GET DIAGNOSTICS) */
} classify_route;

/* For metrics labels: from the statement's verb (after EXPLAIN ANALYZE,
 * ANALYZE <stmt>, SET STATEMENT ... FOR and leading parentheses, which
 * run the inner statement). WITH ... UPDATE|DELETE is UPDATE|DELETE. */
typedef enum {
    CLASSIFY_KIND_SELECT, /* SELECT, WITH ... SELECT, VALUES, TABLE */
    CLASSIFY_KIND_INSERT, /* INSERT, REPLACE */
    CLASSIFY_KIND_UPDATE,
    CLASSIFY_KIND_DELETE,
    CLASSIFY_KIND_DDL,    /* CREATE, ALTER, DROP, TRUNCATE, RENAME */
    CLASSIFY_KIND_TXN,    /* BEGIN, START TRANSACTION, COMMIT, ROLLBACK, SAVEPOINT, RELEASE, XA */
    CLASSIFY_KIND_SET,
    CLASSIFY_KIND_SHOW,
    CLASSIFY_KIND_OTHER,  /* everything else, the empty text included */
} classify_kind;

enum {
    /* Creates state that lives on the server that runs it (user variable,
     * LOCK TABLES, FLUSH TABLES WITH READ LOCK, GET_LOCK, CREATE TEMPORARY,
     * text PREPARE, EXECUTE IMMEDIATE, HANDLER ... OPEN, SQL_CALC_FOUND_ROWS,
     * SET sql_log_bin, a SET that cannot be replayed or parsed, a compound
     * statement, SELECT ... INTO @var): the session stays on the write side
     * from now on. */
    CLASSIFY_PIN = 1u << 0,
    /* A SET of session state to replay on every backend connection of the
     * session (SET NAMES, SET CHARACTER SET, SET [SESSION|LOCAL|@@session.|
     * @@local.|@@] var = value, SET SESSION TRANSACTION ...); `key` names
     * what it sets. */
    CLASSIFY_SESSION_SET = 1u << 1,
    CLASSIFY_USE = 1u << 2,           /* USE db: `name` holds the unquoted schema name */
    CLASSIFY_MULTI = 1u << 3,         /* more than one statement in the text (route WRITE) */
    CLASSIFY_LOCAL_INFILE = 1u << 4,  /* LOAD DATA|XML ... LOCAL INFILE: the server will ask for a file */
    CLASSIFY_AUTOCOMMIT = 1u << 5,    /* SET autocommit = 0|1|ON|OFF|TRUE|FALSE alone: `autocommit` */
    CLASSIFY_TXN_BEGIN = 1u << 6,     /* BEGIN [WORK], START TRANSACTION, XA START|BEGIN, ... AND CHAIN */
    CLASSIFY_TXN_END = 1u << 7,       /* COMMIT, ROLLBACK (not ROLLBACK TO), XA COMMIT|ROLLBACK */
    CLASSIFY_UNLOCK = 1u << 8,        /* UNLOCK TABLES (informational) */
};

typedef struct classify_result {
    classify_route route;
    classify_kind kind;
    unsigned flags;
    int autocommit; /* with CLASSIFY_AUTOCOMMIT: 0 or 1 */
    /* With CLASSIFY_SESSION_SET: the lowercased variable name without its
     * scope ("sql_mode", "time_zone"), or "names", "character set",
     * "transaction"; "" when the SET assigns several (key by the text). */
    char key[64];
    /* With CLASSIFY_USE: the schema, unquoted (never empty, no NUL). */
    char name[256];
} classify_result;

/* With CLASSIFY_MULTI, the flags are those of the whole text: PIN if any
 * statement pins, sets session state, changes the schema or autocommit;
 * LOCAL_INFILE and UNLOCK if any statement has them; TXN_BEGIN or TXN_END
 * as the last statement that opens or closes a transaction leaves it.
 * The kind is the first statement's. */

/* Never fails, never allocates, never reads past len; the text need not be
 * NUL-terminated and may hold any bytes. sql may be NULL when len is 0. */
void classify_statement(const char *sql, size_t len, classify_result *out);

/* "select", "insert", "update", "delete", "ddl", "txn", "set", "show",
 * "other": stable strings for metrics labels. */
const char *classify_kind_name(classify_kind k);
/* "read", "write", "last": for logs. */
const char *classify_route_name(classify_route r);

#endif
