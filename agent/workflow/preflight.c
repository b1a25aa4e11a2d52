/* preflight: the checks behind the Preflight RPC. See preflight.h.
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
#include "workflow/preflight.h"

#include <ctype.h>
#include <errmsg.h>
#include <errno.h>
#include <mysqld_error.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "db/schema.h"

/* How long the binlog dump check waits for its first event (a heartbeat
 * comes after PF_DUMP_HEARTBEAT_MS on an idle server). */
#define PF_DUMP_HEARTBEAT_MS 200u
#define PF_DUMP_WAIT_MS 5000u
/* Replica server ids for the dump check: above any id people configure, so
 * it cannot kick out a real replica (a server drops the older of two dump
 * connections with the same id). */
#define PF_DUMP_SERVER_ID_BASE 4000000000u
/* Names quoted in one message line; the objects list has them all. */
#define PF_LIST_MAX 3
/* Statements in one remedy; more are summarised. */
#define PF_REMEDY_MAX 20

static const char *const pf_system_schemas = "'mysql', 'information_schema', 'performance_schema', 'sys'";

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

/* ---- pure rules ------------------------------------------------------------ */

int preflight_version_parse(const char *version, int *major, int *minor, int *patch)
{
    if (!version)
        return -1;
    /* Some MariaDB builds report "5.5.5-10.11.6-MariaDB" to old clients. */
    if (strncmp(version, "5.5.5-", 6) == 0 && strstr(version, "MariaDB"))
        version += 6;
    const char *p = version;
    long v[3] = {0, 0, 0};
    int parts = 0;
    while (parts < 3 && isdigit((unsigned char)*p)) {
        char *end;
        v[parts++] = strtol(p, &end, 10);
        p = end;
        if (*p != '.')
            break;
        p++;
    }
    if (parts < 2) /* at least major.minor */
        return -1;
    *major = (int)v[0];
    *minor = (int)v[1];
    *patch = (int)v[2];
    return 0;
}

preflight_severity preflight_version_check(db_flavor f, const char *version, sbuf *why)
{
    static const char supported[] = "the agent supports MariaDB 10.5 and later and MySQL 5.7, 8.0 and 8.4";
    int ma, mi, pa;
    if (f == FLAVOR_UNKNOWN || preflight_version_parse(version, &ma, &mi, &pa) != 0) {
        sbuf_setf(why, "cannot tell the server version from \"%s\"; %s", version ? version : "", supported);
        return PF_FAIL;
    }
    bool ok = f == FLAVOR_MARIADB ? (ma > 10 || (ma == 10 && mi >= 5))
                                  : ((ma == 5 && mi == 7) || (ma == 8 && (mi == 0 || mi == 4)));
    if (ok)
        return PF_PASS;
    sbuf_setf(why, "%s %d.%d.%d is not supported: %s", f == FLAVOR_MARIADB ? "MariaDB" : "MySQL", ma, mi, pa,
              supported);
    return PF_FAIL;
}

int64_t preflight_retention_seconds(const char *expire_seconds, const char *expire_days, const char *auto_purge)
{
    if (auto_purge && (strcasecmp(auto_purge, "OFF") == 0 || strcmp(auto_purge, "0") == 0))
        return 0;
    long long s = expire_seconds ? atoll(expire_seconds) : 0;
    if (s > 0)
        return s;
    double d = expire_days ? atof(expire_days) : 0;
    return d > 0 ? (int64_t)(d * 86400.0 + 0.5) : 0;
}

uint64_t preflight_copy_seconds(uint64_t bytes)
{
    return (bytes + PREFLIGHT_COPY_BYTES_PER_S - 1) / PREFLIGHT_COPY_BYTES_PER_S;
}

uint64_t preflight_retention_need(unsigned hours, uint64_t copy_seconds)
{
    uint64_t need = (uint64_t)(hours ? hours : PREFLIGHT_RETENTION_HOURS) * 3600;
    return 2 * copy_seconds > need ? 2 * copy_seconds : need;
}

void preflight_add_account(sbuf *out, const char *current_user)
{
    const char *cu = current_user && *current_user ? current_user : "agent@%";
    const char *at = strrchr(cu, '@'); /* host names cannot hold '@'; user names can */
    size_t ulen = at ? (size_t)(at - cu) : strlen(cu);
    db_add_string(out, cu, ulen);
    sbuf_addc(out, '@');
    db_add_cstring(out, at ? at + 1 : "%");
}

void preflight_add_grant(sbuf *out, const char *privs, const char *db, const char *current_user)
{
    sbuf_addf(out, "GRANT %s ON ", privs);
    if (db) {
        db_add_ident(out, db);
        sbuf_adds(out, ".*");
    } else {
        sbuf_adds(out, "*.*");
    }
    sbuf_adds(out, " TO ");
    preflight_add_account(out, current_user);
    sbuf_addc(out, ';');
}

int preflight_privilege_named(const char *message, sbuf *out)
{
    /* "Access denied; you need (at least one of) the SUPER, BINLOG MONITOR
     * privilege(s) for this operation": the last one is the specific one
     * (SUPER is the catch-all nobody should grant an agent). */
    static const char lead[] = "you need (at least one of) the ";
    const char *p = message ? strstr(message, lead) : NULL;
    const char *end = p ? strstr(p, " privilege") : NULL;
    if (!end)
        return -1;
    p += sizeof lead - 1;
    for (const char *q = p; q < end; q++)
        if (q[0] == ',' && q[1] == ' ')
            p = q + 2;
    if (p >= end)
        return -1;
    sbuf_reset(out);
    sbuf_add(out, p, (size_t)(end - p));
    return 0;
}

bool preflight_like(const char *p, const char *s)
{
    for (; *p; p++, s++) {
        if (*p == '%') {
            while (p[1] == '%')
                p++;
            for (const char *t = s;; t++) {
                if (preflight_like(p + 1, t))
                    return true;
                if (!*t)
                    return false;
            }
        }
        if (!*s)
            return false;
        if (*p == '\\' && p[1])
            p++;
        else if (*p == '_')
            continue;
        if (*p != *s)
            return false;
    }
    return !*s;
}

/* Skip a `quoted` identifier or a (parenthesised) column list. */
static const char *pf_skip_quoted(const char *p)
{
    if (*p == '`') {
        for (p++; *p; p++)
            if (*p == '`' && *++p != '`')
                return p;
        return p;
    }
    if (*p == '(') {
        int depth = 0;
        for (; *p; p++) {
            if (*p == '`')
                p = pf_skip_quoted(p) - 1;
            else if (*p == '(')
                depth++;
            else if (*p == ')' && --depth == 0)
                return p + 1;
        }
    }
    return p;
}

/* Position of the keyword kw (" ON ", " TO ") outside quotes, or NULL. */
static const char *pf_find_keyword(const char *p, const char *kw)
{
    size_t n = strlen(kw);
    while (*p) {
        if (*p == '`' || *p == '(') {
            p = pf_skip_quoted(p);
            continue;
        }
        if (strncmp(p, kw, n) == 0)
            return p;
        p++;
    }
    return NULL;
}

/* `name` (backticks undone) at p; returns the end, or NULL. */
static const char *pf_unquote(const char *p, sbuf *out)
{
    sbuf_reset(out);
    if (*p != '`')
        return NULL;
    for (p++; *p; p++) {
        if (*p == '`') {
            if (p[1] != '`')
                return p + 1;
            p++;
        }
        sbuf_addc(out, *p);
    }
    return NULL;
}

static void pf_grant_add_priv(struct preflight_grant *gr, const char *s, size_t n)
{
    while (n && isspace((unsigned char)*s))
        s++, n--;
    while (n && isspace((unsigned char)s[n - 1]))
        n--;
    if (!n || memchr(s, '(', n)) /* column-level grants do not cover a table */
        return;
    char *p = xstrndup(s, n);
    for (char *q = p; *q; q++)
        *q = (char)toupper((unsigned char)*q);
    if (strcmp(p, "REPLICATION CLIENT") == 0) { /* MariaDB's alias */
        free(p);
        p = xstrdup("BINLOG MONITOR");
    } else if (strcmp(p, "ALL") == 0) {
        free(p);
        p = xstrdup("ALL PRIVILEGES");
    }
    gr->privs = xrealloc(gr->privs, (gr->nprivs + 1) * sizeof *gr->privs);
    gr->privs[gr->nprivs++] = p;
}

