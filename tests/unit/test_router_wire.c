/* Unit tests: the router's protocol pieces. Wire formats both ways (what
 * the router writes, it must read back the same), mysql_native_password
 * against the server's own hash, where a reply ends however the network
 * cuts it, and the accounts file. For read-your-writes: the GTIDs OK
 * packets report, a one-value result, and which GTIDs cover which. */
#include <CUnit/CUnit.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "router/accounts.h"
#include "router/position.h"
#include "router/resp.h"
#include "router/ryw.h"
#include "router/wire.h"

/* ---- wire ---- */

static void test_lenenc(void)
{
    const uint64_t values[] = {0, 250, 251, 65535, 65536, 16777215, 16777216, UINT64_MAX};
    for (size_t i = 0; i < sizeof values / sizeof values[0]; i++) {
        sbuf b = SBUF_INIT;
        wire_put_lenenc(&b, values[i]);
        wire_rd r = wire_rd_of(b.buf, b.len);
        CU_ASSERT_EQUAL(wire_lenenc(&r), values[i]);
        CU_ASSERT_FALSE(r.bad);
        CU_ASSERT_EQUAL(wire_rd_left(&r), 0);
        /* One byte short is bad, never a read past the end. */
        wire_rd cut = wire_rd_of(b.buf, b.len - 1);
        wire_lenenc(&cut);
        CU_ASSERT(b.len == 1 || cut.bad);
        sbuf_free(&b);
    }
}

/* A payload of 16 MB - 1 or more goes out as full frames and a shorter
 * last one, each with the next sequence number. */
static void check_frames(size_t len)
{
    sbuf b = SBUF_INIT;
    uint8_t seq = 3;
    size_t start = wire_begin(&b);
    for (size_t i = 0; i < len; i++)
        sbuf_addc(&b, (char)(i * 7));
    wire_end(&b, start, &seq);
    size_t frames = len / WIRE_MAX_FRAME + 1, at = 0, got = 0;
    CU_ASSERT_EQUAL(seq, (uint8_t)(3 + frames));
    CU_ASSERT_EQUAL(b.len, len + frames * WIRE_HEADER);
    for (size_t f = 0; f < frames; f++) {
        uint32_t n = wire_frame_len((uint8_t *)b.buf + at);
        CU_ASSERT_EQUAL((uint8_t)b.buf[at + 3], (uint8_t)(3 + f));
        CU_ASSERT_EQUAL(n, f + 1 < frames ? WIRE_MAX_FRAME : len - f * WIRE_MAX_FRAME);
        for (size_t i = 0; i < n; i += 65521)
            CU_ASSERT_EQUAL((uint8_t)b.buf[at + WIRE_HEADER + i], (uint8_t)((got + i) * 7));
        got += n;
        at += WIRE_HEADER + n;
    }
    CU_ASSERT_EQUAL(got, len);
    sbuf_free(&b);
}

static void test_frames(void)
{
    check_frames(0);
    check_frames(100);
    check_frames(WIRE_MAX_FRAME - 1);
    check_frames(WIRE_MAX_FRAME);
    check_frames(WIRE_MAX_FRAME + 5);
    check_frames(2 * (size_t)WIRE_MAX_FRAME + 1);
}

/* PASSWORD('app-password') as the server prints it. */
static const char *APP_HASH = "*F142931D9296BB66D4600D47418DBC1475D27D29";

static void hash_bytes(const char *hex, uint8_t out[20])
{
    for (int i = 0; i < 20; i++) {
        unsigned v;
        sscanf(hex + 1 + 2 * i, "%2x", &v);
        out[i] = (uint8_t)v;
    }
}

static void test_native_password(void)
{
    uint8_t stage2[20], stage1[20], token[20], back[20];
    hash_bytes(APP_HASH, stage2);
    /* What a client computes from the password... */
    wire_sha1("app-password", 12, NULL, 0, stage1);
    uint8_t scramble[WIRE_SCRAMBLE];
    for (int i = 0; i < WIRE_SCRAMBLE; i++)
        scramble[i] = (uint8_t)(0x21 + i * 3);
    wire_native_token(stage1, scramble, token);
    /* ...checks against the server's hash and gives SHA1(pw) back. */
    CU_ASSERT_TRUE(wire_native_check(stage2, scramble, token, 20, back));
    CU_ASSERT_EQUAL(memcmp(back, stage1, 20), 0);
    token[5] ^= 1;
    CU_ASSERT_FALSE(wire_native_check(stage2, scramble, token, 20, back));
    CU_ASSERT_FALSE(wire_native_check(stage2, scramble, token, 0, back));
    CU_ASSERT_FALSE(wire_native_check(stage2, scramble, token, 19, back));
}

