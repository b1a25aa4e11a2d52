/* db: connect, run SQL, quote identifiers and strings. See db.h.
 *
 * Error text quotes mysql_error() verbatim and adds the endpoint: the server's
 * own words are the most precise, and the endpoint tells an operator which
 * of the two servers complained. Passwords are read from their secret just
 * before mysql_real_connect and wiped right after. */
#include "db/db.h"

#include <errmsg.h>
#include <mysqld_error.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

db_endpoint *db_endpoint_dup(const db_endpoint *ep)
{
    db_endpoint *d = xcalloc(1, sizeof *d);
    *d = *ep;
    d->host = ep->host ? xstrdup(ep->host) : NULL;
    d->socket = ep->socket ? xstrdup(ep->socket) : NULL;
    d->user = ep->user ? xstrdup(ep->user) : NULL;
    d->password = ep->password ? secret_dup(ep->password) : NULL;
    return d;
}

void db_endpoint_clear(db_endpoint *ep)
{
    free(ep->host);
    free(ep->socket);
    free(ep->user);
    secret_free(ep->password);
    memset(ep, 0, sizeof *ep);
}

void db_endpoint_free(db_endpoint *ep)
{
    if (!ep)
        return;
    db_endpoint_clear(ep);
    free(ep);
}

void db_endpoint_describe(const db_endpoint *ep, sbuf *out)
{
    sbuf_addf(out, "%s@", ep->user ? ep->user : "");
    if (ep->socket && *ep->socket)
        sbuf_adds(out, ep->socket);
    else
        sbuf_addf(out, "%s:%u", ep->host ? ep->host : "127.0.0.1", ep->port ? ep->port : 3306);
}

static void db_set_error(MYSQL *m, const char *what, sbuf *err)
{
    sbuf_setf(err, "%s: %s (error %u)", what, mysql_error(m), mysql_errno(m));
}

int db_connect(const db_endpoint *ep, unsigned flags, MYSQL **out, sbuf *err)
{
    *out = NULL;
    MYSQL *m = mysql_init(NULL);
    if (!m) {
        sbuf_setf(err, "out of memory creating a MySQL connection");
        return CR_OUT_OF_MEMORY;
    }
    unsigned ct = ep->connect_timeout_s ? ep->connect_timeout_s : 5;
    mysql_optionsv(m, MYSQL_OPT_CONNECT_TIMEOUT, &ct);
    if (ep->read_timeout_s) {
        mysql_optionsv(m, MYSQL_OPT_READ_TIMEOUT, &ep->read_timeout_s);
        mysql_optionsv(m, MYSQL_OPT_WRITE_TIMEOUT, &ep->read_timeout_s);
    }
    mysql_optionsv(m, MYSQL_SET_CHARSET_NAME, (flags & (DB_BINARY | DB_DATA)) ? "binary" : "utf8mb4");
    if (ep->tls) {
        my_bool on = 1;
        mysql_optionsv(m, MYSQL_OPT_SSL_ENFORCE, &on);
    } else {
        /* Without TLS only challenge-response methods: with them the server
         * proves it knows the password, and learns nothing it did not.
         * mysql_clear_password, dialog (PAM) and the sha256 family would
         * hand the password to whatever answers at the address, and the
         * address may come from a request. */
        mysql_optionsv(m, MARIADB_OPT_RESTRICTED_AUTH, DB_PLAINTEXT_AUTH);
    }
    if (flags & DB_LOCAL_INFILE) {
        unsigned on = 1;
        mysql_optionsv(m, MYSQL_OPT_LOCAL_INFILE, &on);
    }
    sbuf pw = SBUF_INIT;
    if (ep->password && secret_read(ep->password, &pw, err) != 0) {
        mysql_close(m);
        return CR_UNKNOWN_ERROR;
    }
    bool use_socket = ep->socket && *ep->socket;
    unsigned long cflags = CLIENT_FOUND_ROWS | ((flags & DB_MULTI_STATEMENTS) ? CLIENT_MULTI_STATEMENTS : 0);
    MYSQL *ok = mysql_real_connect(m, use_socket ? "localhost" : (ep->host ? ep->host : "127.0.0.1"),
                                   ep->user, ep->password ? sbuf_cstr(&pw) : NULL, NULL,
                                   use_socket ? 0 : (ep->port ? ep->port : 3306),
                                   use_socket ? ep->socket : NULL, cflags);
    sbuf_wipe(&pw);
    if (!ok) {
        unsigned e = mysql_errno(m);
        sbuf who = SBUF_INIT;
        sbuf_adds(&who, "cannot connect to ");
        db_endpoint_describe(ep, &who);
        if (e == CR_PLUGIN_NOT_ALLOWED)
            sbuf_setf(err, "%s: the server asked for an authentication method that would reveal the password "
                           "to it over a connection without TLS (%s); refused. Connect with TLS, or give the "
                           "account mysql_native_password or ed25519 authentication", who.buf, mysql_error(m));
        else
            db_set_error(m, sbuf_cstr(&who), err);
        sbuf_free(&who);
        mysql_close(m);
        return e ? e : CR_UNKNOWN_ERROR;
    }
    if (flags & DB_DATA) {
        unsigned e = 0;
        if (mysql_query(m, "SET SESSION time_zone = '+00:00', sql_mode = 'NO_AUTO_VALUE_ON_ZERO,NO_ENGINE_SUBSTITUTION', "
                           "foreign_key_checks = 0, net_write_timeout = 600") != 0 ||
            mysql_query(m, "SET SESSION TRANSACTION ISOLATION LEVEL REPEATABLE READ") != 0)
            e = mysql_errno(m);
        if (e) {
            db_set_error(m, "setting up the session failed", err);
            mysql_close(m);
            return e;
        }
    }
    *out = m;
    return 0;
}

