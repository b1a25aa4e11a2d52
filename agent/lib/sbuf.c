/* sbuf: growable byte strings. See sbuf.h for the contract. */
#include "sbuf.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char sbuf_empty[1];

void *xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p) {
        fputs("out of memory\n", stderr);
        abort();
    }
    return p;
}

void *xcalloc(size_t n, size_t size)
{
    void *p = calloc(n ? n : 1, size ? size : 1);
    if (!p) {
        fputs("out of memory\n", stderr);
        abort();
    }
    return p;
}

void *xrealloc(void *p, size_t n)
{
    void *q = realloc(p, n ? n : 1);
    if (!q) {
        fputs("out of memory\n", stderr);
        abort();
    }
    return q;
}

char *xstrdup(const char *s)
{
    return xstrndup(s, strlen(s));
}

char *xstrndup(const char *s, size_t n)
{
    char *p = xmalloc(n + 1);
    memcpy(p, s, n);
    p[n] = '\0';
    return p;
}

void secure_zero(void *p, size_t n)
{
    volatile unsigned char *v = p;
    while (n--)
        *v++ = 0;
}

void sbuf_init(sbuf *sb, size_t hint)
{
    sb->buf = NULL;
    sb->len = sb->cap = 0;
    if (hint)
        sbuf_grow(sb, hint);
}

void sbuf_free(sbuf *sb)
{
    free(sb->buf);
    sb->buf = NULL;
    sb->len = sb->cap = 0;
}

void sbuf_wipe(sbuf *sb)
{
    if (sb->buf)
        secure_zero(sb->buf, sb->cap);
    sbuf_free(sb);
}

void sbuf_reset(sbuf *sb)
{
    sb->len = 0;
    if (sb->buf)
        sb->buf[0] = '\0';
}

void sbuf_grow(sbuf *sb, size_t extra)
{
    size_t need = sb->len + extra + 1;
    if (need <= sb->cap)
        return;
    size_t cap = sb->cap ? sb->cap : 64;
    while (cap < need)
        cap += cap / 2 + 64;
    sb->buf = xrealloc(sb->buf, cap);
    sb->cap = cap;
}

void sbuf_setlen(sbuf *sb, size_t len)
{
    if (len > sb->len)
        sbuf_grow(sb, len - sb->len);
    sb->len = len;
    if (sb->buf)
        sb->buf[len] = '\0';
}

void sbuf_add(sbuf *sb, const void *data, size_t len)
{
    sbuf_grow(sb, len);
    if (len)
        memcpy(sb->buf + sb->len, data, len);
    sb->len += len;
    sb->buf[sb->len] = '\0';
}

void sbuf_adds(sbuf *sb, const char *s)
{
    sbuf_add(sb, s, strlen(s));
}

void sbuf_addc(sbuf *sb, char c)
{
    sbuf_grow(sb, 1);
    sb->buf[sb->len++] = c;
    sb->buf[sb->len] = '\0';
}

void sbuf_vaddf(sbuf *sb, const char *fmt, va_list ap)
{
    va_list cp;
    va_copy(cp, ap);
    sbuf_grow(sb, 64);
    int n = vsnprintf(sb->buf + sb->len, sb->cap - sb->len, fmt, cp);
    va_end(cp);
    if (n < 0)
        return;
    if ((size_t)n >= sb->cap - sb->len) {
        sbuf_grow(sb, (size_t)n);
        vsnprintf(sb->buf + sb->len, sb->cap - sb->len, fmt, ap);
    }
    sb->len += (size_t)n;
}

void sbuf_addf(sbuf *sb, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    sbuf_vaddf(sb, fmt, ap);
    va_end(ap);
}

void sbuf_setf(sbuf *sb, const char *fmt, ...)
{
    va_list ap;
    sbuf_reset(sb);
    va_start(ap, fmt);
    sbuf_vaddf(sb, fmt, ap);
    va_end(ap);
}

