/* preflight_rules: what preflight decides without a server: which versions
 * are supported, how long binlogs are kept, what a SHOW GRANTS line grants,
 * how two sql_modes differ. See preflight.h.
 *
 * They are kept apart from the checks, with no connection or context in
 * sight, so that tests/unit/test_preflight.c can pin every rule down with
 * literal strings; the checks only feed them what the servers answer. */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "preflight/preflight.h"

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

preflight_severity preflight_version_check(server_flavor f, const char *version, sbuf *why)
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

#define S PF_ROLE_SOURCE
#define D PF_ROLE_DEST
const preflight_privilege preflight_privileges[] = {
    {S | D, PF_ON_TABLES | PF_ON_SIDECAR, "SELECT", "SELECT", "read schemas and rows for the copy and VDiff"},
    {S, PF_ON_ALL, "SHOW VIEW", "SHOW VIEW", "read view definitions, so preflight can list what is not copied"},
    {S | D, PF_ON_ALL, "RELOAD", "RELOAD", "FLUSH TABLES WITH READ LOCK while fencing writes at cutover"},
    {S | D, PF_ON_ALL, "REPLICATION SLAVE", "REPLICATION SLAVE",
     "stream the binlog (the destination's too, for reverse replication)"},
    {S | D, PF_ON_ALL, "BINLOG MONITOR", "REPLICATION CLIENT",
     "SHOW MASTER STATUS, SHOW BINARY LOGS for positions and retention"},
    {S | D, PF_ON_ALL, "READ_ONLY ADMIN", "SYSTEM_VARIABLES_ADMIN",
     "set read_only at cutover, and apply reverse replication under it"},
    {S | D, PF_ON_ALL, "CONNECTION ADMIN", "CONNECTION_ADMIN", "kill the fenced accounts' sessions"},
    {S | D, PF_ON_ALL, "PROCESS", "PROCESS",
     "find the fenced accounts' sessions; lets the copy's throttle see other users' queries"},
    {S | D, PF_ON_ALL, "CREATE USER", "CREATE USER", "ALTER USER ... ACCOUNT LOCK/UNLOCK of the accounts it fences"},
    {S | D, PF_ON_TABLES | PF_ON_SIDECAR, "INSERT", "INSERT",
     "write rows: the copy on the destination, reverse replication on the source; the agent's state"},
    {S | D, PF_ON_TABLES | PF_ON_SIDECAR, "UPDATE", "UPDATE", "replicate updates (both directions); the agent's state"},
    {S | D, PF_ON_TABLES | PF_ON_SIDECAR, "DELETE", "DELETE", "replicate deletes (both directions); the agent's state"},
    {D, PF_ON_TABLES | PF_ON_SIDECAR, "CREATE", "CREATE", "create the destination's databases and tables"},
    {S, PF_ON_SIDECAR, "CREATE", "CREATE", "keep reverse replication's position and journal in the sidecar schema"},
    {D, PF_ON_TABLES, "DROP", "DROP", "apply DROP statements of replicated DDL (--ddl exec)"},
    {D, PF_ON_TABLES, "ALTER", "ALTER", "add the deferred secondary indexes; replicated DDL"},
    {D, PF_ON_TABLES, "INDEX", "INDEX", "add the deferred secondary indexes"},
    {D, PF_ON_TABLES, "REFERENCES", "REFERENCES", "create tables with foreign keys"},
};
#undef S
#undef D
const size_t preflight_nprivileges = sizeof preflight_privileges / sizeof preflight_privileges[0];

const char *preflight_privilege_name(const preflight_privilege *p, server_flavor f)
{
    return f == FLAVOR_MYSQL ? p->mysql : p->mariadb;
}

void preflight_grants_sql(preflight_role role, server_flavor f, const char *account, const char *sidecar, sbuf *out)
{
    for (int pass = 0; pass < 2; pass++) { /* *.*, then the sidecar */
        size_t n = 0, width = 6;
        for (size_t i = 0; i < preflight_nprivileges; i++) {
            const preflight_privilege *p = &preflight_privileges[i];
            bool global = p->scope & (PF_ON_ALL | PF_ON_TABLES);
            if (!(p->roles & role) || global == (pass == 1))
                continue;
            const char *name = preflight_privilege_name(p, f);
            if (n && width + strlen(name) + 2 > 72) { /* README-friendly lines */
                sbuf_adds(out, ",\n      ");
                width = 6;
            } else if (n) {
                sbuf_adds(out, ", ");
                width += 2;
            } else {
                sbuf_adds(out, "GRANT ");
            }
            sbuf_adds(out, name);
            width += strlen(name);
            n++;
        }
        if (!n)
            continue;
        sbuf_adds(out, " ON ");
        if (pass == 1) {
            db_add_ident(out, sidecar);
            sbuf_adds(out, ".*");
        } else {
            sbuf_adds(out, "*.*");
        }
        sbuf_addf(out, " TO %s;\n", account);
    }
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
