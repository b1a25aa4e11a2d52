/* bqueue: bounded blocking queue. See bqueue.h. */
#include "lib/bqueue.h"

#include <stdlib.h>
#include <uv.h>

#include "lib/sbuf.h"

typedef struct slot {
    void *item;
    size_t bytes;
} slot;

struct bqueue {
    uv_mutex_t lock;
    uv_cond_t nonempty, nonfull;
    slot *ring;
    size_t cap, head, count, bytes, max_bytes;
    bool closed, abandoned;
    uint64_t wakes; /* bumped by bqueue_wake: a waiting pop returns */
};

bqueue *bqueue_new(size_t max_items, size_t max_bytes)
{
    bqueue *q = xcalloc(1, sizeof *q);
    uv_mutex_init(&q->lock);
    uv_cond_init(&q->nonempty);
    uv_cond_init(&q->nonfull);
    q->cap = max_items ? max_items : 1;
    q->ring = xcalloc(q->cap, sizeof *q->ring);
    q->max_bytes = max_bytes ? max_bytes : SIZE_MAX;
    return q;
}

void bqueue_free(bqueue *q)
{
    if (!q)
        return;
    uv_mutex_destroy(&q->lock);
    uv_cond_destroy(&q->nonempty);
    uv_cond_destroy(&q->nonfull);
    free(q->ring);
    free(q);
}

static bool full(const bqueue *q)
{
    return q->count == q->cap || (q->count > 0 && q->bytes >= q->max_bytes);
}

bool bqueue_push(bqueue *q, void *item, size_t bytes)
{
    uv_mutex_lock(&q->lock);
    while (!q->closed && full(q))
        uv_cond_wait(&q->nonfull, &q->lock);
    bool ok = !q->closed;
    if (ok) {
        q->ring[(q->head + q->count) % q->cap] = (slot){item, bytes};
        q->count++;
        q->bytes += bytes;
        uv_cond_signal(&q->nonempty);
    }
    uv_mutex_unlock(&q->lock);
    return ok;
}

static void *take_locked(bqueue *q)
{
    if (!q->count)
        return NULL;
    slot s = q->ring[q->head];
    q->head = (q->head + 1) % q->cap;
    q->count--;
    q->bytes -= s.bytes;
    uv_cond_signal(&q->nonfull);
    return s.item;
}

void *bqueue_pop(bqueue *q, int64_t timeout_ms)
{
    uv_mutex_lock(&q->lock);
    uint64_t wakes = q->wakes;
    if (timeout_ms < 0) {
        while (!q->count && !q->closed && !q->abandoned && q->wakes == wakes)
            uv_cond_wait(&q->nonempty, &q->lock);
    } else if (!q->count && !q->closed && !q->abandoned && timeout_ms > 0) {
        uv_cond_timedwait(&q->nonempty, &q->lock, (uint64_t)timeout_ms * 1000000u);
    }
    void *item = q->abandoned ? NULL : take_locked(q);
    uv_mutex_unlock(&q->lock);
    return item;
}

void *bqueue_take(bqueue *q)
{
    uv_mutex_lock(&q->lock);
    void *item = take_locked(q);
    uv_mutex_unlock(&q->lock);
    return item;
}

bool bqueue_empty(bqueue *q)
{
    uv_mutex_lock(&q->lock);
    bool e = q->count == 0;
    uv_mutex_unlock(&q->lock);
    return e;
}

bool bqueue_closed(bqueue *q)
{
    uv_mutex_lock(&q->lock);
    bool c = q->closed;
    uv_mutex_unlock(&q->lock);
    return c;
}

void bqueue_close(bqueue *q, bool abandon)
{
    uv_mutex_lock(&q->lock);
    q->closed = true;
    q->abandoned = q->abandoned || abandon;
    uv_cond_broadcast(&q->nonempty);
    uv_cond_broadcast(&q->nonfull);
    uv_mutex_unlock(&q->lock);
}

void bqueue_reopen(bqueue *q)
{
    uv_mutex_lock(&q->lock);
    q->closed = q->abandoned = false;
    uv_mutex_unlock(&q->lock);
}

void bqueue_wake(bqueue *q)
{
    uv_mutex_lock(&q->lock);
    q->wakes++;
    uv_cond_broadcast(&q->nonempty);
    uv_mutex_unlock(&q->lock);
}
