/* follow: poll a unary RPC and redraw its view in place until it settles.
 *
 * On a terminal the full view is redrawn over itself every half second;
 * into a pipe or file one summary line is printed every two seconds and
 * at the end, so logs stay readable. With --json the final message is
 * printed as one JSON line. */
#include <stdio.h>
#include <time.h>
#include <unistd.h>

#include "cpctl.h"

int cp_follow(cp_ctx *ctx, const cp_follow_ops *ops, ProtobufCMessage **last)
{
    bool tty = isatty(STDOUT_FILENO);
    int drawn = 0;
    time_t last_line = 0;
    *last = NULL;
    for (;;) {
        cp_client *c = cp_agent(ctx);
        if (!c)
            return EXIT_UNREACHABLE;
        ProtobufCMessage *resp;
        sbuf err = SBUF_INIT;
        grpc_status_code st = cp_client_unary(c, ops->method, ops->request, ops->reply, &resp, ctx->timeout_ms, &err);
        int rc = st == GRPC_STATUS_OK ? EXIT_OK : cp_report_failure(ctx, ops->what, st, err.buf);
        sbuf_free(&err);
        if (rc != EXIT_OK)
            return rc;
        bool done = ops->settled(resp) || *ctx->interrupted;
        sbuf out = SBUF_INIT;
        if (tty) {
            for (int i = 0; i < drawn; i++)
                sbuf_adds(&out, "\033[A\033[K");
            ops->render(resp, &out);
            drawn = 0;
            for (const char *p = sbuf_cstr(&out); *p; p++)
                drawn += *p == '\n';
        } else if (done || time(NULL) - last_line >= 2) {
            ops->render_line(resp, &out);
            sbuf_addc(&out, '\n');
            last_line = time(NULL);
        }
        fputs(sbuf_cstr(&out), stdout);
        fflush(stdout);
        sbuf_free(&out);
        if (done) {
            if (ctx->json)
                cp_print_json(resp);
            *last = resp;
            return EXIT_OK;
        }
        protobuf_c_message_free_unpacked(resp, NULL);
        usleep(500000);
    }
}
