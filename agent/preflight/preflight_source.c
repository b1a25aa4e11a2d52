/* preflight_source: the source.* checks: logging in, the settings the
 * binlog stream depends on, and the privileges the copy and the streams
 * use, tried for real wherever trying changes nothing on the server.
 *
 * The checks that apply to either server (pf_connect, pf_log_bin,
 * pf_add_cnf, pf_master_status, pf_grant_fence) take a pf_server rather
 * than the source, so that both servers get the same diagnosis and remedy;
 * preflight_dest.c runs them on the destination. SELECT and SHOW VIEW are
 * tried on the scope's tables, so they are in preflight_schema.c. */
#include <errmsg.h>
#include <errno.h>
#include <mysqld_error.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>
#include <uv.h>

#include "lib/clock.h"
#include "preflight/preflight_internal.h"
#include "vrepl/streamer.h"

/* How long the binlog dump check waits for its first event (a heartbeat
 * comes after PF_DUMP_HEARTBEAT_MS on an idle server). */
#define PF_DUMP_HEARTBEAT_MS 200u
#define PF_DUMP_WAIT_MS 5000u
/* Replica server ids for the dump check: above any id people configure, so
 * it cannot kick out a real replica (a server drops the older of two dump
 * connections with the same id). */
#define PF_DUMP_SERVER_ID_BASE 4000000000u

/* ---- connections (source.connection; pf_connect serves destination.connection too) ---- */

static const char *const pf_var_names =
    "'version', 'version_comment', 'server_id', 'log_bin', 'log_bin_basename', 'binlog_format', "
    "'binlog_row_image', 'binlog_row_metadata', 'gtid_mode', 'enforce_gtid_consistency', 'gtid_strict_mode', "
    "'binlog_expire_logs_seconds', 'expire_logs_days', 'binlog_expire_logs_auto_purge', 'sql_mode', "
    "'require_secure_transport', 'character_set_server', 'collation_server', 'max_allowed_packet'";

static int pf_load_vars(pf_server *s, sbuf *err)
{
    sbuf q = SBUF_INIT;
    sbuf_addf(&q, "SHOW GLOBAL VARIABLES WHERE Variable_name IN (%s)", pf_var_names);
    MYSQL_RES *res;
    int e = db_query(s->m, q.buf, &res, err);
    sbuf_free(&q);
    if (e)
        return e;
    size_t n = (size_t)mysql_num_rows(res);
    s->vars = xcalloc(n ? n : 1, sizeof *s->vars);
    MYSQL_ROW row;
    while ((row = mysql_fetch_row(res)) && s->nvars < n) {
        s->vars[s->nvars].name = xstrdup(row[0] ? row[0] : "");
        s->vars[s->nvars].value = xstrdup(row[1] ? row[1] : "");
        s->nvars++;
    }
    mysql_free_result(res);
    return 0;
}

/* The config file section servers of this flavour read. */
static const char *pf_cnf_section(const pf_server *s)
{
    return s->flavor == FLAVOR_MARIADB ? "[mariadbd]" : "[mysqld]";
}

