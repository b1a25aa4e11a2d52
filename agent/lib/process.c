/* process: start, run, stop on a signal. See process.h.
 *
 * The signal handlers are stopped at the first signal, so a second
 * SIGTERM during a graceful stop does not start another; the handles
 * close once the daemon says it is done, and uv_run returns when nothing
 * is left on the loop. */
#include "lib/process.h"

#include <signal.h>

#include "lib/log.h"

typedef struct process {
    uv_loop_t loop;
    uv_signal_t sigterm, sigint;
    const process_ops *ops;
    void *ctx;
} process;

static void process_stopped(void *arg)
{
    process *p = arg;
    uv_close((uv_handle_t *)&p->sigterm, NULL);
    uv_close((uv_handle_t *)&p->sigint, NULL);
}

static void process_on_signal(uv_signal_t *h, int signum)
{
    process *p = h->data;
    log_info(p->ops->name, "received %s", signum == SIGTERM ? "SIGTERM" : "SIGINT");
    uv_signal_stop(&p->sigterm);
    uv_signal_stop(&p->sigint);
    p->ops->stop(p->ctx, process_stopped, p);
}

int process_run(const process_ops *ops, void *ctx)
{
    process p = {.ops = ops, .ctx = ctx};
    sbuf err = SBUF_INIT;
    int rc = 0;
    uv_loop_init(&p.loop);
    if (ops->start(&p.loop, ctx, &err) != 0) {
        log_error(ops->name, "cannot start: %s", err.buf);
        rc = 1;
    } else {
        uv_signal_init(&p.loop, &p.sigterm);
        uv_signal_init(&p.loop, &p.sigint);
        p.sigterm.data = p.sigint.data = &p;
        uv_signal_start(&p.sigterm, process_on_signal, SIGTERM);
        uv_signal_start(&p.sigint, process_on_signal, SIGINT);
    }
    uv_run(&p.loop, UV_RUN_DEFAULT);
    uv_loop_close(&p.loop);
    sbuf_free(&err);
    return rc;
}
