/* cpctl: command-line client and stand-in orchestrator for tablet agents.
 *
 * Global options come first, then a command and its own arguments:
 *   cpctl [--agent HOST:PORT] [--json] [--tls-ca F --tls-cert F --tls-key F]
 *         COMMAND [ARGS]
 * The agent address also comes from CPCTL_AGENT. Commands live in their
 * own files (cmd_*.c); this file parses options and dispatches. */
#include "cpctl.h"

#include <grpc/grpc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pbjson.h"

static volatile sig_atomic_t interrupted;

typedef struct command {
    const char *name;
    int (*run)(cp_ctx *ctx, int argc, char **argv);
    const char *help;
} command;

static const command commands[] = {
    {"status", cmd_status, "show the agent, its source server and everything it runs"},
    {"watch", cmd_watch, "print a line per health update until interrupted"},
    {"health", cmd_health, "grpc.health.v1 Check: SERVING or NOT_SERVING"},
    {"preflight", cmd_preflight, "check source (and destination) for migration-breaking problems"},
    {"import", cmd_import, "copy tables into a destination, then keep it in sync (live progress)"},
    {"workflow", cmd_workflow, "list, status, pause, resume or follow workflows"},
    {"validate", cmd_lifecycle, "route reads to the destination (writes stay on the source)"},
    {"switch", cmd_lifecycle, "enable primary mode: fence the source, move writes, reverse replication"},
    {"reverse", cmd_lifecycle, "roll back: writes back to the source, forward replication again"},
    {"detach", cmd_lifecycle, "end the workflow; writes stay on the side that has them (--force: without the destination)"},
    {"vdiff", cmd_vdiff, "compare source and destination row by row (exit 1 when they differ)"},
    {"routing", cmd_lifecycle, "show (or --watch) a workflow's routing rules; --hold/--release its routers"},
    {"serve", cmd_serve, "run the control-plane mock: routing rules over gRPC"},
    {"router", cmd_router, "router status --router HOST:PORT: a router's rules, control plane, backends"},
    {"stream", cmd_stream, "start, stop or show a replication stream"},
};
#define NCOMMANDS (sizeof commands / sizeof commands[0])

static void usage(FILE *f)
{
    fprintf(f, "usage: cpctl [--agent HOST:PORT] [--control-plane HOST:PORT] [--json] [--timeout-ms N]\n"
               "             [--tls-ca FILE [--tls-cert FILE --tls-key FILE]] COMMAND [ARGS]\n\n"
               "Commands:\n");
    for (size_t i = 0; i < NCOMMANDS; i++)
        fprintf(f, "  %-10s %s\n", commands[i].name, commands[i].help);
    fprintf(f, "\nThe agent address defaults to $CPCTL_AGENT or 127.0.0.1:15991, the control plane's to\n"
               "$CPCTL_CONTROL_PLANE or 127.0.0.1:15990.\n"
               "Exit codes: 0 ok, 1 failed or problems found, 2 usage, 3 agent unreachable.\n");
}

rpc_client *cp_agent(cp_ctx *ctx)
{
    if (ctx->client)
        return ctx->client;
    sbuf err = SBUF_INIT;
    ctx->client = rpc_client_open(ctx->agent_addr, ctx->use_tls ? &ctx->tls : NULL, &err);
    if (!ctx->client)
        fprintf(stderr, "cpctl: %s\n", err.buf);
    sbuf_free(&err);
    return ctx->client;
}