/* Why a login failed, in words that say what to do. */
static void pf_explain_connect(pf_ctx *c, pf_server *s, const char *id, unsigned e, const char *detail)
{
    sbuf msg = SBUF_INIT, fix = SBUF_INIT, where = SBUF_INIT;
    db_endpoint_describe(s->ep, &where);
    const char *skipped = strcmp(s->role, "source") == 0 ? "; source and schema checks skipped"
                                                         : "; destination checks skipped";
    sbuf prefix = SBUF_INIT;
    sbuf_addf(&prefix, "cannot connect to %s: ", where.buf);
    if (strncmp(detail, prefix.buf, prefix.len) == 0)
        detail += prefix.len;
    sbuf_free(&prefix);
    if (e == ER_ACCESS_DENIED_ERROR || e == ER_ACCESS_DENIED_NO_PASSWORD_ERROR) {
        sbuf_addf(&msg, "login refused: the %s rejected %s (wrong password, unknown user, or the account is not "
                        "allowed from this host): %s%s", s->role, where.buf, detail, skipped);
        sbuf_addf(&fix, "check %s-user and %s-password-file; on the server, SELECT user, host FROM mysql.user WHERE "
                        "user = ", s->option, s->option);
        db_add_cstring(&fix, s->ep->user ? s->ep->user : "");
        sbuf_adds(&fix, "; then ALTER USER ");
        db_add_cstring(&fix, s->ep->user ? s->ep->user : "");
        sbuf_adds(&fix, "@'<its host>' IDENTIFIED BY '<the password in the file>';");
    } else if (e == ER_HOST_NOT_PRIVILEGED) {
        sbuf_addf(&msg, "%s has no account %s may log in from: %s%s", s->role, s->ep->user ? s->ep->user : "",
                  detail, skipped);
        sbuf_adds(&fix, "CREATE USER ");
        db_add_cstring(&fix, s->ep->user ? s->ep->user : "");
        sbuf_adds(&fix, "@'<the agent's address>' IDENTIFIED BY '...'; and the grants listed in the README");
    } else if (e == ER_BAD_DB_ERROR) {
        sbuf_addf(&msg, "unknown database on the %s: %s%s", s->role, detail, skipped);
        sbuf_adds(&fix, "name an existing database, or CREATE DATABASE it first");
    } else if (e == CR_SSL_CONNECTION_ERROR) {
        sbuf_addf(&msg, "TLS to the %s failed (TLS was required by the agent's settings): %s%s", s->role, detail,
                  skipped);
        sbuf_addf(&fix, "configure TLS on the server (ssl_cert, ssl_key under %s in its config file) or connect "
                        "without TLS", pf_cnf_section(s));
    } else if (e == CR_UNKNOWN_HOST) {
        sbuf_addf(&msg, "unreachable: the %s host name %s does not resolve: %s%s", s->role,
                  s->ep->host ? s->ep->host : "", detail, skipped);
        sbuf_addf(&fix, "fix %s-host (a name the agent's machine can resolve, or an IP address)", s->option);
    } else if (db_error_is_connection(e)) {
        sbuf_addf(&msg, "unreachable: no %s answers at %s: %s%s", s->role, where.buf, detail, skipped);
        sbuf_addf(&fix, "start the server, or fix %s-host/%s-port (or %s-socket); check its port and bind_address "
                        "and any firewall in between", s->option, s->option, s->option);
    } else {
        sbuf_addf(&msg, "cannot connect to the %s %s: %s%s", s->role, where.buf, detail, skipped);
        sbuf_addf(&fix, "check %s-host, %s-user and %s-password-file (a path the agent reads, on its own machine)",
                  s->option, s->option, s->option);
    }
    preflight_check *ch = pf_emit(c, id, PF_FAIL, &msg, &fix);
    preflight_check_add_object(ch, where.buf);
    sbuf_free(&msg);
    sbuf_free(&fix);
    sbuf_free(&where);
}

/* A refused login may be the server insisting on TLS: MariaDB and MySQL
 * both answer a plain connection to a REQUIRE SSL account, or to a server
 * with require_secure_transport=ON, with the same 1045 as a wrong password.
 * Trying again over TLS tells the two apart when the server offers TLS. */
static bool pf_tls_required(pf_ctx *c, pf_server *s, const char *id)
{
    if (s->ep->tls)
        return false;
    db_endpoint tls = *s->ep;
    tls.tls = true;
    MYSQL *m;
    sbuf err = SBUF_INIT;
    if (db_connect(&tls, 0, &m, &err) != 0) {
        sbuf_free(&err);
        return false;
    }
    sbuf v = SBUF_INIT, msg = SBUF_INIT, fix = SBUF_INIT, where = SBUF_INIT;
    bool found = false, server_wide = false;
    if (db_query_value(m, "SELECT @@global.require_secure_transport", &v, &found, &err) == 0 && found)
        server_wide = strcmp(v.buf, "1") == 0 || strcasecmp(v.buf, "ON") == 0;
    sbuf cu = SBUF_INIT;
    if (db_query_value(m, "SELECT CURRENT_USER()", &cu, &found, &err) != 0 || !found)
        sbuf_setf(&cu, "%s@%%", s->ep->user ? s->ep->user : "");
    mysql_close(m);
    db_endpoint_describe(s->ep, &where);
    sbuf_addf(&msg, "TLS required: the %s accepts this login only over TLS (%s), and the agent connects without "
                    "it; the same login over TLS works; %s checks skipped", s->role,
              server_wide ? "require_secure_transport=ON" : "the account has REQUIRE SSL",
              strcmp(s->role, "source") == 0 ? "source and schema" : "destination");
    if (strcmp(s->role, "source") == 0)
        sbuf_adds(&fix, "connect the agent through the server's unix socket (--source-socket), which counts as "
                        "secure, or allow plain connections: ");
    else
        sbuf_adds(&fix, "give the destination with TLS (cpctl --dest-tls, Endpoint.tls = true), or allow plain "
                        "connections: ");
    if (server_wide) {
        sbuf_adds(&fix, "SET GLOBAL require_secure_transport = OFF;");
    } else {
        sbuf_adds(&fix, "ALTER USER ");
        preflight_add_account(&fix, cu.buf);
        sbuf_adds(&fix, " REQUIRE NONE;");
    }
    preflight_check *ch = pf_emit(c, id, PF_FAIL, &msg, &fix);
    preflight_check_add_object(ch, where.buf);
    sbuf_free(&v);
    sbuf_free(&cu);
    sbuf_free(&msg);
    sbuf_free(&fix);
    sbuf_free(&where);
    sbuf_free(&err);
    return true;
}

