/* fence: write fencing for cutover. See fence.h for the why and the order.
 *
 * Accounts travel as information_schema's GRANTEE text ('user'@'host'),
 * which is already quoted for ALTER USER. MySQL has super_read_only, which
 * stops even SUPER users, so there the account locking is not needed. */
#include "workflow/fence.h"

#include <mysqld_error.h>
#include <stdlib.h>
#include <string.h>

#include "db/probe.h"
#include "lib/log.h"

struct fence {
    MYSQL *conn;
    server_flavor flavor;
    bool locked, read_only; /* what fence_raise got to, so an undo touches nothing else */
};

void fence_record_clear(fence_record *r)
{
    free(r->accounts);
    memset(r, 0, sizeof *r);
}

MYSQL *fence_conn(fence *f)
{
    return f->conn;
}

/* 'user'@'host' from "user@host". */
static void add_grantee(sbuf *out, const char *account)
{
    const char *at = strrchr(account, '@');
    sbuf_addc(out, '\'');
    sbuf_add(out, account, at ? (size_t)(at - account) : strlen(account));
    sbuf_adds(out, "'@'");
    sbuf_adds(out, at ? at + 1 : "%");
    sbuf_addc(out, '\'');
}

/* The SQL list of accounts never to lock: ours (at every host, see the
 * query), root@localhost, system accounts and the configured exemptions. */
static void exempt_list(MYSQL *m, const char *exempt, sbuf *out)
{
    sbuf me = SBUF_INIT, err = SBUF_INIT;
    bool found = false;
    db_query_value(m, "SELECT CURRENT_USER()", &me, &found, &err);
    sbuf_adds(out, "'''root''@''localhost''','''mariadb.sys''@''localhost'''");
    sbuf grantee = SBUF_INIT;
    if (found) {
        add_grantee(&grantee, me.buf);
        sbuf_addc(out, ',');
        db_add_string(out, grantee.buf, grantee.len);
    }
    for (const char *p = exempt ? exempt : ""; *p;) {
        const char *comma = strchr(p, ',');
        size_t len = comma ? (size_t)(comma - p) : strlen(p);
        sbuf one = SBUF_INIT;
        sbuf_add(&one, p, len);
        sbuf_reset(&grantee);
        add_grantee(&grantee, one.buf);
        sbuf_addc(out, ',');
        db_add_string(out, grantee.buf, grantee.len);
        sbuf_free(&one);
        p += len + (comma ? 1 : 0);
    }
    sbuf_free(&grantee);
    sbuf_free(&me);
    sbuf_free(&err);
}

/* Accounts that can write through read_only and are not locked yet. */
static int writers_to_lock(MYSQL *m, const char *exempt, sbuf *accounts, sbuf *err)
{
    sbuf q = SBUF_INIT;
    sbuf_adds(&q, "SELECT DISTINCT p.GRANTEE FROM information_schema.USER_PRIVILEGES p JOIN mysql.global_priv g "
                  "ON p.GRANTEE = CONCAT('''', g.User, '''@''', g.Host, '''') WHERE p.PRIVILEGE_TYPE = 'READ_ONLY ADMIN' "
                  "AND IFNULL(JSON_VALUE(g.Priv, '$.account_locked'), 'false') <> 'true' "
                  "AND g.User <> SUBSTRING_INDEX(CURRENT_USER(), '@', 1) AND p.GRANTEE NOT IN (");
    exempt_list(m, exempt, &q);
    sbuf_adds(&q, ") ORDER BY 1");
    MYSQL_RES *r;
    int e = db_query(m, q.buf, &r, err);
    sbuf_free(&q);
    if (e)
        return e;
    MYSQL_ROW row;
    while ((row = mysql_fetch_row(r)))
        sbuf_addf(accounts, "%s%s", accounts->len ? "," : "", row[0]);
    mysql_free_result(r);
    return 0;
}

