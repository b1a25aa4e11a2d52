/* log: one line per event on stderr, safe to call from any thread.
 *
 * Lines look like `2026-11-26T07:00:00.123Z INFO  probe: source reachable`.
 * Each line is formatted into a local buffer and written with a single
 * write(2), so lines from different threads never interleave. Nothing that
 * holds a secret is ever passed here: secrets live in secret.h values, which
 * have no formatting helper on purpose. */
#ifndef LOG_H
#define LOG_H

typedef enum { LOG_DEBUG, LOG_INFO, LOG_WARN, LOG_ERROR } log_level;

void log_set_level(log_level level);
/* "debug", "info", "warn", "error"; returns -1 for anything else. */
int log_level_parse(const char *s, log_level *out);

void log_write(log_level level, const char *module, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#define log_debug(mod, ...) log_write(LOG_DEBUG, mod, __VA_ARGS__)
#define log_info(mod, ...) log_write(LOG_INFO, mod, __VA_ARGS__)
#define log_warn(mod, ...) log_write(LOG_WARN, mod, __VA_ARGS__)
#define log_error(mod, ...) log_write(LOG_ERROR, mod, __VA_ARGS__)

#endif
