/* secret: passwords held by reference or in wiped memory. See secret.h. */
#include "lib/secret.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
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

/* Absolute, and no "." or ".." component and no empty one: then a plain
 * prefix comparison says whether the path lies below a directory. */
static bool path_normalised(const char *p)
{
    if (p[0] != '/')
        return false;
    for (const char *c = p + 1;; c++) {
        const char *end = strchr(c, '/');
        size_t n = end ? (size_t)(end - c) : strlen(c);
        if (n == 0 || (n == 1 && c[0] == '.') || (n == 2 && c[0] == '.' && c[1] == '.'))
            return false;
        if (!end)
            return true;
        c = end;
    }
}

static bool path_below(const char *path, const char *dir, size_t dirlen)
{
    while (dirlen > 1 && dir[dirlen - 1] == '/')
        dirlen--;
    return strncmp(path, dir, dirlen) == 0 && path[dirlen] == '/' && path[dirlen + 1];
}

int secret_policy_file(const secret_policy *p, const char *field, const char *path, secret **out, sbuf *err)
{
    const char *dirs = p && p->dirs ? p->dirs : "";
    bool lexical = false, resolved = false;
    char real[PATH_MAX];
    bool have_real = path_normalised(path) && realpath(path, real) != NULL;
    int real_errno = errno;
    for (const char *d = dirs; *d;) {
        const char *end = strchr(d, ':');
        size_t n = end ? (size_t)(end - d) : strlen(d);
        if (n && path_below(path, d, n)) {
            lexical = true;
            sbuf dir = SBUF_INIT;
            sbuf_add(&dir, d, n);
            char realdir[PATH_MAX];
            if (have_real && realpath(dir.buf, realdir) && path_below(real, realdir, strlen(realdir)))
                resolved = true;
            sbuf_free(&dir);
        }
        d = end ? end + 1 : d + n;
    }
    if (!path_normalised(path) || !lexical) {
        sbuf_setf(err, "%s must be a file below %s%s: the agent reads passwords only from the directories "
                       "its endpoint-password-dirs setting names (mount the Secret there, or add its directory)",
                  field, *dirs ? "one of " : "", *dirs ? dirs : "a configured directory (none is configured)");
        return -1;
    }
    if (!have_real) {
        sbuf_setf(err, "%s: cannot read %s: %s (the file must exist when the request is made)", field, path,
                  strerror(real_errno));
        return -1;
    }
    if (!resolved) {
        sbuf_setf(err, "%s: %s leads out of the agent's password directories through a symbolic link", field,
                  path);
        return -1;
    }
    *out = secret_from_file(path);
    return 0;
}

int secret_policy_env(const secret_policy *p, const char *field, const char *name, secret **out, sbuf *err)
{
    const char *prefix = p && p->env_prefix ? p->env_prefix : "";
    if (!*prefix || strncmp(name, prefix, strlen(prefix)) != 0 || !name[strlen(prefix)]) {
        if (*prefix)
            sbuf_setf(err, "%s must name a variable starting with %s: the agent lends a request only those "
                           "(its endpoint-password-env-prefix setting)", field, prefix);
        else
            sbuf_setf(err, "%s cannot be used: no endpoint-password-env-prefix is configured", field);
        return -1;
    }
    if (secret_from_env(name, false, out, err) != 0) {
        sbuf tmp = SBUF_INIT;
        sbuf_addf(&tmp, "%s: %s", field, err->buf);
        sbuf_setf(err, "%s", tmp.buf);
        sbuf_free(&tmp);
        return -1;
    }
    return 0;
}