void preflight_grants_add_line(preflight_grants *g, const char *line)
{
    if (strncasecmp(line, "GRANT ", 6) != 0)
        return;
    const char *privs = line + 6;
    const char *on = pf_find_keyword(privs, " ON ");
    if (!on || !pf_find_keyword(on, " TO "))
        return;
    const char *obj = on + 4;
    sbuf name = SBUF_INIT;
    char *db = NULL;
    if (strncmp(obj, "*.* ", 4) == 0) {
        db = NULL;
    } else {
        const char *end = pf_unquote(obj, &name);
        if (!end || strncmp(end, ".* ", 3) != 0) { /* a table, routine or proxy grant */
            sbuf_free(&name);
            return;
        }
        db = sbuf_detach(&name, NULL);
        if (!db)
            db = xstrdup("");
    }
    sbuf_free(&name);
    g->v = xrealloc(g->v, (g->n + 1) * sizeof *g->v);
    struct preflight_grant *gr = &g->v[g->n++];
    memset(gr, 0, sizeof *gr);
    gr->db = db;
    const char *start = privs;
    for (const char *p = privs; p <= on;) {
        if (p == on || *p == ',') {
            pf_grant_add_priv(gr, start, (size_t)(p - start));
            if (p == on)
                break;
            start = ++p;
        } else if (*p == '`' || *p == '(') {
            p = pf_skip_quoted(p);
        } else {
            p++;
        }
    }
}

bool preflight_grants_has(const preflight_grants *g, const char *priv, const char *db)
{
    for (size_t i = 0; i < g->n; i++) {
        const struct preflight_grant *gr = &g->v[i];
        if (gr->db && (!db || !preflight_like(gr->db, db)))
            continue;
        for (size_t j = 0; j < gr->nprivs; j++)
            if (strcmp(gr->privs[j], priv) == 0 ||
                (strcmp(gr->privs[j], "ALL PRIVILEGES") == 0 && strcmp(priv, "GRANT OPTION") != 0))
                return true;
    }
    return false;
}

void preflight_grants_clear(preflight_grants *g)
{
    for (size_t i = 0; i < g->n; i++) {
        free(g->v[i].db);
        for (size_t j = 0; j < g->v[i].nprivs; j++)
            free(g->v[i].privs[j]);
        free(g->v[i].privs);
    }
    free(g->v);
    memset(g, 0, sizeof *g);
}

static bool pf_mode_in(const char *mode, size_t n, const char *list)
{
    for (const char *p = list; p && *p;) {
        const char *e = strchr(p, ',');
        size_t len = e ? (size_t)(e - p) : strlen(p);
        if (len == n && strncasecmp(p, mode, n) == 0)
            return true;
        p = e ? e + 1 : NULL;
    }
    return false;
}

void preflight_sql_mode_minus(const char *a, const char *b, sbuf *out)
{
    for (const char *p = a; p && *p;) {
        const char *e = strchr(p, ',');
        size_t len = e ? (size_t)(e - p) : strlen(p);
        if (len && !pf_mode_in(p, len, b)) {
            if (out->len)
                sbuf_addc(out, ',');
            sbuf_add(out, p, len);
        }
        p = e ? e + 1 : NULL;
    }
}

/* ---- servers --------------------------------------------------------------- */

typedef struct pf_var {
    char *name, *value;
} pf_var;

typedef struct pf_server {
    const char *role;   /* "source" or "destination", for messages */
    const char *option; /* its cpctl/agent option prefix: "--source", "--dest" */
    const db_endpoint *ep;
    MYSQL *m;
    db_flavor flavor;
    pf_var *vars;
    size_t nvars;
    char *account; /* CURRENT_USER(): user@host */
    preflight_grants grants;
    int grants_error; /* SHOW GRANTS failed with this error */
    bool grants_loaded;
    char *binlog_file; /* SHOW MASTER STATUS, when it worked */
    uint64_t binlog_pos;
} pf_server;

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
static const char *pf_var_get(const pf_server *s, const char *name)
{
    for (size_t i = 0; i < s->nvars; i++)
        if (strcasecmp(s->vars[i].name, name) == 0)
            return s->vars[i].value;
    return NULL;
}

static bool pf_var_on(const pf_server *s, const char *name)
{
    const char *v = pf_var_get(s, name);
    return v && (strcasecmp(v, "ON") == 0 || strcmp(v, "1") == 0);
}

static const char *pf_flavor_name(db_flavor f)
{
    return f == FLAVOR_MARIADB ? "MariaDB" : f == FLAVOR_MYSQL ? "MySQL" : "unknown server";
}

/* The config file section servers of this flavour read. */
static const char *pf_cnf_section(const pf_server *s)
{
    return s->flavor == FLAVOR_MARIADB ? "[mariadbd]" : "[mysqld]";
}

static const char *const pf_var_names =
    "'version', 'version_comment', 'server_id', 'log_bin', 'log_bin_basename', 'binlog_format', "
    "'binlog_row_image', 'binlog_row_metadata', 'gtid_mode', 'enforce_gtid_consistency', 'gtid_strict_mode', "
    "'binlog_expire_logs_seconds', 'expire_logs_days', 'binlog_expire_logs_auto_purge', 'sql_mode', "
    "'require_secure_transport', 'character_set_server', 'collation_server'";

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

/* SHOW GRANTS for the current user (and its active roles), once. */
static const preflight_grants *pf_grants(pf_server *s, sbuf *err)
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

typedef struct pf_table {
    char *db, *name;
    schema_table *schema; /* NULL when it could not be loaded */
    char *collation;      /* the table's default collation */
    unsigned read_error;  /* SELECT of every column, LIMIT 0 */
    char *read_message;
} pf_table;

typedef struct pf_name {
    char *db, *name;
} pf_name;

typedef struct pf_ctx {
    const preflight_input *in;
    preflight_report *out;
    table_filter no_filter;
    const table_filter *filter;
    pf_server src, dst;
    bool src_ok, src_binlog, scope_ok, dst_ok;
    pf_table *tables;
    size_t ntables;
    pf_name *views;
    size_t nviews;
    char **dbs; /* databases holding tables or views in scope */
    size_t ndbs;
    sbuf err;
} pf_ctx;

static bool pf_cancelled(const pf_ctx *c)
{
    return c->in->cancel && atomic_load(c->in->cancel);
}

/* Emit a check built from sbufs (remedy may be NULL or empty). */
static preflight_check *pf_emit(pf_ctx *c, const char *id, preflight_severity sev, const sbuf *msg,
                                const sbuf *remedy)
{
    return preflight_report_add(c->out, id, sev, sbuf_cstr(msg), remedy ? sbuf_cstr(remedy) : NULL);
}

static preflight_check *pf_emitf(pf_ctx *c, const char *id, preflight_severity sev, const char *remedy,
                                 const char *fmt, ...) __attribute__((format(printf, 5, 6)));

static preflight_check *pf_emitf(pf_ctx *c, const char *id, preflight_severity sev, const char *remedy,
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
static void pf_add_list(sbuf *msg, const char *const *names, size_t n)
{
    for (size_t i = 0; i < n && i < PF_LIST_MAX; i++)
        sbuf_addf(msg, "%s%s", i ? ", " : "", names[i]);
    if (n > PF_LIST_MAX)
        sbuf_addf(msg, " and %zu more", n - PF_LIST_MAX);
}

/* A growing list of quoted names, for messages and objects together. */
typedef struct pf_names {
    char **v;
    size_t n;
} pf_names;

static void pf_names_add_table(pf_names *l, const char *db, const char *name, const char *suffix)
{
    sbuf s = SBUF_INIT;
    db_add_table(&s, db, name);
    if (suffix)
        sbuf_adds(&s, suffix);
    l->v = xrealloc(l->v, (l->n + 1) * sizeof *l->v);
    l->v[l->n++] = sbuf_detach(&s, NULL);
}

static void pf_names_add(pf_names *l, const char *s)
{
    l->v = xrealloc(l->v, (l->n + 1) * sizeof *l->v);
    l->v[l->n++] = xstrdup(s);
}

static bool pf_names_has(const pf_names *l, const char *s)
{
    for (size_t i = 0; i < l->n; i++)
        if (strcmp(l->v[i], s) == 0)
            return true;
    return false;
}

static void pf_names_free(pf_names *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->v[i]);
    free(l->v);
    memset(l, 0, sizeof *l);
}

static void pf_objects_from(preflight_check *ch, const pf_names *l)
{
    for (size_t i = 0; i < l->n; i++)
        preflight_check_add_object(ch, l->v[i]);
}

/* Database names as objects: `db`, quoted like every other name. */
static void pf_objects_from_dbs(preflight_check *ch, const pf_names *dbs)
{
    sbuf o = SBUF_INIT;
    for (size_t i = 0; i < dbs->n; i++) {
        sbuf_reset(&o);
        db_add_ident(&o, dbs->v[i]);
        preflight_check_add_object(ch, o.buf);
    }
    sbuf_free(&o);
}

