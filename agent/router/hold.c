/* hold: the waiting room for a switch. See hold.h.
 *
 * The queue is a doubly linked list in arrival order, so the oldest
 * waiter is at the head and one timer, set for the head's deadline, is
 * enough for every statement's wait. */
#include "router/hold.h"

#include "lib/clock.h"

static const double hold_le[] = {0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20};
const prom_buckets hold_seconds_buckets = {hold_le, sizeof hold_le / sizeof hold_le[0]};

static void arm_wait_timer(hold *h);

static void unlink_waiter(hold *h, hold_waiter *w)
{
    if (w->prev)
        w->prev->next = w->next;
    else
        h->head = w->next;
    if (w->next)
        w->next->prev = w->prev;
    else
        h->tail = w->prev;
    w->prev = w->next = NULL;
    w->waiting = false;
    h->stats.held--;
}

static void on_wait_timer(uv_timer_t *t)
{
    hold *h = t->data;
    int64_t now = clock_mono_ms();
    while (h->head && now - h->head->since_mono_ms >= (int64_t)h->limits.statement_wait_ms) {
        hold_waiter *w = h->head;
        unlink_waiter(h, w);
        h->stats.expired_total++;
        w->expire(w);
    }
    arm_wait_timer(h);
}

static void arm_wait_timer(hold *h)
{
    if (!h->head) {
        uv_timer_stop(&h->wait_timer);
        return;
    }
    int64_t left = h->head->since_mono_ms + (int64_t)h->limits.statement_wait_ms - clock_mono_ms();
    uv_timer_start(&h->wait_timer, on_wait_timer, left > 0 ? (uint64_t)left : 0, 0);
}

static void on_drain_timer(uv_timer_t *t)
{
    hold *h = t->data;
    if (h->on)
        h->on_drain_due(h->data);
}

static void on_max_timer(uv_timer_t *t)
{
    hold *h = t->data;
    if (!h->on)
        return;
    hold_end(h);
    h->on_over(h->data);
}

void hold_init(hold *h, uv_loop_t *loop, const hold_limits *limits, void (*on_drain_due)(void *data),
               void (*on_over)(void *data), void *data)
{
    *h = (hold){.loop = loop, .limits = *limits, .on_drain_due = on_drain_due, .on_over = on_over, .data = data};
    uv_timer_init(loop, &h->wait_timer);
    uv_timer_init(loop, &h->max_timer);
    uv_timer_init(loop, &h->drain_timer);
    h->wait_timer.data = h->max_timer.data = h->drain_timer.data = h;
}

void hold_begin(hold *h, uint64_t version)
{
    h->version = version;
    if (h->on)
        return;
    h->on = true;
    h->began_mono_ms = clock_mono_ms();
    h->stats.holds++;
    uv_timer_start(&h->drain_timer, on_drain_timer, h->limits.drain_ms, 0);
    uv_timer_start(&h->max_timer, on_max_timer, h->limits.max_hold_ms, 0);
}

void hold_end(hold *h)
{
    if (!h->on)
        return;
    h->on = false;
    prom_hist_observe(&h->stats.seconds, &hold_seconds_buckets, (double)(clock_mono_ms() - h->began_mono_ms) / 1000.0);
    uv_timer_stop(&h->drain_timer);
    uv_timer_stop(&h->max_timer);
    uv_timer_stop(&h->wait_timer);
    /* A resume may park nothing (the hold is off) but may close its own
     * session, so each waiter leaves the list before its callback. */
    while (h->head) {
        hold_waiter *w = h->head;
        unlink_waiter(h, w);
        h->stats.released_total++;
        w->resume(w);
    }
}

int hold_park(hold *h, hold_waiter *w)
{
    h->stats.held_total++;
    if (h->stats.held >= h->limits.queue_max) {
        h->stats.expired_total++;
        return -1;
    }
    w->since_mono_ms = clock_mono_ms();
    w->waiting = true;
    w->next = NULL;
    w->prev = h->tail;
    if (h->tail)
        h->tail->next = w;
    else
        h->head = w;
    h->tail = w;
    h->stats.held++;
    if (h->head == w)
        arm_wait_timer(h);
    return 0;
}

void hold_unpark(hold *h, hold_waiter *w)
{
    if (!w->waiting)
        return;
    bool was_head = h->head == w;
    unlink_waiter(h, w);
    if (was_head)
        arm_wait_timer(h);
}

void hold_close(hold *h, uv_close_cb cb)
{
    uv_close((uv_handle_t *)&h->wait_timer, cb);
    uv_close((uv_handle_t *)&h->max_timer, cb);
    uv_close((uv_handle_t *)&h->drain_timer, cb);
}
