/* position: the forward stream's applied position, polled on the
 * destination while reads wait for it. See position.h.
 *
 * States: the monitor connection is opened on first need and kept; a poll
 * is one COM_QUERY whose reply is kept (bk_cmd.keep_reply) and read with
 * wire_first_value. "down" holds an error and a time before which nobody
 * should wait; the connection may still be fine (a missing grant or row is
 * an answer, not a broken link). A 1 ms repeating timer runs only while
 * someone waits: it sends the next poll when none is in flight and the
 * last answer is at least 1 ms old, gives up on a poll that hangs, and
 * runs the waiters' checks, which is also how their deadlines pass. */
#include "router/position.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "lib/clock.h"
#include "lib/log.h"
#include "router/backend.h"
#include "router/wire.h"

#define POLL_GAP_MS 1      /* at least this between one answer and the next poll */
#define DOWN_RETRY_MS 1000 /* after a failure, nobody waits for this long */

struct position {
    uv_loop_t *loop;
    uv_timer_t tick;
    bool ticking;
    sbuf user;
    int (*stage1)(void *arg, uint8_t stage1[20], sbuf *err);
    void *stage1_arg;
    unsigned timeout_ms;
    const backend_tls *tls;
    char *address;
    char *stream, *sidecar;
    sbuf sql; /* the poll's payload: COM_QUERY and its text */
    backend *bk;
    bool polling;
    uint64_t poll_started_ms, last_reply_ms; /* loop time (uv_now) */
    gtid_set *applied; /* the last position read; NULL before the first */
    bool down, ever_up;
    int64_t down_until_ms;
    sbuf why; /* while down: what failed */
    position_waiter *head, *tail;
    void (*closed)(void *);
    void *closed_arg;
    bool closing;
};

gtid_set *position_parse_gtids(const char *text, size_t len)
{
    sbuf t = SBUF_INIT, err = SBUF_INIT;
    sbuf_add(&t, text, len);
    gtid_set *g = NULL;
    if (!memchr(text, 0, len) && gtid_set_parse(FLAVOR_MARIADB, t.len ? t.buf : "", &g, &err) != 0) {
        sbuf_reset(&err);
        gtid_set_parse(FLAVOR_MYSQL, t.buf, &g, &err);
    }
    sbuf_free(&t);
    sbuf_free(&err);
    return g;
}

/* ---- failing and working ---- */