/* Remedy statements, one per line, capped. */
static void pf_remedy_line(sbuf *r, size_t *count, const char *line)
{
    if (*count == PF_REMEDY_MAX)
        sbuf_adds(r, "\n-- and the same for the other objects listed");
    if ((*count)++ >= PF_REMEDY_MAX)
        return;
    if (r->len)
        sbuf_addc(r, '\n');
    sbuf_adds(r, line);
}

static bool pf_in_scope_db(const pf_ctx *c, const char *db)
{
    for (size_t i = 0; i < c->ndbs; i++)
        if (strcmp(c->dbs[i], db) == 0)
            return true;
    return false;
}

static const pf_table *pf_find_table(const pf_ctx *c, const char *db, const char *name)
{
    for (size_t i = 0; i < c->ntables; i++)
        if (strcmp(c->tables[i].db, db) == 0 && strcmp(c->tables[i].name, name) == 0)
            return &c->tables[i];
    return NULL;
}

/* " WHERE <col> IN ('db1', 'db2')" over the databases in scope. */
static void pf_add_db_in(sbuf *q, const pf_ctx *c, const char *col)
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

/* ---- connections (source.connection, destination.connection) -------------------- */

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

static bool pf_connect(pf_ctx *c, pf_server *s, const char *id)
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
    s->flavor = probe_flavor_of(mysql_get_server_info(s->m));
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

static void pf_source_connection(pf_ctx *c, const char *id)
{
    c->src_ok = pf_connect(c, &c->src, id);
    c->src_binlog = c->src_ok && pf_var_on(&c->src, "log_bin");
}

static void pf_destination_connection(pf_ctx *c, const char *id)
{
    c->dst_ok = pf_connect(c, &c->dst, id);
}

/* ---- source settings ------------------------------------------------------------- */

/* " and name=value under [mariadbd] in the server's config file" */
static void pf_add_cnf(sbuf *fix, const pf_server *s, const char *setting)
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

static void pf_source_version(pf_ctx *c, const char *id)
{
    pf_version_check(c, &c->src, id);
}

static void pf_log_bin(pf_ctx *c, pf_server *s, const char *id, const char *why)
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

static void pf_source_log_bin(pf_ctx *c, const char *id)
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

static void pf_source_binlog_format(pf_ctx *c, const char *id)
{
    pf_setting(c, &c->src, id, "binlog_format", "ROW", PF_FAIL,
               "the agent needs row events to know exactly which rows changed");
}

static void pf_source_binlog_row_image(pf_ctx *c, const char *id)
{
    pf_setting(c, &c->src, id, "binlog_row_image", "FULL", PF_FAIL,
               "updates must carry every column so the destination row can be found by its key and "
               "compared");
}

static void pf_source_binlog_row_metadata(pf_ctx *c, const char *id)
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

static void pf_source_gtid_mode(pf_ctx *c, const char *id)
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

static void pf_source_server_id(pf_ctx *c, const char *id)
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

static void pf_source_binlog_retention(pf_ctx *c, const char *id)
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

static const char *pf_monitor_priv(const pf_server *s)
{
    return s->flavor == FLAVOR_MARIADB ? "BINLOG MONITOR" : "REPLICATION CLIENT";
}

/* SHOW MASTER STATUS, under the name this version knows it by. Fills the
 * server's binlog_file/binlog_pos when the binary log is on. */
static int pf_master_status(pf_server *s, sbuf *err)
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

static void pf_source_grant_binlog_monitor(pf_ctx *c, const char *id)
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

static void pf_source_grant_snapshot(pf_ctx *c, const char *id)
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
    pthread_mutex_t lock;
    pthread_cond_t cond;
    bool done;
    streamer *s;
} pf_watchdog;

static void *pf_watchdog_main(void *arg)
{
    pf_watchdog *w = arg;
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += PF_DUMP_WAIT_MS / 1000;
    until.tv_nsec += (long)(PF_DUMP_WAIT_MS % 1000) * 1000000L;
    if (until.tv_nsec >= 1000000000L) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&w->lock);
    int rc = 0;
    while (!w->done && rc != ETIMEDOUT)
        rc = pthread_cond_timedwait(&w->cond, &w->lock, &until);
    if (!w->done)
        streamer_interrupt(w->s);
    pthread_mutex_unlock(&w->lock);
    return NULL;
}

/* Read one event from an open dump, giving up after PF_DUMP_WAIT_MS. */
static int pf_dump_first_event(streamer *st, stream_event *ev, sbuf *err)
{
    pf_watchdog w = {.done = false, .s = st};
    pthread_mutex_init(&w.lock, NULL);
    pthread_cond_init(&w.cond, NULL);
    pthread_t t;
    bool watching = pthread_create(&t, NULL, pf_watchdog_main, &w) == 0;
    int e = streamer_next(st, ev, err);
    if (watching) {
        pthread_mutex_lock(&w.lock);
        w.done = true;
        pthread_cond_signal(&w.cond);
        pthread_mutex_unlock(&w.lock);
        pthread_join(t, NULL);
    }
    pthread_mutex_destroy(&w.lock);
    pthread_cond_destroy(&w.cond);
    return e;
}

static uint32_t pf_dump_server_id(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    uint32_t mix = (uint32_t)getpid() * 2654435761u ^ (uint32_t)ts.tv_nsec ^ (uint32_t)ts.tv_sec;
    return PF_DUMP_SERVER_ID_BASE + mix % (UINT32_MAX - PF_DUMP_SERVER_ID_BASE);
}

static void pf_source_grant_replication_slave(pf_ctx *c, const char *id)
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

static void pf_source_grant_reload(pf_ctx *c, const char *id)
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
static void pf_grant_fence(pf_ctx *c, pf_server *s, const char *id, const char *side)
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

static void pf_source_grant_fence(pf_ctx *c, const char *id)
{
    pf_grant_fence(c, &c->src, id, "source");
}

static void pf_destination_grant_fence(pf_ctx *c, const char *id)
{
    pf_grant_fence(c, &c->dst, id, "destination");
}

/* ---- the scope: tables and views the filter selects (schema.tables) ------------- */

static bool pf_is_pattern(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (s[i] == '*' || s[i] == '?' || s[i] == '[')
            return true;
    return false;
}

static void pf_scope_add_db(pf_ctx *c, const char *db)
{
    if (pf_in_scope_db(c, db))
        return;
    c->dbs = xrealloc(c->dbs, (c->ndbs + 1) * sizeof *c->dbs);
    c->dbs[c->ndbs++] = xstrdup(db);
}

static int pf_scope_list(pf_ctx *c, sbuf *err)
{
    sbuf q = SBUF_INIT;
    sbuf_addf(&q, "SELECT TABLE_SCHEMA, TABLE_NAME, TABLE_TYPE, TABLE_COLLATION FROM information_schema.TABLES "
                  "WHERE TABLE_SCHEMA NOT IN (%s) ORDER BY TABLE_SCHEMA, TABLE_NAME", pf_system_schemas);
    MYSQL_RES *res;
    int e = db_query(c->src.m, q.buf, &res, err);
    sbuf_free(&q);
    if (e)
        return e;
    MYSQL_ROW row;
    while ((row = mysql_fetch_row(res))) {
        if (!row[0] || !row[1] || !row[2])
            continue;
        if (c->in->sidecar_schema && strcmp(row[0], c->in->sidecar_schema) == 0)
            continue;
        if (!table_filter_match(c->filter, row[0], row[1]))
            continue;
        if (strcmp(row[2], "VIEW") == 0) {
            c->views = xrealloc(c->views, (c->nviews + 1) * sizeof *c->views);
            c->views[c->nviews++] = (pf_name){xstrdup(row[0]), xstrdup(row[1])};
        } else if (strcmp(row[2], "BASE TABLE") == 0 || strcmp(row[2], "SYSTEM VERSIONED") == 0) {
            c->tables = xrealloc(c->tables, (c->ntables + 1) * sizeof *c->tables);
            pf_table *t = &c->tables[c->ntables++];
            memset(t, 0, sizeof *t);
            t->db = xstrdup(row[0]);
            t->name = xstrdup(row[1]);
            t->collation = row[3] ? xstrdup(row[3]) : NULL;
        } else {
            continue; /* MariaDB SEQUENCEs and temporary tables are not copied */
        }
        pf_scope_add_db(c, row[0]);
    }
    mysql_free_result(res);
    return 0;
}

/* Read every column of the table by its quoted name, returning no rows:
 * proves both the SELECT privilege and that the names round-trip. */
static void pf_table_read(pf_ctx *c, pf_table *t)
{
    sbuf q = SBUF_INIT, err = SBUF_INIT;
    sbuf_adds(&q, "SELECT ");
    if (t->schema && t->schema->ncols) {
        for (size_t i = 0; i < t->schema->ncols; i++) {
            if (i)
                sbuf_adds(&q, ", ");
            db_add_ident(&q, t->schema->cols[i].name);
        }
    } else {
        sbuf_addc(&q, '*');
    }
    sbuf_adds(&q, " FROM ");
    db_add_table(&q, t->db, t->name);
    sbuf_adds(&q, " LIMIT 0");
    t->read_error = (unsigned)db_exec(c->src.m, q.buf, &err);
    if (t->read_error)
        t->read_message = sbuf_detach(&err, NULL);
    sbuf_free(&q);
    sbuf_free(&err);
}

