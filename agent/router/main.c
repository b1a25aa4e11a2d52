/* tablet-router: the data router's entry point.
 *
 * Loads the settings, starts the router on one libuv loop and runs it
 * until SIGTERM or SIGINT, which close every connection and stop. Exit
 * codes: 0 clean stop, 1 runtime failure, 2 bad configuration. */
#include <openssl/ssl.h>
#include <signal.h>
#include <stdio.h>
#include <sys/resource.h>

#include "lib/log.h"
#include "lib/process.h"
#include "lib/version.h"
#include "router/router.h"
#include "router/router_config.h"

typedef struct daemon_ctx {
    const router_config *cfg;
    router *rt;
} daemon_ctx;

static int daemon_start(uv_loop_t *loop, void *ctx, sbuf *err)
{
    daemon_ctx *d = ctx;
    d->rt = router_new(loop, d->cfg, err);
    if (router_start(d->rt, err) == 0)
        return 0;
    router_stop(d->rt, NULL, NULL);
    return -1;
}

static void daemon_stop(void *ctx, void (*done)(void *), void *arg)
{
    router_stop(((daemon_ctx *)ctx)->rt, done, arg);
}

static const process_ops router_process = {"router", daemon_start, daemon_stop};

int main(int argc, char **argv)
{
    router_config cfg;
    sbuf err = SBUF_INIT;
    signal(SIGPIPE, SIG_IGN);
    if (router_config_load(&cfg, argc, argv, &err) != 0) {
        fprintf(stderr, "tablet-router: %s\n", err.buf);
        sbuf_free(&err);
        router_config_free(&cfg);
        return 2;
    }
    if (cfg.help || cfg.version) {
        if (cfg.help)
            router_config_usage(&err);
        else
            sbuf_addf(&err, "tablet-router %s\n", TABLET_AGENT_VERSION);
        fputs(err.buf, stdout);
        sbuf_free(&err);
        router_config_free(&cfg);
        return 0;
    }
    log_set_level(cfg.log_level);
    OPENSSL_init_ssl(0, NULL);
    /* Each client costs a descriptor, and one per server it uses: take
     * all the descriptors the hard limit allows (the soft one is often
     * 1024). */
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
    daemon_ctx d = {&cfg, NULL};
    int rc = process_run(&router_process, &d);
    router_config_free(&cfg);
    uv_library_shutdown();
    return rc;
}
