/* rules: follow the control plane's routing rules and report the version
 * applied. See rules.h.
 *
 * Three threads meet in one mutex-guarded struct:
 *   - the watcher (watch_main) holds WatchRouting open, checks each
 *     message and leaves accepted rules in a one-slot mailbox, then wakes
 *     the loop with uv_async_send (wake-ups coalesce; the slot keeps only
 *     the newest rules);
 *   - the loop (on_async) takes the slot and runs the callbacks; a timer
 *     there samples the client count and marks a report due;
 *   - the reporter (report_main) sleeps on a condition variable until a
 *     report is due, and sends it with a short deadline.
 * Stopping sets `stop` and the stream's stop flag, wakes the condition
 * variable and joins: a stream notices within 200 ms (rpc_client polls),
 * a report's deadline is REPORT_TIMEOUT_MS, a backoff sleep wakes at once.
 *
 * The state keeps the cause of a problem, not its sentence: the text
 * ("... serving with rules v7 received 12s ago; retrying") is made when
 * read, so the age in it is current. */
#include "router/rules.h"

#include <stdlib.h>
#include <string.h>

#include "controlplane/v1/routing.pb-c.h"
#include "lib/clock.h"

#define BACKOFF_MIN_MS 200
#define BACKOFF_MAX_MS 5000
#define REPORT_INTERVAL_MS 5000
#define REPORT_TIMEOUT_MS 1000
#define LEAVE_TIMEOUT_MS 300 /* the last report, while stopping */
#define UNANSWERED_MAX 2 /* reports in a row before the stream is presumed dead */
#define CAUSE_MAX 240    /* bytes of a transport's or server's message kept */

#define ROUTING(m) "/controlplane.v1.Routing/" m

/* What is wrong now, as far as the watcher knows. */
typedef enum {
    P_NONE,
    P_CONNECTING,  /* no answer yet since the start */
    P_UNREACHABLE, /* the stream failed or could not start: cause */
    P_ENDED,       /* the control plane ended the stream: cause */
    P_SILENT,      /* reports unanswered while the stream looked open: cause */
    P_INVALID,     /* rules refused: cause */
    P_NO_RULES,    /* version 0: the control plane has no rules for the workflow */
} problem;

struct rules_watch {
    uv_loop_t *loop;
    uv_async_t async;
    uv_timer_t timer;
    uv_thread_t watcher, reporter;
    int open_handles;

    /* Set at start, read-only after. */
    char *control_plane, *workflow, *router_id, *address;
    rpc_client_tls tls;
    bool use_tls;
    unsigned interval_ms;
    rules_watch_cb cb;
    uint32_t (*clients)(void *data);
    void (*on_state)(const rules_watch_state *st, void *data);
    void *data;

    /* The stream's stop flag: set by stop, and by the reporter to make the
     * watcher reconnect. */
    volatile sig_atomic_t stream_stop;

    uv_mutex_t lock; /* guards everything below */
    uv_cond_t wake;  /* the reporter's and the backoff's sleep */
    bool stop;
    /* the watcher's findings */
    bool connected;
    int64_t since_mono_ms;
    problem problem;
    char cause[CAUSE_MAX * 4 + 8]; /* escaped, so up to \xNN per byte */
    router_rules accepted; /* the last rules accepted (version 0: none) */
    int64_t rules_mono_ms;
    bool kicked; /* the reporter ended the stream */
    /* for the loop */
    bool rules_ready, state_dirty;
    /* for the reporter */
    bool report_due;
    uint64_t applied, holding;
    uint32_t clients_now;
    int unanswered;
    char report_error[256];
};

/* ---- modes and checks ------------------------------------------------------------------------ */

/* router_mode mirrors the control plane's Mode, number for number: rules
 * and statuses convert by cast. */
_Static_assert((int)ROUTER_MODE_NONE == (int)CONTROLPLANE__V1__MODE__MODE_UNSPECIFIED &&
                   (int)ROUTER_MODE_SOURCE == (int)CONTROLPLANE__V1__MODE__MODE_SOURCE &&
                   (int)ROUTER_MODE_VALIDATE == (int)CONTROLPLANE__V1__MODE__MODE_VALIDATE &&
                   (int)ROUTER_MODE_PRIMARY == (int)CONTROLPLANE__V1__MODE__MODE_PRIMARY,
               "router_mode and controlplane.v1.Mode differ");

bool router_mode_reads_destination(router_mode m)
{
    return m == ROUTER_MODE_VALIDATE || m == ROUTER_MODE_PRIMARY;
}

