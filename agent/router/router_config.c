/* router_config: the router's settings table and its checks. See
 * router_config.h; loading is lib/settings. */
#include "router/router_config.h"

#include <stddef.h>
#include <string.h>

#include "lib/settings.h"
#include "router/backend.h"

#define F(field) offsetof(router_config, field)
static const setting opts[] = {
    {"listen", SETTING_STR, F(listen), "127.0.0.1:6033", "MySQL protocol address (host:port) applications connect to"},
    {"status-listen", SETTING_STR, F(status_listen), "127.0.0.1:15992", "gRPC status address (off if empty)"},
    {"metrics-listen", SETTING_STR, F(metrics_listen), "",
     "plaintext HTTP address (ip:port) serving Prometheus metrics at GET /metrics (off if empty)"},
    {"control-plane", SETTING_STR, F(control_plane), "", "control plane (host:port) whose routing rules to follow"},
    {"workflow", SETTING_STR, F(workflow), "", "the workflow whose rules to follow"},
    {"router-id", SETTING_STR, F(router_id), "", "this router's name in the control plane (default: host name and port)"},
    {"mode", SETTING_STR, F(mode), "", "fixed rules instead of a control plane: source, validate or primary"},
    {"source", SETTING_STR, F(source), "", "the source server (host:port); overrides the rules' address"},
    {"destination", SETTING_STR, F(destination), "", "the destination server (host:port); overrides the rules' address"},
    {"accounts-file", SETTING_STR, F(accounts_file), "",
     "who may connect: lines of \"name *HASH\" (SELECT PASSWORD('...')); re-read when it changes"},
    {"tls-cert", SETTING_STR, F(tls_cert), "", "certificate (PEM) offered to clients; with tls-key enables TLS"},
    {"tls-key", SETTING_STR, F(tls_key), "", "private key (PEM) of tls-cert"},
    {"require-tls", SETTING_BOOL, F(require_tls), "false", "refuse clients that do not use TLS"},
    {"backend-tls", SETTING_STR, F(backend_tls), "preferred",
     "TLS to the servers: off, preferred (when the server offers it), required, verify-ca (the certificate "
     "chains to backend-tls-ca) or verify-identity (and names the server's host)"},
    {"backend-tls-ca", SETTING_STR, F(backend_tls_ca), "",
     "CA certificates (PEM) the servers' certificates must chain to, for verify-ca and verify-identity "
     "(default: the system's)"},
    {"backend-tls-cert", SETTING_STR, F(backend_tls_cert), "",
     "client certificate (PEM) shown to servers that ask for one (accounts with REQUIRE X509); with backend-tls-key"},
    {"backend-tls-key", SETTING_STR, F(backend_tls_key), "", "private key (PEM) of backend-tls-cert"},
    {"connect-timeout-ms", SETTING_UINT, F(connect_timeout_ms), "5000", "limit for connecting and logging in to a server"},
    {"max-packet", SETTING_UINT, F(max_packet), "67108864", "largest command a client may send, in bytes"},
    {"max-connections", SETTING_UINT, F(max_connections), "10000", "client connections at most"},
    {"server-version", SETTING_STR, F(server_version), "",
     "version string shown to clients (default: the write side's own)"},
    {"probe-interval-ms", SETTING_UINT, F(probe_interval_ms), "5000", "how often the servers are looked at for status"},
    {"hold-statement-wait-ms", SETTING_UINT, F(hold_statement_wait_ms), "10000",
     "at a switch: how long one statement may wait for it to finish"},
    {"hold-max-ms", SETTING_UINT, F(hold_max_ms), "20000",
     "at a switch: how long the router holds at most, then routes as the last rules say"},
    {"hold-drain-ms", SETTING_UINT, F(hold_drain_ms), "5000",
     "at a switch: how long open transactions get to finish before they are rolled back"},
    {"hold-queue-max", SETTING_UINT, F(hold_queue_max), "5000", "at a switch: statements waiting at most"},
    {"read-your-writes", SETTING_STR, F(read_your_writes), "session",
     "in VALIDATE, a read waits until the destination has the writes before it: off, session (the session's own "
     "writes) or global (every write the router sent)"},
    {"read-your-writes-wait-ms", SETTING_UINT, F(read_your_writes_wait_ms), "1000",
     "longest wait for the destination to have the writes; then the read goes to the source"},
    {"monitor-user", SETTING_STR, F(monitor_user), "",
     "account that reads the forward stream's position on the destination (GRANT SELECT ON "
     "_tablet_agent.streams); without it, reads after writes go to the source"},
    {"monitor-password-file", SETTING_SECRET_FILE, F(monitor_password), "", "file holding monitor-user's password"},
    {"sidecar-schema", SETTING_STR, F(sidecar_schema), "_tablet_agent",
     "the agent's sidecar schema on the destination (its --sidecar-schema)"},
    {"log-level", SETTING_LEVEL, F(log_level), "info", "debug, info, warn or error"},
    {"log-format", SETTING_LOG_FORMAT, 0, "text", "text, or json: one object per line (ts, level, component, msg, ...)"},
    {"help", SETTING_FLAG, F(help), NULL, "print this help"},
    {"version", SETTING_FLAG, F(version), NULL, "print the version"},
};
#undef F

static const setting_refusal refused[] = {
    {"monitor-password", "flags are visible in ps; use --monitor-password-file"},
};

static const settings_spec spec = {"tablet-router", "TABLET_ROUTER_", opts, sizeof opts / sizeof opts[0],
                                   refused, sizeof refused / sizeof refused[0]};

