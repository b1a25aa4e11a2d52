/* config: defaults < config file < environment < flags. See config.h.
 *
 * One table describes every setting (name, type, where it lives in
 * agent_config, default, help), and the three sources are applied to it in
 * order of precedence, so adding a setting is one line. Values are parsed
 * strictly: "20x" for a number is an error that names the setting and the
 * source it came from, not a silent 20. */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ENV_PREFIX "TABLET_AGENT_"
#define PASSWORD_ENV "TABLET_AGENT_SOURCE_PASSWORD"

typedef enum { OPT_STR, OPT_UINT, OPT_LEVEL, OPT_FLAG, OPT_PASSWORD_FILE } opt_kind;

typedef struct opt {
    const char *name;
    opt_kind kind;
    size_t offset;
    const char *def;
    const char *help;
} opt;

#define F(field) offsetof(agent_config, field)
static const opt opts[] = {
    {"listen", OPT_STR, F(listen), "127.0.0.1:15991", "gRPC address (host:port) for the orchestrator"},
    {"health-listen", OPT_STR, F(health_listen), "", "plaintext address serving only grpc.health.v1 (off if empty)"},
    {"tls-cert", OPT_STR, F(tls_cert), "", "server certificate (PEM); with tls-key and tls-client-ca enables mTLS"},
    {"tls-key", OPT_STR, F(tls_key), "", "server private key (PEM)"},
    {"tls-client-ca", OPT_STR, F(tls_client_ca), "", "CA that client certificates must chain to (PEM)"},
    {"source-host", OPT_STR, F(source.host), "127.0.0.1", "source server host"},
    {"source-port", OPT_UINT, F(source.port), "3306", "source server port"},
    {"source-socket", OPT_STR, F(source.socket), "", "source unix socket (overrides host/port)"},
    {"source-user", OPT_STR, F(source.user), "", "user the agent logs in as (see README, Grants)"},
    {"source-password-file", OPT_PASSWORD_FILE, 0, "", "file holding the source password (or env " PASSWORD_ENV ")"},
    {"probe-interval-ms", OPT_UINT, F(probe_interval_ms), "2000", "how often the source is probed"},
    {"probe-timeout-s", OPT_UINT, F(probe_timeout_s), "2", "connect/read timeout of a probe"},
    {"state-dir", OPT_STR, F(state_dir), "/var/lib/tablet-agent", "where the agent keeps its workflow registry"},
    {"sidecar-schema", OPT_STR, F(sidecar_schema), "_tablet_agent", "the agent's own schema on the destination"},
    {"fence-exempt-accounts", OPT_STR, F(fence_exempt), "", "user@host,... a cutover never locks (besides the agent's own and root@localhost)"},
    {"endpoint-password-dirs", OPT_STR, F(endpoint_password_dirs), "/etc/tablet-agent/endpoints",
     "directories (colon-separated) a request's password_file may name; nothing else is read for a request"},
    {"endpoint-password-env-prefix", OPT_STR, F(endpoint_password_env_prefix), "TABLET_AGENT_SECRET_",
     "prefix of the environment variables a request's password_env may name (empty: none)"},
    {"server-id", OPT_UINT, F(server_id), "0", "base of the replica ids of StartStream's streams; each adds a hash of its name (0: 3000000000)"},
    {"log-level", OPT_LEVEL, F(log_level), "info", "debug, info, warn or error"},
    {"print-grants", OPT_FLAG, F(print_grants), NULL, "print the GRANT statements the agent's account needs, and exit"},
    {"help", OPT_FLAG, F(help), NULL, "print this help"},
    {"version", OPT_FLAG, F(version), NULL, "print the version"},
};
#undef F
#define NOPTS (sizeof opts / sizeof opts[0])

static const opt *opt_find(const char *name, size_t len)
{
    for (size_t i = 0; i < NOPTS; i++)
        if (strlen(opts[i].name) == len && strncmp(opts[i].name, name, len) == 0)
            return &opts[i];
    return NULL;
}

static int opt_set(agent_config *cfg, const opt *o, const char *value, const char *origin, sbuf *err)
{
    char *field = (char *)cfg + o->offset;
    switch (o->kind) {
    case OPT_STR:
        free(*(char **)field);
        *(char **)field = xstrdup(value);
        return 0;
    case OPT_PASSWORD_FILE:
        secret_free(cfg->source.password);
        cfg->source.password = *value ? secret_from_file(value) : NULL;
        return 0;
    case OPT_UINT: {
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
    case OPT_LEVEL:
        if (log_level_parse(value, (log_level *)field) != 0) {
            sbuf_setf(err, "%s: %s must be debug, info, warn or error, got \"%s\"", origin, o->name, value);
            return -1;
        }
        return 0;
    case OPT_FLAG:
        *(bool *)field = true;
        return 0;
    }
    return 0;
}

static void config_defaults(agent_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    for (size_t i = 0; i < NOPTS; i++)
        if (opts[i].def)
            opt_set(cfg, &opts[i], opts[i].def, "default", NULL);
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

static int config_apply_file(agent_config *cfg, const char *path, sbuf *err)
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
        const opt *o = opt_find(name, strlen(name));
        if (!o || o->kind == OPT_FLAG) {
            sbuf_setf(err, "%s: unknown setting \"%s\" (see --help)", origin.buf, name);
            rc = -1;
            break;
        }
        rc = opt_set(cfg, o, value, origin.buf, err);
    }
    sbuf_free(&origin);
    fclose(f);
    return rc;
}

static void env_name(const char *opt_name, sbuf *out)
{
    sbuf_reset(out);
    sbuf_adds(out, ENV_PREFIX);
    for (const char *p = opt_name; *p; p++)
        sbuf_addc(out, *p == '-' ? '_' : (char)toupper((unsigned char)*p));
}

