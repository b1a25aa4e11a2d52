/* wire: MySQL protocol formats. See wire.h.
 *
 * Layouts follow the protocol documentation of MySQL and MariaDB; where
 * the two differ (MariaDB's extended capabilities in reserved bytes) the
 * router neither asks for nor offers the extension, so the common layout
 * is all it reads and writes. */
#include "router/wire.h"

#include <openssl/evp.h>
#include <stdarg.h>
#include <string.h>

/* ---- reading ---- */

const uint8_t *wire_bytes(wire_rd *r, size_t n)
{
    if (r->bad || (size_t)(r->end - r->p) < n) {
        r->bad = true;
        return NULL;
    }
    const uint8_t *p = r->p;
    r->p += n;
    return p;
}

static uint64_t rd_le(wire_rd *r, size_t n)
{
    const uint8_t *p = wire_bytes(r, n);
    uint64_t v = 0;
    for (size_t i = 0; p && i < n; i++)
        v |= (uint64_t)p[i] << (8 * i);
    return v;
}

uint8_t wire_u8(wire_rd *r)
{
    return (uint8_t)rd_le(r, 1);
}

uint16_t wire_u16(wire_rd *r)
{
    return (uint16_t)rd_le(r, 2);
}

uint32_t wire_u24(wire_rd *r)
{
    return (uint32_t)rd_le(r, 3);
}

uint32_t wire_u32(wire_rd *r)
{
    return (uint32_t)rd_le(r, 4);
}

uint64_t wire_lenenc(wire_rd *r)
{
    uint8_t first = wire_u8(r);
    switch (first) {
    case 0xfc:
        return rd_le(r, 2);
    case 0xfd:
        return rd_le(r, 3);
    case 0xfe:
        return rd_le(r, 8);
    case 0xfb: /* NULL in a row; never a length where the router reads one */
    case 0xff:
        r->bad = true;
        return 0;
    default:
        return first;
    }
}

const char *wire_nulstr(wire_rd *r, size_t *len)
{
    if (r->bad)
        return NULL;
    const uint8_t *nul = memchr(r->p, 0, (size_t)(r->end - r->p));
    if (!nul) {
        r->bad = true;
        return NULL;
    }
    const char *s = (const char *)r->p;
    *len = (size_t)(nul - r->p);
    r->p = nul + 1;
    return s;
}

const uint8_t *wire_lenstr(wire_rd *r, size_t *len)
{
    uint64_t n = wire_lenenc(r);
    if (r->bad || n > (uint64_t)(r->end - r->p)) {
        r->bad = true;
        return NULL;
    }
    *len = (size_t)n;
    return wire_bytes(r, (size_t)n);
}

/* ---- writing ---- */

static void put_le(sbuf *sb, uint64_t v, size_t n)
{
    uint8_t b[8];
    for (size_t i = 0; i < n; i++)
        b[i] = (uint8_t)(v >> (8 * i));
    sbuf_add(sb, b, n);
}

void wire_put_u8(sbuf *sb, uint8_t v)
{
    put_le(sb, v, 1);
}

void wire_put_u16(sbuf *sb, uint16_t v)
{
    put_le(sb, v, 2);
}

void wire_put_u24(sbuf *sb, uint32_t v)
{
    put_le(sb, v, 3);
}

void wire_put_u32(sbuf *sb, uint32_t v)
{
    put_le(sb, v, 4);
}

void wire_put_lenenc(sbuf *sb, uint64_t v)
{
    if (v < 251) {
        put_le(sb, v, 1);
    } else if (v < 1u << 16) {
        wire_put_u8(sb, 0xfc);
        put_le(sb, v, 2);
    } else if (v < 1u << 24) {
        wire_put_u8(sb, 0xfd);
        put_le(sb, v, 3);
    } else {
        wire_put_u8(sb, 0xfe);
        put_le(sb, v, 8);
    }
}

void wire_put_lenstr(sbuf *sb, const void *s, size_t len)
{
    wire_put_lenenc(sb, len);
    sbuf_add(sb, s, len);
}

