/* cmd_preflight: `preflight`: ask the agent whether its source (and a
 * destination) can be migrated, and show what to fix.
 *
 * The agent does the checking; this file only sends the request and draws
 * the answer for people: checks grouped as source / schema / destination,
 * one line each (severity, id, message), and for every WARN and FAIL the
 * remedy and the objects concerned on indented lines below it, then a
 * summary. Colour only on a terminal (and never with NO_COLOR set). The exit
 * code is 1 when anything FAILs, so scripts can gate on it; --json prints
 * the report as one line instead. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "args.h"
#include "cpctl.h"
#include "tabletagent/v1/tabletagent.pb-c.h"

/* Checks connect to two servers and open a binlog dump: give them time. */
#define PREFLIGHT_TIMEOUT_MS 60000u
#define PREFLIGHT_MAX_RETENTION_HOURS 87600ul
/* Objects shown per check; --json has them all. */
#define PREFLIGHT_OBJECTS_SHOWN 8

typedef Tabletagent__V1__PreflightReport pf_report;
typedef Tabletagent__V1__PreflightCheck pf_check;

/* How to draw: colours and line width only on a terminal; piped output
 * keeps one line per item so grep and diff work on it. */
typedef struct pf_style {
    bool color;
    size_t width; /* 0: do not wrap */
} pf_style;

static const char *const pf_groups[][2] = {
    {"source.", "Source"},
    {"schema.", "Schema"},
    {"destination.", "Destination"},
};
#define PF_NGROUPS (sizeof pf_groups / sizeof pf_groups[0])

static const char *pf_sev_name(Tabletagent__V1__Severity s)
{
    switch (s) {
    case TABLETAGENT__V1__SEVERITY__PASS: return "PASS";
    case TABLETAGENT__V1__SEVERITY__WARN: return "WARN";
    case TABLETAGENT__V1__SEVERITY__FAIL: return "FAIL";
    default: return "????";
    }
}

static const char *pf_sev_color(Tabletagent__V1__Severity s)
{
    switch (s) {
    case TABLETAGENT__V1__SEVERITY__PASS: return "\033[32m";
    case TABLETAGENT__V1__SEVERITY__WARN: return "\033[33m";
    case TABLETAGENT__V1__SEVERITY__FAIL: return "\033[1;31m";
    default: return "";
    }
}

/* Columns a UTF-8 string takes (one per character: names may be Unicode). */
static size_t pf_columns(const char *s, size_t n)
{
    size_t cols = 0;
    for (size_t i = 0; i < n; i++)
        cols += ((unsigned char)s[i] & 0xC0) != 0x80;
    return cols;
}

/* Append text that starts at column col. Its own newlines, and with a
 * width the words that would pass it, continue on a new line at indent. */
static void pf_render_wrapped(const char *text, size_t col, size_t indent, const pf_style *st, sbuf *out)
{
    size_t width = st->width;
    if (width && width < indent + 30) /* too narrow to hang under the message */
        indent = 8;
    const char *p = text;
    while (*p) {
        if (*p == '\n') {
            sbuf_addf(out, "\n%*s", (int)indent, "");
            col = indent;
            p++;
            continue;
        }
        size_t spaces = strspn(p, " ");
        size_t word = strcspn(p + spaces, " \n");
        size_t need = pf_columns(p, spaces + word);
        if (width && col > indent && col + need > width) {
            sbuf_addf(out, "\n%*s", (int)indent, "");
            col = indent;
            p += spaces; /* no leading blanks on a continuation line */
            need = pf_columns(p, word);
            spaces = 0;
        }
        sbuf_add(out, p, spaces + word);
        col += need;
        p += spaces + word;
    }
}