bool router_mode_writes_destination(router_mode m)
{
    return m == ROUTER_MODE_PRIMARY;
}

const char *router_mode_name(router_mode m)
{
    static const char *const names[] = {"NONE", "SOURCE", "VALIDATE", "PRIMARY"};
    return (unsigned)m < 4 ? names[m] : "NONE";
}

static bool port_valid(const char *p)
{
    if (!*p || strlen(p) > 5 || *p == '0')
        return false;
    for (const char *q = p; *q; q++)
        if (*q < '0' || *q > '9')
            return false;
    return atoi(p) <= 65535;
}

/* A DNS name or an IPv4 address: labels of letters, digits, '-' and '_'
 * (as resolvers accept), not starting or ending with '-'. */
static bool hostname_valid(const char *h, size_t len)
{
    if (len == 0 || len > 253)
        return false;
    size_t label = 0;
    for (size_t i = 0; i < len; i++) {
        char c = h[i];
        if (c == '.') {
            if (label == 0 || h[i - 1] == '-')
                return false;
            label = 0;
            continue;
        }
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
                  (c == '-' && label > 0);
        if (!ok || ++label > 63)
            return false;
    }
    return h[len - 1] != '-';
}

static bool ipv6_valid(const char *h, size_t len)
{
    if (len < 2 || len > 45)
        return false;
    size_t colons = 0;
    for (size_t i = 0; i < len; i++) {
        char c = h[i];
        colons += c == ':';
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F') || c == ':' || c == '.'))
            return false;
    }
    return colons >= 2;
}

bool rules_address_valid(const char *s)
{
    const char *colon = strrchr(s, ':');
    if (!colon || !port_valid(colon + 1))
        return false;
    size_t hl = (size_t)(colon - s);
    if (hl >= 2 && s[0] == '[' && s[hl - 1] == ']')
        return ipv6_valid(s + 1, hl - 2);
    return hostname_valid(s, hl);
}

/* Copy a string field into a fixed buffer; -1 when it does not fit. */
static int copy_field(char *dst, size_t cap, const char *src)
{
    size_t n = strlen(src);
    if (n >= cap)
        return -1;
    memcpy(dst, src, n + 1);
    return 0;
}

/* src into dst, cut at a character boundary if it does not fit: the
 * state's texts are shown as UTF-8. */
static void copy_utf8(char *dst, size_t cap, const char *src)
{
    size_t n = strlen(src), cut = 0;
    while (cut < n) {
        size_t l = utf8_seq_len((const unsigned char *)src + cut, n - cut);
        l = l ? l : 1;
        if (cut + l >= cap)
            break;
        cut += l;
    }
    memcpy(dst, src, cut);
    dst[cut] = '\0';
}

/* src as a short quoted printable text, for messages. */
static void add_quoted(sbuf *err, const char *s)
{
    sbuf_addc(err, '"');
    sbuf_add_printable(err, s, strlen(s), 80);
    sbuf_addc(err, '"');
}

static int side_check(const char *name, const char *addr, bool needed, router_mode mode, sbuf *err)
{
    if (!*addr && needed) {
        sbuf_setf(err, "mode %s needs the %s's address, and the rules name none", router_mode_name(mode), name);
        return -1;
    }
    if (*addr && !rules_address_valid(addr)) {
        sbuf_setf(err, "the %s's address ", name);
        add_quoted(err, addr);
        sbuf_adds(err, " is not host:port");
        return -1;
    }
    return 0;
}