bool pf_connect(pf_ctx *c, pf_server *s, const char *id)
{
    sbuf err = SBUF_INIT;
    unsigned e = (unsigned)db_connect(s->ep, 0, &s->m, &err);
    if (e) {
        bool login = e == ER_ACCESS_DENIED_ERROR || e == ER_ACCESS_DENIED_NO_PASSWORD_ERROR;
        if (!login || !pf_tls_required(c, s, id))
            pf_explain_connect(c, s, id, e, err.buf);
        sbuf_free(&err);
        return false;
    }
    s->flavor = flavor_of_version(mysql_get_server_info(s->m));
    sbuf cu = SBUF_INIT;
    bool found;
    e = (unsigned)db_query_value(s->m, "SELECT CURRENT_USER()", &cu, &found, &err);
    if (!e)
        e = (unsigned)pf_load_vars(s, &err);
    if (e) {
        pf_emitf(c, id, PF_FAIL, NULL, "connected to the %s but cannot read its settings: %s", s->role, err.buf);
        sbuf_free(&cu);
        sbuf_free(&err);
        return false;
    }
    s->account = xstrdup(found ? cu.buf : "");
    sbuf where = SBUF_INIT, acct = SBUF_INIT;
    db_endpoint_describe(s->ep, &where);
    preflight_add_account(&acct, s->account);
    pf_emitf(c, id, PF_PASS, NULL, "connected to %s as %s%s, server %s", where.buf, acct.buf,
             s->ep->tls ? " over TLS" : "", mysql_get_server_info(s->m));
    sbuf_free(&where);
    sbuf_free(&acct);
    sbuf_free(&cu);
    sbuf_free(&err);
    return true;
}

void pf_source_connection(pf_ctx *c, const char *id)
{
    c->src_ok = pf_connect(c, &c->src, id);
    c->src_binlog = c->src_ok && pf_var_on(&c->src, "log_bin");
}

/* ---- source settings ------------------------------------------------------------- */

/* " and name=value under [mariadbd] in the server's config file" */
void pf_add_cnf(sbuf *fix, const pf_server *s, const char *setting)
{
    sbuf_addf(fix, " and %s under %s in the %s's config file, so a restart keeps it", setting, pf_cnf_section(s),
              s->role);
}

static void pf_version_check(pf_ctx *c, pf_server *s, const char *id)
{
    const char *v = pf_var_get(s, "version");
    sbuf why = SBUF_INIT;
    if (preflight_version_check(s->flavor, v, &why) == PF_PASS) {
        pf_emitf(c, id, PF_PASS, NULL, "%s is supported (%s)", v, "MariaDB 10.5+, MySQL 5.7, 8.0 and 8.4 are");
    } else {
        preflight_check *ch = pf_emitf(c, id, PF_FAIL,
                                       s->flavor == FLAVOR_MYSQL ? "upgrade the server to MySQL 8.0 or 8.4 (LTS)"
                                                                 : "upgrade the server to MariaDB 10.11 or 11.4 (LTS)",
                                       "%s", why.buf);
        preflight_check_add_object(ch, v ? v : "");
    }
    sbuf_free(&why);
}

void pf_source_version(pf_ctx *c, const char *id)
{
    pf_version_check(c, &c->src, id);
}

void pf_log_bin(pf_ctx *c, pf_server *s, const char *id, const char *why)
{
    if (pf_var_on(s, "log_bin")) {
        const char *base = pf_var_get(s, "log_bin_basename");
        pf_emitf(c, id, PF_PASS, NULL, "binary log is on (%s)", base && *base ? base : "log_bin=ON");
        return;
    }
    sbuf fix = SBUF_INIT;
    sbuf_addf(&fix, "add log_bin=%s and server_id=<a unique number> under %s in the %s's config file and restart "
                    "it (log_bin cannot be changed at runtime)",
              s->flavor == FLAVOR_MARIADB ? "mariadb-bin" : "mysql-bin", pf_cnf_section(s), s->role);
    preflight_check *ch = pf_emitf(c, id, PF_FAIL, fix.buf, "binary log is off: %s", why);
    preflight_check_add_object(ch, "log_bin=OFF");
    sbuf_free(&fix);
}