int db_execn(MYSQL *m, const char *sql, size_t len, sbuf *err)
{
    if (mysql_real_query(m, sql, (unsigned long)len) != 0) {
        unsigned e = mysql_errno(m);
        db_set_error(m, "query failed", err);
        return e ? e : CR_UNKNOWN_ERROR;
    }
    MYSQL_RES *r = mysql_store_result(m);
    if (r)
        mysql_free_result(r);
    else if (mysql_field_count(m) != 0) {
        unsigned e = mysql_errno(m);
        db_set_error(m, "reading the result failed", err);
        return e ? e : CR_UNKNOWN_ERROR;
    }
    return 0;
}

int db_exec(MYSQL *m, const char *sql, sbuf *err)
{
    return db_execn(m, sql, strlen(sql), err);
}

int db_query(MYSQL *m, const char *sql, MYSQL_RES **res, sbuf *err)
{
    *res = NULL;
    if (mysql_real_query(m, sql, (unsigned long)strlen(sql)) != 0) {
        unsigned e = mysql_errno(m);
        db_set_error(m, "query failed", err);
        return e ? e : CR_UNKNOWN_ERROR;
    }
    *res = mysql_store_result(m);
    if (!*res) {
        unsigned e = mysql_errno(m);
        if (e) {
            db_set_error(m, "reading the result failed", err);
            return e;
        }
        sbuf_setf(err, "query returned no result set");
        return CR_UNKNOWN_ERROR;
    }
    return 0;
}

int db_query_value(MYSQL *m, const char *sql, sbuf *out, bool *found, sbuf *err)
{
    MYSQL_RES *r;
    int e = db_query(m, sql, &r, err);
    if (e)
        return e;
    MYSQL_ROW row = mysql_fetch_row(r);
    unsigned long *len = mysql_fetch_lengths(r);
    *found = row && row[0];
    sbuf_reset(out);
    if (*found)
        sbuf_add(out, row[0], len[0]);
    mysql_free_result(r);
    return 0;
}

int db_statements_running(MYSQL *m, unsigned *n, sbuf *err)
{
    sbuf v = SBUF_INIT;
    bool found;
    int e = db_query_value(m,
                           "SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE ID <> CONNECTION_ID() "
                           "AND COMMAND NOT IN ('Sleep', 'Daemon', 'Binlog Dump', 'Binlog Dump GTID', 'Killed') "
                           "AND COMMAND NOT LIKE 'Slave%'",
                           &v, &found, err);
    *n = e == 0 && found ? (unsigned)strtoul(v.buf, NULL, 10) : 0;
    sbuf_free(&v);
    return e;
}

void db_add_packet_advice(sbuf *sb, size_t bytes, size_t max_packet)
{
    sbuf_addf(sb,
              "%zu bytes, more than the destination's max_allowed_packet of %zu: raise it above the largest row "
              "(SET GLOBAL max_allowed_packet = %zu, and in the server's configuration) and resume",
              bytes, max_packet, ((bytes >> 20) + 2) << 20);
}

int db_drain(MYSQL *m, sbuf *err)
{
    int st;
    while ((st = mysql_next_result(m)) == 0) {
        MYSQL_RES *r = mysql_store_result(m);
        if (r)
            mysql_free_result(r);
    }
    if (st > 0) {
        unsigned e = mysql_errno(m);
        db_set_error(m, "query failed", err);
        return e ? e : CR_UNKNOWN_ERROR;
    }
    return 0;
}