static void pf_render_check(const pf_check *c, int idw, const pf_style *st, sbuf *out)
{
    if (st->color)
        sbuf_addf(out, "  %s%s\033[0m  ", pf_sev_color(c->severity), pf_sev_name(c->severity));
    else
        sbuf_addf(out, "  %s  ", pf_sev_name(c->severity));
    sbuf_addf(out, "%-*s  ", idw, c->id);
    size_t indent = 8 + (size_t)idw + 2; /* under the message */
    pf_render_wrapped(c->message, indent, indent, st, out);
    sbuf_addc(out, '\n');
    if (c->severity == TABLETAGENT__V1__SEVERITY__PASS)
        return;
    if (c->remedy && *c->remedy) {
        sbuf_addf(out, "%*s%sfix:%s ", (int)indent, "", st->color ? "\033[1m" : "", st->color ? "\033[0m" : "");
        /* Never wrapped: a statement or command is copied as it stands
         * (a shell pipeline broken before its '|' would not run). */
        pf_style nowrap = *st;
        nowrap.width = 0;
        pf_render_wrapped(c->remedy, indent + 5, indent + 5, &nowrap, out);
        sbuf_addc(out, '\n');
    }
    if (c->n_objects) {
        sbuf objs = SBUF_INIT;
        for (size_t i = 0; i < c->n_objects && i < PREFLIGHT_OBJECTS_SHOWN; i++)
            sbuf_addf(&objs, "%s%s", i ? ", " : "", c->objects[i]);
        if (c->n_objects > PREFLIGHT_OBJECTS_SHOWN)
            sbuf_addf(&objs, " and %zu more (--json lists all)", c->n_objects - PREFLIGHT_OBJECTS_SHOWN);
        sbuf_addf(out, "%*sobjects: ", (int)indent, "");
        pf_render_wrapped(objs.buf, indent + 9, indent + 9, st, out);
        sbuf_addc(out, '\n');
        sbuf_free(&objs);
    }
}

static size_t pf_group_of(const char *id)
{
    for (size_t g = 0; g < PF_NGROUPS; g++)
        if (strncmp(id, pf_groups[g][0], strlen(pf_groups[g][0])) == 0)
            return g;
    return PF_NGROUPS; /* ids this cpctl does not know yet: shown last */
}

static void pf_render(const pf_report *r, const char *agent_addr, const pf_style *st, sbuf *out)
{
    int idw = 0;
    unsigned count[4] = {0};
    for (size_t i = 0; i < r->n_checks; i++) {
        int n = (int)strlen(r->checks[i]->id);
        if (n > idw)
            idw = n;
        if ((unsigned)r->checks[i]->severity < 4)
            count[r->checks[i]->severity]++;
    }
    sbuf_addf(out, "Preflight of the agent at %s (%u ms)\n", agent_addr, r->duration_ms);
    for (size_t g = 0; g <= PF_NGROUPS; g++) {
        bool header = false;
        for (size_t i = 0; i < r->n_checks; i++) {
            if (pf_group_of(r->checks[i]->id) != g)
                continue;
            if (!header) {
                sbuf_addf(out, "\n%s%s%s\n", st->color ? "\033[1m" : "", g < PF_NGROUPS ? pf_groups[g][1] : "Other",
                          st->color ? "\033[0m" : "");
                header = true;
            }
            pf_render_check(r->checks[i], idw, st, out);
        }
    }
    sbuf_addf(out, "\n%u pass, %u warn, %u fail", count[TABLETAGENT__V1__SEVERITY__PASS],
              count[TABLETAGENT__V1__SEVERITY__WARN], count[TABLETAGENT__V1__SEVERITY__FAIL]);
    bool sized = false;
    for (size_t i = 0; i < r->n_checks; i++)
        sized = sized || strcmp(r->checks[i]->id, "schema.size") == 0;
    if (sized) { /* else the tables were never looked at: no size to show */
        sbuf_addf(out, ". %u %s, about %llu rows, ", r->tables, r->tables == 1 ? "table" : "tables",
                  (unsigned long long)r->estimated_rows);
        sbuf_add_bytes(out, r->estimated_bytes);
        sbuf_adds(out, "; estimated copy time ");
        sbuf_add_duration(out, (int64_t)r->estimated_copy_seconds);
        sbuf_adds(out, " (at 50 MB/s)");
    }
    sbuf_addc(out, '\n');
    if (r->worst == TABLETAGENT__V1__SEVERITY__FAIL)
        sbuf_adds(out, "Not ready: fix every FAIL above and run preflight again.\n");
    else if (r->worst == TABLETAGENT__V1__SEVERITY__WARN)
        sbuf_adds(out, "Ready, with warnings: read each WARN above before you start.\n");
    else
        sbuf_adds(out, "Ready.\n");
}

/* Usage on stderr after a problem (exit 2), or on stdout for --help. */
static int pf_usage(const arg_opt *opts, size_t n, const char *problem)
{
    sbuf u = SBUF_INIT;
    if (problem)
        fprintf(stderr, "cpctl: preflight: %s\n", problem);
    args_usage("preflight [--dest-host H --dest-port P --dest-user U --dest-password-file F] "
               "[--tables db.pattern ...] [--exclude db.pattern ...] [--retention-hours N]",
               opts, n, &u);
    sbuf_adds(&u, "Checks the agent's source (and the destination, when given) and prints what to fix.\n"
                  "Exit codes: 0 nothing FAILs, 1 something FAILs, 2 usage, 3 agent unreachable.\n");
    fputs(u.buf, problem ? stderr : stdout);
    sbuf_free(&u);
    return problem ? EXIT_USAGE : EXIT_OK;
}

