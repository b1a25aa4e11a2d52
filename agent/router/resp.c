/* resp: the end of a reply, found frame by frame. See resp.h.
 *
 * The states follow the reply's grammar:
 *   FIRST    OK | ERR | LOCAL INFILE request | column count (QUERY, EXECUTE)
 *            PREPARE_OK | ERR (PREPARE); OK | EOF | ERR (SIMPLE)
 *   COLS     column definitions, passed without a look
 *   COLS_EOF the EOF after them (with a cursor, the end of an EXECUTE)
 *   ROWS     rows, streamed, until EOF or ERR; an EOF with "more results"
 *            starts the next result at FIRST
 *   PARAMS, PARAMS_EOF, PCOLS, PCOLS_EOF   a PREPARE's definitions
 *   FIELDS   COM_FIELD_LIST's definitions until EOF
 *   LAST     the current packet is the reply's last (COM_STATISTICS)
 * A frame of 16 MB - 1 bytes continues in the next; continuation frames
 * are passed whole without looking at their first byte. */
#include "router/resp.h"

#include <string.h>

#include "router/wire.h"

enum { S_FIRST, S_COLS, S_COLS_EOF, S_ROWS, S_PARAMS, S_PARAMS_EOF, S_PCOLS, S_PCOLS_EOF, S_FIELDS, S_LAST, S_DONE };

void resp_start(resp_parser *p, resp_kind kind)
{
    memset(p, 0, sizeof *p);
    p->kind = kind;
    switch (kind) {
    case RESP_NONE:
        p->state = S_DONE;
        break;
    case RESP_FETCH:
        p->state = S_ROWS;
        break;
    case RESP_FIELD_LIST:
        p->state = S_FIELDS;
        break;
    default:
        p->state = S_FIRST;
    }
}

static bool is_eof(const uint8_t *payload, uint32_t n)
{
    return n >= 1 && n < 9 && payload[0] == 0xfe;
}

static void take_err(resp_parser *p, const uint8_t *payload, uint32_t n)
{
    wire_error e;
    p->failed = true;
    p->err_code = 0;
    p->err_msg[0] = '\0';
    if (wire_parse_err(payload, n, &e) == 0) {
        size_t m = e.msg_len < sizeof p->err_msg - 1 ? e.msg_len : sizeof p->err_msg - 1;
        p->err_code = e.code;
        memcpy(p->err_msg, e.msg, m);
        p->err_msg[m] = '\0';
    }
}

/* An OK's GTID, added to those of the reply's earlier OKs. */
static void take_gtid(resp_parser *p, const uint8_t *payload, uint32_t n)
{
    const uint8_t *g;
    size_t len;
    int found = wire_ok_gtid(payload, n, &g, &len);
    if (found < 0) {
        p->gtid_lost = true;
        return;
    }
    if (found == 0 || len == 0)
        return;
    size_t need = len + (p->gtid_len ? 1 : 0);
    if (p->gtid_len + need >= sizeof p->gtid || memchr(g, 0, len)) {
        p->gtid_lost = true;
        return;
    }
    if (p->gtid_len)
        p->gtid[p->gtid_len++] = ',';
    memcpy(p->gtid + p->gtid_len, g, len);
    p->gtid_len += len;
    p->gtid[p->gtid_len] = '\0';
}

/* A result's closing OK or EOF: another result follows, or the reply is over. */
static int end_result(resp_parser *p, const uint8_t *payload, uint32_t n)
{
    if (wire_parse_status(payload, n, &p->status) != 0)
        return -1;
    if (p->session_track && payload[0] == 0x00)
        take_gtid(p, payload, n);
    p->failed = false;
    p->state = (p->status & STATUS_MORE_RESULTS) && p->kind != RESP_FETCH ? S_FIRST : S_DONE;
    return 0;
}

/* A whole small packet in a state that needs to read it. Returns the
 * event to report now, or RESP_MORE to go on. */
