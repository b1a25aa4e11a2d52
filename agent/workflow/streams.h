/* streams: the agent's named replication streams.
 *
 * A thin registry over vrepl/stream: names are unique, a stream that has
 * stopped keeps its last status until it is restarted under the same name,
 * and every state change is passed on to the agent (and so to watchers). */
#ifndef STREAMS_H
#define STREAMS_H

#include <stddef.h>

#include "lib/sbuf.h"
#include "vrepl/stream.h"

typedef struct agent agent;
typedef struct streams streams;

enum { STREAMS_OK = 0, STREAMS_BUSY = 1, STREAMS_NOT_FOUND = 2 };

streams *streams_new(agent *a);
void streams_free(streams *r);
/* STREAMS_BUSY when a stream of that name is still running. */
int streams_start(streams *r, const stream_config *cfg, sbuf *err);
/* STREAMS_NOT_FOUND for an unknown name; done runs once it has stopped
 * (at once if it already had). */
int streams_stop(streams *r, const char *name, stream_cb done, void *data);
stream *streams_get(streams *r, const char *name);
size_t streams_count(const streams *r);
stream *streams_at(streams *r, size_t i);
/* Stop every stream (shutdown); done runs when all have. */
void streams_stop_all(streams *r, void (*done)(void *), void *arg);
/* A replica server id for a stream: configured base + a hash of the name. */
uint32_t streams_server_id(const streams *r, const char *name);

#endif
