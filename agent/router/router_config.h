/* router_config: tablet-router's settings (lib/settings: flags >
 * environment TABLET_ROUTER_* > config file > defaults).
 *
 * Two ways to say where traffic goes:
 *   --control-plane=HOST:PORT --workflow=NAME   follow the workflow's
 *       routing rules (the normal case; the rules name both servers);
 *   --mode=source|validate|primary --source=... --destination=...
 *       fixed rules, for a setup without a control plane (tests, benches).
 * --source and --destination also override the rules' addresses when the
 * router reaches the servers by other names than the control plane.
 *
 * Read-your-writes (router/ryw.h): --read-your-writes, its wait, and the
 * monitor account that reads the forward stream's position on the
 * destination (--monitor-user, --monitor-password-file, never a password
 * flag; --sidecar-schema; the row is --workflow's). */
#ifndef ROUTER_CONFIG_H
#define ROUTER_CONFIG_H

#include <stdbool.h>

#include "lib/log.h"
#include "lib/sbuf.h"
#include "lib/secret.h"

typedef struct router_config {
    char *listen;        /* MySQL protocol, for applications */
    char *status_listen; /* gRPC status API; "" = off */
    char *metrics_listen; /* plaintext HTTP GET /metrics; "" = off */
    char *control_plane;
    char *workflow;
    char *router_id;
    char *mode; /* "" (follow the control plane), "source", "validate", "primary" */
    char *source;
    char *destination;
    char *accounts_file;
    char *tls_cert; /* both set: clients may use TLS */
    char *tls_key;
    bool require_tls;
    char *backend_tls;    /* off, preferred, required, verify-ca, verify-identity */
    char *backend_tls_ca; /* "": the system's CA store */
    char *backend_tls_cert, *backend_tls_key; /* "": no client certificate */
    unsigned connect_timeout_ms;
    unsigned max_packet;
    unsigned max_connections;
    char *server_version; /* "" = the write side's, learned by probing */
    unsigned probe_interval_ms;
    unsigned hold_statement_wait_ms, hold_max_ms, hold_drain_ms, hold_queue_max;
    char *read_your_writes; /* "off", "session", "global" */
    unsigned read_your_writes_wait_ms;
    char *monitor_user; /* "": no monitor account */
    secret *monitor_password;
    char *sidecar_schema;
    log_level log_level;
    bool help;
    bool version;
} router_config;

int router_config_load(router_config *cfg, int argc, char **argv, sbuf *err);
void router_config_free(router_config *cfg);
void router_config_usage(sbuf *out);

#endif