void pf_source_log_bin(pf_ctx *c, const char *id)
{
    pf_log_bin(c, &c->src, id,
               "the agent streams changes from it; the snapshot, binlog dump and retention checks were skipped");
}

/* A setting that must have one value: PASS, or sev with the SET GLOBAL
 * remedy. */
static void pf_setting(pf_ctx *c, pf_server *s, const char *id, const char *name, const char *want,
                       preflight_severity sev, const char *why)
{
    const char *v = pf_var_get(s, name);
    if (v && strcasecmp(v, want) == 0) {
        pf_emitf(c, id, PF_PASS, NULL, "%s is %s", name, v);
        return;
    }
    sbuf fix = SBUF_INIT, obj = SBUF_INIT;
    bool boolean = strcmp(want, "ON") == 0 || strcmp(want, "OFF") == 0;
    sbuf_addf(&fix, "SET GLOBAL %s = %s%s%s;", name, boolean ? "" : "'", want, boolean ? "" : "'");
    sbuf_addf(&obj, "%s=%s", name, want);
    pf_add_cnf(&fix, s, obj.buf);
    sbuf_adds(&fix, " (open connections keep the old value until they reconnect)");
    sbuf_setf(&obj, "%s=%s", name, v ? v : "(not set)");
    preflight_check *ch = pf_emitf(c, id, sev, fix.buf, "%s is %s, not %s: %s", name, v ? v : "not available",
                                   want, why);
    preflight_check_add_object(ch, obj.buf);
    sbuf_free(&fix);
    sbuf_free(&obj);
}

void pf_source_binlog_format(pf_ctx *c, const char *id)
{
    pf_setting(c, &c->src, id, "binlog_format", "ROW", PF_FAIL,
               "the agent needs row events to know exactly which rows changed");
}

void pf_source_binlog_row_image(pf_ctx *c, const char *id)
{
    pf_setting(c, &c->src, id, "binlog_row_image", "FULL", PF_FAIL,
               "updates must carry every column so the destination row can be found by its key and "
               "compared");
}

void pf_source_binlog_row_metadata(pf_ctx *c, const char *id)
{
    if (!pf_var_get(&c->src, "binlog_row_metadata")) {
        pf_emitf(c, id, PF_WARN, "upgrade the source to MySQL 8.0 or later to get binlog_row_metadata=FULL",
                 "this server has no binlog_row_metadata: column names, signedness and character sets come from "
                 "information_schema instead, which is exact only while no DDL runs during the migration");
        return;
    }
    pf_setting(c, &c->src, id, "binlog_row_metadata", "FULL", PF_WARN,
               "without it the binlog lacks column names, signedness and character sets, so the agent reads them "
               "from information_schema, which is exact only while no DDL runs during the migration");
}

void pf_source_gtid_mode(pf_ctx *c, const char *id)
{
    pf_server *s = &c->src;
    if (s->flavor == FLAVOR_MARIADB) {
        pf_setting(c, s, id, "gtid_strict_mode", "ON", PF_WARN,
                   "MariaDB always logs GTIDs, but without strict mode an out-of-order GTID (a write made "
                   "directly on a replica) goes unnoticed and a stream resumed by GTID could skip or repeat it");
        return;
    }
    const char *mode = pf_var_get(s, "gtid_mode"), *cons = pf_var_get(s, "enforce_gtid_consistency");
    if (mode && cons && strcasecmp(mode, "ON") == 0 && strcasecmp(cons, "ON") == 0) {
        pf_emitf(c, id, PF_PASS, NULL, "gtid_mode and enforce_gtid_consistency are ON");
        return;
    }
    sbuf fix = SBUF_INIT, obj = SBUF_INIT;
    sbuf_adds(&fix, "SET GLOBAL enforce_gtid_consistency = ON; SET GLOBAL gtid_mode = OFF_PERMISSIVE; "
                    "SET GLOBAL gtid_mode = ON_PERMISSIVE; then, once SHOW STATUS LIKE "
                    "'Ongoing_anonymous_transaction_count' is 0 (and every replica has caught up), SET GLOBAL "
                    "gtid_mode = ON;");
    pf_add_cnf(&fix, s, "gtid_mode=ON and enforce_gtid_consistency=ON");
    sbuf_addf(&obj, "gtid_mode=%s, enforce_gtid_consistency=%s", mode ? mode : "-", cons ? cons : "-");
    preflight_check *ch = pf_emitf(c, id, PF_FAIL, fix.buf,
                                   "gtid_mode is %s and enforce_gtid_consistency is %s: the agent resumes streams "
                                   "and cuts over by GTID, so both must be ON", mode ? mode : "unknown",
                                   cons ? cons : "unknown");
    preflight_check_add_object(ch, obj.buf);
    sbuf_free(&fix);
    sbuf_free(&obj);
}