int rules_decode(const Controlplane__V1__RoutingRules *m, const char *workflow, router_rules *out, sbuf *err)
{
    memset(out, 0, sizeof *out);
    if (strcmp(m->workflow, workflow) != 0) {
        sbuf_setf(err, "they are for workflow ");
        add_quoted(err, m->workflow);
        sbuf_addf(err, ", not %s", workflow);
        return -1;
    }
    if (copy_field(out->workflow, sizeof out->workflow, m->workflow) != 0) {
        sbuf_setf(err, "the workflow name is longer than %zu bytes", sizeof out->workflow - 1);
        return -1;
    }
    out->version = m->version;
    if (m->version == 0)
        return 0; /* no rules yet: nothing else is meaningful */
    if ((int)m->mode < CONTROLPLANE__V1__MODE__MODE_SOURCE || (int)m->mode > CONTROLPLANE__V1__MODE__MODE_PRIMARY) {
        sbuf_setf(err, "mode %d is not one this router knows (SOURCE, VALIDATE, PRIMARY)", (int)m->mode);
        return -1;
    }
    out->mode = (router_mode)m->mode;
    out->detached = m->detached;
    out->hold = m->hold;
    out->updated_at_unix_ms = m->updated_at_unix_ms;
    if (copy_field(out->source, sizeof out->source, m->source) != 0 ||
        copy_field(out->destination, sizeof out->destination, m->destination) != 0) {
        sbuf_setf(err, "an address is longer than %zu bytes", sizeof out->source - 1);
        return -1;
    }
    bool rd = router_mode_reads_destination(out->mode), wd = router_mode_writes_destination(out->mode);
    if (side_check("source", out->source, !rd || !wd, out->mode, err) != 0 ||
        side_check("destination", out->destination, rd || wd, out->mode, err) != 0)
        return -1;
    /* reads and writes are derived from the mode; if sent, they must agree. */
    const char *want_r = rd ? "destination" : "source", *want_w = wd ? "destination" : "source";
    if ((*m->reads && strcmp(m->reads, want_r) != 0) || (*m->writes && strcmp(m->writes, want_w) != 0)) {
        sbuf_setf(err, "mode %s sends reads to the %s and writes to the %s, but the rules say reads ",
                  router_mode_name(out->mode), want_r, want_w);
        add_quoted(err, m->reads);
        sbuf_adds(err, " and writes ");
        add_quoted(err, m->writes);
        return -1;
    }
    return 0;
}

static bool same_rules(const router_rules *a, const router_rules *b)
{
    return a->mode == b->mode && a->detached == b->detached && a->hold == b->hold && strcmp(a->source, b->source) == 0 &&
           strcmp(a->destination, b->destination) == 0;
}

int rules_check_next(const router_rules *prev, const router_rules *next, sbuf *err)
{
    if (prev->version == 0)
        return 0;
    if (next->version < prev->version) {
        sbuf_setf(err, "its version went back from v%llu to v%llu (it may have lost its state, or be an older "
                       "replica; a restarted router would accept it)",
                  (unsigned long long)prev->version, (unsigned long long)next->version);
        return -1;
    }
    if (next->version == prev->version && !same_rules(prev, next)) {
        sbuf_setf(err, "v%llu changed content without a new version", (unsigned long long)next->version);
        return -1;
    }
    return 0;
}

/* ---- state ---------------------------------------------------------------------------------- */

/* With the lock held: a new problem (and connectedness); the loop hears of
 * it when something a reader sees changed. */
static void set_problem(rules_watch *w, bool connected, problem p, const char *cause)
{
    char shown[sizeof w->cause];
    sbuf c = SBUF_INIT;
    sbuf_add_printable(&c, cause ? cause : "", cause ? strlen(cause) : 0, CAUSE_MAX);
    copy_utf8(shown, sizeof shown, sbuf_cstr(&c));
    sbuf_free(&c);
    if (w->connected == connected && w->problem == p && strcmp(w->cause, shown) == 0)
        return;
    if (w->connected != connected)
        w->since_mono_ms = clock_mono_ms();
    w->connected = connected;
    w->problem = p;
    memcpy(w->cause, shown, sizeof shown);
    w->state_dirty = true;
}

/* "serving with rules v7 received 12s ago" or "no rules received yet". */
static void add_serving(const rules_watch *w, int64_t now, sbuf *out)
{
    if (!w->accepted.version) {
        sbuf_adds(out, "no rules received yet");
        return;
    }
    sbuf_addf(out, "serving with rules v%llu received ", (unsigned long long)w->accepted.version);
    sbuf_add_duration(out, (now - w->rules_mono_ms) / 1000);
    sbuf_adds(out, " ago");
}

static void compose_error(const rules_watch *w, sbuf *out)
{
    int64_t now = clock_mono_ms();
    const char *cp = w->control_plane;
    switch (w->problem) {
    case P_NONE:
        return;
    case P_CONNECTING:
        sbuf_addf(out, "connecting to control plane %s; no rules received yet", cp);
        return;
    case P_UNREACHABLE:
        sbuf_addf(out, "control plane %s unreachable (%s); ", cp, w->cause);
        break;
    case P_ENDED:
        sbuf_addf(out, "control plane %s ended the watch (%s); ", cp, w->cause);
        break;
    case P_SILENT:
        sbuf_addf(out, "control plane %s stopped answering (%d reports in a row: %s); ", cp, UNANSWERED_MAX,
                  w->cause);
        break;
    case P_INVALID:
        sbuf_addf(out, "control plane %s sent rules this router refuses: %s; ", cp, w->cause);
        add_serving(w, now, out);
        sbuf_addf(out, "; the rules there need fixing (see them: cpctl routing %s)", w->workflow);
        return;
    case P_NO_RULES:
        sbuf_addf(out, "control plane %s has no routing rules for workflow %s yet; ", cp, w->workflow);
        add_serving(w, now, out);
        sbuf_adds(out, "; they are picked up once registered (cpctl import registers them)");
        return;
    }
    add_serving(w, now, out);
    sbuf_adds(out, "; retrying");
}