/* ALTER USER ... ACCOUNT LOCK / UNLOCK for each account of the list. */
static int accounts_set_lock(MYSQL *m, const char *accounts, bool lock, sbuf *err)
{
    if (!accounts || !*accounts)
        return 0;
    sbuf q = SBUF_INIT;
    sbuf_addf(&q, "ALTER USER %s ACCOUNT %s", accounts, lock ? "LOCK" : "UNLOCK");
    int e = db_exec(m, q.buf, err);
    sbuf_free(&q);
    return e;
}

/* KILL every session of the listed accounts' users (not our own). */
static int accounts_kill(MYSQL *m, const char *accounts, sbuf *err)
{
    if (!accounts || !*accounts)
        return 0;
    sbuf q = SBUF_INIT;
    sbuf_adds(&q, "SELECT ID FROM information_schema.PROCESSLIST WHERE ID <> CONNECTION_ID() AND "
                  "FIND_IN_SET(CONCAT('''', USER, '''@'''), ");
    /* the list's users, as "'u'@'" prefixes: good enough to find sessions */
    sbuf users = SBUF_INIT;
    for (const char *p = accounts; *p;) {
        const char *at = strstr(p, "'@'");
        const char *comma = at ? strchr(at, ',') : NULL;
        if (!at)
            break;
        sbuf_addf(&users, "%s%.*s'@'", users.len ? "," : "", (int)(at - p), p);
        p = comma ? comma + 1 : p + strlen(p);
    }
    db_add_string(&q, users.buf, users.len);
    sbuf_adds(&q, ") > 0");
    MYSQL_RES *r;
    int e = db_query(m, q.buf, &r, err);
    sbuf_free(&q);
    sbuf_free(&users);
    if (e)
        return e;
    MYSQL_ROW row;
    sbuf kill = SBUF_INIT;
    while (!e && (row = mysql_fetch_row(r))) {
        sbuf_setf(&kill, "KILL CONNECTION %s", row[0]);
        e = db_exec(m, kill.buf, err);
        if (e == ER_NO_SUCH_THREAD)
            e = 0;
    }
    mysql_free_result(r);
    sbuf_free(&kill);
    return e;
}

static int read_only_get(MYSQL *m, bool *on, sbuf *err)
{
    sbuf v = SBUF_INIT;
    bool found = false;
    int e = db_query_value(m, "SELECT @@GLOBAL.read_only", &v, &found, err);
    *on = found && strcmp(v.buf, "1") == 0;
    sbuf_free(&v);
    return e;
}

static int read_only_set(MYSQL *m, server_flavor flavor, bool on, sbuf *err)
{
    if (flavor == FLAVOR_MYSQL)
        return db_exec(m, on ? "SET GLOBAL super_read_only = 1" : "SET GLOBAL super_read_only = 0, read_only = 0",
                       err);
    return db_exec(m, on ? "SET GLOBAL read_only = 1" : "SET GLOBAL read_only = 0", err);
}

int fence_plan(const db_endpoint *ep, const char *exempt, fence_record *plan, sbuf *err)
{
    MYSQL *m;
    memset(plan, 0, sizeof *plan);
    int e = db_connect(ep, 0, &m, err);
    if (e)
        return e;
    sbuf accounts = SBUF_INIT;
    e = read_only_get(m, &plan->read_only_before, err);
    if (!e && flavor_of_version(mysql_get_server_info(m)) == FLAVOR_MARIADB)
        e = writers_to_lock(m, exempt, &accounts, err);
    plan->accounts = sbuf_detach(&accounts, NULL);
    mysql_close(m);
    return e;
}

