/* preflight_dest: the destination.* checks, run only when a destination is
 * given.
 *
 * The destination is judged against the source: a version at least as
 * new, the collations the source's tables use, the same sql_mode, no rows
 * already in the tables the copy fills. After cutover it becomes the
 * source of the reverse stream that keeps the old source in sync, and the
 * server a ReverseTraffic fences, so it needs a ROW binlog and the fencing
 * grants too. What it shares with the source (logging in, log_bin, the
 * fencing grants) is written once in preflight_source.c. */
#include <mysqld_error.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "preflight/preflight_internal.h"

void pf_destination_connection(pf_ctx *c, const char *id)
{
    c->dst_ok = pf_connect(c, &c->dst, id);
}

/* A wrong port, a VIP or a DNS alias can lead back to the source; an
 * import into it would apply the source's binlog into the source, each
 * applied event writing a new one, until its disk fills. Every other
 * destination check would only describe the source again: skip them. */
void pf_destination_distinct(pf_ctx *c, const char *id)
{
    bool same = false;
    if (db_same_server(c->src.m, c->dst.m, &same, &c->err) != 0) {
        pf_emitf(c, id, PF_WARN, "check that the destination address does not lead to the source",
                 "could not tell whether the destination is another server than the source: %s", c->err.buf);
        return;
    }
    if (!same) {
        pf_emitf(c, id, PF_PASS, NULL, "the destination is another server than the source");
        return;
    }
    sbuf who = SBUF_INIT;
    db_server_describe(c->src.m, &who);
    preflight_check *ch = pf_emitf(c, id, PF_FAIL,
                                   "point the destination at another server (check its port, and the VIP or "
                                   "DNS name it goes through)",
                                   "the destination %s is the source server itself (%s): an import would apply the "
                                   "source's binlog back into it, forever; destination checks skipped",
                                   c->dst.ep->host ? c->dst.ep->host : c->dst.ep->socket, who.buf);
    preflight_check_add_object(ch, who.buf);
    c->dst_ok = false;
    sbuf_free(&who);
}

void pf_destination_version(pf_ctx *c, const char *id)
{
    pf_server *d = &c->dst, *s = &c->src;
    const char *dv = pf_var_get(d, "version"), *sv = pf_var_get(s, "version");
    sbuf why = SBUF_INIT;
    if (preflight_version_check(d->flavor, dv, &why) != PF_PASS) {
        preflight_check *ch = pf_emitf(c, id, PF_FAIL, "use a supported destination server", "%s", why.buf);
        preflight_check_add_object(ch, dv ? dv : "");
        sbuf_free(&why);
        return;
    }
    sbuf_free(&why);
    if (!c->src_ok) {
        pf_emitf(c, id, PF_PASS, NULL, "%s is supported", dv);
        return;
    }
    int sma = 0, smi = 0, spa = 0, dma = 0, dmi = 0, dpa = 0;
    preflight_version_parse(sv, &sma, &smi, &spa);
    preflight_version_parse(dv, &dma, &dmi, &dpa);
    if (d->flavor != s->flavor) {
        pf_emitf(c, id, PF_WARN, "test the application against the destination before cutover",
                 "the source is %s %s and the destination %s %s: tables are created from the source's definitions, "
                 "and types or collations one flavour lacks (UUID, INET6, utf8mb4_0900_*) fail there",
                 flavor_name(s->flavor), sv, flavor_name(d->flavor), dv);
    } else if (dma < sma || (dma == sma && dmi < smi)) {
        pf_emitf(c, id, PF_WARN, "use a destination at least as new as the source",
                 "the destination %s %s is older than the source %s: tables are created from the source's "
                 "definitions, which may use features the older server lacks", flavor_name(d->flavor), dv, sv);
    } else {
        pf_emitf(c, id, PF_PASS, NULL, "%s, compatible with the source's %s", dv, sv);
    }
}

