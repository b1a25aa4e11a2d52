/* http_metrics: libmicrohttpd's thread serving GET /metrics, the loop
 * writing the text. See http_metrics.h.
 *
 * The listening socket is ours (so a port in use is an error with its
 * reason, not a line on stderr); libmicrohttpd takes it over, polls it on
 * its internal thread and closes it when stopped.
 *
 * A scrape is a small record on the HTTP thread's stack, queued under the
 * lock: QUEUED until the loop's async callback takes the whole queue
 * (TAKEN), renders each, and marks it DONE. The HTTP thread gives up only
 * on a QUEUED scrape (the loop is late, or stopping): once TAKEN, the loop
 * is writing into it and will finish, so the waiter stays and the record
 * outlives the loop's use of it. Stopping happens on the loop, so no scrape
 * is TAKEN then; MHD_stop_daemon joins the HTTP thread after a waiting
 * scrape saw `stopping` and answered 503. */
#include "lib/http_metrics.h"

#include <errno.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "lib/clock.h"
#include "lib/log.h"

#define CONNECTION_LIMIT 32
#define CONNECTION_TIMEOUT_S 10

typedef enum { SCRAPE_QUEUED, SCRAPE_TAKEN, SCRAPE_DONE } scrape_state;

typedef struct scrape {
    http_metrics_render render; /* the page asked for */
    sbuf text;
    scrape_state state;
    struct scrape *next;
} scrape;

struct http_metrics {
    uv_loop_t *loop;
    uv_async_t async;
    struct MHD_Daemon *daemon;
    http_metrics_render render;
    http_metrics_render page; /* GET /, when set */
    const char *page_type;
    void *data;
    uv_mutex_t lock; /* guards queue, stopping, page and every scrape's state */
    uv_cond_t cond;
    scrape *queue;
    bool stopping;
};

/* ---- address and socket ------------------------------------------------------------ */

/* "host:port" or "[v6]:port", host an IP literal; -1 with err. */
static int parse_address(const char *addr, struct sockaddr_storage *ss, sbuf *err)
{
    const char *colon = strrchr(addr, ':');
    if (!colon || colon == addr || !colon[1]) {
        sbuf_setf(err, "metrics address \"%s\" is not host:port (e.g. 0.0.0.0:9104)", addr);
        return -1;
    }
    char *end;
    errno = 0;
    unsigned long port = strtoul(colon + 1, &end, 10);
    if (*end || errno || port == 0 || port > 65535 || colon[1] == '-' || colon[1] == '+') {
        sbuf_setf(err, "metrics address \"%s\": the port must be a number from 1 to 65535", addr);
        return -1;
    }
    sbuf host = SBUF_INIT;
    size_t hl = (size_t)(colon - addr);
    if (hl >= 2 && addr[0] == '[' && addr[hl - 1] == ']')
        sbuf_add(&host, addr + 1, hl - 2);
    else
        sbuf_add(&host, addr, hl);
    memset(ss, 0, sizeof *ss);
    int rc = 0;
    if (uv_ip4_addr(host.buf, (int)port, (struct sockaddr_in *)ss) != 0 &&
        uv_ip6_addr(host.buf, (int)port, (struct sockaddr_in6 *)ss) != 0) {
        sbuf_setf(err, "metrics address \"%s\": \"%s\" is not an IP address (0.0.0.0 listens on every interface)",
                  addr, host.buf);
        rc = -1;
    }
    sbuf_free(&host);
    return rc;
}

static int open_listener(const char *addr, int *fd_out, sbuf *err)
{
    struct sockaddr_storage ss;
    if (parse_address(addr, &ss, err) != 0)
        return -1;
    int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        sbuf_setf(err, "cannot listen on %s for metrics: socket: %s", addr, strerror(errno));
        return -1;
    }
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    socklen_t len = ss.ss_family == AF_INET ? sizeof(struct sockaddr_in) : sizeof(struct sockaddr_in6);
    if (bind(fd, (struct sockaddr *)&ss, len) != 0 || listen(fd, 64) != 0) {
        sbuf_setf(err, "cannot listen on %s for metrics: %s; pick another metrics-listen address", addr,
                  strerror(errno));
        close(fd);
        return -1;
    }
    *fd_out = fd;
    return 0;
}