size_t wire_begin(sbuf *sb)
{
    size_t start = sb->len;
    sbuf_add(sb, "\0\0\0\0", WIRE_HEADER);
    return start;
}

/* A payload of WIRE_MAX_FRAME bytes or more goes out as full frames and a
 * last shorter one (possibly empty), each with the next sequence number:
 * the headers are inserted by moving the payload, which only happens for
 * packets of 16 MB and more. */
void wire_end(sbuf *sb, size_t start, uint8_t *seq)
{
    size_t len = sb->len - start - WIRE_HEADER;
    size_t nframes = len / WIRE_MAX_FRAME + 1;
    if (nframes > 1) {
        sbuf_grow(sb, (nframes - 1) * WIRE_HEADER);
        uint8_t *base = (uint8_t *)sb->buf + start + WIRE_HEADER;
        /* Move frames back to front so nothing is overwritten. */
        for (size_t f = nframes - 1; f >= 1; f--) {
            size_t from = f * WIRE_MAX_FRAME, n = f == nframes - 1 ? len - from : WIRE_MAX_FRAME;
            memmove(base + from + f * WIRE_HEADER, base + from, n);
        }
        sb->len += (nframes - 1) * WIRE_HEADER;
    }
    uint8_t *p = (uint8_t *)sb->buf + start;
    for (size_t f = 0; f < nframes; f++) {
        size_t n = f == nframes - 1 ? len - f * WIRE_MAX_FRAME : WIRE_MAX_FRAME;
        p[0] = (uint8_t)n;
        p[1] = (uint8_t)(n >> 8);
        p[2] = (uint8_t)(n >> 16);
        p[3] = (*seq)++;
        p += WIRE_HEADER + n;
    }
    sb->buf[sb->len] = '\0';
}

void wire_frame(sbuf *sb, const void *payload, size_t len, uint8_t *seq)
{
    size_t start = wire_begin(sb);
    sbuf_add(sb, payload, len);
    wire_end(sb, start, seq);
}

void wire_put_ok(sbuf *sb, uint8_t *seq, uint16_t status, uint16_t warnings)
{
    size_t start = wire_begin(sb);
    wire_put_u8(sb, 0x00);
    wire_put_lenenc(sb, 0);
    wire_put_lenenc(sb, 0);
    wire_put_u16(sb, status);
    wire_put_u16(sb, warnings);
    wire_end(sb, start, seq);
}

void wire_put_eof(sbuf *sb, uint8_t *seq, uint16_t status, uint16_t warnings)
{
    size_t start = wire_begin(sb);
    wire_put_u8(sb, 0xfe);
    wire_put_u16(sb, warnings);
    wire_put_u16(sb, status);
    wire_end(sb, start, seq);
}

static const struct {
    uint16_t code;
    const char *state;
} errs[] = {
    [WERR_ACCESS_DENIED] = {1045, "28000"}, [WERR_BAD_HANDSHAKE] = {1043, "08S01"},
    [WERR_UNKNOWN_COM] = {1047, "08S01"},   [WERR_PACKET_TOO_BIG] = {1153, "08S01"},
    [WERR_OUT_OF_ORDER] = {1156, "08S01"},  [WERR_UNKNOWN_STMT] = {1243, "HY000"},
    [WERR_NO_BACKEND] = {1429, "08S01"},    [WERR_LOST_BACKEND] = {1927, "08S01"},
    [WERR_ROUTER] = {1105, "HY000"},        [WERR_TOO_MANY] = {1040, "08004"},
    [WERR_HELD] = {1205, "HY000"},          [WERR_TXN_ROLLED_BACK] = {1213, "40001"},
};

uint16_t wire_err_code(wire_err e)
{
    return errs[e].code;
}

void wire_put_err(sbuf *sb, uint8_t *seq, wire_err e, const char *msg)
{
    size_t start = wire_begin(sb);
    wire_put_u8(sb, 0xff);
    wire_put_u16(sb, errs[e].code);
    sbuf_addc(sb, '#');
    sbuf_adds(sb, errs[e].state);
    /* Clients show this text as is: keep it readable, bounded UTF-8. */
    sbuf_add_printable(sb, msg, strlen(msg), 1000);
    wire_end(sb, start, seq);
}

