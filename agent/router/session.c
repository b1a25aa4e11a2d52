/* session: one client connection, its login, routing and session state.
 * See session.h.
 *
 * Login. The router greets the client as a server offering
 * mysql_native_password with a fresh scramble (a client that names
 * another plugin, like MySQL 8's caching_sha2_password, is switched to
 * it), checks the answer against the accounts file, and keeps SHA1(pw),
 * which the check yields. Then it logs in to the write side as the same
 * account before it says OK, so a refused account, an unknown schema or a
 * down server is reported at connect time, as a server would.
 *
 * Routing. Each command gets a side: where a transaction is open (the
 * servers' status flags say so), else the write side while autocommit is
 * off or the session is pinned, else what the statement's class allows
 * (classify.h). The read side's connection opens on first use.
 *
 * Session state. Settings (SET of session variables, SET NAMES, ...),
 * the schema and the multi-statement option are recorded as the client
 * changes them, each SET keyed by what it sets, with a version. Before a
 * command runs on a backend, what that backend has not seen is replayed
 * there first, as commands whose replies the router consumes. If a
 * setting cannot be applied on the read side (the servers differ), the
 * session reads from the write side from then on, starting with that
 * command: a wrong answer from a misconfigured backend is worse than a
 * read on the source.
 *
 * Prepared statements. The client sees the router's ids. Each statement
 * keeps its text and class, and is prepared on a backend the first time it
 * runs there; parameter types the client sent once are re-sent to a
 * backend that has not seen them.
 *
 * Holding (a switch under way, hold.h). A command for the write side
 * that would start new work there (no transaction of the session's is
 * open there) waits in the hold's queue, and so does a login; what the
 * rules read elsewhere goes on. An open transaction goes on too, until it
 * ends: once none is open and no command is running on the write side,
 * the router reports that it holds, and the agent fences that side. At the
 * drain limit, transactions still open and idle are rolled back (their
 * next statement hears 1213, "restart the transaction"); a statement
 * still running is left to the fence. At the release every waiting
 * command goes to the write side the new rules name, oldest first.
 *
 * State that cannot move (a transaction, a pinned session's variables)
 * dies with its backend: if that backend fails, the client's connection is
 * closed, as it would be if it had been connected to that server. A
 * backend with nothing of the session's on it is simply reopened.
 *
 * Read-your-writes (ryw.h). After a write the session tells ryw what it
 * committed; a read that may not see it yet goes to the write side, or is
 * held (forward_to parks it) until ryw says where it goes. Before a
 * command on the write side, ryw may ask that connection to name GTIDs
 * in its OK packets. */
#include "router/session.h"

#include <openssl/rand.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "lib/log.h"
#include "router/classify.h"
#include "router/conn.h"
#include "router/wire.h"

#define NATIVE "mysql_native_password"
#define PAUSE_CLIENT_OUT (4u << 20) /* a slow client: stop reading the backend */
#define PAUSE_CLIENT_IN (1u << 20)  /* commands piling up: stop reading the client */
#define STMT_BUCKETS 64
#define ROUTER_ID_BASE 0x40000000u

typedef enum {
    S_GREETED,    /* handshake sent, waiting for the login (or SSLRequest) */
    S_TLS,        /* TLS on, waiting for the login */
    S_SWITCH,     /* asked the client to switch to mysql_native_password */
    S_CONNECTING, /* client checked; logging in to the write side */
    S_READY,      /* waiting for a command */
    S_BUSY,       /* a command is in flight */
    S_INFILE,     /* streaming a LOAD DATA LOCAL file to the backend */
    S_HELD,       /* its command (or login) waits for a switch to end */
    S_CLOSING,
} sstate;

/* One recorded SET, replayed where not yet seen. Kept ordered by
 * version: a changed setting moves to the end. */
typedef struct setting_rec {
    char *key;
    char *sql;
    size_t sql_len;
    uint64_t version;
} setting_rec;

typedef struct stmt {
    uint32_t id; /* the client's */
    struct stmt *next;
    sbuf sql;
    classify_result cl;
    uint16_t nparams, ncols;
    uint32_t bid[SIDES]; /* the backend's id, where prepared */
    bool on[SIDES], preparing[SIDES], types_sent[SIDES];
    sbuf types; /* parameter types from the last execute that bound them */
    int long_side; /* -1, or where SEND_LONG_DATA went */
    int exec_side; /* where it last ran: a cursor lives there */
    bool closed;
    int pending; /* queued commands that refer to it */
} stmt;

struct session {
    conn c;
    session_env *env;
    session *prev, *next;
    uint32_t id;
    sstate state;
    uint8_t seq; /* the next sequence number for a packet to the client */
    uint8_t scramble[WIRE_SCRAMBLE];
    uint32_t caps;
    uint8_t charset;
    sbuf user;
    char *db;
    uint8_t stage1[20];
    sbuf attrs;
    sbuf peer;
    bool authed;
    backend *bk[SIDES];
    /* State replayed on every backend. */
    setting_rec *sets;
    size_t nsets, capsets;
    uint64_t set_version;
    int multi;
    bool pinned;
    side pin_side; /* where a pinned session's state lives */
    bool reads_on_write; /* the read side refused one of its settings */
    int last_side;
    /* Prepared statements. */
    stmt *stmts[STMT_BUCKETS];
    uint32_t next_stmt;
    /* The command in flight. */
    bk_cmd fwd;
    uint8_t cmd;
    side cmd_side;
    classify_result cl;
    stmt *cmd_stmt;
    sbuf cmd_err;     /* why a preparatory command failed */
    sbuf lost_why;    /* why the command's backend failed */
    uint16_t lost_code; /* the server's error number, when it refused */
    char lost_state[6];
    bool cmd_reroute; /* it failed on the read side: run on the write side */
    sbuf big;         /* a command of several frames, reassembled */
    sbuf out;         /* packets the router writes itself */
    uint16_t status;  /* the status flags the client last saw */
    bool close_after; /* state died with a backend: close once the command is answered */
    hold_waiter held;       /* in the hold's queue (S_HELD) */
    resp_kind held_reply;   /* what the held command expects */
    bool held_login;        /* what waits is the login to the write side */
    bool txn_rolled_back;   /* the drain limit ended its transaction: say so at the next statement */
    bool processing, again;
    /* Read-your-writes. */
    ryw_session ryw;
    bool ryw_park;        /* choose_side said: hold this read (forward_to) */
    resp_kind ryw_reply;  /* the held read's reply kind */
};

static void process_input(session *s);
static void close_session(session *s, bool kill);
static void park(session *s, resp_kind reply);
static bool must_wait(session *s, side sd);
static void drain_check(session_env *env);

session *session_next(const session *s)
{
    return s->next;
}

void session_count_backends(const session_env *env, uint32_t counts[SIDES])
{
    for (int i = 0; i < SIDES; i++)
        counts[i] = 0;
    for (const session *s = env->list; s; s = s->next)
        for (int i = 0; i < SIDES; i++)
            if (s->bk[i] && !backend_failed(s->bk[i]))
                counts[i]++;
}

/* ---- writing to the client ---- */

static void client_write(session *s, const void *p, size_t n)
{
    if (s->state == S_CLOSING)
        return;
    if (conn_write(&s->c, p, n) != 0) {
        close_session(s, true);
        return;
    }
    if (s->c.queued > PAUSE_CLIENT_OUT)
        for (int i = 0; i < SIDES; i++)
            if (s->bk[i])
                backend_pause(s->bk[i]);
}

static void flush_out(session *s)
{
    client_write(s, s->out.buf, s->out.len);
    sbuf_reset(&s->out);
}

static void send_err(session *s, wire_err e, const char *msg)
{
    s->env->stats.errors++;
    s->env->stats.errors_by_kind[e]++;
    wire_put_err(&s->out, &s->seq, e, msg);
    flush_out(s);
}

