/* pbjson: protobuf-c message -> JSON by walking its descriptor. See pbjson.h.
 *
 * protobuf-c lays a message out as a C struct and describes each field's
 * offset, type and label, so one generic walker prints every message the
 * CLI receives without per-message code. */
#include "pbjson.h"

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

static void write_value(const ProtobufCFieldDescriptor *f, const void *p, sbuf *out);

void pbjson_add_string(sbuf *out, const char *s, size_t len)
{
    sbuf_addc(out, '"');
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '"' || c == '\\') {
            sbuf_addc(out, '\\');
            sbuf_addc(out, (char)c);
        } else if (c == '\n') {
            sbuf_adds(out, "\\n");
        } else if (c < 0x20) {
            sbuf_addf(out, "\\u%04x", c);
        } else {
            sbuf_addc(out, (char)c);
        }
    }
    sbuf_addc(out, '"');
}

static void write_base64(sbuf *out, const uint8_t *d, size_t n)
{
    static const char tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    sbuf_addc(out, '"');
    for (size_t i = 0; i < n; i += 3) {
        uint32_t v = (uint32_t)d[i] << 16 | (i + 1 < n ? (uint32_t)d[i + 1] << 8 : 0) | (i + 2 < n ? d[i + 2] : 0);
        sbuf_addc(out, tab[v >> 18 & 63]);
        sbuf_addc(out, tab[v >> 12 & 63]);
        sbuf_addc(out, i + 1 < n ? tab[v >> 6 & 63] : '=');
        sbuf_addc(out, i + 2 < n ? tab[v & 63] : '=');
    }
    sbuf_addc(out, '"');
}

static size_t value_size(const ProtobufCFieldDescriptor *f)
{
    switch (f->type) {
    case PROTOBUF_C_TYPE_INT64: case PROTOBUF_C_TYPE_SINT64: case PROTOBUF_C_TYPE_SFIXED64:
    case PROTOBUF_C_TYPE_UINT64: case PROTOBUF_C_TYPE_FIXED64: case PROTOBUF_C_TYPE_DOUBLE:
        return 8;
    case PROTOBUF_C_TYPE_STRING: case PROTOBUF_C_TYPE_MESSAGE:
        return sizeof(void *);
    case PROTOBUF_C_TYPE_BYTES:
        return sizeof(ProtobufCBinaryData);
    default:
        return 4;
    }
}

static void write_value(const ProtobufCFieldDescriptor *f, const void *p, sbuf *out)
{
    switch (f->type) {
    case PROTOBUF_C_TYPE_INT32: case PROTOBUF_C_TYPE_SINT32: case PROTOBUF_C_TYPE_SFIXED32:
        sbuf_addf(out, "%d", *(const int32_t *)p);
        break;
    case PROTOBUF_C_TYPE_UINT32: case PROTOBUF_C_TYPE_FIXED32:
        sbuf_addf(out, "%u", *(const uint32_t *)p);
        break;
    case PROTOBUF_C_TYPE_INT64: case PROTOBUF_C_TYPE_SINT64: case PROTOBUF_C_TYPE_SFIXED64:
        sbuf_addf(out, "%lld", (long long)*(const int64_t *)p);
        break;
    case PROTOBUF_C_TYPE_UINT64: case PROTOBUF_C_TYPE_FIXED64:
        sbuf_addf(out, "%llu", (unsigned long long)*(const uint64_t *)p);
        break;
    case PROTOBUF_C_TYPE_FLOAT:
        sbuf_addf(out, "%.9g", (double)*(const float *)p);
        break;
    case PROTOBUF_C_TYPE_DOUBLE:
        sbuf_addf(out, "%.17g", *(const double *)p);
        break;
    case PROTOBUF_C_TYPE_BOOL:
        sbuf_adds(out, *(const protobuf_c_boolean *)p ? "true" : "false");
        break;
    case PROTOBUF_C_TYPE_ENUM: {
        const ProtobufCEnumValue *ev =
            protobuf_c_enum_descriptor_get_value(f->descriptor, *(const int *)p);
        if (ev)
            pbjson_add_string(out, ev->name, strlen(ev->name));
        else
            sbuf_addf(out, "%d", *(const int *)p);
        break;
    }
    case PROTOBUF_C_TYPE_STRING: {
        const char *s = *(char *const *)p;
        pbjson_add_string(out, s ? s : "", s ? strlen(s) : 0);
        break;
    }
    case PROTOBUF_C_TYPE_BYTES: {
        const ProtobufCBinaryData *b = p;
        write_base64(out, b->data, b->len);
        break;
    }
    case PROTOBUF_C_TYPE_MESSAGE: {
        const ProtobufCMessage *m = *(ProtobufCMessage *const *)p;
        if (m)
            pbjson_write(m, out);
        else
            sbuf_adds(out, "null");
        break;
    }
    }
}

static void write_field(const ProtobufCMessage *m, const ProtobufCFieldDescriptor *f, sbuf *out)
{
    const char *base = (const char *)m;
    pbjson_add_string(out, f->name, strlen(f->name));
    sbuf_addc(out, ':');
    if (f->label == PROTOBUF_C_LABEL_REPEATED) {
        size_t n = *(const size_t *)(base + f->quantifier_offset);
        const char *arr = *(char *const *)(base + f->offset);
        sbuf_addc(out, '[');
        for (size_t i = 0; i < n; i++) {
            if (i)
                sbuf_addc(out, ',');
            write_value(f, arr + i * value_size(f), out);
        }
        sbuf_addc(out, ']');
        return;
    }
    write_value(f, base + f->offset, out);
}

void pbjson_write(const ProtobufCMessage *m, sbuf *out)
{
    const ProtobufCMessageDescriptor *d = m->descriptor;
    const char *base = (const char *)m;
    bool first = true;
    sbuf_addc(out, '{');
    for (unsigned i = 0; i < d->n_fields; i++) {
        const ProtobufCFieldDescriptor *f = &d->fields[i];
        if ((f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) &&
            *(const uint32_t *)(base + f->quantifier_offset) != f->id)
            continue;
        if (!first)
            sbuf_addc(out, ',');
        first = false;
        write_field(m, f, out);
    }
    sbuf_addc(out, '}');
}
