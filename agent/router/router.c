/* router: listener, shared state, rules, accounts, probes. See router.h.
 *
 * Everything here runs on the loop thread. Rules change session_env in
 * place: sessions read it for every command, so a new mode applies from
 * each session's next statement (a statement in flight finishes where it
 * started; a transaction stays where it is open, see session.c).
 *
 * Read-your-writes (ryw.h): the router owns the shared part and the
 * monitor connection (position.h), whose address follows the rules' destination.
 *
 * Accounts: libuv's fs poll stats the file every second (a Kubernetes
 * Secret is a symlink swapped on update, which a stat sees and an inotify
 * on the old target may not); a change is read and parsed on the thread
 * pool and swapped in on the loop. A file that does not parse leaves the
 * old accounts in place and says why in the log. */
#include "router/router.h"

#include <openssl/err.h>
#include <stddef.h>
#include <openssl/ssl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/clock.h"
#include "lib/http_metrics.h"
#include "lib/log.h"
#include "router/accounts.h"
#include "router/conn.h"
#include "router/router_metrics.h"
#include "router/position.h"
#include "router/router_status.h"
#include "router/rules.h"
#include "router/session.h"
#include "router/wire.h"

#define DEFAULT_VERSION "10.11.0-MariaDB-tablet-router"

/* A look at a server: connect, read its greeting, hang up. */
typedef struct probe {
    conn c;
    router *rt;
    side s;
    uv_connect_t req;
    uv_timer_t timer;
    bool done;
    int handles; /* the socket and the timer, until libuv closed both */
} probe;

typedef struct server_view {
    bool up, seen;
    char version[96];
    uint8_t charset;
    sbuf error;
    int64_t checked_mono_ms;
} server_view;

struct router {
    uv_loop_t *loop;
    const router_config *cfg;
    uv_tcp_t listener;
    session_env env;
    accounts *accts;
    uv_fs_poll_t accounts_poll;
    uv_work_t reload;
    bool reloading;
    sbuf reload_text, reload_err;
    accounts *reload_result;
    SSL_CTX *ssl;
    backend_tls backend_tls; /* its ctx: an SSL_CTX * in the client role, or NULL */
    uv_timer_t probe_timer;
    probe *probes[SIDES];
    server_view servers[SIDES];
    /* The rules applied, from the control plane (watch) or fixed. */
    router_rules rules;
    rules_watch *watch;
    char *router_id;
    rpc_server *status;
    router_status_service status_svc;
    http_metrics *metrics;
    /* What a status reply points into, valid while it is built. */
    router_status_route st_route;
    rules_watch_state st_watch;
    router_status_backend st_backends[SIDES];
    int64_t started_ms;
    uint64_t hold_over_version; /* a hold that ended by itself is not taken up again */
    /* Read-your-writes. */
    ryw_env ryw;
    position *pos;
    /* The router is freed when nothing refers to it: the running router
     * itself (until router_stop), each handle until closed, each probe,
     * an accounts reload in flight. */
    int refs;
    bool stopping;
    void (*stopped)(void *);
    void *stopped_arg;
};

static void on_probe_timer(uv_timer_t *t);

/* ---- rules ---- */

static void set_address(router *rt, side s, const char *from_rules)
{
    const char *cfg = s == SIDE_SOURCE ? rt->cfg->source : rt->cfg->destination;
    const char *addr = *cfg ? cfg : from_rules;
    free(rt->env.address[s]);
    rt->env.address[s] = xstrdup(addr ? addr : "");
}

/* Stop holding (new rules, or none to be had): what waited goes on. */
static void release(router *rt)
{
    session_env *env = &rt->env;
    if (!env->hold.on)
        return;
    int64_t held_ms = clock_mono_ms() - env->hold.began_mono_ms;
    uint32_t waiting = env->hold.stats.held;
    session_hold_end(env);
    log_info("router", "hold v%llu released after %lld ms: %u waiting statement(s) or login(s) go on",
             (unsigned long long)env->hold.version, (long long)held_ms, waiting);
    if (rt->watch)
        rules_watch_holding(rt->watch, 0);
}

