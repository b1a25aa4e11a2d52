/* probe: read the source's health and binlog settings. See probe.h.
 *
 * A probe is three round trips: one SELECT of every variable we report
 * (flavour-specific, since MariaDB and MySQL name GTID state differently),
 * SHOW MASTER STATUS for the binlog end, SHOW BINARY LOGS for the oldest
 * file. The oldest file's GTID position (MariaDB) tells how far back a
 * stream can still start; preflight and the streams use it to warn before
 * a position is purged. */
#include "db/probe.h"

#include <mysqld_error.h>
#include <stdlib.h>
#include <string.h>

#include "lib/clock.h"

struct probe {
    db_endpoint *ep;
    MYSQL *conn;
    server_flavor flavor;
};

probe *probe_new(const db_endpoint *ep)
{
    probe *p = xcalloc(1, sizeof *p);
    p->ep = db_endpoint_dup(ep);
    return p;
}

void probe_free(probe *p)
{
    if (!p)
        return;
    if (p->conn)
        mysql_close(p->conn);
    db_endpoint_free(p->ep);
    free(p);
}

static char *dup_or_null(const char *s)
{
    return s ? xstrdup(s) : NULL;
}

void probe_result_clear(probe_result *r)
{
    free(r->error);
    free(r->version);
    free(r->server_uuid);
    free(r->binlog_format);
    free(r->binlog_row_image);
    free(r->binlog_row_metadata);
    free(r->gtid);
    free(r->file);
    free(r->oldest_file);
    free(r->oldest_gtid);
    memset(r, 0, sizeof *r);
}

/* Explain a connection failure in terms an operator can act on. */
static void probe_explain_connect(const probe *p, unsigned e, const char *detail, probe_result *out)
{
    sbuf msg = SBUF_INIT;
    (void)p;
    if (e == ER_ACCESS_DENIED_ERROR || e == ER_DBACCESS_DENIED_ERROR)
        sbuf_addf(&msg, "source refused the login: %s; check source-user and the password file", detail);
    else if (db_error_is_connection(e))
        sbuf_addf(&msg, "source is unreachable: %s; check that the server runs and the address is right "
                        "(the agent keeps retrying)", detail);
    else
        sbuf_addf(&msg, "source connection failed: %s", detail);
    out->error = sbuf_detach(&msg, NULL);
}

static int probe_connect(probe *p, probe_result *out)
{
    if (p->conn && mysql_ping(p->conn) == 0)
        return 0;
    if (p->conn) {
        mysql_close(p->conn);
        p->conn = NULL;
    }
    sbuf err = SBUF_INIT;
    unsigned e = (unsigned)db_connect(p->ep, 0, &p->conn, &err);
    if (e) {
        probe_explain_connect(p, e, err.buf, out);
        sbuf_free(&err);
        return -1;
    }
    sbuf_free(&err);
    p->flavor = flavor_of_version(mysql_get_server_info(p->conn));
    return 0;
}

static bool row_bool(const char *v)
{
    return v && (strcmp(v, "1") == 0 || strcasecmp(v, "ON") == 0);
}

static int64_t retention_of(const char *seconds, const char *days)
{
    long long s = seconds ? atoll(seconds) : 0;
    if (s > 0)
        return s;
    double d = days ? atof(days) : 0;
    return (int64_t)(d * 86400);
}

static const char *const probe_vars_mariadb =
    "SELECT VERSION(), @@server_id, '', @@read_only, @@log_bin, @@binlog_format, @@binlog_row_image, "
    "@@binlog_row_metadata, @@gtid_strict_mode, @@gtid_binlog_pos, @@binlog_expire_logs_seconds, "
    "@@expire_logs_days";
/* MySQL 8.0/8.4 names; 5.7 lacks binlog_row_metadata and the seconds
 * setting, so it falls back to the second form. */
static const char *const probe_vars_mysql =
    "SELECT VERSION(), @@server_id, @@server_uuid, @@read_only, @@log_bin, @@binlog_format, "
    "@@binlog_row_image, @@binlog_row_metadata, @@enforce_gtid_consistency = 'ON', @@gtid_executed, "
    "@@binlog_expire_logs_seconds, @@expire_logs_days";