static void test_handshake_roundtrip(void)
{
    wire_handshake h = {0}, back;
    h.conn_id = 77;
    strcpy(h.version, "5.5.5-10.11.19-MariaDB");
    for (int i = 0; i < WIRE_SCRAMBLE; i++)
        h.scramble[i] = (uint8_t)('A' + i);
    h.caps = CAP_PROTOCOL_41 | CAP_SECURE_CONNECTION | CAP_PLUGIN_AUTH | CAP_MULTI_RESULTS;
    h.charset = 45;
    h.status = STATUS_AUTOCOMMIT;
    strcpy(h.plugin, "mysql_native_password");
    sbuf b = SBUF_INIT;
    wire_put_handshake(&b, &h);
    CU_ASSERT_EQUAL(wire_frame_len((uint8_t *)b.buf), b.len - WIRE_HEADER);
    CU_ASSERT_EQUAL(wire_parse_handshake((uint8_t *)b.buf + WIRE_HEADER, b.len - WIRE_HEADER, &back), 0);
    CU_ASSERT_EQUAL(back.conn_id, 77);
    CU_ASSERT_STRING_EQUAL(back.version, h.version);
    CU_ASSERT_EQUAL(memcmp(back.scramble, h.scramble, WIRE_SCRAMBLE), 0);
    CU_ASSERT_EQUAL(back.caps, h.caps);
    CU_ASSERT_EQUAL(back.charset, 45);
    CU_ASSERT_STRING_EQUAL(back.plugin, "mysql_native_password");
    /* Cut short anywhere: refused, never read past. */
    for (size_t n = 0; n + 1 < b.len - WIRE_HEADER - 22; n++) {
        uint8_t *cut = malloc(n ? n : 1);
        memcpy(cut, b.buf + WIRE_HEADER, n);
        CU_ASSERT_NOT_EQUAL(wire_parse_handshake(cut, n, &back), 0);
        free(cut);
    }
    sbuf_free(&b);
}

static void login_roundtrip(uint32_t caps, const char *db, bool attrs)
{
    uint8_t auth[20];
    memset(auth, 0xAB, sizeof auth);
    sbuf at = SBUF_INIT;
    wire_put_lenenc(&at, 12);
    sbuf_add(&at, "\x04_pid\x05" "12345", 12);
    wire_login l = {0}, back;
    l.caps = caps;
    l.max_packet = 1 << 24;
    l.charset = 33;
    l.user = "app";
    l.user_len = 3;
    l.auth = auth;
    l.auth_len = 20;
    l.db = db;
    l.db_len = db ? strlen(db) : 0;
    l.plugin = "mysql_native_password";
    l.plugin_len = 21;
    l.attrs = attrs ? (uint8_t *)at.buf : NULL;
    l.attrs_len = attrs ? at.len : 0;
    sbuf b = SBUF_INIT;
    uint8_t seq = 1;
    wire_put_login(&b, &seq, &l);
    CU_ASSERT_EQUAL(seq, 2);
    CU_ASSERT_EQUAL(wire_parse_login((uint8_t *)b.buf + WIRE_HEADER, b.len - WIRE_HEADER, &back), 0);
    CU_ASSERT_EQUAL(back.caps, caps);
    CU_ASSERT_EQUAL(back.charset, 33);
    CU_ASSERT_EQUAL(back.user_len, 3);
    CU_ASSERT_EQUAL(back.auth_len, 20);
    CU_ASSERT_EQUAL(memcmp(back.auth, auth, 20), 0);
    if (db && (caps & CAP_CONNECT_WITH_DB)) {
        CU_ASSERT_EQUAL(back.db_len, strlen(db));
        CU_ASSERT_EQUAL(memcmp(back.db, db, back.db_len), 0);
    } else {
        CU_ASSERT_PTR_NULL(back.db);
    }
    CU_ASSERT_EQUAL(back.plugin_len, 21);
    if (attrs && (caps & CAP_CONNECT_ATTRS)) {
        CU_ASSERT_EQUAL(back.attrs_len, at.len);
    }
    sbuf_free(&b);
    sbuf_free(&at);
}

static void test_login_roundtrip(void)
{
    uint32_t base = CAP_PROTOCOL_41 | CAP_SECURE_CONNECTION | CAP_PLUGIN_AUTH;
    login_roundtrip(base, NULL, false);
    login_roundtrip(base | CAP_CONNECT_WITH_DB, "shop", false);
    login_roundtrip(base | CAP_PLUGIN_AUTH_LENENC | CAP_CONNECT_WITH_DB | CAP_CONNECT_ATTRS, "shop", true);
    login_roundtrip(base | CAP_CONNECT_ATTRS, NULL, true);
}

static void test_ssl_request(void)
{
    uint8_t p[32] = {0};
    uint32_t caps = CAP_PROTOCOL_41 | CAP_SSL;
    memcpy(p, &caps, 4);
    wire_login l;
    CU_ASSERT_EQUAL(wire_parse_login(p, 32, &l), 0);
    CU_ASSERT_TRUE(l.ssl_request);
    caps = CAP_PROTOCOL_41; /* 32 bytes without CLIENT_SSL: not a login */
    memcpy(p, &caps, 4);
    CU_ASSERT_NOT_EQUAL(wire_parse_login(p, 32, &l), 0);

    /* The router's own SSLRequest toward a server: 32 bytes, read back as one. */
    wire_login out = {0};
    out.caps = CAP_PROTOCOL_41 | CAP_SECURE_CONNECTION | CAP_SSL;
    out.max_packet = 1u << 30;
    out.charset = 45;
    out.ssl_request = true;
    out.user = "app"; /* not sent */
    out.user_len = 3;
    sbuf b = SBUF_INIT;
    uint8_t seq = 1;
    wire_put_login(&b, &seq, &out);
    CU_ASSERT_EQUAL(seq, 2);
    CU_ASSERT_EQUAL(b.len, WIRE_HEADER + 32);
    CU_ASSERT_EQUAL(wire_parse_login((uint8_t *)b.buf + WIRE_HEADER, b.len - WIRE_HEADER, &l), 0);
    CU_ASSERT_TRUE(l.ssl_request);
    CU_ASSERT_EQUAL(l.caps, out.caps);
    CU_ASSERT_EQUAL(l.charset, 45);
    sbuf_free(&b);
}

