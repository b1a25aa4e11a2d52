/* tool_fail: how the router's test clients report a failure.
 *
 * `error STEP MESSAGE` on one line, then exit 1: a server message can
 * carry newlines or control bytes, which would break the tests' line
 * protocol, so those are shown as \xNN. Header-only: each tool is one
 * file. */
#ifndef TOOL_FAIL_H
#define TOOL_FAIL_H

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

static void fail(const char *step, const char *fmt, ...) __attribute__((format(printf, 2, 3), noreturn));
static void fail(const char *step, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    printf("error %s ", step);
    for (const unsigned char *p = (const unsigned char *)msg; *p; p++) {
        if (*p < 0x20 || *p == 0x7f)
            printf("\\x%02x", *p);
        else
            putchar(*p);
    }
    putchar('\n');
    fflush(stdout);
    exit(1);
}

#endif