static void send_errf(session *s, wire_err e, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void send_errf(session *s, wire_err e, const char *fmt, ...)
{
    sbuf msg = SBUF_INIT;
    va_list ap;
    va_start(ap, fmt);
    sbuf_vaddf(&msg, fmt, ap);
    va_end(ap);
    send_err(s, e, msg.buf);
    sbuf_free(&msg);
}

/* A server's own error, passed on with its code and SQLSTATE. */
static void send_server_err(session *s, uint16_t code, const char *sqlstate, const char *msg)
{
    s->env->stats.errors++;
    s->env->stats.errors_by_kind[SESSION_ERR_SERVER]++;
    size_t start = wire_begin(&s->out);
    wire_put_u8(&s->out, 0xff);
    wire_put_u16(&s->out, code);
    sbuf_addc(&s->out, '#');
    sbuf_add(&s->out, sqlstate && sqlstate[0] ? sqlstate : "HY000", 5);
    sbuf_add_printable(&s->out, msg, strlen(msg), 1000);
    wire_end(&s->out, start, &s->seq);
    flush_out(s);
}

static void send_ok(session *s)
{
    wire_put_ok(&s->out, &s->seq, s->status, 0);
    flush_out(s);
}

/* ---- session state ---- */

static void settings_clear(session *s)
{
    for (size_t i = 0; i < s->nsets; i++) {
        free(s->sets[i].key);
        free(s->sets[i].sql);
    }
    s->nsets = 0;
    s->set_version = 0;
}

static void setting_record(session *s, const char *key, const char *sql, size_t len)
{
    /* A SET of several variables is keyed by its whole text. */
    size_t klen = *key ? strlen(key) : len;
    const char *k = *key ? key : sql;
    for (size_t i = 0; i < s->nsets; i++) {
        setting_rec *r = &s->sets[i];
        if (strlen(r->key) == klen && memcmp(r->key, k, klen) == 0) {
            setting_rec moved = *r;
            memmove(r, r + 1, (s->nsets - i - 1) * sizeof *r);
            free(moved.sql);
            moved.sql = xstrndup(sql, len);
            moved.sql_len = len;
            moved.version = ++s->set_version;
            s->sets[s->nsets - 1] = moved;
            return;
        }
    }
    if (s->nsets == s->capsets) {
        s->capsets = s->capsets ? 2 * s->capsets : 8;
        s->sets = xrealloc(s->sets, s->capsets * sizeof *s->sets);
    }
    s->sets[s->nsets++] = (setting_rec){xstrndup(k, klen), xstrndup(sql, len), len, ++s->set_version};
}

static stmt *stmt_find(session *s, uint32_t id)
{
    for (stmt *st = s->stmts[id % STMT_BUCKETS]; st; st = st->next)
        if (st->id == id && !st->closed)
            return st;
    return NULL;
}

static stmt *stmt_any(session *s, uint32_t id)
{
    for (stmt *x = s->stmts[id % STMT_BUCKETS]; x; x = x->next)
        if (x->id == id)
            return x;
    return NULL;
}

static void stmt_unlink_free(session *s, stmt *st)
{
    stmt **pp = &s->stmts[st->id % STMT_BUCKETS];
    while (*pp && *pp != st)
        pp = &(*pp)->next;
    if (*pp)
        *pp = st->next;
    sbuf_free(&st->sql);
    sbuf_free(&st->types);
    free(st);
}

/* Forget a statement once nothing queued refers to it. */
static void stmt_release(session *s, stmt *st)
{
    if (st->closed && st->pending == 0)
        stmt_unlink_free(s, st);
}

static void stmts_clear(session *s)
{
    for (int i = 0; i < STMT_BUCKETS; i++)
        while (s->stmts[i])
            stmt_unlink_free(s, s->stmts[i]);
}

/* RESET_CONNECTION, CHANGE_USER: back to a fresh session. */
static void state_reset(session *s)
{
    settings_clear(s);
    stmts_clear(s);
    s->pinned = false;
    s->reads_on_write = false;
    s->last_side = -1;
    s->multi = (s->caps & CAP_MULTI_STATEMENTS) ? 1 : 0;
    s->status = STATUS_AUTOCOMMIT;
}

/* ---- routing ---- */

/* Does the session hold state on this backend that a new connection
 * would not have? (Asked also of a backend that just failed: its last
 * status flags are still known.) */
static bool holds_state(session *s, side sd)
{
    backend *b = s->bk[sd];
    if (!b)
        return false;
    uint16_t st = backend_status(b);
    return (st & STATUS_IN_TRANS) || !(st & STATUS_AUTOCOMMIT) || (s->pinned && sd == s->pin_side);
}

/* A read in a split mode: where read-your-writes lets it go. A query or
 * an execute may be held (ryw_park, through forward_to) until the
 * destination has the writes; other reads go to the write side then. */
static side read_side_after_writes(session *s)
{
    session_env *env = s->env;
    if (env->read_side == env->write_side)
        return env->read_side;
    switch (ryw_read(&s->ryw, s->cmd == COM_QUERY || s->cmd == COM_STMT_EXECUTE)) {
    case RYW_WRITE_SIDE:
        return env->write_side;
    case RYW_WAIT:
        s->ryw_park = true;
        return env->read_side;
    default:
        return env->read_side;
    }
}

static side choose_side(session *s, classify_route route)
{
    session_env *env = s->env;
    for (int i = 0; i < SIDES; i++) {
        backend *b = s->bk[i];
        if (b && backend_ready(b) && (backend_status(b) & STATUS_IN_TRANS))
            return (side)i;
    }
    backend *w = s->bk[env->write_side];
    if (s->pinned)
        return s->pin_side; /* can_route made sure it still takes writes */
    if (w && backend_ready(w) && !(backend_status(w) & STATUS_AUTOCOMMIT))
        return env->write_side;
    switch (route) {
    case CLASSIFY_ROUTE_READ:
        return s->reads_on_write ? env->write_side : read_side_after_writes(s);
    case CLASSIFY_ROUTE_LAST:
        return s->last_side >= 0 ? (side)s->last_side : env->write_side;
    default:
        return env->write_side;
    }
}

/* ---- backends ---- */

static void bk_ready(backend *b, void *owner);
static void bk_failed(backend *b, void *owner, uint16_t code, const char *sqlstate, const char *why);
static void bk_forward(backend *b, void *owner, const uint8_t *p, size_t n);
static void bk_prepared(backend *b, void *owner, bk_cmd *cmd, const resp_parser *r, uint8_t *id);
static void bk_infile(backend *b, void *owner);
static const backend_ops session_backend_ops = {bk_ready, bk_failed, bk_forward, bk_prepared, bk_infile};

static backend *open_backend(session *s, side sd)
{
    backend_login l = {0};
    l.user = s->user.buf;
    l.user_len = s->user.len;
    l.stage1 = s->stage1;
    l.db = s->db;
    l.charset = s->charset;
    l.caps = s->caps;
    l.attrs = s->attrs.len ? (const uint8_t *)s->attrs.buf : NULL;
    l.attrs_len = s->attrs.len;
    l.timeout_ms = s->env->connect_timeout_ms;
    l.tls = s->env->backend_tls;
    s->bk[sd] = backend_open(s->env->loop, sd, s->env->address[sd], &l, &session_backend_ops, s);
    return s->bk[sd];
}

/* Close a side's backend: what was prepared there is gone with it. */
static void drop_backend(session *s, side sd)
{
    backend_close(s->bk[sd]);
    s->bk[sd] = NULL;
    for (int i = 0; i < STMT_BUCKETS; i++)
        for (stmt *st = s->stmts[i]; st; st = st->next)
            st->on[sd] = st->preparing[sd] = st->types_sent[sd] = false;
}

/* The backend for a side, opened if there is none, or the one there
 * failed or points at an address the rules no longer name. */
static backend *get_backend(session *s, side sd)
{
    backend *b = s->bk[sd];
    if (b && !backend_failed(b) && strcmp(backend_address(b), s->env->address[sd]) == 0)
        return b;
    if (b)
        drop_backend(s, sd);
    return open_backend(s, sd);
}

/* A consumed command's failure fails the client's command. */
static void sync_done(backend *b, bk_cmd *cmd, bk_outcome how, const resp_parser *r)
{
    session *s = cmd->arg;
    if (how == BK_REPLIED && !r->failed)
        return;
    if (!s->cmd_err.len) {
        if (how == BK_REPLIED)
            sbuf_addf(&s->cmd_err, "%s", r->err_msg);
        else
            sbuf_addf(&s->cmd_err, "the %s (%s) went away", side_name(backend_side(b)), backend_address(b));
    }
    if (how == BK_REPLIED && backend_side(b) == s->env->read_side && s->env->read_side != s->env->write_side)
        s->cmd_reroute = true;
    s->fwd.cancelled = true;
    /* The backend's record is no longer true: replay everything next time. */
    backend_sync *bs = backend_synced(b);
    bs->set_version = 0;
    free(bs->db);
    bs->db = NULL;
    bs->multi = -1;
}

static bk_cmd *sync_cmd(session *s, uint8_t com, const void *body, size_t len)
{
    bk_cmd *cmd = bk_cmd_new(RESP_SIMPLE, sync_done, s);
    uint8_t seq = 0;
    size_t start = wire_begin(&cmd->pkt);
    wire_put_u8(&cmd->pkt, com);
    sbuf_add(&cmd->pkt, body, len);
    wire_end(&cmd->pkt, start, &seq);
    return cmd;
}

/* Bring a backend up to the session's schema, options and settings. */
static void sync_backend(session *s, backend *b)
{
    backend_sync *bs = backend_synced(b);
    if (s->db && (!bs->db || strcmp(bs->db, s->db) != 0)) {
        backend_send(b, sync_cmd(s, COM_INIT_DB, s->db, strlen(s->db)));
        free(bs->db);
        bs->db = xstrdup(s->db);
    }
    if (bs->multi != s->multi) {
        uint8_t opt[2] = {s->multi ? 0 : 1, 0}; /* MYSQL_OPTION_MULTI_STATEMENTS_ON = 0 */
        backend_send(b, sync_cmd(s, COM_SET_OPTION, opt, 2));
        bs->multi = s->multi;
    }
    for (size_t i = 0; i < s->nsets; i++) {
        setting_rec *r = &s->sets[i];
        if (r->version <= bs->set_version)
            continue;
        bk_cmd *cmd = sync_cmd(s, COM_QUERY, r->sql, r->sql_len);
        cmd->reply = RESP_QUERY;
        backend_send(b, cmd);
    }
    bs->set_version = s->set_version;
}

/* ---- prepared statements on backends ---- */

static void prepare_done(backend *b, bk_cmd *cmd, bk_outcome how, const resp_parser *r)
{
    session *s = cmd->arg;
    side sd = backend_side(b);
    stmt *st = stmt_any(s, (uint32_t)cmd->tag);
    if (!st)
        return;
    st->preparing[sd] = false;
    st->pending--;
    if (how == BK_REPLIED && !r->failed) {
        st->bid[sd] = r->stmt_id;
        st->on[sd] = true;
        st->types_sent[sd] = false;
    } else {
        sync_done(b, cmd, how, r);
    }
    stmt_release(s, st);
}

static void ensure_prepared(session *s, backend *b, stmt *st)
{
    side sd = backend_side(b);
    if (st->on[sd] || st->preparing[sd])
        return;
    bk_cmd *cmd = bk_cmd_new(RESP_PREPARE, prepare_done, s);
    cmd->tag = st->id;
    uint8_t seq = 0;
    size_t start = wire_begin(&cmd->pkt);
    wire_put_u8(&cmd->pkt, COM_STMT_PREPARE);
    sbuf_add(&cmd->pkt, st->sql.buf, st->sql.len);
    wire_end(&cmd->pkt, start, &seq);
    st->preparing[sd] = true;
    st->pending++;
    backend_send(b, cmd);
}

static void put_id(uint8_t *p, uint32_t id)
{
    p[0] = (uint8_t)id;
    p[1] = (uint8_t)(id >> 8);
    p[2] = (uint8_t)(id >> 16);
    p[3] = (uint8_t)(id >> 24);
}

/* ---- forwarding the client's command ---- */

static void fwd_done(backend *b, bk_cmd *cmd, bk_outcome how, const resp_parser *r);

/* Right before the client's statement command is sent: the backend's id
 * (which may come from a prepare queued just before it) and, for an
 * EXECUTE, the parameter types if this backend has not seen them. */
static bool fwd_before_send(backend *b, bk_cmd *cmd)
{
    session *s = cmd->arg;
    stmt *st = s->cmd_stmt;
    side sd = backend_side(b);
    if (!st || s->cmd == COM_STMT_PREPARE)
        return true;
    if (!st->on[sd])
        return false;
    sbuf *pkt = &cmd->pkt;
    put_id((uint8_t *)pkt->buf + WIRE_HEADER + 1, st->bid[sd]);
    if (s->cmd != COM_STMT_EXECUTE || st->nparams == 0)
        return true;
    /* EXECUTE: id(4) flags(1) iterations(4) null-bitmap bound-flag [types] values */
    size_t nb = ((size_t)st->nparams + 7) / 8, flag_at = 1 + 4 + 1 + 4 + nb;
    const uint8_t *payload = (const uint8_t *)pkt->buf + WIRE_HEADER;
    size_t plen = pkt->len - WIRE_HEADER;
    if (s->big.len) { /* several frames: the reassembled payload */
        payload = (const uint8_t *)s->big.buf;
        plen = s->big.len;
    }
    if (plen <= flag_at)
        return true;
    if (payload[flag_at] == 1) {
        st->types_sent[sd] = true;
        return true;
    }
    if (st->types_sent[sd] || st->types.len != 2u * st->nparams)
        return true;
    /* This backend has not seen the types the client bound earlier. */
    sbuf np = SBUF_INIT;
    sbuf_add(&np, payload, flag_at);
    wire_put_u8(&np, 1);
    sbuf_add(&np, st->types.buf, st->types.len);
    sbuf_add(&np, payload + flag_at + 1, plen - flag_at - 1);
    put_id((uint8_t *)np.buf + 1, st->bid[sd]);
    sbuf_reset(pkt);
    uint8_t seq = 0;
    wire_frame(pkt, np.buf, np.len, &seq);
    sbuf_free(&np);
    st->types_sent[sd] = true;
    return true;
}

static void park_read(session *s, side sd, resp_kind reply);
static bool reads_last_result(session *s);

/* Send the client's command (already in s->fwd.pkt) to a side. */
static void forward_to(session *s, side sd, resp_kind reply)
{
    if (must_wait(s, sd)) { /* a switch is under way */
        park(s, reply);
        return;
    }
    if (s->ryw_park) { /* the read waits for the session's writes */
        park_read(s, sd, reply);
        return;
    }
    s->cmd_side = sd;
    s->state = S_BUSY;
    s->env->stats.statements[sd]++;
    s->env->stats.statements_by_kind[sd][s->cmd_stmt ? s->cmd_stmt->cl.kind
                                         : reply == RESP_QUERY ? s->cl.kind : CLASSIFY_KIND_OTHER]++;
    backend *b = get_backend(s, sd);
    sync_backend(s, b);
    if (sd == s->env->write_side && s->env->read_side != s->env->write_side && !reads_last_result(s))
        ryw_track(&s->ryw, b);
    if (s->cmd_stmt) {
        ensure_prepared(s, b, s->cmd_stmt);
        s->cmd_stmt->pending++;
    }
    s->fwd.reply = reply;
    s->fwd.forward = true;
    s->fwd.cancelled = false;
    s->fwd.done = fwd_done;
    s->fwd.before_send = fwd_before_send;
    s->fwd.arg = s;
    s->fwd.owned = false;
    s->fwd.tag = 0;
    backend_send(b, &s->fwd);
}

static void command_over(session *s)
{
    if (s->state == S_CLOSING)
        return;
    s->state = S_READY;
    s->cmd_stmt = NULL;
    sbuf_reset(&s->cmd_err);
    sbuf_reset(&s->lost_why);
    s->lost_code = 0;
    s->cmd_reroute = false;
    if (s->close_after) {
        close_session(s, false);
        return;
    }
    if (s->env->hold.on)
        drain_check(s->env);
    conn_resume(&s->c);
    process_input(s);
}

/* ---- read-your-writes ---- */

/* Held: the session is busy (no next command) until ryw resumes it. ryw
 * may first ask the write side's connection what the writes were. */
static void park_read(session *s, side sd, resp_kind reply)
{
    s->cmd_side = sd;
    s->state = S_BUSY;
    s->ryw_reply = reply;
    ryw_park(&s->ryw, ryw_asks_source(&s->ryw) ? get_backend(s, s->env->write_side) : NULL); /* may resume at once */
}

static void ryw_resume(ryw_session *rs, bool read_side)
{
    session *s = rs->owner;
    s->ryw_park = false;
    if (s->state == S_CLOSING)
        return;
    forward_to(s, read_side ? s->env->read_side : s->env->write_side, s->ryw_reply);
}

/* Does the command read what the previous statement left (ROW_COUNT(),
 * SHOW WARNINGS)? Nothing of the router's may run before it. */
static bool reads_last_result(session *s)
{
    const classify_result *cl = s->cmd == COM_QUERY ? &s->cl : s->cmd_stmt ? &s->cmd_stmt->cl : NULL;
    return cl && cl->route == CLASSIFY_ROUTE_LAST;
}

/* A client's query or execute ended on the write side: what it may have
 * committed goes to ryw. */
static void note_write(session *s, backend *b, const resp_parser *r)
{
    session_env *env = s->env;
    const classify_result *cl = NULL;
    const uint8_t *sql = NULL;
    size_t len = 0;
    if (s->cmd == COM_QUERY && s->fwd.pkt.len > WIRE_HEADER) {
        cl = &s->cl;
        sql = (const uint8_t *)s->fwd.pkt.buf + WIRE_HEADER + 1;
        len = s->fwd.pkt.len - WIRE_HEADER - 1;
    } else if (s->cmd == COM_STMT_EXECUTE && s->cmd_stmt) {
        cl = &s->cmd_stmt->cl;
        sql = (const uint8_t *)s->cmd_stmt->sql.buf;
        len = s->cmd_stmt->sql.len;
    }
    if (!cl || backend_side(b) != env->write_side)
        return;
    bool write = cl->route == CLASSIFY_ROUTE_WRITE && !(cl->flags & (CLASSIFY_SESSION_SET | CLASSIFY_USE));
    /* Writes to the source count in mode SOURCE too: when the rules turn
     * to VALIDATE the session's next read goes to the destination, which
     * the stream may not have brought them to yet. */
    bool counts = env->read_side != env->write_side || env->write_side == SIDE_SOURCE;
    ryw_ran(&s->ryw, b, r, sql, len, write && counts);
}

static void pin(session *s, side sd)
{
    s->pinned = true;
    s->pin_side = sd;
}

/* What a successful command changed in the session. */
static void command_succeeded(session *s, backend *b, const resp_parser *r)
{
    backend_sync *bs = backend_synced(b);
    s->status = r->status;
    s->last_side = backend_side(b);
    switch (s->cmd) {
    case COM_QUERY:
        if (s->cl.flags & CLASSIFY_PIN)
            pin(s, backend_side(b));
        if (s->cl.flags & CLASSIFY_USE) {
            free(s->db);
            s->db = xstrdup(s->cl.name);
            free(bs->db);
            bs->db = xstrdup(s->cl.name);
        }
        if (s->cl.flags & CLASSIFY_SESSION_SET) {
            const uint8_t *q = (const uint8_t *)s->fwd.pkt.buf + WIRE_HEADER + 1;
            setting_record(s, s->cl.key, (const char *)q, s->fwd.pkt.len - WIRE_HEADER - 1);
            bs->set_version = s->set_version;
        }
        break;
    case COM_STMT_EXECUTE:
        if (s->cmd_stmt && (s->cmd_stmt->cl.flags & CLASSIFY_PIN))
            pin(s, backend_side(b));
        break;
    case COM_INIT_DB:
        free(s->db);
        s->db = xstrndup(s->fwd.pkt.buf + WIRE_HEADER + 1, s->fwd.pkt.len - WIRE_HEADER - 1);
        free(bs->db);
        bs->db = xstrdup(s->db);
        break;
    case COM_SET_OPTION: {
        const uint8_t *o = (const uint8_t *)s->fwd.pkt.buf + WIRE_HEADER + 1;
        s->multi = o[0] == 0;
        bs->multi = s->multi;
        break;
    }
    default:
        break;
    }
}

static void fwd_done(backend *b, bk_cmd *cmd, bk_outcome how, const resp_parser *r)
{
    session *s = cmd->arg;
    side sd = backend_side(b);
    stmt *st = s->cmd_stmt;
    if (st) {
        st->pending--;
        if (how == BK_REPLIED && (s->cmd == COM_STMT_EXECUTE || s->cmd == COM_STMT_FETCH)) {
            st->exec_side = sd;
            if (s->cmd == COM_STMT_EXECUTE)
                st->long_side = -1;
        }
    }
    if (s->state == S_CLOSING)
        return;
    switch (how) {
    case BK_REPLIED:
        if (s->cmd == COM_STMT_PREPARE) {
            if (r->failed) {
                st->closed = true;
                stmt_release(s, st);
            } else {
                s->status = r->status;
            }
        } else if (!r->failed) {
            command_succeeded(s, b, r);
        }
        break;
    case BK_SKIPPED:
        if (s->cmd_reroute && s->cmd != COM_STMT_SEND_LONG_DATA) {
            /* A setting the read side refused: this session reads from
             * the write side from now on, starting with this command. */
            log_warn("router", "session %u: the read side refused a setting (%s); the session now reads from the "
                               "write side", s->id, s->cmd_err.buf);
            s->reads_on_write = true;
            sbuf_reset(&s->cmd_err);
            s->cmd_reroute = false;
            forward_to(s, s->env->write_side, cmd->reply);
            return;
        }
        send_errf(s, WERR_ROUTER, "the router could not prepare the %s for this statement: %s", side_name(sd),
                  s->cmd_err.len ? s->cmd_err.buf : "unknown error");
        break;
    case BK_LOST:
        if (!backend_was_ready(b) && s->lost_code) {
            /* The server refused the login (too many connections, a
             * locked account): its own error, saying which side. */
            sbuf msg = SBUF_INIT;
            sbuf_addf(&msg, "tablet-router: the %s (%s) refused the connection: %s", side_name(sd),
                      backend_address(b), s->lost_why.buf);
            send_server_err(s, s->lost_code, s->lost_state, msg.buf);
            sbuf_free(&msg);
            break;
        }
        if (!backend_was_ready(b)) {
            send_errf(s, WERR_NO_BACKEND, "tablet-router: %s; the statement did not run. Retry, or check the %s",
                      s->lost_why.len ? s->lost_why.buf : "cannot reach the server", side_name(sd));
            break;
        }
        if (r->any)
            s->seq = (uint8_t)(r->seq + 1);
        send_errf(s, WERR_LOST_BACKEND, "tablet-router: %s; %s", s->lost_why.len ? s->lost_why.buf : "lost the server",
                  r->any ? "the statement's result is incomplete" : "the statement may or may not have run");
        break;
    }
    if (s->cmd == COM_STMT_PREPARE && st && how != BK_REPLIED) {
        st->closed = true;
        stmt_release(s, st);
    }
    if (how == BK_REPLIED)
        note_write(s, b, r);
    command_over(s);
}

/* ---- backend events ---- */

static void bk_ready(backend *b, void *owner)
{
    session *s = owner;
    side sd = backend_side(b);
    if (s->state == S_CONNECTING && sd == s->env->write_side) {
        s->status = backend_status(b) & (STATUS_AUTOCOMMIT | STATUS_IN_TRANS);
        s->state = S_READY;
        send_ok(s);
        process_input(s);
    }
}

static void bk_failed(backend *b, void *owner, uint16_t code, const char *sqlstate, const char *why)
{
    session *s = owner;
    side sd = backend_side(b);
    if (s->state == S_CONNECTING) {
        /* The login to the write side failed: the client's login fails. */
        log_info("router", "session %u (%s): %s", s->id, s->peer.buf, why);
        if (code)
            send_server_err(s, code, sqlstate, why);
        else
            send_errf(s, WERR_NO_BACKEND, "tablet-router: %s; retry, or check that the %s is up", why, side_name(sd));
        close_session(s, false);
        return;
    }
    log_info("router", "session %u: %s", s->id, why);
    if ((s->state == S_BUSY || s->state == S_INFILE) && s->cmd_side == sd) {
        sbuf_setf(&s->lost_why, "%s", why);
        s->lost_code = code;
        snprintf(s->lost_state, sizeof s->lost_state, "%s", sqlstate ? sqlstate : "");
    }
    for (int i = 0; i < STMT_BUCKETS; i++)
        for (stmt *st = s->stmts[i]; st; st = st->next)
            st->on[sd] = st->preparing[sd] = st->types_sent[sd] = false;
    if (!holds_state(s, sd) || s->state == S_CLOSING)
        return; /* nothing of the session's was there: reopened on next use */
    /* Its transaction or variables are gone, so the client's connection
     * goes too, as it would without a router; a command in flight there
     * is answered first (fwd_done). */
    if ((s->state == S_BUSY || s->state == S_INFILE) && s->cmd_side == sd)
        s->close_after = true;
    else
        close_session(s, false);
}

static void bk_forward(backend *b, void *owner, const uint8_t *p, size_t n)
{
    (void)b;
    session *s = owner;
    client_write(s, p, n);
}

static void bk_prepared(backend *b, void *owner, bk_cmd *cmd, const resp_parser *r, uint8_t *id)
{
    (void)cmd;
    session *s = owner;
    stmt *st = s->cmd_stmt;
    if (!st)
        return;
    side sd = backend_side(b);
    st->bid[sd] = r->stmt_id;
    st->on[sd] = true;
    st->nparams = r->nparams;
    st->ncols = r->ncols;
    put_id(id, st->id);
}

static void bk_infile(backend *b, void *owner)
{
    (void)b;
    session *s = owner;
    s->state = S_INFILE;
    process_input(s);
}

/* ---- commands ---- */

/* Copy the client's framed command into the forwarding slot. */
static void take_command(session *s, const uint8_t *raw, size_t rawlen)
{
    sbuf_reset(&s->fwd.pkt);
    if (s->big.len) {
        uint8_t seq = 0;
        wire_frame(&s->fwd.pkt, s->big.buf, s->big.len, &seq);
    } else {
        sbuf_add(&s->fwd.pkt, raw, rawlen);
    }
}

/* Can the session's next command be routed at all? Not without rules;
 * and not when its pinned state (user variables, temporary tables,
 * locks) lives on a side that no longer takes writes: the state cannot
 * follow, so the connection ends, as it would have on that server. */
static bool can_route(session *s)
{
    if (!s->env->have_rules) {
        send_errf(s, WERR_ROUTER, "tablet-router has no routing rules yet (%s); retry shortly",
                  s->env->no_rules_why ? s->env->no_rules_why : "waiting for the control plane");
        return false;
    }
    if (s->pinned && s->pin_side != s->env->write_side) {
        log_info("router", "session %u: writes moved to the %s, its pinned state is on the %s: closing it", s->id,
                 side_name(s->env->write_side), side_name(s->pin_side));
        send_errf(s, WERR_LOST_BACKEND,
                  "tablet-router: writes moved to the %s; this session's state (user variables, temporary tables, "
                  "locks, prepared SQL) lives on the %s and cannot follow. Reconnect",
                  side_name(s->env->write_side), side_name(s->pin_side));
        close_session(s, false);
        return false;
    }
    return true;
}

/* ---- KILL of a router connection ---- */

/* "KILL [QUERY|CONNECTION] <id>": true with the id, else false. */
static bool parse_kill(const uint8_t *sql, size_t len, bool *query_only, uint32_t *id)
{
    size_t i = 0;
    const char *words[3] = {NULL, NULL, NULL};
    size_t lens[3] = {0, 0, 0};
    int n = 0;
    while (n < 3) {
        while (i < len && (sql[i] == ' ' || sql[i] == '\t' || sql[i] == '\n' || sql[i] == '\r'))
            i++;
        if (i == len || sql[i] == ';')
            break;
        words[n] = (const char *)sql + i;
        while (i < len && sql[i] != ' ' && sql[i] != '\t' && sql[i] != '\n' && sql[i] != '\r' && sql[i] != ';')
            i++;
        lens[n] = (size_t)((const char *)sql + i - words[n]);
        n++;
    }
    while (i < len && (sql[i] == ' ' || sql[i] == ';' || sql[i] == '\n' || sql[i] == '\r' || sql[i] == '\t'))
        i++;
    if (i != len || n < 2 || lens[0] != 4 || strncasecmp(words[0], "kill", 4) != 0)
        return false;
    int idw = 1;
    *query_only = false;
    if (n == 3) {
        if (lens[1] == 5 && strncasecmp(words[1], "query", 5) == 0)
            *query_only = true;
        else if (!(lens[1] == 10 && strncasecmp(words[1], "connection", 10) == 0))
            return false;
        idw = 2;
    }
    uint64_t v = 0;
    for (size_t k = 0; k < lens[idw]; k++) {
        if (words[idw][k] < '0' || words[idw][k] > '9' || (v = v * 10 + (uint64_t)(words[idw][k] - '0')) > UINT32_MAX)
            return false;
    }
    *id = (uint32_t)v;
    return lens[idw] > 0;
}

/* The id a client saw in the handshake is the router's: a KILL of it
 * (what drivers send on a query timeout) stops that session's work. An
 * id that is not a router connection goes to the server as it is. */
static bool kill_router_session(session *s, uint32_t id, bool query_only)
{
    session *t = s->env->list;
    while (t && t->id != id)
        t = t->next;
    if (!t)
        return false;
    if (t->user.len != s->user.len || memcmp(t->user.buf, s->user.buf, s->user.len) != 0) {
        send_errf(s, WERR_ROUTER, "You are not owner of thread %u", id);
        return true;
    }
    if (query_only) {
        if ((t->state == S_BUSY || t->state == S_INFILE) && t->bk[t->cmd_side])
            backend_kill_query(t->bk[t->cmd_side]);
        send_ok(s);
    } else if (t == s) {
        close_session(s, true);
    } else {
        close_session(t, true);
        send_ok(s);
    }
    return true;
}

static void cmd_query(session *s, const uint8_t *sql, size_t len)
{
    bool query_only;
    uint32_t kill_id;
    if (len < 64 && parse_kill(sql, len, &query_only, &kill_id) && kill_router_session(s, kill_id, query_only))
        return;
    classify_statement((const char *)sql, len, &s->cl);
    if (!can_route(s))
        return;
    forward_to(s, choose_side(s, s->cl.route), RESP_QUERY);
}

static void cmd_prepare(session *s, const uint8_t *sql, size_t len)
{
    if (!can_route(s))
        return;
    stmt *st = xcalloc(1, sizeof *st);
    st->id = ++s->next_stmt;
    sbuf_add(&st->sql, sql, len);
    classify_statement((const char *)sql, len, &st->cl);
    st->long_side = -1;
    st->exec_side = -1;
    st->next = s->stmts[st->id % STMT_BUCKETS];
    s->stmts[st->id % STMT_BUCKETS] = st;
    st->preparing[0] = st->preparing[1] = false;
    s->cmd_stmt = st;
    /* The forwarded PREPARE is this statement's prepare on that side. */
    side sd = choose_side(s, st->cl.route);
    st->preparing[sd] = true;
    forward_to(s, sd, RESP_PREPARE);
    st->preparing[sd] = false;
}

static stmt *stmt_of_command(session *s, const uint8_t *payload, size_t len, const char *what)
{
    if (len < 5) {
        send_errf(s, WERR_BAD_HANDSHAKE, "malformed %s packet", what);
        return NULL;
    }
    uint32_t id = wire_le32(payload + 1);
    stmt *st = stmt_find(s, id);
    if (!st)
        send_errf(s, WERR_UNKNOWN_STMT, "Unknown prepared statement handler (%u) given to %s", id, what);
    return st;
}

static void cmd_execute(session *s, const uint8_t *p, size_t len)
{
    stmt *st = stmt_of_command(s, p, len, "mysqld_stmt_execute");
    if (!st || !can_route(s))
        return;
    size_t nb = ((size_t)st->nparams + 7) / 8, flag_at = 1 + 4 + 1 + 4 + nb;
    if (st->nparams && len > flag_at && p[flag_at] == 1) {
        if (len < flag_at + 1 + 2u * st->nparams) {
            send_errf(s, WERR_BAD_HANDSHAKE, "malformed COM_STMT_EXECUTE packet: parameter types cut short");
            return;
        }
        sbuf_reset(&st->types);
        sbuf_add(&st->types, p + flag_at + 1, 2u * st->nparams);
        st->types_sent[0] = st->types_sent[1] = false;
    }
    s->cmd_stmt = st;
    side sd = st->long_side >= 0 ? (side)st->long_side : choose_side(s, st->cl.route);
    forward_to(s, sd, RESP_EXECUTE);
}

static void cmd_fetch(session *s, const uint8_t *p, size_t len)
{
    stmt *st = stmt_of_command(s, p, len, "mysqld_stmt_fetch");
    if (!st)
        return;
    if (st->exec_side < 0) {
        send_errf(s, WERR_UNKNOWN_STMT, "the statement has no open cursor: execute it first");
        return;
    }
    s->cmd_stmt = st;
    forward_to(s, (side)st->exec_side, RESP_FETCH);
}

/* The backend's id goes in when it is known: right before sending. */
static bool stmt_cmd_before_send(backend *b, bk_cmd *cmd)
{
    stmt *st = stmt_any(cmd->arg, (uint32_t)cmd->tag);
    if (!st || !st->on[backend_side(b)])
        return false;
    put_id((uint8_t *)cmd->pkt.buf + WIRE_HEADER + 1, st->bid[backend_side(b)]);
    return true;
}

/* SEND_LONG_DATA and CLOSE have no reply: they go out as owned commands
 * and the client's next command follows at once. */
static void stmt_cmd_done(backend *b, bk_cmd *cmd, bk_outcome how, const resp_parser *r)
{
    (void)how;
    (void)r;
    (void)b;
    session *s = cmd->arg;
    stmt *st = stmt_any(s, (uint32_t)cmd->tag);
    if (st) {
        st->pending--;
        stmt_release(s, st);
    }
}

static void send_stmt_noreply(session *s, stmt *st, side sd, const uint8_t *payload, size_t len)
{
    backend *b = get_backend(s, sd);
    sync_backend(s, b);
    ensure_prepared(s, b, st);
    bk_cmd *cmd = bk_cmd_new(RESP_NONE, stmt_cmd_done, s);
    cmd->tag = st->id;
    cmd->before_send = stmt_cmd_before_send;
    uint8_t seq = 0;
    wire_frame(&cmd->pkt, payload, len, &seq);
    st->pending++;
    backend_send(b, cmd);
}

static void cmd_long_data(session *s, const uint8_t *p, size_t len)
{
    if (len < 7)
        return; /* no reply exists to report it; the execute will fail */
    uint32_t id = wire_le32(p + 1);
    stmt *st = stmt_find(s, id);
    if (!st || !s->env->have_rules)
        return;
    side sd = st->long_side >= 0 ? (side)st->long_side : choose_side(s, st->cl.route);
    st->long_side = sd;
    send_stmt_noreply(s, st, sd, p, len);
}

static void cmd_close_stmt(session *s, const uint8_t *p, size_t len)
{
    if (len < 5)
        return;
    uint32_t id = wire_le32(p + 1);
    stmt *st = stmt_find(s, id);
    if (!st)
        return;
    st->closed = true;
    st->pending++; /* a close that goes out at once must not free it under the loop */
    for (int i = 0; i < SIDES; i++)
        if ((st->on[i] || st->preparing[i]) && s->bk[i] && !backend_failed(s->bk[i]))
            send_stmt_noreply(s, st, (side)i, p, len);
    st->pending--;
    stmt_release(s, st);
}

static void cmd_reset_stmt(session *s, const uint8_t *p, size_t len)
{
    stmt *st = stmt_of_command(s, p, len, "mysqld_stmt_reset");
    if (!st)
        return;
    st->long_side = -1;
    int where = st->exec_side >= 0 ? st->exec_side : st->on[s->env->write_side] ? (int)s->env->write_side : -1;
    for (int i = 0; i < SIDES && where < 0; i++)
        if (st->on[i])
            where = i;
    if (where < 0) {
        send_ok(s); /* prepared nowhere yet: nothing to reset */
        return;
    }
    s->cmd_stmt = st;
    forward_to(s, (side)where, RESP_SIMPLE);
}

static void cmd_reset_connection(session *s)
{
    for (int i = 0; i < SIDES; i++)
        if (s->bk[i]) {
            /* Simplest correct reset of a backend: a new connection. */
            backend_close(s->bk[i]);
            s->bk[i] = NULL;
        }
    state_reset(s);
    if (s->env->have_rules)
        open_backend(s, s->env->write_side);
    send_ok(s);
}

static void check_login(session *s, const uint8_t *token, size_t token_len);

static void cmd_change_user(session *s, const uint8_t *p, size_t len)
{
    wire_login l;
    if (wire_parse_change_user(p + 1, len - 1, s->caps, &l) != 0) {
        send_errf(s, WERR_BAD_HANDSHAKE, "malformed COM_CHANGE_USER packet");
        close_session(s, false);
        return;
    }
    for (int i = 0; i < SIDES; i++)
        if (s->bk[i]) {
            backend_close(s->bk[i]);
            s->bk[i] = NULL;
        }
    state_reset(s);
    sbuf_reset(&s->user);
    sbuf_add(&s->user, l.user, l.user_len);
    free(s->db);
    s->db = l.db ? xstrndup(l.db, l.db_len) : NULL;
    if (l.charset)
        s->charset = l.charset;
    sbuf_reset(&s->attrs);
    if (l.attrs)
        sbuf_add(&s->attrs, l.attrs, l.attrs_len);
    s->authed = false;
    if (l.plugin && (l.plugin_len != strlen(NATIVE) || memcmp(l.plugin, NATIVE, l.plugin_len) != 0)) {
        wire_put_auth_switch(&s->out, &s->seq, NATIVE, s->scramble);
        flush_out(s);
        s->state = S_SWITCH;
        return;
    }
    check_login(s, l.auth, l.auth_len);
}

/* Commands the router passes on whole, with where they go and the reply
 * they get. A schema change and the multi-statement option are recorded
 * from their replies (command_succeeded) and replayed elsewhere. */
static const struct {
    uint8_t com;
    classify_route route;
    resp_kind reply;
    size_t min_len;
} passthrough[] = {
    {COM_INIT_DB, CLASSIFY_ROUTE_WRITE, RESP_SIMPLE, 1},
    {COM_SET_OPTION, CLASSIFY_ROUTE_WRITE, RESP_SIMPLE, 3},
    {COM_FIELD_LIST, CLASSIFY_ROUTE_READ, RESP_FIELD_LIST, 1},
    {COM_STATISTICS, CLASSIFY_ROUTE_WRITE, RESP_ANY1, 1},
    {COM_DEBUG, CLASSIFY_ROUTE_WRITE, RESP_SIMPLE, 1},
    {COM_PROCESS_KILL, CLASSIFY_ROUTE_WRITE, RESP_SIMPLE, 5},
};

/* One whole client command. seq_next is the sequence number the reply
 * starts at; raw/rawlen are the frames as they came. */
/* ---- holding for a switch ---- */

#define SESSION_OF(w) ((session *)((char *)(w) - offsetof(session, held)))

/* Would this command start new work on a write side being switched? */
static bool must_wait(session *s, side sd)
{
    if (!s->env->hold.on || sd != s->env->write_side)
        return false;
    backend *b = s->bk[sd];
    return !(b && backend_ready(b) && (backend_status(b) & STATUS_IN_TRANS));
}

/* The hold refused the command (its error is sent): a login ends the
 * connection, a statement ends as if it had failed. */
static void held_refused(session *s)
{
    if (s->held_login) {
        close_session(s, false);
        return;
    }
    if (s->cmd == COM_STMT_PREPARE && s->cmd_stmt) {
        s->cmd_stmt->closed = true;
        stmt_release(s, s->cmd_stmt);
    }
    command_over(s);
}

static void park(session *s, resp_kind reply)
{
    if (hold_park(&s->env->hold, &s->held) != 0) {
        send_errf(s, WERR_HELD,
                  "tablet-router: %u statements already wait for a switch of the write side to finish (limit "
                  "hold-queue-max); this one did not run. Retry it in a moment",
                  s->env->hold.limits.queue_max);
        held_refused(s);
        return;
    }
    s->held_reply = reply;
    s->state = S_HELD;
}

/* The hold ended: the command goes to the write side the rules name now
 * (it was bound for the write side; the write side serves anything). */
static void held_resume(hold_waiter *w)
{
    session *s = SESSION_OF(w);
    s->state = S_READY;
    if (s->held_login) {
        s->held_login = false;
        if (!can_route(s)) {
            close_session(s, false);
            return;
        }
        s->state = S_CONNECTING;
        open_backend(s, s->env->write_side);
        return;
    }
    if (!can_route(s)) {
        if (s->state != S_CLOSING)
            command_over(s);
        return;
    }
    side sd = s->env->write_side;
    stmt *st = s->cmd == COM_STMT_PREPARE ? s->cmd_stmt : NULL;
    if (st)
        st->preparing[sd] = true;
    forward_to(s, sd, s->held_reply);
    if (st)
        st->preparing[sd] = false;
}

static void held_expire(hold_waiter *w)
{
    session *s = SESSION_OF(w);
    s->state = S_READY;
    send_errf(s, WERR_HELD,
              "tablet-router: this %s waited %u ms for a switch of the write side to finish (limit "
              "hold-statement-wait-ms); it did not run. Retry it",
              s->held_login ? "login" : "statement", s->env->hold.limits.statement_wait_ms);
    held_refused(s);
}

/* Is anything of the session's open on the write side? */
static bool open_on_write(const session *s)
{
    side w = s->env->write_side;
    if ((s->state == S_BUSY || s->state == S_INFILE) && s->cmd_side == w)
        return true;
    backend *b = s->bk[w];
    return b && backend_ready(b) && (backend_status(b) & STATUS_IN_TRANS);
}

static void drain_check(session_env *env)
{
    if (!env->hold.on || env->drained)
        return;
    for (session *s = env->list; s; s = s->next)
        if (open_on_write(s))
            return;
    env->drained = true;
    env->on_drained(env->owner);
}

static void rollback_done(backend *b, bk_cmd *cmd, bk_outcome how, const resp_parser *r)
{
    (void)b, (void)cmd, (void)how, (void)r;
}

/* The drain limit: transactions still open and idle are rolled back; a
 * statement still running is left to finish or to the fence. */
static void on_drain_due(void *data)
{
    session_env *env = data;
    unsigned rolled = 0, running = 0;
    for (session *s = env->list; s; s = s->next) {
        if (!open_on_write(s))
            continue;
        if (s->state == S_BUSY || s->state == S_INFILE) {
            running++;
            continue;
        }
        bk_cmd *cmd = bk_cmd_new(RESP_QUERY, rollback_done, NULL);
        uint8_t seq = 0;
        size_t start = wire_begin(&cmd->pkt);
        sbuf_addf(&cmd->pkt, "%cROLLBACK", COM_QUERY);
        wire_end(&cmd->pkt, start, &seq);
        backend_send(s->bk[env->write_side], cmd);
        s->txn_rolled_back = true;
        rolled++;
    }
    if (env->drained)
        return;
    log_warn("router", "hold v%llu: drain limit (%u ms) reached: %u open transaction(s) rolled back, %u statement(s) "
                       "still running on the %s",
             (unsigned long long)env->hold.version, env->hold.limits.drain_ms, rolled, running,
             side_name(env->write_side));
    env->drained = true;
    env->on_drained(env->owner);
}

static void on_hold_over(void *data)
{
    session_env *env = data;
    if (env->hold.version == 0)
        log_warn("router", "no rules from the control plane within hold-max-ms (%u ms): logins that waited for them "
                           "are refused, saying why", env->hold.limits.max_hold_ms);
    else
        log_warn("router", "hold v%llu lasted hold-max-ms (%u ms) without new rules: no longer holding; statements go "
                           "to the %s again",
                 (unsigned long long)env->hold.version, env->hold.limits.max_hold_ms, side_name(env->write_side));
    env->drained = false;
    env->on_hold_over(env->owner);
}

void session_hold_init(session_env *env, const hold_limits *limits)
{
    hold_init(&env->hold, env->loop, limits, on_drain_due, on_hold_over, env);
}

void session_hold_begin(session_env *env, uint64_t version)
{
    bool was = env->hold.on;
    hold_begin(&env->hold, version);
    if (was && env->drained)
        env->on_drained(env->owner); /* the same drained state, at the new version */
    else
        drain_check(env);
}

void session_hold_end(session_env *env)
{
    env->drained = false;
    hold_end(&env->hold);
}

/* A transaction the drain limit ended: its next statement says so, unless
 * it is the ROLLBACK the application would send anyway. */
static bool report_rolled_back(session *s, const uint8_t *payload, size_t len)
{
    s->txn_rolled_back = false;
    if (payload[0] == COM_QUERY) {
        size_t i = 1;
        while (i < len && (payload[i] == ' ' || payload[i] == '\n' || payload[i] == '\t' || payload[i] == '\r'))
            i++;
        if (len - i >= 8 && strncasecmp((const char *)payload + i, "ROLLBACK", 8) == 0)
            return false;
    }
    send_errf(s, WERR_TXN_ROLLED_BACK,
              "tablet-router: your transaction was rolled back: the write side is being switched and the transaction "
              "stayed open past hold-drain-ms (%u ms). Restart the transaction",
              s->env->hold.limits.drain_ms);
    return true;
}

static void dispatch(session *s, const uint8_t *payload, size_t len, const uint8_t *raw, size_t rawlen)
{
    uint8_t com = len ? payload[0] : 0;
    s->env->stats.commands++;
    s->cmd = com;
    s->cmd_stmt = NULL;
    memset(&s->cl, 0, sizeof s->cl);
    if (s->txn_rolled_back && (com == COM_QUERY || com == COM_STMT_EXECUTE) && report_rolled_back(s, payload, len))
        return;
    switch (com) {
    case COM_QUIT:
        close_session(s, false);
        return;
    case COM_PING:
        send_ok(s);
        return;
    case COM_QUERY:
        take_command(s, raw, rawlen);
        cmd_query(s, payload + 1, len - 1);
        return;
    case COM_STMT_PREPARE:
        take_command(s, raw, rawlen);
        cmd_prepare(s, payload + 1, len - 1);
        return;
    case COM_STMT_EXECUTE:
        take_command(s, raw, rawlen);
        cmd_execute(s, payload, len);
        return;
    case COM_STMT_FETCH:
        take_command(s, raw, rawlen);
        cmd_fetch(s, payload, len);
        return;
    case COM_STMT_RESET:
        take_command(s, raw, rawlen);
        cmd_reset_stmt(s, payload, len);
        return;
    case COM_STMT_SEND_LONG_DATA:
        cmd_long_data(s, payload, len);
        return;
    case COM_STMT_CLOSE:
        cmd_close_stmt(s, payload, len);
        return;
    case COM_RESET_CONNECTION:
        cmd_reset_connection(s);
        return;
    case COM_PROCESS_KILL:
        if (len >= 5 && kill_router_session(s, wire_le32(payload + 1), false))
            return;
        break;
    case COM_CHANGE_USER:
        cmd_change_user(s, payload, len);
        return;
    default:
        break;
    }
    for (size_t i = 0; i < sizeof passthrough / sizeof passthrough[0]; i++) {
        if (passthrough[i].com != com)
            continue;
        if (len < passthrough[i].min_len) {
            send_errf(s, WERR_UNKNOWN_COM, "malformed command %u: %zu bytes", com, len);
            return;
        }
        take_command(s, raw, rawlen);
        if (can_route(s))
            forward_to(s, choose_side(s, passthrough[i].route), passthrough[i].reply);
        return;
    }
    send_errf(s, WERR_UNKNOWN_COM,
              "Unknown command %u: tablet-router routes application commands, not replication or "
              "administration protocol commands",
              com);
}

/* ---- login ---- */

static void check_login(session *s, const uint8_t *token, size_t token_len)
{
    uint8_t stage2[20];
    bool known = accounts_find(s->env->accts, s->user.buf, s->user.len, stage2);
    if (!known || !wire_native_check(stage2, s->scramble, token, token_len, s->stage1)) {
        sbuf who = SBUF_INIT;
        sbuf_add_printable(&who, s->user.buf, s->user.len, 128);
        log_info("router", "session %u (%s): access denied for %s%s", s->id, s->peer.buf, who.buf,
                 known ? "" : " (no such account in the accounts file)");
        sbuf host = SBUF_INIT;
        const char *colon = strrchr(s->peer.buf, ':');
        sbuf_add(&host, s->peer.buf, colon ? (size_t)(colon - s->peer.buf) : s->peer.len);
        send_errf(s, WERR_ACCESS_DENIED, "Access denied for user '%s'@'%s' (using password: %s)", who.buf, host.buf,
                  token_len ? "YES" : "NO");
        sbuf_free(&who);
        sbuf_free(&host);
        secure_zero(stage2, sizeof stage2);
        close_session(s, false);
        return;
    }
    secure_zero(stage2, sizeof stage2);
    s->authed = true;
    /* Holding: the write side may be fenced any moment (or there are no
     * rules yet, at the router's start): log in after the release. */
    if (s->env->hold.on) {
        s->held_login = true;
        park(s, RESP_SIMPLE);
        return;
    }
    if (!can_route(s)) {
        close_session(s, false);
        return;
    }
    s->state = S_CONNECTING;
    open_backend(s, s->env->write_side);
}

static void on_login(session *s, const uint8_t *p, size_t n)
{
    wire_login l;
    if (wire_parse_login(p, n, &l) != 0) {
        send_errf(s, WERR_BAD_HANDSHAKE, "Bad handshake");
        close_session(s, false);
        return;
    }
    if (l.ssl_request) {
        sbuf err = SBUF_INIT;
        if (!s->env->ssl_ctx || s->state == S_TLS) {
            send_errf(s, WERR_BAD_HANDSHAKE, "Bad handshake: TLS was not offered");
            close_session(s, false);
        } else if (conn_tls_start(&s->c, s->env->ssl_ctx, &err) != 0) {
            log_info("router", "session %u (%s): %s", s->id, s->peer.buf, err.buf);
            close_session(s, false);
        } else {
            s->state = S_TLS;
        }
        sbuf_free(&err);
        return;
    }
    if (s->env->require_tls && !conn_tls_on(&s->c)) {
        send_errf(s, WERR_ACCESS_DENIED, "tablet-router requires TLS: connect with SSL (e.g. --ssl, sslmode=REQUIRED)");
        close_session(s, false);
        return;
    }
    s->caps = l.caps & (WIRE_ROUTER_CAPS | CAP_SSL);
    s->charset = l.charset;
    sbuf_add(&s->user, l.user, l.user_len);
    if (l.db && l.db_len)
        s->db = xstrndup(l.db, l.db_len);
    if (l.attrs)
        sbuf_add(&s->attrs, l.attrs, l.attrs_len);
    s->multi = (s->caps & CAP_MULTI_STATEMENTS) ? 1 : 0;
    if ((l.caps & CAP_PLUGIN_AUTH) && l.plugin &&
        (l.plugin_len != strlen(NATIVE) || memcmp(l.plugin, NATIVE, l.plugin_len) != 0)) {
        /* caching_sha2_password and friends: ask for the native answer. */
        wire_put_auth_switch(&s->out, &s->seq, NATIVE, s->scramble);
        flush_out(s);
        s->state = S_SWITCH;
        return;
    }
    check_login(s, l.auth, l.auth_len);
}

/* ---- input ---- */

/* A whole packet's frames at the front of the input: returns the bytes
 * they take, 0 if incomplete, or -1 (error sent, session closing). The
 * payload of a packet of several frames is reassembled in s->big. */
static long whole_packet(session *s, const uint8_t **payload, size_t *len, uint8_t *last_seq)
{
    const uint8_t *p = conn_data(&s->c);
    size_t avail = conn_avail(&s->c), off = 0, total = 0;
    for (;;) {
        if (avail - off < WIRE_HEADER)
            return 0;
        uint32_t n = wire_frame_len(p + off);
        total += n;
        if (total > s->env->max_packet) {
            s->seq = 1;
            send_errf(s, WERR_PACKET_TOO_BIG,
                      "Got a packet bigger than the router's max-packet (%zu bytes); raise --max-packet",
                      s->env->max_packet);
            close_session(s, false);
            return -1;
        }
        if (avail - off < WIRE_HEADER + (size_t)n)
            return 0;
        *last_seq = p[off + 3];
        off += WIRE_HEADER + n;
        if (n < WIRE_MAX_FRAME)
            break;
    }
    sbuf_reset(&s->big);
    if (off == WIRE_HEADER + total) {
        *payload = p + WIRE_HEADER;
        *len = total;
    } else {
        for (size_t at = 0; at < off;) {
            uint32_t n = wire_frame_len(p + at);
            sbuf_add(&s->big, p + at + WIRE_HEADER, n);
            at += WIRE_HEADER + n;
        }
        *payload = (const uint8_t *)s->big.buf;
        *len = s->big.len;
    }
    return (long)off;
}

/* LOAD DATA LOCAL: the client's file frames go straight to the backend,
 * up to and including the empty frame that ends the file. */
static void stream_infile(session *s)
{
    backend *b = s->bk[s->cmd_side];
    while (s->state == S_INFILE && conn_avail(&s->c) >= WIRE_HEADER) {
        const uint8_t *p = conn_data(&s->c);
        uint32_t n = wire_frame_len(p);
        size_t take = conn_avail(&s->c) < WIRE_HEADER + (size_t)n ? 0 : WIRE_HEADER + n;
        if (!take)
            return;
        if (b)
            backend_write(b, p, take);
        conn_consume(&s->c, take);
        if (n == 0)
            s->state = S_BUSY; /* the server's OK or ERR comes next */
    }
}

static void process_input(session *s)
{
    if (s->processing) {
        s->again = true;
        return;
    }
    s->processing = true;
    do {
        s->again = false;
        while (s->state != S_CLOSING && conn_avail(&s->c)) {
            if (s->state == S_INFILE) {
                stream_infile(s);
                break;
            }
            if (s->state == S_BUSY || s->state == S_CONNECTING || s->state == S_HELD) {
                if (conn_avail(&s->c) > PAUSE_CLIENT_IN)
                    conn_pause(&s->c);
                break;
            }
            const uint8_t *payload;
            size_t len;
            uint8_t last_seq;
            long took = whole_packet(s, &payload, &len, &last_seq);
            if (took <= 0)
                break;
            const uint8_t *raw = conn_data(&s->c);
            s->seq = (uint8_t)(last_seq + 1);
            switch (s->state) {
            case S_GREETED:
            case S_TLS:
                conn_consume(&s->c, (size_t)took);
                on_login(s, payload, len);
                break;
            case S_SWITCH:
                conn_consume(&s->c, (size_t)took);
                s->state = S_GREETED;
                check_login(s, payload, len);
                break;
            case S_READY:
                if (raw[3] != 0) {
                    s->seq = 1;
                    send_errf(s, WERR_OUT_OF_ORDER, "Got packets out of order");
                    close_session(s, false);
                    break;
                }
                dispatch(s, payload, len, raw, (size_t)took);
                conn_consume(&s->c, (size_t)took);
                break;
            default:
                break;
            }
        }
    } while (s->again && s->state != S_CLOSING);
    s->processing = false;
}

/* ---- connection events ---- */

static void on_client_data(conn *c)
{
    process_input(conn_owner(c));
}

static void on_client_drained(conn *c)
{
    session *s = conn_owner(c);
    for (int i = 0; i < SIDES; i++)
        if (s->bk[i])
            backend_resume(s->bk[i]);
}

static void on_client_gone(conn *c, int status)
{
    (void)status;
    session *s = conn_owner(c);
    close_session(s, true);
}

static void on_client_closed(conn *c)
{
    session *s = conn_owner(c);
    settings_clear(s);
    free(s->sets);
    stmts_clear(s);
    sbuf_wipe(&s->user);
    sbuf_free(&s->attrs);
    sbuf_free(&s->peer);
    sbuf_free(&s->fwd.pkt);
    sbuf_free(&s->cmd_err);
    sbuf_free(&s->lost_why);
    sbuf_free(&s->big);
    sbuf_free(&s->out);
    secure_zero(s->stage1, sizeof s->stage1);
    free(s->db);
    free(s);
}

static const conn_ops client_conn_ops = {on_client_data, on_client_drained, on_client_gone, on_client_closed};

/* kill: the client left mid-statement, so the statement is killed too. */
static void close_session(session *s, bool kill)
{
    if (s->state == S_CLOSING)
        return;
    bool busy = s->state == S_BUSY || s->state == S_INFILE;
    if (s->state == S_HELD)
        hold_unpark(&s->env->hold, &s->held);
    s->state = S_CLOSING;
    ryw_session_end(&s->ryw);
    for (int i = 0; i < SIDES; i++) {
        if (!s->bk[i])
            continue;
        if (kill && busy && (side)i == s->cmd_side)
            backend_abort(s->bk[i]);
        else
            backend_close(s->bk[i]);
        s->bk[i] = NULL;
    }
    session_env *env = s->env;
    if (s->prev)
        s->prev->next = s->next;
    else
        env->list = s->next;
    if (s->next)
        s->next->prev = s->prev;
    env->stats.connections--;
    conn_close(&s->c);
    if (env->hold.on)
        drain_check(env);
}

void session_close(session *s)
{
    close_session(s, true);
}

session *session_accept(session_env *env, uv_stream_t *server)
{
    session *s = xcalloc(1, sizeof *s);
    conn_init(&s->c, env->loop, &client_conn_ops, s);
    s->held.resume = held_resume;
    s->held.expire = held_expire;
    if (uv_accept(server, (uv_stream_t *)&s->c.tcp) != 0) {
        s->state = S_CLOSING;
        conn_close(&s->c);
        return NULL;
    }
    s->env = env;
    /* Ids far above the servers' own thread ids, so a KILL names one or
     * the other, never both. */
    s->id = ROUTER_ID_BASE + ++env->next_id % ROUTER_ID_BASE;
    s->last_side = -1;
    ryw_session_init(&s->ryw, env->ryw, s->id, s, ryw_resume);
    conn_peer(&s->c, &s->peer);
    s->next = env->list;
    if (env->list)
        env->list->prev = s;
    env->list = s;
    env->stats.connections++;
    env->stats.connections_total++;

    /* Printable scramble bytes, none of them NUL (the handshake's second
     * part is NUL-terminated). */
    RAND_bytes(s->scramble, sizeof s->scramble);
    for (size_t i = 0; i < sizeof s->scramble; i++)
        s->scramble[i] = (uint8_t)(0x21 + s->scramble[i] % 94);
    s->state = S_GREETED;
    s->status = STATUS_AUTOCOMMIT;

    wire_handshake h = {0};
    h.conn_id = s->id;
    snprintf(h.version, sizeof h.version, "%s", env->server_version);
    memcpy(h.scramble, s->scramble, sizeof s->scramble);
    h.caps = WIRE_ROUTER_CAPS | (env->ssl_ctx ? CAP_SSL : 0);
    h.charset = env->server_charset;
    h.status = STATUS_AUTOCOMMIT;
    snprintf(h.plugin, sizeof h.plugin, "%s", NATIVE);
    wire_put_handshake(&s->out, &h);

    if (env->max_connections && env->stats.connections > env->max_connections) {
        sbuf_reset(&s->out);
        s->seq = 0;
        send_errf(s, WERR_TOO_MANY, "Too many connections (the router's max-connections is %u)",
                  env->max_connections);
        close_session(s, false);
        return NULL;
    }
    if (conn_start(&s->c) != 0) {
        close_session(s, false);
        return NULL;
    }
    flush_out(s);
    return s;
}