/* With the lock held. */
static void state_fill(const rules_watch *w, rules_watch_state *st)
{
    memset(st, 0, sizeof *st);
    st->connected = w->connected;
    st->since_mono_ms = w->since_mono_ms;
    st->last_version = w->accepted.version;
    st->rules_mono_ms = w->rules_mono_ms;
    sbuf e = SBUF_INIT;
    compose_error(w, &e);
    copy_utf8(st->error, sizeof st->error, sbuf_cstr(&e));
    sbuf_free(&e);
    memcpy(st->report_error, w->report_error, sizeof st->report_error);
}

void rules_watch_state_get(rules_watch *w, rules_watch_state *st)
{
    uv_mutex_lock(&w->lock);
    state_fill(w, st);
    uv_mutex_unlock(&w->lock);
}

/* ---- the watcher thread -------------------------------------------------------------------- */

static int on_rules(const ProtobufCMessage *msg, void *data)
{
    rules_watch *w = data;
    router_rules r;
    sbuf err = SBUF_INIT;
    int ok = rules_decode((const void *)msg, w->workflow, &r, &err) == 0;
    uv_mutex_lock(&w->lock);
    bool was_connected = w->connected;
    if (ok && r.version == 0 && w->accepted.version == 0) {
        set_problem(w, true, P_NO_RULES, NULL);
    } else if (!ok || rules_check_next(&w->accepted, &r, &err) != 0) {
        set_problem(w, true, P_INVALID, err.buf);
    } else {
        set_problem(w, true, P_NONE, NULL);
        if (r.version > w->accepted.version) {
            w->accepted = r;
            w->rules_mono_ms = clock_mono_ms();
            w->rules_ready = true;
        }
    }
    if (!was_connected) {
        w->report_due = true; /* a restarted control plane forgot this router */
        w->unanswered = 0;
        uv_cond_broadcast(&w->wake);
    }
    bool wake_loop = w->rules_ready || w->state_dirty;
    uv_mutex_unlock(&w->lock);
    sbuf_free(&err);
    if (wake_loop)
        uv_async_send(&w->async);
    return w->stream_stop != 0;
}

/* Sleep ms unless stopped; true when stopped. */
static bool sleep_unless_stopped(rules_watch *w, unsigned ms)
{
    int64_t until = clock_mono_ms() + ms;
    uv_mutex_lock(&w->lock);
    for (int64_t now; !w->stop && (now = clock_mono_ms()) < until;)
        uv_cond_timedwait(&w->wake, &w->lock, (uint64_t)(until - now) * 1000000u);
    bool stop = w->stop;
    uv_mutex_unlock(&w->lock);
    return stop;
}

static void watch_main(void *arg)
{
    rules_watch *w = arg;
    unsigned backoff = 0, seed = (unsigned)clock_mono_ms() ^ (unsigned)(uintptr_t)w;
    for (;;) {
        uv_mutex_lock(&w->lock);
        if (w->stop) {
            uv_mutex_unlock(&w->lock);
            break;
        }
        w->stream_stop = 0;
        w->kicked = false;
        uv_mutex_unlock(&w->lock);

        sbuf err = SBUF_INIT;
        grpc_status_code st = GRPC_STATUS_UNAVAILABLE;
        bool answered = false;
        rpc_client *c = rpc_client_open(w->control_plane, w->use_tls ? &w->tls : NULL, &err);
        if (c) {
            Controlplane__V1__GetRoutingRequest req = CONTROLPLANE__V1__GET_ROUTING_REQUEST__INIT;
            req.workflow = w->workflow;
            st = rpc_client_stream(c, ROUTING("WatchRouting"), &req.base, &controlplane__v1__routing_rules__descriptor,
                                   on_rules, w, &w->stream_stop, &err);
            answered = rpc_client_last_answered();
            rpc_client_close(c);
        }

        uv_mutex_lock(&w->lock);
        bool stop = w->stop, had_answer = w->connected;
        if (!stop) {
            if (w->kicked)
                set_problem(w, false, P_SILENT, w->report_error);
            else if (st == GRPC_STATUS_OK || answered)
                set_problem(w, false, P_ENDED, st == GRPC_STATUS_OK ? "the stream ended" : err.buf);
            else
                set_problem(w, false, P_UNREACHABLE, err.len ? err.buf : "no answer");
        }
        uv_mutex_unlock(&w->lock);
        sbuf_free(&err);
        if (stop)
            break;
        uv_async_send(&w->async);

        /* A stream that delivered starts the backoff again: that was an
         * outage, not a control plane refusing us over and over. */
        backoff = had_answer || !backoff ? BACKOFF_MIN_MS : backoff * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : backoff * 2;
        unsigned sleep_ms = backoff / 2 + (unsigned)rand_r(&seed) % (backoff / 2 + 1);
        if (sleep_unless_stopped(w, sleep_ms))
            break;
    }
}