void wire_put_errf(sbuf *sb, uint8_t *seq, wire_err e, const char *fmt, ...)
{
    sbuf msg = SBUF_INIT;
    va_list ap;
    va_start(ap, fmt);
    sbuf_vaddf(&msg, fmt, ap);
    va_end(ap);
    wire_put_err(sb, seq, e, sbuf_cstr(&msg));
    sbuf_free(&msg);
}

int wire_parse_err(const uint8_t *payload, size_t len, wire_error *out)
{
    wire_rd r = wire_rd_of(payload, len);
    memset(out, 0, sizeof *out);
    if (wire_u8(&r) != 0xff)
        return -1;
    out->code = wire_u16(&r);
    if (wire_rd_left(&r) >= 6 && r.p[0] == '#') {
        memcpy(out->sqlstate, r.p + 1, 5);
        r.p += 6;
    }
    if (r.bad)
        return -1;
    out->msg = (const char *)r.p;
    out->msg_len = wire_rd_left(&r);
    return 0;
}

int wire_parse_status(const uint8_t *payload, size_t len, uint16_t *status)
{
    wire_rd r = wire_rd_of(payload, len);
    uint8_t h = wire_u8(&r);
    if (h == 0xfe && len < 9) { /* EOF: warnings, then status */
        wire_u16(&r);
        *status = wire_u16(&r);
    } else if (h == 0x00 || h == 0xfe) {
        wire_lenenc(&r);
        wire_lenenc(&r);
        *status = wire_u16(&r);
    } else {
        return -1;
    }
    return r.bad ? -1 : 0;
}

/* OK (CLIENT_SESSION_TRACK): header, affected rows, insert id, status,
 * warnings, then the info as a length-encoded string (MariaDB leaves it
 * out when it is empty and nothing changed) and, with
 * SERVER_SESSION_STATE_CHANGED, the changes: one length-encoded block of
 * entries (type, length-encoded data). */
int wire_ok_gtid(const uint8_t *payload, size_t len, const uint8_t **gtid, size_t *gtid_len)
{
    wire_rd r = wire_rd_of(payload, len);
    if (wire_u8(&r) != 0x00)
        return -1;
    wire_lenenc(&r);
    wire_lenenc(&r);
    uint16_t status = wire_u16(&r);
    wire_u16(&r);
    if (r.bad)
        return -1;
    if (!(status & STATUS_SESSION_STATE_CHANGED) || wire_rd_left(&r) == 0)
        return 0;
    size_t n;
    wire_lenstr(&r, &n); /* info */
    const uint8_t *block = wire_lenstr(&r, &n);
    if (r.bad)
        return -1;
    int found = 0;
    wire_rd st = wire_rd_of(block, n);
    while (wire_rd_left(&st) > 0) {
        uint8_t type = wire_u8(&st);
        size_t dlen;
        const uint8_t *data = wire_lenstr(&st, &dlen);
        if (st.bad)
            return -1;
        wire_rd d = wire_rd_of(data, dlen);
        size_t a, b;
        const uint8_t *name, *value;
        switch (type) {
        case WIRE_TRACK_SYSTEM_VARIABLES:
            name = wire_lenstr(&d, &a);
            value = wire_lenstr(&d, &b);
            if (d.bad)
                return -1;
            if (a == 9 && memcmp(name, "last_gtid", 9) == 0) {
                *gtid = value;
                *gtid_len = b;
                found = 1;
            }
            break;
        case WIRE_TRACK_GTIDS:
            wire_u8(&d); /* the encoding: 0, the only one */
            value = wire_lenstr(&d, &b);
            if (d.bad)
                return -1;
            *gtid = value;
            *gtid_len = b;
            found = 1;
            break;
        default:
            break;
        }
    }
    return found;
}

