/* wire: the MySQL client/server protocol's formats, both directions.
 *
 * Everything here is pure: it reads from byte ranges through a bounds-
 * checked cursor (a short or malformed packet sets `bad`, never reads past
 * the end) and writes into sbufs. The router's two halves use it: the
 * client side (session.c) reads logins and commands and writes handshakes,
 * OK and ERR packets; the backend side (backend.c) reads handshakes and
 * writes logins. Frames are 3 bytes of length, 1 of sequence, then the
 * payload; a payload of 16 MB - 1 or more continues in the next frame. */
#ifndef ROUTER_WIRE_H
#define ROUTER_WIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/sbuf.h"

#define WIRE_HEADER 4
#define WIRE_MAX_FRAME 0xFFFFFFu /* a frame this long continues in the next */
#define WIRE_SCRAMBLE 20

/* Capability flags. */
enum {
    CAP_LONG_PASSWORD = 1u << 0,
    CAP_FOUND_ROWS = 1u << 1,
    CAP_LONG_FLAG = 1u << 2,
    CAP_CONNECT_WITH_DB = 1u << 3,
    CAP_NO_SCHEMA = 1u << 4,
    CAP_COMPRESS = 1u << 5,
    CAP_ODBC = 1u << 6,
    CAP_LOCAL_FILES = 1u << 7,
    CAP_IGNORE_SPACE = 1u << 8,
    CAP_PROTOCOL_41 = 1u << 9,
    CAP_INTERACTIVE = 1u << 10,
    CAP_SSL = 1u << 11,
    CAP_IGNORE_SIGPIPE = 1u << 12,
    CAP_TRANSACTIONS = 1u << 13,
    CAP_RESERVED = 1u << 14,
    CAP_SECURE_CONNECTION = 1u << 15,
    CAP_MULTI_STATEMENTS = 1u << 16,
    CAP_MULTI_RESULTS = 1u << 17,
    CAP_PS_MULTI_RESULTS = 1u << 18,
    CAP_PLUGIN_AUTH = 1u << 19,
    CAP_CONNECT_ATTRS = 1u << 20,
    CAP_PLUGIN_AUTH_LENENC = 1u << 21,
    CAP_CAN_HANDLE_EXPIRED = 1u << 22,
    CAP_SESSION_TRACK = 1u << 23,
    CAP_DEPRECATE_EOF = 1u << 24,
};

/* What the router offers clients and asks of servers for them: the
 * common protocol. Not compression (the router reads every frame), not
 * DEPRECATE_EOF (see resp.h); CLIENT_SSL is added where TLS is used (toward
 * clients when configured, toward servers per backend-tls). A backend asks
 * for the client's own subset of these. */
#define WIRE_ROUTER_CAPS                                                                                          \
    (CAP_LONG_PASSWORD | CAP_FOUND_ROWS | CAP_LONG_FLAG | CAP_CONNECT_WITH_DB | CAP_NO_SCHEMA | CAP_ODBC |       \
     CAP_LOCAL_FILES | CAP_IGNORE_SPACE | CAP_PROTOCOL_41 | CAP_INTERACTIVE | CAP_IGNORE_SIGPIPE |                \
     CAP_TRANSACTIONS | CAP_SECURE_CONNECTION | CAP_MULTI_STATEMENTS | CAP_MULTI_RESULTS | CAP_PS_MULTI_RESULTS | \
     CAP_PLUGIN_AUTH | CAP_CONNECT_ATTRS | CAP_PLUGIN_AUTH_LENENC | CAP_SESSION_TRACK)

/* Server status flags, in OK and EOF packets. */
enum {
    STATUS_IN_TRANS = 0x0001,
    STATUS_AUTOCOMMIT = 0x0002,
    STATUS_MORE_RESULTS = 0x0008,
    STATUS_CURSOR_EXISTS = 0x0040,
    STATUS_LAST_ROW_SENT = 0x0080,
    STATUS_IN_TRANS_READONLY = 0x2000,
    STATUS_SESSION_STATE_CHANGED = 0x4000,
};

/* Commands (the first payload byte of a client request). */
enum {
    COM_QUIT = 0x01,
    COM_INIT_DB = 0x02,
    COM_QUERY = 0x03,
    COM_FIELD_LIST = 0x04,
    COM_STATISTICS = 0x09,
    COM_PROCESS_KILL = 0x0c,
    COM_DEBUG = 0x0d,
    COM_PING = 0x0e,
    COM_CHANGE_USER = 0x11,
    COM_STMT_PREPARE = 0x16,
    COM_STMT_EXECUTE = 0x17,
    COM_STMT_SEND_LONG_DATA = 0x18,
    COM_STMT_CLOSE = 0x19,
    COM_STMT_RESET = 0x1a,
    COM_SET_OPTION = 0x1b,
    COM_STMT_FETCH = 0x1c,
    COM_RESET_CONNECTION = 0x1f,
};

