/* ryw: read-your-writes for the router's read/write split.
 *
 * In VALIDATE the router sends writes to the source and reads to the
 * destination, which the agent's forward stream fills a little later. A
 * session that writes and then reads must see its own write (mode
 * `session`, the default), or every write the router sent before the
 * read (mode `global`). Such a read goes to the destination only once the
 * stream has applied those writes (position.h), waiting at most
 * read-your-writes-wait-ms for it; past that it reads from the source.
 * Other modes need nothing: reads and writes go to one side.
 *
 * Knowing a write's GTID. Replies are forwarded to the client untouched,
 * and an OK packet's format depends on what the client negotiated: a
 * client that did not ask for CLIENT_SESSION_TRACK must never receive one
 * in the session-track format. So the router learns GTIDs the way each
 * client's connection allows:
 *   - The client negotiated CLIENT_SESSION_TRACK (libmariadb and the
 *     mariadb CLI): so did its backends. Before the first command on a
 *     write-side connection the router adds last_gtid to the tracked
 *     variables (MySQL: session_track_gtids = OWN_GTID), keeping the
 *     client's own list, and every commit's OK then names its GTID at no
 *     cost: resp.c reads it as the OK goes by. The client sees one more
 *     tracked variable, which a client that asked for tracking accepts
 *     anyway.
 *   - Any other client (PyMySQL, for one): a write only marks the
 *     session. When a read follows, the router first asks the connection
 *     that wrote SELECT @@last_gtid (consumed, not forwarded), then
 *     decides: one round trip to the source, paid only by a read after
 *     writes. If that connection is gone (a reset, a failure), or on
 *     MySQL, it asks the source's whole position (@@gtid_binlog_pos,
 *     @@GLOBAL.gtid_executed): a superset, so still correct.
 *   Rewriting OK packets for the second kind would save that round trip,
 *   but every reply would then pass through a rewriter instead of being
 *   forwarded in the pieces it arrives in. Asking right after each write
 *   would cost writes that no read follows, and would change what the
 *   client's next statement on the source sees (ROW_COUNT() after a
 *   SELECT is -1): so the question waits for the read, and the tracking
 *   SET goes before a command, never before one that reads the previous
 *   statement's results. The tracked path falls back to asking whenever it
 *   cannot trust an OK without a GTID: the client's statement names
 *   session_track (it may have changed the tracked variables), or the
 *   server refused the tracking SET.
 *
 * Which commands: statements classified as writes (not plain reads, not
 * SET or USE) that ran on the write side and left no transaction open: an
 * autocommit statement, COMMIT, DDL's implicit commit. A transaction's
 * GTID is known at its COMMIT; inside it every read runs in it anyway.
 * Writes in mode SOURCE count as well (only marked: no tracking SET is
 * sent outside a split mode), so a session that wrote just before the
 * rules turned to VALIDATE does not read the destination before the stream
 * applied its writes: its first read there asks the source, as above.
 *
 * Mode global: GTIDs from OK packets go into one set for all; a write of a
 * client without tracking bumps a counter, and a read that finds writes
 * not yet asked for asks the source's whole position itself (on its own
 * session's connection), which covers every write acknowledged before.
 *
 * Without a monitor account there is no position to wait for: reads after
 * a session's own write (global: after any write) go to the source, which
 * is correct and slower. */
#ifndef ROUTER_RYW_H
#define ROUTER_RYW_H

#include <stdbool.h>
#include <stdint.h>

#include "lib/gtid.h"
#include "router/backend.h"
#include "router/position.h"
#include "router/resp.h"

typedef enum { RYW_OFF, RYW_SESSION, RYW_GLOBAL } ryw_mode;

/* "off", "session", "global"; -1 for anything else. */
int ryw_mode_parse(const char *text, ryw_mode *out);
const char *ryw_mode_name(ryw_mode m);

