/* agent: the one context every part of the daemon is handed.
 *
 * It owns the event loop's view of the world: the configuration, the source
 * monitor, the replication streams and the RPC server. Everything in it is touched only from the
 * loop thread; work that blocks runs elsewhere and reports back to the
 * loop. agent.c wires the parts together and shuts them down in order. */
#ifndef AGENT_H
#define AGENT_H

#include <stdint.h>
#include <uv.h>

#include "config.h"
#include "lib/sbuf.h"
#include "monitor.h"


typedef struct http_metrics http_metrics;
typedef struct rpc_server rpc_server;
typedef struct service service;
typedef struct status_page status_page;
typedef struct streams streams;
typedef struct workflows workflows;

typedef struct agent {
    uv_loop_t *loop;
    const agent_config *cfg;
    monitor *monitor;
    rpc_server *rpc;
    http_metrics *metrics; /* GET /metrics, when metrics-listen is set */
    status_page *status_page; /* GET / on the same port, and its lag history */
    service *service;
    streams *streams;
    workflows *workflows;
    void (*stopped)(void *);
    void *stopped_arg;
    int stopping;
} agent;

int agent_start(uv_loop_t *loop, const agent_config *cfg, agent **out, sbuf *err);
/* Graceful stop: ends watch streams, lets calls finish (bounded), frees
 * the agent, then calls done. */
void agent_stop(agent *a, void (*done)(void *), void *arg);
/* Visible state changed: bump the sequence and tell watchers. */
void agent_changed(agent *a);

#endif
