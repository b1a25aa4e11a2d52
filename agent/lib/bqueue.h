/* bqueue: a bounded blocking queue of pointers between threads.
 *
 * The data path is a chain of threads (binlog reader -> applier, snapshot
 * readers -> copy writers); a bounded queue between two of them keeps a
 * fast producer from filling memory: it waits while the queue holds
 * max_items items or max_bytes bytes (the producer says what an item
 * weighs; one item heavier than max_bytes still enters an empty queue).
 *
 * Closing refuses further pushes; a consumer drains what is left and then
 * gets NULL. Abandoning (a failure upstream) also makes every pop return
 * NULL at once, leaving the items for the owner to take and free. */
#ifndef BQUEUE_H
#define BQUEUE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct bqueue bqueue;

bqueue *bqueue_new(size_t max_items, size_t max_bytes);
/* The queue must be empty (bqueue_take what is left). */
void bqueue_free(bqueue *q);
/* Blocks while full; false once closed (the item stays the caller's). */
bool bqueue_push(bqueue *q, void *item, size_t bytes);
/* The oldest item, waiting up to timeout_ms for one (< 0: until one comes
 * or the queue closes; 0: not at all). NULL when none came: timed out,
 * closed and empty, abandoned, or woken by bqueue_wake. */
void *bqueue_pop(bqueue *q, int64_t timeout_ms);
/* The oldest item without waiting, whatever the state: for draining. */
void *bqueue_take(bqueue *q);
bool bqueue_empty(bqueue *q);
bool bqueue_closed(bqueue *q);
void bqueue_close(bqueue *q, bool abandon);
/* Open again (after draining) for the next run. */
void bqueue_reopen(bqueue *q);
/* Make waiting pops return now, so their callers look at why they wait. */
void bqueue_wake(bqueue *q);

#endif
