/* follow: poll a unary RPC and redraw its view in place until it settles.
 *
 * On a terminal the view is redrawn over itself every half second, within
 * the terminal's height (asked every time, so a resize takes effect): the
 * cursor goes back up one row for every row drawn, so a view taller than
 * the screen would leave its top behind, and a line wider than the screen
 * takes several rows. One row stays free for the cursor. Into a pipe or
 * file one summary line is printed every two seconds and at the end, so
 * logs stay readable. With --json only the final message is printed, as
 * one JSON line. */
#include <stdio.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include "cpctl.h"
#include "lib/clock.h"

/* The terminal's size; LINES and COLUMNS stand in where the terminal
 * does not say, then 24 x 80. */
static void screen_size(int *rows, int *cols)
{
    struct winsize ws = {0};
    bool known = ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0;
    const char *l = getenv("LINES"), *c = getenv("COLUMNS");
    *rows = known && ws.ws_row ? ws.ws_row : l && atoi(l) > 0 ? atoi(l) : 24;
    *cols = known && ws.ws_col ? ws.ws_col : c && atoi(c) > 0 ? atoi(c) : 80;
}

/* The view in at most rows - 1 terminal rows; returns the rows it takes. */
static int render_screen(const cp_follow_ops *ops, const ProtobufCMessage *m, const ProtobufCMessage *prev,
                         sbuf *out)
{
    int rows, cols;
    screen_size(&rows, &cols);
    size_t start = out->len;
    if (!ops->render_fit) {
        ops->render(m, out);
        return render_rows(sbuf_cstr(out) + start, cols);
    }
    /* Lines wider than the screen wrap: give up one table line for each
     * extra row until it fits (the fixed lines may not, on a tiny one). */
    int lines = rows - 1, used = 0;
    for (int tries = 0; tries < 4; tries++) {
        sbuf_setlen(out, start);
        ops->render_fit(m, prev, lines, cols, out);
        used = render_rows(sbuf_cstr(out) + start, cols);
        if (used <= rows - 1)
            break;
        lines -= used - (rows - 1);
        if (lines < 1)
            lines = 1;
    }
    return used;
}

int cp_follow(cp_ctx *ctx, const cp_follow_ops *ops, ProtobufCMessage **last)
{
    bool tty = isatty(STDOUT_FILENO);
    int drawn = 0;
    int64_t last_line = 0;
    ProtobufCMessage *prev = NULL;
    *last = NULL;
    for (;;) {
        rpc_client *c = cp_agent(ctx);
        if (!c)
            break;
        ProtobufCMessage *resp;
        sbuf err = SBUF_INIT;
        grpc_status_code st = rpc_client_unary(c, ops->method, ops->request, ops->reply, &resp, ctx->timeout_ms, &err);
        int rc = st == GRPC_STATUS_OK ? EXIT_OK : cp_report_failure(ctx, ops->what, st, err.buf);
        sbuf_free(&err);
        if (rc != EXIT_OK) {
            if (prev)
                protobuf_c_message_free_unpacked(prev, NULL);
            return rc;
        }
        bool done = ops->settled(resp) || *ctx->interrupted;
        sbuf out = SBUF_INIT;
        if (ctx->json) {
            /* the JSON line alone: a summary line before it would make the
             * output something jq cannot read */
        } else if (tty) {
            for (int i = 0; i < drawn; i++)
                sbuf_adds(&out, "\033[A\033[K");
            drawn = render_screen(ops, resp, prev, &out);
        } else if (done || clock_mono_ms() - last_line >= 2000) {
            ops->render_line(resp, &out);
            sbuf_addc(&out, '\n');
            last_line = clock_mono_ms();
        }
        fputs(sbuf_cstr(&out), stdout);
        fflush(stdout);
        sbuf_free(&out);
        if (prev)
            protobuf_c_message_free_unpacked(prev, NULL);
        prev = NULL;
        if (done) {
            if (ctx->json)
                cp_print_json(resp);
            *last = resp;
            return EXIT_OK;
        }
        prev = resp;
        usleep(500000);
    }
    if (prev)
        protobuf_c_message_free_unpacked(prev, NULL);
    return EXIT_UNREACHABLE;
}
