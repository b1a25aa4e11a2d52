/* preflight: can this source (and destination) be migrated, and if not,
 * exactly what to change.
 *
 * preflight_run is blocking (run it on a worker thread). It logs in to the
 * source and, when given, the destination, and produces a list of checks,
 * each with a stable id, a severity, a one-line message, the exact remedy
 * and the objects concerned. It never changes either server: it reads
 * variables and information_schema, and verifies privileges by doing what
 * the copy and the streams will do, read-only (a consistent snapshot, SHOW
 * MASTER STATUS, a binlog dump opened and closed, SELECT ... LIMIT 0).
 *
 * Check ids are stable ("source.binlog_format", "destination.distinct"):
 * the steps table at the end of preflight.c lists every one, in report
 * order, with what it verifies and how.
 * A check whose prerequisite failed (no connection, binary log off) is not
 * reported at all rather than reported as a cascade of unrelated failures;
 * the failing prerequisite's message says what was skipped. */
#ifndef PREFLIGHT_H
#define PREFLIGHT_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "db/db.h"
#include "db/probe.h"
#include "lib/sbuf.h"
#include "vrepl/table_filter.h"

/* Same numbers as the API's Severity. */
typedef enum { PF_PASS = 1, PF_WARN = 2, PF_FAIL = 3 } preflight_severity;

/* The copy rate the copy-time estimate assumes: 50 MB/s, a conservative
 * figure for a single InnoDB source read in parallel primary-key chunks. */
#define PREFLIGHT_COPY_BYTES_PER_S 50000000ULL
/* Binlog retention the copy needs when the request names none. */
#define PREFLIGHT_RETENTION_HOURS 48u

typedef struct preflight_input {
    const db_endpoint *source;
    const db_endpoint *destination; /* NULL: source checks only */
    const table_filter *filter;     /* NULL or empty: every non-system table */
    unsigned retention_hours;       /* 0: PREFLIGHT_RETENTION_HOURS */
    const char *sidecar_schema;     /* the agent's own schema: never copied */
    atomic_bool *cancel;            /* NULL, or set to stop between checks */
} preflight_input;

typedef struct preflight_check {
    const char *id; /* static string */
    preflight_severity severity;
    char *message;
    char *remedy; /* NULL on PASS */
    char **objects;
    size_t nobjects;
} preflight_check;

typedef struct preflight_report {
    preflight_check *checks;
    size_t nchecks, cap;
    preflight_severity worst;
    uint32_t tables;
    uint64_t est_rows;
    uint64_t est_bytes;
    uint64_t est_copy_seconds;
    uint32_t duration_ms;
} preflight_report;

/* Returns 0 with out filled (problems are checks, not errors), or -1 when
 * cancelled through in->cancel (out then holds the checks run so far). */
int preflight_run(const preflight_input *in, preflight_report *out);
void preflight_report_clear(preflight_report *r);
/* Is id one of the check ids above? */
bool preflight_check_known(const char *id);
/* Checks whose failure no one may accept: the destination being the
 * source itself. */
bool preflight_check_overridable(const char *id);

/* ---- the pure rules, exposed for the unit tests --------------------------- */

/* Add a check; message and remedy are copied (remedy may be NULL). The
 * report's worst severity follows. Returns the check, to add objects. */
preflight_check *preflight_report_add(preflight_report *r, const char *id, preflight_severity sev,
                                      const char *message, const char *remedy);
void preflight_check_add_object(preflight_check *c, const char *object);
const preflight_check *preflight_report_find(const preflight_report *r, const char *id);
const char *preflight_severity_name(preflight_severity s);

/* Is this server version supported? PF_PASS, or PF_FAIL with why filled
 * (one sentence naming the supported versions). */
preflight_severity preflight_version_check(server_flavor f, const char *version, sbuf *why);
/* "10.11.19-MariaDB-log" -> 10, 11, 19. Returns -1 when unparseable. */
int preflight_version_parse(const char *version, int *major, int *minor, int *patch);

/* Binlog retention in seconds from the server's variables (any may be
 * NULL when the server lacks it): binlog_expire_logs_seconds wins over
 * expire_logs_days, auto_purge OFF (MySQL 8.0.29+) disables purging.
 * 0 means binlogs never expire. */
int64_t preflight_retention_seconds(const char *expire_seconds, const char *expire_days, const char *auto_purge);
uint64_t preflight_copy_seconds(uint64_t bytes);
/* The retention the copy needs: the requested hours (0: the default), or
 * twice the estimated copy time when that is longer. */
uint64_t preflight_retention_need(unsigned hours, uint64_t copy_seconds);

/* ---- the privileges the agent's account needs: one table ------------------ */

/* Every privilege the lifecycle uses, per server role. The README's GRANT
 * statements are printed from it (tablet-agent --print-grants; a test
 * compares them), the sandbox creates its accounts from those, and the
 * preflight checks ask for exactly these, so the three cannot drift. */
typedef enum { PF_ROLE_SOURCE = 1, PF_ROLE_DEST = 2 } preflight_role;
enum {
    PF_ON_ALL = 1,     /* global by nature (RELOAD, REPLICATION SLAVE, ...) */
    PF_ON_TABLES = 2,  /* every database in scope: granted ON *.* */
    PF_ON_SIDECAR = 4, /* the agent's own schema: granted there when not ON *.* */
};

typedef struct preflight_privilege {
    unsigned roles;       /* PF_ROLE_* bits */
    unsigned scope;       /* PF_ON_* bits */
    const char *mariadb;  /* the name on MariaDB */
    const char *mysql;    /* the name on MySQL */
    const char *why;
} preflight_privilege;

extern const preflight_privilege preflight_privileges[];
extern const size_t preflight_nprivileges;
const char *preflight_privilege_name(const preflight_privilege *p, server_flavor f);
/* The GRANT statements for a role, for account ("'tablet_agent'@'%'"). */
void preflight_grants_sql(preflight_role role, server_flavor f, const char *account, const char *sidecar, sbuf *out);

/* 'user'@'host' from CURRENT_USER()'s user@host, for GRANT statements. */
void preflight_add_account(sbuf *out, const char *current_user);
/* GRANT privs ON `db`.* TO 'user'@'host'; (db NULL: ON *.*). */
void preflight_add_grant(sbuf *out, const char *privs, const char *db, const char *current_user);

/* The privilege an ER_SPECIFIC_ACCESS_DENIED_ERROR (1227) message names,
 * the specific one when it lists several. -1 when it names none. */
int preflight_privilege_named(const char *message, sbuf *out);

/* Privileges granted to the current user, from SHOW GRANTS lines. */
typedef struct preflight_grants {
    struct preflight_grant {
        char *db; /* NULL: *.*; else a database name or LIKE pattern */
        char **privs; /* upper case; "ALL PRIVILEGES" covers everything */
        size_t nprivs;
    } *v;
    size_t n;
} preflight_grants;

/* Parse one SHOW GRANTS line into g (lines that grant roles, proxies,
 * routines or single tables are ignored). */
void preflight_grants_add_line(preflight_grants *g, const char *line);
/* Does a global or database-level grant give priv on db (NULL: globally)? */
bool preflight_grants_has(const preflight_grants *g, const char *priv, const char *db);
void preflight_grants_clear(preflight_grants *g);
/* MySQL LIKE with % and _ and backslash escapes, as in `db\_%`.* grants. */
bool preflight_like(const char *pattern, const char *s);

/* Modes in a that b lacks, comma separated, into out. */
void preflight_sql_mode_minus(const char *a, const char *b, sbuf *out);

#endif