static void test_err_roundtrip(void)
{
    sbuf b = SBUF_INIT;
    uint8_t seq = 1;
    wire_put_errf(&b, &seq, WERR_ACCESS_DENIED, "Access denied for user '%s'", "app");
    wire_error e;
    CU_ASSERT_EQUAL(wire_parse_err((uint8_t *)b.buf + WIRE_HEADER, b.len - WIRE_HEADER, &e), 0);
    CU_ASSERT_EQUAL(e.code, 1045);
    CU_ASSERT_STRING_EQUAL(e.sqlstate, "28000");
    CU_ASSERT_EQUAL(e.msg_len, strlen("Access denied for user 'app'"));
    sbuf_free(&b);
    /* Invalid UTF-8 in a message goes out escaped, still valid UTF-8. */
    seq = 1;
    wire_put_err(&b, &seq, WERR_ROUTER, "bad \xff byte");
    CU_ASSERT_TRUE(utf8_valid(b.buf + WIRE_HEADER + 9, b.len - WIRE_HEADER - 9));
    sbuf_free(&b);
}

static void test_change_user(void)
{
    /* user NUL, auth length + auth, db NUL, charset(2), plugin NUL */
    static const uint8_t body[] = "bob\0\x03xyzshop\0\x21\x00mysql_native_password";
    wire_login l;
    uint32_t caps = CAP_PROTOCOL_41 | CAP_SECURE_CONNECTION | CAP_PLUGIN_AUTH;
    CU_ASSERT_EQUAL(wire_parse_change_user(body, sizeof body, caps, &l), 0);
    CU_ASSERT_EQUAL(l.user_len, 3);
    CU_ASSERT_EQUAL(l.auth_len, 3);
    CU_ASSERT_EQUAL(l.db_len, 4);
    CU_ASSERT_EQUAL(l.charset, 0x21);
    CU_ASSERT_EQUAL(l.plugin_len, 21);
    CU_ASSERT_NOT_EQUAL(wire_parse_change_user(body, 5, caps, &l), 0); /* auth cut short */
}

/* ---- resp ---- */

static void put_packet(sbuf *b, uint8_t *seq, const void *p, size_t n)
{
    wire_frame(b, p, n, seq);
}

static void put_eof(sbuf *b, uint8_t *seq, uint16_t status)
{
    wire_put_eof(b, seq, status, 0);
}

static void put_ok(sbuf *b, uint8_t *seq, uint16_t status)
{
    wire_put_ok(b, seq, status, 0);
}

/* A text result set: count, definitions, EOF, rows, EOF. */
static void put_resultset(sbuf *b, uint8_t *seq, int cols, int rows, uint16_t status)
{
    uint8_t c = (uint8_t)cols;
    put_packet(b, seq, &c, 1);
    for (int i = 0; i < cols; i++)
        put_packet(b, seq, "\x03" "def\x00\x00\x00\x01" "a\x00\x0c\x21\x00\x0b\x00\x00\x00\x03\x00\x00\x00\x00\x00", 22);
    put_eof(b, seq, status);
    for (int r = 0; r < rows; r++)
        put_packet(b, seq, "\x01" "1\xfb", 3); /* "1", NULL */
    put_eof(b, seq, status);
}

/* Feed a whole reply in pieces of `step` bytes the way backend.c does;
 * returns the bytes used when it ended (or -1), and the events seen. */
static bool feed_session_track; /* as a backend that asked for CLIENT_SESSION_TRACK */

static long feed(resp_kind kind, const sbuf *b, size_t step, resp_parser *p, int *prepared, int *infile)
{
    resp_start(p, kind);
    p->session_track = feed_session_track;
    uint8_t *buf = malloc(b->len + 1);
    size_t have = 0, at = 0, total = 0;
    *prepared = *infile = 0;
    for (;;) {
        size_t piece = b->len - at < step ? b->len - at : step;
        memcpy(buf + have, b->buf + at, piece);
        have += piece;
        at += piece;
        for (;;) {
            size_t used = 0;
            resp_event ev = resp_feed(p, buf, have, &used);
            memmove(buf, buf + used, have - used);
            have -= used;
            total += used;
            if (ev == RESP_DONE) {
                free(buf);
                return (long)total;
            }
            if (ev == RESP_BAD) {
                free(buf);
                return -1;
            }
            if (ev == RESP_PREPARED)
                (*prepared)++;
            if (ev == RESP_INFILE)
                (*infile)++;
            if (ev == RESP_MORE && !resp_complete(p))
                break;
        }
        if (piece == 0) {
            free(buf);
            return -2; /* incomplete */
        }
    }
}