/* Apply rules: which side reads, which writes, where each server is.
 * Sessions read env for every command, so this takes effect from each
 * session's next statement. */
static void apply_rules(router *rt, const router_rules *r)
{
    session_env *env = &rt->env;
    rt->rules = *r;
    set_address(rt, SIDE_SOURCE, r->source);
    set_address(rt, SIDE_DESTINATION, r->destination);
    if (r->mode == ROUTER_MODE_NONE) {
        env->have_rules = false;
        env->no_rules_why = "the control plane has no routing rules for the workflow yet";
        log_warn("router", "workflow %s has no routing rules yet: clients are refused until it has", r->workflow);
        release(rt);
        return;
    }
    env->read_side = router_mode_reads_destination(r->mode) ? SIDE_DESTINATION : SIDE_SOURCE;
    env->write_side = router_mode_writes_destination(r->mode) ? SIDE_DESTINATION : SIDE_SOURCE;
    env->have_rules = *env->address[env->read_side] && *env->address[env->write_side];
    if (rt->pos) {
        position_set_address(rt->pos, env->address[SIDE_DESTINATION]);
        if (env->have_rules && env->read_side != env->write_side)
            position_probe(rt->pos); /* a missing grant or row shows in the log now */
    }
    env->no_rules_why = env->have_rules ? NULL : "the rules name no address for a server they use";
    bool holding = r->hold && r->version != rt->hold_over_version;
    log_info("router", "rules v%llu %s%s%s: reads to the %s (%s), writes to the %s (%s)",
             (unsigned long long)r->version, router_mode_name(r->mode), r->detached ? " (detached)" : "",
             holding ? " (hold)" : "", side_name(env->read_side), env->address[env->read_side],
             side_name(env->write_side), env->address[env->write_side]);
    /* Released after the sides changed, so what waited goes to the new one. */
    if (holding)
        session_hold_begin(env, r->version);
    else
        release(rt);
    /* Look at the servers now: the version clients are shown comes from
     * the write side. */
    on_probe_timer(&rt->probe_timer);
}

static void on_rules(const router_rules *r, void *data)
{
    router *rt = data;
    if (rt->stopping)
        return;
    apply_rules(rt, r);
    rules_watch_applied(rt->watch, r->version);
}

static void on_drained(void *owner)
{
    router *rt = owner;
    if (rt->env.hold.version == 0)
        return; /* the wait for the first rules: nothing to report */
    log_info("router", "hold v%llu: nothing open on the %s after %lld ms: holding", (unsigned long long)rt->env.hold.version,
             side_name(rt->env.write_side), (long long)(clock_mono_ms() - rt->env.hold.began_mono_ms));
    if (rt->watch)
        rules_watch_holding(rt->watch, rt->env.hold.version);
}

static void on_hold_over(void *owner)
{
    router *rt = owner;
    rt->hold_over_version = rt->env.hold.version;
    if (rt->watch)
        rules_watch_holding(rt->watch, 0);
}

static void on_watch_state(const rules_watch_state *st, void *data)
{
    router *rt = data;
    if (st->error[0])
        log_warn("router", "control plane: %s", st->error);
    else if (st->connected)
        log_info("router", "control plane %s: following workflow %s", rt->cfg->control_plane, rt->cfg->workflow);
}

static uint32_t client_count(void *data)
{
    return ((router *)data)->env.stats.connections;
}

/* Fixed rules from the settings (--mode), for a setup without a control plane. */
static void fixed_rules(router *rt)
{
    router_rules r = {0};
    const char *m = rt->cfg->mode;
    r.mode = strcmp(m, "source") == 0 ? ROUTER_MODE_SOURCE
             : strcmp(m, "validate") == 0 ? ROUTER_MODE_VALIDATE
                                          : ROUTER_MODE_PRIMARY;
    snprintf(r.workflow, sizeof r.workflow, "%s", *rt->cfg->workflow ? rt->cfg->workflow : "(fixed)");
    snprintf(r.source, sizeof r.source, "%s", rt->cfg->source);
    snprintf(r.destination, sizeof r.destination, "%s", rt->cfg->destination);
    apply_rules(rt, &r);
}

