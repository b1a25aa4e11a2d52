/* conn: buffered reads, copy-free writes, TLS. See conn.h.
 *
 * Reads. libuv asks for a buffer right before each read of a connection,
 * and the router runs one loop thread, so one static buffer serves every
 * read whose connection has nothing left over: the owner handles the
 * bytes in place, and only the tail it leaves is copied into the
 * connection's own sbuf. When a connection has leftovers, the next read
 * appends to its own buffer instead, so a packet bigger than a read
 * accumulates there.
 *
 * Writes. uv_try_write first: on a healthy socket the bytes leave at once
 * and nothing is copied (the usual case for a query and its reply). What
 * the kernel does not take is copied into a write request; `queued`
 * counts those bytes so owners can stop reading the other side.
 *
 * TLS runs OpenSSL over memory BIOs, in either role (toward clients the
 * router is the server; toward servers the client): ciphertext read from
 * the socket goes into one BIO, plaintext comes out of SSL_read into the
 * connection's own buffer; SSL_write's ciphertext is drained from the
 * other BIO onto the socket. Plaintext written before the handshake ended
 * (a backend's login follows its SSLRequest at once) waits in `pending`
 * and goes out when it ends. */
#include "router/conn.h"

#include <arpa/inet.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <stdlib.h>
#include <string.h>

#define READ_CHUNK 65536

static uint8_t shared_buf[READ_CHUNK];

struct conn_tls {
    SSL *ssl;
    BIO *in, *out; /* ciphertext: from the peer, to the peer */
    sbuf pending;  /* plaintext written before the handshake ended */
    sbuf why;      /* what made the handshake fail, for the owner */
};

typedef struct write_req {
    uv_write_t req;
    conn *c;
    size_t len;
    uint8_t data[];
} write_req;

static bool view_in_own(const conn *c)
{
    return c->own.buf && c->view >= (const uint8_t *)c->own.buf &&
           c->view <= (const uint8_t *)c->own.buf + c->own.len;
}

/* Keep only the unconsumed bytes in own, at its start. */
static void own_compact(conn *c)
{
    if (!view_in_own(c)) {
        sbuf_reset(&c->own);
        sbuf_add(&c->own, c->view, c->view_len);
    } else if (c->view != (const uint8_t *)c->own.buf) {
        memmove(c->own.buf, c->view, c->view_len);
        sbuf_setlen(&c->own, c->view_len);
    }
    c->view = (const uint8_t *)c->own.buf;
}

static void own_release(conn *c)
{
    if (c->view_len == 0 && c->own.buf) {
        sbuf_free(&c->own);
        c->view = NULL;
    }
}

void conn_consume(conn *c, size_t n)
{
    if (c->closing)
        return;
    c->view += n;
    c->view_len -= n;
    if (!c->in_cb)
        own_release(c);
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    (void)suggested;
    conn *c = h->data;
    if (c->view_len == 0 || c->tls) {
        buf->base = (char *)shared_buf;
        buf->len = READ_CHUNK;
        return;
    }
    own_compact(c);
    sbuf_grow(&c->own, READ_CHUNK);
    c->view = (const uint8_t *)c->own.buf;
    buf->base = c->own.buf + c->own.len;
    buf->len = c->own.cap - c->own.len - 1;
}

static int tls_pump(conn *c);

static void deliver(conn *c)
{
    c->in_cb = true;
    c->ops->data(c);
    c->in_cb = false;
    if (c->closing)
        return;
    if (c->view_len && !view_in_own(c))
        own_compact(c); /* the tail leaves the shared buffer */
    own_release(c);
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
    conn *c = s->data;
    if (c->closing)
        return;
    if (nread < 0) {
        c->ops->gone(c, (int)nread);
        return;
    }
    if (nread == 0)
        return;
    if (c->tls) {
        BIO_write(c->tls->in, buf->base, (int)nread);
        if (tls_pump(c) != 0) {
            c->ops->gone(c, UV_EPROTO);
            return;
        }
        if (c->view_len)
            deliver(c);
        return;
    }
    if (buf->base == (char *)shared_buf) {
        c->view = shared_buf;
        c->view_len = (size_t)nread;
    } else {
        sbuf_setlen(&c->own, c->own.len + (size_t)nread);
        c->view_len += (size_t)nread;
    }
    deliver(c);
}