static void expect_reply(resp_kind kind, const sbuf *b, long end, uint16_t status, bool failed)
{
    static const size_t steps[] = {1, 2, 3, 5, 7, 64, 100000};
    for (size_t i = 0; i < sizeof steps / sizeof steps[0]; i++) {
        resp_parser p;
        int prepared, infile;
        long got = feed(kind, b, steps[i], &p, &prepared, &infile);
        CU_ASSERT_EQUAL(got, end);
        if (end > 0) {
            CU_ASSERT_EQUAL(p.status, status);
            CU_ASSERT_EQUAL(p.failed, failed);
        }
    }
}

static void test_resp_ok_err(void)
{
    sbuf b = SBUF_INIT;
    uint8_t seq = 1;
    put_ok(&b, &seq, STATUS_AUTOCOMMIT | STATUS_IN_TRANS);
    size_t ok_len = b.len;
    sbuf_add(&b, "NEXT", 4); /* the next reply's bytes must stay */
    expect_reply(RESP_QUERY, &b, (long)ok_len, STATUS_AUTOCOMMIT | STATUS_IN_TRANS, false);
    expect_reply(RESP_SIMPLE, &b, (long)ok_len, STATUS_AUTOCOMMIT | STATUS_IN_TRANS, false);
    sbuf_reset(&b);
    seq = 1;
    wire_put_err(&b, &seq, WERR_UNKNOWN_STMT, "nope");
    resp_parser p;
    int pr, in;
    CU_ASSERT_EQUAL(feed(RESP_EXECUTE, &b, 3, &p, &pr, &in), (long)b.len);
    CU_ASSERT_TRUE(p.failed);
    CU_ASSERT_EQUAL(p.err_code, 1243);
    CU_ASSERT_STRING_EQUAL(p.err_msg, "nope");
    sbuf_free(&b);
}

static void test_resp_resultsets(void)
{
    sbuf b = SBUF_INIT;
    uint8_t seq = 1;
    put_resultset(&b, &seq, 2, 3, STATUS_AUTOCOMMIT | STATUS_MORE_RESULTS);
    put_resultset(&b, &seq, 1, 0, STATUS_AUTOCOMMIT | STATUS_MORE_RESULTS);
    put_ok(&b, &seq, STATUS_AUTOCOMMIT);
    expect_reply(RESP_QUERY, &b, (long)b.len, STATUS_AUTOCOMMIT, false);
    /* Without its last OK the reply is not over. */
    sbuf cut = SBUF_INIT;
    sbuf_add(&cut, b.buf, b.len - 11);
    expect_reply(RESP_QUERY, &cut, -2, 0, false);
    sbuf_free(&cut);
    /* An ERR in place of the rows ends it. */
    sbuf_reset(&b);
    seq = 1;
    uint8_t one = 1;
    put_packet(&b, &seq, &one, 1);
    put_packet(&b, &seq, "\x03" "def", 4);
    put_eof(&b, &seq, STATUS_AUTOCOMMIT);
    wire_put_err(&b, &seq, WERR_ROUTER, "killed");
    expect_reply(RESP_QUERY, &b, (long)b.len, STATUS_AUTOCOMMIT, true);
    sbuf_free(&b);
}

/* A row of 16 MB and more comes in frames; a continuation frame's first
 * byte is data, even 0xFE or 0xFF. */
static void test_resp_big_row(void)
{
    sbuf b = SBUF_INIT, row = SBUF_INIT;
    uint8_t seq = 1, one = 1;
    put_packet(&b, &seq, &one, 1);
    put_packet(&b, &seq, "\x03" "def", 4);
    put_eof(&b, &seq, 0);
    size_t n = (size_t)WIRE_MAX_FRAME + 5; /* the continuation looks like an EOF */
    wire_put_u8(&row, 0xfe);
    for (int i = 0; i < 8; i++)
        wire_put_u8(&row, (uint8_t)(i == 0 ? (n - 9) & 0xff : i == 1 ? ((n - 9) >> 8) & 0xff : i == 2 ? (n - 9) >> 16 : 0));
    while (row.len < n)
        sbuf_addc(&row, (char)(row.len == WIRE_MAX_FRAME ? 0xfe : 'x'));
    put_packet(&b, &seq, row.buf, row.len);
    put_eof(&b, &seq, STATUS_AUTOCOMMIT);
    resp_parser p;
    int pr, in;
    CU_ASSERT_EQUAL(feed(RESP_QUERY, &b, 65536, &p, &pr, &in), (long)b.len);
    CU_ASSERT_EQUAL(p.status, STATUS_AUTOCOMMIT);
    sbuf_free(&b);
    sbuf_free(&row);
}