static int config_apply_env(agent_config *cfg, sbuf *err)
{
    sbuf name = SBUF_INIT;
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < NOPTS; i++) {
        if (opts[i].kind == OPT_FLAG)
            continue;
        env_name(opts[i].name, &name);
        const char *v = getenv(name.buf);
        if (v)
            rc = opt_set(cfg, &opts[i], v, name.buf, err);
    }
    sbuf_free(&name);
    return rc;
}

/* Returns the index of the next unread argument, or -1. */
static int config_apply_flag(agent_config *cfg, int argc, char **argv, int i, sbuf *err)
{
    const char *arg = argv[i];
    if (strncmp(arg, "--", 2) != 0) {
        sbuf_setf(err, "unexpected argument \"%s\" (settings are --name=value; see --help)", arg);
        return -1;
    }
    const char *name = arg + 2, *eq = strchr(name, '=');
    size_t nlen = eq ? (size_t)(eq - name) : strlen(name);
    if (nlen == strlen("source-password") && strncmp(name, "source-password", nlen) == 0) {
        sbuf_setf(err, "--source-password is not accepted: flags are visible in ps; "
                       "use --source-password-file or " PASSWORD_ENV);
        return -1;
    }
    const opt *o = opt_find(name, nlen);
    if (!o && nlen == strlen("config") && strncmp(name, "config", nlen) == 0)
        return eq ? i + 1 : i + 2; /* already applied */
    if (!o) {
        sbuf_setf(err, "unknown flag --%.*s (see --help)", (int)nlen, name);
        return -1;
    }
    if (o->kind == OPT_FLAG)
        return opt_set(cfg, o, "", "flag", err) ? -1 : i + 1;
    const char *value = eq ? eq + 1 : (i + 1 < argc ? argv[i + 1] : NULL);
    if (!value) {
        sbuf_setf(err, "--%s needs a value", o->name);
        return -1;
    }
    sbuf origin = SBUF_INIT;
    sbuf_addf(&origin, "--%s", o->name);
    int rc = opt_set(cfg, o, value, origin.buf, err);
    sbuf_free(&origin);
    return rc ? -1 : (eq ? i + 1 : i + 2);
}

static const char *config_file_arg(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        if (strncmp(argv[i], "--config=", 9) == 0)
            return argv[i] + 9;
        if (strcmp(argv[i], "--config") == 0 && i + 1 < argc)
            return argv[i + 1];
    }
    return getenv("TABLET_AGENT_CONFIG");
}

static int config_check(agent_config *cfg, sbuf *err)
{
    int ntls = !!*cfg->tls_cert + !!*cfg->tls_key + !!*cfg->tls_client_ca;
    if (ntls != 0 && ntls != 3) {
        sbuf_setf(err, "mTLS needs all of tls-cert, tls-key and tls-client-ca; %d of 3 are set", ntls);
        return -1;
    }
    if (!*cfg->source.user) {
        sbuf_setf(err, "source-user is not set: give --source-user or TABLET_AGENT_SOURCE_USER");
        return -1;
    }
    if (cfg->probe_interval_ms < 100) {
        sbuf_setf(err, "probe-interval-ms must be at least 100, got %u", cfg->probe_interval_ms);
        return -1;
    }
    if (!cfg->source.password && getenv(PASSWORD_ENV))
        return secret_from_env(PASSWORD_ENV, true, &cfg->source.password, err);
    return 0;
}

int config_load(agent_config *cfg, int argc, char **argv, sbuf *err)
{
    config_defaults(cfg);
    const char *file = config_file_arg(argc, argv);
    if (file && config_apply_file(cfg, file, err) != 0)
        return -1;
    if (config_apply_env(cfg, err) != 0)
        return -1;
    for (int i = 1; i < argc;) {
        i = config_apply_flag(cfg, argc, argv, i, err);
        if (i < 0)
            return -1;
    }
    if (cfg->help || cfg->version || cfg->print_grants)
        return 0;
    cfg->source.connect_timeout_s = cfg->probe_timeout_s;
    cfg->source.read_timeout_s = cfg->probe_timeout_s;
    return config_check(cfg, err);
}

void config_free(agent_config *cfg)
{
    for (size_t i = 0; i < NOPTS; i++)
        if (opts[i].kind == OPT_STR)
            free(*(char **)((char *)cfg + opts[i].offset));
    secret_free(cfg->source.password);
    memset(cfg, 0, sizeof *cfg);
}

bool config_tls_enabled(const agent_config *cfg)
{
    return cfg->tls_cert && *cfg->tls_cert;
}

secret_policy config_secret_policy(const agent_config *cfg)
{
    return (secret_policy){cfg->endpoint_password_dirs, cfg->endpoint_password_env_prefix};
}

void config_usage(sbuf *out)
{
    sbuf name = SBUF_INIT;
    sbuf_adds(out, "usage: tablet-agent [--config FILE] [--name=value ...]\n\n"
                   "Settings (flag, environment variable, default):\n");
    for (size_t i = 0; i < NOPTS; i++) {
        env_name(opts[i].name, &name);
        sbuf_addf(out, "  --%-22s %s\n", opts[i].name, opts[i].help);
        if (opts[i].kind != OPT_FLAG)
            sbuf_addf(out, "  %-24s env %s, default \"%s\"\n", "", name.buf, opts[i].def);
    }
    sbuf_adds(out, "\nPrecedence: flags > environment > config file > defaults.\n"
                   "The source password comes from --source-password-file or " PASSWORD_ENV ".\n");
    sbuf_free(&name);
}
