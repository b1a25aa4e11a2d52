/* pbcheck: see pbcheck.h.
 *
 * Requests are checked on their wire bytes, not on the unpacked message:
 * once protobuf-c has made a C string of a field, a NUL inside it is gone
 * (the string just ends there), and the bytes are what the client meant.
 * One walker follows the descriptor into nested messages; field paths for
 * messages are built as it descends ("tables.include[1]").
 *
 * Replies are checked on the unpacked message, the handler's own. The rare
 * invalid one is packed, unpacked into a copy that protobuf-c allocated,
 * fixed there and packed again: simple, and the valid case costs one walk. */
#include "rpc/pbcheck.h"

#include <inttypes.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

/* Deeper than any real request; bounds recursion for descriptors that
 * nest themselves. */
#define PBCHECK_DEPTH_MAX 32

/* ---- requests: wire bytes --------------------------------------------------- */

static int malformed(sbuf *err, const sbuf *path, const char *what)
{
    sbuf_setf(err, "malformed request: %s%s%s; check the client's protobuf library", sbuf_cstr(path),
              path->len ? ": " : "", what);
    return -1;
}

/* A base-128 varint: 7 bits a byte, least significant first, the high bit
 * set on every byte but the last; at most 10 bytes for 64 bits. */
static bool varint_read(const uint8_t **p, const uint8_t *end, uint64_t *v)
{
    uint64_t x = 0;
    for (unsigned shift = 0; shift < 64 && *p < end; shift += 7) {
        uint8_t b = *(*p)++;
        x |= (uint64_t)(b & 0x7F) << shift;
        if (!(b & 0x80)) {
            *v = x;
            return true;
        }
    }
    return false;
}

static bool bytes_skip(const uint8_t **p, const uint8_t *end, uint64_t n)
{
    if (n > (uint64_t)(end - *p))
        return false;
    *p += n;
    return true;
}

static void path_index(sbuf *path, unsigned i)
{
    sbuf_addf(path, "[%u]", i);
}

static int string_check(const uint8_t *s, size_t len, const sbuf *path, sbuf *err)
{
    for (size_t i = 0; i < len;) {
        size_t n = utf8_seq_len(s + i, len - i);
        if (n == 1 && s[i] == 0) {
            sbuf_setf(err, "%s contains a NUL byte (byte %zu of %zu); remove it", sbuf_cstr(path), i + 1, len);
            return -1;
        }
        if (n == 0) {
            sbuf_setf(err, "%s is not valid UTF-8 (byte %zu of %zu); send text as UTF-8", sbuf_cstr(path), i + 1,
                      len);
            return -1;
        }
        i += n;
    }
    return 0;
}

/* A placeholder value, not a choice to offer. */
static bool is_unspecified(const char *name)
{
    size_t n = strlen(name), k = strlen("_UNSPECIFIED");
    return n >= k && strcmp(name + n - k, "_UNSPECIFIED") == 0;
}

static int enum_check(const ProtobufCFieldDescriptor *f, uint64_t raw, const sbuf *path, sbuf *err)
{
    const ProtobufCEnumDescriptor *ed = f->descriptor;
    int32_t v = (int32_t)(uint32_t)raw; /* what protobuf-c stores: the low 32 bits */
    if (protobuf_c_enum_descriptor_get_value(ed, v))
        return 0;
    sbuf_setf(err, "%s: unknown value %" PRId32, sbuf_cstr(path), v);
    unsigned choices = 0, k = 0;
    for (unsigned i = 0; i < ed->n_values; i++)
        choices += !is_unspecified(ed->values[i].name);
    for (unsigned i = 0; i < ed->n_values; i++) {
        if (is_unspecified(ed->values[i].name))
            continue;
        sbuf_adds(err, k == 0 ? " (use " : k + 1 == choices ? " or " : ", ");
        sbuf_adds(err, ed->values[i].name);
        if (++k == choices)
            sbuf_addc(err, ')');
    }
    return -1;
}

static int message_check(const ProtobufCMessageDescriptor *d, const uint8_t *p, const uint8_t *end, sbuf *path,
                         unsigned depth, sbuf *err);