/* ---- the reporter thread ------------------------------------------------------------------- */

static void report_main(void *arg)
{
    rules_watch *w = arg;
    rpc_client *c = NULL;
    uv_mutex_lock(&w->lock);
    for (;;) {
        while (!w->stop && !w->report_due)
            uv_cond_wait(&w->wake, &w->lock);
        /* Stopping: a control plane that knows the router hears that it
         * leaves, so a switch does not wait for it to say it holds. */
        bool leaving = w->stop;
        if (leaving && (!c || w->unanswered))
            break;
        w->report_due = false;
        Controlplane__V1__RouterReport req = CONTROLPLANE__V1__ROUTER_REPORT__INIT;
        req.router_id = w->router_id;
        req.address = w->address;
        req.workflow = w->workflow;
        req.applied_version = w->applied;
        req.holding_version = w->holding;
        req.leaving = leaving;
        req.clients = w->clients_now;
        uv_mutex_unlock(&w->lock);

        sbuf err = SBUF_INIT;
        grpc_status_code st = GRPC_STATUS_UNAVAILABLE;
        bool answered = false;
        if (!c)
            c = rpc_client_open(w->control_plane, w->use_tls ? &w->tls : NULL, &err);
        if (c) {
            ProtobufCMessage *reply = NULL;
            st = rpc_client_unary(c, ROUTING("ReportRouter"), &req.base,
                                  &controlplane__v1__router_report_reply__descriptor, &reply,
                                  leaving ? LEAVE_TIMEOUT_MS : REPORT_TIMEOUT_MS, &err);
            answered = rpc_client_last_answered();
            if (reply)
                protobuf_c_message_free_unpacked(reply, NULL);
        }

        char text[sizeof w->report_error] = "";
        if (st != GRPC_STATUS_OK) {
            sbuf e = SBUF_INIT;
            sbuf_add_printable(&e, err.len ? err.buf : "failed", err.len ? err.len : 6, sizeof text);
            copy_utf8(text, sizeof text, e.buf);
            sbuf_free(&e);
        }
        sbuf_free(&err);

        uv_mutex_lock(&w->lock);
        if (leaving)
            break;
        if (strcmp(w->report_error, text) != 0) {
            memcpy(w->report_error, text, sizeof text);
            w->state_dirty = true;
            uv_async_send(&w->async);
        }
        w->unanswered = st == GRPC_STATUS_OK || answered ? 0 : w->unanswered + 1;
        if (w->unanswered >= UNANSWERED_MAX && w->connected && !w->stop) {
            w->kicked = true; /* the watcher reconnects, and says why */
            w->stream_stop = 1;
            w->unanswered = 0;
        }
    }
    uv_mutex_unlock(&w->lock);
    rpc_client_close(c);
}

/* ---- the loop side ------------------------------------------------------------------------- */

static void on_async(uv_async_t *h)
{
    rules_watch *w = h->data;
    rules_watch_state st;
    router_rules r;
    uv_mutex_lock(&w->lock);
    if (w->stop) {
        uv_mutex_unlock(&w->lock);
        return;
    }
    bool have_rules = w->rules_ready, have_state = w->state_dirty;
    if (have_rules)
        r = w->accepted;
    if (have_state)
        state_fill(w, &st);
    w->rules_ready = w->state_dirty = false;
    uv_mutex_unlock(&w->lock);
    if (have_state && w->on_state)
        w->on_state(&st, w->data);
    if (have_rules && !w->stop) /* on_state may have stopped the watch */
        w->cb(&r, w->data);
}

