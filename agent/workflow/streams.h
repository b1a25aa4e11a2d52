/* streams: the agent's named replication streams (StartStream).
 *
 * A thin registry over vrepl/stream: names are unique, a stream that has
 * stopped keeps its last status until it is restarted under the same name,
 * and every state change is passed on through the callback the registry
 * was given (the agent's: it tells watchers). Loop thread only. */
#ifndef STREAMS_H
#define STREAMS_H

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "lib/sbuf.h"
#include "vrepl/stream.h"
#include "workflow/wf_err.h"

typedef struct streams streams;

/* server_id_base: replica ids are derived from it (0: the default). */
streams *streams_new(uv_loop_t *loop, uint32_t server_id_base, void (*changed)(void *data), void *data);
void streams_free(streams *r);
/* WF_ESTATE when a stream of that name is still running. */
wf_err streams_start(streams *r, const stream_config *cfg, sbuf *err);
/* WF_ENOTFOUND for an unknown name; done runs once it has stopped (at
 * once if it already had). */
wf_err streams_stop(streams *r, const char *name, stream_cb done, void *data);
stream *streams_get(streams *r, const char *name);
size_t streams_count(const streams *r);
stream *streams_at(streams *r, size_t i);
/* Stop every stream (shutdown); done runs when all have. */
void streams_stop_all(streams *r, void (*done)(void *), void *arg);
/* A replica server id for a stream: the base + a hash of the name. */
uint32_t streams_server_id(const streams *r, const char *name);

#endif