static int pf_scope_load(pf_ctx *c, sbuf *err)
{
    int e = pf_scope_list(c, err);
    for (size_t i = 0; !e && i < c->ntables && !pf_cancelled(c); i++) {
        pf_table *t = &c->tables[i];
        sbuf terr = SBUF_INIT;
        int te = schema_table_load(c->src.m, t->db, t->name, &t->schema, &terr);
        if (te && db_error_is_connection((unsigned)te)) {
            sbuf_setf(err, "%s", terr.buf);
            e = te;
        }
        sbuf_free(&terr);
        if (!e)
            pf_table_read(c, t);
        if (t->schema) {
            c->out->est_rows += t->schema->est_rows;
            c->out->est_bytes += t->schema->data_bytes;
        }
    }
    c->out->tables = (uint32_t)c->ntables;
    c->out->est_copy_seconds = preflight_copy_seconds(c->out->est_bytes);
    return e;
}

/* Literal database names in the include patterns that do not exist. */
static int pf_missing_dbs(pf_ctx *c, pf_names *missing, pf_names *existing, sbuf *err)
{
    MYSQL_RES *res;
    sbuf q = SBUF_INIT;
    sbuf_addf(&q, "SELECT SCHEMA_NAME FROM information_schema.SCHEMATA WHERE SCHEMA_NAME NOT IN (%s) "
                  "ORDER BY SCHEMA_NAME", pf_system_schemas);
    int e = db_query(c->src.m, q.buf, &res, err);
    sbuf_free(&q);
    if (e)
        return e;
    MYSQL_ROW row;
    while ((row = mysql_fetch_row(res)))
        if (row[0] && (!c->in->sidecar_schema || strcmp(row[0], c->in->sidecar_schema) != 0))
            pf_names_add(existing, row[0]);
    mysql_free_result(res);
    for (size_t i = 0; i < c->filter->ninclude; i++) {
        const char *p = c->filter->include[i], *dot = strchr(p, '.');
        size_t n = dot ? (size_t)(dot - p) : strlen(p);
        if (pf_is_pattern(p, n))
            continue;
        char *db = xstrndup(p, n);
        if (!pf_names_has(existing, db) && !pf_names_has(missing, db))
            pf_names_add(missing, db);
        free(db);
    }
    return 0;
}

static void pf_schema_tables(pf_ctx *c, const char *id)
{
    int e = pf_scope_load(c, &c->err);
    if (e) {
        pf_emitf(c, id, PF_FAIL, NULL, "cannot list the source's tables: %s; the schema checks were skipped",
                 c->err.buf);
        return;
    }
    c->scope_ok = true;
    pf_names missing = {0}, existing = {0};
    e = pf_missing_dbs(c, &missing, &existing, &c->err);
    const char *what = c->filter->ninclude ? "match the table filter" : "every table outside the system schemas";
    if (!e && missing.n) {
        sbuf msg = SBUF_INIT, fix = SBUF_INIT;
        sbuf_addf(&msg, "unknown %s ", missing.n == 1 ? "database" : "databases");
        for (size_t i = 0; i < missing.n && i < PF_LIST_MAX; i++) {
            if (i)
                sbuf_adds(&msg, ", ");
            db_add_ident(&msg, missing.v[i]);
        }
        if (missing.n > PF_LIST_MAX)
            sbuf_addf(&msg, " and %zu more", missing.n - PF_LIST_MAX);
        sbuf_addf(&msg, ": the table filter names %s, but the source has no such database (or the agent's account "
                        "has no privilege on it)", missing.n == 1 ? "it" : "them");
        sbuf_adds(&fix, "fix the --tables pattern (the source's databases: ");
        for (size_t i = 0; i < existing.n && i < 10; i++) {
            if (i)
                sbuf_adds(&fix, ", ");
            db_add_ident(&fix, existing.v[i]);
        }
        if (!existing.n)
            sbuf_adds(&fix, "none visible");
        sbuf_adds(&fix, "), or if it exists but is hidden from the agent: ");
        preflight_add_grant(&fix, "SELECT, SHOW VIEW", missing.v[0], c->src.account);
        preflight_check *ch = pf_emit(c, id, PF_FAIL, &msg, &fix);
        pf_objects_from_dbs(ch, &missing);
        sbuf_free(&msg);
        sbuf_free(&fix);
    } else if (c->ntables == 0 && c->filter->ninclude) {
        preflight_check *ch = pf_emitf(c, id, PF_FAIL, "fix the --tables patterns (db.table, with * and ?)",
                                       "the table filter matches no table on the source: there would be nothing "
                                       "to copy");
        for (size_t i = 0; i < c->filter->ninclude; i++)
            preflight_check_add_object(ch, c->filter->include[i]);
    } else if (c->ntables == 0) {
        pf_emitf(c, id, PF_WARN, "create the tables first, or point the agent at the right server",
                 "the source has no tables outside the system schemas: there is nothing to copy");
    } else {
        pf_emitf(c, id, PF_PASS, NULL, "%zu %s and %zu %s in %zu %s (%s)", c->ntables,
                 c->ntables == 1 ? "table" : "tables", c->nviews, c->nviews == 1 ? "view" : "views", c->ndbs,
                 c->ndbs == 1 ? "database" : "databases", what);
    }
    pf_names_free(&missing);
    pf_names_free(&existing);
}

/* ---- source privileges on tables ------------------------------------------------- */

static bool pf_is_privilege_error(unsigned e)
{
    return e == ER_TABLEACCESS_DENIED_ERROR || e == ER_COLUMNACCESS_DENIED_ERROR || e == ER_DBACCESS_DENIED_ERROR;
}

/* A check failing on some tables or views: one GRANT of priv per database
 * they are in as the remedy, the objects named. */
static void pf_emit_db_grants(pf_ctx *c, const char *id, preflight_severity sev, const char *priv, sbuf *msg,
                              pf_names *bad, const pf_names *dbs)
{
    sbuf fix = SBUF_INIT, line = SBUF_INIT;
    size_t count = 0;
    for (size_t i = 0; i < dbs->n; i++) {
        sbuf_reset(&line);
        preflight_add_grant(&line, priv, dbs->v[i], c->src.account);
        pf_remedy_line(&fix, &count, line.buf);
    }
    preflight_check *ch = pf_emit(c, id, sev, msg, &fix);
    pf_objects_from(ch, bad);
    sbuf_free(&fix);
    sbuf_free(&line);
}

static void pf_source_grant_select(pf_ctx *c, const char *id)
{
    pf_names bad = {0}, dbs = {0};
    const char *example = NULL;
    for (size_t i = 0; i < c->ntables; i++) {
        const pf_table *t = &c->tables[i];
        if (!pf_is_privilege_error(t->read_error))
            continue;
        pf_names_add_table(&bad, t->db, t->name, NULL);
        if (!pf_names_has(&dbs, t->db))
            pf_names_add(&dbs, t->db);
        if (!example)
            example = t->read_message;
    }
    if (!bad.n) {
        pf_emitf(c, id, PF_PASS, NULL, "SELECT works on %s %zu %s in scope (SELECT ... LIMIT 0 on each)",
                 c->ntables == 1 ? "the" : "all", c->ntables, c->ntables == 1 ? "table" : "tables");
    } else {
        sbuf msg = SBUF_INIT;
        sbuf_addf(&msg, "the agent's account lacks SELECT on %zu %s, needed to copy and verify rows: ", bad.n,
                  bad.n == 1 ? "table" : "tables");
        pf_add_list(&msg, (const char *const *)bad.v, bad.n);
        sbuf_addf(&msg, " (%s)", example ? example : "");
        pf_emit_db_grants(c, id, PF_FAIL, "SELECT", &msg, &bad, &dbs);
        sbuf_free(&msg);
    }
    pf_names_free(&bad);
    pf_names_free(&dbs);
}