int wire_first_value(const uint8_t *reply, size_t len, const uint8_t **value, size_t *value_len)
{
    size_t at = 0;
    uint64_t ncols = 0, defs = 0;
    enum { COUNT, DEFS, DEFS_EOF, ROW } want = COUNT;
    while (len - at >= WIRE_HEADER) {
        uint32_t n = wire_frame_len(reply + at);
        if (n == WIRE_MAX_FRAME || len - at - WIRE_HEADER < n || n == 0)
            return -1;
        const uint8_t *p = reply + at + WIRE_HEADER;
        at += WIRE_HEADER + n;
        wire_rd r = wire_rd_of(p, n);
        switch (want) {
        case COUNT:
            ncols = wire_lenenc(&r);
            if (r.bad || ncols == 0 || wire_rd_left(&r) != 0 || p[0] == 0xfb)
                return -1;
            want = DEFS;
            break;
        case DEFS:
            if (++defs == ncols)
                want = DEFS_EOF;
            break;
        case DEFS_EOF:
            if (p[0] != 0xfe || n >= 9)
                return -1;
            want = ROW;
            break;
        case ROW:
            if ((p[0] == 0xfe && n < 9) || p[0] == 0xff)
                return 0; /* the EOF after no row, or an error instead of rows */
            if (p[0] == 0xfb) {
                *value = NULL;
                *value_len = 0;
                return 1;
            }
            *value = wire_lenstr(&r, value_len);
            return r.bad ? -1 : 1;
        }
    }
    return -1;
}

/* ---- connection phase ---- */

static void copy_str(char *dst, size_t cap, const char *s, size_t len)
{
    if (len >= cap)
        len = cap - 1;
    memcpy(dst, s, len);
    dst[len] = '\0';
}

int wire_parse_handshake(const uint8_t *payload, size_t len, wire_handshake *h)
{
    wire_rd r = wire_rd_of(payload, len);
    memset(h, 0, sizeof *h);
    if (wire_u8(&r) != 10)
        return -1;
    size_t n;
    const char *v = wire_nulstr(&r, &n);
    if (!v)
        return -1;
    copy_str(h->version, sizeof h->version, v, n);
    h->conn_id = wire_u32(&r);
    const uint8_t *s1 = wire_bytes(&r, 8);
    wire_u8(&r);
    h->caps = wire_u16(&r);
    h->charset = wire_u8(&r);
    h->status = wire_u16(&r);
    h->caps |= (uint32_t)wire_u16(&r) << 16;
    uint8_t alen = wire_u8(&r);
    wire_bytes(&r, 10);
    if (r.bad || !s1 || !(h->caps & CAP_SECURE_CONNECTION) || !(h->caps & CAP_PROTOCOL_41))
        return -1;
    memcpy(h->scramble, s1, 8);
    size_t n2 = alen > 8 ? (size_t)alen - 8 : 13;
    if (n2 < 13)
        n2 = 13;
    const uint8_t *s2 = wire_bytes(&r, n2);
    if (!s2)
        return -1;
    memcpy(h->scramble + 8, s2, 12);
    if (h->caps & CAP_PLUGIN_AUTH) {
        /* Some servers omit the final NUL. */
        size_t left = wire_rd_left(&r);
        const uint8_t *nul = memchr(r.p, 0, left);
        copy_str(h->plugin, sizeof h->plugin, (const char *)r.p, nul ? (size_t)(nul - r.p) : left);
    }
    return 0;
}

void wire_put_handshake(sbuf *sb, const wire_handshake *h)
{
    uint8_t seq = 0;
    size_t start = wire_begin(sb);
    wire_put_u8(sb, 10);
    sbuf_add(sb, h->version, strlen(h->version) + 1);
    wire_put_u32(sb, h->conn_id);
    sbuf_add(sb, h->scramble, 8);
    wire_put_u8(sb, 0);
    wire_put_u16(sb, (uint16_t)h->caps);
    wire_put_u8(sb, h->charset);
    wire_put_u16(sb, h->status);
    wire_put_u16(sb, (uint16_t)(h->caps >> 16));
    wire_put_u8(sb, WIRE_SCRAMBLE + 1);
    sbuf_add(sb, "\0\0\0\0\0\0\0\0\0\0", 10);
    sbuf_add(sb, h->scramble + 8, 12);
    wire_put_u8(sb, 0);
    sbuf_add(sb, h->plugin, strlen(h->plugin) + 1);
    wire_end(sb, start, &seq);
}