static void test_resp_prepare(void)
{
    sbuf b = SBUF_INIT;
    uint8_t seq = 1;
    /* PREPARE_OK: id 9, 1 column, 2 parameters */
    put_packet(&b, &seq, "\x00\x09\x00\x00\x00\x01\x00\x02\x00\x00\x00\x00", 12);
    put_packet(&b, &seq, "\x03" "def", 4);
    put_packet(&b, &seq, "\x03" "def", 4);
    put_eof(&b, &seq, STATUS_AUTOCOMMIT);
    put_packet(&b, &seq, "\x03" "def", 4);
    put_eof(&b, &seq, STATUS_AUTOCOMMIT);
    for (size_t step = 1; step < 40; step += 6) {
        resp_parser p;
        int pr, in;
        CU_ASSERT_EQUAL(feed(RESP_PREPARE, &b, step, &p, &pr, &in), (long)b.len);
        CU_ASSERT_EQUAL(pr, 1);
        CU_ASSERT_EQUAL(p.stmt_id, 9);
        CU_ASSERT_EQUAL(p.nparams, 2);
        CU_ASSERT_EQUAL(p.ncols, 1);
    }
    /* No parameters and no columns (BEGIN): over with the PREPARE_OK. */
    sbuf_reset(&b);
    seq = 1;
    put_packet(&b, &seq, "\x00\x0a\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00", 12);
    resp_parser p;
    int pr, in;
    CU_ASSERT_EQUAL(feed(RESP_PREPARE, &b, 5, &p, &pr, &in), (long)b.len);
    CU_ASSERT_EQUAL(pr, 1);
    sbuf_free(&b);
}

static void test_resp_cursor_infile_fields(void)
{
    sbuf b = SBUF_INIT;
    uint8_t seq = 1, one = 1;
    /* EXECUTE that opened a cursor: definitions, EOF with CURSOR_EXISTS, no rows. */
    put_packet(&b, &seq, &one, 1);
    put_packet(&b, &seq, "\x03" "def", 4);
    put_eof(&b, &seq, STATUS_AUTOCOMMIT | STATUS_CURSOR_EXISTS);
    expect_reply(RESP_EXECUTE, &b, (long)b.len, STATUS_AUTOCOMMIT | STATUS_CURSOR_EXISTS, false);
    /* LOAD DATA LOCAL: the request, then (after the file) the OK. */
    sbuf_reset(&b);
    seq = 1;
    put_packet(&b, &seq, "\xfb/tmp/f.csv", 11);
    seq = 4;
    put_ok(&b, &seq, STATUS_AUTOCOMMIT);
    resp_parser p;
    int pr, in;
    CU_ASSERT_EQUAL(feed(RESP_QUERY, &b, 3, &p, &pr, &in), (long)b.len);
    CU_ASSERT_EQUAL(in, 1);
    /* COM_FIELD_LIST: definitions until EOF. */
    sbuf_reset(&b);
    seq = 1;
    put_packet(&b, &seq, "\x03" "def", 4);
    put_packet(&b, &seq, "\x03" "def", 4);
    put_eof(&b, &seq, STATUS_AUTOCOMMIT);
    expect_reply(RESP_FIELD_LIST, &b, (long)b.len, STATUS_AUTOCOMMIT, false);
    /* COM_STATISTICS: one packet of text. */
    sbuf_reset(&b);
    seq = 1;
    put_packet(&b, &seq, "Uptime: 5  Threads: 1", 21);
    sbuf_add(&b, "more", 4);
    expect_reply(RESP_ANY1, &b, 25, 0, false);
    /* Garbage where a status belongs. */
    sbuf_reset(&b);
    seq = 1;
    put_packet(&b, &seq, "\x42", 1);
    CU_ASSERT_EQUAL(feed(RESP_SIMPLE, &b, 100, &p, &pr, &in), -1);
    sbuf_free(&b);
}

/* ---- read-your-writes: GTIDs in OK packets, one-value results, coverage ---- */

static int ok_gtid(const void *pkt, size_t len, char *out, size_t cap)
{
    const uint8_t *g = NULL;
    size_t n = 0;
    int rc = wire_ok_gtid(pkt, len, &g, &n);
    out[0] = '\0';
    if (rc == 1 && n < cap) {
        memcpy(out, g, n);
        out[n] = '\0';
    }
    return rc;
}

#define PKT(s) s, sizeof s - 1