/* One known field's value: v is the varint (wire type 0), [val, end) the
 * payload (wire type 2). path names the field; this adds [i] to elements
 * of a repeated one, *seen counting them. Other types need no check: any
 * bits make a number, and a wrong wire type makes protobuf-c refuse the
 * whole request anyway. */
static int field_check(const ProtobufCFieldDescriptor *f, unsigned wire, uint64_t v, const uint8_t *val,
                       const uint8_t *end, unsigned *seen, sbuf *path, unsigned depth, sbuf *err)
{
    bool repeated = f->label == PROTOBUF_C_LABEL_REPEATED;
    size_t mark = path->len;
    int rc = 0;
    switch (f->type) {
    case PROTOBUF_C_TYPE_STRING:
    case PROTOBUF_C_TYPE_MESSAGE:
        if (wire != PROTOBUF_C_WIRE_TYPE_LENGTH_PREFIXED)
            return malformed(err, path, "expected a length-delimited value");
        if (repeated)
            path_index(path, (*seen)++);
        if (f->type == PROTOBUF_C_TYPE_STRING)
            rc = string_check(val, (size_t)(end - val), path, err);
        else
            rc = message_check(f->descriptor, val, end, path, depth + 1, err);
        break;
    case PROTOBUF_C_TYPE_ENUM:
        if (wire == PROTOBUF_C_WIRE_TYPE_VARINT) {
            if (repeated)
                path_index(path, (*seen)++);
            rc = enum_check(f, v, path, err);
        } else if (wire == PROTOBUF_C_WIRE_TYPE_LENGTH_PREFIXED && repeated) { /* packed */
            while (rc == 0 && val < end) {
                if (!varint_read(&val, end, &v))
                    return malformed(err, path, "bad varint in a packed list");
                path_index(path, (*seen)++);
                rc = enum_check(f, v, path, err);
                sbuf_setlen(path, mark);
            }
        } else {
            rc = malformed(err, path, "expected a varint");
        }
        break;
    default:
        break;
    }
    sbuf_setlen(path, mark);
    return rc;
}

/* Walks the fields of one message of type d in [p, end). On the wire a
 * field is a key, the varint (field number << 3 | wire type), then a value
 * whose wire type says how long it is:
 *
 *   0 varint            1 to 10 bytes (above)
 *   1 64-bit            8 bytes
 *   2 length-delimited  a varint n, then n bytes: a string, bytes, a nested
 *                       message, or a packed list of numbers
 *   5 32-bit            4 bytes
 *
 * 3 and 4 (proto2 groups) are refused, as protobuf-c refuses them. Unknown
 * field numbers are skipped; a field may come more than once (the last wins
 * in protobuf) and every occurrence is checked. */
static int message_check(const ProtobufCMessageDescriptor *d, const uint8_t *p, const uint8_t *end, sbuf *path,
                         unsigned depth, sbuf *err)
{
    if (depth > PBCHECK_DEPTH_MAX)
        return malformed(err, path, "messages nested too deeply");
    unsigned *seen = xcalloc(d->n_fields + 1, sizeof *seen); /* elements so far, per repeated field */
    int rc = 0;
    while (rc == 0 && p < end) {
        uint64_t key, v = 0;
        if (!varint_read(&p, end, &key) || key >> 3 == 0 || key >> 3 > UINT32_MAX) {
            rc = malformed(err, path, "bad field key");
            break;
        }
        unsigned wire = key & 7;
        const uint8_t *val = p;
        bool ok = false;
        switch (wire) {
        case PROTOBUF_C_WIRE_TYPE_VARINT:
            ok = varint_read(&p, end, &v);
            break;
        case PROTOBUF_C_WIRE_TYPE_64BIT:
            ok = bytes_skip(&p, end, 8);
            break;
        case PROTOBUF_C_WIRE_TYPE_LENGTH_PREFIXED:
            ok = varint_read(&p, end, &v);
            val = p;
            ok = ok && bytes_skip(&p, end, v);
            break;
        case PROTOBUF_C_WIRE_TYPE_32BIT:
            ok = bytes_skip(&p, end, 4);
            break;
        }
        if (!ok) {
            bool known = wire <= PROTOBUF_C_WIRE_TYPE_LENGTH_PREFIXED || wire == PROTOBUF_C_WIRE_TYPE_32BIT;
            rc = malformed(err, path, known ? "truncated field" : "unsupported wire type");
            break;
        }
        const ProtobufCFieldDescriptor *f = protobuf_c_message_descriptor_get_field(d, (unsigned)(key >> 3));
        if (!f)
            continue;
        size_t mark = path->len;
        if (mark)
            sbuf_addc(path, '.');
        sbuf_adds(path, f->name);
        rc = field_check(f, wire, v, val, p, &seen[f - d->fields], path, depth, err);
        sbuf_setlen(path, mark);
    }
    free(seen);
    return rc;
}

