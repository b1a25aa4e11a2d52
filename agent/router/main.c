/* tablet-router: the data router's entry point.
 *
 * Loads the settings, starts the router on one libuv loop and runs it
 * until SIGTERM or SIGINT, which close every connection and stop. Exit
 * codes: 0 clean stop, 1 runtime failure, 2 bad configuration. */
#include <openssl/ssl.h>
#include <signal.h>
#include <stdio.h>
#include <sys/resource.h>
#include <uv.h>

#include "lib/log.h"
#include "lib/version.h"
#include "router/router.h"
#include "router/router_config.h"

typedef struct process {
    uv_loop_t loop;
    uv_signal_t sigterm, sigint;
    router *rt;
} process;

static void process_router_stopped(void *arg)
{
    process *p = arg;
    uv_close((uv_handle_t *)&p->sigterm, NULL);
    uv_close((uv_handle_t *)&p->sigint, NULL);
}

static void process_on_signal(uv_signal_t *h, int signum)
{
    process *p = h->data;
    log_info("router", "received %s", signum == SIGTERM ? "SIGTERM" : "SIGINT");
    uv_signal_stop(&p->sigterm);
    uv_signal_stop(&p->sigint);
    router_stop(p->rt, process_router_stopped, p);
}

static int process_run(const router_config *cfg)
{
    process p = {0};
    sbuf err = SBUF_INIT;
    uv_loop_init(&p.loop);
    p.rt = router_new(&p.loop, cfg, &err);
    int rc = 0;
    if (router_start(p.rt, &err) != 0) {
        log_error("router", "cannot start: %s", err.buf);
        router_stop(p.rt, NULL, NULL);
        rc = 1;
    } else {
        uv_signal_init(&p.loop, &p.sigterm);
        uv_signal_init(&p.loop, &p.sigint);
        p.sigterm.data = p.sigint.data = &p;
        uv_signal_start(&p.sigterm, process_on_signal, SIGTERM);
        uv_signal_start(&p.sigint, process_on_signal, SIGINT);
    }
    uv_run(&p.loop, UV_RUN_DEFAULT);
    uv_loop_close(&p.loop);
    sbuf_free(&err);
    return rc;
}

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
    int rc = process_run(&cfg);
    router_config_free(&cfg);
    uv_library_shutdown();
    return rc;
}