void pf_missing_add(pf_missing **v, size_t *n, const char *db, const char *priv)
{
    for (size_t i = 0; i < *n; i++) {
        pf_missing *m = &(*v)[i];
        if ((m->db == NULL) == (db == NULL) && (!db || strcmp(m->db, db) == 0)) {
            sbuf_addf(&m->privs, ", %s", priv);
            return;
        }
    }
    *v = xrealloc(*v, (*n + 1) * sizeof **v);
    pf_missing *m = &(*v)[(*n)++];
    m->db = db ? xstrdup(db) : NULL;
    sbuf_init(&m->privs, 0);
    sbuf_adds(&m->privs, priv);
}

/* What role's table-level privileges (preflight_privileges) the account
 * lacks on the databases in scope and on the sidecar schema. */
void pf_missing_scoped(pf_ctx *c, const preflight_grants *g, preflight_role role, server_flavor f, bool writes_only,
                              pf_missing **miss, size_t *nmiss)
{
    const char *side = c->in->sidecar_schema && *c->in->sidecar_schema ? c->in->sidecar_schema : "_tablet_agent";
    for (size_t j = 0; j < preflight_nprivileges; j++) {
        const preflight_privilege *p = &preflight_privileges[j];
        const char *name = preflight_privilege_name(p, f);
        if (!(p->roles & role) || (writes_only && strcmp(name, "SELECT") == 0))
            continue;
        for (size_t i = 0; (p->scope & PF_ON_TABLES) && c->scope_ok && i < c->ndbs; i++)
            if (!preflight_grants_has(g, name, c->dbs[i]))
                pf_missing_add(miss, nmiss, c->dbs[i], name);
        if ((p->scope & PF_ON_SIDECAR) && !preflight_grants_has(g, name, side))
            pf_missing_add(miss, nmiss, side, name);
    }
}

/* A FAIL listing what is missing, one GRANT per level as the remedy and one
 * object per privilege ("INSERT ON `db`.*"); frees miss. */
void pf_emit_missing(pf_ctx *c, const char *id, const pf_server *srv, pf_missing *miss, size_t nmiss,
                            const char *why)
{
    sbuf msg = SBUF_INIT, fix = SBUF_INIT, line = SBUF_INIT, obj = SBUF_INIT;
    size_t count = 0;
    sbuf_addf(&msg, "the %s account lacks ", srv->role);
    for (size_t i = 0; i < nmiss; i++) {
        sbuf_reset(&obj);
        sbuf_addf(&obj, "%s ON ", miss[i].privs.buf);
        if (miss[i].db) {
            db_add_ident(&obj, miss[i].db);
            sbuf_adds(&obj, ".*");
        } else {
            sbuf_adds(&obj, "*.*");
        }
        if (i < PF_LIST_MAX)
            sbuf_addf(&msg, "%s%s", i ? "; " : "", obj.buf);
        sbuf_reset(&line);
        preflight_add_grant(&line, miss[i].privs.buf, miss[i].db, srv->account);
        pf_remedy_line(&fix, &count, line.buf);
    }
    if (nmiss > PF_LIST_MAX)
        sbuf_addf(&msg, " and %zu more", nmiss - PF_LIST_MAX);
    sbuf_addf(&msg, " (from SHOW GRANTS): %s", why);
    preflight_check *ch = pf_emit(c, id, PF_FAIL, &msg, &fix);
    for (size_t i = 0; i < nmiss; i++) {
        for (const char *p = miss[i].privs.buf; p && *p;) {
            const char *e = strstr(p, ", ");
            sbuf_reset(&obj);
            sbuf_add(&obj, p, e ? (size_t)(e - p) : strlen(p));
            sbuf_adds(&obj, " ON ");
            if (miss[i].db) {
                db_add_ident(&obj, miss[i].db);
                sbuf_adds(&obj, ".*");
            } else {
                sbuf_adds(&obj, "*.*");
            }
            preflight_check_add_object(ch, obj.buf);
            p = e ? e + 2 : NULL;
        }
        free(miss[i].db);
        sbuf_free(&miss[i].privs);
    }
    free(miss);
    sbuf_free(&msg);
    sbuf_free(&fix);
    sbuf_free(&line);
    sbuf_free(&obj);
}

