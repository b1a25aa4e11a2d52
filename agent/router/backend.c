/* backend: a logged-in connection to a server, and its command queue.
 * See backend.h.
 *
 * States: RESOLVING -> CONNECTING -> GREETING -> AUTH -> READY, or FAILED
 * from any of them. One timer bounds everything before READY. Once READY,
 * the head of the queue is the command in flight; its reply is fed to a
 * resp_parser as bytes arrive, forwarded (or not) in the same pieces, and
 * when the parser says the reply ended the next command goes out. One
 * command at a time keeps the bookkeeping trivial and costs nothing in the
 * common case, where the client's command is the only one queued.
 *
 * Lifetime: the owner holds one reference until backend_close, the socket
 * and the timer one each until libuv has closed them; the struct is freed
 * when the last goes. A failed backend calls its owner once (failed), then
 * done(BK_LOST) for each queued command, and stays a corpse until the
 * owner closes it. */
#include "router/backend.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/log.h"
#include "router/conn.h"
#include "router/wire.h"

#define NATIVE "mysql_native_password"

typedef enum { B_RESOLVING, B_CONNECTING, B_GREETING, B_AUTH, B_READY, B_FAILED } bstate;

struct backend {
    conn c;
    uv_loop_t *loop;
    side s;
    char *address;
    const backend_ops *ops;
    void *owner;
    bstate state;
    int refs;
    /* The login, copied. */
    sbuf user;
    uint8_t stage1[20];
    char *db;
    uint8_t charset;
    uint32_t caps;
    sbuf attrs;
    unsigned timeout_ms;
    wire_handshake hs;
    uv_getaddrinfo_t gai;
    uv_connect_t creq;
    uv_timer_t timer;
    /* The queue; head is in flight once sent. */
    bk_cmd *head, *tail;
    bool sent;
    resp_parser rp;
    uint16_t status;
    backend_sync sync;
    const backend_tls *tls; /* NULL: none */
    char *host;             /* the address's host, for TLS's SNI and name check */
    bool tls_used;          /* the login went inside TLS */
    uint32_t kill_id; /* a killer: log in, KILL this thread, leave */
    bool was_ready;
    bool session_track; /* the login asked for CLIENT_SESSION_TRACK */
};

const char *side_name(side s)
{
    return s == SIDE_SOURCE ? "source" : "destination";
}

static void unref(backend *b)
{
    if (--b->refs > 0)
        return;
    sbuf_free(&b->user);
    sbuf_free(&b->attrs);
    secure_zero(b->stage1, sizeof b->stage1);
    free(b->db);
    free(b->sync.db);
    free(b->address);
    free(b->host);
    free(b);
}

static const char *const tls_mode_names[] = {"off", "preferred", "required", "verify-ca", "verify-identity"};
#define TLS_MODES (sizeof tls_mode_names / sizeof tls_mode_names[0])

int backend_tls_mode_parse(const char *text, bk_tls_mode *out)
{
    for (size_t i = 0; i < TLS_MODES; i++)
        if (strcmp(text, tls_mode_names[i]) == 0) {
            *out = (bk_tls_mode)i;
            return 0;
        }
    return -1;
}

const char *backend_tls_mode_name(bk_tls_mode m)
{
    return (size_t)m < TLS_MODES ? tls_mode_names[m] : "?";
}

static void cmd_free(bk_cmd *cmd)
{
    if (cmd && cmd->owned) {
        sbuf_free(&cmd->pkt);
        sbuf_free(&cmd->kept);
        free(cmd);
    }
}

bk_cmd *bk_cmd_new(resp_kind reply, void (*done)(backend *, bk_cmd *, bk_outcome, const resp_parser *), void *arg)
{
    bk_cmd *cmd = xcalloc(1, sizeof *cmd);
    cmd->reply = reply;
    cmd->done = done;
    cmd->arg = arg;
    cmd->owned = true;
    return cmd;
}

