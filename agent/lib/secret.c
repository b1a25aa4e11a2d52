/* secret: passwords held by reference or in wiped memory. See secret.h. */
#include "lib/secret.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef enum { SECRET_FILE, SECRET_ENV, SECRET_INLINE } secret_kind;

struct secret {
    secret_kind kind;
    char *ref;   /* file path or variable name; NULL for inline */
    char *value; /* env and inline: the bytes, wiped on free */
    size_t len;
};

secret *secret_from_file(const char *path)
{
    secret *s = xcalloc(1, sizeof *s);
    s->kind = SECRET_FILE;
    s->ref = xstrdup(path);
    return s;
}

int secret_from_env(const char *name, bool consume, secret **out, sbuf *err)
{
    const char *v = getenv(name);
    if (!v) {
        sbuf_setf(err, "environment variable %s is not set", name);
        return -1;
    }
    secret *s = secret_from_bytes(v, strlen(v));
    s->kind = SECRET_ENV;
    s->ref = xstrdup(name);
    if (consume) {
        secure_zero((char *)v, strlen(v));
        unsetenv(name);
    }
    *out = s;
    return 0;
}

secret *secret_from_bytes(const char *value, size_t len)
{
    secret *s = xcalloc(1, sizeof *s);
    s->kind = SECRET_INLINE;
    s->value = xstrndup(value, len);
    s->len = len;
    return s;
}

secret *secret_dup(const secret *s)
{
    secret *d = xcalloc(1, sizeof *d);
    d->kind = s->kind;
    d->ref = s->ref ? xstrdup(s->ref) : NULL;
    if (s->value) {
        d->value = xstrndup(s->value, s->len);
        d->len = s->len;
    }
    return d;
}

void secret_free(secret *s)
{
    if (!s)
        return;
    if (s->value) {
        secure_zero(s->value, s->len);
        free(s->value);
    }
    free(s->ref);
    free(s);
}

static int secret_read_file(const char *path, sbuf *out, sbuf *err)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        sbuf_setf(err, "cannot read password file %s: %s", path, strerror(errno));
        return -1;
    }
    char chunk[256];
    ssize_t n;
    while ((n = read(fd, chunk, sizeof chunk)) > 0)
        sbuf_add(out, chunk, (size_t)n);
    secure_zero(chunk, sizeof chunk);
    int e = errno;
    close(fd);
    if (n < 0) {
        sbuf_setf(err, "cannot read password file %s: %s", path, strerror(e));
        return -1;
    }
    while (out->len && (out->buf[out->len - 1] == '\n' || out->buf[out->len - 1] == '\r'))
        out->buf[--out->len] = '\0';
    return 0;
}

int secret_read(const secret *s, sbuf *out, sbuf *err)
{
    sbuf_reset(out);
    if (s->kind == SECRET_FILE)
        return secret_read_file(s->ref, out, err);
    sbuf_add(out, s->value, s->len);
    return 0;
}

void secret_describe(const secret *s, sbuf *out)
{
    switch (s->kind) {
    case SECRET_FILE:
        sbuf_addf(out, "file %s", s->ref);
        break;
    case SECRET_ENV:
        sbuf_addf(out, "env %s", s->ref);
        break;
    case SECRET_INLINE:
        sbuf_adds(out, "inline");
        break;
    }
}

const char *secret_file(const secret *s)
{
    return s->kind == SECRET_FILE ? s->ref : NULL;
}

const char *secret_env(const secret *s)
{
    return s->kind == SECRET_ENV ? s->ref : NULL;
}
