/* http_metrics: GET /metrics over plain HTTP, for Prometheus, on a thread
 * of its own (libmicrohttpd), with the text made on the daemon's loop.
 *
 * The HTTP side (accepting, parsing, slow or stuck clients) never touches
 * the loop. A scrape asks the loop for the text through a uv_async and
 * waits (at most HTTP_METRICS_WAIT_MS, then 503) while the loop runs the
 * render callback: the loop owns the state the text reports, so reading it
 * there needs no new locks, and costs the loop what building a status
 * reply costs. A second page for people (the agent's status page) may be
 * served at GET / the same way. Nothing on this port changes anything:
 * GET and HEAD of /metrics (and /) are answered, other methods get 405,
 * other paths 404. */
#ifndef LIB_HTTP_METRICS_H
#define LIB_HTTP_METRICS_H

#include <uv.h>

#include "lib/sbuf.h"

#define HTTP_METRICS_WAIT_MS 5000
/* The exposition format's media type (Prometheus text, version 0.0.4). */
#define HTTP_METRICS_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

typedef struct http_metrics http_metrics;

/* Runs on the loop thread: append the whole page to out. */
typedef void (*http_metrics_render)(sbuf *out, void *data);

/* Listen on address (an IP literal and a port: "0.0.0.0:9104",
 * "[::1]:9104") and serve. 0, or -1 with err saying why (a bad address,
 * the port in use). */
int http_metrics_start(uv_loop_t *loop, const char *address, http_metrics_render render, void *data,
                       http_metrics **out, sbuf *err);
/* Also serve GET / from page (made on the loop like /metrics), with the
 * given media type (a static string). Any thread. */
void http_metrics_set_page(http_metrics *h, http_metrics_render page, const char *content_type);
/* Loop thread: close the port and end the HTTP thread (a scrape waiting
 * for the loop gets 503); the handle is freed once libuv closed it. */
void http_metrics_stop(http_metrics *h);

#endif