/* ---- status ---- */

static void status_fill(router_status *st, void *data)
{
    router *rt = data;
    router_status_route *route = &rt->st_route;
    router_status_backend *backends = rt->st_backends;
    uint32_t conns[SIDES];
    session_count_backends(&rt->env, conns);
    route->rules = &rt->rules;
    route->watch = NULL;
    if (rt->watch) {
        rules_watch_state_get(rt->watch, &rt->st_watch);
        route->watch = &rt->st_watch;
    }
    for (int i = 0; i < SIDES; i++) {
        server_view *v = &rt->servers[i];
        backends[i] = (router_status_backend){side_name((side)i), rt->env.address[i], conns[i], v->up,
                                              v->seen && !v->up ? v->error.buf : ""};
    }
    st->router_id = rt->router_id;
    st->listen = rt->cfg->listen;
    st->started_mono_ms = rt->started_ms;
    st->client_connections = rt->env.stats.connections;
    st->routes = route;
    st->n_routes = 1;
    st->backends = backends;
    st->n_backends = SIDES;
    st->statements_source = rt->env.stats.statements[SIDE_SOURCE];
    st->statements_destination = rt->env.stats.statements[SIDE_DESTINATION];
    st->statements_total = rt->env.stats.commands;
    st->errors_total = rt->env.stats.errors;
    st->ryw = &rt->env.stats.ryw;
}

static int status_start(router *rt, sbuf *err)
{
    if (!*rt->cfg->status_listen)
        return 0;
    rt->status_svc = (router_status_service){status_fill, rt};
    rt->status = rpc_server_new(rt->loop, &rt->status_svc);
    if (rpc_server_listen(rt->status, rt->cfg->status_listen, NULL, router_status_methods, router_status_nmethods,
                          err) != 0 ||
        rpc_server_start(rt->status, err) != 0) {
        rpc_server_shutdown(rt->status, 0, NULL, NULL);
        rt->status = NULL;
        return -1;
    }
    return 0;
}

/* The same snapshot as GetStatus, as Prometheus text (on the loop). */
static void metrics_render(sbuf *out, void *data)
{
    router *rt = data;
    router_status st = {0};
    status_fill(&st, rt);
    router_metrics_render(&st, &rt->env.stats, &rt->env.hold.stats, out);
}

/* ---- probes ---- */

static void unref(router *rt);

static void probe_release(probe *p)
{
    if (--p->handles > 0)
        return;
    router *rt = p->rt;
    rt->probes[p->s] = NULL;
    free(p);
    unref(rt);
}

static void probe_timer_closed(uv_handle_t *h)
{
    probe_release(h->data);
}

static void probe_finish(probe *p, const char *error, const wire_handshake *h)
{
    if (p->done)
        return;
    p->done = true;
    server_view *v = &p->rt->servers[p->s];
    v->seen = true;
    v->checked_mono_ms = clock_mono_ms();
    sbuf_reset(&v->error);
    if (h) {
        if (!v->up)
            log_info("router", "the %s (%s) answers: %s", side_name(p->s), p->rt->env.address[p->s], h->version);
        v->up = true;
        snprintf(v->version, sizeof v->version, "%s", h->version);
        v->charset = h->charset;
        session_env *env = &p->rt->env;
        if (p->s == env->write_side && !*p->rt->cfg->server_version) {
            snprintf(env->server_version, sizeof env->server_version, "%s", h->version);
            env->server_charset = h->charset;
        }
    } else {
        if (v->up)
            log_warn("router", "the %s (%s) does not answer: %s", side_name(p->s), p->rt->env.address[p->s], error);
        v->up = false;
        sbuf_adds(&v->error, error);
    }
    uv_timer_stop(&p->timer);
    conn_close(&p->c);
    uv_close((uv_handle_t *)&p->timer, probe_timer_closed);
}

