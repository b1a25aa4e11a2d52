/* process: a daemon's life on one libuv loop, shared by tablet-agent and
 * tablet-router: start it, run the loop, and on SIGTERM or SIGINT stop it
 * gracefully (the daemon's stop says when it is done), then return once
 * every handle is closed. */
#ifndef LIB_PROCESS_H
#define LIB_PROCESS_H

#include <uv.h>

#include "lib/sbuf.h"

typedef struct process_ops {
    const char *name; /* the log module: "agent", "router" */
    /* 0, or -1 with err; on failure the daemon has released what it took
     * (its handles may still be closing: the loop runs once more). */
    int (*start)(uv_loop_t *loop, void *ctx, sbuf *err);
    void (*stop)(void *ctx, void (*done)(void *), void *arg);
} process_ops;

/* 0 after a clean stop, 1 when the start failed (logged). */
int process_run(const process_ops *ops, void *ctx);

#endif