static const char *const probe_vars_mysql57 =
    "SELECT VERSION(), @@server_id, @@server_uuid, @@read_only, @@log_bin, @@binlog_format, "
    "@@binlog_row_image, '', @@enforce_gtid_consistency = 'ON', @@gtid_executed, 0, @@expire_logs_days";

static int probe_variables(probe *p, probe_result *out, sbuf *err)
{
    MYSQL_RES *res;
    const char *q = p->flavor == FLAVOR_MARIADB ? probe_vars_mariadb : probe_vars_mysql;
    int e = db_query(p->conn, q, &res, err);
    if (e == ER_UNKNOWN_SYSTEM_VARIABLE && p->flavor == FLAVOR_MYSQL)
        e = db_query(p->conn, probe_vars_mysql57, &res, err);
    if (e)
        return e;
    MYSQL_ROW row = mysql_fetch_row(res);
    if (row) {
        out->version = dup_or_null(row[0]);
        out->server_id = row[1] ? (uint32_t)strtoul(row[1], NULL, 10) : 0;
        out->server_uuid = dup_or_null(row[2]);
        out->read_only = row_bool(row[3]);
        out->log_bin = row_bool(row[4]);
        out->binlog_format = dup_or_null(row[5]);
        out->binlog_row_image = dup_or_null(row[6]);
        out->binlog_row_metadata = dup_or_null(row[7]);
        out->gtid_strict_mode = row_bool(row[8]);
        out->gtid = dup_or_null(row[9] ? row[9] : "");
        out->retention_s = retention_of(row[10], row[11]);
    }
    mysql_free_result(res);
    return 0;
}

static int probe_binlog_end(probe *p, probe_result *out, sbuf *err)
{
    MYSQL_RES *res;
    int e = db_query(p->conn, "SHOW MASTER STATUS", &res, err);
    if (e)
        return e;
    MYSQL_ROW row = mysql_fetch_row(res);
    if (row && row[0]) {
        out->file = xstrdup(row[0]);
        out->offset = row[1] ? strtoull(row[1], NULL, 10) : 0;
    }
    mysql_free_result(res);
    return 0;
}

static int probe_binlog_oldest(probe *p, probe_result *out, sbuf *err)
{
    MYSQL_RES *res;
    int e = db_query(p->conn, "SHOW BINARY LOGS", &res, err);
    if (e)
        return e;
    MYSQL_ROW row = mysql_fetch_row(res);
    if (row && row[0])
        out->oldest_file = xstrdup(row[0]);
    mysql_free_result(res);
    if (!out->oldest_file || p->flavor != FLAVOR_MARIADB)
        return 0;
    sbuf q = SBUF_INIT, v = SBUF_INIT;
    bool found;
    sbuf_adds(&q, "SELECT BINLOG_GTID_POS(");
    db_add_cstring(&q, out->oldest_file);
    sbuf_adds(&q, ", 4)");
    e = db_query_value(p->conn, q.buf, &v, &found, err);
    if (!e)
        out->oldest_gtid = xstrdup(found ? v.buf : "");
    sbuf_free(&q);
    sbuf_free(&v);
    return e;
}

void probe_run(probe *p, probe_result *out)
{
    memset(out, 0, sizeof *out);
    int64_t start = clock_mono_ms();
    out->at_ms = clock_wall_ms();
    if (probe_connect(p, out) == 0) {
        out->reachable = true;
        out->flavor = p->flavor;
        sbuf err = SBUF_INIT;
        int e = probe_variables(p, out, &err);
        if (!e && out->log_bin)
            e = probe_binlog_end(p, out, &err);
        if (!e && out->log_bin)
            e = probe_binlog_oldest(p, out, &err);
        if (e) {
            sbuf msg = SBUF_INIT;
            sbuf_addf(&msg, "source probe failed: %s", err.buf);
            if (e == ER_SPECIFIC_ACCESS_DENIED_ERROR)
                sbuf_adds(&msg, "; grant the agent BINLOG MONITOR (REPLICATION CLIENT on MySQL)");
            out->error = sbuf_detach(&msg, NULL);
            if (db_error_is_connection((unsigned)e)) {
                out->reachable = false;
                mysql_close(p->conn);
                p->conn = NULL;
            }
        }
        sbuf_free(&err);
    }
    out->duration_ms = (uint32_t)(clock_mono_ms() - start);
}