static void probe_data(conn *c)
{
    probe *p = conn_owner(c);
    const uint8_t *d = conn_data(c);
    size_t n = conn_avail(c);
    if (n < WIRE_HEADER || n < WIRE_HEADER + (size_t)wire_frame_len(d))
        return;
    wire_handshake h;
    wire_error e;
    if (d[WIRE_HEADER] == 0xff && wire_parse_err(d + WIRE_HEADER, wire_frame_len(d), &e) == 0) {
        sbuf why = SBUF_INIT;
        sbuf_adds(&why, "refused: ");
        sbuf_add_printable(&why, e.msg, e.msg_len, 200);
        probe_finish(p, why.buf, NULL);
        sbuf_free(&why);
    } else if (wire_parse_handshake(d + WIRE_HEADER, wire_frame_len(d), &h) != 0) {
        probe_finish(p, "not a MySQL server (no protocol 10 greeting)", NULL);
    } else {
        probe_finish(p, NULL, &h);
    }
    conn_consume(c, n);
}

static void probe_gone(conn *c, int status)
{
    probe_finish(conn_owner(c), status == UV_EOF ? "closed the connection at once" : uv_strerror(status), NULL);
}

static void probe_closed(conn *c)
{
    probe_release(conn_owner(c));
}

static const conn_ops probe_ops = {probe_data, NULL, probe_gone, probe_closed};

static void probe_connected(uv_connect_t *req, int status)
{
    probe *p = req->data;
    if (p->done)
        return;
    if (status < 0) {
        probe_finish(p, uv_strerror(status), NULL);
        return;
    }
    conn_start(&p->c);
}

static void probe_timeout(uv_timer_t *t)
{
    probe_finish(t->data, "no greeting within the connect timeout", NULL);
}

static void probe_side(router *rt, side s)
{
    const char *addr = rt->env.address[s];
    if (rt->probes[s] || !addr || !*addr)
        return;
    char host[256] = "", port[16] = "";
    const char *colon = strrchr(addr, ':');
    struct sockaddr_storage ss;
    if (colon) {
        size_t hl = (size_t)(colon - addr);
        if (hl >= 2 && addr[0] == '[')
            addr++, hl -= 2;
        if (hl < sizeof host) {
            memcpy(host, addr, hl);
            host[hl] = '\0';
        }
        snprintf(port, sizeof port, "%s", colon + 1);
    }
    if (uv_ip4_addr(host, atoi(port), (struct sockaddr_in *)&ss) != 0 &&
        uv_ip6_addr(host, atoi(port), (struct sockaddr_in6 *)&ss) != 0)
        return; /* names: sessions resolve them; the probe only looks at literal addresses */
    probe *p = xcalloc(1, sizeof *p);
    p->rt = rt;
    p->s = s;
    p->handles = 2;
    rt->refs++;
    rt->probes[s] = p;
    conn_init(&p->c, rt->loop, &probe_ops, p);
    uv_timer_init(rt->loop, &p->timer);
    p->timer.data = p;
    uv_timer_start(&p->timer, probe_timeout, rt->cfg->connect_timeout_ms, 0);
    p->req.data = p;
    int rc = uv_tcp_connect(&p->req, &p->c.tcp, (struct sockaddr *)&ss, probe_connected);
    if (rc < 0)
        probe_finish(p, uv_strerror(rc), NULL);
}

static void on_probe_timer(uv_timer_t *t)
{
    router *rt = t->data;
    for (int i = 0; i < SIDES; i++)
        probe_side(rt, (side)i);
}

/* ---- accounts ---- */

