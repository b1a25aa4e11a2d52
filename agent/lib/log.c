/* log: timestamped, level-filtered lines on stderr, text or JSON. See log.h.
 *
 * A line is built in an sbuf and written at once. The message is cut at
 * LOG_MSG_MAX bytes (at a character boundary in JSON) so that one runaway
 * message cannot flood the log. */
#include "log.h"

#include <stdarg.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "lib/clock.h"
#include "lib/sbuf.h"

#define LOG_MSG_MAX 4096

static volatile log_level log_min = LOG_INFO;
static volatile log_format log_fmt = LOG_TEXT;
static const char *const text_names[] = {"DEBUG", "INFO ", "WARN ", "ERROR"};
static const char *const level_names[] = {"debug", "info", "warn", "error"};

void log_set_level(log_level level)
{
    log_min = level;
}

int log_level_parse(const char *s, log_level *out)
{
    for (int i = 0; i < 4; i++) {
        if (strcmp(s, level_names[i]) == 0) {
            *out = (log_level)i;
            return 0;
        }
    }
    return -1;
}

void log_set_format(log_format format)
{
    log_fmt = format;
}

int log_format_parse(const char *s, log_format *out)
{
    if (strcmp(s, "text") == 0)
        *out = LOG_TEXT;
    else if (strcmp(s, "json") == 0)
        *out = LOG_JSON;
    else
        return -1;
    return 0;
}

/* RFC 3339 UTC with milliseconds: 2026-11-26T07:00:00.123Z */
static void add_ts(sbuf *out)
{
    int64_t now = clock_wall_ms();
    time_t secs = (time_t)(now / 1000);
    struct tm tm;
    gmtime_r(&secs, &tm);
    char t[32];
    strftime(t, sizeof t, "%Y-%m-%dT%H:%M:%S", &tm);
    sbuf_addf(out, "%s.%03dZ", t, (int)(now % 1000));
}

/* A JSON string: quotes, backslashes and control characters escaped,
 * well-formed UTF-8 kept, any other byte as U+FFFD. */
static void add_json_string(sbuf *out, const char *s, size_t len)
{
    static const char hex[] = "0123456789abcdef";
    sbuf_addc(out, '"');
    for (size_t i = 0; i < len;) {
        unsigned char c = (unsigned char)s[i];
        if (c == '"' || c == '\\') {
            sbuf_addc(out, '\\');
            sbuf_addc(out, (char)c);
            i++;
        } else if (c == '\n') {
            sbuf_adds(out, "\\n");
            i++;
        } else if (c == '\t') {
            sbuf_adds(out, "\\t");
            i++;
        } else if (c < 0x20 || c == 0x7f) {
            char u[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
            sbuf_add(out, u, sizeof u);
            i++;
        } else if (c < 0x80) {
            sbuf_addc(out, (char)c);
            i++;
        } else {
            size_t n = utf8_seq_len((const unsigned char *)s + i, len - i);
            if (n) {
                sbuf_add(out, s + i, n);
                i += n;
            } else {
                sbuf_adds(out, "\\ufffd");
                i++;
            }
        }
    }
    sbuf_addc(out, '"');
}

static void add_field(sbuf *out, const char *name, const char *value)
{
    if (!value)
        return;
    sbuf_addf(out, ",\"%s\":", name);
    add_json_string(out, value, strlen(value));
}

static void log_vwrite(log_level level, const char *component, const log_about *about, const char *fmt,
                       va_list ap)
{
    if (level < log_min)
        return;
    sbuf msg = SBUF_INIT;
    sbuf_vaddf(&msg, fmt, ap);
    if (msg.len > LOG_MSG_MAX) {
        size_t cut = LOG_MSG_MAX;
        while (cut > 0 && ((unsigned char)msg.buf[cut] & 0xC0) == 0x80)
            cut--; /* not inside a character */
        sbuf_setlen(&msg, cut);
        sbuf_adds(&msg, "...");
    }
    const char *name = about ? (about->workflow ? about->workflow : about->stream) : NULL;
    sbuf line = SBUF_INIT;
    if (log_fmt == LOG_JSON) {
        sbuf_adds(&line, "{\"ts\":\"");
        add_ts(&line);
        sbuf_addf(&line, "\",\"level\":\"%s\"", level_names[level]);
        add_field(&line, "component", component);
        if (about) {
            add_field(&line, "workflow", about->workflow);
            add_field(&line, "stream", about->stream);
            if (about->table) {
                sbuf t = SBUF_INIT;
                sbuf_addf(&t, "%s%s%s", about->schema ? about->schema : "", about->schema ? "." : "",
                          about->table);
                add_field(&line, "table", t.buf);
                sbuf_free(&t);
            }
        }
        sbuf_adds(&line, ",\"msg\":");
        add_json_string(&line, msg.buf ? msg.buf : "", msg.len);
        sbuf_addc(&line, '}');
    } else {
        add_ts(&line);
        sbuf_addf(&line, " %s %s: ", text_names[level], component);
        if (name)
            sbuf_addf(&line, "%s: ", name);
        sbuf_add(&line, msg.buf ? msg.buf : "", msg.len);
    }
    sbuf_addc(&line, '\n');
    ssize_t w = write(STDERR_FILENO, line.buf, line.len);
    (void)w;
    sbuf_free(&line);
    sbuf_free(&msg);
}

void log_write(log_level level, const char *component, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    log_vwrite(level, component, NULL, fmt, ap);
    va_end(ap);
}

void log_event(log_level level, const char *component, const log_about *about, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    log_vwrite(level, component, about, fmt, ap);
    va_end(ap);
}
