/* cmd_workflow: `import` (create an import workflow and follow it with a
 * live progress bar) and `workflow status|list|pause|resume|follow`.
 * The live view fits the terminal (render.c picks the busiest tables);
 * `status` shows at most 20 tables, and with --json every one. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "args.h"
#include "cpctl.h"
#include "tabletagent/v1/tabletagent.pb-c.h"

#define PATH(m) "/tabletagent.v1.TabletAgent/" m

/* CreateImport runs every preflight check first: on a source with
 * thousands of tables that takes longer than a plain call may. */
#define CREATE_TIMEOUT_MS 300000

static int workflow_call(cp_ctx *ctx, const char *method, const char *what, const ProtobufCMessage *req,
                         ProtobufCMessage **resp)
{
    unsigned timeout = strstr(method, "CreateImport") && ctx->timeout_ms < CREATE_TIMEOUT_MS ? CREATE_TIMEOUT_MS
                                                                                             : ctx->timeout_ms;
    rpc_client *c = cp_agent(ctx);
    if (!c)
        return EXIT_UNREACHABLE;
    sbuf err = SBUF_INIT;
    grpc_status_code st =
        rpc_client_unary(c, method, req, &tabletagent__v1__workflow__descriptor, resp, timeout, &err);
    int rc = st == GRPC_STATUS_OK ? EXIT_OK : cp_report_failure(ctx, what, st, err.buf);
    sbuf_free(&err);
    return rc;
}

static void print_workflow(const cp_ctx *ctx, const ProtobufCMessage *m)
{
    if (ctx->json) {
        cp_print_json(m);
        return;
    }
    sbuf out = SBUF_INIT;
    render_workflow(m, &out);
    fputs(sbuf_cstr(&out), stdout);
    sbuf_free(&out);
}

static bool settled(const ProtobufCMessage *m)
{
    const Tabletagent__V1__Workflow *w = (const void *)m;
    return w->state == TABLETAGENT__V1__WORKFLOW_STATE__WORKFLOW_REPLICATING ||
           w->state == TABLETAGENT__V1__WORKFLOW_STATE__WORKFLOW_ERROR ||
           w->state == TABLETAGENT__V1__WORKFLOW_STATE__WORKFLOW_PAUSED ||
           w->state == TABLETAGENT__V1__WORKFLOW_STATE__WORKFLOW_STOPPED;
}

/* Follow the copy until it is over. */
static int follow(cp_ctx *ctx, const char *name)
{
    Tabletagent__V1__GetWorkflowRequest req = TABLETAGENT__V1__GET_WORKFLOW_REQUEST__INIT;
    req.name = (char *)name;
    cp_follow_ops ops = {PATH("GetWorkflow"), "import", &req.base, &tabletagent__v1__workflow__descriptor,
                         settled, render_workflow, render_workflow_line, render_workflow_fit};
    ProtobufCMessage *last;
    int rc = cp_follow(ctx, &ops, &last);
    if (rc != EXIT_OK)
        return rc;
    if (!ctx->json && !isatty(STDOUT_FILENO)) /* the line view: end with the tables */
        print_workflow(ctx, last);
    int state = ((const Tabletagent__V1__Workflow *)last)->state;
    protobuf_c_message_free_unpacked(last, NULL);
    return state == TABLETAGENT__V1__WORKFLOW_STATE__WORKFLOW_ERROR ? EXIT_FAILED : EXIT_OK;
}