static int load_accounts(router *rt, sbuf *err)
{
    sbuf text = SBUF_INIT, why = SBUF_INIT;
    if (sbuf_read_file(&text, rt->cfg->accounts_file, &why) != 0) {
        sbuf_setf(err, "accounts-file: %s (the router checks every login against it)", why.buf);
        sbuf_free(&why);
        sbuf_free(&text);
        return -1;
    }
    sbuf_free(&why);
    accounts *a = accounts_parse(text.buf, text.len, rt->cfg->accounts_file, err);
    sbuf_wipe(&text);
    if (!a)
        return -1;
    accounts_free(rt->accts);
    rt->accts = a;
    rt->env.accts = a;
    return 0;
}

static void reload_work(uv_work_t *w)
{
    router *rt = w->data;
    sbuf_reset(&rt->reload_err);
    if (sbuf_read_file(&rt->reload_text, rt->cfg->accounts_file, &rt->reload_err) == 0)
        rt->reload_result =
            accounts_parse(rt->reload_text.buf, rt->reload_text.len, rt->cfg->accounts_file, &rt->reload_err);
    sbuf_wipe(&rt->reload_text);
}

static void reload_done(uv_work_t *w, int status)
{
    router *rt = w->data;
    rt->reloading = false;
    if (rt->stopping) {
        accounts_free(rt->reload_result);
        rt->reload_result = NULL;
        unref(rt);
        return;
    }
    if (status == 0 && rt->reload_result) {
        accounts_free(rt->accts);
        rt->accts = rt->reload_result;
        rt->env.accts = rt->accts;
        log_info("router", "accounts file re-read: %zu accounts", accounts_count(rt->accts));
    } else if (status == 0) {
        log_warn("router", "accounts file changed but cannot be used (%s); keeping the %zu accounts loaded before",
                 rt->reload_err.buf, accounts_count(rt->accts));
    }
    rt->reload_result = NULL;
    unref(rt);
}

static void on_accounts_changed(uv_fs_poll_t *h, int status, const uv_stat_t *prev, const uv_stat_t *curr)
{
    (void)prev;
    (void)curr;
    router *rt = h->data;
    if (status < 0) {
        log_warn("router", "cannot look at the accounts file %s: %s; keeping the accounts loaded before",
                 rt->cfg->accounts_file, uv_strerror(status));
        return;
    }
    if (rt->reloading)
        return;
    rt->reloading = true;
    rt->reload.data = rt;
    rt->refs++;
    if (uv_queue_work(rt->loop, &rt->reload, reload_work, reload_done) != 0) {
        rt->reloading = false;
        rt->refs--;
    }
}

/* ---- TLS ---- */

/* OpenSSL's reason for the last failure, in words. */
static void add_ssl_error(sbuf *err)
{
    char buf[256];
    ERR_error_string_n(ERR_get_error(), buf, sizeof buf);
    sbuf_adds(err, buf);
}

/* A certificate chain and its key into ctx; -1 with err naming the
 * setting (what), both files and OpenSSL's reason. */
static int ctx_use_cert(SSL_CTX *ctx, const char *what, const char *cert, const char *key, sbuf *err)
{
    if (SSL_CTX_use_certificate_chain_file(ctx, cert) == 1 &&
        SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) == 1 && SSL_CTX_check_private_key(ctx) == 1)
        return 0;
    sbuf_setf(err, "cannot use the certificate %s and key %s (%s): ", cert, key, what);
    add_ssl_error(err);
    return -1;
}

/* TLS toward the servers, per backend-tls: one client context for every
 * backend connection (certificates checked only in the verify modes). */