void pf_destination_grants(pf_ctx *c, const char *id)
{
    pf_server *d = &c->dst;
    const preflight_grants *g = pf_grants(d, &c->err);
    if (!g) {
        pf_emitf(c, id, PF_FAIL, NULL, "cannot read SHOW GRANTS on the destination: %s", c->err.buf);
        return;
    }
    pf_missing *miss = NULL;
    size_t nmiss = 0;
    pf_missing_scoped(c, g, PF_ROLE_DEST, d->flavor, false, &miss, &nmiss);
    const char *side = c->in->sidecar_schema && *c->in->sidecar_schema ? c->in->sidecar_schema : "_tablet_agent";
    if (!preflight_grants_has(g, "RELOAD", NULL))
        pf_missing_add(&miss, &nmiss, NULL, "RELOAD");
    if (!preflight_grants_has(g, "REPLICATION SLAVE", NULL))
        pf_missing_add(&miss, &nmiss, NULL, "REPLICATION SLAVE");
    /* The one privilege that can be tried without changing anything. */
    sbuf err = SBUF_INIT;
    if (pf_master_status(d, &err) == ER_SPECIFIC_ACCESS_DENIED_ERROR)
        pf_missing_add(&miss, &nmiss, NULL, pf_monitor_priv(d));
    sbuf_free(&err);
    if (!nmiss) {
        sbuf msg = SBUF_INIT;
        sbuf_adds(&msg, "the account can create and write ");
        for (size_t i = 0; c->scope_ok && i < c->ndbs && i < PF_LIST_MAX; i++) {
            db_add_ident(&msg, c->dbs[i]);
            sbuf_adds(&msg, ".*, ");
        }
        db_add_ident(&msg, side);
        sbuf_addf(&msg, ".* and has RELOAD, REPLICATION SLAVE and %s (read from SHOW GRANTS, %s tried)",
                  pf_monitor_priv(d), pf_monitor_priv(d));
        pf_emit(c, id, PF_PASS, &msg, NULL);
        sbuf_free(&msg);
        free(miss);
        return;
    }
    pf_emit_missing(c, id, d, miss, nmiss,
                    "the copy creates and writes the tables, keeps its state in the sidecar schema and, after "
                    "cutover, streams the destination's binlog back to the source");
}

void pf_destination_grant_fence(pf_ctx *c, const char *id)
{
    pf_grant_fence(c, &c->dst, id, "destination");
}

void pf_destination_log_bin(pf_ctx *c, const char *id)
{
    pf_log_bin(c, &c->dst, id,
               "after cutover the old source is kept in sync from the destination's binlog (the way back if "
               "something goes wrong), which needs it");
}

void pf_destination_binlog_format(pf_ctx *c, const char *id)
{
    pf_server *d = &c->dst;
    if (!pf_var_on(d, "log_bin"))
        return; /* destination.log_bin says it all */
    const char *f = pf_var_get(d, "binlog_format"), *img = pf_var_get(d, "binlog_row_image");
    bool fmt_ok = f && strcasecmp(f, "ROW") == 0;
    if (fmt_ok && img && strcasecmp(img, "FULL") == 0) {
        pf_emitf(c, id, PF_PASS, NULL, "binlog_format is ROW and binlog_row_image FULL, ready for reverse "
                                       "replication");
        return;
    }
    sbuf fix = SBUF_INIT, obj = SBUF_INIT;
    if (!fmt_ok)
        sbuf_adds(&fix, "SET GLOBAL binlog_format = 'ROW';");
    if (!img || strcasecmp(img, "FULL") != 0)
        sbuf_addf(&fix, "%sSET GLOBAL binlog_row_image = 'FULL';", fix.len ? " " : "");
    pf_add_cnf(&fix, d, "binlog_format=ROW and binlog_row_image=FULL");
    sbuf_addf(&obj, "binlog_format=%s, binlog_row_image=%s", f ? f : "-", img ? img : "-");
    preflight_check *ch = pf_emitf(c, id, PF_FAIL, fix.buf,
                                   "the destination logs binlog_format=%s, binlog_row_image=%s: reverse replication "
                                   "after cutover needs ROW and FULL", f ? f : "?", img ? img : "?");
    preflight_check_add_object(ch, obj.buf);
    sbuf_free(&fix);
    sbuf_free(&obj);
}

