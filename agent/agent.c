/* agent: wiring and orderly shutdown of the daemon's parts. See agent.h.
 *
 * Start order: RPC server and metrics port (so a bad address fails fast,
 * before anything touches the database), then the monitor. Stop order is
 * the reverse, and each step waits for the previous one: the metrics port
 * closes first (it reads everything below), watchers are ended so the
 * RPC server can drain, then streams stop (rolling back open destination
 * transactions: their saved positions stay exact), then the monitor waits
 * for its in-flight probe. */
#include "agent.h"

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "lib/clock.h"
#include "lib/http_metrics.h"
#include "lib/log.h"
#include "metrics.h"
#include "status_page.h"
#include "rpc/rpc_server.h"
#include "rpc/service.h"
#include "workflow/streams.h"
#include "workflow/workflows.h"

/* What the monitor and the registries call when something visible changed. */
static void agent_on_change(void *data)
{
    agent_changed(data);
}

void agent_changed(agent *a)
{
    if (a->service)
        service_notify(a->service);
}

static void agent_render_metrics(sbuf *out, void *data)
{
    metrics_render(data, out);
}

static void agent_render_status(sbuf *out, void *data)
{
    agent *a = data;
    if (a->status_page)
        status_page_render(a->status_page, out);
}

static int agent_listen(agent *a, sbuf *err)
{
    const agent_config *cfg = a->cfg;
    size_t n;
    const rpc_method *main_methods = service_methods(&n);
    rpc_tls tls = {cfg->tls_cert, cfg->tls_key, cfg->tls_client_ca};
    if (rpc_server_listen(a->rpc, cfg->listen, config_tls_enabled(cfg) ? &tls : NULL, main_methods, n, err) != 0)
        return -1;
    if (cfg->health_listen && *cfg->health_listen) {
        const rpc_method *health = service_health_methods(&n);
        if (rpc_server_listen(a->rpc, cfg->health_listen, NULL, health, n, err) != 0)
            return -1;
    }
    if (rpc_server_start(a->rpc, err) != 0)
        return -1;
    if (*cfg->metrics_listen &&
        http_metrics_start(a->loop, cfg->metrics_listen, agent_render_metrics, a, &a->metrics, err) != 0)
        return -1;
    if (a->metrics) {
        a->status_page = status_page_start(a);
        http_metrics_set_page(a->metrics, agent_render_status, STATUS_PAGE_CONTENT_TYPE);
    }
    return 0;
}

int agent_start(uv_loop_t *loop, const agent_config *cfg, agent **out, sbuf *err)
{
    agent *a = xcalloc(1, sizeof *a);
    a->loop = loop;
    a->cfg = cfg;
    a->streams = streams_new(loop, cfg->server_id, agent_on_change, a);
    a->workflows = workflows_new(loop, cfg->state_dir, &cfg->source, agent_on_change, a);
    service_deps deps = {loop, cfg, NULL, a->streams, a->workflows};
    a->service = service_new(&deps);
    a->rpc = rpc_server_new(loop, a->service);
    if (agent_listen(a, err) != 0) {
        http_metrics_stop(a->metrics);
        status_page_stop(a->status_page);
        rpc_server_shutdown(a->rpc, 0, NULL, NULL);
        service_free(a->service);
        streams_free(a->streams);
        workflows_free(a->workflows);
        free(a);
        return -1;
    }
    a->monitor = monitor_start(loop, &cfg->source, cfg->probe_interval_ms, agent_on_change, a);
    service_set_monitor(a->service, a->monitor);
    sbuf werr = SBUF_INIT;
    if (workflows_restore(a->workflows, &werr) != 0)
        log_error("agent", "cannot restore workflows: %s", werr.buf);
    sbuf_free(&werr);
    log_info("agent", "tablet-agent %s listening on %s%s%s%s%s%s", TABLET_AGENT_VERSION, cfg->listen,
             config_tls_enabled(cfg) ? " (mTLS)" : "",
             *cfg->health_listen ? ", health-only on " : "", cfg->health_listen,
             *cfg->metrics_listen ? ", metrics on http://" : "", cfg->metrics_listen);
    *out = a;
    return 0;
}

static void agent_monitor_stopped(void *arg)
{
    agent *a = arg;
    void (*done)(void *) = a->stopped;
    void *done_arg = a->stopped_arg;
    /* The workflows first: freeing one reports its last change, which
     * reaches the service's watchers. */
    workflows_free(a->workflows);
    streams_free(a->streams);
    service_free(a->service);
    a->service = NULL;
    free(a);
    log_info("agent", "stopped");
    if (done)
        done(done_arg);
}

static void agent_streams_stopped(void *arg)
{
    agent *a = arg;
    monitor_stop(a->monitor, agent_monitor_stopped, a);
}

static void agent_workflows_stopped(void *arg)
{
    agent *a = arg;
    streams_stop_all(a->streams, agent_streams_stopped, a);
}

static void agent_rpc_stopped(void *arg)
{
    agent *a = arg;
    a->rpc = NULL;
    workflows_stop_all(a->workflows, agent_workflows_stopped, a);
}

void agent_stop(agent *a, void (*done)(void *), void *arg)
{
    if (a->stopping++)
        return;
    log_info("agent", "stopping");
    a->stopped = done;
    a->stopped_arg = arg;
    http_metrics_stop(a->metrics);
    a->metrics = NULL;
    status_page_stop(a->status_page); /* after the port: no page is being made now */
    a->status_page = NULL;
    service_close(a->service);
    rpc_server_shutdown(a->rpc, 500, agent_rpc_stopped, a);
}