/* Server error numbers the router itself sends, with their SQLSTATE. */
typedef enum {
    WERR_ACCESS_DENIED,  /* 1045 28000 */
    WERR_BAD_HANDSHAKE,  /* 1043 08S01 */
    WERR_UNKNOWN_COM,    /* 1047 08S01 */
    WERR_PACKET_TOO_BIG, /* 1153 08S01 */
    WERR_OUT_OF_ORDER,   /* 1156 08S01 */
    WERR_UNKNOWN_STMT,   /* 1243 HY000 */
    /* A server behind the router is out of reach. Not the client library's
     * own 2003/2013: libmariadb reports any 2xxx code a server sends as
     * "malformed packet". SQLSTATE 08S01 (communication link failure) is
     * what drivers map to a retryable connection error. */
    WERR_NO_BACKEND,   /* 1429 08S01: a backend cannot be reached */
    WERR_LOST_BACKEND, /* 1927 08S01: a backend went away mid-statement */
    WERR_ROUTER,         /* 1105 HY000: the router cannot route now (no rules, ...) */
    WERR_TOO_MANY,       /* 1040 08004 */
    /* A switch held the statement too long, or too many were held: it did
     * not run. A lock wait timeout is what applications already retry. */
    WERR_HELD,           /* 1205 HY000 */
    /* The switch's drain limit ended an open transaction: 40001 is the
     * SQLSTATE drivers and ORMs take as "restart the transaction". */
    WERR_TXN_ROLLED_BACK, /* 1213 40001 */
    WERR_COUNT            /* not an error: how many there are */
} wire_err;

/* ---- reading ---- */
typedef struct wire_rd {
    const uint8_t *p, *end;
    bool bad; /* a read went past the end: every later read yields 0/NULL */
} wire_rd;

static inline wire_rd wire_rd_of(const void *p, size_t len)
{
    return (wire_rd){(const uint8_t *)p, (const uint8_t *)p + len, false};
}
static inline size_t wire_rd_left(const wire_rd *r)
{
    return r->bad ? 0 : (size_t)(r->end - r->p);
}
uint8_t wire_u8(wire_rd *r);
uint16_t wire_u16(wire_rd *r);
uint32_t wire_u24(wire_rd *r);
uint32_t wire_u32(wire_rd *r);
uint64_t wire_lenenc(wire_rd *r);
const uint8_t *wire_bytes(wire_rd *r, size_t n);
/* A NUL-terminated string; a missing NUL is bad. */
const char *wire_nulstr(wire_rd *r, size_t *len);
/* A length-encoded string. */
const uint8_t *wire_lenstr(wire_rd *r, size_t *len);
/* A little-endian 32-bit number at p (a statement id in a command). */
static inline uint32_t wire_le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
/* The frame header at p (4 bytes). */
static inline uint32_t wire_frame_len(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16;
}

/* ---- writing ---- */
void wire_put_u8(sbuf *sb, uint8_t v);
void wire_put_u16(sbuf *sb, uint16_t v);
void wire_put_u24(sbuf *sb, uint32_t v);
void wire_put_u32(sbuf *sb, uint32_t v);
void wire_put_lenenc(sbuf *sb, uint64_t v);
void wire_put_lenstr(sbuf *sb, const void *s, size_t len);
/* A packet is built in place: begin reserves the header, end fills it in
 * with *seq (incremented), splitting a payload of 16 MB or more into
 * frames. */
size_t wire_begin(sbuf *sb);
void wire_end(sbuf *sb, size_t start, uint8_t *seq);
/* Frame a payload held elsewhere. */
void wire_frame(sbuf *sb, const void *payload, size_t len, uint8_t *seq);

void wire_put_ok(sbuf *sb, uint8_t *seq, uint16_t status, uint16_t warnings);
void wire_put_eof(sbuf *sb, uint8_t *seq, uint16_t status, uint16_t warnings);
/* The message is shown to the application as the server's error text. */
void wire_put_err(sbuf *sb, uint8_t *seq, wire_err e, const char *msg);
void wire_put_errf(sbuf *sb, uint8_t *seq, wire_err e, const char *fmt, ...) __attribute__((format(printf, 4, 5)));
uint16_t wire_err_code(wire_err e);