int cmd_import(cp_ctx *ctx, int argc, char **argv)
{
    cp_endpoint_args dest = {0};
    const char *parallel = NULL, *chunk = NULL, *throttle = NULL, *ddl = NULL, *snapshot = NULL;
    bool keep_indexes = false, no_wait = false;
    arg_list include = {0}, exclude = {0}, overrides = {0};
    arg_opt opts[] = {
        CP_ENDPOINT_OPTS("dest", dest),
        {"tables", ARG_LIST, &include, "db.table pattern to import (* and ? work; default: all)"},
        {"exclude", ARG_LIST, &exclude, "db.table pattern to leave out"},
        {"parallel", ARG_STR, &parallel, "destination writer connections (4)"},
        {"chunk-rows", ARG_STR, &chunk, "most rows per page (10000; wide rows: about 4 MB a page)"},
        {"throttle-threads-running", ARG_STR, &throttle, "pause copying above this source Threads_running (50)"},
        {"ddl", ARG_STR, &ddl, "DDL during replication: stop (default), exec or ignore"},
        {"snapshot-seconds", ARG_STR, &snapshot, "longest a snapshot is held before a catch-up cycle (600)"},
        {"keep-secondary-indexes", ARG_FLAG, &keep_indexes, "create secondary indexes before the rows, not after"},
        {"no-wait", ARG_FLAG, &no_wait, "return at once instead of following the copy"},
        {"override", ARG_LIST, &overrides, "accept this failing preflight check knowingly (its id; repeatable)"},
    };
    const char *pos[1];
    int rc = EXIT_USAGE;
    int prc = args_command(argc, argv, opts, sizeof opts / sizeof opts[0], pos, 1, "a workflow NAME",
                           "import NAME --dest-host H --dest-user U --dest-password-file F [options]");
    if (prc) {
        rc = prc < 0 ? EXIT_USAGE : EXIT_OK;
        goto out;
    }
    Tabletagent__V1__CreateImportRequest req = TABLETAGENT__V1__CREATE_IMPORT_REQUEST__INIT;
    Tabletagent__V1__Endpoint ep;
    Tabletagent__V1__TableFilter filter = TABLETAGENT__V1__TABLE_FILTER__INIT;
    Tabletagent__V1__ImportOptions o = TABLETAGENT__V1__IMPORT_OPTIONS__INIT;
    cp_endpoint_from_args(&dest, &ep);
    filter.include = include.v;
    filter.n_include = include.n;
    filter.exclude = exclude.v;
    filter.n_exclude = exclude.n;
    o.parallelism = parallel ? (uint32_t)atoi(parallel) : 0;
    o.chunk_rows = chunk ? strtoull(chunk, NULL, 10) : 0;
    o.throttle_threads_running = throttle ? (uint32_t)atoi(throttle) : 0;
    o.snapshot_seconds = snapshot ? (uint32_t)atoi(snapshot) : 0;
    o.keep_secondary_indexes = keep_indexes;
    if (!cp_ddl_policy(ddl, &o.ddl)) {
        fprintf(stderr, "cpctl: --ddl must be stop, exec or ignore\n");
        goto out;
    }
    req.name = (char *)pos[0];
    req.destination = &ep;
    req.tables = &filter;
    req.options = &o;
    req.override_checks = overrides.v;
    req.n_override_checks = overrides.n;
    ProtobufCMessage *resp;
    rc = workflow_call(ctx, PATH("CreateImport"), "import", &req.base, &resp);
    if (rc != EXIT_OK)
        goto out;
    if (no_wait)
        print_workflow(ctx, resp);
    protobuf_c_message_free_unpacked(resp, NULL);
    if (rc == EXIT_OK)
        rc = cp_routing_register(ctx, pos[0]);
    if (rc == EXIT_OK && !no_wait)
        rc = follow(ctx, pos[0]);
out:
    args_list_free(&include);
    args_list_free(&exclude);
    args_list_free(&overrides);
    return rc;
}