void sbuf_add_hex(sbuf *sb, const void *data, size_t len)
{
    static const char digits[] = "0123456789ABCDEF";
    const unsigned char *p = data;
    sbuf_grow(sb, len * 2);
    for (size_t i = 0; i < len; i++) {
        sb->buf[sb->len++] = digits[p[i] >> 4];
        sb->buf[sb->len++] = digits[p[i] & 15];
    }
    sb->buf[sb->len] = '\0';
}

void sbuf_add_duration(sbuf *sb, int64_t s)
{
    if (s < 0)
        s = 0;
    if (s >= 86400)
        sbuf_addf(sb, "%lldd%02lldh", (long long)(s / 86400), (long long)(s % 86400 / 3600));
    else if (s >= 3600)
        sbuf_addf(sb, "%lldh%02lldm", (long long)(s / 3600), (long long)(s % 3600 / 60));
    else if (s >= 60)
        sbuf_addf(sb, "%lldm%02llds", (long long)(s / 60), (long long)(s % 60));
    else
        sbuf_addf(sb, "%llds", (long long)s);
}

void sbuf_add_bytes(sbuf *sb, uint64_t b)
{
    if (b >= 1000ULL * 1000 * 1000)
        sbuf_addf(sb, "%.1f GB", (double)b / 1e9);
    else if (b >= 1000ULL * 1000)
        sbuf_addf(sb, "%.1f MB", (double)b / 1e6);
    else if (b >= 1000)
        sbuf_addf(sb, "%.1f kB", (double)b / 1e3);
    else
        sbuf_addf(sb, "%llu B", (unsigned long long)b);
}

int sbuf_read_file(sbuf *sb, const char *path, sbuf *err)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        sbuf_setf(err, "cannot read %s: %s", path, strerror(errno));
        return -1;
    }
    char chunk[4096];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
        sbuf_add(sb, chunk, n);
    int e = ferror(f) ? errno : 0;
    fclose(f);
    if (e) {
        sbuf_setf(err, "cannot read %s: %s", path, strerror(e));
        return -1;
    }
    return 0;
}

const char *sbuf_cstr(const sbuf *sb)
{
    return sb->buf ? sb->buf : sbuf_empty;
}

char *sbuf_detach(sbuf *sb, size_t *len)
{
    char *p = sb->buf ? sb->buf : xstrdup("");
    if (len)
        *len = sb->len;
    sb->buf = NULL;
    sb->len = sb->cap = 0;
    return p;
}

size_t utf8_seq_len(const unsigned char *p, size_t avail)
{
    unsigned char c = p[0];
    if (c < 0x80)
        return 1;
    size_t n = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC2 ? 2 : 0;
    if (n == 0 || c > 0xF4 || n > avail)
        return 0;
    for (size_t i = 1; i < n; i++)
        if ((p[i] & 0xC0) != 0x80)
            return 0;
    /* Overlong 3- and 4-byte forms, UTF-16 surrogates, past U+10FFFF. */
    if ((c == 0xE0 && p[1] < 0xA0) || (c == 0xED && p[1] > 0x9F) || (c == 0xF0 && p[1] < 0x90) ||
        (c == 0xF4 && p[1] > 0x8F))
        return 0;
    return n;
}

bool utf8_valid(const void *data, size_t len)
{
    const unsigned char *p = data;
    for (size_t i = 0; i < len;) {
        size_t n = utf8_seq_len(p + i, len - i);
        if (!n)
            return false;
        i += n;
    }
    return true;
}

void sbuf_add_printable(sbuf *sb, const void *data, size_t len, size_t max)
{
    const unsigned char *p = data;
    size_t i = 0;
    while (i < len) {
        size_t n = utf8_seq_len(p + i, len - i);
        if (i + (n ? n : 1) > max)
            break;
        if (n == 1 && (p[i] < 0x20 || p[i] == 0x7F))
            n = 0;
        if (n)
            sbuf_add(sb, p + i, n);
        else
            sbuf_addf(sb, "\\x%02X", p[i]);
        i += n ? n : 1;
    }
    if (i < len)
        sbuf_adds(sb, "...");
}