void pf_destination_tables_empty(pf_ctx *c, const char *id)
{
    pf_server *d = &c->dst;
    sbuf q = SBUF_INIT, err = SBUF_INIT;
    sbuf_adds(&q, "SELECT TABLE_SCHEMA, TABLE_NAME FROM information_schema.TABLES");
    pf_add_db_in(&q, c, "TABLE_SCHEMA");
    MYSQL_RES *res;
    int e = db_query(d->m, q.buf, &res, &err);
    if (e) {
        pf_emitf(c, id, PF_FAIL, NULL, "cannot list the destination's tables: %s", err.buf);
        sbuf_free(&q);
        sbuf_free(&err);
        return;
    }
    pf_names full = {0};
    size_t existing = 0;
    MYSQL_ROW row;
    while ((row = mysql_fetch_row(res))) {
        if (!row[0] || !row[1] || !pf_find_table(c, row[0], row[1]))
            continue;
        existing++;
        sbuf_setf(&q, "SELECT 1 FROM ");
        db_add_table(&q, row[0], row[1]);
        sbuf_adds(&q, " LIMIT 1");
        sbuf one = SBUF_INIT;
        bool found = false;
        if (db_query_value(d->m, q.buf, &one, &found, &err) == 0 && found)
            pf_names_add_table(&full, row[0], row[1], NULL);
        sbuf_free(&one);
    }
    mysql_free_result(res);
    if (!full.n) {
        pf_emitf(c, id, PF_PASS, NULL, "none of the %zu tables exists on the destination with rows (%zu exist, "
                                       "empty)", c->ntables, existing);
    } else {
        sbuf msg = SBUF_INIT, fix = SBUF_INIT, line = SBUF_INIT;
        size_t count = 0;
        sbuf_addf(&msg, "%zu destination %s rows already, and the copy would mix them with the source's: ", full.n,
                  full.n == 1 ? "table has" : "tables have");
        pf_add_list(&msg, (const char *const *)full.v, full.n);
        for (size_t i = 0; i < full.n; i++) {
            sbuf_setf(&line, "TRUNCATE TABLE %s;", full.v[i]);
            pf_remedy_line(&fix, &count, line.buf);
        }
        sbuf_adds(&fix, "\n-- on the destination, once you are sure nothing there is needed (or DROP TABLE, "
                        "and the copy creates it)");
        preflight_check *ch = pf_emit(c, id, PF_FAIL, &msg, &fix);
        pf_objects_from(ch, &full);
        sbuf_free(&msg);
        sbuf_free(&fix);
        sbuf_free(&line);
    }
    pf_names_free(&full);
    sbuf_free(&q);
    sbuf_free(&err);
}

void pf_destination_sql_mode(pf_ctx *c, const char *id)
{
    const char *sm = pf_var_get(&c->src, "sql_mode"), *dm = pf_var_get(&c->dst, "sql_mode");
    sbuf only_src = SBUF_INIT, only_dst = SBUF_INIT;
    preflight_sql_mode_minus(sm, dm, &only_src);
    preflight_sql_mode_minus(dm, sm, &only_dst);
    if (!only_src.len && !only_dst.len) {
        pf_emitf(c, id, PF_PASS, NULL, "sql_mode is the same on both servers ('%s')", sm ? sm : "");
    } else {
        sbuf msg = SBUF_INIT, fix = SBUF_INIT;
        sbuf_adds(&msg, "sql_mode differs:");
        if (only_dst.len)
            sbuf_addf(&msg, " the destination adds %s", only_dst.buf);
        if (only_src.len)
            sbuf_addf(&msg, "%s the destination lacks %s", only_dst.len ? ";" : "", only_src.buf);
        sbuf_adds(&msg, "; the agent writes with its own session sql_mode, but the application will run with the "
                        "destination's after cutover and may see different errors, truncation or zero dates");
        sbuf_addf(&fix, "on the destination: SET GLOBAL sql_mode = '%s';", sm ? sm : "");
        sbuf setting = SBUF_INIT;
        sbuf_addf(&setting, "sql_mode=%s", sm ? sm : "");
        pf_add_cnf(&fix, &c->dst, setting.buf);
        preflight_check *ch = pf_emit(c, id, PF_WARN, &msg, &fix);
        sbuf_setf(&setting, "source sql_mode=%s", sm ? sm : "");
        preflight_check_add_object(ch, setting.buf);
        sbuf_setf(&setting, "destination sql_mode=%s", dm ? dm : "");
        preflight_check_add_object(ch, setting.buf);
        sbuf_free(&setting);
        sbuf_free(&msg);
        sbuf_free(&fix);
    }
    sbuf_free(&only_src);
    sbuf_free(&only_dst);
}

