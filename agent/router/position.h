/* position: how far the forward stream has applied, read on the
 * destination, for read-your-writes (ryw.h).
 *
 * The agent's applier commits, in the same destination transaction as the
 * rows it applies, the stream's source position in <sidecar>.streams (row
 * `name` = the workflow, column `gtid` = the source GTIDs applied). A read
 * of that row that shows G therefore proves that G's rows are visible to
 * every later read on the destination. The destination's own GTIDs could
 * not tell: the applier commits the source's changes under the
 * destination's GTIDs, so MASTER_GTID_WAIT-style waits do not apply.
 *
 * One monitor connection per router (a backend, backend.h, logged in as
 * the monitor account, on the loop like every other connection). It asks
 * for the row only while someone waits: a waiter registers, the row is
 * read back to back with at least 1 ms between polls, and after each
 * answer, and every millisecond while anyone waits, each waiter's check
 * runs and decides for itself whether it is done (covered, out of time).
 * The last position read is kept: positions only grow, so a GTID it covers
 * needs no poll at all.
 *
 * Failures (cannot log in, the grant is missing, no row for the workflow,
 * no answer in time) make the position "down" for a second: callers then
 * do not wait (position_usable says no) and the next need tries again.
 * Each change between working and failing is logged once. */
#ifndef ROUTER_POSITION_H
#define ROUTER_POSITION_H

#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#include "lib/gtid.h"
#include "lib/sbuf.h"
#include "router/backend.h"

typedef struct position position;
typedef struct position_waiter position_waiter;

/* Intrusive: the waiter's owner keeps it. check may call position_cancel
 * on its own waiter (that is how a wait ends), but on no other. */
struct position_waiter {
    position_waiter *prev, *next;
    bool linked;
    void (*check)(position_waiter *w);
};

typedef struct position_opts {
    const char *user;
    /* SHA1(password) into stage1, asked at each login of the monitor
     * connection (a rotated password is used from the next one on); -1
     * with err said when it cannot be had. */
    int (*stage1)(void *arg, uint8_t stage1[20], sbuf *err);
    void *stage1_arg;
    const char *sidecar;   /* the agent's sidecar schema, "_tablet_agent" */
    const char *stream;    /* the forward stream's name: the workflow */
    unsigned connect_timeout_ms;
    const backend_tls *tls; /* toward the destination; kept, must outlive the position */
} position_opts;

position *position_new(uv_loop_t *loop, const position_opts *o);
/* The destination's address now (the rules may move it); "" for none. */
void position_set_address(position *p, const char *address);
/* Is waiting worth it: not failing now? A position down for a second or
 * more starts trying again (in the background) when asked. */
bool position_usable(position *p);
/* Does the last position read include want? */
bool position_covers(const position *p, const gtid_set *want);
/* Read the position once now, in the background: a new address or new
 * rules find a missing grant or row before a read needs them. */
void position_probe(position *p);
/* Wait: w->check runs after every poll and every millisecond until
 * position_cancel(w). The first poll goes out at once. */
void position_wait(position *p, position_waiter *w);
void position_cancel(position *p, position_waiter *w);
/* Close the connection and the timer; done(arg) runs when libuv let them
 * go. No waiter may be left. */
void position_close(position *p, void (*done)(void *), void *arg);

/* A GTID text of either flavour (a MariaDB list such as "0-1-100,1-2-7",
 * or a MySQL set such as "uuid:1-5"), NULL if it is neither. The empty
 * text is an empty MariaDB list. */
gtid_set *position_parse_gtids(const char *text, size_t len);

#endif
