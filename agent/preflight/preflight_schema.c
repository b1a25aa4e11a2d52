/* preflight_schema: the scope and the schema.* checks.
 *
 * schema.tables loads the scope: the tables and views the filter selects,
 * each table's columns and keys, and a SELECT ... LIMIT 0 of each table.
 * The later checks read that scope instead of asking the server again,
 * which is why source.grant.select and source.grant.show_view, tried on
 * the scope's tables and views, are here rather than with the other source
 * privileges. The schema checks say what the copy cannot carry (no key,
 * not InnoDB, collations without a number) or does not carry (triggers,
 * routines, events, views), with the statements that fix or recreate it. */
#include <ctype.h>
#include <mysqld_error.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "preflight/preflight_internal.h"

static const char *const pf_system_schemas = "'mysql', 'information_schema', 'performance_schema', 'sys'";

/* ---- the scope: tables and views the filter selects (schema.tables) ------------- */

static bool pf_is_pattern(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (s[i] == '*' || s[i] == '?' || s[i] == '[')
            return true;
    return false;
}

static bool pf_in_scope_db(const pf_ctx *c, const char *db)
{
    for (size_t i = 0; i < c->ndbs; i++)
        if (strcmp(c->dbs[i], db) == 0)
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

void pf_schema_tables(pf_ctx *c, const char *id)
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

void pf_source_grant_select(pf_ctx *c, const char *id)
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

void pf_source_grant_show_view(pf_ctx *c, const char *id)
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

/* A name for a new key column that the table does not use yet. */
static void pf_new_column_name(const schema_table *t, sbuf *out)
{
    sbuf name = SBUF_INIT;
    sbuf_adds(&name, "row_id");
    for (unsigned n = 2; schema_column_index(t, name.buf) >= 0; n++)
        sbuf_setf(&name, "row_id_%u", n);
    db_add_ident(out, name.buf);
    sbuf_free(&name);
}

void pf_schema_key(pf_ctx *c, const char *id)
{
    pf_names bad = {0};
    sbuf fix = SBUF_INIT, line = SBUF_INIT;
    size_t count = 0;
    const char *invisible = pf_supports_invisible(&c->src) ? " INVISIBLE" : "";
    for (size_t i = 0; i < c->ntables; i++) {
        const pf_table *t = &c->tables[i];
        if (!t->schema || t->schema->nkey)
            continue;
        if (!bad.n) { /* the better fix needs a person: which columns identify a row */
            sbuf_adds(&fix, "-- where NOT NULL columns identify a row, make them the key instead, e.g. ALTER TABLE ");
            db_add_table(&fix, t->db, t->name);
            sbuf_adds(&fix, " ADD PRIMARY KEY (<those columns>); otherwise:");
        }
        pf_names_add_table(&bad, t->db, t->name, NULL);
        sbuf_reset(&line);
        sbuf_adds(&line, "ALTER TABLE ");
        db_add_table(&line, t->db, t->name);
        sbuf_adds(&line, " ADD COLUMN ");
        pf_new_column_name(t->schema, &line);
        sbuf_addf(&line, " BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY%s;", invisible);
        pf_remedy_line(&fix, &count, line.buf);
    }
    if (!bad.n) {
        pf_emitf(c, id, PF_PASS, NULL, "every table has a PRIMARY KEY or a UNIQUE key on NOT NULL columns");
    } else {
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

void pf_schema_engine(pf_ctx *c, const char *id)
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
void pf_scope_collations(const pf_ctx *c, pf_names *out)
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
int pf_load_collations(MYSQL *m, pf_names *out, sbuf *err)
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

void pf_schema_charset(pf_ctx *c, const char *id)
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

void pf_schema_foreign_keys(pf_ctx *c, const char *id)
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

void pf_schema_triggers(pf_ctx *c, const char *id)
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

void pf_schema_routines(pf_ctx *c, const char *id)
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

void pf_schema_events(pf_ctx *c, const char *id)
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

void pf_schema_views(pf_ctx *c, const char *id)
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

void pf_schema_generated_columns(pf_ctx *c, const char *id)
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

void pf_schema_identifiers(pf_ctx *c, const char *id)
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

void pf_schema_size(pf_ctx *c, const char *id)
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
