/* config: the agent's settings from defaults, a file, the environment and
 * command-line flags, in that order of increasing precedence.
 *
 * Every setting has one name used in all three places:
 *   flag  --probe-interval-ms=2000   (or --probe-interval-ms 2000)
 *   env   TABLET_AGENT_PROBE_INTERVAL_MS=2000
 *   file  probe-interval-ms = 2000   (file named by --config or
 *                                      TABLET_AGENT_CONFIG)
 * The source password is the one exception: it is read from
 * --source-password-file or TABLET_AGENT_SOURCE_PASSWORD, never from a flag,
 * because flags are visible to every user in ps. */
#ifndef CONFIG_H
#define CONFIG_H

#include <stdbool.h>
#include <stdint.h>

#include "db/db.h"
#include "lib/log.h"
#include "lib/sbuf.h"
#include "lib/version.h"

typedef struct agent_config {
    char *listen;        /* main gRPC address, host:port */
    char *health_listen; /* plaintext grpc.health.v1-only address; "" = off */
    char *metrics_listen; /* plaintext HTTP GET /metrics address; "" = off */
    char *tls_cert;      /* all three set: mTLS on the main address */
    char *tls_key;
    char *tls_client_ca;
    db_endpoint source;
    unsigned probe_interval_ms;
    unsigned probe_timeout_s;
    char *state_dir;      /* where the agent keeps its workflow registry */
    char *sidecar_schema; /* the agent's own schema on the destination */
    char *fence_exempt;   /* accounts a cutover fence never locks */
    /* Where passwords named by API requests may live: see secret_policy. */
    char *endpoint_password_dirs;
    char *endpoint_password_env_prefix;
    uint32_t server_id;   /* replica server id for binlog streams */
    log_level log_level;
    bool help;
    bool version;
    bool print_grants;
} agent_config;

/* 0 on success; -1 with err naming the bad setting and where it came from. */
int config_load(agent_config *cfg, int argc, char **argv, sbuf *err);
void config_free(agent_config *cfg);
/* The --help text: every setting, its env name and default. */
void config_usage(sbuf *out);
/* TLS is on when all three files are configured; a partial set is an error
 * reported by config_load. */
bool config_tls_enabled(const agent_config *cfg);
/* The policy for passwords named by API requests. */
secret_policy config_secret_policy(const agent_config *cfg);

#endif
