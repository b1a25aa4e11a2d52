/* cmd_router: `router status`, one router's own view, from the router
 * itself (router.v1.Router/GetStatus on its status address), not from the
 * control plane: which rules it applies, whether it hears the control
 * plane, its backends and counters.
 *
 *   cpctl [--json] router status --router HOST:PORT
 *
 * The address also comes from CPCTL_ROUTER. The global --tls-* options
 * apply to it as they do to the agent. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "args.h"
#include "cpctl.h"
#include "router/v1/router.pb-c.h"

static int router_status(cp_ctx *ctx, const char *addr)
{
    sbuf err = SBUF_INIT;
    rpc_client *c = rpc_client_open(addr, ctx->use_tls ? &ctx->tls : NULL, &err);
    if (!c) {
        fprintf(stderr, "cpctl: router status: %s\n", err.buf);
        sbuf_free(&err);
        return EXIT_UNREACHABLE;
    }
    Router__V1__GetStatusRequest req = ROUTER__V1__GET_STATUS_REQUEST__INIT;
    ProtobufCMessage *resp = NULL;
    grpc_status_code st = rpc_client_unary(c, "/router.v1.Router/GetStatus", &req.base,
                                           &router__v1__router_status__descriptor, &resp, ctx->timeout_ms, &err);
    int rc = EXIT_OK;
    if (st == GRPC_STATUS_UNAVAILABLE && !rpc_client_last_answered()) {
        fprintf(stderr, "cpctl: router status: router at %s is unreachable (%s); check that tablet-router runs and "
                        "--router points at its status address\n", addr, err.buf);
        rc = EXIT_UNREACHABLE;
    } else if (st != GRPC_STATUS_OK) {
        rc = cp_report_failure(ctx, "router status", st, err.buf);
    } else if (ctx->json) {
        cp_print_json(resp);
    } else {
        sbuf out = SBUF_INIT;
        render_router_status(resp, addr, &out);
        fputs(sbuf_cstr(&out), stdout);
        sbuf_free(&out);
    }
    if (resp)
        protobuf_c_message_free_unpacked(resp, NULL);
    rpc_client_close(c);
    sbuf_free(&err);
    return rc;
}

int cmd_router(cp_ctx *ctx, int argc, char **argv)
{
    const char *addr = getenv("CPCTL_ROUTER");
    arg_opt opts[] = {
        {"router", ARG_STR, &addr, "the router's status address ($CPCTL_ROUTER)"},
    };
    const char *synopsis = "router status --router HOST:PORT";
    if (argc < 2 || strcmp(argv[1], "status") != 0) {
        fprintf(stderr, "usage: cpctl %s\n", synopsis);
        return EXIT_USAGE;
    }
    int prc = args_command(argc - 1, argv + 1, opts, sizeof opts / sizeof opts[0], NULL, 0, NULL, synopsis);
    if (prc)
        return prc < 0 ? EXIT_USAGE : EXIT_OK;
    if (!addr || !*addr) {
        fprintf(stderr, "cpctl: router status: which router? Give --router HOST:PORT (its status address) or set "
                        "CPCTL_ROUTER\n");
        return EXIT_USAGE;
    }
    return router_status(ctx, addr);
}