static void pf_source_grant_show_view(pf_ctx *c, const char *id)
{
    pf_names bad = {0}, dbs = {0};
    sbuf q = SBUF_INIT, err = SBUF_INIT, example = SBUF_INIT;
    for (size_t i = 0; i < c->nviews; i++) {
        sbuf_setf(&q, "SHOW CREATE VIEW ");
        db_add_table(&q, c->views[i].db, c->views[i].name);
        unsigned e = (unsigned)db_exec(c->src.m, q.buf, &err);
        if (!e)
            continue;
        pf_names_add_table(&bad, c->views[i].db, c->views[i].name, NULL);
        if (!pf_names_has(&dbs, c->views[i].db))
            pf_names_add(&dbs, c->views[i].db);
        if (!example.len)
            sbuf_adds(&example, err.buf);
    }
    if (!c->nviews) {
        pf_emitf(c, id, PF_PASS, NULL, "no views in scope, so SHOW VIEW is not needed");
    } else if (!bad.n) {
        pf_emitf(c, id, PF_PASS, NULL, "SHOW VIEW works on %s %zu %s in scope (SHOW CREATE VIEW on each)",
                 c->nviews == 1 ? "the" : "all", c->nviews, c->nviews == 1 ? "view" : "views");
    } else {
        sbuf msg = SBUF_INIT;
        sbuf_addf(&msg, "the agent's account lacks SHOW VIEW on %zu %s, so it cannot read their definitions for "
                        "you to recreate them (views are not copied): ", bad.n, bad.n == 1 ? "view" : "views");
        pf_add_list(&msg, (const char *const *)bad.v, bad.n);
        sbuf_addf(&msg, " (%s)", example.buf);
        pf_emit_db_grants(c, id, PF_WARN, "SHOW VIEW", &msg, &bad, &dbs);
        sbuf_free(&msg);
    }
    pf_names_free(&bad);
    pf_names_free(&dbs);
    sbuf_free(&q);
    sbuf_free(&err);
    sbuf_free(&example);
}

/* ---- schema ------------------------------------------------------------------------ */

static bool pf_supports_invisible(const pf_server *s)
{
    int ma = 0, mi = 0, pa = 0;
    preflight_version_parse(pf_var_get(s, "version"), &ma, &mi, &pa);
    if (s->flavor == FLAVOR_MARIADB)
        return true; /* 10.3 and later; older ones are unsupported anyway */
    return ma > 8 || (ma == 8 && (mi > 0 || pa >= 23));
}

static void pf_schema_key(pf_ctx *c, const char *id)
{
    pf_names bad = {0};
    sbuf fix = SBUF_INIT, line = SBUF_INIT;
    size_t count = 0;
    for (size_t i = 0; i < c->ntables; i++) {
        const pf_table *t = &c->tables[i];
        if (!t->schema || t->schema->nkey)
            continue;
        pf_names_add_table(&bad, t->db, t->name, NULL);
        sbuf_reset(&line);
        sbuf_adds(&line, "ALTER TABLE ");
        db_add_table(&line, t->db, t->name);
        sbuf_adds(&line, " ADD PRIMARY KEY (<the columns that identify a row>);");
        pf_remedy_line(&fix, &count, line.buf);
    }
    if (!bad.n) {
        pf_emitf(c, id, PF_PASS, NULL, "every table has a PRIMARY KEY or a UNIQUE key on NOT NULL columns");
    } else {
        sbuf_setf(&line, "-- where no columns identify a row: ALTER TABLE <table> ADD COLUMN `row_id` BIGINT "
                         "UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY%s;",
                  pf_supports_invisible(&c->src) ? " INVISIBLE" : "");
        sbuf_addc(&fix, '\n');
        sbuf_adds(&fix, line.buf);
        sbuf msg = SBUF_INIT;
        sbuf_addf(&msg, "%zu %s neither a PRIMARY KEY nor a UNIQUE key on NOT NULL columns, so an update or delete "
                        "in the binlog cannot be applied to exactly one row: ", bad.n,
                  bad.n == 1 ? "table has" : "tables have");
        pf_add_list(&msg, (const char *const *)bad.v, bad.n);
        preflight_check *ch = pf_emit(c, id, PF_FAIL, &msg, &fix);
        pf_objects_from(ch, &bad);
        sbuf_free(&msg);
    }
    pf_names_free(&bad);
    sbuf_free(&fix);
    sbuf_free(&line);
}

static void pf_schema_engine(pf_ctx *c, const char *id)
{
    pf_names bad = {0};
    sbuf fix = SBUF_INIT, line = SBUF_INIT, suffix = SBUF_INIT;
    size_t count = 0;
    for (size_t i = 0; i < c->ntables; i++) {
        const pf_table *t = &c->tables[i];
        if (!t->schema || !t->schema->engine || strcasecmp(t->schema->engine, "InnoDB") == 0)
            continue;
        sbuf_setf(&suffix, " (%s)", t->schema->engine);
        pf_names_add_table(&bad, t->db, t->name, suffix.buf);
        sbuf_setf(&line, "ALTER TABLE ");
        db_add_table(&line, t->db, t->name);
        sbuf_adds(&line, " ENGINE=InnoDB;");
        pf_remedy_line(&fix, &count, line.buf);
    }
    if (!bad.n) {
        pf_emitf(c, id, PF_PASS, NULL, "every table is InnoDB");
    } else {
        sbuf msg = SBUF_INIT;
        sbuf_addf(&msg, "%zu %s not InnoDB: ", bad.n, bad.n == 1 ? "table is" : "tables are");
        pf_add_list(&msg, (const char *const *)bad.v, bad.n);
        sbuf_adds(&msg, "; the copy reads every table in one transactional snapshot, which MyISAM, Aria and "
                        "MEMORY tables do not take part in, so their rows could change under it unnoticed");
        preflight_check *ch = pf_emit(c, id, PF_FAIL, &msg, &fix);
        pf_objects_from(ch, &bad);
        sbuf_free(&msg);
    }
    pf_names_free(&bad);
    sbuf_free(&fix);
    sbuf_free(&line);
    sbuf_free(&suffix);
}

/* Collations in use by tables in scope (column and table defaults). */
static void pf_scope_collations(const pf_ctx *c, pf_names *out)
{
    for (size_t i = 0; i < c->ntables; i++) {
        const pf_table *t = &c->tables[i];
        if (t->collation && !pf_names_has(out, t->collation))
            pf_names_add(out, t->collation);
        for (size_t j = 0; t->schema && j < t->schema->ncols; j++) {
            const char *co = t->schema->cols[j].collation;
            if (co && !pf_names_has(out, co))
                pf_names_add(out, co);
        }
    }
}

/* Collation names a server knows by number. MariaDB 10.10+ lists the
 * charset-qualified UCA 14 names (utf8mb4_uca1400_ai_ci, id 2304) only in
 * COLLATION_CHARACTER_SET_APPLICABILITY, not in COLLATIONS, which shows
 * them unqualified and without an id; older servers lack that column. */
static int pf_load_collations(MYSQL *m, pf_names *out, sbuf *err)
{
    MYSQL_RES *res;
    int e = db_query(m, "SELECT COLLATION_NAME FROM information_schema.COLLATIONS WHERE ID IS NOT NULL UNION "
                        "SELECT FULL_COLLATION_NAME FROM information_schema.COLLATION_CHARACTER_SET_APPLICABILITY",
                     &res, err);
    if (e == ER_BAD_FIELD_ERROR)
        e = db_query(m, "SELECT COLLATION_NAME FROM information_schema.COLLATIONS WHERE ID IS NOT NULL", &res, err);
    if (e)
        return e;
    MYSQL_ROW row;
    while ((row = mysql_fetch_row(res)))
        if (row[0])
            pf_names_add(out, row[0]);
    mysql_free_result(res);
    return 0;
}

static void pf_schema_charset(pf_ctx *c, const char *id)
{
    pf_names sets = {0}, bad = {0}, colls = {0}, known = {0};
    if (pf_load_collations(c->src.m, &known, &c->err) != 0) {
        pf_emitf(c, id, PF_WARN, NULL, "cannot list the source's collations: %s", c->err.buf);
        return;
    }
    sbuf obj = SBUF_INIT;
    for (size_t i = 0; i < c->ntables; i++) {
        const pf_table *t = &c->tables[i];
        for (size_t j = 0; t->schema && j < t->schema->ncols; j++) {
            const schema_column *col = &t->schema->cols[j];
            if (col->charset && !pf_names_has(&sets, col->charset))
                pf_names_add(&sets, col->charset);
            /* The binlog names a column's collation by number only: one
             * the server gives no number for cannot be matched to it. */
            if (col->collation && !pf_names_has(&known, col->collation)) {
                sbuf_reset(&obj);
                db_add_table(&obj, t->db, t->name);
                sbuf_addc(&obj, '.');
                db_add_ident(&obj, col->name);
                sbuf_addf(&obj, " (%s)", col->collation);
                pf_names_add(&bad, obj.buf);
            }
        }
    }
    pf_scope_collations(c, &colls);
    if (bad.n) {
        sbuf msg = SBUF_INIT;
        sbuf_addf(&msg, "%zu %s a collation the server lists without a number, so binlog values cannot be matched "
                        "to it: ", bad.n, bad.n == 1 ? "column uses" : "columns use");
        pf_add_list(&msg, (const char *const *)bad.v, bad.n);
        preflight_check *ch = pf_emitf(c, id, PF_FAIL,
                                       "ALTER TABLE <table> MODIFY <column> <type> COLLATE <a collation with an ID in "
                                       "SHOW COLLATION>;", "%s", msg.buf);
        pf_objects_from(ch, &bad);
        sbuf_free(&msg);
    } else {
        sbuf msg = SBUF_INIT;
        sbuf_adds(&msg, "character sets in use: ");
        for (size_t i = 0; i < sets.n; i++)
            sbuf_addf(&msg, "%s%s", i ? ", " : "", sets.v[i]);
        if (!sets.n)
            sbuf_adds(&msg, "none (no text columns)");
        sbuf_addf(&msg, "; %zu %s, all known by number; values are copied byte for byte", colls.n,
                  colls.n == 1 ? "collation" : "collations");
        pf_emit(c, id, PF_PASS, &msg, NULL);
        sbuf_free(&msg);
    }
    pf_names_free(&sets);
    pf_names_free(&bad);
    pf_names_free(&colls);
    pf_names_free(&known);
    sbuf_free(&obj);
}

