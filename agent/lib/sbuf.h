/* sbuf: a growable byte string, modelled on git's strbuf.
 *
 * Every piece of text the agent builds (SQL statements, error messages,
 * positions) goes through an sbuf instead of snprintf arithmetic. The buffer
 * is always NUL-terminated, so buf can be passed to C string APIs, but it may
 * also hold binary data (len is authoritative). Allocation failure aborts:
 * a sidecar that runs out of memory cannot do anything useful anyway. */
#ifndef SBUF_H
#define SBUF_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct sbuf {
    char *buf;
    size_t len;
    size_t cap;
} sbuf;

#define SBUF_INIT {NULL, 0, 0}

void sbuf_init(sbuf *sb, size_t hint);
void sbuf_free(sbuf *sb);
/* Zero the bytes before freeing: for buffers that held a secret. */
void sbuf_wipe(sbuf *sb);
void sbuf_reset(sbuf *sb);
void sbuf_grow(sbuf *sb, size_t extra);
void sbuf_setlen(sbuf *sb, size_t len);

void sbuf_add(sbuf *sb, const void *data, size_t len);
void sbuf_adds(sbuf *sb, const char *s);
void sbuf_addc(sbuf *sb, char c);
void sbuf_addf(sbuf *sb, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void sbuf_vaddf(sbuf *sb, const char *fmt, va_list ap);
/* Reset, then format: the usual way to fill an error buffer. */
void sbuf_setf(sbuf *sb, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void sbuf_add_hex(sbuf *sb, const void *data, size_t len);
/* For people: "59s", "1m01s", "2h05m", "3d04h" (negative counts as 0). */
void sbuf_add_duration(sbuf *sb, int64_t seconds);
/* For people: "512 B", "81.9 kB", "1.5 MB", "2.0 GB" (powers of 1000). */
void sbuf_add_bytes(sbuf *sb, uint64_t bytes);
/* Untrusted bytes (a statement from the binlog, a name from a request) as
 * readable text that is always valid UTF-8: well-formed UTF-8 passes
 * through, control characters and invalid bytes become \xNN, and at most
 * max input bytes are shown (cut at a character boundary, then "..."). */
void sbuf_add_printable(sbuf *sb, const void *data, size_t len, size_t max);

/* Is data well-formed UTF-8 (no overlongs, surrogates or values past
 * U+10FFFF)? Protobuf string fields must be. */
bool utf8_valid(const void *data, size_t len);
/* The length of the well-formed UTF-8 sequence at p (1-4), or 0. */
size_t utf8_seq_len(const unsigned char *p, size_t avail);

/* Append a whole file (certificates, keys); -1 with err naming it. */
int sbuf_read_file(sbuf *sb, const char *path, sbuf *err);

/* Never NULL: "" for an empty, unallocated buffer. */
const char *sbuf_cstr(const sbuf *sb);
/* Hand the heap string to the caller; the sbuf is left empty. */
char *sbuf_detach(sbuf *sb, size_t *len);

/* Small allocation helpers shared by every module: they abort on failure. */
void *xmalloc(size_t n);
void *xcalloc(size_t n, size_t size);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
/* Overwrite memory in a way the compiler may not optimise away. */
void secure_zero(void *p, size_t n);

#endif
