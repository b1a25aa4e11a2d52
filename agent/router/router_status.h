/* router_status: the router's status API, router.v1.Router/GetStatus
 * (proto/router/v1/router.proto).
 *
 * The router keeps its numbers in its own C structs; it does not build
 * protobuf messages. On each GetStatus the handler (on the loop thread,
 * where rpc_server runs handlers and where the router's state lives) asks
 * the router to describe itself in a router_status, converts that into
 * the message and replies. Rules and the watcher's state go in as they
 * come from rules.h; modes, sides and ages are derived here, so the
 * router and cpctl cannot disagree on them.
 *
 * Wiring, in the router:
 *   router_status_service svc = {.fill = my_fill, .data = router};
 *   rpc_server *srv = rpc_server_new(loop, &svc);
 *   rpc_server_listen(srv, addr, NULL, router_status_methods, router_status_nmethods, &err);
 *   rpc_server_start(srv, &err);
 */
#ifndef ROUTER_STATUS_H
#define ROUTER_STATUS_H

#include <stddef.h>
#include <stdint.h>

#include "router/rules.h"
#include "router/ryw.h"
#include "rpc/rpc_server.h"

typedef struct router_status_route {
    const router_rules *rules;       /* the rules applied (version 0: none yet) */
    const rules_watch_state *watch;  /* rules_watch_state_get(); NULL: not followed */
} router_status_route;

typedef struct router_status_backend {
    const char *side;                /* "source" or "destination" */
    const char *address;             /* host:port */
    uint32_t connections;
    bool up;
    const char *last_error;          /* NULL or "" when up */
} router_status_backend;

/* Everything the filler points to must stay valid until fill's caller is
 * done with it: the rest of the handler, on the loop thread. */
typedef struct router_status {
    const char *router_id, *listen;
    int64_t started_mono_ms;         /* clock_mono_ms() at start: the uptime */
    uint32_t client_connections;
    const router_status_route *routes;
    size_t n_routes;
    const router_status_backend *backends;
    size_t n_backends;
    uint64_t statements_source, statements_destination, statements_total, errors_total;
    const ryw_stats *ryw;            /* reads after writes; NULL: none */
} router_status;

typedef struct router_status_service {
    void (*fill)(router_status *st, void *data); /* st comes zeroed */
    void *data;
} router_status_service;

/* For rpc_server_listen: the server's ctx (rpc_server_new) must be a
 * router_status_service that outlives it. */
extern const rpc_method router_status_methods[];
extern const size_t router_status_nmethods;

/* The message for st (also what the handler sends): every string copied,
 * free with router_status_message_free. */
ProtobufCMessage *router_status_message(const router_status *st);
void router_status_message_free(ProtobufCMessage *m);

#endif
