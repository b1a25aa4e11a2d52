/* db: connections and SQL text helpers over libmariadb (libmysqlclient API).
 *
 * Every module that talks to a server connects through db_connect, so
 * timeouts, the character set and error wording are the same everywhere.
 * Functions return 0 or the server/client error number (always > 0), and
 * fill err with a sentence that names the server and the error. */
#ifndef DB_H
#define DB_H

#include <mysql.h>
#include <stdbool.h>

#include "lib/sbuf.h"
#include "lib/secret.h"

typedef struct db_endpoint {
    char *host;      /* TCP host; ignored when socket is set */
    unsigned port;   /* default 3306 */
    char *socket;    /* unix socket path, or NULL */
    char *user;
    secret *password; /* NULL: no password */
    bool tls;        /* require TLS to the server */
    unsigned connect_timeout_s;
    unsigned read_timeout_s; /* 0: none (binlog streams wait forever) */
} db_endpoint;

enum {
    DB_MULTI_STATEMENTS = 1 << 0,
    DB_LOCAL_INFILE = 1 << 1,
    DB_BINARY = 1 << 2, /* SET NAMES binary: bytes pass unconverted */
    /* The data path's session, the same for every connection that reads or
     * writes rows (snapshots, copy writers, appliers, VDiff, a workflow's
     * own): bytes unconverted (implies DB_BINARY), TIMESTAMPs in UTC, a
     * sql_mode that stores what the source stored and reads CHAR unpadded
     * and backslash escapes as escapes, foreign keys unchecked (rows arrive
     * in key order, not in FK order), REPEATABLE READ, and 10 minutes for a
     * slow reader. One definition, because a copy that drifted made VDiff
     * report every TIMESTAMP row of a non-UTC server as different. */
    DB_DATA = 1 << 3,
};

db_endpoint *db_endpoint_dup(const db_endpoint *ep);
void db_endpoint_free(db_endpoint *ep);
/* Release what an embedded endpoint holds (for endpoints not from _dup). */
void db_endpoint_clear(db_endpoint *ep);
/* "agent@127.0.0.1:3306" or "agent@/run/mysqld.sock": never a password. */
void db_endpoint_describe(const db_endpoint *ep, sbuf *out);

/* The authentication methods a connection without TLS may use. */
#define DB_PLAINTEXT_AUTH "mysql_native_password,client_ed25519"

int db_connect(const db_endpoint *ep, unsigned flags, MYSQL **out, sbuf *err);
int db_exec(MYSQL *m, const char *sql, sbuf *err);
int db_execn(MYSQL *m, const char *sql, size_t len, sbuf *err);
/* Run a query and buffer its result (mysql_store_result). */
int db_query(MYSQL *m, const char *sql, MYSQL_RES **res, sbuf *err);
/* First column of the first row into out; *found false when no row (or
 * NULL value). */
int db_query_value(MYSQL *m, const char *sql, sbuf *out, bool *found, sbuf *err);
/* Drain any further results of a multi-statement query. */
int db_drain(MYSQL *m, sbuf *err);
/* The server's load as a throttle sees it: Threads_running less this
 * connection and the threads that count as running while they wait (binlog
 * dump threads of replicas and of our own streams, replica threads, daemons),
 * which would otherwise hold a throttle shut on any replicated server. Needs
 * PROCESS to see other users' threads. */
int db_statements_running(MYSQL *m, unsigned *n, sbuf *err);
/* "N bytes, more than the destination's max_allowed_packet of M: raise
 * it ...": a server hangs up on a bigger packet, which a client would take
 * for a network error and retry in vain, so writers check first. */
void db_add_packet_advice(sbuf *sb, size_t bytes, size_t max_packet);

/* Are a and b connected to one and the same server? Tested, not guessed
 * from addresses (a wrong port, a VIP or a DNS alias can lead back to the
 * same server): a takes a user lock with a unique name and b asks whether
 * it is held. Nothing is written and no privilege is needed. */
int db_same_server(MYSQL *a, MYSQL *b, bool *same, sbuf *err);
/* "server_id 1 on host 'db1', port 3306": how people tell servers apart. */
void db_server_describe(MYSQL *m, sbuf *out);

/* Who uses replica id `id` on this server: "" when nobody, else a
 * description ("the server itself", "a replica at host:port"). Replicas are
 * read from SHOW SLAVE HOSTS when the account may (REPLICATION MASTER
 * ADMIN on MariaDB); a second connection with a replica's id disconnects
 * that replica. */
int db_server_id_user(MYSQL *m, uint32_t id, sbuf *who, sbuf *err);

/* Connection-level errors: the link is gone, reconnect. */
bool db_error_is_connection(unsigned e);
/* Worth retrying after a pause: connection errors, deadlocks, lock waits. */
bool db_error_is_transient(unsigned e);

/* `name`, backticks doubled: any identifier is safe. */
void db_add_ident(sbuf *sb, const char *name);
/* `schema`.`table` */
void db_add_table(sbuf *sb, const char *schema, const char *table);
/* 'bytes' with \0 ' " \ newline CR ^Z escaped, byte by byte. Exact on a
 * connection whose client character set is binary or ASCII-compatible. */
void db_add_string(sbuf *sb, const void *data, size_t len);
void db_add_cstring(sbuf *sb, const char *s);

#endif
