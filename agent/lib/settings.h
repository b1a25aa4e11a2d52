/* settings: a program's settings from defaults, a file, the environment
 * and command-line flags, in that order of increasing precedence.
 *
 * A program describes its settings once, as a table of (name, kind, offset
 * in its config struct, default, help), and every setting gets one name in
 * all three places:
 *   flag  --probe-interval-ms=2000   (or --probe-interval-ms 2000)
 *   env   TABLET_AGENT_PROBE_INTERVAL_MS=2000
 *   file  probe-interval-ms = 2000   (the file named by --config or by the
 *                                      program's config variable)
 * Both programs (tablet-agent, tablet-router) load their settings here, so
 * they parse, report and document them alike. */
#ifndef SETTINGS_H
#define SETTINGS_H

#include <stddef.h>

#include "lib/sbuf.h"

typedef enum {
    SETTING_STR,         /* char *, owned by the config */
    SETTING_UINT,        /* unsigned: strict decimal */
    SETTING_LEVEL,       /* log_level */
    SETTING_FLAG,        /* bool, flags only: --help */
    SETTING_BOOL,        /* bool from true/false, yes/no, on/off, 1/0 */
    SETTING_SECRET_FILE, /* secret *: the path is kept, the content read when used */
    SETTING_LOG_FORMAT,  /* text or json: applied to lib/log as it is read (the log is the
                          * process's, like this setting); the offset is unused */
} setting_kind;

typedef struct setting {
    const char *name;
    setting_kind kind;
    size_t offset;
    const char *def; /* NULL for flags */
    const char *help;
} setting;

/* A flag refused outright, with the reason (e.g. a password on the
 * command line, where every user can read it in ps). */
typedef struct setting_refusal {
    const char *name;
    const char *reason;
} setting_refusal;

typedef struct settings_spec {
    const char *program;    /* "tablet-agent" */
    const char *env_prefix; /* "TABLET_AGENT_" */
    const setting *table;
    size_t n;
    const setting_refusal *refused;
    size_t nrefused;
} settings_spec;

/* Defaults, then the file, the environment and the flags. 0 on success;
 * -1 with err naming the bad setting and where it came from. */
int settings_load(const settings_spec *spec, void *cfg, int argc, char **argv, sbuf *err);
/* Free what settings_load allocated and zero the struct's settings. */
void settings_free(const settings_spec *spec, void *cfg);
/* The --help text: every setting, its environment name and default. */
void settings_usage(const settings_spec *spec, sbuf *out);

#endif