static int pf_call(cp_ctx *ctx, const Tabletagent__V1__PreflightRequest *req)
{
    rpc_client *c = cp_agent(ctx);
    if (!c)
        return EXIT_UNREACHABLE;
    ProtobufCMessage *resp;
    sbuf err = SBUF_INIT;
    unsigned timeout = ctx->timeout_ms > PREFLIGHT_TIMEOUT_MS ? ctx->timeout_ms : PREFLIGHT_TIMEOUT_MS;
    grpc_status_code st = rpc_client_unary(c, "/tabletagent.v1.TabletAgent/Preflight", &req->base,
                                           &tabletagent__v1__preflight_report__descriptor, &resp, timeout, &err);
    if (st != GRPC_STATUS_OK) {
        int rc = cp_report_failure(ctx, "preflight", st, err.buf);
        sbuf_free(&err);
        return rc;
    }
    sbuf_free(&err);
    const pf_report *r = (const void *)resp;
    if (ctx->json) {
        cp_print_json(resp);
    } else {
        pf_style style = {0};
        if (isatty(STDOUT_FILENO)) {
            struct winsize ws;
            style.color = !getenv("NO_COLOR");
            style.width = ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col ? ws.ws_col : 100;
        }
        sbuf out = SBUF_INIT;
        pf_render(r, ctx->agent_addr, &style, &out);
        fputs(out.buf, stdout);
        sbuf_free(&out);
    }
    int rc = r->worst == TABLETAGENT__V1__SEVERITY__FAIL ? EXIT_FAILED : EXIT_OK;
    protobuf_c_message_free_unpacked(resp, NULL);
    return rc;
}

int cmd_preflight(cp_ctx *ctx, int argc, char **argv)
{
    cp_endpoint_args dst = {0};
    const char *retention = NULL;
    bool json = false, tls = false, help = false;
    arg_list include = {0}, exclude = {0};
    arg_opt opts[] = {
        CP_ENDPOINT_OPTS("dest", dst),
        {"dest-tls", ARG_FLAG, &tls, "require TLS to the destination"},
        {"tables", ARG_LIST, &include, "db.table pattern to check (* and ? work; default: every table)"},
        {"exclude", ARG_LIST, &exclude, "db.table pattern to leave out"},
        {"retention-hours", ARG_STR, &retention, "binlog retention the copy needs (default 48)"},
        {"json", ARG_FLAG, &json, "print the report as one JSON line (same as cpctl --json)"},
        {"help", ARG_FLAG, &help, "show this help"},
    };
    size_t nopts = sizeof opts / sizeof opts[0], got;
    sbuf err = SBUF_INIT;
    int rc;
    if (args_parse(argc, argv, opts, nopts, NULL, 0, &got, &err) != 0) {
        rc = pf_usage(opts, nopts, err.buf);
        goto out;
    }
    if (help) {
        rc = pf_usage(opts, nopts, NULL);
        goto out;
    }
    Tabletagent__V1__PreflightRequest req = TABLETAGENT__V1__PREFLIGHT_REQUEST__INIT;
    Tabletagent__V1__Endpoint dest;
    Tabletagent__V1__TableFilter filter = TABLETAGENT__V1__TABLE_FILTER__INIT;
    bool dest_given = dst.host || dst.socket;
    if (!dest_given && (dst.port || dst.user || dst.password_file || dst.password_env || tls)) {
        rc = pf_usage(opts, nopts, "--dest-host (or --dest-socket) is required with the other --dest-* options");
        goto out;
    }
    if (dest_given && !dst.user) {
        rc = pf_usage(opts, nopts, "--dest-user is required with --dest-host");
        goto out;
    }
    if (retention) {
        char *end;
        unsigned long h = strtoul(retention, &end, 10);
        if (!*retention || *end || h == 0 || h > PREFLIGHT_MAX_RETENTION_HOURS) {
            rc = pf_usage(opts, nopts, "--retention-hours must be a whole number of hours from 1 to 87600");
            goto out;
        }
        req.retention_hours = (uint32_t)h;
    }
    if (dest_given) {
        cp_endpoint_from_args(&dst, &dest);
        dest.tls = tls;
        req.destination = &dest;
    }
    filter.include = include.v;
    filter.n_include = include.n;
    filter.exclude = exclude.v;
    filter.n_exclude = exclude.n;
    req.tables = &filter;
    if (json)
        ctx->json = true;
    rc = pf_call(ctx, &req);
out:
    args_list_free(&include);
    args_list_free(&exclude);
    sbuf_free(&err);
    return rc;
}