int pbcheck_request(const ProtobufCMessageDescriptor *d, const uint8_t *buf, size_t len, sbuf *err)
{
    if (len == 0)
        return 0;
    sbuf path = SBUF_INIT;
    int rc = message_check(d, buf, buf + len, &path, 0, err);
    sbuf_free(&path);
    return rc;
}

/* ---- replies: unpacked messages --------------------------------------------- */

/* s with each byte that is not part of valid UTF-8 written as \xNN; valid
 * text, control characters included, stays as it was. */
static char *utf8_escaped(const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t len = strlen(s);
    sbuf sb = SBUF_INIT;
    for (size_t i = 0; i < len;) {
        size_t n = utf8_seq_len(p + i, len - i);
        if (n)
            sbuf_add(&sb, p + i, n);
        else
            sbuf_addf(&sb, "\\x%02X", p[i]);
        i += n ? n : 1;
    }
    return sbuf_detach(&sb, NULL);
}

/* Visits every string field of m, nested and repeated (of a oneof only the
 * member that is set: the others share its memory). Only reads m unless fix,
 * which replaces each invalid string by its escaped form, so m must then be
 * a protobuf-c unpacked copy (its strings come from malloc). Returns whether
 * every string was valid UTF-8. */
static bool reply_strings(ProtobufCMessage *m, bool fix)
{
    const ProtobufCMessageDescriptor *d = m->descriptor;
    bool valid = true;
    for (unsigned i = 0; i < d->n_fields && (valid || fix); i++) {
        const ProtobufCFieldDescriptor *f = &d->fields[i];
        char *base = (char *)m;
        if (f->type != PROTOBUF_C_TYPE_STRING && f->type != PROTOBUF_C_TYPE_MESSAGE)
            continue;
        if ((f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) && *(uint32_t *)(base + f->quantifier_offset) != f->id)
            continue;
        void **elems = (void **)(base + f->offset);
        size_t n = 1;
        if (f->label == PROTOBUF_C_LABEL_REPEATED) {
            n = *(size_t *)(base + f->quantifier_offset);
            elems = *(void ***)(base + f->offset);
        }
        for (size_t k = 0; k < n; k++) {
            if (!elems[k])
                continue;
            if (f->type == PROTOBUF_C_TYPE_MESSAGE) {
                valid = reply_strings(elems[k], fix) && valid;
            } else if (!utf8_valid(elems[k], strlen(elems[k]))) {
                valid = false;
                if (fix) {
                    char *e = utf8_escaped(elems[k]);
                    free(elems[k]);
                    elems[k] = e;
                }
            }
        }
    }
    return valid;
}

const ProtobufCMessage *pbcheck_reply(const ProtobufCMessage *m, ProtobufCMessage **copy)
{
    *copy = NULL;
    if (reply_strings((ProtobufCMessage *)m, false)) /* fix false: m is only read */
        return m;
    size_t n = protobuf_c_message_get_packed_size(m);
    uint8_t *buf = xmalloc(n + 1);
    protobuf_c_message_pack(m, buf);
    *copy = protobuf_c_message_unpack(m->descriptor, NULL, n, buf);
    free(buf);
    /* Bytes protobuf-c just packed fail to unpack only when memory runs out
     * or m carries unknown fields it cannot repack (a field number 0 from a
     * client): never for a reply a handler built. Sending m beats aborting. */
    if (!*copy)
        return m;
    reply_strings(*copy, true);
    return *copy;
}