static bk_cmd *pop(backend *b)
{
    bk_cmd *cmd = b->head;
    if (cmd) {
        b->head = cmd->next;
        if (!b->head)
            b->tail = NULL;
        cmd->next = NULL;
    }
    b->sent = false;
    return cmd;
}

static void finish(backend *b, bk_cmd *cmd, bk_outcome how)
{
    if (cmd->done)
        cmd->done(b, cmd, how, &b->rp);
    cmd_free(cmd);
}

static void on_timer_closed(uv_handle_t *h)
{
    unref(h->data);
}

/* Stop talking: close the socket and the timer (each drops its reference). */
static void shut(backend *b)
{
    if (!uv_is_closing((uv_handle_t *)&b->timer))
        uv_close((uv_handle_t *)&b->timer, on_timer_closed);
    conn_close(&b->c);
}

static void fail(backend *b, uint16_t code, const char *sqlstate, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void fail(backend *b, uint16_t code, const char *sqlstate, const char *fmt, ...)
{
    if (b->state == B_FAILED)
        return;
    b->state = B_FAILED;
    uv_timer_stop(&b->timer);
    sbuf why = SBUF_INIT;
    va_list ap;
    va_start(ap, fmt);
    sbuf_vaddf(&why, fmt, ap);
    va_end(ap);
    if (b->ops && b->ops->failed)
        b->ops->failed(b, b->owner, code, sqlstate, why.buf);
    sbuf_free(&why);
    bk_cmd *cmd;
    while (b->ops && (cmd = pop(b)))
        finish(b, cmd, BK_LOST);
    shut(b);
}

/* ---- sending ---- */

static void send_next(backend *b)
{
    while (b->state == B_READY && b->head && !b->sent) {
        bk_cmd *cmd = b->head;
        if (cmd->cancelled || (cmd->before_send && !cmd->before_send(b, cmd))) {
            finish(b, pop(b), BK_SKIPPED);
            continue;
        }
        resp_start(&b->rp, cmd->reply);
        b->rp.session_track = b->session_track;
        b->sent = true;
        if (conn_write(&b->c, cmd->pkt.buf, cmd->pkt.len) != 0) {
            fail(b, 0, NULL, "cannot send to the %s (%s): the connection broke", side_name(b->s), b->address);
            return;
        }
        if (cmd->reply == RESP_NONE)
            finish(b, pop(b), BK_REPLIED);
    }
}

void backend_send(backend *b, bk_cmd *cmd)
{
    cmd->next = NULL;
    if (b->state == B_FAILED) {
        /* A corpse still answers, so the owner's flow stays one path. */
        finish(b, cmd, BK_LOST);
        return;
    }
    if (b->tail)
        b->tail->next = cmd;
    else
        b->head = cmd;
    b->tail = cmd;
    send_next(b);
}

int backend_write(backend *b, const void *p, size_t n)
{
    if (b->state != B_READY)
        return -1;
    return conn_write(&b->c, p, n) == 0 ? 0 : -1;
}

/* ---- logging in ---- */

/* What the login asks of this server: the client's capabilities that the
 * server has, and what the router needs. */
static uint32_t login_caps(const backend *b)
{
    uint32_t caps = (b->caps & b->hs.caps & WIRE_ROUTER_CAPS) | CAP_PROTOCOL_41 | CAP_SECURE_CONNECTION |
                    CAP_PLUGIN_AUTH;
    caps &= ~(uint32_t)CAP_CONNECT_WITH_DB;
    if (b->db)
        caps |= CAP_CONNECT_WITH_DB;
    if (!(b->hs.caps & CAP_CONNECT_ATTRS))
        caps &= ~(uint32_t)CAP_CONNECT_ATTRS;
    if (b->tls_used)
        caps |= CAP_SSL;
    return caps;
}

/* TLS before the login, as backend-tls says: the SSLRequest in the clear,
 * then the handshake, and the login (sequence 2) inside it once it ends.
 * -1: the backend failed (said). */
static int start_tls(backend *b)
{
    bk_tls_mode m = b->tls ? b->tls->mode : BK_TLS_OFF;
    if (m == BK_TLS_OFF)
        return 0;
    if (!(b->hs.caps & CAP_SSL)) {
        if (m == BK_TLS_PREFERRED)
            return 0;
        fail(b, 0, NULL,
             "the %s (%s) does not offer TLS, and the router's backend-tls=%s requires it: give the server "
             "ssl_cert and ssl_key, or set backend-tls=preferred",
             side_name(b->s), b->address, backend_tls_mode_name(m));
        return -1;
    }
    b->tls_used = true;
    wire_login l = {0};
    l.caps = login_caps(b);
    l.max_packet = 1u << 30;
    l.charset = b->charset;
    l.ssl_request = true;
    sbuf pkt = SBUF_INIT, err = SBUF_INIT;
    uint8_t seq = 1;
    wire_put_login(&pkt, &seq, &l);
    int rc = conn_write(&b->c, pkt.buf, pkt.len);
    sbuf_free(&pkt);
    if (rc == 0)
        rc = conn_tls_connect(&b->c, b->tls->ctx, b->host, m == BK_TLS_VERIFY_IDENTITY, &err);
    if (rc != 0)
        fail(b, 0, NULL, "TLS to the %s (%s) failed: %s", side_name(b->s), b->address,
             err.len ? err.buf : "the connection closed");
    sbuf_free(&err);
    return rc == 0 ? 0 : -1;
}

static void send_login(backend *b)
{
    uint8_t token[20];
    wire_native_token(b->stage1, b->hs.scramble, token);
    wire_login l = {0};
    l.caps = login_caps(b);
    b->session_track = (l.caps & CAP_SESSION_TRACK) != 0;
    l.max_packet = 1u << 30;
    l.charset = b->charset;
    l.user = b->user.buf;
    l.user_len = b->user.len;
    l.auth = token;
    l.auth_len = sizeof token;
    l.db = b->db;
    l.db_len = b->db ? strlen(b->db) : 0;
    l.plugin = NATIVE;
    l.plugin_len = strlen(NATIVE);
    l.attrs = b->attrs.len ? (const uint8_t *)b->attrs.buf : NULL;
    l.attrs_len = b->attrs.len;
    sbuf pkt = SBUF_INIT;
    uint8_t seq = b->tls_used ? 2 : 1; /* after the SSLRequest */
    wire_put_login(&pkt, &seq, &l);
    secure_zero(token, sizeof token);
    int rc = conn_write(&b->c, pkt.buf, pkt.len);
    sbuf_wipe(&pkt);
    if (rc != 0)
        fail(b, 0, NULL, "the %s (%s) closed the connection during login", side_name(b->s), b->address);
    b->state = B_AUTH;
}

/* One whole packet of the login exchange, or 0 when more bytes are needed. */
static size_t login_packet(backend *b, const uint8_t **payload, uint32_t *n, uint8_t *seq)
{
    size_t avail = conn_avail(&b->c);
    const uint8_t *p = conn_data(&b->c);
    if (avail < WIRE_HEADER)
        return 0;
    uint32_t len = wire_frame_len(p);
    if (len == WIRE_MAX_FRAME) {
        fail(b, 0, NULL, "the %s (%s) sent a 16 MB login packet: not a MySQL server?", side_name(b->s), b->address);
        return 0;
    }
    if (avail < WIRE_HEADER + (size_t)len)
        return 0;
    *payload = p + WIRE_HEADER;
    *n = len;
    *seq = p[3];
    return WIRE_HEADER + len;
}

static void on_greeting(backend *b, const uint8_t *p, uint32_t n)
{
    if (n && p[0] == 0xff) {
        wire_error e;
        wire_parse_err(p, n, &e);
        fail(b, e.code, e.sqlstate, "the %s (%s) refused the connection: %.*s", side_name(b->s), b->address,
             (int)(e.msg_len > 300 ? 300 : e.msg_len), e.msg);
        return;
    }
    if (wire_parse_handshake(p, n, &b->hs) != 0) {
        fail(b, 0, NULL, "the %s (%s) does not speak the MySQL protocol (protocol 10 with 4.1 authentication)",
             side_name(b->s), b->address);
        return;
    }
    b->status = b->hs.status;
    if (start_tls(b) == 0)
        send_login(b);
}

static void on_auth(backend *b, const uint8_t *p, uint32_t n, uint8_t seq)
{
    uint8_t h = n ? p[0] : 0xff;
    if (h == 0x00) {
        uint16_t st;
        if (wire_parse_status(p, n, &st) == 0)
            b->status = st;
        b->state = B_READY;
        b->was_ready = true;
        uv_timer_stop(&b->timer);
        if (b->kill_id == 0 && b->ops && b->ops->ready)
            b->ops->ready(b, b->owner);
        send_next(b);
        return;
    }
    if (h == 0xff) {
        wire_error e;
        wire_parse_err(p, n, &e);
        /* MariaDB refuses a plaintext login under require_secure_transport
         * (or REQUIRE SSL) with the same 1045 as a wrong password. */
        bool maybe_tls = e.code == 1045 && !b->tls_used && (b->hs.caps & CAP_SSL);
        fail(b, e.code, e.sqlstate, "%.*s%s", (int)(e.msg_len > 400 ? 400 : e.msg_len), e.msg,
             maybe_tls ? " (the router logged in without TLS, backend-tls=off: if the server requires secure "
                         "transport or the account REQUIRE SSL, set backend-tls=preferred or stricter)"
                       : "");
        return;
    }
    if (h == 0xfe) {
        char plugin[64];
        uint8_t scramble[WIRE_SCRAMBLE];
        if (wire_parse_auth_switch(p, n, plugin, sizeof plugin, scramble) != 0 || strcmp(plugin, NATIVE) != 0) {
            fail(b, 1045, "28000",
                 "the %s (%s) wants the %s authentication for this account; the router logs in with "
                 "mysql_native_password: ALTER USER ... IDENTIFIED WITH mysql_native_password on the %s",
                 side_name(b->s), b->address, plugin, side_name(b->s));
            return;
        }
        uint8_t token[20];
        wire_native_token(b->stage1, scramble, token);
        sbuf pkt = SBUF_INIT;
        seq++;
        wire_frame(&pkt, token, sizeof token, &seq);
        secure_zero(token, sizeof token);
        if (conn_write(&b->c, pkt.buf, pkt.len) != 0)
            fail(b, 0, NULL, "the %s (%s) closed the connection during login", side_name(b->s), b->address);
        sbuf_wipe(&pkt);
        return;
    }
    fail(b, 0, NULL, "the %s (%s) asked for more authentication than mysql_native_password gives", side_name(b->s),
         b->address);
}

/* ---- replies ---- */

static void on_reply_bytes(backend *b)
{
    while (b->state == B_READY && b->head && b->sent && (conn_avail(&b->c) || resp_complete(&b->rp))) {
        bk_cmd *cmd = b->head;
        uint8_t *data = conn_data_mut(&b->c);
        size_t used = 0;
        resp_event ev = resp_feed(&b->rp, data, conn_avail(&b->c), &used);
        if (ev == RESP_BAD) {
            fail(b, 0, NULL, "the %s (%s) sent a reply the router cannot follow; the connection is dropped",
                 side_name(b->s), b->address);
            return;
        }
        if (ev == RESP_PREPARED && cmd->forward && b->ops->prepared)
            b->ops->prepared(b, b->owner, cmd, &b->rp, data + b->rp.id_at);
        /* Consumed first: forwarding may close this backend (the client
         * is gone); the bytes stay valid until the read callback ends. */
        conn_consume(&b->c, used);
        if (cmd->forward && used && b->ops && b->ops->forward)
            b->ops->forward(b, b->owner, data, used);
        else if (cmd->keep_reply && used)
            sbuf_add(&cmd->kept, data, used);
        if (b->state != B_READY)
            return;
        if (ev == RESP_DONE) {
            if (!b->rp.failed)
                b->status = b->rp.status;
            finish(b, pop(b), BK_REPLIED);
            send_next(b);
        } else if (ev == RESP_INFILE) {
            if (cmd->forward && b->ops->infile)
                b->ops->infile(b, b->owner);
            else {
                uint8_t empty[4] = {0, 0, 0, (uint8_t)(b->rp.seq + 1)}; /* no file: an empty one */
                backend_write(b, empty, sizeof empty);
            }
        } else if (ev == RESP_MORE && used == 0) {
            return; /* half a packet: wait */
        }
    }
    if (b->state == B_READY && conn_avail(&b->c) && !(b->head && b->sent)) {
        /* Nothing was asked: a server says why it is closing (KILL, shutdown). */
        const uint8_t *p;
        uint32_t n;
        uint8_t seq;
        if (login_packet(b, &p, &n, &seq) && n && p[0] == 0xff) {
            wire_error e;
            wire_parse_err(p, n, &e);
            fail(b, e.code, e.sqlstate, "the %s (%s) closed the connection: %.*s", side_name(b->s), b->address,
                 (int)(e.msg_len > 300 ? 300 : e.msg_len), e.msg);
        } else if (b->state == B_READY) {
            fail(b, 0, NULL, "the %s (%s) sent data nobody asked for", side_name(b->s), b->address);
        }
    }
}

static void on_data(conn *c)
{
    backend *b = conn_owner(c);
    while (b->state == B_GREETING || b->state == B_AUTH) {
        const uint8_t *p;
        uint32_t n;
        uint8_t seq;
        size_t whole = login_packet(b, &p, &n, &seq);
        if (!whole)
            return;
        if (b->state == B_GREETING)
            on_greeting(b, p, n);
        else
            on_auth(b, p, n, seq);
        if (b->state != B_FAILED)
            conn_consume(c, whole);
    }
    if (b->state == B_READY)
        on_reply_bytes(b);
}

static void on_gone(conn *c, int status)
{
    backend *b = conn_owner(c);
    const char *tls_why = b->state != B_READY ? conn_tls_failure(c) : NULL;
    if (tls_why)
        fail(b, 0, NULL, "TLS to the %s (%s) failed: %s (backend-tls=%s%s%s%s%s)", side_name(b->s), b->address,
             tls_why, backend_tls_mode_name(b->tls->mode),
             b->tls->mode >= BK_TLS_VERIFY_CA ? ": is backend-tls-ca the CA that signed the server's certificate" : "",
             b->tls->mode == BK_TLS_VERIFY_IDENTITY ? ", and does the certificate name " : "",
             b->tls->mode == BK_TLS_VERIFY_IDENTITY ? b->host : "", b->tls->mode >= BK_TLS_VERIFY_CA ? "?" : "");
    else if (b->state == B_READY && !b->head)
        fail(b, 0, NULL, "the %s (%s) closed the connection (%s)", side_name(b->s), b->address,
             status == UV_EOF ? "server went away" : uv_strerror(status));
    else
        fail(b, 0, NULL, "lost the connection to the %s (%s)%s: %s", side_name(b->s), b->address,
             b->state == B_READY ? " during the statement" : " while logging in",
             status == UV_EOF ? "the server closed it" : uv_strerror(status));
}

static void on_drained(conn *c)
{
    (void)c;
}

static void on_closed(conn *c)
{
    unref(conn_owner(c));
}

static const conn_ops backend_conn_ops = {on_data, on_drained, on_gone, on_closed};

/* ---- connecting ---- */

static void on_connected(uv_connect_t *req, int status)
{
    backend *b = req->data;
    if (b->state != B_CONNECTING)
        return;
    if (status < 0) {
        fail(b, 0, NULL, "cannot connect to the %s (%s): %s", side_name(b->s), b->address, uv_strerror(status));
        return;
    }
    b->state = B_GREETING;
    if (conn_start(&b->c) != 0)
        fail(b, 0, NULL, "cannot read from the %s (%s)", side_name(b->s), b->address);
}

static void connect_to(backend *b, const struct sockaddr *sa)
{
    b->state = B_CONNECTING;
    b->creq.data = b;
    int rc = uv_tcp_connect(&b->creq, &b->c.tcp, sa, on_connected);
    if (rc < 0)
        fail(b, 0, NULL, "cannot connect to the %s (%s): %s", side_name(b->s), b->address, uv_strerror(rc));
}

static void on_resolved(uv_getaddrinfo_t *req, int status, struct addrinfo *res)
{
    backend *b = req->data;
    if (b->state == B_RESOLVING) {
        if (status < 0 || !res)
            fail(b, 0, NULL, "cannot resolve the %s's address %s: %s", side_name(b->s), b->address,
                 uv_strerror(status));
        else
            connect_to(b, res->ai_addr);
    }
    uv_freeaddrinfo(res);
    unref(b);
}

/* "host:port" or "[v6]:port". */
static int split_address(const char *addr, char *host, size_t cap, char *port, size_t pcap)
{
    const char *colon = strrchr(addr, ':');
    if (!colon || !colon[1] || strlen(colon + 1) >= pcap)
        return -1;
    const char *h = addr;
    size_t hl = (size_t)(colon - addr);
    if (hl >= 2 && h[0] == '[' && h[hl - 1] == ']')
        h++, hl -= 2;
    if (hl == 0 || hl >= cap)
        return -1;
    memcpy(host, h, hl);
    host[hl] = '\0';
    strcpy(port, colon + 1);
    return 0;
}

static void on_timeout(uv_timer_t *t)
{
    backend *b = t->data;
    fail(b, 0, NULL, "the %s (%s) did not answer within %u ms%s", side_name(b->s), b->address, b->timeout_ms,
         b->state == B_CONNECTING || b->state == B_RESOLVING ? " (connecting)" : " (logging in)");
}

backend *backend_open(uv_loop_t *loop, side s, const char *address, const backend_login *login,
                      const backend_ops *ops, void *owner)
{
    backend *b = xcalloc(1, sizeof *b);
    b->loop = loop;
    b->s = s;
    b->address = xstrdup(address);
    b->ops = ops;
    b->owner = owner;
    b->refs = 3; /* owner, socket, timer */
    sbuf_add(&b->user, login->user, login->user_len);
    memcpy(b->stage1, login->stage1, 20);
    b->db = login->db ? xstrdup(login->db) : NULL;
    b->sync.db = login->db ? xstrdup(login->db) : NULL;
    b->sync.multi = (login->caps & CAP_MULTI_STATEMENTS) ? 1 : 0;
    b->charset = login->charset;
    b->caps = login->caps;
    if (login->attrs)
        sbuf_add(&b->attrs, login->attrs, login->attrs_len);
    b->timeout_ms = login->timeout_ms ? login->timeout_ms : 5000;
    b->tls = login->tls && login->tls->mode != BK_TLS_OFF ? login->tls : NULL;
    conn_init(&b->c, loop, &backend_conn_ops, b);
    uv_timer_init(loop, &b->timer);
    b->timer.data = b;
    uv_timer_start(&b->timer, on_timeout, b->timeout_ms, 0);

    char host[256], port[16];
    struct sockaddr_storage ss;
    if (split_address(address, host, sizeof host, port, sizeof port) != 0) {
        b->state = B_RESOLVING;
        fail(b, 0, NULL, "the %s's address \"%s\" is not host:port", side_name(s), address);
        return b;
    }
    b->host = xstrdup(host);
    if (uv_ip4_addr(host, atoi(port), (struct sockaddr_in *)&ss) == 0 ||
        uv_ip6_addr(host, atoi(port), (struct sockaddr_in6 *)&ss) == 0) {
        connect_to(b, (struct sockaddr *)&ss);
        return b;
    }
    b->state = B_RESOLVING;
    b->gai.data = b;
    b->refs++;
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM};
    int rc = uv_getaddrinfo(loop, &b->gai, on_resolved, host, port, &hints);
    if (rc < 0) {
        b->refs--;
        fail(b, 0, NULL, "cannot resolve the %s's address %s: %s", side_name(s), address, uv_strerror(rc));
    }
    return b;
}

