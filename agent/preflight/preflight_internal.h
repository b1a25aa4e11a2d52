/* preflight_internal: what the preflight files share. Not an API: the
 * module's API is preflight.h.
 *
 *   preflight.c         the report, the context every check shares, the
 *                       steps table and preflight_run
 *   preflight_rules.c   the pure rules of preflight.h, unit-tested alone
 *   preflight_source.c  source.*: logging in, settings, privileges tried;
 *                       the checks written once for either server
 *   preflight_schema.c  schema.*: the scope, and the table privileges tried
 *                       on it
 *   preflight_dest.c    destination.*
 *
 * The check files use preflight.c's helpers. preflight_dest.c also runs
 * preflight_source.c's server checks on the destination and compares it
 * with preflight_schema.c's collations; nothing uses preflight_dest.c but
 * the steps table. */
#ifndef PREFLIGHT_INTERNAL_H
#define PREFLIGHT_INTERNAL_H

#include "db/schema.h"
#include "preflight/preflight.h"

/* Names quoted in one message line; the objects list has them all. */
#define PF_LIST_MAX 3

typedef struct pf_var {
    char *name, *value;
} pf_var;

typedef struct pf_server {
    const char *role;   /* "source" or "destination", for messages */
    const char *option; /* its cpctl/agent option prefix: "--source", "--dest" */
    const db_endpoint *ep;
    MYSQL *m;
    server_flavor flavor;
    pf_var *vars;
    size_t nvars;
    char *account; /* CURRENT_USER(): user@host */
    preflight_grants grants;
    int grants_error; /* SHOW GRANTS failed with this error */
    bool grants_loaded;
    char *binlog_file; /* SHOW MASTER STATUS, when it worked */
    uint64_t binlog_pos;
} pf_server;

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

/* A growing list of quoted names, for messages and objects together. */
typedef struct pf_names {
    char **v;
    size_t n;
} pf_names;

/* preflight.c */
const char *pf_var_get(const pf_server *s, const char *name);
bool pf_var_on(const pf_server *s, const char *name);
const preflight_grants *pf_grants(pf_server *s, sbuf *err);
bool pf_cancelled(const pf_ctx *c);
preflight_check *pf_emit(pf_ctx *c, const char *id, preflight_severity sev, const sbuf *msg,
                         const sbuf *remedy);
preflight_check *pf_emitf(pf_ctx *c, const char *id, preflight_severity sev, const char *remedy,
                          const char *fmt, ...) __attribute__((format(printf, 5, 6)));
void pf_add_list(sbuf *msg, const char *const *names, size_t n);
void pf_names_add_table(pf_names *l, const char *db, const char *name, const char *suffix);
void pf_names_add(pf_names *l, const char *s);
bool pf_names_has(const pf_names *l, const char *s);
void pf_names_free(pf_names *l);
void pf_objects_from(preflight_check *ch, const pf_names *l);
void pf_remedy_line(sbuf *r, size_t *count, const char *line);
const pf_table *pf_find_table(const pf_ctx *c, const char *db, const char *name);
void pf_add_db_in(sbuf *q, const pf_ctx *c, const char *col);

/* preflight_source.c */
bool pf_connect(pf_ctx *c, pf_server *s, const char *id);
void pf_add_cnf(sbuf *fix, const pf_server *s, const char *setting);
void pf_log_bin(pf_ctx *c, pf_server *s, const char *id, const char *why);
const char *pf_monitor_priv(const pf_server *s);
int pf_master_status(pf_server *s, sbuf *err);
void pf_grant_fence(pf_ctx *c, pf_server *s, const char *id, const char *side);

/* preflight_schema.c */
void pf_scope_collations(const pf_ctx *c, pf_names *out);
int pf_load_collations(MYSQL *m, pf_names *out, sbuf *err);

/* The steps, one per check id; preflight_steps in preflight.c orders them. */

/* preflight_source.c */
void pf_source_connection(pf_ctx *c, const char *id);
void pf_source_version(pf_ctx *c, const char *id);
void pf_source_log_bin(pf_ctx *c, const char *id);
void pf_source_binlog_format(pf_ctx *c, const char *id);
void pf_source_binlog_row_image(pf_ctx *c, const char *id);
void pf_source_binlog_row_metadata(pf_ctx *c, const char *id);
void pf_source_gtid_mode(pf_ctx *c, const char *id);
void pf_source_server_id(pf_ctx *c, const char *id);
void pf_source_binlog_retention(pf_ctx *c, const char *id);
void pf_source_grant_binlog_monitor(pf_ctx *c, const char *id);
void pf_source_grant_snapshot(pf_ctx *c, const char *id);
void pf_source_grant_replication_slave(pf_ctx *c, const char *id);
void pf_source_grant_reload(pf_ctx *c, const char *id);
void pf_source_grant_fence(pf_ctx *c, const char *id);
void pf_source_grant_reverse(pf_ctx *c, const char *id);

/* Privileges an account lacks, by level: "INSERT, CREATE ON `db`.*". */
typedef struct pf_missing {
    char *db; /* NULL: *.* */
    sbuf privs;
} pf_missing;
void pf_missing_add(pf_missing **v, size_t *n, const char *db, const char *priv);
/* A role's table-level privileges (preflight_privileges) missing on the
 * databases in scope and the sidecar schema; writes_only skips SELECT. */
void pf_missing_scoped(pf_ctx *c, const preflight_grants *g, preflight_role role, server_flavor f, bool writes_only,
                       pf_missing **miss, size_t *nmiss);
/* A FAIL listing what is missing, with one GRANT per level as the remedy
 * and one object per privilege; frees miss. */
void pf_emit_missing(pf_ctx *c, const char *id, const pf_server *srv, pf_missing *miss, size_t nmiss,
                     const char *why);

/* preflight_schema.c */
void pf_schema_tables(pf_ctx *c, const char *id);
void pf_source_grant_select(pf_ctx *c, const char *id);
void pf_source_grant_show_view(pf_ctx *c, const char *id);
void pf_schema_key(pf_ctx *c, const char *id);
void pf_schema_engine(pf_ctx *c, const char *id);
void pf_schema_charset(pf_ctx *c, const char *id);
void pf_schema_foreign_keys(pf_ctx *c, const char *id);
void pf_schema_triggers(pf_ctx *c, const char *id);
void pf_schema_routines(pf_ctx *c, const char *id);
void pf_schema_events(pf_ctx *c, const char *id);
void pf_schema_views(pf_ctx *c, const char *id);
void pf_schema_generated_columns(pf_ctx *c, const char *id);
void pf_schema_identifiers(pf_ctx *c, const char *id);
void pf_schema_size(pf_ctx *c, const char *id);

/* preflight_dest.c */
void pf_destination_connection(pf_ctx *c, const char *id);
void pf_destination_distinct(pf_ctx *c, const char *id);
void pf_destination_version(pf_ctx *c, const char *id);
void pf_destination_grants(pf_ctx *c, const char *id);
void pf_destination_grant_fence(pf_ctx *c, const char *id);
void pf_destination_log_bin(pf_ctx *c, const char *id);
void pf_destination_binlog_format(pf_ctx *c, const char *id);
void pf_destination_tables_empty(pf_ctx *c, const char *id);
void pf_destination_sql_mode(pf_ctx *c, const char *id);
void pf_destination_max_allowed_packet(pf_ctx *c, const char *id);
void pf_destination_charset(pf_ctx *c, const char *id);

#endif
