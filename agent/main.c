/* tablet-agent: the sidecar daemon's entry point.
 *
 * Loads the configuration, starts the agent on a libuv loop and runs the
 * loop until SIGTERM or SIGINT, which trigger a graceful stop (bounded to
 * well under two seconds). Exit codes: 0 clean stop, 1 runtime failure,
 * 2 bad configuration. */
#include <mysql.h>
#include <signal.h>
#include <stdio.h>

#include "agent.h"
#include "config.h"
#include "lib/log.h"
#include "lib/process.h"
#include "preflight/preflight.h"

typedef struct daemon_ctx {
    const agent_config *cfg;
    agent *agent;
} daemon_ctx;

static int daemon_start(uv_loop_t *loop, void *ctx, sbuf *err)
{
    daemon_ctx *d = ctx;
    return agent_start(loop, d->cfg, &d->agent, err);
}

static void daemon_stop(void *ctx, void (*done)(void *), void *arg)
{
    agent_stop(((daemon_ctx *)ctx)->agent, done, arg);
}

static const process_ops agent_process = {"agent", daemon_start, daemon_stop};

int main(int argc, char **argv)
{
    agent_config cfg;
    sbuf err = SBUF_INIT;
    signal(SIGPIPE, SIG_IGN);
    if (config_load(&cfg, argc, argv, &err) != 0) {
        fprintf(stderr, "tablet-agent: %s\n", err.buf);
        sbuf_free(&err);
        config_free(&cfg);
        return 2;
    }
    if (cfg.help || cfg.version || cfg.print_grants) {
        if (cfg.help) {
            config_usage(&err);
        } else if (cfg.print_grants) {
            sbuf_adds(&err, "-- on the source (MariaDB names; see README, Grants)\n");
            preflight_grants_sql(PF_ROLE_SOURCE, FLAVOR_MARIADB, "'tablet_agent'@'%'", cfg.sidecar_schema, &err);
            sbuf_adds(&err, "-- on the destination\n");
            preflight_grants_sql(PF_ROLE_DEST, FLAVOR_MARIADB, "'tablet_agent'@'%'", cfg.sidecar_schema, &err);
        } else {
            sbuf_addf(&err, "tablet-agent %s\n", TABLET_AGENT_VERSION);
        }
        fputs(err.buf, stdout);
        sbuf_free(&err);
        config_free(&cfg);
        return 0;
    }
    log_set_level(cfg.log_level);
    mysql_library_init(0, NULL, NULL);
    daemon_ctx d = {&cfg, NULL};
    int rc = process_run(&agent_process, &d);
    config_free(&cfg);
    /* Join the thread pool so thread-local state (OpenSSL's, via
     * libmariadb) is released before exit. */
    uv_library_shutdown();
    mysql_library_end();
    return rc;
}
