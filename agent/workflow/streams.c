/* streams: named replication streams of the agent. See streams.h. */
#include "workflow/streams.h"

#include <stdlib.h>
#include <string.h>

#include "agent.h"
#include "lib/log.h"

struct streams {
    agent *agent;
    stream **v;
    size_t n, cap;
    void (*all_done)(void *);
    void *all_done_arg;
    size_t stopping;
};

streams *streams_new(agent *a)
{
    streams *r = xcalloc(1, sizeof *r);
    r->agent = a;
    return r;
}

void streams_free(streams *r)
{
    if (!r)
        return;
    for (size_t i = 0; i < r->n; i++)
        stream_free(r->v[i]);
    free(r->v);
    free(r);
}

static void streams_on_change(stream *s, void *data)
{
    (void)s;
    agent_changed(((streams *)data)->agent);
}

static ssize_t streams_index(const streams *r, const char *name)
{
    for (size_t i = 0; i < r->n; i++)
        if (strcmp(stream_get_config(r->v[i])->name, name) == 0)
            return (ssize_t)i;
    return -1;
}

stream *streams_get(streams *r, const char *name)
{
    ssize_t i = streams_index(r, name);
    return i < 0 ? NULL : r->v[i];
}

int streams_start(streams *r, const stream_config *cfg, sbuf *err)
{
    ssize_t i = streams_index(r, cfg->name);
    if (i >= 0 && stream_running(r->v[i])) {
        stream_status st;
        stream_status_get(r->v[i], &st);
        sbuf_setf(err, "stream %s is %s; stop it first", cfg->name, stream_state_name(st.state));
        stream_status_clear(&st);
        return STREAMS_BUSY;
    }
    stream *s = stream_start(r->agent->loop, cfg, streams_on_change, r);
    if (i >= 0) {
        stream_free(r->v[i]);
        r->v[i] = s;
    } else {
        if (r->n == r->cap) {
            r->cap = r->cap ? r->cap * 2 : 8;
            r->v = xrealloc(r->v, r->cap * sizeof *r->v);
        }
        r->v[r->n++] = s;
    }
    agent_changed(r->agent);
    return STREAMS_OK;
}

int streams_stop(streams *r, const char *name, stream_cb done, void *data)
{
    stream *s = streams_get(r, name);
    if (!s)
        return STREAMS_NOT_FOUND;
    stream_stop(s, done, data);
    return STREAMS_OK;
}

size_t streams_count(const streams *r)
{
    return r->n;
}

stream *streams_at(streams *r, size_t i)
{
    return i < r->n ? r->v[i] : NULL;
}

static void streams_one_stopped(stream *s, void *data)
{
    (void)s;
    streams *r = data;
    if (--r->stopping == 0 && r->all_done)
        r->all_done(r->all_done_arg);
}

void streams_stop_all(streams *r, void (*done)(void *), void *arg)
{
    r->all_done = done;
    r->all_done_arg = arg;
    r->stopping = r->n + 1; /* +1 so that synchronous completions cannot finish early */
    for (size_t i = 0; i < r->n; i++)
        stream_stop(r->v[i], streams_one_stopped, r);
    streams_one_stopped(NULL, r);
}

uint32_t streams_server_id(const streams *r, const char *name)
{
    uint32_t h = 2166136261u;
    for (const char *p = name; *p; p++)
        h = (h ^ (unsigned char)*p) * 16777619u;
    uint32_t base = r->agent->cfg->server_id ? r->agent->cfg->server_id : 3000000000u;
    return base + h % 1000000u;
}