static void test_ok_gtid(void)
{
    char g[128];
    /* MariaDB 10.11 with session_track_system_variables=last_gtid, as
     * captured: no info, then the state block. */
    CU_ASSERT_EQUAL(ok_gtid(PKT("\x00\x00\x00\x02\x40\x00\x00\x00\x12\x00\x10\x09last_gtid\x05" "0-1-1"), g, sizeof g), 1);
    CU_ASSERT_STRING_EQUAL(g, "0-1-1");
    /* An UPDATE's info text before it. */
    CU_ASSERT_EQUAL(ok_gtid(PKT("\x00\x01\x00\x02\x40\x00\x00(Rows matched: 1  Changed: 1  Warnings: 0"
                                "\x12\x00\x10\x09last_gtid\x05" "0-1-4"), g, sizeof g), 1);
    CU_ASSERT_STRING_EQUAL(g, "0-1-4");
    /* No state changed (a no-op UPDATE), nothing at all, a plain OK. */
    CU_ASSERT_EQUAL(ok_gtid(PKT("\x00\x00\x00\x02\x00\x00\x00(Rows matched: 1  Changed: 0  Warnings: 0"), g, sizeof g), 0);
    CU_ASSERT_EQUAL(ok_gtid(PKT("\x00\x00\x00\x02\x00\x00\x00"), g, sizeof g), 0);
    CU_ASSERT_EQUAL(ok_gtid(PKT("\x00\x00\x00\x02\x40\x00\x00"), g, sizeof g), 0);
    /* Other tracked variables and the schema, then last_gtid. */
    CU_ASSERT_EQUAL(ok_gtid(PKT("\x00\x00\x00\x02\x40\x00\x00\x00\x28"
                                "\x00\x0e\x0a" "autocommit\x02ON"
                                "\x01\x03\x02rt"
                                "\x00\x11\x09last_gtid\x06" "1-2-30"), g, sizeof g), 1);
    CU_ASSERT_STRING_EQUAL(g, "1-2-30");
    CU_ASSERT_EQUAL(ok_gtid(PKT("\x00\x00\x00\x02\x40\x00\x00\x00\x10\x00\x0e\x0a" "autocommit\x02ON"), g, sizeof g), 0);
    /* MySQL's session_track_gtids=OWN_GTID: type 3, encoding 0, the GTIDs. */
    CU_ASSERT_EQUAL(ok_gtid(PKT("\x00\x01\x00\x02\x40\x00\x00\x00\x2a\x03\x28\x00\x26"
                                "3e11fa47-71ca-11e1-9e33-c80aa9429562:5"), g, sizeof g), 1);
    CU_ASSERT_STRING_EQUAL(g, "3e11fa47-71ca-11e1-9e33-c80aa9429562:5");
    /* Malformed: a block longer than the packet, an entry longer than the
     * block, a name longer than its entry, not an OK. */
    CU_ASSERT_EQUAL(ok_gtid(PKT("\x00\x00\x00\x02\x40\x00\x00\x00\x30\x00\x10\x09last_gtid\x05" "0-1-1"), g, sizeof g), -1);
    CU_ASSERT_EQUAL(ok_gtid(PKT("\x00\x00\x00\x02\x40\x00\x00\x00\x12\x00\x20\x09last_gtid\x05" "0-1-1"), g, sizeof g), -1);
    CU_ASSERT_EQUAL(ok_gtid(PKT("\x00\x00\x00\x02\x40\x00\x00\x00\x12\x00\x10\x09last_gtid\x09" "0-1-1"), g, sizeof g), -1);
    CU_ASSERT_EQUAL(ok_gtid(PKT("\xff\x10\x04#HY000boom"), g, sizeof g), -1);
    CU_ASSERT_EQUAL(ok_gtid(PKT("\x00\x00"), g, sizeof g), -1);
}

/* SELECT @@last_gtid's reply: one column, one row. */
static void put_value_result(sbuf *b, const char *value)
{
    uint8_t seq = 1, one = 1;
    put_packet(b, &seq, &one, 1);
    put_packet(b, &seq, "\x03" "def\x00\x00\x00\x0b" "@@last_gtid\x00\x0c\x21\x00\x00\x01\x00\x00\xfd\x00\x00\x27\x00\x00", 32);
    put_eof(b, &seq, STATUS_AUTOCOMMIT);
    if (value) {
        sbuf row = SBUF_INIT;
        wire_put_lenstr(&row, value, strlen(value));
        put_packet(b, &seq, row.buf, row.len);
        sbuf_free(&row);
    }
    put_eof(b, &seq, STATUS_AUTOCOMMIT);
}

static void test_first_value(void)
{
    sbuf b = SBUF_INIT;
    const uint8_t *v;
    size_t n;
    put_value_result(&b, "0-1-42");
    CU_ASSERT_EQUAL(wire_first_value((const uint8_t *)b.buf, b.len, &v, &n), 1);
    CU_ASSERT(n == 6 && memcmp(v, "0-1-42", 6) == 0);
    /* The empty string (a session that never committed). */
    sbuf_reset(&b);
    put_value_result(&b, "");
    CU_ASSERT_EQUAL(wire_first_value((const uint8_t *)b.buf, b.len, &v, &n), 1);
    CU_ASSERT_EQUAL(n, 0);
    /* No row. */
    sbuf_reset(&b);
    put_value_result(&b, NULL);
    CU_ASSERT_EQUAL(wire_first_value((const uint8_t *)b.buf, b.len, &v, &n), 0);
    /* NULL, from put_resultset's rows ("1", NULL): the first column. */
    sbuf_reset(&b);
    uint8_t seq = 1;
    put_resultset(&b, &seq, 2, 1, STATUS_AUTOCOMMIT);
    CU_ASSERT_EQUAL(wire_first_value((const uint8_t *)b.buf, b.len, &v, &n), 1);
    CU_ASSERT(n == 1 && v[0] == '1');
    sbuf_reset(&b);
    seq = 1;
    put_packet(&b, &seq, "\x01", 1);
    put_packet(&b, &seq, "\x03" "def", 4);
    put_eof(&b, &seq, STATUS_AUTOCOMMIT);
    put_packet(&b, &seq, "\xfb", 1);
    put_eof(&b, &seq, STATUS_AUTOCOMMIT);
    CU_ASSERT_EQUAL(wire_first_value((const uint8_t *)b.buf, b.len, &v, &n), 1);
    CU_ASSERT_PTR_NULL(v);
    /* Not a result set: an OK, an ERR, cut short, a row longer than its frame. */
    sbuf_reset(&b);
    seq = 1;
    put_ok(&b, &seq, STATUS_AUTOCOMMIT);
    CU_ASSERT_EQUAL(wire_first_value((const uint8_t *)b.buf, b.len, &v, &n), -1);
    sbuf_reset(&b);
    seq = 1;
    wire_put_err(&b, &seq, WERR_ROUTER, "no");
    CU_ASSERT_EQUAL(wire_first_value((const uint8_t *)b.buf, b.len, &v, &n), -1);
    sbuf_reset(&b);
    put_value_result(&b, "0-1-42");
    CU_ASSERT_EQUAL(wire_first_value((const uint8_t *)b.buf, 20, &v, &n), -1);
    sbuf_reset(&b);
    seq = 1;
    put_packet(&b, &seq, "\x01", 1);
    put_packet(&b, &seq, "\x03" "def", 4);
    put_eof(&b, &seq, STATUS_AUTOCOMMIT);
    put_packet(&b, &seq, "\x09" "0-1", 4);
    CU_ASSERT_EQUAL(wire_first_value((const uint8_t *)b.buf, b.len, &v, &n), -1);
    sbuf_free(&b);
}

