/* secret: a password the agent must use but never show.
 *
 * A secret is a reference (a file, an environment variable) or, when an RPC
 * supplied it inline, the bytes themselves. Reading it yields the current
 * value into a caller buffer that the caller wipes after use, so a rotated
 * password file is picked up at the next connection. There is deliberately
 * no way to format a secret into a message: describing one prints only its
 * reference ("file /run/secrets/db" or "env DB_PASSWORD"). */
#ifndef SECRET_H
#define SECRET_H

#include <stdbool.h>

#include "lib/sbuf.h"

typedef struct secret secret;

secret *secret_from_file(const char *path);
/* Reads the variable now; later reads use the copy held in memory. With
 * consume, the variable is also unset so it does not linger in
 * /proc/<pid>/environ (for the agent's own source password). */
int secret_from_env(const char *name, bool consume, secret **out, sbuf *err);
secret *secret_from_bytes(const char *value, size_t len);
secret *secret_dup(const secret *s);
/* Zero the held bytes and free. NULL is fine. */
void secret_free(secret *s);

/* Current value into out (reset first). Trailing newlines of files are
 * dropped. The caller must sbuf_wipe(out) when done. */
int secret_read(const secret *s, sbuf *out, sbuf *err);
/* Where the secret comes from, safe to log: "file PATH", "env NAME",
 * or "inline". */
void secret_describe(const secret *s, sbuf *out);
/* Where a password named by an API request may come from. The agent reads
 * whatever a request names and sends it to whatever server the request
 * names, so a request must not reach the agent's own files or environment
 * (its source password among them): files only below the configured
 * directories, variables only with the configured prefix. */
typedef struct secret_policy {
    const char *dirs;       /* colon-separated absolute directories; "" = none */
    const char *env_prefix; /* "" = no variable may be named */
} secret_policy;

/* A file secret, if path is an absolute, normalised path below one of the
 * policy's directories and resolves (symlinks followed, as a Kubernetes
 * Secret volume's are) to a file below it. field names the request field
 * in messages. A path outside is refused before the file system is asked,
 * so the answer tells nothing about files elsewhere. */
int secret_policy_file(const secret_policy *p, const char *field, const char *path, secret **out, sbuf *err);
/* An environment secret, if name starts with the policy's prefix. */
int secret_policy_env(const secret_policy *p, const char *field, const char *name, secret **out, sbuf *err);

/* The file path for a file secret, else NULL. */
const char *secret_file(const secret *s);
/* The variable name for an environment secret, else NULL. */
const char *secret_env(const secret *s);

#endif
