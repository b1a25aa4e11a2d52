/* cmd_vdiff: `cpctl vdiff NAME` starts a VDiff of a workflow and follows
 * it to the end; `--follow` follows the running (or shows the last) one,
 * `--show` prints the report as it stands.
 * Exits 1 when anything differs or the diff could not finish, so a script
 * can gate the switch or the detach on it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "args.h"
#include "cpctl.h"
#include "tabletagent/v1/tabletagent.pb-c.h"

#define PATH(m) "/tabletagent.v1.TabletAgent/" m

static bool settled(const ProtobufCMessage *m)
{
    return strcmp(((const Tabletagent__V1__VDiffReport *)m)->state, "RUNNING") != 0;
}

static bool settled_now(const ProtobufCMessage *m)
{
    (void)m;
    return true;
}

static int start(cp_ctx *ctx, const char *name, uint64_t chunk_rows)
{
    rpc_client *c = cp_agent(ctx);
    if (!c)
        return EXIT_UNREACHABLE;
    Tabletagent__V1__VDiffRequest req = TABLETAGENT__V1__VDIFF_REQUEST__INIT;
    req.name = (char *)name;
    req.chunk_rows = chunk_rows;
    ProtobufCMessage *resp;
    sbuf err = SBUF_INIT;
    grpc_status_code st = rpc_client_unary(c, PATH("VDiff"), &req.base, &tabletagent__v1__vdiff_report__descriptor,
                                           &resp, ctx->timeout_ms, &err);
    int rc = st == GRPC_STATUS_OK ? EXIT_OK : cp_report_failure(ctx, "vdiff", st, err.buf);
    if (rc == EXIT_OK)
        protobuf_c_message_free_unpacked(resp, NULL);
    sbuf_free(&err);
    return rc;
}

int cmd_vdiff(cp_ctx *ctx, int argc, char **argv)
{
    const char *chunk = NULL;
    bool show = false, follow = false;
    arg_opt opts[] = {
        {"chunk-rows", ARG_STR, &chunk, "rows per checksummed chunk (1000)"},
        {"follow", ARG_FLAG, &follow, "follow the running diff to its end instead of starting one"},
        {"show", ARG_FLAG, &show, "print the current or last report once"},
    };
    const char *pos[1];
    int prc = args_command(argc, argv, opts, sizeof opts / sizeof opts[0], pos, 1, "a workflow NAME",
                           "vdiff NAME [--chunk-rows N] [--follow | --show]");
    if (prc)
        return prc < 0 ? EXIT_USAGE : EXIT_OK;
    char *end = NULL;
    uint64_t chunk_rows = chunk ? strtoull(chunk, &end, 10) : 0;
    if (chunk && (*end || chunk_rows == 0)) {
        fprintf(stderr, "cpctl: vdiff: --chunk-rows wants a positive number, not \"%s\"\n", chunk);
        return EXIT_USAGE;
    }
    int rc = show || follow ? EXIT_OK : start(ctx, pos[0], chunk_rows);
    if (rc != EXIT_OK)
        return rc;
    Tabletagent__V1__VDiffRequest req = TABLETAGENT__V1__VDIFF_REQUEST__INIT;
    req.name = (char *)pos[0];
    cp_follow_ops ops = {PATH("GetVDiff"), "vdiff", &req.base, &tabletagent__v1__vdiff_report__descriptor,
                         show ? settled_now : settled, render_vdiff, render_vdiff_line};
    ProtobufCMessage *last;
    rc = cp_follow(ctx, &ops, &last);
    if (rc != EXIT_OK)
        return rc;
    const Tabletagent__V1__VDiffReport *r = (const void *)last;
    bool clean = (strcmp(r->state, "DONE") == 0 || strcmp(r->state, "RUNNING") == 0) && r->differences == 0;
    if (!ctx->json && !isatty(1)) { /* the line view: end with the full report */
        sbuf out = SBUF_INIT;
        render_vdiff(last, &out);
        fputs(sbuf_cstr(&out), stdout);
        sbuf_free(&out);
    }
    protobuf_c_message_free_unpacked(last, NULL);
    return clean ? EXIT_OK : EXIT_FAILED;
}
