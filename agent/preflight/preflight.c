/* preflight: the checks behind the Preflight RPC. See preflight.h.
 *
 * This file holds the report, the context every check shares and the
 * steps; the checks themselves are in preflight_source.c,
 * preflight_schema.c and preflight_dest.c, one file per family, and the
 * rules they apply in preflight_rules.c (see preflight_internal.h).
 *
 * How it works: a table of steps (preflight_steps, at the end) runs in
 * order, one function per check id. Each step declares what it needs (a
 * source connection, the source's binary log, the set of tables in scope, a
 * destination connection); a step whose need is not met is skipped without
 * a report line, because its failure would only repeat the one that caused
 * it. The connection steps and schema.tables establish those needs.
 *
 * What "verify by trying" means here, and what it cannot mean: privileges
 * the copy and the streams use read-only are exercised for real (a
 * consistent snapshot with its GTID, SHOW MASTER STATUS, a binlog dump
 * opened from the current position and closed, SELECT ... LIMIT 0 on every
 * table), and a failure is mapped to the privilege by name (1227 carries
 * it; 1142 is a table privilege). Privileges whose use would change the
 * server (RELOAD locks it, the destination's DDL and DML write to it) are
 * read from SHOW GRANTS instead, which includes the grants of active roles.
 *
 * Server facts come from SHOW GLOBAL VARIABLES filtered by name, so a
 * variable a flavour or version lacks is simply absent instead of failing
 * the whole query. Identifiers enter SQL and remedies only through
 * db_add_ident, and names enter WHERE clauses only as string literals. */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "lib/clock.h"
#include "preflight/preflight_internal.h"

/* Statements in one remedy; more are summarised. */
#define PF_REMEDY_MAX 20

/* ---- the report ------------------------------------------------------------ */

const char *preflight_severity_name(preflight_severity s)
{
    switch (s) {
    case PF_PASS: return "PASS";
    case PF_WARN: return "WARN";
    case PF_FAIL: return "FAIL";
    }
    return "?";
}

preflight_check *preflight_report_add(preflight_report *r, const char *id, preflight_severity sev,
                                      const char *message, const char *remedy)
{
    if (r->nchecks == r->cap) {
        r->cap = r->cap ? r->cap * 2 : 32;
        r->checks = xrealloc(r->checks, r->cap * sizeof *r->checks);
    }
    preflight_check *c = &r->checks[r->nchecks++];
    memset(c, 0, sizeof *c);
    c->id = id;
    c->severity = sev;
    c->message = xstrdup(message ? message : "");
    c->remedy = remedy && *remedy && sev != PF_PASS ? xstrdup(remedy) : NULL; /* nothing to fix on PASS */
    if (sev > r->worst)
        r->worst = sev;
    return c;
}

void preflight_check_add_object(preflight_check *c, const char *object)
{
    c->objects = xrealloc(c->objects, (c->nobjects + 1) * sizeof *c->objects);
    c->objects[c->nobjects++] = xstrdup(object);
}

const preflight_check *preflight_report_find(const preflight_report *r, const char *id)
{
    for (size_t i = 0; i < r->nchecks; i++)
        if (strcmp(r->checks[i].id, id) == 0)
            return &r->checks[i];
    return NULL;
}

void preflight_report_clear(preflight_report *r)
{
    for (size_t i = 0; i < r->nchecks; i++) {
        preflight_check *c = &r->checks[i];
        free(c->message);
        free(c->remedy);
        for (size_t j = 0; j < c->nobjects; j++)
            free(c->objects[j]);
        free(c->objects);
    }
    free(r->checks);
    memset(r, 0, sizeof *r);
}

/* ---- servers --------------------------------------------------------------- */

static void pf_server_clear(pf_server *s)
{
    if (s->m)
        mysql_close(s->m);
    for (size_t i = 0; i < s->nvars; i++) {
        free(s->vars[i].name);
        free(s->vars[i].value);
    }
    free(s->vars);
    free(s->account);
    free(s->binlog_file);
    preflight_grants_clear(&s->grants);
}

/* A global variable's value, NULL when the server has no such variable. */
const char *pf_var_get(const pf_server *s, const char *name)
{
    for (size_t i = 0; i < s->nvars; i++)
        if (strcasecmp(s->vars[i].name, name) == 0)
            return s->vars[i].value;
    return NULL;
}

