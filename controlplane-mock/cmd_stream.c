/* cmd_stream: `stream start|stop|status NAME`: drive one replication
 * stream on the agent (the engine that import and cutover use). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "args.h"
#include "cpctl.h"
#include "tabletagent/v1/tabletagent.pb-c.h"

#define PATH(m) "/tabletagent.v1.TabletAgent/" m

void cp_endpoint_from_args(const cp_endpoint_args *a, Tabletagent__V1__Endpoint *ep)
{
    tabletagent__v1__endpoint__init(ep);
    ep->host = (char *)(a->host ? a->host : "");
    ep->port = a->port ? (uint32_t)strtoul(a->port, NULL, 10) : 0;
    ep->socket = (char *)(a->socket ? a->socket : "");
    ep->user = (char *)(a->user ? a->user : "");
    ep->password_file = (char *)(a->password_file ? a->password_file : "");
    ep->password_env = (char *)(a->password_env ? a->password_env : "");
}

bool cp_ddl_policy(const char *s, Tabletagent__V1__DdlPolicy *out)
{
    if (!s || strcmp(s, "stop") == 0)
        *out = TABLETAGENT__V1__DDL_POLICY__DDL_STOP;
    else if (strcmp(s, "exec") == 0)
        *out = TABLETAGENT__V1__DDL_POLICY__DDL_EXEC;
    else if (strcmp(s, "ignore") == 0)
        *out = TABLETAGENT__V1__DDL_POLICY__DDL_IGNORE;
    else
        return false;
    return true;
}

static int print_stream(cp_ctx *ctx, const ProtobufCMessage *m)
{
    if (ctx->json) {
        cp_print_json(m);
    } else {
        sbuf out = SBUF_INIT;
        render_stream(m, &out);
        fputs(sbuf_cstr(&out), stdout);
        sbuf_free(&out);
    }
    return EXIT_OK;
}

static int stream_call(cp_ctx *ctx, const char *method, const char *what, const ProtobufCMessage *req)
{
    rpc_client *c = cp_agent(ctx);
    if (!c)
        return EXIT_UNREACHABLE;
    ProtobufCMessage *resp;
    sbuf err = SBUF_INIT;
    grpc_status_code st = rpc_client_unary(c, method, req, &tabletagent__v1__stream_status__descriptor, &resp,
                                           ctx->timeout_ms, &err);
    int rc;
    if (st != GRPC_STATUS_OK) {
        rc = cp_report_failure(ctx, what, st, err.buf);
    } else {
        rc = print_stream(ctx, resp);
        protobuf_c_message_free_unpacked(resp, NULL);
    }
    sbuf_free(&err);
    return rc;
}

static int stream_start(cp_ctx *ctx, int argc, char **argv)
{
    cp_endpoint_args tgt = {0}, src = {0};
    const char *gtid = NULL, *file = NULL, *offset = NULL, *ddl = NULL, *stop_gtid = NULL, *stop_file = NULL,
               *stop_offset = NULL, *server_id = NULL;
    bool reset = false;
    arg_list include = {0}, exclude = {0};
    arg_opt opts[] = {
        CP_ENDPOINT_OPTS("target", tgt),
        CP_ENDPOINT_OPTS("source", src),
        {"gtid", ARG_STR, &gtid, "start at this GTID position (MariaDB)"},
        {"file", ARG_STR, &file, "start at this binlog file"},
        {"offset", ARG_STR, &offset, "... and offset"},
        {"tables", ARG_LIST, &include, "db.table pattern to include (* and ? work)"},
        {"exclude", ARG_LIST, &exclude, "db.table pattern to exclude"},
        {"ddl", ARG_STR, &ddl, "stop (default), exec or ignore"},
        {"stop-at-gtid", ARG_STR, &stop_gtid, "stop once this GTID position is applied"},
        {"stop-at-file", ARG_STR, &stop_file, "stop once this binlog file ..."},
        {"stop-at-offset", ARG_STR, &stop_offset, "... and offset are applied"},
        {"server-id", ARG_STR, &server_id, "replica server id (default: derived from the name)"},
        {"reset", ARG_FLAG, &reset, "forget a saved position and begin at the start position"},
    };
    const char *pos[1];
    int prc = args_command(argc, argv, opts, sizeof opts / sizeof opts[0], pos, 1, "a stream NAME",
                           "stream start NAME --target-host H --target-user U --gtid G [options]");
    if (prc)
        return prc < 0 ? EXIT_USAGE : EXIT_OK;
    bool ok;
    Tabletagent__V1__StartStreamRequest req = TABLETAGENT__V1__START_STREAM_REQUEST__INIT;
    Tabletagent__V1__Endpoint target, source;
    Tabletagent__V1__Position start = TABLETAGENT__V1__POSITION__INIT, stop = TABLETAGENT__V1__POSITION__INIT;
    Tabletagent__V1__TableFilter filter = TABLETAGENT__V1__TABLE_FILTER__INIT;
    cp_endpoint_from_args(&tgt, &target);
    req.name = (char *)pos[0];
    req.target = &target;
    if (src.host || src.socket) {
        cp_endpoint_from_args(&src, &source);
        req.source = &source;
    }
    start.gtid = (char *)(gtid ? gtid : "");
    start.file = (char *)(file ? file : "");
    start.offset = offset ? strtoull(offset, NULL, 10) : 0;
    req.start = &start;
    stop.gtid = (char *)(stop_gtid ? stop_gtid : "");
    stop.file = (char *)(stop_file ? stop_file : "");
    stop.offset = stop_offset ? strtoull(stop_offset, NULL, 10) : 0;
    req.stop_at = &stop;
    filter.include = include.v;
    filter.n_include = include.n;
    filter.exclude = exclude.v;
    filter.n_exclude = exclude.n;
    req.tables = &filter;
    ok = cp_ddl_policy(ddl, &req.ddl);
    req.reset = reset;
    req.server_id = server_id ? (uint32_t)strtoul(server_id, NULL, 10) : 0;
    int rc = EXIT_USAGE;
    if (!ok)
        fprintf(stderr, "cpctl: --ddl must be stop, exec or ignore\n");
    else
        rc = stream_call(ctx, PATH("StartStream"), "stream start", &req.base);
    args_list_free(&include);
    args_list_free(&exclude);
    return rc;
}

int cmd_stream(cp_ctx *ctx, int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: cpctl stream start|stop|status NAME [options]\n");
        return EXIT_USAGE;
    }
    if (strcmp(argv[1], "start") == 0)
        return stream_start(ctx, argc - 1, argv + 1);
    if ((strcmp(argv[1], "stop") == 0 || strcmp(argv[1], "status") == 0) && argc == 3) {
        bool stop = argv[1][2] == 'o';
        Tabletagent__V1__StopStreamRequest sreq = TABLETAGENT__V1__STOP_STREAM_REQUEST__INIT;
        Tabletagent__V1__GetStreamRequest greq = TABLETAGENT__V1__GET_STREAM_REQUEST__INIT;
        sreq.name = greq.name = argv[2];
        return stop ? stream_call(ctx, PATH("StopStream"), "stream stop", &sreq.base)
                    : stream_call(ctx, PATH("GetStream"), "stream status", &greq.base);
    }
    fprintf(stderr, "usage: cpctl stream start|stop|status NAME [options]\n");
    return EXIT_USAGE;
}
