/* service: the agent's RPC surface (tabletagent.v1.TabletAgent and
 * grpc.health.v1.Health) on top of rpc_server.
 *
 * Handlers translate between protobuf messages and the agent's own state;
 * they hold no business logic. Watch streams (StreamHealth, Health.Watch)
 * are kept here and pushed by service_notify whenever the agent's visible
 * state changes. */
#ifndef SERVICE_H
#define SERVICE_H

#include <stddef.h>

#include <uv.h>

#include "rpc/rpc_server.h"

typedef struct service service;
typedef struct monitor monitor;
typedef struct streams streams;
typedef struct workflows workflows;
typedef struct agent_config agent_config;

/* What the service reads and drives; all of it outlives the service. */
typedef struct service_deps {
    uv_loop_t *loop;
    const agent_config *cfg;
    monitor *monitor; /* NULL until service_set_monitor */
    streams *streams;
    workflows *workflows;
} service_deps;

service *service_new(const service_deps *deps);
void service_free(service *s);
/* The monitor starts after the RPC server listens (a bad address fails
 * before anything touches the database). */
void service_set_monitor(service *s, monitor *m);
/* Method tables: the full API, and the health-only subset. */
const rpc_method *service_methods(size_t *n);
const rpc_method *service_health_methods(size_t *n);
/* Visible state changed: a new status sequence, pushed to every watcher. */
void service_notify(service *s);
/* End every watch stream (shutdown). */
void service_close(service *s);

#endif
