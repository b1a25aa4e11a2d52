/* backend: one connection from the router to a server (source or
 * destination), logged in as the application's own account.
 *
 * A backend connects, reads the server's greeting and logs in with
 * mysql_native_password from the SHA1(password) that the client's own
 * login revealed (see accounts.h), asking for the client's capabilities
 * and character set, so replies come in exactly the format the client
 * expects and can be forwarded untouched.
 *
 * Work is a queue of commands (bk_cmd), sent one at a time: each names the
 * kind of reply it expects and whether the reply is forwarded (the
 * client's own command) or consumed (what the router sends to bring the
 * connection's session up to date: schema, settings, prepares). Each
 * command's `done` runs when its reply ended, or when it could not be
 * run. A command may be cancelled while it waits, which turns its done
 * into BK_SKIPPED: the router cancels the client's command when a
 * preparatory one failed. */
#ifndef ROUTER_BACKEND_H
#define ROUTER_BACKEND_H

#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#include "lib/sbuf.h"
#include "router/resp.h"

typedef enum { SIDE_SOURCE, SIDE_DESTINATION } side;
#define SIDES 2
const char *side_name(side s);

typedef struct backend backend;
typedef struct bk_cmd bk_cmd;

typedef enum {
    BK_REPLIED, /* the reply ended (it may be an ERR: see the parser) */
    BK_SKIPPED, /* cancelled before it was sent */
    BK_LOST,    /* the backend failed before the reply ended */
} bk_outcome;

struct bk_cmd {
    sbuf pkt; /* the framed command, sequence 0 */
    resp_kind reply;
    bool forward;
    bool cancelled;
    void (*done)(backend *b, bk_cmd *cmd, bk_outcome how, const resp_parser *r);
    /* Optional: runs right before the command is sent (it may still
     * change pkt); false skips it (done gets BK_SKIPPED). */
    bool (*before_send)(backend *b, bk_cmd *cmd);
    void *arg;       /* the owner's */
    uint64_t tag;    /* the owner's */
    bool owned;      /* the backend frees it after done (else the owner does) */
    /* A consumed reply the owner wants to read: its bytes are kept in
     * kept (framed, as they came) for done. */
    bool keep_reply;
    sbuf kept;
    bk_cmd *next;
};

/* What the owner (a client session) hears. All run on the loop. */
typedef struct backend_ops {
    void (*ready)(backend *b, void *owner);
    /* Could not connect or log in, or the connection broke. Commands
     * still queued get done(BK_LOST) right after. code/sqlstate are the
     * server's when it refused (1045, 1049, ...), else 0. */
    void (*failed)(backend *b, void *owner, uint16_t code, const char *sqlstate, const char *why);
    /* Bytes of a forwarded reply, in order. */
    void (*forward)(backend *b, void *owner, const uint8_t *p, size_t n);
    /* A forwarded PREPARE's PREPARE_OK: id points at its statement id in
     * the bytes about to be forwarded (the owner rewrites it). */
    void (*prepared)(backend *b, void *owner, bk_cmd *cmd, const resp_parser *r, uint8_t *id);
    /* The server asked the client for a local file (LOAD DATA LOCAL). */
    void (*infile)(backend *b, void *owner);
} backend_ops;

/* TLS toward the servers (the router's backend-tls setting), like the
 * MySQL client's ssl-mode: off; preferred (when the server offers it, the
 * default); required; verify-ca (the certificate chains to the configured
 * CA); verify-identity (and names the host the router connects to). */
typedef enum { BK_TLS_OFF, BK_TLS_PREFERRED, BK_TLS_REQUIRED, BK_TLS_VERIFY_CA, BK_TLS_VERIFY_IDENTITY } bk_tls_mode;
typedef struct backend_tls {
    bk_tls_mode mode;
    void *ctx; /* SSL_CTX * in the client role; NULL when mode is off */
} backend_tls;
/* "off", "preferred", "required", "verify-ca", "verify-identity"; -1 for anything else. */
int backend_tls_mode_parse(const char *text, bk_tls_mode *out);
const char *backend_tls_mode_name(bk_tls_mode m);

typedef struct backend_login {
    const char *user;
    size_t user_len;
    const uint8_t *stage1; /* SHA1(password), 20 bytes */
    const char *db;        /* NULL: none */
    uint8_t charset;
    uint32_t caps; /* the client's; the backend asks for these that the server has */
    const uint8_t *attrs;
    size_t attrs_len;
    unsigned timeout_ms;
    const backend_tls *tls; /* NULL: no TLS; kept, not copied: it must outlive the backend */
} backend_login;

/* Connect to host:port (resolved off the loop) and log in. The login's
 * memory is copied. */
backend *backend_open(uv_loop_t *loop, side s, const char *address, const backend_login *login,
                      const backend_ops *ops, void *owner);
/* Close now: queued commands get done(BK_LOST); no callback after this
 * returns. The memory goes when libuv is done with the socket. */
void backend_close(backend *b);
/* Close, and kill what the server runs for it (KILL over a fresh
 * connection as the same account): a client that left mid-query must not
 * leave its query running. */
void backend_abort(backend *b);
/* Stop the statement running on it (KILL QUERY), keep the connection. */
void backend_kill_query(backend *b);

void backend_send(backend *b, bk_cmd *cmd);
/* Raw bytes to the server right now (LOCAL INFILE data from the client). */
int backend_write(backend *b, const void *p, size_t n);
/* Backpressure from a slow client. */
void backend_pause(backend *b);
void backend_resume(backend *b);

bool backend_ready(const backend *b);
/* Did it ever log in? (A failure before is "cannot connect".) */
bool backend_was_ready(const backend *b);
/* Failed, or closed: it will never run anything again. */
bool backend_failed(const backend *b);
bool backend_idle(const backend *b);
side backend_side(const backend *b);
const char *backend_address(const backend *b);
uint32_t backend_thread_id(const backend *b);
/* Did the login ask for CLIENT_SESSION_TRACK (the client did, and the
 * server offers it)? Its OK packets then carry session-state changes. */
bool backend_session_track(const backend *b);
/* Status flags of the last OK/EOF (transaction open? autocommit?). */
uint16_t backend_status(const backend *b);
const char *backend_server_version(const backend *b);
uint8_t backend_server_charset(const backend *b);

/* What the session last put on this connection: the owner's bookkeeping. */
typedef struct backend_sync {
    char *db;             /* the schema in use (NULL: none) */
    uint64_t set_version; /* settings applied up to this version */
    int multi;            /* COM_SET_OPTION state: -1 unknown, 0 off, 1 on */
    int gtid_track;       /* OK packets report commits' GTIDs (ryw.h): 0 not asked, 1 yes, -1 refused */
} backend_sync;
backend_sync *backend_synced(backend *b);

/* A command the backend frees after its done. */
bk_cmd *bk_cmd_new(resp_kind reply, void (*done)(backend *, bk_cmd *, bk_outcome, const resp_parser *),
                   void *arg);

#endif
