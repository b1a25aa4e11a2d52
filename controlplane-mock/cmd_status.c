/* cmd_status: `status`, `watch` and `health`: what the agent sees now. */
#include <stdio.h>
#include <string.h>

#include "cpctl.h"
#include "grpc/health/v1/health.pb-c.h"
#include "tabletagent/v1/tabletagent.pb-c.h"

int cmd_status(cp_ctx *ctx, int argc, char **argv)
{
    (void)argv;
    if (argc > 1) {
        fprintf(stderr, "cpctl: status takes no arguments\n");
        return EXIT_USAGE;
    }
    rpc_client *c = cp_agent(ctx);
    if (!c)
        return EXIT_UNREACHABLE;
    Tabletagent__V1__GetStatusRequest req = TABLETAGENT__V1__GET_STATUS_REQUEST__INIT;
    ProtobufCMessage *resp;
    sbuf err = SBUF_INIT;
    grpc_status_code st = rpc_client_unary(c, "/tabletagent.v1.TabletAgent/GetStatus", &req.base,
                                           &tabletagent__v1__agent_status__descriptor, &resp, ctx->timeout_ms, &err);
    if (st != GRPC_STATUS_OK) {
        int rc = cp_report_failure(ctx, "status", st, err.buf);
        sbuf_free(&err);
        return rc;
    }
    if (ctx->json) {
        cp_print_json(resp);
    } else {
        sbuf out = SBUF_INIT;
        render_status(resp, ctx->agent_addr, &out);
        fputs(sbuf_cstr(&out), stdout);
        sbuf_free(&out);
    }
    protobuf_c_message_free_unpacked(resp, NULL);
    sbuf_free(&err);
    return EXIT_OK;
}

static int watch_print(const ProtobufCMessage *m, void *data)
{
    const cp_ctx *ctx = data;
    if (ctx->json) {
        cp_print_json(m);
        return 0;
    }
    sbuf out = SBUF_INIT;
    render_status_line(m, &out);
    sbuf_addc(&out, '\n');
    fputs(sbuf_cstr(&out), stdout);
    fflush(stdout);
    sbuf_free(&out);
    return 0;
}

int cmd_watch(cp_ctx *ctx, int argc, char **argv)
{
    (void)argc;
    (void)argv;
    rpc_client *c = cp_agent(ctx);
    if (!c)
        return EXIT_UNREACHABLE;
    Tabletagent__V1__StreamHealthRequest req = TABLETAGENT__V1__STREAM_HEALTH_REQUEST__INIT;
    sbuf err = SBUF_INIT;
    grpc_status_code st = rpc_client_stream(c, "/tabletagent.v1.TabletAgent/StreamHealth", &req.base,
                                            &tabletagent__v1__agent_status__descriptor, watch_print, ctx,
                                            ctx->interrupted, &err);
    int rc = EXIT_OK;
    if (st != GRPC_STATUS_OK)
        rc = cp_report_failure(ctx, "watch", st, err.buf);
    sbuf_free(&err);
    return rc;
}

int cmd_health(cp_ctx *ctx, int argc, char **argv)
{
    rpc_client *c = cp_agent(ctx);
    if (!c)
        return EXIT_UNREACHABLE;
    Grpc__Health__V1__HealthCheckRequest req = GRPC__HEALTH__V1__HEALTH_CHECK_REQUEST__INIT;
    req.service = argc > 1 ? argv[1] : "";
    ProtobufCMessage *resp;
    sbuf err = SBUF_INIT;
    grpc_status_code st = rpc_client_unary(c, "/grpc.health.v1.Health/Check", &req.base,
                                           &grpc__health__v1__health_check_response__descriptor, &resp,
                                           ctx->timeout_ms, &err);
    if (st != GRPC_STATUS_OK) {
        int rc = cp_report_failure(ctx, "health", st, err.buf);
        sbuf_free(&err);
        return rc;
    }
    const Grpc__Health__V1__HealthCheckResponse *r = (const void *)resp;
    bool serving = r->status == GRPC__HEALTH__V1__HEALTH_CHECK_RESPONSE__SERVING_STATUS__SERVING;
    if (ctx->json)
        cp_print_json(resp);
    else
        puts(serving ? "SERVING" : "NOT_SERVING");
    protobuf_c_message_free_unpacked(resp, NULL);
    sbuf_free(&err);
    return serving ? EXIT_OK : EXIT_FAILED;
}