/* Reads after writes, for the status API. */
typedef struct ryw_stats {
    uint64_t waited;           /* reads held until the destination had the writes, or the time ran out */
    uint64_t wait_us;          /* how long they were held, in all */
    uint64_t waited_to_source; /* held reads sent to the source when the time ran out */
    uint64_t to_source;        /* reads sent to the source at once: no monitor, it fails, or cannot wait */
} ryw_stats;

typedef struct ryw_session ryw_session;

/* The router's part, shared by its sessions. */
typedef struct ryw_env {
    ryw_mode mode;
    unsigned wait_ms;
    position *pos; /* NULL: no monitor account */
    ryw_stats *stats;
    /* Mode global. */
    gtid_set *all;          /* the GTIDs of all writes known so far */
    bool wrote;             /* without a monitor: some session wrote */
    uint64_t untracked;     /* writes of clients without tracking, so far */
    uint64_t untracked_asked; /* those the source's position was asked after */
} ryw_env;

struct ryw_session {
    ryw_env *env; /* NULL: read-your-writes off */
    uint32_t id;
    void *owner;
    /* A held read's verdict: to the read side, or to the write side. */
    void (*resume)(ryw_session *rs, bool read_side);
    gtid_set *want; /* own writes the destination may not have yet; NULL: none */
    bool wrote;     /* without a monitor: the session wrote */
    /* Writes whose GTID is still to be asked for, and the connection that
     * ran them (its server thread id guards against a reused pointer);
     * NULL: writes on more than one, ask the source's whole position. */
    bool unasked;
    backend *wrote_on;
    uint32_t wrote_thread;
    /* Questions to the source in flight, and the connection the last one
     * may ask for its own last commit. */
    int asking;
    backend *ask_on;
    uint32_t ask_thread;
    /* A held read. */
    position_waiter w;
    bool parked;
    uint64_t untracked_seen; /* global: env->untracked when the question went out */
    gtid_set *target;
    int64_t started_us, deadline_us;
};

void ryw_env_init(ryw_env *e, ryw_mode mode, unsigned wait_ms, position *pos, ryw_stats *stats);
void ryw_env_free(ryw_env *e);

/* env NULL: off. resume runs on the loop, from ryw_park or later. */
void ryw_session_init(ryw_session *rs, ryw_env *env, uint32_t id, void *owner,
                      void (*resume)(ryw_session *, bool));
/* The session ends: its wait is forgotten (its question, if any, goes
 * with the session's backends). Safe on a zeroed struct and twice. */
void ryw_session_end(ryw_session *rs);

/* Before a command on b, the write side, in a split mode: on a connection
 * with session tracking, queue the SET that makes OK packets name GTIDs
 * (once per connection). The owner skips it before a command that reads
 * the previous statement's results (ROW_COUNT(), SHOW WARNINGS). */
void ryw_track(ryw_session *rs, backend *b);

/* After each command of the client's (a query or an execute) on the
 * write side: reply r, sql its text. may_commit: it is a write, in a
 * split mode or on the source in mode SOURCE. */
void ryw_ran(ryw_session *rs, backend *b, const resp_parser *r, const uint8_t *sql, size_t sql_len,
             bool may_commit);

typedef enum {
    RYW_READ_SIDE,  /* nothing to wait for */
    RYW_WRITE_SIDE, /* read from the write side (counted) */
    RYW_WAIT,       /* hold it: ryw_park */
} ryw_verdict;

/* Where a read may go now, in a split mode. can_wait: the command can be
 * held (a query or an execute; not a PREPARE or SEND_LONG_DATA, which
 * then go to the write side). */
ryw_verdict ryw_read(ryw_session *rs, bool can_wait);
/* Must the held read ask the source first? Then ryw_park needs the
 * session's write-side connection. */
bool ryw_asks_source(const ryw_session *rs);
/* Hold the read ryw_read said RYW_WAIT to: rs->resume tells where it goes
 * once the position covers the writes, or the time ran out, or the
 * position fails. source: the write-side connection to ask on (see
 * ryw_asks_source), else NULL. Everything the owner needs must be set
 * before: resume may run before this returns. */
void ryw_park(ryw_session *rs, backend *source);

#endif