static const char *pf_dump_tool(const pf_server *s)
{
    return s->flavor == FLAVOR_MARIADB ? "mariadb-dump" : "mysqldump";
}

static const char *pf_client_tool(const pf_server *s)
{
    return s->flavor == FLAVOR_MARIADB ? "mariadb" : "mysql";
}

/* "mariadb-dump <flags> `db1` | mariadb -h <destination> `db1`" per db. */
static void pf_dump_remedy(const pf_ctx *c, sbuf *fix, const char *when, const char *flags, const pf_names *dbs)
{
    size_t count = 0;
    sbuf line = SBUF_INIT;
    for (size_t i = 0; i < dbs->n; i++) {
        sbuf_setf(&line, "%s%s %s ", i ? "" : when, pf_dump_tool(&c->src), flags);
        db_add_ident(&line, dbs->v[i]);
        sbuf_addf(&line, " | %s -h <destination> ", pf_client_tool(&c->src));
        db_add_ident(&line, dbs->v[i]);
        pf_remedy_line(fix, &count, line.buf);
    }
    sbuf_free(&line);
}

/* One query listing (db, name, extra) objects; fills names and their dbs. */
static int pf_list_objects(pf_ctx *c, const char *select, const char *db_col, const char *order, pf_names *names,
                           pf_names *dbs, bool table_scoped)
{
    sbuf q = SBUF_INIT;
    sbuf_adds(&q, select);
    pf_add_db_in(&q, c, db_col);
    sbuf_addf(&q, " ORDER BY %s", order);
    MYSQL_RES *res;
    int e = db_query(c->src.m, q.buf, &res, &c->err);
    sbuf_free(&q);
    if (e)
        return e;
    MYSQL_ROW row;
    sbuf s = SBUF_INIT;
    while ((row = mysql_fetch_row(res))) {
        if (!row[0] || !row[1])
            continue;
        /* Triggers and foreign keys belong to a table: only those in scope. */
        if (table_scoped && row[2] && !pf_find_table(c, row[0], row[2]))
            continue;
        sbuf_reset(&s);
        db_add_table(&s, row[0], row[1]);
        if (row[2] && row[3])
            sbuf_addf(&s, " %s", row[3]);
        pf_names_add(names, s.buf);
        if (!pf_names_has(dbs, row[0]))
            pf_names_add(dbs, row[0]);
    }
    mysql_free_result(res);
    sbuf_free(&s);
    return 0;
}

static void pf_schema_foreign_keys(pf_ctx *c, const char *id)
{
    sbuf q = SBUF_INIT;
    sbuf_adds(&q, "SELECT CONSTRAINT_SCHEMA, TABLE_NAME, CONSTRAINT_NAME, UNIQUE_CONSTRAINT_SCHEMA, "
                  "REFERENCED_TABLE_NAME FROM information_schema.REFERENTIAL_CONSTRAINTS");
    pf_add_db_in(&q, c, "CONSTRAINT_SCHEMA");
    sbuf_adds(&q, " ORDER BY 1, 2, 3");
    MYSQL_RES *res;
    int e = db_query(c->src.m, q.buf, &res, &c->err);
    sbuf_free(&q);
    if (e) {
        pf_emitf(c, id, PF_WARN, NULL, "cannot list foreign keys: %s", c->err.buf);
        return;
    }
    pf_names fks = {0}, outside = {0};
    sbuf s = SBUF_INIT;
    MYSQL_ROW row;
    while ((row = mysql_fetch_row(res))) {
        if (!row[0] || !row[1] || !row[2] || !row[3] || !row[4] || !pf_find_table(c, row[0], row[1]))
            continue;
        sbuf_reset(&s);
        db_add_table(&s, row[0], row[1]);
        sbuf_adds(&s, " -> ");
        db_add_table(&s, row[3], row[4]);
        pf_names_add(&fks, s.buf);
        if (!pf_find_table(c, row[3], row[4]))
            pf_names_add(&outside, s.buf);
    }
    mysql_free_result(res);
    if (!fks.n) {
        pf_emitf(c, id, PF_PASS, NULL, "no foreign keys in scope");
    } else {
        sbuf msg = SBUF_INIT, fix = SBUF_INIT;
        sbuf_addf(&msg, "%zu foreign %s (", fks.n, fks.n == 1 ? "key" : "keys");
        pf_add_list(&msg, (const char *const *)fks.v, fks.n);
        sbuf_adds(&msg, "): created with the tables, but rows are copied and replicated with foreign_key_checks=0, "
                        "in key order, several tables in parallel, so the destination is consistent only at quiesced "
                        "points such as cutover");
        sbuf_adds(&fix, "nothing to change for the migration: do not read or write the destination before cutover");
        if (outside.n) {
            sbuf_addf(&msg, "; %zu %s to a table outside the filter", outside.n,
                      outside.n == 1 ? "points" : "point");
            sbuf_adds(&fix, "; add the referenced tables to --tables, or the destination's keys will point at "
                            "missing tables");
        }
        preflight_check *ch = pf_emit(c, id, PF_WARN, &msg, &fix);
        pf_objects_from(ch, &fks);
        sbuf_free(&msg);
        sbuf_free(&fix);
    }
    pf_names_free(&fks);
    pf_names_free(&outside);
    sbuf_free(&s);
}

/* The WARN shape shared by triggers, routines and events: list them, say
 * they are not copied and when to recreate them. kind is the singular
 * noun, kinds the plural. */
static void pf_not_copied(pf_ctx *c, const char *id, const char *kind, const char *kinds, const pf_names *names,
                          const pf_names *dbs, const char *advice, const char *when, const char *flags)
{
    if (!names->n) {
        pf_emitf(c, id, PF_PASS, NULL, "no %s in scope", kinds);
        return;
    }
    sbuf msg = SBUF_INIT, fix = SBUF_INIT;
    sbuf_addf(&msg, "%zu %s %s not copied (", names->n, names->n == 1 ? kind : kinds, names->n == 1 ? "is" : "are");
    pf_add_list(&msg, (const char *const *)names->v, names->n);
    sbuf_addf(&msg, "): %s", advice);
    pf_dump_remedy(c, &fix, when, flags, dbs);
    preflight_check *ch = pf_emit(c, id, PF_WARN, &msg, &fix);
    pf_objects_from(ch, names);
    sbuf_free(&msg);
    sbuf_free(&fix);
}

/* Databases in scope where the account lacks priv, which MariaDB and MySQL
 * require before information_schema shows their triggers (or events). */
static void pf_hidden_from(pf_ctx *c, const char *priv, pf_names *out)
{
    const preflight_grants *g = pf_grants(&c->src, &c->err);
    for (size_t i = 0; g && i < c->ndbs; i++)
        if (!preflight_grants_has(g, priv, c->dbs[i]))
            pf_names_add(out, c->dbs[i]);
}

/* WARN that objects may exist unseen: the account cannot list them. */
static void pf_not_visible(pf_ctx *c, const char *id, const char *kinds, const char *priv, const pf_names *hidden,
                           const char *show)
{
    sbuf msg = SBUF_INIT, fix = SBUF_INIT, line = SBUF_INIT;
    size_t count = 0;
    sbuf_addf(&msg, "no %s visible, but the agent's account lacks %s on %zu %s, and the server hides %s from "
                    "accounts without it: ", kinds, priv, hidden->n, hidden->n == 1 ? "database" : "databases", kinds);
    for (size_t i = 0; i < hidden->n && i < PF_LIST_MAX; i++) {
        if (i)
            sbuf_adds(&msg, ", ");
        db_add_ident(&msg, hidden->v[i]);
    }
    if (hidden->n > PF_LIST_MAX)
        sbuf_addf(&msg, " and %zu more", hidden->n - PF_LIST_MAX);
    sbuf_addf(&msg, " (%s are not copied: recreate any after cutover)", kinds);
    for (size_t i = 0; i < hidden->n; i++) {
        sbuf_setf(&line, "%s%s FROM ", count ? "" : "look as an administrator: ", show);
        db_add_ident(&line, hidden->v[i]);
        sbuf_addc(&line, ';');
        pf_remedy_line(&fix, &count, line.buf);
    }
    preflight_check *ch = pf_emit(c, id, PF_WARN, &msg, &fix);
    pf_objects_from_dbs(ch, hidden);
    sbuf_free(&msg);
    sbuf_free(&fix);
    sbuf_free(&line);
}

