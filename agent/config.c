/* config: the agent's settings table and its checks. See config.h.
 *
 * The loading itself (defaults < file < environment < flags, strict
 * parsing, --help) is lib/settings, shared with tablet-router; this file
 * only says which settings the agent has and which combinations are bad. */
#include "config.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "lib/settings.h"

#define PASSWORD_ENV "TABLET_AGENT_SOURCE_PASSWORD"

#define F(field) offsetof(agent_config, field)
static const setting opts[] = {
    {"listen", SETTING_STR, F(listen), "127.0.0.1:15991", "gRPC address (host:port) for the orchestrator"},
    {"health-listen", SETTING_STR, F(health_listen), "", "plaintext address serving only grpc.health.v1 (off if empty)"},
    {"metrics-listen", SETTING_STR, F(metrics_listen), "",
     "plaintext HTTP address (ip:port) serving Prometheus metrics at GET /metrics (off if empty)"},
    {"tls-cert", SETTING_STR, F(tls_cert), "", "server certificate (PEM); with tls-key and tls-client-ca enables mTLS"},
    {"tls-key", SETTING_STR, F(tls_key), "", "server private key (PEM)"},
    {"tls-client-ca", SETTING_STR, F(tls_client_ca), "", "CA that client certificates must chain to (PEM)"},
    {"source-host", SETTING_STR, F(source.host), "127.0.0.1", "source server host"},
    {"source-port", SETTING_UINT, F(source.port), "3306", "source server port"},
    {"source-socket", SETTING_STR, F(source.socket), "", "source unix socket (overrides host/port)"},
    {"source-user", SETTING_STR, F(source.user), "", "user the agent logs in as (see README, Grants)"},
    {"source-password-file", SETTING_SECRET_FILE, F(source.password), "", "file holding the source password (or env " PASSWORD_ENV ")"},
    {"probe-interval-ms", SETTING_UINT, F(probe_interval_ms), "2000", "how often the source is probed"},
    {"probe-timeout-s", SETTING_UINT, F(probe_timeout_s), "2", "connect/read timeout of a probe"},
    {"state-dir", SETTING_STR, F(state_dir), "/var/lib/tablet-agent", "where the agent keeps its workflow registry"},
    {"sidecar-schema", SETTING_STR, F(sidecar_schema), "_tablet_agent", "the agent's own schema on the destination"},
    {"fence-exempt-accounts", SETTING_STR, F(fence_exempt), "", "user@host,... a cutover never locks (besides the agent's own and root@localhost)"},
    {"endpoint-password-dirs", SETTING_STR, F(endpoint_password_dirs), "/etc/tablet-agent/endpoints",
     "directories (colon-separated) a request's password_file may name; nothing else is read for a request"},
    {"endpoint-password-env-prefix", SETTING_STR, F(endpoint_password_env_prefix), "TABLET_AGENT_SECRET_",
     "prefix of the environment variables a request's password_env may name (empty: none)"},
    {"server-id", SETTING_UINT, F(server_id), "0", "base of the replica ids of StartStream's streams; each adds a hash of its name (0: 3000000000)"},
    {"log-level", SETTING_LEVEL, F(log_level), "info", "debug, info, warn or error"},
    {"log-format", SETTING_LOG_FORMAT, 0, "text", "text, or json: one object per line (ts, level, component, msg, workflow...)"},
    {"print-grants", SETTING_FLAG, F(print_grants), NULL, "print the GRANT statements the agent's account needs, and exit"},
    {"help", SETTING_FLAG, F(help), NULL, "print this help"},
    {"version", SETTING_FLAG, F(version), NULL, "print the version"},
};
#undef F

static const setting_refusal refused[] = {
    {"source-password", "flags are visible in ps; use --source-password-file or " PASSWORD_ENV},
};

static const settings_spec spec = {
    "tablet-agent", "TABLET_AGENT_", opts, sizeof opts / sizeof opts[0], refused, sizeof refused / sizeof refused[0],
};

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
    memset(cfg, 0, sizeof *cfg);
    if (settings_load(&spec, cfg, argc, argv, err) != 0)
        return -1;
    if (cfg->help || cfg->version || cfg->print_grants)
        return 0;
    cfg->source.connect_timeout_s = cfg->probe_timeout_s;
    cfg->source.read_timeout_s = cfg->probe_timeout_s;
    return config_check(cfg, err);
}

void config_free(agent_config *cfg)
{
    settings_free(&spec, cfg);
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
    settings_usage(&spec, out);
    sbuf_adds(out, "The source password comes from --source-password-file or " PASSWORD_ENV ".\n");
}