/* The auth data, the schema, the plugin and the attributes: the part a
 * HandshakeResponse41 and a COM_CHANGE_USER share, save the auth length's
 * encoding. */
static int parse_login_tail(wire_rd *r, wire_login *l, bool change_user)
{
    if (change_user || !(l->caps & CAP_PLUGIN_AUTH_LENENC)) {
        if (l->caps & CAP_SECURE_CONNECTION) {
            l->auth_len = wire_u8(r);
            l->auth = wire_bytes(r, l->auth_len);
        } else {
            l->auth = (const uint8_t *)wire_nulstr(r, &l->auth_len);
        }
    } else {
        l->auth = wire_lenstr(r, &l->auth_len);
    }
    if (r->bad)
        return -1;
    if (change_user || (l->caps & CAP_CONNECT_WITH_DB)) {
        if (wire_rd_left(r) == 0 && change_user)
            return 0;
        l->db = wire_nulstr(r, &l->db_len);
        if (l->db && l->db_len == 0)
            l->db = NULL;
    }
    if (change_user && wire_rd_left(r) >= 2)
        l->charset = (uint8_t)wire_u16(r);
    if ((l->caps & CAP_PLUGIN_AUTH) && wire_rd_left(r) > 0) {
        size_t left = wire_rd_left(r);
        const uint8_t *nul = memchr(r->p, 0, left);
        l->plugin = (const char *)r->p;
        l->plugin_len = nul ? (size_t)(nul - r->p) : left;
        r->p += nul ? l->plugin_len + 1 : left;
    }
    if ((l->caps & CAP_CONNECT_ATTRS) && wire_rd_left(r) > 0) {
        const uint8_t *at = r->p;
        size_t n;
        if (!wire_lenstr(r, &n))
            return -1;
        l->attrs = at;
        l->attrs_len = (size_t)(r->p - at);
    }
    return r->bad ? -1 : 0;
}

int wire_parse_login(const uint8_t *payload, size_t len, wire_login *l)
{
    wire_rd r = wire_rd_of(payload, len);
    memset(l, 0, sizeof *l);
    l->caps = wire_u32(&r);
    l->max_packet = wire_u32(&r);
    l->charset = wire_u8(&r);
    wire_bytes(&r, 23);
    if (r.bad || !(l->caps & CAP_PROTOCOL_41))
        return -1;
    if (wire_rd_left(&r) == 0) {
        l->ssl_request = true;
        return (l->caps & CAP_SSL) ? 0 : -1;
    }
    l->user = wire_nulstr(&r, &l->user_len);
    if (!l->user)
        return -1;
    return parse_login_tail(&r, l, false);
}

int wire_parse_change_user(const uint8_t *payload, size_t len, uint32_t caps, wire_login *l)
{
    wire_rd r = wire_rd_of(payload, len);
    memset(l, 0, sizeof *l);
    l->caps = caps;
    l->user = wire_nulstr(&r, &l->user_len);
    if (!l->user)
        return -1;
    return parse_login_tail(&r, l, true);
}

