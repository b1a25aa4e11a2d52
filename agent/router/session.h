/* session: one application connection to the router, from its handshake
 * to its COM_QUIT.
 *
 * The session speaks the server side of the protocol to the client and
 * drives up to two backends (source, destination) as the same account.
 * For each command it decides the side (route), brings that backend's
 * session state up to date (schema, settings, prepared statements) and
 * forwards the command; the reply flows back untouched but for prepared
 * statement ids, which the client sees as the router's own.
 *
 * What the session needs from the router comes in a session_env the
 * router owns and updates (rules, accounts, limits, counters), so this
 * file knows nothing of how rules arrive. */
#ifndef ROUTER_SESSION_H
#define ROUTER_SESSION_H

#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#include "router/accounts.h"
#include "router/backend.h"
#include "router/classify.h"
#include "router/hold.h"
#include "router/wire.h"
#include "router/ryw.h"

typedef struct session session;

/* errors_by_kind: the router's own errors by wire_err, and a server's
 * error the router passed on itself (a login to a backend refused). */
#define SESSION_ERR_SERVER WERR_COUNT
#define SESSION_ERR_KINDS (WERR_COUNT + 1)

/* Counters, read by the status API and the metrics. */
typedef struct session_stats {
    uint64_t statements[SIDES]; /* commands sent to each side for a client */
    /* The same by the classifier's kind: a query's, a prepared
     * statement's text's; other commands count as OTHER. */
    uint64_t statements_by_kind[SIDES][CLASSIFY_KIND_OTHER + 1];
    uint64_t commands;          /* every client command, those answered by the router too */
    uint64_t errors;            /* errors the router itself answered */
    uint64_t errors_by_kind[SESSION_ERR_KINDS];
    uint64_t connections_total;
    uint32_t connections; /* open client connections */
    ryw_stats ryw;        /* reads after writes (ryw.h) */
} session_stats;

typedef struct session_env {
    uv_loop_t *loop;
    /* The rules now. No rules: every new command is refused with why. */
    bool have_rules;
    side read_side, write_side;
    char *address[SIDES];
    const char *no_rules_why;
    /* Who may connect. */
    const accounts *accts;
    /* What the router tells clients it is. */
    char server_version[96];
    uint8_t server_charset;
    void *ssl_ctx; /* SSL_CTX * for clients, or NULL */
    bool require_tls;
    const backend_tls *backend_tls; /* toward the servers */
    /* Limits. */
    unsigned connect_timeout_ms;
    size_t max_packet;
    uint32_t max_connections;
    session_stats stats;
    /* Read-your-writes (the router's; NULL: off). */
    ryw_env *ryw;
    /* Every open session, for status and shutdown. */
    session *list;
    uint32_t next_id;
    /* A switch under way (hold.h): commands for the write side wait, open
     * transactions there drain. drained: nothing of any session is open
     * on the write side any more; on_drained(owner) runs when it becomes
     * so (and again for a new hold version), on_hold_over(owner) when the
     * hold ended by itself (max_hold_ms). */
    hold hold;
    bool drained;
    void (*on_drained)(void *owner);
    void (*on_hold_over)(void *owner);
    void *owner;
} session_env;

/* Accept one client from a listening socket; NULL if accept failed. */
session *session_accept(session_env *env, uv_stream_t *server);
/* Close (shutdown): backends first, running statements killed. */
void session_close(session *s);
/* The next session in env->list. */
session *session_next(const session *s);
/* Set up env->hold with these limits (the callbacks must be set). */
void session_hold_init(session_env *env, const hold_limits *limits);
/* Hold (a rules version with hold): new work for the write side waits;
 * env->on_drained runs once nothing is open there. */
void session_hold_begin(session_env *env, uint64_t version);
/* Release: what waits runs on the write side env says now. */
void session_hold_end(session_env *env);
/* Open server connections of all sessions, per side (for status). */
void session_count_backends(const session_env *env, uint32_t counts[SIDES]);

#endif
