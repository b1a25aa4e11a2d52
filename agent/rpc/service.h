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

#include "rpc/rpc_server.h"

typedef struct agent agent;
typedef struct service service;

service *service_new(agent *a);
void service_free(service *s);
/* Method tables: the full API, and the health-only subset. */
const rpc_method *service_methods(size_t *n);
const rpc_method *service_health_methods(size_t *n);
/* Push the current state to every watcher. */
void service_notify(service *s);
/* End every watch stream (shutdown). */
void service_close(service *s);

#endif