int cp_report_failure(const cp_ctx *ctx, const char *what, grpc_status_code st, const char *msg)
{
    if (st == GRPC_STATUS_UNAVAILABLE && !rpc_client_last_answered()) {
        fprintf(stderr, "cpctl: %s: agent at %s is unreachable (%s); check that tablet-agent runs and "
                        "--agent points at it\n", what, ctx->agent_addr, msg);
        return EXIT_UNREACHABLE;
    }
    static const char *const names[] = {"OK", "CANCELLED", "UNKNOWN", "INVALID_ARGUMENT",
        "DEADLINE_EXCEEDED", "NOT_FOUND", "ALREADY_EXISTS", "PERMISSION_DENIED", "RESOURCE_EXHAUSTED",
        "FAILED_PRECONDITION", "ABORTED", "OUT_OF_RANGE", "UNIMPLEMENTED", "INTERNAL", "UNAVAILABLE",
        "DATA_LOSS", "UNAUTHENTICATED"};
    const char *name = (unsigned)st < sizeof names / sizeof names[0] ? names[st] : "ERROR";
    fprintf(stderr, "cpctl: %s failed (%s): %s\n", what, name, msg);
    return EXIT_FAILED;
}

void cp_print_json(const ProtobufCMessage *m)
{
    sbuf out = SBUF_INIT;
    pbjson_write(m, &out);
    sbuf_addc(&out, '\n');
    fputs(sbuf_cstr(&out), stdout);
    fflush(stdout);
    sbuf_free(&out);
}

static void on_interrupt(int sig)
{
    (void)sig;
    interrupted = 1;
}

/* Returns the index of the command word, or -1 after printing a problem. */
static int parse_globals(cp_ctx *ctx, int argc, char **argv)
{
    int i = 1;
    for (; i < argc && strncmp(argv[i], "--", 2) == 0; i++) {
        const char *a = argv[i];
        const char **slot = NULL;
        if (strcmp(a, "--json") == 0) { ctx->json = true; continue; }
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) { usage(stdout); exit(EXIT_OK); }
        if (strcmp(a, "--agent") == 0) slot = &ctx->agent_addr;
        else if (strcmp(a, "--control-plane") == 0) slot = &ctx->control_addr;
        else if (strcmp(a, "--tls-ca") == 0) slot = &ctx->tls.ca_file;
        else if (strcmp(a, "--tls-cert") == 0) slot = &ctx->tls.cert_file;
        else if (strcmp(a, "--tls-key") == 0) slot = &ctx->tls.key_file;
        else if (strcmp(a, "--timeout-ms") == 0 && i + 1 < argc) { ctx->timeout_ms = (unsigned)atoi(argv[++i]); continue; }
        if (!slot || i + 1 >= argc) {
            fprintf(stderr, "cpctl: unknown option or missing value: %s (see --help)\n", a);
            return -1;
        }
        *slot = argv[++i];
    }
    ctx->use_tls = ctx->tls.ca_file != NULL;
    if ((ctx->tls.cert_file != NULL) != (ctx->tls.key_file != NULL)) {
        fprintf(stderr, "cpctl: --tls-cert and --tls-key go together\n");
        return -1;
    }
    if (i >= argc) {
        usage(stderr);
        return -1;
    }
    return i;
}

int main(int argc, char **argv)
{
    cp_ctx ctx = {0};
    ctx.agent_addr = getenv("CPCTL_AGENT") ? getenv("CPCTL_AGENT") : "127.0.0.1:15991";
    ctx.control_addr = getenv("CPCTL_CONTROL_PLANE") ? getenv("CPCTL_CONTROL_PLANE") : "127.0.0.1:15990";
    ctx.timeout_ms = 10000;
    ctx.interrupted = &interrupted;
    signal(SIGINT, on_interrupt);
    signal(SIGTERM, on_interrupt);
    signal(SIGPIPE, SIG_IGN);
    int ci = parse_globals(&ctx, argc, argv);
    if (ci < 0)
        return EXIT_USAGE;
    for (size_t i = 0; i < NCOMMANDS; i++) {
        if (strcmp(argv[ci], commands[i].name) == 0) {
            int rc = commands[i].run(&ctx, argc - ci, argv + ci);
            rpc_client_close(ctx.client);
            rpc_client_close(ctx.control);
            return rc;
        }
    }
    fprintf(stderr, "cpctl: unknown command \"%s\" (see --help)\n", argv[ci]);
    return EXIT_USAGE;
}