/* Every row travels to the destination in one packet (a copy page's bulk
 * execution, an applied row event), so a row the source holds must fit the
 * destination's packet; a server answers a bigger one by hanging up. */
void pf_destination_max_allowed_packet(pf_ctx *c, const char *id)
{
    const char *sv = pf_var_get(&c->src, "max_allowed_packet"), *dv = pf_var_get(&c->dst, "max_allowed_packet");
    uint64_t sp = sv ? strtoull(sv, NULL, 10) : 0, dp = dv ? strtoull(dv, NULL, 10) : 0;
    bool fits = !sp || !dp || dp >= sp;
    sbuf msg = SBUF_INIT, fix = SBUF_INIT, setting = SBUF_INIT;
    sbuf_adds(&msg, "the destination's max_allowed_packet (");
    sbuf_add_bytes(&msg, dp);
    sbuf_adds(&msg, fits ? ") takes any row the source's (" : ") is below the source's (");
    sbuf_add_bytes(&msg, sp);
    if (fits) {
        sbuf_adds(&msg, ") does");
        pf_emit(c, id, PF_PASS, &msg, NULL);
    } else {
        sbuf_adds(&msg, "): a row larger than the destination's limit would stop the copy or the replication");
        sbuf_addf(&fix, "on the destination: SET GLOBAL max_allowed_packet = %llu;", (unsigned long long)sp);
        sbuf_addf(&setting, "max_allowed_packet=%llu", (unsigned long long)sp);
        pf_add_cnf(&fix, &c->dst, setting.buf);
        preflight_check *ch = pf_emit(c, id, PF_WARN, &msg, &fix);
        sbuf_setf(&setting, "source max_allowed_packet=%llu", (unsigned long long)sp);
        preflight_check_add_object(ch, setting.buf);
        sbuf_setf(&setting, "destination max_allowed_packet=%llu", (unsigned long long)dp);
        preflight_check_add_object(ch, setting.buf);
    }
    sbuf_free(&msg);
    sbuf_free(&fix);
    sbuf_free(&setting);
}

void pf_destination_charset(pf_ctx *c, const char *id)
{
    pf_names used = {0}, have = {0}, missing = {0};
    pf_scope_collations(c, &used);
    if (pf_load_collations(c->dst.m, &have, &c->err) != 0) {
        pf_emitf(c, id, PF_FAIL, NULL, "cannot list the destination's collations: %s", c->err.buf);
        pf_names_free(&used);
        pf_names_free(&have);
        return;
    }
    for (size_t i = 0; i < used.n; i++)
        if (!pf_names_has(&have, used.v[i]))
            pf_names_add(&missing, used.v[i]);
    if (!missing.n) {
        pf_emitf(c, id, PF_PASS, NULL, "the destination has all %zu collations the tables use", used.n);
    } else {
        sbuf msg = SBUF_INIT;
        sbuf_addf(&msg, "the destination lacks %zu %s the tables use, so creating them fails: ", missing.n,
                  missing.n == 1 ? "collation" : "collations");
        pf_add_list(&msg, (const char *const *)missing.v, missing.n);
        preflight_check *ch = pf_emitf(c, id, PF_FAIL,
                                       "use a destination version that has them, or convert the source tables to a "
                                       "collation both have: ALTER TABLE <table> CONVERT TO CHARACTER SET utf8mb4 "
                                       "COLLATE utf8mb4_unicode_520_ci;", "%s", msg.buf);
        pf_objects_from(ch, &missing);
        sbuf_free(&msg);
    }
    pf_names_free(&used);
    pf_names_free(&have);
    pf_names_free(&missing);
}