static void set_down(position *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void set_down(position *p, const char *fmt, ...)
{
    sbuf why = SBUF_INIT;
    va_list ap;
    va_start(ap, fmt);
    sbuf_vaddf(&why, fmt, ap);
    va_end(ap);
    if (!p->down || strcmp(why.buf, p->why.buf) != 0)
        log_warn("router", "read-your-writes: %s; until this works, a read after a write goes to the source "
                           "(tried again each second while needed)", why.buf);
    sbuf_reset(&p->why);
    sbuf_add(&p->why, why.buf, why.len);
    sbuf_free(&why);
    p->down = true;
    p->down_until_ms = clock_mono_ms() + DOWN_RETRY_MS;
}

static void set_up(position *p)
{
    if (p->down || !p->ever_up)
        log_info("router", "read-your-writes: the destination (%s) shows what the forward stream %s has applied "
                           "(%s.streams, read as %s)", p->address, p->stream, p->sidecar, p->user.buf);
    p->down = false;
    p->ever_up = true;
    sbuf_reset(&p->why);
}

/* Every waiter looks again. A check may end its own wait (unlink itself)
 * and nothing else, so the next one is taken first. */
static void check_all(position *p)
{
    for (position_waiter *w = p->head, *next; w; w = next) {
        next = w->next;
        w->check(w);
    }
}

/* ---- the monitor connection ---- */

static void mon_failed(backend *b, void *owner, uint16_t code, const char *sqlstate, const char *why)
{
    (void)b;
    (void)sqlstate;
    position *p = owner;
    if (!p->polling) {
        /* Idle (the server's wait_timeout, a restart): reopened on next use. */
        log_info("router", "read-your-writes: the monitor connection closed while idle (%s); it reopens when needed",
                 why);
        return;
    }
    if (code == 1045)
        set_down(p, "the monitor account cannot log in to the destination: %s (check monitor-user and "
                    "monitor-password-file, read when the router starts; the account needs mysql_native_password)",
                 why);
    else
        set_down(p, "the monitor connection to the destination: %s", why);
}

static const backend_ops monitor_ops = {NULL, mon_failed, NULL, NULL, NULL};

static void on_tick(uv_timer_t *t);

static void poll_done(backend *b, bk_cmd *cmd, bk_outcome how, const resp_parser *r)
{
    (void)b;
    position *p = cmd->arg;
    p->polling = false;
    p->last_reply_ms = uv_now(p->loop);
    if (p->ticking) /* the next tick, and so the next poll, 1 ms from now */
        uv_timer_start(&p->tick, on_tick, POLL_GAP_MS, POLL_GAP_MS);
    if (how != BK_REPLIED) {
        if (!p->down)
            set_down(p, "lost the monitor connection to the destination (%s)", p->address);
    } else if (r->failed) {
        bool grant = r->err_code == 1142 || r->err_code == 1143 || r->err_code == 1044;
        set_down(p, "the destination refused the position query as %s: %s%s%s%s%s", p->user.buf, r->err_msg,
                 grant ? " (on the destination: GRANT SELECT ON `" : "", grant ? p->sidecar : "",
                 grant ? "`.`streams` TO the monitor account" : "", grant ? ")" : "");
    } else {
        const uint8_t *v = NULL;
        size_t n = 0;
        int got = wire_first_value((const uint8_t *)cmd->kept.buf, cmd->kept.len, &v, &n);
        gtid_set *g = got == 1 && v ? position_parse_gtids((const char *)v, n) : NULL;
        if (got < 0) {
            set_down(p, "the destination's answer to the position query cannot be read");
        } else if (got == 0 || !v) {
            set_down(p, "%s.streams on the destination has no row for the stream %s: is the import named so "
                        "(--workflow), and its forward stream started?", p->sidecar, p->stream);
        } else if (!g) {
            sbuf t = SBUF_INIT;
            sbuf_add_printable(&t, v, n, 200);
            set_down(p, "the forward stream's position \"%s\" is not a GTID set", t.buf);
            sbuf_free(&t);
        } else {
            gtid_set_free(p->applied);
            p->applied = g;
            set_up(p);
        }
    }
    check_all(p);
}

/* The password for a new login, asked of the owner each time; when it
 * cannot be had the position is down (said) and waiters are told. */
static int login_stage1(position *p, uint8_t stage1[20])
{
    sbuf why = SBUF_INIT;
    int rc = p->stage1(p->stage1_arg, stage1, &why);
    if (rc != 0) {
        set_down(p, "the monitor account's password: %s", why.buf);
        check_all(p);
    }
    sbuf_free(&why);
    return rc;
}

static void poll_now(position *p)
{
    if (p->polling || p->closing || !p->address || !*p->address)
        return;
    if (p->bk && backend_failed(p->bk)) {
        backend_close(p->bk);
        p->bk = NULL;
    }
    uint8_t stage1[20];
    if (!p->bk && login_stage1(p, stage1) != 0)
        return;
    p->polling = true; /* before the connection, whose failure may be said at once */
    p->poll_started_ms = uv_now(p->loop);
    if (!p->bk) {
        backend_login l = {0};
        l.user = p->user.buf;
        l.user_len = p->user.len;
        l.stage1 = stage1; /* copied */
        l.charset = 45; /* utf8mb4 */
        l.caps = CAP_LONG_PASSWORD | CAP_LONG_FLAG | CAP_PROTOCOL_41 | CAP_TRANSACTIONS | CAP_SECURE_CONNECTION |
                 CAP_PLUGIN_AUTH;
        l.timeout_ms = p->timeout_ms;
        l.tls = p->tls;
        p->bk = backend_open(p->loop, SIDE_DESTINATION, p->address, &l, &monitor_ops, p);
        secure_zero(stage1, sizeof stage1);
    }
    bk_cmd *cmd = bk_cmd_new(RESP_QUERY, poll_done, p);
    cmd->keep_reply = true;
    uint8_t seq = 0;
    wire_frame(&cmd->pkt, p->sql.buf, p->sql.len, &seq);
    backend_send(p->bk, cmd); /* on a broken backend, poll_done runs now */
}

/* ---- waiting ---- */

static void on_tick(uv_timer_t *t)
{
    position *p = t->data;
    uint64_t now = uv_now(p->loop);
    if (p->polling && now - p->poll_started_ms > p->timeout_ms) {
        /* Its done will never run: the backend goes with the command. */
        backend_close(p->bk);
        p->bk = NULL;
        p->polling = false;
        set_down(p, "the destination (%s) did not answer the position query within %u ms", p->address,
                 p->timeout_ms);
    }
    if (!p->polling && !p->down && now - p->last_reply_ms >= POLL_GAP_MS)
        poll_now(p);
    check_all(p);
}

void position_wait(position *p, position_waiter *w)
{
    if (w->linked)
        return;
    w->linked = true;
    w->next = NULL;
    w->prev = p->tail;
    if (p->tail)
        p->tail->next = w;
    else
        p->head = w;
    p->tail = w;
    if (!p->ticking) {
        p->ticking = true;
        uv_timer_start(&p->tick, on_tick, POLL_GAP_MS, POLL_GAP_MS);
    }
    if (!p->polling && !p->down && uv_now(p->loop) - p->last_reply_ms >= POLL_GAP_MS)
        poll_now(p);
}

void position_cancel(position *p, position_waiter *w)
{
    if (!w->linked)
        return;
    if (w->prev)
        w->prev->next = w->next;
    else
        p->head = w->next;
    if (w->next)
        w->next->prev = w->prev;
    else
        p->tail = w->prev;
    w->prev = w->next = NULL;
    w->linked = false;
    if (!p->head && p->ticking) {
        p->ticking = false;
        uv_timer_stop(&p->tick);
    }
}

bool position_usable(position *p)
{
    if (!p->address || !*p->address)
        return false;
    if (!p->down)
        return true;
    if (clock_mono_ms() >= p->down_until_ms)
        poll_now(p); /* try again; until it answers, nobody waits */
    return false;
}

bool position_covers(const position *p, const gtid_set *want)
{
    return p->applied && gtid_set_contains(p->applied, want);
}

void position_probe(position *p)
{
    poll_now(p);
}

/* ---- lifecycle ---- */

static void add_ident(sbuf *sb, const char *name)
{
    sbuf_addc(sb, '`');
    for (const char *c = name; *c; c++) {
        if (*c == '`')
            sbuf_addc(sb, '`');
        sbuf_addc(sb, *c);
    }
    sbuf_addc(sb, '`');
}

position *position_new(uv_loop_t *loop, const position_opts *o)
{
    position *p = xcalloc(1, sizeof *p);
    p->loop = loop;
    uv_timer_init(loop, &p->tick);
    p->tick.data = p;
    sbuf_adds(&p->user, o->user);
    p->stage1 = o->stage1;
    p->stage1_arg = o->stage1_arg;
    p->tls = o->tls;
    p->timeout_ms = o->connect_timeout_ms ? o->connect_timeout_ms : 5000;
    p->stream = xstrdup(o->stream);
    p->sidecar = xstrdup(o->sidecar);
    p->address = xstrdup("");
    /* The name as a hex literal: no quoting rules to get wrong, and the
     * column is VARBINARY. */
    sbuf_addc(&p->sql, COM_QUERY);
    sbuf_adds(&p->sql, "SELECT gtid FROM ");
    add_ident(&p->sql, o->sidecar);
    sbuf_adds(&p->sql, ".`streams` WHERE name = X'");
    for (const unsigned char *c = (const unsigned char *)o->stream; *c; c++)
        sbuf_addf(&p->sql, "%02x", *c);
    sbuf_addc(&p->sql, '\'');
    return p;
}

void position_set_address(position *p, const char *address)
{
    if (strcmp(p->address, address) == 0)
        return;
    free(p->address);
    p->address = xstrdup(address);
    if (p->bk) {
        backend_close(p->bk); /* a poll in flight goes with it */
        p->bk = NULL;
    }
    p->polling = false;
    p->down = false;
    gtid_set_free(p->applied); /* another server: nothing known of it */
    p->applied = NULL;
}

static void tick_closed(uv_handle_t *h)
{
    position *p = h->data;
    void (*done)(void *) = p->closed;
    void *arg = p->closed_arg;
    sbuf_free(&p->user);
    sbuf_free(&p->sql);
    sbuf_free(&p->why);
    free(p->address);
    free(p->stream);
    free(p->sidecar);
    gtid_set_free(p->applied);
    free(p);
    if (done)
        done(arg);
}

void position_close(position *p, void (*done)(void *), void *arg)
{
    p->closing = true;
    p->closed = done;
    p->closed_arg = arg;
    if (p->bk) {
        backend_close(p->bk);
        p->bk = NULL;
    }
    uv_close((uv_handle_t *)&p->tick, tick_closed);
}
