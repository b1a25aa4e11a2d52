/* snapshot: consistent, positioned reads of the source. See snapshot.h.
 *
 * Why the exact-GTID method reads status variables instead of
 * @@gtid_binlog_pos: inside a consistent-snapshot transaction the latter
 * is the server's current position, which runs ahead of the snapshot under
 * load; binlog_snapshot_file/position are captured atomically with the
 * snapshot, and BINLOG_GTID_POS() translates that coordinate into GTIDs. */
#include "vrepl/snapshot.h"

#include <mysqld_error.h>
#include <stdlib.h>
#include <string.h>

#include "lib/clock.h"

snapshot_method snapshot_method_for(server_flavor flavor)
{
    return flavor == FLAVOR_MARIADB ? SNAPSHOT_EXACT_GTID : SNAPSHOT_LOCKED;
}

void snapshot_close(snapshot *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < s->nconns; i++)
        if (s->conns[i])
            mysql_close(s->conns[i]);
    free(s->conns);
    vpos_clear(&s->pos);
    free(s);
}

static int reader_connect(const db_endpoint *source, MYSQL **m, sbuf *err)
{
    return db_connect(source, DB_DATA, m, err);
}

static int begin_snapshot(MYSQL *m, sbuf *err)
{
    return db_exec(m, "START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY", err);
}

static int read_status_pair(MYSQL *m, const char *sql, sbuf *a, sbuf *b, sbuf *err)
{
    MYSQL_RES *r;
    int e = db_query(m, sql, &r, err);
    if (e)
        return e;
    MYSQL_ROW row;
    unsigned long *len;
    /* SHOW STATUS LIKE 'binlog_snapshot_%': two rows, name and value. */
    while ((row = mysql_fetch_row(r)) && (len = mysql_fetch_lengths(r))) {
        if (row[0] && strcmp(row[0], "Binlog_snapshot_file") == 0 && row[1])
            sbuf_add(a, row[1], len[1]);
        else if (row[0] && strcmp(row[0], "Binlog_snapshot_position") == 0 && row[1])
            sbuf_add(b, row[1], len[1]);
    }
    mysql_free_result(r);
    return 0;
}

static int position_exact(MYSQL *m, vpos *pos, sbuf *err)
{
    sbuf file = SBUF_INIT, off = SBUF_INIT, q = SBUF_INIT, gtid = SBUF_INIT;
    bool found = false;
    int e = read_status_pair(m, "SHOW STATUS LIKE 'binlog_snapshot_%'", &file, &off, err);
    if (!e && (!file.len || !off.len)) {
        sbuf_setf(err, "the server reports no binlog snapshot position: is the binary log on?");
        e = ER_UNKNOWN_ERROR;
    }
    if (!e) {
        sbuf_adds(&q, "SELECT BINLOG_GTID_POS(");
        db_add_string(&q, file.buf, file.len);
        sbuf_addf(&q, ", %s)", off.buf);
        e = db_query_value(m, q.buf, &gtid, &found, err);
    }
    if (!e)
        vpos_set(pos, found ? gtid.buf : "", file.buf, strtoull(off.buf, NULL, 10));
    sbuf_free(&file);
    sbuf_free(&off);
    sbuf_free(&q);
    sbuf_free(&gtid);
    return e;
}

int snapshot_position(MYSQL *m, server_flavor flavor, vpos *pos, sbuf *err)
{
    sbuf gtid = SBUF_INIT;
    bool found = false;
    int e = db_query_value(m, flavor == FLAVOR_MARIADB ? "SELECT @@gtid_binlog_pos" : "SELECT @@GLOBAL.gtid_executed",
                           &gtid, &found, err);
    MYSQL_RES *r = NULL;
    if (!e)
        e = db_query(m, "SHOW MASTER STATUS", &r, err);
    if (!e) {
        MYSQL_ROW row = mysql_fetch_row(r);
        if (!row || !row[0]) {
            sbuf_setf(err, "SHOW MASTER STATUS returned nothing: is the binary log on?");
            e = ER_UNKNOWN_ERROR;
        } else {
            vpos_set(pos, found ? gtid.buf : "", row[0], row[1] ? strtoull(row[1], NULL, 10) : 0);
        }
        mysql_free_result(r);
    }
    sbuf_free(&gtid);
    return e;
}

static int open_exact(const db_endpoint *source, snapshot *s, sbuf *err)
{
    int e = reader_connect(source, &s->conns[0], err);
    if (!e)
        e = begin_snapshot(s->conns[0], err);
    if (!e)
        e = position_exact(s->conns[0], &s->pos, err);
    return e;
}

static int open_locked(const db_endpoint *source, server_flavor flavor, snapshot *s, sbuf *err)
{
    int e = 0;
    for (size_t i = 0; !e && i < s->nconns; i++)
        e = reader_connect(source, &s->conns[i], err);
    /* Bound the wait for the lock: while FTWRL waits, every writer queues
     * behind it, and a transaction that already holds a table it must
     * flush waits on the lock itself, so under load the wait can only end
     * by the timeout. 2 s bounds that stall; the caller retries later
     * (ER_LOCK_WAIT_TIMEOUT is transient). */
    if (!e)
        e = db_exec(s->conns[0], "SET SESSION lock_wait_timeout = 2", err);
    if (!e && (e = db_exec(s->conns[0], "FLUSH TABLES WITH READ LOCK", err)) != 0)
        return e;
    for (size_t i = 0; !e && i < s->nconns; i++)
        e = begin_snapshot(s->conns[i], err);
    if (!e)
        e = snapshot_position(s->conns[0], flavor, &s->pos, err); /* fixed under the lock */
    sbuf unlock_err = SBUF_INIT;
    db_exec(s->conns[0], "UNLOCK TABLES", &unlock_err);
    sbuf_free(&unlock_err);
    return e;
}

int snapshot_open(const db_endpoint *source, server_flavor flavor, snapshot_method method, size_t nconns,
                  snapshot **out, sbuf *err)
{
    snapshot *s = xcalloc(1, sizeof *s);
    s->nconns = method == SNAPSHOT_EXACT_GTID || nconns == 0 ? 1 : nconns;
    s->conns = xcalloc(s->nconns, sizeof *s->conns);
    s->opened_ms = clock_mono_ms();
    int e = method == SNAPSHOT_EXACT_GTID ? open_exact(source, s, err) : open_locked(source, flavor, s, err);
    if (e) {
        sbuf msg = SBUF_INIT;
        sbuf_addf(&msg, "cannot open a consistent snapshot of the source: %s", err->buf);
        if (e == ER_SPECIFIC_ACCESS_DENIED_ERROR)
            sbuf_adds(&msg, " (the locked method needs RELOAD)");
        sbuf_setf(err, "%s", msg.buf);
        sbuf_free(&msg);
        snapshot_close(s);
        *out = NULL;
        return e;
    }
    *out = s;
    return 0;
}
