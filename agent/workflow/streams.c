/* streams: named replication streams of the agent. See streams.h. */
#include "workflow/streams.h"

#include <stdlib.h>
#include <string.h>

#include "lib/log.h"
#include "workflow/registry.h"

#define SERVER_ID_BASE 3000000000u

struct streams {
    uv_loop_t *loop;
    registry *reg;
    uint32_t server_id_base;
    void (*changed)(void *);
    void *changed_data;
};

static const char *stream_name(const void *item)
{
    return stream_get_config(item)->name;
}

typedef struct stop_wait {
    void (*stopped)(void *);
    void *arg;
} stop_wait;

static void stream_stopped_one(stream *s, void *data)
{
    (void)s;
    stop_wait *w = data;
    w->stopped(w->arg);
    free(w);
}

static void stream_stop_item(void *item, void (*stopped)(void *), void *arg)
{
    stop_wait *w = xcalloc(1, sizeof *w);
    *w = (stop_wait){stopped, arg};
    stream_stop(item, stream_stopped_one, w);
}

static void stream_free_item(void *item)
{
    stream_free(item);
}

static const registry_ops streams_ops = {stream_name, stream_stop_item, stream_free_item};

streams *streams_new(uv_loop_t *loop, uint32_t server_id_base, void (*changed)(void *data), void *data)
{
    streams *r = xcalloc(1, sizeof *r);
    r->loop = loop;
    r->reg = registry_new(&streams_ops);
    r->server_id_base = server_id_base ? server_id_base : SERVER_ID_BASE;
    r->changed = changed;
    r->changed_data = data;
    return r;
}

void streams_free(streams *r)
{
    if (!r)
        return;
    registry_free(r->reg);
    free(r);
}

static void streams_on_change(stream *s, void *data)
{
    (void)s;
    streams *r = data;
    r->changed(r->changed_data);
}

stream *streams_get(streams *r, const char *name)
{
    return registry_get(r->reg, name);
}

wf_err streams_start(streams *r, const stream_config *cfg, sbuf *err)
{
    stream *old = streams_get(r, cfg->name);
    if (old && stream_running(old)) {
        stream_status st;
        stream_status_get(old, &st);
        sbuf_setf(err, "stream %s is %s; stop it first", cfg->name, stream_state_name(st.state));
        stream_status_clear(&st);
        return WF_ESTATE;
    }
    registry_put(r->reg, stream_start(r->loop, cfg, streams_on_change, r));
    r->changed(r->changed_data);
    return WF_OK;
}

wf_err streams_stop(streams *r, const char *name, stream_cb done, void *data)
{
    stream *s = streams_get(r, name);
    if (!s)
        return WF_ENOTFOUND;
    stream_stop(s, done, data);
    return WF_OK;
}

size_t streams_count(const streams *r)
{
    return registry_count(r->reg);
}

stream *streams_at(streams *r, size_t i)
{
    return registry_at(r->reg, i);
}

void streams_stop_all(streams *r, void (*done)(void *), void *arg)
{
    registry_stop_all(r->reg, done, arg);
}

uint32_t streams_server_id(const streams *r, const char *name)
{
    uint32_t h = 2166136261u;
    for (const char *p = name; *p; p++)
        h = (h ^ (unsigned char)*p) * 16777619u;
    return r->server_id_base + h % 1000000u;
}