void wire_put_login(sbuf *sb, uint8_t *seq, const wire_login *l)
{
    size_t start = wire_begin(sb);
    wire_put_u32(sb, l->caps);
    wire_put_u32(sb, l->max_packet);
    wire_put_u8(sb, l->charset);
    sbuf_add(sb, "\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0", 23);
    if (l->ssl_request) { /* the SSLRequest ends here; TLS starts after it */
        wire_end(sb, start, seq);
        return;
    }
    sbuf_add(sb, l->user, l->user_len);
    wire_put_u8(sb, 0);
    if (l->caps & CAP_PLUGIN_AUTH_LENENC) {
        wire_put_lenstr(sb, l->auth, l->auth_len);
    } else {
        wire_put_u8(sb, (uint8_t)l->auth_len);
        sbuf_add(sb, l->auth, l->auth_len);
    }
    if (l->caps & CAP_CONNECT_WITH_DB) {
        sbuf_add(sb, l->db, l->db ? l->db_len : 0);
        wire_put_u8(sb, 0);
    }
    if (l->caps & CAP_PLUGIN_AUTH) {
        sbuf_add(sb, l->plugin, l->plugin ? l->plugin_len : 0);
        wire_put_u8(sb, 0);
    }
    if (l->caps & CAP_CONNECT_ATTRS) {
        if (l->attrs)
            sbuf_add(sb, l->attrs, l->attrs_len);
        else
            wire_put_lenenc(sb, 0);
    }
    wire_end(sb, start, seq);
}

int wire_parse_auth_switch(const uint8_t *payload, size_t len, char *plugin, size_t plugin_cap,
                           uint8_t scramble[WIRE_SCRAMBLE])
{
    wire_rd r = wire_rd_of(payload, len);
    if (wire_u8(&r) != 0xfe)
        return -1;
    size_t n;
    const char *p = wire_nulstr(&r, &n);
    if (!p)
        return -1;
    copy_str(plugin, plugin_cap, p, n);
    memset(scramble, 0, WIRE_SCRAMBLE);
    size_t left = wire_rd_left(&r);
    if (left > 0 && r.p[left - 1] == 0)
        left--;
    if (left >= WIRE_SCRAMBLE)
        memcpy(scramble, r.p, WIRE_SCRAMBLE);
    return 0;
}

void wire_put_auth_switch(sbuf *sb, uint8_t *seq, const char *plugin, const uint8_t scramble[WIRE_SCRAMBLE])
{
    size_t start = wire_begin(sb);
    wire_put_u8(sb, 0xfe);
    sbuf_add(sb, plugin, strlen(plugin) + 1);
    sbuf_add(sb, scramble, WIRE_SCRAMBLE);
    wire_put_u8(sb, 0);
    wire_end(sb, start, seq);
}

/* ---- mysql_native_password ---- */

void wire_sha1(const void *a, size_t alen, const void *b, size_t blen, uint8_t out[20])
{
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    unsigned n = 20;
    EVP_DigestInit_ex(ctx, EVP_sha1(), NULL);
    EVP_DigestUpdate(ctx, a, alen);
    if (blen)
        EVP_DigestUpdate(ctx, b, blen);
    EVP_DigestFinal_ex(ctx, out, &n);
    EVP_MD_CTX_free(ctx);
}

void wire_native_token(const uint8_t stage1[20], const uint8_t scramble[WIRE_SCRAMBLE], uint8_t out[20])
{
    uint8_t stage2[20], mix[20];
    wire_sha1(stage1, 20, NULL, 0, stage2);
    wire_sha1(scramble, WIRE_SCRAMBLE, stage2, 20, mix);
    for (int i = 0; i < 20; i++)
        out[i] = stage1[i] ^ mix[i];
    secure_zero(stage2, sizeof stage2);
}

bool wire_native_check(const uint8_t stage2[20], const uint8_t scramble[WIRE_SCRAMBLE], const uint8_t *token,
                       size_t token_len, uint8_t stage1_out[20])
{
    if (token_len != 20)
        return false;
    uint8_t mix[20], check[20];
    wire_sha1(scramble, WIRE_SCRAMBLE, stage2, 20, mix);
    for (int i = 0; i < 20; i++)
        stage1_out[i] = token[i] ^ mix[i];
    wire_sha1(stage1_out, 20, NULL, 0, check);
    /* Constant time: the comparison must not tell how much matched. */
    uint8_t diff = 0;
    for (int i = 0; i < 20; i++)
        diff |= (uint8_t)(check[i] ^ stage2[i]);
    if (diff)
        secure_zero(stage1_out, 20);
    return diff == 0;
}