/* ---- the loop's side -------------------------------------------------------------- */

static void on_async(uv_async_t *a)
{
    http_metrics *h = a->data;
    uv_mutex_lock(&h->lock);
    scrape *list = h->queue;
    h->queue = NULL;
    for (scrape *s = list; s; s = s->next)
        s->state = SCRAPE_TAKEN;
    uv_mutex_unlock(&h->lock);
    /* TAKEN: each waiter stays until DONE, so the records stay valid. */
    for (scrape *s = list; s; s = s->next)
        s->render(&s->text, h->data);
    uv_mutex_lock(&h->lock);
    while (list) {
        scrape *next = list->next; /* read first: DONE lets its thread go */
        list->state = SCRAPE_DONE;
        list = next;
    }
    uv_cond_broadcast(&h->cond);
    uv_mutex_unlock(&h->lock);
}

/* ---- the HTTP thread's side -------------------------------------------------------- */

static void unlink_scrape(http_metrics *h, scrape *s)
{
    for (scrape **p = &h->queue; *p; p = &(*p)->next) {
        if (*p == s) {
            *p = s->next;
            return;
        }
    }
}

/* The text from the loop; false when it did not come in time. */
static bool scrape_from_loop(http_metrics *h, http_metrics_render render, sbuf *out)
{
    scrape s = {render, SBUF_INIT, SCRAPE_QUEUED, NULL};
    uv_mutex_lock(&h->lock);
    if (h->stopping) {
        uv_mutex_unlock(&h->lock);
        return false;
    }
    s.next = h->queue;
    h->queue = &s;
    uv_mutex_unlock(&h->lock);
    uv_async_send(&h->async);
    int64_t deadline = clock_mono_ms() + HTTP_METRICS_WAIT_MS;
    uv_mutex_lock(&h->lock);
    while (s.state != SCRAPE_DONE) {
        int64_t left = deadline - clock_mono_ms();
        if (s.state == SCRAPE_QUEUED && (h->stopping || left <= 0)) {
            unlink_scrape(h, &s);
            break;
        }
        uv_cond_timedwait(&h->cond, &h->lock, (uint64_t)(left > 0 ? left : 100) * 1000000ULL);
    }
    bool done = s.state == SCRAPE_DONE;
    uv_mutex_unlock(&h->lock);
    if (done)
        *out = s.text;
    else
        sbuf_free(&s.text);
    return done;
}

static enum MHD_Result respond_text(struct MHD_Connection *c, unsigned status, const char *text, const char *allow)
{
    struct MHD_Response *r =
        MHD_create_response_from_buffer(strlen(text), (void *)text, MHD_RESPMEM_PERSISTENT);
    if (!r)
        return MHD_NO;
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, "text/plain; charset=utf-8");
    if (allow)
        MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, allow);
    enum MHD_Result rc = MHD_queue_response(c, status, r);
    MHD_destroy_response(r);
    return rc;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url, const char *method,
                                  const char *version, const char *upload_data, size_t *upload_size, void **con_cls)
{
    http_metrics *h = cls;
    (void)version;
    (void)upload_data;
    (void)upload_size;
    (void)con_cls;
    uv_mutex_lock(&h->lock);
    http_metrics_render page = h->page;
    const char *page_type = h->page_type;
    uv_mutex_unlock(&h->lock);
    bool is_page = page && strcmp(url, "/") == 0;
    /* Answered at the first call, before any request body is read: a
     * refused request's body is never looked at. */
    if (strcmp(url, "/metrics") != 0 && !is_page)
        return respond_text(c, MHD_HTTP_NOT_FOUND,
                            page ? "not found: this port serves GET / (status) and GET /metrics\n"
                                 : "not found: this port serves only GET /metrics\n",
                            NULL);
    if (strcmp(method, MHD_HTTP_METHOD_GET) != 0 && strcmp(method, MHD_HTTP_METHOD_HEAD) != 0)
        return respond_text(c, MHD_HTTP_METHOD_NOT_ALLOWED, "method not allowed: this port is read-only; use GET\n",
                            "GET, HEAD");
    sbuf text = SBUF_INIT;
    if (!scrape_from_loop(h, is_page ? page : h->render, &text))
        return respond_text(c, MHD_HTTP_SERVICE_UNAVAILABLE,
                            "unavailable: the daemon is stopping or did not answer within 5 s; retry\n", NULL);
    size_t len;
    char *body = sbuf_detach(&text, &len);
    struct MHD_Response *r = MHD_create_response_from_buffer_with_free_callback(len, body ? body : xstrdup(""), free);
    if (!r)
        return MHD_NO;
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, is_page ? page_type : HTTP_METRICS_CONTENT_TYPE);
    if (is_page) /* it is made fresh for each look; a status page must never be a stale copy */
        MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
    enum MHD_Result rc = MHD_queue_response(c, MHD_HTTP_OK, r);
    MHD_destroy_response(r);
    return rc;
}