static int backend_tls_setup(router *rt, sbuf *err)
{
    const router_config *cfg = rt->cfg;
    backend_tls *t = &rt->backend_tls;
    backend_tls_mode_parse(cfg->backend_tls, &t->mode); /* checked with the settings */
    rt->env.backend_tls = t;
    if (t->mode == BK_TLS_OFF)
        return 0;
    SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
    if (!ctx) {
        sbuf_setf(err, "cannot start TLS toward the servers: out of memory in OpenSSL");
        return -1;
    }
    t->ctx = ctx;
    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
    if (*cfg->backend_tls_cert &&
        ctx_use_cert(ctx, "backend-tls-cert", cfg->backend_tls_cert, cfg->backend_tls_key, err) != 0)
        return -1;
    if (t->mode < BK_TLS_VERIFY_CA) {
        SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
        return 0;
    }
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
    int ok = *cfg->backend_tls_ca ? SSL_CTX_load_verify_locations(ctx, cfg->backend_tls_ca, NULL)
                                  : SSL_CTX_set_default_verify_paths(ctx);
    if (ok != 1) {
        sbuf_setf(err, "cannot load the CA certificates %s for backend-tls=%s: ",
                  *cfg->backend_tls_ca ? cfg->backend_tls_ca : "(the system's)", cfg->backend_tls);
        add_ssl_error(err);
        return -1;
    }
    return 0;
}

static int tls_setup(router *rt, sbuf *err)
{
    if (backend_tls_setup(rt, err) != 0)
        return -1;
    if (!*rt->cfg->tls_cert)
        return 0;
    rt->ssl = SSL_CTX_new(TLS_server_method());
    SSL_CTX_set_min_proto_version(rt->ssl, TLS1_2_VERSION);
    if (ctx_use_cert(rt->ssl, "tls-cert", rt->cfg->tls_cert, rt->cfg->tls_key, err) != 0)
        return -1;
    rt->env.ssl_ctx = rt->ssl;
    rt->env.require_tls = rt->cfg->require_tls;
    return 0;
}

/* ---- read-your-writes ---- */

/* The monitor account's password, read again at each login of its
 * connection: a rotated Secret is used from the next login on. */
static int monitor_stage1(void *arg, uint8_t stage1[20], sbuf *err)
{
    const router *rt = arg;
    sbuf pw = SBUF_INIT, why = SBUF_INIT;
    int rc = secret_read(rt->cfg->monitor_password, &pw, &why);
    if (rc == 0)
        wire_sha1(pw.buf, pw.len, NULL, 0, stage1);
    else
        sbuf_setf(err, "monitor-password-file: %s", why.buf);
    sbuf_wipe(&pw);
    sbuf_free(&why);
    return rc;
}

static int ryw_setup(router *rt, sbuf *err)
{
    const router_config *cfg = rt->cfg;
    ryw_mode mode = RYW_SESSION;
    ryw_mode_parse(cfg->read_your_writes, &mode); /* checked with the settings */
    if (mode != RYW_OFF && *cfg->monitor_user) {
        uint8_t stage1[20];
        if (monitor_stage1(rt, stage1, err) != 0) /* unreadable at start: a mistake to say now */
            return -1;
        secure_zero(stage1, sizeof stage1);
        position_opts o = {cfg->monitor_user, monitor_stage1, rt, cfg->sidecar_schema, cfg->workflow,
                           cfg->connect_timeout_ms, &rt->backend_tls};
        rt->pos = position_new(rt->loop, &o);
        rt->refs++;
    } else if (mode != RYW_OFF) {
        log_warn("router", "read-your-writes=%s without a monitor account: in VALIDATE a read after a write "
                           "goes to the source (correct, but the destination serves fewer reads); set monitor-user "
                           "and monitor-password-file to an account with SELECT on %s.streams on the destination",
                 ryw_mode_name(mode), cfg->sidecar_schema);
    }
    ryw_env_init(&rt->ryw, mode, cfg->read_your_writes_wait_ms, rt->pos, &rt->env.stats.ryw);
    rt->env.ryw = &rt->ryw;
    return 0;
}

static void position_closed(void *arg)
{
    unref(arg);
}

/* ---- listening ---- */

static void on_client(uv_stream_t *server, int status)
{
    router *rt = server->data;
    if (status < 0) {
        log_warn("router", "accepting a client failed: %s", uv_strerror(status));
        return;
    }
    session_accept(&rt->env, server);
}

