/* snapshot_check: prove a snapshot method's position is exact, on a live
 * server under write load.
 *
 *   snapshot_check PORT PASSWORD_FILE ITERATIONS
 *
 * Each iteration opens a SNAPSHOT_LOCKED snapshot (the FLUSH TABLES WITH
 * READ LOCK method used for MySQL-flavour sources) with three connections
 * and checks that (1) all three see the same rows (COUNT and SUM over
 * sbtest.sbtest1..4), and (2) the position read under the lock equals the
 * exact position MariaDB reports for each connection's snapshot
 * (binlog_snapshot_file/position translated by BINLOG_GTID_POS). Then it
 * opens a SNAPSHOT_EXACT_GTID snapshot and checks (2) for it too. Exits 1
 * on any mismatch. */
#include <mysqld_error.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db/db.h"
#include "vrepl/snapshot.h"

static int fingerprint(MYSQL *m, sbuf *out, sbuf *err)
{
    static const char *const q = "SELECT CONCAT_WS('/', (SELECT CONCAT(COUNT(*), ':', SUM(k)) FROM sbtest.sbtest1), "
                                 "(SELECT CONCAT(COUNT(*), ':', SUM(k)) FROM sbtest.sbtest2), "
                                 "(SELECT CONCAT(COUNT(*), ':', SUM(k)) FROM sbtest.sbtest3), "
                                 "(SELECT CONCAT(COUNT(*), ':', SUM(k)) FROM sbtest.sbtest4))";
    bool found;
    return db_query_value(m, q, out, &found, err);
}

/* The position MariaDB itself records for this connection's snapshot. */
static int own_position(MYSQL *m, sbuf *gtid, sbuf *err)
{
    MYSQL_RES *r;
    int e = db_query(m, "SHOW STATUS LIKE 'binlog_snapshot_%'", &r, err);
    if (e)
        return e;
    sbuf file = SBUF_INIT, pos = SBUF_INIT, q = SBUF_INIT;
    MYSQL_ROW row;
    while ((row = mysql_fetch_row(r))) {
        if (strcmp(row[0], "Binlog_snapshot_file") == 0)
            sbuf_adds(&file, row[1]);
        else if (strcmp(row[0], "Binlog_snapshot_position") == 0)
            sbuf_adds(&pos, row[1]);
    }
    mysql_free_result(r);
    sbuf_adds(&q, "SELECT BINLOG_GTID_POS(");
    db_add_cstring(&q, file.buf);
    sbuf_addf(&q, ", %s)", pos.buf);
    bool found;
    e = db_query_value(m, q.buf, gtid, &found, err);
    sbuf_free(&file);
    sbuf_free(&pos);
    sbuf_free(&q);
    return e;
}

static int check(const db_endpoint *ep, snapshot_method method, int iteration)
{
    snapshot *s;
    sbuf err = SBUF_INIT, a = SBUF_INIT, b = SBUF_INIT;
    int bad = 0;
    int e;
    /* Under load FTWRL can time out (see snapshot.c); the product retries,
     * so does this check. */
    for (int attempt = 0; (e = snapshot_open(ep, FLAVOR_MARIADB, method, 3, &s, &err)) == ER_LOCK_WAIT_TIMEOUT &&
                          attempt < 5;
         attempt++)
        printf("retry %s iteration %d: %s\n", method == SNAPSHOT_LOCKED ? "locked" : "exact-gtid", iteration, err.buf);
    if (e) {
        fprintf(stderr, "iteration %d: %s\n", iteration, err.buf);
        return 1;
    }
    for (size_t i = 0; i < s->nconns && !bad; i++) {
        sbuf fp = SBUF_INIT, own = SBUF_INIT;
        if (fingerprint(s->conns[i], &fp, &err) || own_position(s->conns[i], &own, &err)) {
            fprintf(stderr, "iteration %d: %s\n", iteration, err.buf);
            bad = 1;
        } else if (i == 0) {
            sbuf_setf(&a, "%s", fp.buf);
        } else if (strcmp(a.buf, fp.buf) != 0) {
            fprintf(stderr, "iteration %d: connection %zu sees %s, connection 0 sees %s\n", iteration, i, fp.buf, a.buf);
            bad = 1;
        }
        if (!bad && strcmp(own.buf, s->pos.gtid) != 0) {
            fprintf(stderr, "iteration %d: connection %zu's snapshot is at %s, the method reported %s\n", iteration,
                    i, own.buf, s->pos.gtid);
            bad = 1;
        }
        sbuf_free(&fp);
        sbuf_free(&own);
    }
    if (!bad)
        printf("ok %s iteration %d: %zu connection(s) at %s\n",
               method == SNAPSHOT_LOCKED ? "locked" : "exact-gtid", iteration, s->nconns, s->pos.gtid);
    snapshot_close(s);
    sbuf_free(&err);
    sbuf_free(&a);
    sbuf_free(&b);
    return bad;
}

int main(int argc, char **argv)
{
    if (argc != 4) {
        fprintf(stderr, "usage: snapshot_check PORT PASSWORD_FILE ITERATIONS\n");
        return 2;
    }
    db_endpoint ep = {.host = "127.0.0.1", .port = (unsigned)atoi(argv[1]), .user = "agent"};
    ep.password = secret_from_file(argv[2]);
    int bad = 0, n = atoi(argv[3]);
    for (int i = 1; i <= n && !bad; i++)
        bad = check(&ep, SNAPSHOT_LOCKED, i) || check(&ep, SNAPSHOT_EXACT_GTID, i);
    secret_free(ep.password);
    mysql_library_end();
    return bad;
}
