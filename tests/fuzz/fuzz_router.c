/* libFuzzer target: arbitrary bytes into the router's protocol parsers.
 *
 * Everything a client or a server sends the router passes through one of
 * these before anything else looks at it. Byte 0 picks the parser:
 *   0  a client's HandshakeResponse41 (or SSLRequest)
 *   1  a server's Handshake v10
 *   2  a COM_CHANGE_USER body, with the client capabilities in bytes 1-4
 *   3  an auth switch request, an ERR packet, an OK/EOF status, the GTID
 *      in an OK packet's session state, a one-value result set
 *   4+ a server's reply to a command: byte 1 picks the reply kind, byte 2
 *      seeds how the rest is cut into pieces (as the network would), and
 *      the pieces are fed to resp_feed with the caller's contract: keep
 *      what was not used, add the next piece; odd seeds read OK packets'
 *      session state (a backend with CLIENT_SESSION_TRACK).
 * Checked: no parser reads outside its input (ASan), used never exceeds
 * what was given, and a finished reply stays finished.
 *
 * Run: make fuzz-router (FUZZ_SECONDS, default 900); make fuzz-smoke runs
 * it briefly after the decoder and the classifier. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "router/resp.h"
#include "router/wire.h"

static void feed_reply(const uint8_t *data, size_t size)
{
    if (size < 2)
        return;
    resp_parser p;
    resp_start(&p, (resp_kind)(data[0] % (RESP_ANY1 + 1)));
    unsigned seed = data[1];
    p.session_track = seed & 1;
    data += 2;
    size -= 2;
    /* The unused tail is kept, as backend.c keeps it in the connection. */
    uint8_t *pending = malloc(size + 1);
    size_t have = 0, at = 0;
    bool done = false;
    while (at < size || have) {
        seed = seed * 1103515245u + 12345u;
        size_t piece = 1 + (seed >> 16) % 64;
        if (piece > size - at)
            piece = size - at;
        memcpy(pending + have, data + at, piece);
        have += piece;
        at += piece;
        size_t used = 0;
        resp_event ev = resp_feed(&p, pending, have, &used);
        if (used > have)
            abort();
        if (done && (ev != RESP_DONE || used != 0))
            abort(); /* a finished reply must stay finished */
        if (ev == RESP_BAD)
            break;
        if (ev == RESP_DONE)
            done = true;
        memmove(pending, pending + used, have - used);
        have -= used;
        if (used == 0 && piece == 0)
            break; /* nothing more will come */
    }
    if (p.gtid_len >= sizeof p.gtid || p.gtid[p.gtid_len] != '\0')
        abort(); /* the GTIDs collected stay a bounded C string */
    free(pending);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    uint8_t mode = data[0];
    const uint8_t *p = data + 1;
    size_t n = size - 1;
    /* Copies of exactly the input's size, so ASan sees any overread. */
    uint8_t *buf = malloc(n ? n : 1);
    memcpy(buf, p, n);
    switch (mode) {
    case 0: {
        wire_login l;
        if (wire_parse_login(buf, n, &l) == 0 && l.user && l.user_len > n)
            abort();
        break;
    }
    case 1: {
        wire_handshake h;
        wire_parse_handshake(buf, n, &h);
        break;
    }
    case 2: {
        if (n < 4)
            break;
        uint32_t caps = (uint32_t)buf[0] | (uint32_t)buf[1] << 8 | (uint32_t)buf[2] << 16 | (uint32_t)buf[3] << 24;
        uint8_t *body = malloc(n - 4 ? n - 4 : 1);
        memcpy(body, buf + 4, n - 4);
        wire_login l;
        wire_parse_change_user(body, n - 4, caps, &l);
        free(body);
        break;
    }
    case 3: {
        char plugin[64];
        uint8_t scramble[WIRE_SCRAMBLE];
        wire_error e;
        uint16_t status;
        wire_parse_auth_switch(buf, n, plugin, sizeof plugin, scramble);
        if (wire_parse_err(buf, n, &e) == 0 && e.msg_len > n)
            abort();
        wire_parse_status(buf, n, &status);
        const uint8_t *v;
        size_t vlen;
        if (wire_ok_gtid(buf, n, &v, &vlen) == 1 && (v < buf || v + vlen > buf + n))
            abort();
        if (wire_first_value(buf, n, &v, &vlen) == 1 && v && (v < buf || v + vlen > buf + n))
            abort();
        break;
    }
    default:
        feed_reply(buf, n);
        break;
    }
    free(buf);
    return 0;
}