void backend_close(backend *b)
{
    if (!b)
        return;
    b->ops = NULL;
    b->owner = NULL;
    bk_cmd *cmd;
    while ((cmd = pop(b)))
        cmd_free(cmd);
    if (b->state != B_FAILED) {
        b->state = B_FAILED;
        shut(b);
    }
    unref(b);
}

/* ---- killing a statement a client left behind ---- */

static void killer_done(backend *k, bk_cmd *cmd, bk_outcome how, const resp_parser *r)
{
    (void)cmd;
    (void)how;
    (void)r;
    backend_close(k);
}

static void killer_failed(backend *k, void *owner, uint16_t code, const char *sqlstate, const char *why)
{
    (void)owner;
    (void)code;
    (void)sqlstate;
    log_warn("router", "could not stop a statement a client left running: %s", why);
    (void)k;
}

static const backend_ops killer_ops = {NULL, killer_failed, NULL, NULL, NULL};

/* A fresh connection as the same account runs KILL for b's thread, then
 * leaves; the account may always kill its own threads. */
static void spawn_killer(backend *b, bool query_only)
{
    backend_login l = {b->user.buf, b->user.len, b->stage1, NULL, b->charset, b->caps, NULL, 0, b->timeout_ms, b->tls};
    backend *k = backend_open(b->loop, b->s, b->address, &l, &killer_ops, NULL);
    k->kill_id = b->hs.conn_id;
    bk_cmd *cmd = bk_cmd_new(RESP_SIMPLE, killer_done, NULL);
    uint8_t seq = 0;
    size_t start = wire_begin(&cmd->pkt);
    sbuf_addf(&cmd->pkt, "%c%s %u", COM_QUERY, query_only ? "KILL QUERY" : "KILL CONNECTION", b->hs.conn_id);
    wire_end(&cmd->pkt, start, &seq);
    backend_send(k, cmd); /* killer_done closes it, whatever happens */
}