static resp_event whole_packet(resp_parser *p, const uint8_t *payload, uint32_t n, size_t at)
{
    uint8_t h = n ? payload[0] : 0;
    if (n == 0)
        return RESP_BAD;
    if (h == 0xff) {
        take_err(p, payload, n);
        p->state = S_DONE;
        return RESP_MORE;
    }
    switch (p->state) {
    case S_FIRST:
        if (p->kind == RESP_SIMPLE) {
            if (h != 0x00 && !is_eof(payload, n))
                return RESP_BAD;
            return end_result(p, payload, n) == 0 ? (p->state = S_DONE, RESP_MORE) : RESP_BAD;
        }
        if (p->kind == RESP_PREPARE) {
            wire_rd r = wire_rd_of(payload, n);
            if (wire_u8(&r) != 0x00)
                return RESP_BAD;
            p->stmt_id = wire_u32(&r);
            p->ncols = wire_u16(&r);
            p->nparams = wire_u16(&r);
            if (r.bad)
                return RESP_BAD;
            p->id_at = at + 1;
            p->failed = false;
            if (p->nparams)
                p->state = S_PARAMS, p->left = p->nparams;
            else if (p->ncols)
                p->state = S_PCOLS, p->left = p->ncols;
            else
                p->state = S_DONE;
            return RESP_PREPARED;
        }
        if (h == 0x00)
            return end_result(p, payload, n) == 0 ? RESP_MORE : RESP_BAD;
        if (h == 0xfb && p->kind == RESP_QUERY)
            return RESP_INFILE; /* the final OK or ERR comes at FIRST */
        {
            wire_rd r = wire_rd_of(payload, n);
            uint64_t ncols = wire_lenenc(&r);
            if (r.bad || ncols == 0 || wire_rd_left(&r) != 0)
                return RESP_BAD;
            p->left = ncols;
            p->state = S_COLS;
        }
        return RESP_MORE;
    case S_COLS_EOF:
        if (!is_eof(payload, n) || wire_parse_status(payload, n, &p->status) != 0)
            return RESP_BAD;
        p->state = p->kind == RESP_EXECUTE && (p->status & STATUS_CURSOR_EXISTS) ? S_DONE : S_ROWS;
        return RESP_MORE;
    case S_ROWS:
        return end_result(p, payload, n) == 0 ? RESP_MORE : RESP_BAD;
    case S_PARAMS_EOF:
    case S_PCOLS_EOF:
        if (!is_eof(payload, n) || wire_parse_status(payload, n, &p->status) != 0)
            return RESP_BAD;
        if (p->state == S_PARAMS_EOF && p->ncols)
            p->state = S_PCOLS, p->left = p->ncols;
        else
            p->state = S_DONE;
        return RESP_MORE;
    case S_FIELDS:
        return end_result(p, payload, n) == 0 ? (p->state = S_DONE, RESP_MORE) : RESP_BAD;
    default:
        return RESP_BAD;
    }
}

/* Does the packet starting with this byte need to be read whole here? */
static bool needs_whole(const resp_parser *p, uint8_t first, uint32_t n)
{
    switch (p->state) {
    case S_ROWS:
    case S_FIELDS:
        return first == 0xff || (first == 0xfe && n < 9);
    case S_FIRST:
        return p->kind != RESP_ANY1;
    case S_COLS_EOF:
    case S_PARAMS_EOF:
    case S_PCOLS_EOF:
        return true;
    default:
        return false;
    }
}

bool resp_complete(const resp_parser *p)
{
    return p->state == S_DONE && !p->skip && !p->continues;
}

resp_event resp_feed(resp_parser *p, const uint8_t *buf, size_t len, size_t *used)
{
    size_t off = 0;
    resp_event ev = RESP_MORE;
    for (;;) {
        if (p->skip) {
            size_t n = len - off < p->skip ? len - off : p->skip;
            off += n;
            p->skip -= (uint32_t)n;
            if (p->skip)
                break;
            if (!p->continues && p->state == S_LAST)
                p->state = S_DONE;
            continue;
        }
        if (p->state == S_DONE && !p->continues) {
            ev = RESP_DONE;
            break;
        }
        if (len - off < WIRE_HEADER)
            break;
        const uint8_t *h = buf + off;
        uint32_t n = wire_frame_len(h);
        if (p->continues) {
            p->seq = h[3];
            p->continues = n == WIRE_MAX_FRAME;
            p->skip = n;
            off += WIRE_HEADER;
            continue;
        }
        if (p->state == S_COLS || p->state == S_PARAMS || p->state == S_PCOLS) {
            if (--p->left == 0)
                p->state = p->state == S_COLS ? S_COLS_EOF : p->state == S_PARAMS ? S_PARAMS_EOF : S_PCOLS_EOF;
        } else {
            if (n > 0 && len - off < WIRE_HEADER + 1)
                break;
            if (n > 0 && needs_whole(p, h[WIRE_HEADER], n)) {
                if (n == WIRE_MAX_FRAME) {
                    ev = RESP_BAD;
                    break;
                }
                if (len - off < WIRE_HEADER + (size_t)n)
                    break;
                p->seq = h[3];
                p->any = true;
                ev = whole_packet(p, h + WIRE_HEADER, n, off + WIRE_HEADER);
                off += WIRE_HEADER + n;
                if (ev != RESP_MORE)
                    break;
                continue;
            }
            if (n == 0 && !(p->state == S_FIRST && p->kind == RESP_ANY1)) {
                ev = RESP_BAD; /* an empty packet is never a row or a status */
                break;
            }
            if (p->state == S_FIRST) /* RESP_ANY1 */
                p->state = S_LAST;
        }
        p->seq = h[3];
        p->any = true;
        p->continues = n == WIRE_MAX_FRAME;
        p->skip = n;
        off += WIRE_HEADER;
        if (n == 0 && p->state == S_LAST)
            p->state = S_DONE;
    }
    *used = off;
    return ev;
}
