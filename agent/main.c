/* tablet-agent: the sidecar daemon's entry point.
 *
 * Loads the configuration, starts the agent on a libuv loop and runs the
 * loop until SIGTERM or SIGINT, which trigger a graceful stop (bounded to
 * well under two seconds). Exit codes: 0 clean stop, 1 runtime failure,
 * 2 bad configuration. */
#include <mysql.h>
#include <signal.h>
#include <stdio.h>
#include <uv.h>

#include "agent.h"
#include "config.h"
#include "lib/log.h"
#include "preflight/preflight.h"

typedef struct process {
    uv_loop_t loop;
    uv_signal_t sigterm, sigint;
    agent *agent;
} process;

static void process_agent_stopped(void *arg)
{
    process *p = arg;
    uv_close((uv_handle_t *)&p->sigterm, NULL);
    uv_close((uv_handle_t *)&p->sigint, NULL);
}

static void process_on_signal(uv_signal_t *h, int signum)
{
    process *p = h->data;
    log_info("agent", "received %s", signum == SIGTERM ? "SIGTERM" : "SIGINT");
    agent_stop(p->agent, process_agent_stopped, p);
}

static int process_run(const agent_config *cfg)
{
    process p = {0};
    sbuf err = SBUF_INIT;
    uv_loop_init(&p.loop);
    if (agent_start(&p.loop, cfg, &p.agent, &err) != 0) {
        log_error("agent", "cannot start: %s", err.buf);
        sbuf_free(&err);
        uv_run(&p.loop, UV_RUN_DEFAULT);
        uv_loop_close(&p.loop);
        return 1;
    }
    uv_signal_init(&p.loop, &p.sigterm);
    uv_signal_init(&p.loop, &p.sigint);
    p.sigterm.data = p.sigint.data = &p;
    uv_signal_start(&p.sigterm, process_on_signal, SIGTERM);
    uv_signal_start(&p.sigint, process_on_signal, SIGINT);
    uv_run(&p.loop, UV_RUN_DEFAULT);
    uv_loop_close(&p.loop);
    sbuf_free(&err);
    return 0;
}

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
    int rc = process_run(&cfg);
    config_free(&cfg);
    /* Join the thread pool so thread-local state (OpenSSL's, via
     * libmariadb) is released before exit. */
    uv_library_shutdown();
    mysql_library_end();
    return rc;
}