bool pf_var_on(const pf_server *s, const char *name)
{
    const char *v = pf_var_get(s, name);
    return v && (strcasecmp(v, "ON") == 0 || strcmp(v, "1") == 0);
}

/* SHOW GRANTS for the current user (and its active roles), once. */
const preflight_grants *pf_grants(pf_server *s, sbuf *err)
{
    if (s->grants_loaded)
        return s->grants_error ? NULL : &s->grants;
    s->grants_loaded = true;
    MYSQL_RES *res;
    s->grants_error = db_query(s->m, "SHOW GRANTS", &res, err);
    if (s->grants_error)
        return NULL;
    MYSQL_ROW row;
    while ((row = mysql_fetch_row(res)))
        if (row[0])
            preflight_grants_add_line(&s->grants, row[0]);
    mysql_free_result(res);
    return &s->grants;
}

/* ---- the context and its scope ------------------------------------------------ */

bool pf_cancelled(const pf_ctx *c)
{
    return c->in->cancel && atomic_load(c->in->cancel);
}

/* Emit a check built from sbufs (remedy may be NULL or empty). */
preflight_check *pf_emit(pf_ctx *c, const char *id, preflight_severity sev, const sbuf *msg,
                         const sbuf *remedy)
{
    return preflight_report_add(c->out, id, sev, sbuf_cstr(msg), remedy ? sbuf_cstr(remedy) : NULL);
}

preflight_check *pf_emitf(pf_ctx *c, const char *id, preflight_severity sev, const char *remedy,
                          const char *fmt, ...)
{
    sbuf msg = SBUF_INIT;
    va_list ap;
    va_start(ap, fmt);
    sbuf_vaddf(&msg, fmt, ap);
    va_end(ap);
    preflight_check *ch = preflight_report_add(c->out, id, sev, sbuf_cstr(&msg), remedy);
    sbuf_free(&msg);
    return ch;
}

/* "`a`.`b`, `c`.`d` and 3 more" into msg. */
void pf_add_list(sbuf *msg, const char *const *names, size_t n)
{
    for (size_t i = 0; i < n && i < PF_LIST_MAX; i++)
        sbuf_addf(msg, "%s%s", i ? ", " : "", names[i]);
    if (n > PF_LIST_MAX)
        sbuf_addf(msg, " and %zu more", n - PF_LIST_MAX);
}

void pf_names_add_table(pf_names *l, const char *db, const char *name, const char *suffix)
{
    sbuf s = SBUF_INIT;
    db_add_table(&s, db, name);
    if (suffix)
        sbuf_adds(&s, suffix);
    l->v = xrealloc(l->v, (l->n + 1) * sizeof *l->v);
    l->v[l->n++] = sbuf_detach(&s, NULL);
}

void pf_names_add(pf_names *l, const char *s)
{
    l->v = xrealloc(l->v, (l->n + 1) * sizeof *l->v);
    l->v[l->n++] = xstrdup(s);
}

bool pf_names_has(const pf_names *l, const char *s)
{
    for (size_t i = 0; i < l->n; i++)
        if (strcmp(l->v[i], s) == 0)
            return true;
    return false;
}

void pf_names_free(pf_names *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->v[i]);
    free(l->v);
    memset(l, 0, sizeof *l);
}

void pf_objects_from(preflight_check *ch, const pf_names *l)
{
    for (size_t i = 0; i < l->n; i++)
        preflight_check_add_object(ch, l->v[i]);
}

/* Remedy statements, one per line, capped. */
void pf_remedy_line(sbuf *r, size_t *count, const char *line)
{
    if (*count == PF_REMEDY_MAX)
        sbuf_adds(r, "\n-- and the same for the other objects listed");
    if ((*count)++ >= PF_REMEDY_MAX)
        return;
    if (r->len)
        sbuf_addc(r, '\n');
    sbuf_adds(r, line);
}

const pf_table *pf_find_table(const pf_ctx *c, const char *db, const char *name)
{
    for (size_t i = 0; i < c->ntables; i++)
        if (strcmp(c->tables[i].db, db) == 0 && strcmp(c->tables[i].name, name) == 0)
            return &c->tables[i];
    return NULL;
}

