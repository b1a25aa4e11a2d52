/* monitor: periodic source probes on the thread pool. See monitor.h.
 *
 * Exactly one probe is in flight at a time. The worker fills a private
 * result; the loop-side completion swaps it into `last` and schedules the
 * next probe, so no lock is needed: the loop never reads the private
 * result while the worker writes it. */
#include "monitor.h"

#include <stdlib.h>
#include <string.h>

#include "lib/log.h"

#define MONITOR_BACKOFF_MIN_MS 250

struct monitor {
    uv_loop_t *loop;
    uv_timer_t timer;
    uv_work_t work;
    probe *probe;
    probe_result next; /* written by the worker */
    probe_result last; /* owned by the loop */
    bool have_last;
    bool busy, stopping;
    unsigned interval_ms;
    unsigned backoff_ms;
    monitor_cb cb;
    void *cb_data;
    void (*done)(void *);
    void *done_arg;
};

static void monitor_schedule(monitor *m);
static void monitor_timer_closed(uv_handle_t *h);

static void monitor_work(uv_work_t *w)
{
    monitor *m = w->data;
    probe_run(m->probe, &m->next);
}

static void monitor_finish(monitor *m)
{
    void (*done)(void *) = m->done;
    void *arg = m->done_arg;
    probe_free(m->probe);
    probe_result_clear(&m->last);
    probe_result_clear(&m->next);
    free(m);
    if (done)
        done(arg);
}

static void monitor_log_transition(const monitor *m, const probe_result *r)
{
    bool was_ok = m->have_last && !m->last.error;
    bool first = !m->have_last;
    if (r->error && (was_ok || first))
        log_warn("monitor", "source not serving: %s", r->error);
    else if (!r->error && (!was_ok || first))
        log_info("monitor", "source serving: %s, gtid %s", r->version ? r->version : "?",
                 r->gtid && *r->gtid ? r->gtid : "(empty)");
}

static void monitor_after(uv_work_t *w, int status)
{
    monitor *m = w->data;
    m->busy = false;
    if (status == UV_ECANCELED || m->stopping) {
        uv_close((uv_handle_t *)&m->timer, monitor_timer_closed);
        return;
    }
    monitor_log_transition(m, &m->next);
    probe_result_clear(&m->last);
    m->last = m->next;
    memset(&m->next, 0, sizeof m->next);
    m->have_last = true;
    m->backoff_ms = m->last.error ? (m->backoff_ms ? m->backoff_ms * 2 : MONITOR_BACKOFF_MIN_MS) : 0;
    monitor_schedule(m);
    m->cb(m->cb_data);
}

static void monitor_tick(uv_timer_t *t)
{
    monitor *m = t->data;
    if (m->busy || m->stopping)
        return;
    m->busy = true;
    if (uv_queue_work(m->loop, &m->work, monitor_work, monitor_after) != 0) {
        m->busy = false;
        monitor_schedule(m);
    }
}

static void monitor_schedule(monitor *m)
{
    unsigned delay = m->interval_ms;
    if (m->backoff_ms && m->backoff_ms < delay)
        delay = m->backoff_ms;
    uv_timer_start(&m->timer, monitor_tick, delay, 0);
}

monitor *monitor_start(uv_loop_t *loop, const db_endpoint *ep, unsigned interval_ms, monitor_cb cb, void *data)
{
    monitor *m = xcalloc(1, sizeof *m);
    m->loop = loop;
    m->probe = probe_new(ep);
    m->interval_ms = interval_ms;
    m->cb = cb;
    m->cb_data = data;
    m->work.data = m;
    uv_timer_init(loop, &m->timer);
    m->timer.data = m;
    uv_timer_start(&m->timer, monitor_tick, 0, 0);
    return m;
}

static void monitor_timer_closed(uv_handle_t *h)
{
    monitor_finish(h->data);
}

void monitor_stop(monitor *m, void (*done)(void *), void *arg)
{
    m->stopping = true;
    m->done = done;
    m->done_arg = arg;
    uv_timer_stop(&m->timer);
    if (m->busy) /* monitor_after finishes the job */
        return;
    uv_close((uv_handle_t *)&m->timer, monitor_timer_closed);
}

const probe_result *monitor_last(const monitor *m)
{
    return m->have_last ? &m->last : NULL;
}

bool monitor_serving(const monitor *m)
{
    return m->have_last && m->last.reachable && !m->last.error;
}