void pf_source_server_id(pf_ctx *c, const char *id)
{
    const char *v = pf_var_get(&c->src, "server_id");
    if (v && strtoul(v, NULL, 10) != 0) {
        pf_emitf(c, id, PF_PASS, NULL, "server_id is %s", v);
        return;
    }
    sbuf fix = SBUF_INIT;
    sbuf_adds(&fix, "SET GLOBAL server_id = <a number unique among your servers>;");
    pf_add_cnf(&fix, &c->src, "server_id=<the same number>");
    preflight_check *ch = pf_emitf(c, id, PF_FAIL, fix.buf,
                                   "server_id is %s: a server without a server_id refuses binlog dumps, so no "
                                   "stream can start", v ? v : "not set");
    preflight_check_add_object(ch, "server_id=0");
    sbuf_free(&fix);
}

void pf_source_binlog_retention(pf_ctx *c, const char *id)
{
    const pf_server *s = &c->src;
    int64_t kept = preflight_retention_seconds(pf_var_get(s, "binlog_expire_logs_seconds"),
                                               pf_var_get(s, "expire_logs_days"),
                                               pf_var_get(s, "binlog_expire_logs_auto_purge"));
    uint64_t need = preflight_retention_need(c->in->retention_hours, c->out->est_copy_seconds);
    uint64_t asked = (uint64_t)(c->in->retention_hours ? c->in->retention_hours : PREFLIGHT_RETENTION_HOURS) * 3600;
    sbuf basis = SBUF_INIT, msg = SBUF_INIT;
    sbuf_adds(&basis, "the copy needs ");
    sbuf_add_duration(&basis, (int64_t)need);
    sbuf_addf(&basis, " (%s; copying ", need > asked ? "twice the estimated copy time" : "the requested retention");
    sbuf_add_bytes(&basis, c->out->est_bytes);
    sbuf_adds(&basis, " is estimated at ");
    sbuf_add_duration(&basis, (int64_t)c->out->est_copy_seconds);
    sbuf_adds(&basis, " at 50 MB/s)");
    if (kept == 0) {
        pf_emitf(c, id, PF_PASS, NULL, "binlogs never expire automatically; %s", basis.buf);
    } else if ((uint64_t)kept >= need) {
        sbuf_adds(&msg, "binlogs are kept ");
        sbuf_add_duration(&msg, kept);
        sbuf_addf(&msg, "; %s", basis.buf);
        pf_emit(c, id, PF_PASS, &msg, NULL);
    } else {
        sbuf fix = SBUF_INIT, obj = SBUF_INIT;
        bool has_seconds = pf_var_get(s, "binlog_expire_logs_seconds") != NULL;
        if (has_seconds) {
            sbuf_addf(&fix, "SET GLOBAL binlog_expire_logs_seconds = %llu;", (unsigned long long)need);
            sbuf_addf(&obj, "binlog_expire_logs_seconds=%llu", (unsigned long long)need);
        } else {
            sbuf_addf(&fix, "SET GLOBAL expire_logs_days = %llu;", (unsigned long long)((need + 86399) / 86400));
            sbuf_addf(&obj, "expire_logs_days=%llu", (unsigned long long)((need + 86399) / 86400));
        }
        pf_add_cnf(&fix, s, obj.buf);
        sbuf_adds(&msg, "binlogs are kept only ");
        sbuf_add_duration(&msg, kept);
        sbuf_addf(&msg, " but %s: a stream started at the copy's snapshot could find its binlog purged, and the "
                        "copy would have to start over", basis.buf);
        preflight_check *ch = pf_emit(c, id, PF_FAIL, &msg, &fix);
        sbuf_setf(&obj, "binlog_expire_logs_seconds=%lld", (long long)kept);
        preflight_check_add_object(ch, obj.buf);
        sbuf_free(&fix);
        sbuf_free(&obj);
    }
    sbuf_free(&basis);
    sbuf_free(&msg);
}

/* ---- source privileges, tried ---------------------------------------------------- */

