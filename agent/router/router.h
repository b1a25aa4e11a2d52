/* router: tablet-router's process-wide state on its one libuv loop.
 *
 * It listens for applications and hands each connection to a session; it
 * owns what sessions share (session_env): the routing rules now, the
 * accounts, the counters. Rules come from the control plane (rules.h) or
 * from fixed settings; accounts from a file it re-reads when it changes;
 * the servers' greetings from a periodic look (a probe that reads a
 * server's handshake and hangs up), which gives the version string
 * clients are shown and the servers' health for the status API. */
#ifndef ROUTER_ROUTER_H
#define ROUTER_ROUTER_H

#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#include "lib/sbuf.h"
#include "router/backend.h"
#include "router/router_config.h"

typedef struct router router;

/* cfg must outlive the router. */
router *router_new(uv_loop_t *loop, const router_config *cfg, sbuf *err);
/* Listen, load accounts, start following rules. */
int router_start(router *rt, sbuf *err);
/* Stop accepting, close every session, stop watchers; done runs on the
 * loop when all is closed, and the router is freed right after. */
void router_stop(router *rt, void (*done)(void *), void *arg);

#endif