int db_same_server(MYSQL *a, MYSQL *b, bool *same, sbuf *err)
{
    uint64_t nonce = 0;
    if (getrandom(&nonce, sizeof nonce, 0) != (ssize_t)sizeof nonce)
        nonce ^= (uint64_t)(uintptr_t)a ^ ((uint64_t)getpid() << 32);
    sbuf name = SBUF_INIT, q = SBUF_INIT, v = SBUF_INIT;
    sbuf_addf(&name, "'tablet_agent.identity.%016llx'", (unsigned long long)nonce);
    bool found = false;
    *same = false;
    sbuf_addf(&q, "SELECT GET_LOCK(%s, 0)", name.buf);
    int e = db_query_value(a, q.buf, &v, &found, err);
    if (!e && !(found && strcmp(v.buf, "1") == 0)) {
        sbuf_setf(err, "could not take a user lock to tell the servers apart");
        e = CR_UNKNOWN_ERROR;
    }
    if (!e) {
        sbuf_setf(&q, "SELECT IS_USED_LOCK(%s)", name.buf);
        e = db_query_value(b, q.buf, &v, &found, err);
        *same = !e && found;
        sbuf_setf(&q, "DO RELEASE_LOCK(%s)", name.buf);
        sbuf ignored = SBUF_INIT;
        db_exec(a, q.buf, &ignored);
        sbuf_free(&ignored);
    }
    sbuf_free(&name);
    sbuf_free(&q);
    sbuf_free(&v);
    return e;
}

void db_server_describe(MYSQL *m, sbuf *out)
{
    MYSQL_RES *r;
    sbuf err = SBUF_INIT;
    if (db_query(m, "SELECT @@server_id, @@hostname, @@port", &r, &err) == 0) {
        MYSQL_ROW row = mysql_fetch_row(r);
        if (row)
            sbuf_addf(out, "server_id %s on host '%s', port %s", row[0] ? row[0] : "?", row[1] ? row[1] : "?",
                      row[2] ? row[2] : "?");
        mysql_free_result(r);
    }
    sbuf_free(&err);
}

int db_server_id_user(MYSQL *m, uint32_t id, sbuf *who, sbuf *err)
{
    sbuf v = SBUF_INIT;
    bool found = false;
    sbuf_reset(who);
    int e = db_query_value(m, "SELECT @@server_id", &v, &found, err);
    if (!e && found && strtoul(v.buf, NULL, 10) == id)
        sbuf_adds(who, "the server itself");
    sbuf_free(&v);
    if (e || who->len)
        return e;
    MYSQL_RES *r;
    sbuf ignored = SBUF_INIT;
    if (db_query(m, "SHOW SLAVE HOSTS", &r, &ignored) == 0) { /* without the privilege: not known */
        MYSQL_ROW row;
        while (!who->len && (row = mysql_fetch_row(r)))
            if (row[0] && strtoul(row[0], NULL, 10) == id)
                sbuf_addf(who, "a replica at %s:%s", row[1] ? row[1] : "?", row[2] ? row[2] : "?");
        mysql_free_result(r);
    }
    sbuf_free(&ignored);
    return 0;
}

bool db_error_is_connection(unsigned e)
{
    switch (e) {
    case CR_CONNECTION_ERROR:
    case CR_CONN_HOST_ERROR:
    case CR_UNKNOWN_HOST:
    case CR_SERVER_GONE_ERROR:
    case CR_SERVER_LOST:
    case CR_SERVER_LOST_EXTENDED:
    case ER_CONNECTION_KILLED:
    case ER_SERVER_SHUTDOWN:
    case ER_CON_COUNT_ERROR:
        return true;
    default:
        return false;
    }
}

bool db_error_is_transient(unsigned e)
{
    return db_error_is_connection(e) || e == ER_LOCK_DEADLOCK || e == ER_LOCK_WAIT_TIMEOUT ||
           e == ER_QUERY_INTERRUPTED;
}

void db_add_ident(sbuf *sb, const char *name)
{
    sbuf_addc(sb, '`');
    for (const char *p = name; *p; p++) {
        if (*p == '`')
            sbuf_addc(sb, '`');
        sbuf_addc(sb, *p);
    }
    sbuf_addc(sb, '`');
}

void db_add_table(sbuf *sb, const char *schema, const char *table)
{
    db_add_ident(sb, schema);
    sbuf_addc(sb, '.');
    db_add_ident(sb, table);
}

/* Hot in the copier and applier: copy runs of plain bytes at once. */
void db_add_string(sbuf *sb, const void *data, size_t len)
{
    static const char esc[256] = {[0] = '0', ['\''] = '\'', ['"'] = '"', ['\\'] = '\\',
                                  ['\n'] = 'n', ['\r'] = 'r', [26] = 'Z'};
    const unsigned char *p = data;
    sbuf_grow(sb, len + 2);
    sb->buf[sb->len++] = '\'';
    size_t run = 0;
    for (size_t i = 0; i < len; i++) {
        char e = esc[p[i]];
        if (!e)
            continue;
        sbuf_add(sb, p + run, i - run);
        sbuf_grow(sb, 2 + (len - i));
        sb->buf[sb->len++] = '\\';
        sb->buf[sb->len++] = e;
        run = i + 1;
    }
    sbuf_add(sb, p + run, len - run);
    sbuf_addc(sb, '\'');
}

void db_add_cstring(sbuf *sb, const char *s)
{
    db_add_string(sb, s, strlen(s));
}