/* A privilege failure: name the privilege, quote the server, give the GRANT. */
static void pf_grant_fail(pf_ctx *c, pf_server *s, const char *id, const char *fallback, const char *what,
                          const char *detail)
{
    sbuf fix = SBUF_INIT, obj = SBUF_INIT, named = SBUF_INIT;
    const char *priv = preflight_privilege_named(detail, &named) == 0 ? named.buf : fallback;
    preflight_add_grant(&fix, priv, NULL, s->account);
    sbuf_addf(&obj, "%s ON *.*", priv);
    preflight_check *ch = pf_emitf(c, id, PF_FAIL, fix.buf, "the agent's account lacks %s, needed to %s: %s", priv,
                                   what, detail);
    preflight_check_add_object(ch, obj.buf);
    sbuf_free(&fix);
    sbuf_free(&obj);
    sbuf_free(&named);
}

const char *pf_monitor_priv(const pf_server *s)
{
    return s->flavor == FLAVOR_MARIADB ? "BINLOG MONITOR" : "REPLICATION CLIENT";
}

/* SHOW MASTER STATUS, under the name this version knows it by. Fills the
 * server's binlog_file/binlog_pos when the binary log is on. */
int pf_master_status(pf_server *s, sbuf *err)
{
    int ma = 0, mi = 0, pa = 0;
    preflight_version_parse(pf_var_get(s, "version"), &ma, &mi, &pa);
    bool new_name = s->flavor == FLAVOR_MYSQL && (ma > 8 || (ma == 8 && mi >= 2));
    MYSQL_RES *res;
    int e = db_query(s->m, new_name ? "SHOW BINARY LOG STATUS" : "SHOW MASTER STATUS", &res, err);
    if (e)
        return e;
    MYSQL_ROW row = mysql_fetch_row(res);
    if (row && row[0]) {
        free(s->binlog_file);
        s->binlog_file = xstrdup(row[0]);
        s->binlog_pos = row[1] ? strtoull(row[1], NULL, 10) : 4;
    }
    mysql_free_result(res);
    return 0;
}

void pf_source_grant_binlog_monitor(pf_ctx *c, const char *id)
{
    pf_server *s = &c->src;
    int e = pf_master_status(s, &c->err);
    if (e == ER_SPECIFIC_ACCESS_DENIED_ERROR)
        pf_grant_fail(c, s, id, pf_monitor_priv(s), "read binlog positions (SHOW MASTER STATUS)", c->err.buf);
    else if (e)
        pf_emitf(c, id, PF_FAIL, NULL, "SHOW MASTER STATUS failed: %s", c->err.buf);
    else if (s->binlog_file)
        pf_emitf(c, id, PF_PASS, NULL, "%s works: SHOW MASTER STATUS read %s:%llu", pf_monitor_priv(s),
                 s->binlog_file, (unsigned long long)s->binlog_pos);
    else
        pf_emitf(c, id, PF_PASS, NULL, "%s works: SHOW MASTER STATUS answered", pf_monitor_priv(s));
}

void pf_source_grant_snapshot(pf_ctx *c, const char *id)
{
    pf_server *s = &c->src;
    sbuf *err = &c->err;
    /* What the copy does first. No privilege is needed for it today; a
     * 1227 here would name the one a future server wants. */
    int e = db_exec(s->m, "START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY", err);
    if (e) {
        if (e == ER_SPECIFIC_ACCESS_DENIED_ERROR)
            pf_grant_fail(c, s, id, "RELOAD", "open a consistent snapshot", err->buf);
        else
            pf_emitf(c, id, PF_FAIL, NULL, "cannot open a consistent snapshot: %s", err->buf);
        return;
    }
    sbuf file = SBUF_INIT, pos = SBUF_INIT, gtid = SBUF_INIT, q = SBUF_INIT;
    bool found = false;
    if (s->flavor == FLAVOR_MARIADB) {
        MYSQL_RES *res;
        e = db_query(s->m, "SHOW STATUS LIKE 'binlog_snapshot_%'", &res, err);
        if (!e) {
            MYSQL_ROW row;
            while ((row = mysql_fetch_row(res)))
                if (row[0] && row[1])
                    sbuf_adds(strcasecmp(row[0], "Binlog_snapshot_file") == 0 ? &file : &pos, row[1]);
            mysql_free_result(res);
            sbuf_adds(&q, "SELECT BINLOG_GTID_POS(");
            db_add_cstring(&q, file.buf ? file.buf : "");
            sbuf_addf(&q, ", %llu)", pos.buf ? strtoull(pos.buf, NULL, 10) : 0ULL);
            e = db_query_value(s->m, q.buf, &gtid, &found, err);
        }
    } else {
        e = db_query_value(s->m, "SELECT @@global.gtid_executed", &gtid, &found, err);
    }
    sbuf rb = SBUF_INIT;
    db_exec(s->m, "ROLLBACK", &rb);
    sbuf_free(&rb);
    if (e == ER_SPECIFIC_ACCESS_DENIED_ERROR)
        pf_grant_fail(c, s, id, pf_monitor_priv(s), "read the snapshot's binlog position", err->buf);
    else if (e)
        pf_emitf(c, id, PF_FAIL, NULL, "reading the snapshot's position failed: %s", err->buf);
    else if (!found)
        pf_emitf(c, id, PF_FAIL, "check that the binary log is on and readable (SHOW BINARY LOGS)",
                 "the server could not map the snapshot's binlog position %s:%s to a GTID", sbuf_cstr(&file),
                 sbuf_cstr(&pos));
    else if (s->flavor == FLAVOR_MARIADB)
        pf_emitf(c, id, PF_PASS, NULL, "consistent snapshot opened at %s:%s, GTID position '%s'", file.buf,
                 sbuf_cstr(&pos), gtid.buf);
    else
        pf_emitf(c, id, PF_PASS, NULL, "consistent snapshot opened; gtid_executed '%s'", gtid.buf);
    sbuf_free(&file);
    sbuf_free(&pos);
    sbuf_free(&gtid);
    sbuf_free(&q);
}