static void pf_schema_triggers(pf_ctx *c, const char *id)
{
    pf_names names = {0}, dbs = {0}, hidden = {0};
    if (pf_list_objects(c,
                        "SELECT TRIGGER_SCHEMA, TRIGGER_NAME, EVENT_OBJECT_TABLE, "
                        "CONCAT('(', ACTION_TIMING, ' ', EVENT_MANIPULATION, ' ON ', '`', "
                        "REPLACE(EVENT_OBJECT_TABLE, '`', '``'), '`)') FROM information_schema.TRIGGERS",
                        "EVENT_OBJECT_SCHEMA", "1, 2", &names, &dbs, true) != 0) {
        pf_emitf(c, id, PF_WARN, NULL, "cannot list triggers: %s", c->err.buf);
    } else {
        if (!names.n)
            pf_hidden_from(c, "TRIGGER", &hidden);
        if (hidden.n)
            pf_not_visible(c, id, "triggers", "TRIGGER", &hidden, "SHOW TRIGGERS");
        else
            pf_not_copied(c, id, "trigger", "triggers", &names, &dbs,
                          "recreate them on the destination after cutover; before it they would fire again on "
                          "rows the stream already applied",
                          "after cutover: ", "--no-data --no-create-info --skip-routines --skip-events --triggers");
    }
    pf_names_free(&names);
    pf_names_free(&dbs);
    pf_names_free(&hidden);
}

static void pf_schema_routines(pf_ctx *c, const char *id)
{
    pf_names names = {0}, dbs = {0};
    if (pf_list_objects(c, "SELECT ROUTINE_SCHEMA, ROUTINE_NAME, NULL, NULL FROM information_schema.ROUTINES",
                        "ROUTINE_SCHEMA", "1, 2", &names, &dbs, false) != 0)
        pf_emitf(c, id, PF_WARN, NULL, "cannot list procedures and functions: %s", c->err.buf);
    else
        pf_not_copied(c, id, "stored procedure or function", "stored procedures and functions", &names, &dbs,
                      "recreate them on the destination before cutover so the application finds them",
                      "before cutover: ", "--no-data --no-create-info --skip-triggers --no-create-db --routines");
    pf_names_free(&names);
    pf_names_free(&dbs);
}

static void pf_schema_events(pf_ctx *c, const char *id)
{
    pf_names names = {0}, dbs = {0}, hidden = {0};
    /* information_schema.EVENTS shows only what the account holds EVENT
     * on; mysql.event, readable with the SELECT the agent has, shows all
     * (MySQL 8 has no such table: its data dictionary is hidden). */
    int e = pf_list_objects(c, "SELECT db, name, NULL, NULL FROM mysql.event", "db", "1, 2", &names, &dbs, false);
    bool from_is = e == ER_NO_SUCH_TABLE || e == ER_TABLEACCESS_DENIED_ERROR;
    if (from_is)
        e = pf_list_objects(c, "SELECT EVENT_SCHEMA, EVENT_NAME, NULL, NULL FROM information_schema.EVENTS",
                            "EVENT_SCHEMA", "1, 2", &names, &dbs, false);
    if (e) {
        pf_emitf(c, id, PF_WARN, NULL, "cannot list events: %s", c->err.buf);
    } else {
        if (from_is && !names.n)
            pf_hidden_from(c, "EVENT", &hidden);
        if (hidden.n)
            pf_not_visible(c, id, "events", "EVENT", &hidden, "SHOW EVENTS");
        else
            pf_not_copied(c, id, "event", "events", &names, &dbs,
                          "recreate them on the destination after cutover; before it the destination's event "
                          "scheduler would run them against replicated data",
                          "after cutover: ", "--no-data --no-create-info --skip-triggers --no-create-db --events");
    }
    pf_names_free(&names);
    pf_names_free(&dbs);
    pf_names_free(&hidden);
}

static void pf_schema_views(pf_ctx *c, const char *id)
{
    if (!c->nviews) {
        pf_emitf(c, id, PF_PASS, NULL, "no views in scope");
        return;
    }
    pf_names names = {0};
    sbuf msg = SBUF_INIT, fix = SBUF_INIT, line = SBUF_INIT;
    size_t count = 0;
    for (size_t i = 0; i < c->nviews; i++)
        pf_names_add_table(&names, c->views[i].db, c->views[i].name, NULL);
    /* One dump per database naming its views: with table names, the dump
     * holds nothing else. */
    for (size_t i = 0; i < c->nviews; i++) {
        if (i && strcmp(c->views[i].db, c->views[i - 1].db) == 0)
            continue;
        sbuf_setf(&line, "%s%s --no-data --skip-triggers ", count ? "" : "after the copy: ", pf_dump_tool(&c->src));
        db_add_ident(&line, c->views[i].db);
        for (size_t j = i; j < c->nviews && strcmp(c->views[j].db, c->views[i].db) == 0; j++) {
            sbuf_addc(&line, ' ');
            db_add_ident(&line, c->views[j].name);
        }
        sbuf_addf(&line, " | %s -h <destination> ", pf_client_tool(&c->src));
        db_add_ident(&line, c->views[i].db);
        pf_remedy_line(&fix, &count, line.buf);
    }
    sbuf_addf(&msg, "%zu %s not copied (", c->nviews, c->nviews == 1 ? "view is" : "views are");
    pf_add_list(&msg, (const char *const *)names.v, names.n);
    sbuf_adds(&msg, "): only base tables' rows are copied; recreate the views on the destination once the copy "
                    "has created their tables");
    preflight_check *ch = pf_emit(c, id, PF_WARN, &msg, &fix);
    pf_objects_from(ch, &names);
    pf_names_free(&names);
    sbuf_free(&msg);
    sbuf_free(&fix);
    sbuf_free(&line);
}

static void pf_schema_generated_columns(pf_ctx *c, const char *id)
{
    pf_names cols = {0};
    sbuf s = SBUF_INIT;
    for (size_t i = 0; i < c->ntables; i++) {
        const pf_table *t = &c->tables[i];
        for (size_t j = 0; t->schema && j < t->schema->ncols; j++) {
            if (!t->schema->cols[j].generated)
                continue;
            sbuf_reset(&s);
            db_add_table(&s, t->db, t->name);
            sbuf_addc(&s, '.');
            db_add_ident(&s, t->schema->cols[j].name);
            pf_names_add(&cols, s.buf);
        }
    }
    if (!cols.n) {
        pf_emitf(c, id, PF_PASS, NULL, "no generated columns in scope");
    } else {
        sbuf msg = SBUF_INIT;
        sbuf_addf(&msg, "%zu generated %s (", cols.n, cols.n == 1 ? "column" : "columns");
        pf_add_list(&msg, (const char *const *)cols.v, cols.n);
        sbuf_adds(&msg, "): values are not copied but recomputed by the destination from the expression, so they "
                        "match only if it is deterministic");
        preflight_check *ch = pf_emitf(c, id, PF_WARN,
                                       "none if each expression is deterministic (no RAND(), UUID(), NOW(), "
                                       "SYSDATE(), user variables or session settings); otherwise make it a plain "
                                       "column: ALTER TABLE <table> MODIFY <column> <type>;",
                                       "%s", msg.buf);
        pf_objects_from(ch, &cols);
        sbuf_free(&msg);
    }
    pf_names_free(&cols);
    sbuf_free(&s);
}

/* A name that only works quoted: anything beyond [A-Za-z0-9_$], or digits
 * only. */
static bool pf_needs_quoting(const char *name)
{
    bool digits = true;
    for (const unsigned char *p = (const unsigned char *)name; *p; p++) {
        if (!isalnum(*p) && *p != '_' && *p != '$')
            return true;
        if (!isdigit(*p))
            digits = false;
    }
    return digits;
}