/* The reply parser collects every OK's GTID (a multi-statement commits
 * more than once), however the reply is cut, and only when asked to. */
static void test_resp_gtids(void)
{
    static const char ok1[] = "\x00\x01\x00\x0a\x40\x00\x00\x00\x12\x00\x10\x09last_gtid\x05" "0-1-7";
    static const char ok2[] = "\x00\x01\x00\x02\x40\x00\x00\x00\x12\x00\x10\x09last_gtid\x05" "1-1-3";
    sbuf b = SBUF_INIT;
    uint8_t seq = 1;
    put_packet(&b, &seq, ok1, sizeof ok1 - 1); /* with "more results" */
    put_resultset(&b, &seq, 1, 1, STATUS_AUTOCOMMIT | STATUS_MORE_RESULTS);
    put_packet(&b, &seq, ok2, sizeof ok2 - 1);
    static const size_t steps[] = {1, 3, 7, 100000};
    for (size_t i = 0; i < sizeof steps / sizeof steps[0]; i++) {
        resp_parser p;
        int pr, in;
        feed_session_track = true;
        CU_ASSERT_EQUAL(feed(RESP_QUERY, &b, steps[i], &p, &pr, &in), (long)b.len);
        CU_ASSERT_STRING_EQUAL(p.gtid, "0-1-7,1-1-3");
        CU_ASSERT_FALSE(p.gtid_lost);
        feed_session_track = false;
        CU_ASSERT_EQUAL(feed(RESP_QUERY, &b, steps[i], &p, &pr, &in), (long)b.len);
        CU_ASSERT_EQUAL(p.gtid_len, 0);
    }
    /* More GTIDs than fit: said, not cut silently. */
    sbuf_reset(&b);
    seq = 1;
    for (int i = 0; i < 40; i++)
        put_packet(&b, &seq, ok1, sizeof ok1 - 1);
    put_packet(&b, &seq, ok2, sizeof ok2 - 1);
    resp_parser p;
    int pr, in;
    feed_session_track = true;
    CU_ASSERT_EQUAL(feed(RESP_QUERY, &b, 64, &p, &pr, &in), (long)b.len);
    CU_ASSERT_TRUE(p.gtid_lost);
    feed_session_track = false;
    sbuf_free(&b);
}

/* Does the forward stream's position (left) cover a write's GTID (right)? */
static bool covers(const char *applied, const char *want)
{
    gtid_set *a = position_parse_gtids(applied, strlen(applied));
    gtid_set *w = position_parse_gtids(want, strlen(want));
    CU_ASSERT_PTR_NOT_NULL(a);
    CU_ASSERT_PTR_NOT_NULL(w);
    bool r = a && w && gtid_set_contains(a, w);
    gtid_set_free(a);
    gtid_set_free(w);
    return r;
}

