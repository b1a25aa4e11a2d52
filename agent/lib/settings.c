/* settings: defaults < config file < environment < flags. See settings.h.
 *
 * The three sources are applied to one table in order of precedence, so
 * adding a setting is one line in the program's table. Values are parsed
 * strictly: "20x" for a number is an error that names the setting and the
 * source it came from, not a silent 20. */
#include "lib/settings.h"

#include <ctype.h>
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "lib/log.h"
#include "lib/secret.h"

static const setting *setting_find(const settings_spec *spec, const char *name, size_t len)
{
    for (size_t i = 0; i < spec->n; i++)
        if (strlen(spec->table[i].name) == len && strncmp(spec->table[i].name, name, len) == 0)
            return &spec->table[i];
    return NULL;
}

static const struct {
    const char *word;
    bool value;
} bools[] = {{"true", true}, {"yes", true}, {"on", true}, {"1", true},
             {"false", false}, {"no", false}, {"off", false}, {"0", false}};

static int setting_set(void *cfg, const setting *o, const char *value, const char *origin, sbuf *err)
{
    char *field = (char *)cfg + o->offset;
    switch (o->kind) {
    case SETTING_STR:
        free(*(char **)field);
        *(char **)field = xstrdup(value);
        return 0;
    case SETTING_SECRET_FILE:
        secret_free(*(secret **)field);
        *(secret **)field = *value ? secret_from_file(value) : NULL;
        return 0;
    case SETTING_UINT: {
        char *end;
        errno = 0;
        unsigned long v = strtoul(value, &end, 10);
        if (!*value || *end || errno || v > UINT32_MAX || *value == '-') {
            sbuf_setf(err, "%s: %s must be a non-negative integer, got \"%s\"", origin, o->name, value);
            return -1;
        }
        *(unsigned *)field = (unsigned)v;
        return 0;
    }
    case SETTING_LEVEL:
        if (log_level_parse(value, (log_level *)field) != 0) {
            sbuf_setf(err, "%s: %s must be debug, info, warn or error, got \"%s\"", origin, o->name, value);
            return -1;
        }
        return 0;
    case SETTING_LOG_FORMAT: {
        log_format f;
        if (log_format_parse(value, &f) != 0) {
            sbuf_setf(err, "%s: %s must be text or json, got \"%s\"", origin, o->name, value);
            return -1;
        }
        log_set_format(f);
        return 0;
    }
    case SETTING_FLAG:
        *(bool *)field = true;
        return 0;
    case SETTING_BOOL:
        for (size_t i = 0; i < sizeof bools / sizeof bools[0]; i++)
            if (strcasecmp(value, bools[i].word) == 0) {
                *(bool *)field = bools[i].value;
                return 0;
            }
        sbuf_setf(err, "%s: %s must be true or false (yes/no, on/off, 1/0), got \"%s\"", origin, o->name, value);
        return -1;
    }
    return 0;
}

static void settings_defaults(const settings_spec *spec, void *cfg)
{
    for (size_t i = 0; i < spec->n; i++)
        if (spec->table[i].def)
            setting_set(cfg, &spec->table[i], spec->table[i].def, "default", NULL);
}

static char *trim(char *s)
{
    while (isspace((unsigned char)*s))
        s++;
    char *e = s + strlen(s);
    while (e > s && isspace((unsigned char)e[-1]))
        *--e = '\0';
    return s;
}

static int settings_apply_file(const settings_spec *spec, void *cfg, const char *path, sbuf *err)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        sbuf_setf(err, "cannot read config file %s: %s", path, strerror(errno));
        return -1;
    }
    char line[4096];
    int lineno = 0, rc = 0;
    sbuf origin = SBUF_INIT;
    while (rc == 0 && fgets(line, sizeof line, f)) {
        lineno++;
        char *s = trim(line);
        if (!*s || *s == '#')
            continue;
        sbuf_setf(&origin, "%s:%d", path, lineno);
        char *eq = strchr(s, '=');
        if (!eq) {
            sbuf_setf(err, "%s: expected \"name = value\"", origin.buf);
            rc = -1;
            break;
        }
        *eq = '\0';
        char *name = trim(s), *value = trim(eq + 1);
        const setting *o = setting_find(spec, name, strlen(name));
        if (!o || o->kind == SETTING_FLAG) {
            sbuf_setf(err, "%s: unknown setting \"%s\" (see --help)", origin.buf, name);
            rc = -1;
            break;
        }
        rc = setting_set(cfg, o, value, origin.buf, err);
    }
    sbuf_free(&origin);
    fclose(f);
    return rc;
}

static void env_name(const settings_spec *spec, const char *name, sbuf *out)
{
    sbuf_reset(out);
    sbuf_adds(out, spec->env_prefix);
    for (const char *p = name; *p; p++)
        sbuf_addc(out, *p == '-' ? '_' : (char)toupper((unsigned char)*p));
}