void backend_abort(backend *b)
{
    if (b->state == B_READY && b->head && b->sent)
        spawn_killer(b, false);
    backend_close(b);
}

void backend_kill_query(backend *b)
{
    if (b->state == B_READY && b->head && b->sent)
        spawn_killer(b, true);
}

/* ---- accessors ---- */

void backend_pause(backend *b)
{
    conn_pause(&b->c);
}

void backend_resume(backend *b)
{
    conn_resume(&b->c);
}

bool backend_ready(const backend *b)
{
    return b->state == B_READY;
}

bool backend_was_ready(const backend *b)
{
    return b->was_ready;
}

bool backend_failed(const backend *b)
{
    return b->state == B_FAILED;
}

bool backend_idle(const backend *b)
{
    return b->state == B_READY && !b->head;
}

side backend_side(const backend *b)
{
    return b->s;
}

const char *backend_address(const backend *b)
{
    return b->address;
}

uint32_t backend_thread_id(const backend *b)
{
    return b->hs.conn_id;
}

bool backend_session_track(const backend *b)
{
    return b->session_track;
}

uint16_t backend_status(const backend *b)
{
    return b->status;
}

const char *backend_server_version(const backend *b)
{
    return b->hs.version;
}

uint8_t backend_server_charset(const backend *b)
{
    return b->hs.charset;
}

backend_sync *backend_synced(backend *b)
{
    return &b->sync;
}