static void pf_schema_identifiers(pf_ctx *c, const char *id)
{
    pf_names odd = {0}, bad = {0};
    size_t ncols = 0;
    sbuf s = SBUF_INIT, example = SBUF_INIT;
    for (size_t i = 0; i < c->ntables; i++) {
        const pf_table *t = &c->tables[i];
        bool odd_cols = false;
        for (size_t j = 0; t->schema && j < t->schema->ncols; j++)
            if (pf_needs_quoting(t->schema->cols[j].name))
                odd_cols = true, ncols++;
        if (pf_needs_quoting(t->db) || pf_needs_quoting(t->name) || odd_cols)
            pf_names_add_table(&odd, t->db, t->name, NULL);
        if (t->read_error && !pf_is_privilege_error(t->read_error)) {
            pf_names_add_table(&bad, t->db, t->name, NULL);
            if (!example.len)
                sbuf_adds(&example, t->read_message ? t->read_message : "");
        }
    }
    if (bad.n) {
        sbuf msg = SBUF_INIT;
        sbuf_addf(&msg, "reading %zu %s by quoted name failed: ", bad.n, bad.n == 1 ? "table" : "tables");
        pf_add_list(&msg, (const char *const *)bad.v, bad.n);
        sbuf_addf(&msg, " (%s)", example.buf);
        preflight_check *ch = pf_emitf(c, id, PF_FAIL,
                                       "rename the table to plain letters, digits and '_': RENAME TABLE <table> TO "
                                       "<new name>; (or report this as a bug with the name)", "%s", msg.buf);
        pf_objects_from(ch, &bad);
        sbuf_free(&msg);
    } else if (odd.n) {
        sbuf msg = SBUF_INIT;
        sbuf_addf(&msg, "names that need quoting read back correctly: %zu %s (", odd.n,
                  odd.n == 1 ? "table" : "tables");
        pf_add_list(&msg, (const char *const *)odd.v, odd.n);
        sbuf_addf(&msg, ") with %zu such %s", ncols, ncols == 1 ? "column" : "columns");
        pf_objects_from(pf_emit(c, id, PF_PASS, &msg, NULL), &odd);
        sbuf_free(&msg);
    } else {
        pf_emitf(c, id, PF_PASS, NULL, "no names need quoting beyond the usual backticks");
    }
    pf_names_free(&odd);
    pf_names_free(&bad);
    sbuf_free(&s);
    sbuf_free(&example);
}

static void pf_schema_size(pf_ctx *c, const char *id)
{
    sbuf msg = SBUF_INIT;
    sbuf_addf(&msg, "%u %s, about %llu rows and ", c->out->tables, c->out->tables == 1 ? "table" : "tables",
              (unsigned long long)c->out->est_rows);
    sbuf_add_bytes(&msg, c->out->est_bytes);
    sbuf_adds(&msg, " (information_schema estimates); the copy would take about ");
    sbuf_add_duration(&msg, (int64_t)c->out->est_copy_seconds);
    sbuf_adds(&msg, " at an assumed 50 MB/s");
    pf_emit(c, id, PF_PASS, &msg, NULL);
    sbuf_free(&msg);
}

/* ---- destination -------------------------------------------------------------------- */

static void pf_destination_version(pf_ctx *c, const char *id)
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
                 pf_flavor_name(s->flavor), sv, pf_flavor_name(d->flavor), dv);
    } else if (dma < sma || (dma == sma && dmi < smi)) {
        pf_emitf(c, id, PF_WARN, "use a destination at least as new as the source",
                 "the destination %s %s is older than the source %s: tables are created from the source's "
                 "definitions, which may use features the older server lacks", pf_flavor_name(d->flavor), dv, sv);
    } else {
        pf_emitf(c, id, PF_PASS, NULL, "%s, compatible with the source's %s", dv, sv);
    }
}

/* A missing privilege at one level: "INSERT, CREATE ON `db`.*" */
typedef struct pf_missing {
    char *db; /* NULL: *.* */
    sbuf privs;
} pf_missing;

static void pf_missing_add(pf_missing **v, size_t *n, const char *db, const char *priv)
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

static const char *const pf_dest_db_privs[] = {"SELECT", "INSERT", "UPDATE", "DELETE", "CREATE", "DROP",
                                               "ALTER", "INDEX", "REFERENCES", "CREATE VIEW", "TRIGGER",
                                               "LOCK TABLES"};
static const char *const pf_dest_sidecar_privs[] = {"CREATE", "SELECT", "INSERT", "UPDATE", "DELETE"};

static void pf_destination_grants(pf_ctx *c, const char *id)
{
    pf_server *d = &c->dst;
    const preflight_grants *g = pf_grants(d, &c->err);
    if (!g) {
        pf_emitf(c, id, PF_FAIL, NULL, "cannot read SHOW GRANTS on the destination: %s", c->err.buf);
        return;
    }
    pf_missing *miss = NULL;
    size_t nmiss = 0;
    for (size_t i = 0; c->scope_ok && i < c->ndbs; i++)
        for (size_t j = 0; j < sizeof pf_dest_db_privs / sizeof pf_dest_db_privs[0]; j++)
            if (!preflight_grants_has(g, pf_dest_db_privs[j], c->dbs[i]))
                pf_missing_add(&miss, &nmiss, c->dbs[i], pf_dest_db_privs[j]);
    const char *side = c->in->sidecar_schema && *c->in->sidecar_schema ? c->in->sidecar_schema : "_tablet_agent";
    for (size_t j = 0; j < sizeof pf_dest_sidecar_privs / sizeof pf_dest_sidecar_privs[0]; j++)
        if (!preflight_grants_has(g, pf_dest_sidecar_privs[j], side))
            pf_missing_add(&miss, &nmiss, side, pf_dest_sidecar_privs[j]);
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
    sbuf msg = SBUF_INIT, fix = SBUF_INIT, line = SBUF_INIT, obj = SBUF_INIT;
    size_t count = 0;
    sbuf_adds(&msg, "the destination account lacks ");
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
        preflight_add_grant(&line, miss[i].privs.buf, miss[i].db, d->account);
        pf_remedy_line(&fix, &count, line.buf);
    }
    if (nmiss > PF_LIST_MAX)
        sbuf_addf(&msg, " and %zu more", nmiss - PF_LIST_MAX);
    sbuf_adds(&msg, " (from SHOW GRANTS): the copy creates and writes the tables, keeps its state in ");
    db_add_ident(&msg, side);
    sbuf_adds(&msg, " and, after cutover, streams the destination's binlog back to the source");
    preflight_check *ch = pf_emit(c, id, PF_FAIL, &msg, &fix);
    for (size_t i = 0; i < nmiss; i++) {
        /* One object per privilege: "INSERT ON `db`.*". */
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

static void pf_destination_log_bin(pf_ctx *c, const char *id)
{
    pf_log_bin(c, &c->dst, id,
               "after cutover the old source is kept in sync from the destination's binlog (the way back if "
               "something goes wrong), which needs it");
}

static void pf_destination_binlog_format(pf_ctx *c, const char *id)
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

static void pf_destination_tables_empty(pf_ctx *c, const char *id)
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

static void pf_destination_sql_mode(pf_ctx *c, const char *id)
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

static void pf_destination_charset(pf_ctx *c, const char *id)
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
    {"destination.version", PF_NEED_DEST, pf_destination_version},
    /* read from SHOW GRANTS (trying DDL would change it); BINLOG MONITOR tried */
    {"destination.grants", PF_NEED_DEST, pf_destination_grants},
    /* the destination is fenced when writes move back (ReverseTraffic) */
    {"destination.grant.fence", PF_NEED_DEST, pf_destination_grant_fence},
    {"destination.log_bin", PF_NEED_DEST, pf_destination_log_bin},
    {"destination.binlog_format", PF_NEED_DEST, pf_destination_binlog_format},
    {"destination.tables_empty", PF_NEED_DEST | PF_NEED_SCOPE, pf_destination_tables_empty},
    {"destination.sql_mode", PF_NEED_DEST | PF_NEED_SOURCE, pf_destination_sql_mode},
    {"destination.charset", PF_NEED_DEST | PF_NEED_SCOPE, pf_destination_charset},
};

static bool pf_step_ready(const pf_ctx *c, unsigned needs)
{
    if ((needs & (PF_DEST_GIVEN | PF_NEED_DEST)) && !c->in->destination)
        return false;
    return (!(needs & PF_NEED_SOURCE) || c->src_ok) && (!(needs & PF_NEED_BINLOG) || c->src_binlog) &&
           (!(needs & PF_NEED_SCOPE) || c->scope_ok) && (!(needs & PF_NEED_DEST) || c->dst_ok);
}

static int64_t pf_now_ms(void)
{
    struct timeval tv;
    gettimeofday(&tv, NULL);
    return (int64_t)tv.tv_sec * 1000 + tv.tv_usec / 1000;
}

int preflight_run(const preflight_input *in, preflight_report *out)
{
    int64_t start = pf_now_ms();
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
    out->duration_ms = (uint32_t)(pf_now_ms() - start);
    return rc;
}