/* A report is due: sample what the loop knows and wake the reporter. */
static void report_now(rules_watch *w)
{
    uint32_t n = w->clients ? w->clients(w->data) : 0;
    uv_mutex_lock(&w->lock);
    w->clients_now = n;
    w->report_due = true;
    uv_cond_broadcast(&w->wake);
    uv_mutex_unlock(&w->lock);
}

static void on_timer(uv_timer_t *t)
{
    report_now(t->data);
}

void rules_watch_applied(rules_watch *w, uint64_t version)
{
    uv_mutex_lock(&w->lock);
    w->applied = version;
    uv_mutex_unlock(&w->lock);
    report_now(w);
    uv_timer_again(&w->timer); /* the next heartbeat a full interval from now */
}

void rules_watch_holding(rules_watch *w, uint64_t version)
{
    uv_mutex_lock(&w->lock);
    bool changed = w->holding != version;
    w->holding = version;
    uv_mutex_unlock(&w->lock);
    if (changed)
        report_now(w); /* a switch waits for this one */
}

rules_watch *rules_watch_start(uv_loop_t *loop, const rules_watch_opts *o, rules_watch_cb cb, void *data, sbuf *err)
{
    const char *address = o->address ? o->address : "";
    const char *id = o->router_id && *o->router_id ? o->router_id : address;
    if (!o->control_plane || !*o->control_plane || !o->workflow || !*o->workflow || !*id || !cb) {
        sbuf_setf(err, "following routing rules needs the control plane's address, a workflow, and the router's "
                       "id or address");
        return NULL;
    }
    if (strlen(o->workflow) >= sizeof ((router_rules *)0)->workflow) {
        sbuf_setf(err, "workflow names are at most %zu bytes", sizeof ((router_rules *)0)->workflow - 1);
        return NULL;
    }
    rules_watch *w = xcalloc(1, sizeof *w);
    w->loop = loop;
    w->control_plane = xstrdup(o->control_plane);
    w->workflow = xstrdup(o->workflow);
    w->router_id = xstrdup(id);
    w->address = xstrdup(address);
    if (o->tls) {
        w->use_tls = true;
        w->tls.ca_file = o->tls->ca_file ? xstrdup(o->tls->ca_file) : NULL;
        w->tls.cert_file = o->tls->cert_file ? xstrdup(o->tls->cert_file) : NULL;
        w->tls.key_file = o->tls->key_file ? xstrdup(o->tls->key_file) : NULL;
    }
    w->interval_ms = o->report_interval_ms ? o->report_interval_ms : REPORT_INTERVAL_MS;
    w->cb = cb;
    w->clients = o->clients;
    w->on_state = o->on_state;
    w->data = data;
    w->problem = P_CONNECTING;
    w->since_mono_ms = clock_mono_ms();
    uv_mutex_init(&w->lock);
    uv_cond_init(&w->wake);
    uv_async_init(loop, &w->async, on_async);
    uv_timer_init(loop, &w->timer);
    w->async.data = w->timer.data = w;
    w->open_handles = 2;
    /* The first report at once: the control plane learns of the router
     * before it has rules to apply. */
    uv_timer_start(&w->timer, on_timer, 0, w->interval_ms);
    uv_thread_create(&w->watcher, watch_main, w);
    uv_thread_create(&w->reporter, report_main, w);
    return w;
}

static void on_closed(uv_handle_t *h)
{
    rules_watch *w = h->data;
    if (--w->open_handles)
        return;
    uv_cond_destroy(&w->wake);
    uv_mutex_destroy(&w->lock);
    free(w->control_plane);
    free(w->workflow);
    free(w->router_id);
    free(w->address);
    free((char *)w->tls.ca_file);
    free((char *)w->tls.cert_file);
    free((char *)w->tls.key_file);
    free(w);
}

void rules_watch_stop(rules_watch *w)
{
    if (!w)
        return;
    uv_mutex_lock(&w->lock);
    w->stop = true;
    w->stream_stop = 1;
    uv_cond_broadcast(&w->wake);
    uv_mutex_unlock(&w->lock);
    uv_thread_join(&w->watcher);
    uv_thread_join(&w->reporter);
    uv_timer_stop(&w->timer);
    uv_close((uv_handle_t *)&w->timer, on_closed);
    uv_close((uv_handle_t *)&w->async, on_closed);
}
