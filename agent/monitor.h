/* monitor: probes the source on a timer and keeps the latest result.
 *
 * Probes run on the libuv thread pool (they block on the network); the
 * result is handed back to the loop, which owns it. When the source is
 * unreachable the next attempt comes sooner (250 ms, doubling up to the
 * probe interval), so recovery is noticed quickly and an outage is
 * reported within two probe intervals. */
#ifndef MONITOR_H
#define MONITOR_H

#include <stdbool.h>
#include <uv.h>

#include "db/probe.h"

typedef struct monitor monitor;
/* Called on the loop after every probe. */
typedef void (*monitor_cb)(void *data);

monitor *monitor_start(uv_loop_t *loop, const db_endpoint *ep, unsigned interval_ms, monitor_cb cb, void *data);
/* Stops the timer; done runs once no probe is in flight (the monitor is
 * freed right before). */
void monitor_stop(monitor *m, void (*done)(void *), void *arg);
/* The latest result, or NULL before the first probe finished. */
const probe_result *monitor_last(const monitor *m);
bool monitor_serving(const monitor *m);

#endif
