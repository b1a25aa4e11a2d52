/* conn: one TCP connection of the router, client or backend, on the loop.
 *
 * It owns what every connection needs and nothing about MySQL: reading
 * into a buffer the owner consumes packet by packet, writing without
 * copying when the socket takes the bytes at once (uv_try_write) and with
 * a copy when it does not, telling the owner when its queue drains (so a
 * fast backend is paused for a slow client), optional TLS, and closing.
 *
 * Memory: an idle connection holds no buffer. Reads land in one buffer
 * shared by the loop; what the owner leaves unconsumed (half a packet, or
 * a command that waits behind the one in flight) is copied into the
 * connection's own buffer, which is freed once empty. So 1,000 idle
 * clients cost their structs and sockets, not 1,000 read buffers. */
#ifndef ROUTER_CONN_H
#define ROUTER_CONN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "lib/sbuf.h"

typedef struct conn conn;
typedef struct conn_tls conn_tls;

typedef struct conn_ops {
    /* New bytes: conn_data/conn_avail; consume what was handled. */
    void (*data)(conn *c);
    /* Everything written has left (after a write that had to queue). */
    void (*drained)(conn *c);
    /* The peer closed, or reading or writing failed (uv error code, or
     * UV_EOF). The owner calls conn_close. */
    void (*gone)(conn *c, int status);
    /* conn_close is complete: the owner may free the memory now. */
    void (*closed)(conn *c);
} conn_ops;

struct conn {
    uv_tcp_t tcp;
    const conn_ops *ops;
    void *owner;
    /* Input not yet consumed: view points either into the loop's shared
     * read buffer (during a read callback) or into own. */
    const uint8_t *view;
    size_t view_len;
    sbuf own;
    size_t queued; /* bytes handed to uv_write, not yet written */
    bool reading, paused, closing, in_cb;
    conn_tls *tls;
};

void conn_init(conn *c, uv_loop_t *loop, const conn_ops *ops, void *owner);
int conn_start(conn *c);
/* Stop reading (backpressure), and start again. */
void conn_pause(conn *c);
void conn_resume(conn *c);
static inline const uint8_t *conn_data(const conn *c)
{
    return c->view;
}
static inline size_t conn_avail(const conn *c)
{
    return c->view_len;
}
static inline uint8_t *conn_data_mut(conn *c)
{
    return (uint8_t *)c->view;
}
void conn_consume(conn *c, size_t n);
/* Write; returns 0 or a uv error (the connection is then gone). */
int conn_write(conn *c, const void *data, size_t len);
void conn_close(conn *c);
/* The peer's address as "ip:port" (for logs and error texts). */
void conn_peer(const conn *c, sbuf *out);
/* Owners of a conn embed it; these get the owner back. */
static inline void *conn_owner(const conn *c)
{
    return c->owner;
}

/* TLS. ctx is an SSL_CTX *; after conn_tls_start (server role, toward a
 * client) or conn_tls_connect (client role, toward a server) data() sees
 * plaintext and conn_write encrypts; what is written before the handshake
 * ends waits for it. Client role: host (NULL: none) is sent as SNI when it
 * is a name and, with verify_host, must match the server's certificate
 * (the chain is checked as ctx says). */
int conn_tls_start(conn *c, void *ssl_ctx, sbuf *err);
int conn_tls_connect(conn *c, void *ssl_ctx, const char *host, bool verify_host, sbuf *err);
bool conn_tls_on(const conn *c);
/* Why the handshake failed ("certificate verification failed: ..."), or
 * NULL when it did not or nothing is known. */
const char *conn_tls_failure(const conn *c);

#endif