static int listen_on(router *rt, sbuf *err)
{
    const char *addr = rt->cfg->listen;
    const char *colon = strrchr(addr, ':');
    char host[256];
    struct sockaddr_storage ss;
    if (!colon || (size_t)(colon - addr) >= sizeof host) {
        sbuf_setf(err, "listen address \"%s\" is not host:port", addr);
        return -1;
    }
    size_t hl = (size_t)(colon - addr);
    const char *h = addr;
    if (hl >= 2 && h[0] == '[')
        h++, hl -= 2;
    memcpy(host, h, hl);
    host[hl] = '\0';
    int port = atoi(colon + 1);
    if (uv_ip4_addr(host, port, (struct sockaddr_in *)&ss) != 0 &&
        uv_ip6_addr(host, port, (struct sockaddr_in6 *)&ss) != 0) {
        sbuf_setf(err, "listen address \"%s\": \"%s\" is not an IP address", addr, host);
        return -1;
    }
    int rc = uv_tcp_bind(&rt->listener, (struct sockaddr *)&ss, 0);
    if (rc == 0)
        rc = uv_listen((uv_stream_t *)&rt->listener, 1024, on_client);
    if (rc != 0) {
        sbuf_setf(err, "cannot listen on %s: %s", addr, uv_strerror(rc));
        return -1;
    }
    return 0;
}

/* ---- lifecycle ---- */

router *router_new(uv_loop_t *loop, const router_config *cfg, sbuf *err)
{
    (void)err;
    router *rt = xcalloc(1, sizeof *rt);
    rt->loop = loop;
    rt->cfg = cfg;
    rt->env.loop = loop;
    rt->env.connect_timeout_ms = cfg->connect_timeout_ms;
    rt->env.max_packet = cfg->max_packet;
    rt->env.max_connections = cfg->max_connections;
    snprintf(rt->env.server_version, sizeof rt->env.server_version, "%s",
             *cfg->server_version ? cfg->server_version : DEFAULT_VERSION);
    rt->env.server_charset = 45; /* utf8mb4_general_ci until a server says otherwise */
    rt->env.address[SIDE_SOURCE] = xstrdup("");
    rt->env.address[SIDE_DESTINATION] = xstrdup("");
    rt->env.no_rules_why = "waiting for the control plane's first rules";
    rt->started_ms = clock_mono_ms();
    if (*cfg->router_id) {
        rt->router_id = xstrdup(cfg->router_id);
    } else {
        /* host name and port: unique among replicas on different hosts or ports */
        char host[256] = "router";
        gethostname(host, sizeof host - 1);
        const char *colon = strrchr(cfg->listen, ':');
        sbuf id = SBUF_INIT;
        sbuf_addf(&id, "%s%s", host, colon ? colon : "");
        rt->router_id = sbuf_detach(&id, NULL);
    }
    /* Every handle exists from the start, so stopping can close them all. */
    uv_tcp_init(loop, &rt->listener);
    uv_fs_poll_init(loop, &rt->accounts_poll);
    uv_timer_init(loop, &rt->probe_timer);
    rt->listener.data = rt->accounts_poll.data = rt->probe_timer.data = rt;
    rt->env.on_drained = on_drained;
    rt->env.on_hold_over = on_hold_over;
    rt->env.owner = rt;
    hold_limits hl = {cfg->hold_statement_wait_ms, cfg->hold_max_ms, cfg->hold_drain_ms, cfg->hold_queue_max};
    session_hold_init(&rt->env, &hl);
    rt->refs = 7; /* itself, three handles and the hold's three timers */
    return rt;
}

