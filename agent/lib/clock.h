/* clock: the two clocks, each for what it is good at.
 *
 * Durations, timeouts and deadlines read the monotonic clock: a clock step
 * (NTP, an operator, a VM resumed) cannot make a switch's deadline pass
 * early or never, nor a rate jump. Timestamps people read (created_at,
 * started_at, a probe's time) come from the wall clock. Nothing else in
 * the tree reads a clock. */
#ifndef CLOCK_H
#define CLOCK_H

#include <stdint.h>

/* Milliseconds on CLOCK_MONOTONIC: only differences mean anything. */
int64_t clock_mono_ms(void);
/* The same in microseconds: durations of RPCs, which often take less than
 * a millisecond. */
int64_t clock_mono_us(void);
/* Milliseconds since the Unix epoch, UTC. */
int64_t clock_wall_ms(void);
/* Sleep this long (the whole of it, even if a signal comes). */
void clock_sleep_ms(int64_t ms);

#endif