static int check(router_config *cfg, sbuf *err)
{
    bool fixed = *cfg->mode;
    if (fixed && strcmp(cfg->mode, "source") != 0 && strcmp(cfg->mode, "validate") != 0 &&
        strcmp(cfg->mode, "primary") != 0) {
        sbuf_setf(err, "mode must be source, validate or primary, got \"%s\"", cfg->mode);
        return -1;
    }
    if (fixed && (!*cfg->source || !*cfg->destination)) {
        sbuf_setf(err, "--mode=%s needs --source and --destination (host:port of each server)", cfg->mode);
        return -1;
    }
    if (!fixed && (!*cfg->control_plane || !*cfg->workflow)) {
        sbuf_setf(err, "say where the routing rules come from: --control-plane=HOST:PORT and --workflow=NAME, "
                       "or fixed rules with --mode=source|validate|primary --source=... --destination=...");
        return -1;
    }
    if (fixed && *cfg->control_plane) {
        sbuf_setf(err, "--mode and --control-plane exclude each other: fixed rules, or the control plane's");
        return -1;
    }
    if (!*cfg->accounts_file) {
        sbuf_setf(err, "accounts-file is not set: the router checks every login against it "
                       "(lines of \"name *HASH\", see README, Router)");
        return -1;
    }
    if (!!*cfg->tls_cert != !!*cfg->tls_key) {
        sbuf_setf(err, "TLS needs both tls-cert and tls-key");
        return -1;
    }
    if (cfg->require_tls && !*cfg->tls_cert) {
        sbuf_setf(err, "require-tls needs tls-cert and tls-key");
        return -1;
    }
    bk_tls_mode btls;
    if (backend_tls_mode_parse(cfg->backend_tls, &btls) != 0) {
        sbuf_setf(err, "backend-tls must be off, preferred, required, verify-ca or verify-identity, not \"");
        sbuf_add_printable(err, cfg->backend_tls, strlen(cfg->backend_tls), 64);
        sbuf_addc(err, '"');
        return -1;
    }
    if (!!*cfg->backend_tls_cert != !!*cfg->backend_tls_key) {
        sbuf_setf(err, "a client certificate toward the servers needs both backend-tls-cert and backend-tls-key");
        return -1;
    }
    if (*cfg->backend_tls_cert && btls == BK_TLS_OFF) {
        sbuf_setf(err, "backend-tls-cert needs TLS toward the servers: backend-tls is off");
        return -1;
    }
    if (*cfg->backend_tls_ca && btls < BK_TLS_VERIFY_CA) {
        sbuf_setf(err, "backend-tls-ca is used only to verify the servers' certificates: set backend-tls=verify-ca or "
                       "verify-identity (it is %s)", cfg->backend_tls);
        return -1;
    }
    if (cfg->max_packet < 1024) {
        sbuf_setf(err, "max-packet must be at least 1024 bytes, got %u", cfg->max_packet);
        return -1;
    }
    if (cfg->hold_queue_max < 1 || cfg->hold_statement_wait_ms < 10 || cfg->hold_max_ms < 10) {
        sbuf_setf(err, "hold-queue-max must be at least 1 and hold-statement-wait-ms, hold-max-ms at least 10 "
                       "(got %u, %u, %u)", cfg->hold_queue_max, cfg->hold_statement_wait_ms, cfg->hold_max_ms);
        return -1;
    }
    if (cfg->connect_timeout_ms < 100) {
        sbuf_setf(err, "connect-timeout-ms must be at least 100, got %u", cfg->connect_timeout_ms);
        return -1;
    }
    if (cfg->probe_interval_ms < 100) {
        sbuf_setf(err, "probe-interval-ms must be at least 100, got %u", cfg->probe_interval_ms);
        return -1;
    }
    if (strcmp(cfg->read_your_writes, "off") != 0 && strcmp(cfg->read_your_writes, "session") != 0 &&
        strcmp(cfg->read_your_writes, "global") != 0) {
        sbuf_setf(err, "read-your-writes must be off, session or global, got \"%s\"", cfg->read_your_writes);
        return -1;
    }
    if (cfg->read_your_writes_wait_ms > 60000) {
        sbuf_setf(err, "read-your-writes-wait-ms must be at most 60000, got %u", cfg->read_your_writes_wait_ms);
        return -1;
    }
    if (!!*cfg->monitor_user != !!cfg->monitor_password) {
        sbuf_setf(err, "the monitor account needs both monitor-user and monitor-password-file");
        return -1;
    }
    if (*cfg->monitor_user && !*cfg->workflow) {
        sbuf_setf(err, "monitor-user needs --workflow: the forward stream's position is read from its row, "
                       "named after the workflow");
        return -1;
    }
    if (*cfg->monitor_user && !*cfg->sidecar_schema) {
        sbuf_setf(err, "sidecar-schema must not be empty with monitor-user (the agent's is _tablet_agent)");
        return -1;
    }
    return 0;
}

int router_config_load(router_config *cfg, int argc, char **argv, sbuf *err)
{
    memset(cfg, 0, sizeof *cfg);
    if (settings_load(&spec, cfg, argc, argv, err) != 0)
        return -1;
    if (cfg->help || cfg->version)
        return 0;
    return check(cfg, err);
}

void router_config_free(router_config *cfg)
{
    settings_free(&spec, cfg);
    memset(cfg, 0, sizeof *cfg);
}

void router_config_usage(sbuf *out)
{
    settings_usage(&spec, out);
}