/* Interrupts a binlog dump that has not produced an event in time. */
typedef struct pf_watchdog {
    uv_mutex_t lock;
    uv_cond_t cond;
    bool done;
    streamer *s;
} pf_watchdog;

static void pf_watchdog_main(void *arg)
{
    pf_watchdog *w = arg;
    int64_t until = clock_mono_ms() + PF_DUMP_WAIT_MS;
    uv_mutex_lock(&w->lock);
    for (int64_t left; !w->done && (left = until - clock_mono_ms()) > 0;)
        uv_cond_timedwait(&w->cond, &w->lock, (uint64_t)left * 1000000u);
    if (!w->done)
        streamer_interrupt(w->s);
    uv_mutex_unlock(&w->lock);
}

/* Read one event from an open dump, giving up after PF_DUMP_WAIT_MS. */
static int pf_dump_first_event(streamer *st, stream_event *ev, sbuf *err)
{
    pf_watchdog w = {.done = false, .s = st};
    uv_mutex_init(&w.lock);
    uv_cond_init(&w.cond);
    uv_thread_t t;
    bool watching = uv_thread_create(&t, pf_watchdog_main, &w) == 0;
    int e = streamer_next(st, ev, err);
    if (watching) {
        uv_mutex_lock(&w.lock);
        w.done = true;
        uv_cond_signal(&w.cond);
        uv_mutex_unlock(&w.lock);
        uv_thread_join(&t);
    }
    uv_mutex_destroy(&w.lock);
    uv_cond_destroy(&w.cond);
    return e;
}

static uint32_t pf_dump_server_id(void)
{
    uint32_t mix = (uint32_t)getpid() * 2654435761u ^ (uint32_t)clock_mono_ms();
    return PF_DUMP_SERVER_ID_BASE + mix % (UINT32_MAX - PF_DUMP_SERVER_ID_BASE);
}

void pf_source_grant_replication_slave(pf_ctx *c, const char *id)
{
    pf_server *s = &c->src;
    streamer_config cfg = {
        .source = s->ep,
        .server_id = pf_dump_server_id(),
        .start_file = s->binlog_file ? s->binlog_file : "",
        .start_offset = s->binlog_file ? s->binlog_pos : 4,
        .heartbeat_ms = PF_DUMP_HEARTBEAT_MS,
        .filter = c->filter,
        .skip_schema = c->in->sidecar_schema,
    };
    streamer *st = NULL;
    sbuf *err = &c->err;
    int e = streamer_open(&cfg, &st, err);
    if (!e) {
        stream_event ev;
        e = pf_dump_first_event(st, &ev, err);
        if (!e)
            stream_event_free(&ev);
        else if (e == STREAMER_EINTERRUPTED)
            e = 0; /* no event and no error in time: the dump was accepted */
        streamer_close(st);
    }
    if (e == ER_SPECIFIC_ACCESS_DENIED_ERROR || e == ER_ACCESS_DENIED_ERROR)
        pf_grant_fail(c, s, id, "REPLICATION SLAVE", "stream the binlog (a binlog dump)", err->buf);
    else if (e)
        pf_emitf(c, id, PF_FAIL, NULL, "a binlog dump from %s:%llu failed: %s", cfg.start_file,
                 (unsigned long long)cfg.start_offset, err->buf);
    else
        pf_emitf(c, id, PF_PASS, NULL, "REPLICATION SLAVE works: a binlog dump from %s:%llu started and was closed",
                 *cfg.start_file ? cfg.start_file : "the first binlog", (unsigned long long)cfg.start_offset);
}