/* " WHERE <col> IN ('db1', 'db2')" over the databases in scope. */
void pf_add_db_in(sbuf *q, const pf_ctx *c, const char *col)
{
    sbuf_addf(q, " WHERE %s IN (", col);
    for (size_t i = 0; i < c->ndbs; i++) {
        if (i)
            sbuf_adds(q, ", ");
        db_add_cstring(q, c->dbs[i]);
    }
    if (!c->ndbs)
        sbuf_adds(q, "NULL");
    sbuf_addc(q, ')');
}

static void pf_scope_clear(pf_ctx *c)
{
    for (size_t i = 0; i < c->ntables; i++) {
        pf_table *t = &c->tables[i];
        free(t->db);
        free(t->name);
        free(t->collation);
        free(t->read_message);
        schema_table_free(t->schema);
    }
    free(c->tables);
    for (size_t i = 0; i < c->nviews; i++) {
        free(c->views[i].db);
        free(c->views[i].name);
    }
    free(c->views);
    for (size_t i = 0; i < c->ndbs; i++)
        free(c->dbs[i]);
    free(c->dbs);
}

/* ---- the steps ------------------------------------------------------------------------ */

enum {
    PF_NEED_SOURCE = 1 << 0, /* a source connection */
    PF_NEED_BINLOG = 1 << 1, /* the source's binary log on */
    PF_NEED_SCOPE = 1 << 2,  /* the tables in scope (schema.tables worked) */
    PF_NEED_DEST = 1 << 3,   /* a destination connection */
    PF_DEST_GIVEN = 1 << 4,  /* run only when a destination was given */
};

typedef struct pf_step {
    const char *id;
    unsigned needs;
    void (*run)(pf_ctx *c, const char *id);
} pf_step;

/* The order is the report's order; grouping by prefix is the reader's. */
static const pf_step preflight_steps[] = {
    /* can the agent log in to its source, and does it say why not */
    {"source.connection", 0, pf_source_connection},
    /* MariaDB 10.5+, MySQL 5.7, 8.0, 8.4 */
    {"source.version", PF_NEED_SOURCE, pf_source_version},
    {"source.log_bin", PF_NEED_SOURCE, pf_source_log_bin},
    {"source.binlog_format", PF_NEED_SOURCE, pf_source_binlog_format},
    {"source.binlog_row_image", PF_NEED_SOURCE, pf_source_binlog_row_image},
    /* FULL recommended: WARN otherwise */
    {"source.binlog_row_metadata", PF_NEED_SOURCE, pf_source_binlog_row_metadata},
    /* MySQL gtid_mode + enforce_gtid_consistency (FAIL); MariaDB gtid_strict_mode (WARN) */
    {"source.gtid_mode", PF_NEED_SOURCE, pf_source_gtid_mode},
    {"source.server_id", PF_NEED_SOURCE, pf_source_server_id},
    /* tried: SHOW MASTER STATUS */
    {"source.grant.binlog_monitor", PF_NEED_SOURCE, pf_source_grant_binlog_monitor},
    /* tried: START TRANSACTION WITH CONSISTENT SNAPSHOT + its exact GTID */
    {"source.grant.snapshot", PF_NEED_SOURCE | PF_NEED_BINLOG, pf_source_grant_snapshot},
    /* tried: a binlog dump from the current position, opened and closed */
    {"source.grant.replication_slave", PF_NEED_SOURCE | PF_NEED_BINLOG, pf_source_grant_replication_slave},
    /* read from SHOW GRANTS (trying would lock the server) */
    {"source.grant.reload", PF_NEED_SOURCE, pf_source_grant_reload},
    /* read from SHOW GRANTS: read_only, KILL, PROCESS, ALTER USER */
    {"source.grant.fence", PF_NEED_SOURCE, pf_source_grant_fence},
    /* which tables the filter selects; unknown databases; loads the scope */
    {"schema.tables", PF_NEED_SOURCE, pf_schema_tables},
    /* read from SHOW GRANTS: what reverse replication writes on the source */
    {"source.grant.reverse", PF_NEED_SCOPE, pf_source_grant_reverse},
    /* tried: SELECT of every column, LIMIT 0, on every table */
    {"source.grant.select", PF_NEED_SCOPE, pf_source_grant_select},
    /* tried: SHOW CREATE VIEW on every view */
    {"source.grant.show_view", PF_NEED_SCOPE, pf_source_grant_show_view},
    /* retention vs max(requested, 2 x estimated copy time) */
    {"source.binlog_retention", PF_NEED_SOURCE | PF_NEED_BINLOG, pf_source_binlog_retention},
    {"schema.key", PF_NEED_SCOPE, pf_schema_key},
    {"schema.engine", PF_NEED_SCOPE, pf_schema_engine},
    {"schema.charset", PF_NEED_SCOPE, pf_schema_charset},
    {"schema.foreign_keys", PF_NEED_SCOPE, pf_schema_foreign_keys},
    {"schema.triggers", PF_NEED_SCOPE, pf_schema_triggers},
    {"schema.routines", PF_NEED_SCOPE, pf_schema_routines},
    {"schema.events", PF_NEED_SCOPE, pf_schema_events},
    {"schema.views", PF_NEED_SCOPE, pf_schema_views},
    {"schema.generated_columns", PF_NEED_SCOPE, pf_schema_generated_columns},
    {"schema.identifiers", PF_NEED_SCOPE, pf_schema_identifiers},
    {"schema.size", PF_NEED_SCOPE, pf_schema_size},
    {"destination.connection", PF_DEST_GIVEN, pf_destination_connection},
    /* the destination is not the source itself (tried: a user lock) */
    {"destination.distinct", PF_NEED_DEST | PF_NEED_SOURCE, pf_destination_distinct},
    {"destination.version", PF_NEED_DEST, pf_destination_version},
    /* read from SHOW GRANTS (trying DDL would change it); BINLOG MONITOR tried */
    {"destination.grants", PF_NEED_DEST, pf_destination_grants},
    /* the destination is fenced when writes move back (ReverseTraffic) */
    {"destination.grant.fence", PF_NEED_DEST, pf_destination_grant_fence},
    {"destination.log_bin", PF_NEED_DEST, pf_destination_log_bin},
    {"destination.binlog_format", PF_NEED_DEST, pf_destination_binlog_format},
    {"destination.tables_empty", PF_NEED_DEST | PF_NEED_SCOPE, pf_destination_tables_empty},
    {"destination.sql_mode", PF_NEED_DEST | PF_NEED_SOURCE, pf_destination_sql_mode},
    {"destination.max_allowed_packet", PF_NEED_DEST | PF_NEED_SOURCE, pf_destination_max_allowed_packet},
    {"destination.charset", PF_NEED_DEST | PF_NEED_SCOPE, pf_destination_charset},
};

