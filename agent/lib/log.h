/* log: one line per event on stderr, safe to call from any thread.
 *
 * Two formats, chosen once at start (--log-format):
 *   text  `2026-11-26T07:00:00.123Z INFO  probe: source reachable` (default)
 *   json  {"ts":"2026-11-26T07:00:00.123Z","level":"info","component":"probe",
 *          "msg":"source reachable"}
 * A JSON line is one object with ts (RFC 3339, milliseconds, UTC), level,
 * component, msg and, when the call says so, the workflow, stream and table
 * the event concerns (log_event): a log pipeline can filter on them
 * instead of parsing the message. Its strings are JSON-escaped and valid
 * UTF-8 whatever bytes the message carried.
 *
 * Each line is formatted in memory and written with a single write(2), so
 * lines from different threads never interleave. Nothing that holds a
 * secret is ever passed here: secrets live in secret.h values, which have
 * no formatting helper on purpose. */
#ifndef LOG_H
#define LOG_H

typedef enum { LOG_DEBUG, LOG_INFO, LOG_WARN, LOG_ERROR } log_level;
typedef enum { LOG_TEXT, LOG_JSON } log_format;

void log_set_level(log_level level);
/* "debug", "info", "warn", "error"; returns -1 for anything else. */
int log_level_parse(const char *s, log_level *out);
void log_set_format(log_format format);
/* "text", "json"; returns -1 for anything else. */
int log_format_parse(const char *s, log_format *out);

/* What an event concerns; any may be NULL. In the text format the line
 * reads "component: NAME: message", NAME the workflow (else the stream),
 * as the callers wrote it before; the table is only a JSON field (the
 * message names it). */
typedef struct log_about {
    const char *workflow;
    const char *stream;
    const char *schema; /* with table: the JSON field reads "schema.table" */
    const char *table;
} log_about;

void log_write(log_level level, const char *component, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void log_event(log_level level, const char *component, const log_about *about, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

#define log_debug(mod, ...) log_write(LOG_DEBUG, mod, __VA_ARGS__)
#define log_info(mod, ...) log_write(LOG_INFO, mod, __VA_ARGS__)
#define log_warn(mod, ...) log_write(LOG_WARN, mod, __VA_ARGS__)
#define log_error(mod, ...) log_write(LOG_ERROR, mod, __VA_ARGS__)

/* A log_about inline: log_event(LOG_INFO, "workflow", LOG_ABOUT(.workflow = name), "..."). */
#define LOG_ABOUT(...) (&(const log_about){__VA_ARGS__})

#endif