void pf_source_grant_reload(pf_ctx *c, const char *id)
{
    pf_server *s = &c->src;
    const preflight_grants *g = pf_grants(s, &c->err);
    if (!g) {
        pf_emitf(c, id, PF_WARN, NULL, "cannot read SHOW GRANTS to check RELOAD: %s", c->err.buf);
        return;
    }
    if (preflight_grants_has(g, "RELOAD", NULL)) {
        pf_emitf(c, id, PF_PASS, NULL, "RELOAD is granted (read from SHOW GRANTS: trying it would lock the server)");
        return;
    }
    pf_grant_fail(c, s, id, "RELOAD", "fence writes at cutover (BACKUP STAGE, FLUSH TABLES WITH READ LOCK)",
                  "SHOW GRANTS lists no RELOAD on *.*");
}

/* What fencing writes needs on a server (the source at a switch, the
 * destination at a reverse): set read_only, see and kill the sessions of
 * the accounts it locks, and lock them (ALTER USER needs CREATE USER or
 * UPDATE on the mysql schema). Without them a cutover is refused at its
 * first step; found here, before any data moves. */
void pf_grant_fence(pf_ctx *c, pf_server *s, const char *id, const char *side)
{
    const preflight_grants *g = pf_grants(s, &c->err);
    if (!g) {
        pf_emitf(c, id, PF_WARN, NULL, "cannot read SHOW GRANTS to check the cutover privileges: %s", c->err.buf);
        return;
    }
    bool maria = s->flavor == FLAVOR_MARIADB;
    const char *ro = maria ? "READ_ONLY ADMIN" : "SYSTEM_VARIABLES_ADMIN";
    const char *kill = maria ? "CONNECTION ADMIN" : "CONNECTION_ADMIN";
    sbuf missing = SBUF_INIT;
    if (!preflight_grants_has(g, ro, NULL) && !preflight_grants_has(g, "SUPER", NULL))
        sbuf_addf(&missing, "%s", ro);
    if (!preflight_grants_has(g, kill, NULL) && !preflight_grants_has(g, "SUPER", NULL))
        sbuf_addf(&missing, "%s%s", missing.len ? ", " : "", kill);
    if (!preflight_grants_has(g, "PROCESS", NULL))
        sbuf_addf(&missing, "%sPROCESS", missing.len ? ", " : "");
    if (!preflight_grants_has(g, "CREATE USER", NULL) && !preflight_grants_has(g, "UPDATE", "mysql"))
        sbuf_addf(&missing, "%sCREATE USER", missing.len ? ", " : "");
    if (!missing.len) {
        pf_emitf(c, id, PF_PASS, NULL, "%s, %s, PROCESS and CREATE USER are granted: the %s can be fenced at cutover",
                 ro, kill, side);
    } else {
        sbuf what = SBUF_INIT;
        sbuf_addf(&what, "fence the %s's writes at cutover (read_only, and locking and disconnecting the "
                         "application's accounts)", side);
        pf_grant_fail(c, s, id, missing.buf, what.buf, "SHOW GRANTS lists none of them");
        sbuf_free(&what);
    }
    sbuf_free(&missing);
}

void pf_source_grant_fence(pf_ctx *c, const char *id)
{
    pf_grant_fence(c, &c->src, id, "source");
}

/* After a switch the source is the target of reverse replication: it
 * writes the migrated tables there and keeps its position and journal in
 * the source's sidecar schema. Without these the way back breaks at the
 * first reverse transaction. */
void pf_source_grant_reverse(pf_ctx *c, const char *id)
{
    pf_server *s = &c->src;
    const preflight_grants *g = pf_grants(s, &c->err);
    if (!g) {
        pf_emitf(c, id, PF_WARN, NULL, "cannot read SHOW GRANTS to check reverse replication's privileges: %s",
                 c->err.buf);
        return;
    }
    pf_missing *miss = NULL;
    size_t nmiss = 0;
    pf_missing_scoped(c, g, PF_ROLE_SOURCE, s->flavor, true, &miss, &nmiss);
    if (!nmiss) {
        pf_emitf(c, id, PF_PASS, NULL, "reverse replication can write the tables and its state on the source");
        free(miss);
        return;
    }
    pf_emit_missing(c, id, s, miss, nmiss,
                    "after a switch, reverse replication writes the destination's changes back to these tables "
                    "and keeps its position in the sidecar schema; without them the way back breaks");
}