bool preflight_check_known(const char *id)
{
    for (size_t i = 0; i < sizeof preflight_steps / sizeof preflight_steps[0]; i++)
        if (strcmp(preflight_steps[i].id, id) == 0)
            return true;
    return false;
}

bool preflight_check_overridable(const char *id)
{
    return strcmp(id, "destination.distinct") != 0;
}

static bool pf_step_ready(const pf_ctx *c, unsigned needs)
{
    if ((needs & (PF_DEST_GIVEN | PF_NEED_DEST)) && !c->in->destination)
        return false;
    return (!(needs & PF_NEED_SOURCE) || c->src_ok) && (!(needs & PF_NEED_BINLOG) || c->src_binlog) &&
           (!(needs & PF_NEED_SCOPE) || c->scope_ok) && (!(needs & PF_NEED_DEST) || c->dst_ok);
}

int preflight_run(const preflight_input *in, preflight_report *out)
{
    int64_t start = clock_mono_ms();
    memset(out, 0, sizeof *out);
    pf_ctx c;
    memset(&c, 0, sizeof c);
    c.in = in;
    c.out = out;
    c.filter = in->filter ? in->filter : &c.no_filter;
    c.src = (pf_server){.role = "source", .option = "--source", .ep = in->source};
    c.dst = (pf_server){.role = "destination", .option = "--dest", .ep = in->destination};
    int rc = 0;
    for (size_t i = 0; i < sizeof preflight_steps / sizeof preflight_steps[0]; i++) {
        if (pf_cancelled(&c)) {
            rc = -1;
            break;
        }
        if (pf_step_ready(&c, preflight_steps[i].needs))
            preflight_steps[i].run(&c, preflight_steps[i].id);
    }
    pf_scope_clear(&c);
    pf_server_clear(&c.src);
    pf_server_clear(&c.dst);
    sbuf_free(&c.err);
    if (!out->worst)
        out->worst = PF_PASS;
    out->duration_ms = (uint32_t)(clock_mono_ms() - start);
    return rc;
}