static int workflow_list(cp_ctx *ctx)
{
    rpc_client *c = cp_agent(ctx);
    if (!c)
        return EXIT_UNREACHABLE;
    Tabletagent__V1__ListWorkflowsRequest req = TABLETAGENT__V1__LIST_WORKFLOWS_REQUEST__INIT;
    ProtobufCMessage *resp;
    sbuf err = SBUF_INIT;
    grpc_status_code st = rpc_client_unary(c, PATH("ListWorkflows"), &req.base,
                                           &tabletagent__v1__list_workflows_response__descriptor, &resp,
                                           ctx->timeout_ms, &err);
    int rc = st == GRPC_STATUS_OK ? EXIT_OK : cp_report_failure(ctx, "workflow list", st, err.buf);
    if (rc == EXIT_OK) {
        const Tabletagent__V1__ListWorkflowsResponse *l = (const void *)resp;
        if (ctx->json) {
            cp_print_json(resp);
        } else {
            if (l->n_workflows == 0)
                puts("no workflows");
            for (size_t i = 0; i < l->n_workflows; i++) {
                sbuf line = SBUF_INIT;
                render_workflow_line(&l->workflows[i]->base, &line);
                puts(line.buf);
                sbuf_free(&line);
            }
        }
        protobuf_c_message_free_unpacked(resp, NULL);
    }
    sbuf_free(&err);
    return rc;
}

/* resume NAME [--dest-...]: new destination credentials, for the same
 * server, go with the resume (an inline password is not kept across an
 * agent restart; a moved password file). */
static int workflow_resume(cp_ctx *ctx, int argc, char **argv)
{
    cp_endpoint_args dest = {0};
    arg_opt opts[] = {CP_ENDPOINT_OPTS("dest", dest)};
    const char *pos[1];
    int prc = args_command(argc, argv, opts, sizeof opts / sizeof opts[0], pos, 1, "a workflow NAME",
                           "workflow resume NAME [--dest-host H --dest-user U --dest-password-file F]");
    if (prc)
        return prc < 0 ? EXIT_USAGE : EXIT_OK;
    Tabletagent__V1__WorkflowCommandRequest req = TABLETAGENT__V1__WORKFLOW_COMMAND_REQUEST__INIT;
    Tabletagent__V1__Endpoint ep;
    req.name = (char *)pos[0];
    cp_endpoint_from_args(&dest, &ep);
    req.destination = &ep;
    ProtobufCMessage *resp = NULL;
    int rc = workflow_call(ctx, PATH("ResumeWorkflow"), "workflow resume", &req.base, &resp);
    if (rc == EXIT_OK) {
        print_workflow(ctx, resp);
        protobuf_c_message_free_unpacked(resp, NULL);
    }
    return rc;
}

int cmd_workflow(cp_ctx *ctx, int argc, char **argv)
{
    if (argc == 2 && strcmp(argv[1], "list") == 0)
        return workflow_list(ctx);
    if (argc >= 2 && strcmp(argv[1], "resume") == 0)
        return workflow_resume(ctx, argc - 1, argv + 1);
    if (argc != 3) {
        fprintf(stderr, "usage: cpctl workflow list | status|pause|follow NAME | resume NAME [--dest-...]\n");
        return EXIT_USAGE;
    }
    const char *verb = argv[1], *name = argv[2];
    ProtobufCMessage *resp = NULL;
    int rc;
    if (strcmp(verb, "follow") == 0)
        return follow(ctx, name);
    if (strcmp(verb, "status") == 0) {
        Tabletagent__V1__GetWorkflowRequest req = TABLETAGENT__V1__GET_WORKFLOW_REQUEST__INIT;
        req.name = (char *)name;
        rc = workflow_call(ctx, PATH("GetWorkflow"), "workflow status", &req.base, &resp);
    } else if (strcmp(verb, "pause") == 0) {
        Tabletagent__V1__WorkflowCommandRequest req = TABLETAGENT__V1__WORKFLOW_COMMAND_REQUEST__INIT;
        req.name = (char *)name;
        rc = workflow_call(ctx, PATH("PauseWorkflow"), "workflow pause", &req.base, &resp);
    } else {
        fprintf(stderr, "cpctl: unknown workflow command \"%s\"\n", verb);
        return EXIT_USAGE;
    }
    if (rc == EXIT_OK) {
        print_workflow(ctx, resp);
        protobuf_c_message_free_unpacked(resp, NULL);
    }
    return rc;
}