void conn_init(conn *c, uv_loop_t *loop, const conn_ops *ops, void *owner)
{
    memset(c, 0, sizeof *c);
    uv_tcp_init(loop, &c->tcp);
    c->tcp.data = c;
    c->ops = ops;
    c->owner = owner;
}

int conn_start(conn *c)
{
    uv_tcp_nodelay(&c->tcp, 1);
    uv_tcp_keepalive(&c->tcp, 1, 60);
    int rc = uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read);
    c->reading = rc == 0;
    return rc;
}

void conn_pause(conn *c)
{
    if (c->reading && !c->paused && !c->closing)
        uv_read_stop((uv_stream_t *)&c->tcp);
    c->paused = true;
}

void conn_resume(conn *c)
{
    if (c->reading && c->paused && !c->closing)
        uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read);
    c->paused = false;
}

static void on_written(uv_write_t *req, int status)
{
    write_req *w = (write_req *)req;
    conn *c = w->c;
    c->queued -= w->len;
    free(w);
    if (c->closing)
        return;
    if (status < 0)
        c->ops->gone(c, status);
    else if (c->queued == 0 && c->ops->drained)
        c->ops->drained(c);
}

static int raw_write(conn *c, const void *data, size_t len)
{
    const uint8_t *p = data;
    if (c->queued == 0) {
        uv_buf_t b = uv_buf_init((char *)p, (unsigned)len);
        int n = uv_try_write((uv_stream_t *)&c->tcp, &b, 1);
        if (n < 0 && n != UV_EAGAIN)
            return n;
        if (n > 0) {
            p += n;
            len -= (size_t)n;
        }
    }
    if (len == 0)
        return 0;
    write_req *w = xmalloc(sizeof *w + len);
    w->c = c;
    w->len = len;
    memcpy(w->data, p, len);
    uv_buf_t b = uv_buf_init((char *)w->data, (unsigned)len);
    int rc = uv_write(&w->req, (uv_stream_t *)&c->tcp, &b, 1, on_written);
    if (rc < 0) {
        free(w);
        return rc;
    }
    c->queued += len;
    return 0;
}

/* Ciphertext waiting in the outgoing BIO goes to the socket. */
static int tls_flush(conn *c)
{
    uint8_t chunk[16384];
    int n;
    while ((n = BIO_read(c->tls->out, chunk, sizeof chunk)) > 0) {
        int rc = raw_write(c, chunk, (size_t)n);
        if (rc < 0)
            return rc;
    }
    return 0;
}

/* Why the handshake failed, in words: the certificate check's verdict if
 * it said no, else OpenSSL's last error. */
static void tls_note_failure(conn_tls *t)
{
    long v = SSL_get_verify_result(t->ssl);
    unsigned long e = ERR_peek_last_error();
    sbuf_reset(&t->why);
    if (v != X509_V_OK) {
        sbuf_addf(&t->why, "certificate verification failed: %s", X509_verify_cert_error_string(v));
    } else if (e) {
        char text[256];
        ERR_error_string_n(e, text, sizeof text);
        sbuf_addf(&t->why, "TLS handshake failed: %s", text);
    } else {
        sbuf_adds(&t->why, "TLS handshake failed");
    }
    ERR_clear_error();
}

/* Advance the handshake, then decrypt whatever arrived into own. */
static int tls_pump(conn *c)
{
    conn_tls *t = c->tls;
    if (!SSL_is_init_finished(t->ssl)) {
        int rc = SSL_do_handshake(t->ssl);
        if (rc <= 0) {
            int e = SSL_get_error(t->ssl, rc);
            if (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE) {
                tls_note_failure(t);
                tls_flush(c); /* the alert, if any */
                return -1;
            }
        }
        if (tls_flush(c) != 0)
            return -1;
        if (!SSL_is_init_finished(t->ssl))
            return 0;
        if (t->pending.len) {
            int n = SSL_write(t->ssl, t->pending.buf, (int)t->pending.len);
            sbuf_wipe(&t->pending);
            if (n <= 0)
                return -1;
        }
    }
    own_compact(c);
    for (;;) {
        sbuf_grow(&c->own, 16384);
        int n = SSL_read(c->tls->ssl, c->own.buf + c->own.len, (int)(c->own.cap - c->own.len - 1));
        if (n > 0) {
            sbuf_setlen(&c->own, c->own.len + (size_t)n);
            continue;
        }
        int e = SSL_get_error(c->tls->ssl, n);
        if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE)
            break;
        return -1;
    }
    c->view = (const uint8_t *)c->own.buf;
    c->view_len = c->own.len;
    return tls_flush(c);
}