/* An ERR packet's payload: code and message (not NUL-terminated). */
typedef struct wire_error {
    uint16_t code;
    char sqlstate[6];
    const char *msg;
    size_t msg_len;
} wire_error;
int wire_parse_err(const uint8_t *payload, size_t len, wire_error *out);
/* The status flags of an OK (0x00/0xFE header) or EOF payload. */
int wire_parse_status(const uint8_t *payload, size_t len, uint16_t *status);

/* Session-state entry types in an OK packet (CLIENT_SESSION_TRACK). */
enum {
    WIRE_TRACK_SYSTEM_VARIABLES = 0, /* name, value: MariaDB's last_gtid among them */
    WIRE_TRACK_GTIDS = 3,            /* MySQL's session_track_gtids: encoding, GTIDs */
};
/* The GTID an OK packet of a connection with CLIENT_SESSION_TRACK
 * reports: MariaDB's tracked variable last_gtid, or MySQL's GTIDs entry
 * (the last one if there are several). 1 with *gtid pointing into the
 * payload, 0 if it reports none, -1 if the packet is malformed. */
int wire_ok_gtid(const uint8_t *payload, size_t len, const uint8_t **gtid, size_t *gtid_len);
/* The first column of the first row of a text result set: reply is the
 * whole reply to a COM_QUERY, framed, as it came. 1 with the value
 * pointing into reply (NULL for SQL NULL), 0 if there is no row (or an
 * ERR came instead of rows), -1 if it is not one whole result set. */
int wire_first_value(const uint8_t *reply, size_t len, const uint8_t **value, size_t *value_len);

/* ---- connection phase ---- */
typedef struct wire_handshake {
    uint32_t conn_id;
    char version[96];
    uint8_t scramble[WIRE_SCRAMBLE];
    uint32_t caps;
    uint8_t charset;
    uint16_t status;
    char plugin[64];
} wire_handshake;
/* A server's Handshake v10 (what a backend sends first). */
int wire_parse_handshake(const uint8_t *payload, size_t len, wire_handshake *h);
/* The router's own Handshake v10 to a client, offering mysql_native_password. */
void wire_put_handshake(sbuf *sb, const wire_handshake *h);

/* A client's HandshakeResponse41 (or the SSLRequest that may precede it:
 * then only caps, max_packet and charset are set and ssl_request is true).
 * Pointers refer into the payload. */
typedef struct wire_login {
    uint32_t caps;
    uint32_t max_packet;
    uint8_t charset;
    bool ssl_request;
    const char *user;
    size_t user_len;
    const uint8_t *auth;
    size_t auth_len;
    const char *db; /* NULL: none */
    size_t db_len;
    const char *plugin; /* NULL: none named */
    size_t plugin_len;
    const uint8_t *attrs; /* the connect attributes, lenenc-prefixed block */
    size_t attrs_len;
} wire_login;
int wire_parse_login(const uint8_t *payload, size_t len, wire_login *l);
/* ssl_request: only the SSLRequest (caps, max_packet, charset). */
void wire_put_login(sbuf *sb, uint8_t *seq, const wire_login *l);

/* COM_CHANGE_USER's payload (after the command byte), into a wire_login. */
int wire_parse_change_user(const uint8_t *payload, size_t len, uint32_t caps, wire_login *l);

/* An AuthSwitchRequest (0xFE, plugin, data) from a server. */
int wire_parse_auth_switch(const uint8_t *payload, size_t len, char *plugin, size_t plugin_cap,
                           uint8_t scramble[WIRE_SCRAMBLE]);
void wire_put_auth_switch(sbuf *sb, uint8_t *seq, const char *plugin, const uint8_t scramble[WIRE_SCRAMBLE]);

/* mysql_native_password. The server stores stage2 = SHA1(SHA1(pw)); a
 * client sends token = SHA1(pw) XOR SHA1(scramble + stage2). Knowing
 * stage2, the router checks a token and recovers stage1 = SHA1(pw), which
 * is all it needs to log in to a backend with that backend's scramble. */
void wire_sha1(const void *a, size_t alen, const void *b, size_t blen, uint8_t out[20]);
void wire_native_token(const uint8_t stage1[20], const uint8_t scramble[WIRE_SCRAMBLE], uint8_t out[20]);
bool wire_native_check(const uint8_t stage2[20], const uint8_t scramble[WIRE_SCRAMBLE], const uint8_t *token,
                       size_t token_len, uint8_t stage1_out[20]);

#endif