/* libmicrohttpd's own diagnostics, in our log format. */
static void mhd_log(void *cls, const char *fmt, va_list ap)
{
    (void)cls;
    sbuf msg = SBUF_INIT;
    sbuf_vaddf(&msg, fmt, ap);
    while (msg.len && msg.buf[msg.len - 1] == '\n')
        sbuf_setlen(&msg, msg.len - 1);
    log_warn("metrics", "%s", sbuf_cstr(&msg));
    sbuf_free(&msg);
}

/* ---- lifecycle ------------------------------------------------------------------------ */

int http_metrics_start(uv_loop_t *loop, const char *address, http_metrics_render render, void *data,
                       http_metrics **out, sbuf *err)
{
    int fd;
    if (open_listener(address, &fd, err) != 0)
        return -1;
    http_metrics *h = xcalloc(1, sizeof *h);
    h->loop = loop;
    h->render = render;
    h->data = data;
    uv_mutex_init(&h->lock);
    uv_cond_init(&h->cond);
    uv_async_init(loop, &h->async, on_async);
    h->async.data = h;
    h->daemon = MHD_start_daemon(MHD_USE_AUTO_INTERNAL_THREAD | MHD_USE_ERROR_LOG, 0, NULL, NULL, on_request, h,
                                 MHD_OPTION_EXTERNAL_LOGGER, mhd_log, NULL,
                                 MHD_OPTION_LISTEN_SOCKET, (MHD_socket)fd,
                                 MHD_OPTION_CONNECTION_LIMIT, (unsigned)CONNECTION_LIMIT,
                                 MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)CONNECTION_TIMEOUT_S,
                                 MHD_OPTION_END);
    if (!h->daemon) {
        sbuf_setf(err, "cannot serve metrics on %s: libmicrohttpd did not start (see the log)", address);
        close(fd);
        http_metrics_stop(h);
        return -1;
    }
    *out = h;
    return 0;
}

void http_metrics_set_page(http_metrics *h, http_metrics_render page, const char *content_type)
{
    uv_mutex_lock(&h->lock);
    h->page = page;
    h->page_type = content_type;
    uv_mutex_unlock(&h->lock);
}

static void on_closed(uv_handle_t *handle)
{
    http_metrics *h = handle->data;
    uv_mutex_destroy(&h->lock);
    uv_cond_destroy(&h->cond);
    free(h);
}

void http_metrics_stop(http_metrics *h)
{
    if (!h)
        return;
    uv_mutex_lock(&h->lock);
    h->stopping = true;
    uv_cond_broadcast(&h->cond);
    uv_mutex_unlock(&h->lock);
    if (h->daemon)
        MHD_stop_daemon(h->daemon); /* joins the HTTP thread; closes the socket */
    h->daemon = NULL;
    uv_close((uv_handle_t *)&h->async, on_closed);
}