int conn_write(conn *c, const void *data, size_t len)
{
    if (c->closing)
        return UV_ECANCELED;
    if (!c->tls)
        return raw_write(c, data, len);
    if (!SSL_is_init_finished(c->tls->ssl)) {
        sbuf_add(&c->tls->pending, data, len);
        return 0;
    }
    if (len && SSL_write(c->tls->ssl, data, (int)len) <= 0)
        return UV_EPROTO;
    return tls_flush(c);
}

static conn_tls *tls_new(void *ssl_ctx, sbuf *err)
{
    conn_tls *t = xcalloc(1, sizeof *t);
    t->ssl = SSL_new(ssl_ctx);
    t->in = BIO_new(BIO_s_mem());
    t->out = BIO_new(BIO_s_mem());
    if (!t->ssl || !t->in || !t->out) {
        sbuf_setf(err, "cannot start TLS: out of memory in OpenSSL");
        BIO_free(t->in);
        BIO_free(t->out);
        SSL_free(t->ssl);
        free(t);
        return NULL;
    }
    SSL_set_bio(t->ssl, t->in, t->out);
    return t;
}

int conn_tls_connect(conn *c, void *ssl_ctx, const char *host, bool verify_host, sbuf *err)
{
    conn_tls *t = tls_new(ssl_ctx, err);
    if (!t)
        return -1;
    SSL_set_connect_state(t->ssl);
    unsigned char ip[16];
    bool is_ip = host && (inet_pton(AF_INET, host, ip) == 1 || inet_pton(AF_INET6, host, ip) == 1);
    /* SNI names hosts, never addresses (RFC 6066). */
    if (host && *host && !is_ip)
        SSL_set_tlsext_host_name(t->ssl, host);
    if (verify_host && host && *host &&
        (is_ip ? X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(t->ssl), host) : SSL_set1_host(t->ssl, host)) != 1) {
        sbuf_setf(err, "cannot check the server's certificate against \"%s\"", host);
        SSL_free(t->ssl);
        free(t);
        return -1;
    }
    c->tls = t;
    if (tls_pump(c) != 0) { /* the ClientHello goes out */
        sbuf_setf(err, "%s", t->why.len ? t->why.buf : "TLS handshake failed");
        return -1;
    }
    return 0;
}

const char *conn_tls_failure(const conn *c)
{
    return c->tls && c->tls->why.len ? c->tls->why.buf : NULL;
}

int conn_tls_start(conn *c, void *ssl_ctx, sbuf *err)
{
    conn_tls *t = tls_new(ssl_ctx, err);
    if (!t)
        return -1;
    SSL_set_accept_state(t->ssl);
    c->tls = t;
    /* Bytes that came with the SSLRequest are the start of the ClientHello. */
    if (c->view_len) {
        BIO_write(t->in, c->view, (int)c->view_len);
        c->view_len = 0;
    }
    if (tls_pump(c) != 0) {
        sbuf_setf(err, "TLS handshake failed");
        return -1;
    }
    return 0;
}

bool conn_tls_on(const conn *c)
{
    return c->tls != NULL;
}

static void on_closed(uv_handle_t *h)
{
    conn *c = h->data;
    sbuf_free(&c->own);
    if (c->tls) {
        SSL_free(c->tls->ssl); /* frees both BIOs */
        sbuf_wipe(&c->tls->pending);
        sbuf_free(&c->tls->why);
        free(c->tls);
        c->tls = NULL;
    }
    c->ops->closed(c);
}

void conn_close(conn *c)
{
    if (c->closing)
        return;
    c->closing = true;
    c->view_len = 0;
    uv_close((uv_handle_t *)&c->tcp, on_closed);
}

void conn_peer(const conn *c, sbuf *out)
{
    struct sockaddr_storage ss;
    int len = sizeof ss;
    char ip[64] = "?";
    int port = 0;
    if (uv_tcp_getpeername(&c->tcp, (struct sockaddr *)&ss, &len) == 0) {
        if (ss.ss_family == AF_INET) {
            uv_ip4_name((struct sockaddr_in *)&ss, ip, sizeof ip);
            port = ntohs(((struct sockaddr_in *)&ss)->sin_port);
        } else if (ss.ss_family == AF_INET6) {
            uv_ip6_name((struct sockaddr_in6 *)&ss, ip, sizeof ip);
            port = ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
        }
    }
    sbuf_addf(out, "%s:%d", ip, port);
}