static int settings_apply_env(const settings_spec *spec, void *cfg, sbuf *err)
{
    sbuf name = SBUF_INIT;
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < spec->n; i++) {
        if (spec->table[i].kind == SETTING_FLAG)
            continue;
        env_name(spec, spec->table[i].name, &name);
        const char *v = getenv(name.buf);
        if (v)
            rc = setting_set(cfg, &spec->table[i], v, name.buf, err);
    }
    sbuf_free(&name);
    return rc;
}

static bool name_is(const char *name, size_t len, const char *want)
{
    return strlen(want) == len && strncmp(name, want, len) == 0;
}

/* Returns the index of the next unread argument, or -1. */
static int settings_apply_flag(const settings_spec *spec, void *cfg, int argc, char **argv, int i, sbuf *err)
{
    const char *arg = argv[i];
    if (strncmp(arg, "--", 2) != 0) {
        sbuf_setf(err, "unexpected argument \"%s\" (settings are --name=value; see --help)", arg);
        return -1;
    }
    const char *name = arg + 2, *eq = strchr(name, '=');
    size_t nlen = eq ? (size_t)(eq - name) : strlen(name);
    for (size_t r = 0; r < spec->nrefused; r++)
        if (name_is(name, nlen, spec->refused[r].name)) {
            sbuf_setf(err, "--%s is not accepted: %s", spec->refused[r].name, spec->refused[r].reason);
            return -1;
        }
    if (name_is(name, nlen, "config"))
        return eq ? i + 1 : i + 2; /* already applied */
    const setting *o = setting_find(spec, name, nlen);
    if (!o) {
        sbuf_setf(err, "unknown flag --%.*s (see --help)", (int)nlen, name);
        return -1;
    }
    if (o->kind == SETTING_FLAG)
        return setting_set(cfg, o, "", "flag", err) ? -1 : i + 1;
    const char *value = eq ? eq + 1 : (i + 1 < argc ? argv[i + 1] : NULL);
    if (!value) {
        sbuf_setf(err, "--%s needs a value", o->name);
        return -1;
    }
    sbuf origin = SBUF_INIT;
    sbuf_addf(&origin, "--%s", o->name);
    int rc = setting_set(cfg, o, value, origin.buf, err);
    sbuf_free(&origin);
    return rc ? -1 : (eq ? i + 1 : i + 2);
}

static const char *config_file_arg(const settings_spec *spec, int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        if (strncmp(argv[i], "--config=", 9) == 0)
            return argv[i] + 9;
        if (strcmp(argv[i], "--config") == 0 && i + 1 < argc)
            return argv[i + 1];
    }
    sbuf name = SBUF_INIT;
    env_name(spec, "config", &name);
    const char *file = getenv(name.buf);
    sbuf_free(&name);
    return file;
}

int settings_load(const settings_spec *spec, void *cfg, int argc, char **argv, sbuf *err)
{
    settings_defaults(spec, cfg);
    const char *file = config_file_arg(spec, argc, argv);
    if (file && settings_apply_file(spec, cfg, file, err) != 0)
        return -1;
    if (settings_apply_env(spec, cfg, err) != 0)
        return -1;
    for (int i = 1; i < argc;) {
        i = settings_apply_flag(spec, cfg, argc, argv, i, err);
        if (i < 0)
            return -1;
    }
    return 0;
}

void settings_free(const settings_spec *spec, void *cfg)
{
    for (size_t i = 0; i < spec->n; i++) {
        char *field = (char *)cfg + spec->table[i].offset;
        if (spec->table[i].kind == SETTING_STR) {
            free(*(char **)field);
            *(char **)field = NULL;
        } else if (spec->table[i].kind == SETTING_SECRET_FILE) {
            secret_free(*(secret **)field);
            *(secret **)field = NULL;
        }
    }
}

void settings_usage(const settings_spec *spec, sbuf *out)
{
    sbuf name = SBUF_INIT;
    sbuf_addf(out, "usage: %s [--config FILE] [--name=value ...]\n\n"
                   "Settings (flag, environment variable, default):\n", spec->program);
    for (size_t i = 0; i < spec->n; i++) {
        const setting *o = &spec->table[i];
        env_name(spec, o->name, &name);
        sbuf_addf(out, "  --%-22s %s\n", o->name, o->help);
        if (o->kind != SETTING_FLAG)
            sbuf_addf(out, "  %-24s env %s, default \"%s\"\n", "", name.buf, o->def);
    }
    env_name(spec, "config", &name);
    sbuf_addf(out, "\nPrecedence: flags > environment > config file (--config or %s) > defaults.\n", name.buf);
    sbuf_free(&name);
}
