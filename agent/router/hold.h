/* hold: the router's waiting room for a switch.
 *
 * While a workflow switches (or reverses) its write side, the control
 * plane's rules say "hold": new work for the write side must not start
 * there, since the agent is about to fence it, and must not fail either.
 * Each such command waits here, in arrival order, until the hold ends
 * (the next rules) and then runs on the write side those rules name.
 *
 * This module is the queue and its clocks, and nothing else: it knows no
 * session. A waiter is a struct the owner embeds; the owner's callbacks
 * say what to do when the hold ends (resume) or when a waiter waited too
 * long or cannot wait (expire). Limits, like vtgate's buffering:
 *   - statement_wait_ms: how long one command may wait;
 *   - max_hold_ms: how long a hold may last at all; past it the router
 *     stops holding by itself (a control plane that died mid-switch must
 *     not stall every application), and the owner hears it (on_over);
 *   - drain_ms: how long open transactions on the write side get to
 *     finish after the hold began; then the owner hears it (on_drain_due)
 *     and ends what is left;
 *   - queue_max: commands waiting at most; one more is refused at once.
 * Everything runs on the loop thread. Deadlines use the monotonic clock. */
#ifndef ROUTER_HOLD_H
#define ROUTER_HOLD_H

#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#include "lib/prom.h"

typedef struct hold_waiter hold_waiter;
struct hold_waiter {
    hold_waiter *prev, *next;
    int64_t since_mono_ms;
    bool waiting;
    void (*resume)(hold_waiter *w);
    void (*expire)(hold_waiter *w); /* statement_wait_ms passed */
};

typedef struct hold_limits {
    unsigned statement_wait_ms, max_hold_ms, drain_ms;
    uint32_t queue_max;
} hold_limits;

typedef struct hold_stats {
    uint64_t holds;            /* holds begun */
    uint64_t held_total;       /* commands that waited (or found the queue full) */
    uint64_t released_total;   /* ... and then ran */
    uint64_t expired_total;    /* ... or got an error instead (waited too long, queue full) */
    uint32_t held;             /* commands waiting now */
    prom_hist seconds;         /* each hold's length, in hold_seconds_buckets */
} hold_stats;

/* A switch holds tens to hundreds of milliseconds; the limits are 10 and
 * 20 s. */
extern const prom_buckets hold_seconds_buckets;

typedef struct hold {
    uv_loop_t *loop;
    hold_limits limits;
    bool on;
    uint64_t version; /* the rules version that began it */
    int64_t began_mono_ms;
    hold_waiter *head, *tail;
    uv_timer_t wait_timer, max_timer, drain_timer;
    void (*on_drain_due)(void *data);
    void (*on_over)(void *data);
    void *data;
    hold_stats stats;
} hold;

void hold_init(hold *h, uv_loop_t *loop, const hold_limits *limits, void (*on_drain_due)(void *data),
               void (*on_over)(void *data), void *data);
/* Begin holding (a new version while holding only records the version). */
void hold_begin(hold *h, uint64_t version);
/* Stop holding: every waiter resumes, oldest first. Their resume runs
 * with h->on already false, so what they send now goes through. */
void hold_end(hold *h);
/* Wait: 0, or -1 when the queue is full (counted as expired; the owner
 * answers the client). */
int hold_park(hold *h, hold_waiter *w);
/* Stop waiting without a callback (the owner goes away). */
void hold_unpark(hold *h, hold_waiter *w);
/* Close the timers; cb runs for each of the three (their data is h). */
void hold_close(hold *h, uv_close_cb cb);

#endif