int router_start(router *rt, sbuf *err)
{
    if (load_accounts(rt, err) != 0 || tls_setup(rt, err) != 0 || ryw_setup(rt, err) != 0 ||
        listen_on(rt, err) != 0)
        return -1;
    uv_fs_poll_start(&rt->accounts_poll, on_accounts_changed, rt->cfg->accounts_file, 1000);
    uv_timer_start(&rt->probe_timer, on_probe_timer, 0, rt->cfg->probe_interval_ms);
    if (*rt->cfg->mode) {
        fixed_rules(rt);
    } else {
        /* Until the first rules arrive, logins wait as in a switch's hold
         * (a router restarted under load is a pause, not errors). */
        session_hold_begin(&rt->env, 0);
        snprintf(rt->rules.workflow, sizeof rt->rules.workflow, "%s", rt->cfg->workflow);
        rules_watch_opts o = {0};
        o.control_plane = rt->cfg->control_plane;
        o.workflow = rt->cfg->workflow;
        o.router_id = rt->router_id;
        o.address = rt->cfg->listen;
        o.clients = client_count;
        o.on_state = on_watch_state;
        rt->watch = rules_watch_start(rt->loop, &o, on_rules, rt, err);
        if (!rt->watch)
            return -1;
    }
    if (status_start(rt, err) != 0)
        return -1;
    if (*rt->cfg->metrics_listen &&
        http_metrics_start(rt->loop, rt->cfg->metrics_listen, metrics_render, rt, &rt->metrics, err) != 0)
        return -1;
    log_info("router", "%s listening on %s for applications (%zu accounts%s)%s%s%s%s", rt->router_id,
             rt->cfg->listen, accounts_count(rt->accts), rt->ssl ? ", TLS offered" : "",
             rt->status ? "; status on " : "", rt->status ? rt->cfg->status_listen : "",
             rt->metrics ? "; metrics on http://" : "", rt->metrics ? rt->cfg->metrics_listen : "");
    return 0;
}

static void unref(router *rt)
{
    if (--rt->refs > 0)
        return;
    for (int i = 0; i < SIDES; i++) {
        free(rt->env.address[i]);
        sbuf_free(&rt->servers[i].error);
    }
    accounts_free(rt->accts);
    ryw_env_free(&rt->ryw);
    if (rt->ssl)
        SSL_CTX_free(rt->ssl);
    if (rt->backend_tls.ctx)
        SSL_CTX_free(rt->backend_tls.ctx);
    sbuf_free(&rt->reload_err);
    sbuf_free(&rt->reload_text);
    free(rt->router_id);
    void (*done)(void *) = rt->stopped;
    void *arg = rt->stopped_arg;
    free(rt);
    if (done)
        done(arg);
}

static void on_handle_closed(uv_handle_t *h)
{
    unref(h->data);
}

static void hold_timer_closed(uv_handle_t *h)
{
    unref((router *)((char *)h->data - offsetof(router, env.hold)));
}

static void status_stopped(void *arg)
{
    unref(arg);
}

void router_stop(router *rt, void (*done)(void *), void *arg)
{
    rt->stopping = true;
    rt->stopped = done;
    rt->stopped_arg = arg;
    http_metrics_stop(rt->metrics); /* first: it reads everything below */
    rt->metrics = NULL;
    if (rt->env.accts)
        log_info("router", "stopping: closing %u client connections", rt->env.stats.connections);
    while (rt->env.list)
        session_close(rt->env.list);
    for (int i = 0; i < SIDES; i++)
        if (rt->probes[i])
            probe_finish(rt->probes[i], "router stopping", NULL);
    if (rt->pos) {
        position_close(rt->pos, position_closed, rt); /* the sessions' waits ended with them */
        rt->pos = NULL;
        rt->ryw.pos = NULL;
    }
    if (rt->watch) {
        rules_watch_stop(rt->watch);
        rt->watch = NULL;
    }
    if (rt->status) {
        rt->refs++;
        rpc_server_shutdown(rt->status, 200, status_stopped, rt);
        rt->status = NULL;
    }
    uv_close((uv_handle_t *)&rt->listener, on_handle_closed);
    uv_close((uv_handle_t *)&rt->accounts_poll, on_handle_closed);
    uv_close((uv_handle_t *)&rt->probe_timer, on_handle_closed);
    hold_close(&rt->env.hold, hold_timer_closed);
    unref(rt);
}