int fence_raise(const db_endpoint *ep, const fence_record *plan, unsigned lock_wait_s, fence **out, sbuf *err)
{
    fence *f = xcalloc(1, sizeof *f);
    *out = NULL;
    int e = db_connect(ep, 0, &f->conn, err);
    if (e) {
        free(f);
        return e;
    }
    f->flavor = flavor_of_version(mysql_get_server_info(f->conn));
    sbuf q = SBUF_INIT;
    sbuf_addf(&q, "SET SESSION lock_wait_timeout = %u", lock_wait_s ? lock_wait_s : 5);
    e = db_exec(f->conn, q.buf, err);
    sbuf_free(&q);
    f->locked = !e; /* attempted: a multi-account ALTER USER may fail half done */
    if (!e)
        e = accounts_set_lock(f->conn, plan->accounts, true, err);
    if (!e) /* before the lock too: a long statement of theirs would stall it */
        e = accounts_kill(f->conn, plan->accounts, err);
    if (!e)
        e = db_exec(f->conn, "FLUSH TABLES WITH READ LOCK", err);
    if (!e)
        e = accounts_kill(f->conn, plan->accounts, err);
    if (!e)
        e = read_only_set(f->conn, f->flavor, true, err);
    f->read_only = !e;
    if (e) {
        sbuf keep = SBUF_INIT;
        sbuf_addf(&keep, "%s", err->buf);
        fence_undo(f, plan, err);
        sbuf_setf(err, "%s", keep.buf);
        sbuf_free(&keep);
        return e;
    }
    *out = f;
    return 0;
}

static void fence_free(fence *f)
{
    if (f->conn)
        mysql_close(f->conn);
    free(f);
}

int fence_release(fence *f, sbuf *err)
{
    int e = db_exec(f->conn, "UNLOCK TABLES", err);
    fence_free(f);
    return e;
}

int fence_undo(fence *f, const fence_record *rec, sbuf *err)
{
    /* Keep going on errors: each step undone is one less to fix by hand. */
    int e = f->read_only ? read_only_set(f->conn, f->flavor, rec->read_only_before, err) : 0;
    int e2 = db_exec(f->conn, "UNLOCK TABLES", err);
    int e3 = f->locked ? accounts_set_lock(f->conn, rec->accounts, false, err) : 0;
    fence_free(f);
    return e ? e : e2 ? e2 : e3;
}

int fence_lift(const db_endpoint *ep, const fence_record *rec, sbuf *err)
{
    MYSQL *m;
    int e = db_connect(ep, 0, &m, err);
    if (e)
        return e;
    server_flavor flavor = flavor_of_version(mysql_get_server_info(m));
    bool on = false;
    /* Only what needs changing: a lift after a raise that never got as far
     * as read_only must not need the privilege to set it. */
    if (!rec->read_only_before && (e = read_only_get(m, &on, err)) == 0 && on)
        e = read_only_set(m, flavor, false, err);
    if (!e)
        e = accounts_set_lock(m, rec->accounts, false, err);
    mysql_close(m);
    return e;
}

/* The lasting part of a fence, again: locks, their sessions, read_only. */
static int fence_up(MYSQL *m, const fence_record *rec, sbuf *err)
{
    server_flavor flavor = flavor_of_version(mysql_get_server_info(m));
    int e = accounts_set_lock(m, rec->accounts, true, err);
    if (!e)
        e = accounts_kill(m, rec->accounts, err);
    if (!e)
        e = read_only_set(m, flavor, true, err);
    return e;
}

int fence_reapply(const db_endpoint *ep, const fence_record *rec, sbuf *err)
{
    MYSQL *m;
    int e = db_connect(ep, 0, &m, err);
    if (e)
        return e;
    e = fence_up(m, rec, err);
    mysql_close(m);
    return e;
}

int fence_keep(const db_endpoint *ep, const fence_record *rec, bool *raised, sbuf *err)
{
    MYSQL *m;
    *raised = false;
    int e = db_connect(ep, 0, &m, err);
    if (e)
        return e;
    bool on = true;
    if ((e = read_only_get(m, &on, err)) == 0 && !on) {
        e = fence_up(m, rec, err);
        *raised = !e;
    }
    mysql_close(m);
    return e;
}