static void test_gtid_coverage(void)
{
    /* MariaDB: per domain, a sequence at least as high; server ids do not
     * matter (strict mode: one order per domain). */
    CU_ASSERT_TRUE(covers("0-1-100", "0-1-100"));
    CU_ASSERT_TRUE(covers("0-1-100", "0-1-99"));
    CU_ASSERT_TRUE(covers("0-1-100,1-2-7", "1-2-7"));
    CU_ASSERT_TRUE(covers("0-1-100,1-2-7", "0-1-5,1-2-6"));
    CU_ASSERT_TRUE(covers("0-3-100", "0-1-100"));
    CU_ASSERT_FALSE(covers("0-1-100", "0-1-101"));
    CU_ASSERT_FALSE(covers("0-1-100", "2-1-1"));
    CU_ASSERT_FALSE(covers("0-1-100,1-2-7", "0-1-5,1-2-8"));
    CU_ASSERT_TRUE(covers("0-1-100", ""));
    CU_ASSERT_FALSE(covers("", "0-1-1"));
    /* MySQL: set containment. */
    CU_ASSERT_TRUE(covers("3e11fa47-71ca-11e1-9e33-c80aa9429562:1-10", "3e11fa47-71ca-11e1-9e33-c80aa9429562:5"));
    CU_ASSERT_FALSE(covers("3e11fa47-71ca-11e1-9e33-c80aa9429562:1-10", "3e11fa47-71ca-11e1-9e33-c80aa9429562:11"));
    CU_ASSERT_FALSE(covers("3e11fa47-71ca-11e1-9e33-c80aa9429562:1-4:6-10", "3e11fa47-71ca-11e1-9e33-c80aa9429562:5"));
    /* Flavours never cover each other; garbage is no set. */
    CU_ASSERT_FALSE(covers("3e11fa47-71ca-11e1-9e33-c80aa9429562:1-10", "0-1-1"));
    CU_ASSERT_FALSE(covers("0-1-100", "3e11fa47-71ca-11e1-9e33-c80aa9429562:1"));
    CU_ASSERT_PTR_NULL(position_parse_gtids("0-1-", 4));
    CU_ASSERT_PTR_NULL(position_parse_gtids("0-1-1\0", 6));
    ryw_mode m;
    CU_ASSERT(ryw_mode_parse("session", &m) == 0 && m == RYW_SESSION);
    CU_ASSERT(ryw_mode_parse("global", &m) == 0 && m == RYW_GLOBAL);
    CU_ASSERT(ryw_mode_parse("off", &m) == 0 && m == RYW_OFF);
    CU_ASSERT_EQUAL(ryw_mode_parse("on", &m), -1);
}

/* ---- accounts ---- */

static void test_accounts(void)
{
    const char *text = "# name hash\n"
                       "app  *F142931D9296BB66D4600D47418DBC1475D27D29\r\n"
                       "\n"
                       "   report\t*f142931d9296bb66d4600d47418dbc1475d27d29   \n";
    sbuf err = SBUF_INIT;
    accounts *a = accounts_parse(text, strlen(text), "accounts", &err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(a);
    CU_ASSERT_EQUAL(accounts_count(a), 2);
    uint8_t h[20], want[20];
    hash_bytes(APP_HASH, want);
    CU_ASSERT_TRUE(accounts_find(a, "app", 3, h));
    CU_ASSERT_EQUAL(memcmp(h, want, 20), 0);
    CU_ASSERT_TRUE(accounts_find(a, "report", 6, h));
    CU_ASSERT_FALSE(accounts_find(a, "ap", 2, h));
    CU_ASSERT_FALSE(accounts_find(NULL, "app", 3, h));
    accounts_free(a);

    static const struct {
        const char *text, *want;
    } bad[] = {
        {"app\n", "accounts:1: an account needs a password hash"},
        {"app app-password\n", "accounts:1: the hash must be"},
        {"x *F142931D9296BB66D4600D47418DBC1475D27D2\n", "accounts:1: the hash must be"},
        {"a *F142931D9296BB66D4600D47418DBC1475D27D29\na *F142931D9296BB66D4600D47418DBC1475D27D29\n",
         "accounts:2: the account is listed twice"},
        {"a *F142931D9296BB66D4600D47418DBC1475D27D29 extra\n", "accounts:1: expected two fields"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        sbuf_reset(&err);
        CU_ASSERT_PTR_NULL(accounts_parse(bad[i].text, strlen(bad[i].text), "accounts", &err));
        CU_ASSERT_PTR_NOT_NULL(strstr(err.buf, bad[i].want));
        /* The message never shows a hash. */
        CU_ASSERT_PTR_NULL(strstr(err.buf, "F142931D"));
    }
    sbuf_free(&err);
}

int suite_router_wire(void)
{
    CU_pSuite s = CU_add_suite("router_wire", NULL, NULL);
    if (!s || !CU_add_test(s, "lenenc", test_lenenc) || !CU_add_test(s, "16 MB frames", test_frames) ||
        !CU_add_test(s, "mysql_native_password", test_native_password) ||
        !CU_add_test(s, "handshake round trip", test_handshake_roundtrip) ||
        !CU_add_test(s, "login round trip", test_login_roundtrip) ||
        !CU_add_test(s, "SSLRequest", test_ssl_request) || !CU_add_test(s, "ERR round trip", test_err_roundtrip) ||
        !CU_add_test(s, "COM_CHANGE_USER", test_change_user) ||
        !CU_add_test(s, "reply: OK and ERR", test_resp_ok_err) ||
        !CU_add_test(s, "reply: result sets", test_resp_resultsets) ||
        !CU_add_test(s, "reply: a row over 16 MB", test_resp_big_row) ||
        !CU_add_test(s, "reply: PREPARE", test_resp_prepare) ||
        !CU_add_test(s, "reply: cursor, LOCAL INFILE, field list, statistics", test_resp_cursor_infile_fields) ||
        !CU_add_test(s, "accounts file", test_accounts) ||
        !CU_add_test(s, "read-your-writes: the GTID in an OK packet", test_ok_gtid) ||
        !CU_add_test(s, "read-your-writes: a one-value result", test_first_value) ||
        !CU_add_test(s, "read-your-writes: the GTIDs of a reply", test_resp_gtids) ||
        !CU_add_test(s, "read-your-writes: which GTIDs cover which", test_gtid_coverage))
        return -1;
    return 0;
}
