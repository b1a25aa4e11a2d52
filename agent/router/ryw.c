/* ryw: read-your-writes. See ryw.h.
 *
 * A session keeps the GTIDs of its writes the destination may not have
 * (want) until a read finds them covered; in mode global the router keeps
 * one set for all (env->all), which only grows. Writes whose GTID the OK
 * did not name are only marked (unasked; global: a counter) until a read
 * needs them. A held read first asks the source, if it must, while the
 * position is already being polled; then waits on the position
 * (position_wait): its check runs after each poll and each millisecond,
 * and ends the wait when the position covers the target, the deadline
 * passed, or the position failed.
 *
 * A held read's reply reaches the client only after its question was
 * answered (the question is ahead of it on the source connection, or it
 * waits for the answer before going to the destination), so a new read
 * never finds a question in flight unless the connection it went on was
 * closed without a word (the rules moved the source): then it was lost,
 * and the source's whole position is asked next. */
#include "router/ryw.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "lib/clock.h"
#include "lib/log.h"
#include "router/wire.h"

int ryw_mode_parse(const char *text, ryw_mode *out)
{
    static const char *const names[] = {"off", "session", "global"};
    for (int i = 0; i < 3; i++)
        if (strcmp(text, names[i]) == 0) {
            *out = (ryw_mode)i;
            return 0;
        }
    return -1;
}

const char *ryw_mode_name(ryw_mode m)
{
    return m == RYW_OFF ? "off" : m == RYW_SESSION ? "session" : "global";
}

void ryw_env_init(ryw_env *e, ryw_mode mode, unsigned wait_ms, position *pos, ryw_stats *stats)
{
    memset(e, 0, sizeof *e);
    e->mode = mode;
    e->wait_ms = wait_ms;
    e->pos = pos;
    e->stats = stats;
}

void ryw_env_free(ryw_env *e)
{
    gtid_set_free(e->all);
    e->all = NULL;
}

void ryw_session_init(ryw_session *rs, ryw_env *env, uint32_t id, void *owner, void (*resume)(ryw_session *, bool))
{
    memset(rs, 0, sizeof *rs);
    rs->env = env && env->mode != RYW_OFF ? env : NULL;
    rs->id = id;
    rs->owner = owner;
    rs->resume = resume;
}

void ryw_session_end(ryw_session *rs)
{
    if (!rs->env)
        return;
    if (rs->parked)
        position_cancel(rs->env->pos, &rs->w);
    rs->parked = false;
    gtid_set_free(rs->target);
    gtid_set_free(rs->want);
    rs->target = rs->want = NULL;
    rs->env = NULL;
}

/* ---- learning GTIDs ---- */

/* A write whose GTID is not known yet: asked for when a read needs it. */
static void mark_unasked(ryw_session *rs, backend *b)
{
    ryw_env *e = rs->env;
    if (e->mode == RYW_GLOBAL) {
        e->untracked++;
        return;
    }
    if (!rs->unasked) {
        rs->wrote_on = b;
        rs->wrote_thread = b ? backend_thread_id(b) : 0;
    } else if (rs->wrote_on != b || (b && rs->wrote_thread != backend_thread_id(b))) {
        rs->wrote_on = NULL; /* more than one connection: ask the whole position */
    }
    rs->unasked = true;
}

static void learn(ryw_session *rs, const char *text, size_t len)
{
    ryw_env *e = rs->env;
    gtid_set *g = position_parse_gtids(text, len);
    if (!g) {
        sbuf t = SBUF_INIT;
        sbuf_add_printable(&t, text, len, 200);
        log_debug("router", "session %u: the source named a GTID \"%s\" that is no GTID set; its whole position "
                            "will be asked instead",
                  rs->id, t.buf);
        sbuf_free(&t);
        mark_unasked(rs, NULL);
        return;
    }
    if (gtid_set_is_empty(g)) { /* never committed anything */
        gtid_set_free(g);
        return;
    }
    gtid_set **into = e->mode == RYW_GLOBAL ? &e->all : &rs->want;
    sbuf err = SBUF_INIT;
    if (*into && gtid_set_union(*into, g, &err) == 0) {
        gtid_set_free(g);
    } else { /* none yet, or the other flavour (the source was replaced) */
        gtid_set_free(*into);
        *into = g;
    }
    sbuf_free(&err);
}

static bool is_mariadb(backend *b)
{
    return strstr(backend_server_version(b), "MariaDB") != NULL;
}

static void track_done(backend *b, bk_cmd *cmd, bk_outcome how, const resp_parser *r)
{
    (void)cmd;
    if (how == BK_REPLIED && r->failed)
        log_debug("router", "the %s refused to name GTIDs in OK packets (%s); the router asks instead",
                  side_name(backend_side(b)), r->err_msg);
    /* Skipped: the connection has no session tracking after all. */
    backend_synced(b)->gtid_track = how == BK_SKIPPED || (how == BK_REPLIED && r->failed) ? -1 : how == BK_REPLIED;
}

static void set_query(bk_cmd *cmd, const char *sql)
{
    sbuf_reset(&cmd->pkt);
    uint8_t seq = 0;
    size_t start = wire_begin(&cmd->pkt);
    wire_put_u8(&cmd->pkt, COM_QUERY);
    sbuf_adds(&cmd->pkt, sql);
    wire_end(&cmd->pkt, start, &seq);
}

/* The text once the server is known (the connection may be new), if its
 * login asked for session tracking. MariaDB refuses '*' with other names:
 * a list that has it, or last_gtid, stays as it is. */
static bool track_before_send(backend *b, bk_cmd *cmd)
{
    if (!backend_session_track(b))
        return false;
    set_query(cmd, is_mariadb(b) ? "SET @@session.session_track_system_variables = "
                                   "IF(@@session.session_track_system_variables = '*' OR "
                                   "FIND_IN_SET('last_gtid', @@session.session_track_system_variables), "
                                   "@@session.session_track_system_variables, CONCAT_WS(',', "
                                   "NULLIF(@@session.session_track_system_variables, ''), 'last_gtid'))"
                                 : "SET @@session.session_track_gtids = OWN_GTID");
    return true;
}

void ryw_track(ryw_session *rs, backend *b)
{
    ryw_env *e = rs->env;
    backend_sync *bs = backend_synced(b);
    if (!e || !e->pos || bs->gtid_track != 0 || (backend_ready(b) && !backend_session_track(b)))
        return;
    bs->gtid_track = 2; /* asked */
    bk_cmd *cmd = bk_cmd_new(RESP_QUERY, track_done, NULL);
    cmd->before_send = track_before_send;
    backend_send(b, cmd);
}

/* Does the text name session_track (SET session_track_...)? */
static bool names_tracking(const uint8_t *sql, size_t len)
{
    static const char word[] = "session_track";
    size_t w = sizeof word - 1;
    for (size_t i = 0; i + w <= len; i++)
        if ((sql[i] | 0x20) == 's' && strncasecmp((const char *)sql + i, word, w) == 0)
            return true;
    return false;
}

void ryw_ran(ryw_session *rs, backend *b, const resp_parser *r, const uint8_t *sql, size_t sql_len,
             bool may_commit)
{
    ryw_env *e = rs->env;
    if (!e)
        return;
    backend_sync *bs = backend_synced(b);
    if (bs->gtid_track == 1 && names_tracking(sql, sql_len))
        bs->gtid_track = 0; /* the client may have changed what is tracked: set it again */
    if (!may_commit)
        return;
    bool in_trans = (backend_status(b) & STATUS_IN_TRANS) != 0;
    if (!e->pos) {
        if (!in_trans)
            rs->wrote = e->wrote = true;
        return;
    }
    if (r->gtid_len)
        learn(rs, r->gtid, r->gtid_len);
    if (in_trans || (bs->gtid_track == 1 && !r->gtid_lost))
        return; /* nothing committed yet, or the OK said all */
    mark_unasked(rs, b);
}

/* ---- reads ---- */

static bool must_ask(const ryw_session *rs)
{
    const ryw_env *e = rs->env;
    return e->mode == RYW_GLOBAL ? e->untracked != e->untracked_asked : rs->unasked;
}

bool ryw_asks_source(const ryw_session *rs)
{
    return rs->env && rs->env->pos && must_ask(rs);
}

ryw_verdict ryw_read(ryw_session *rs, bool can_wait)
{
    ryw_env *e = rs->env;
    if (!e)
        return RYW_READ_SIDE;
    if (!e->pos) {
        if (!(e->mode == RYW_GLOBAL ? e->wrote : rs->wrote))
            return RYW_READ_SIDE;
        e->stats->to_source++;
        return RYW_WRITE_SIDE;
    }
    if (rs->asking) { /* lost with its connection (see the top) */
        rs->asking = 0;
        if (e->mode != RYW_GLOBAL)
            mark_unasked(rs, NULL);
    }
    gtid_set *target = e->mode == RYW_GLOBAL ? e->all : rs->want;
    if (!must_ask(rs) && (!target || gtid_set_is_empty(target) || position_covers(e->pos, target))) {
        if (rs->want) { /* seen applied: no more checks until the next write */
            gtid_set_free(rs->want);
            rs->want = NULL;
        }
        return RYW_READ_SIDE;
    }
    if (!can_wait || e->wait_ms == 0 || !position_usable(e->pos)) {
        e->stats->to_source++;
        return RYW_WRITE_SIDE;
    }
    return RYW_WAIT;
}

static void finish(ryw_session *rs, bool read_side)
{
    ryw_env *e = rs->env;
    position_cancel(e->pos, &rs->w);
    int64_t waited = clock_mono_us() - rs->started_us;
    e->stats->wait_us += (uint64_t)waited;
    if (read_side && rs->want) {
        gtid_set_free(rs->want);
        rs->want = NULL;
    }
    if (!read_side)
        e->stats->waited_to_source++;
    gtid_set_free(rs->target);
    rs->target = NULL;
    rs->parked = false;
    log_debug("router", "session %u: a read after writes waited %.3f ms, then went to the %s", rs->id,
              (double)waited / 1000.0,
              read_side ? "read side: the destination has the writes"
                        : "write side: the destination did not have the writes in time");
    rs->resume(rs, read_side);
}

static void park_check(position_waiter *w)
{
    ryw_session *rs = (ryw_session *)((char *)w - offsetof(ryw_session, w));
    ryw_env *e = rs->env;
    bool covered = false;
    if (!rs->asking) {
        gtid_set *target = rs->want;
        if (e->mode == RYW_GLOBAL) {
            /* What all writes had reached when the read began (or its
             * question was answered): a fixed target, not a moving one. */
            if (!rs->target && e->all)
                rs->target = gtid_set_dup(e->all);
            target = rs->target;
        }
        covered = !target || position_covers(e->pos, target);
    }
    if (covered)
        finish(rs, true);
    else if (clock_mono_us() >= rs->deadline_us || !position_usable(e->pos))
        finish(rs, false);
}

static void ask_done(backend *b, bk_cmd *cmd, bk_outcome how, const resp_parser *r)
{
    (void)b;
    ryw_session *rs = cmd->arg;
    ryw_env *e = rs->env;
    rs->asking--;
    const uint8_t *v = NULL;
    size_t n = 0;
    int got = how == BK_REPLIED && !r->failed
                  ? wire_first_value((const uint8_t *)cmd->kept.buf, cmd->kept.len, &v, &n)
                  : -1;
    if (got == 1) {
        if (v)
            learn(rs, (const char *)v, n);
        if (e->mode == RYW_GLOBAL && cmd->tag > e->untracked_asked)
            e->untracked_asked = cmd->tag;
    } else {
        log_debug("router", "session %u: could not ask the source for its writes' GTIDs (%s)", rs->id,
                  how != BK_REPLIED ? "the connection went away" : r->failed ? r->err_msg : "no answer to read");
        if (e->mode != RYW_GLOBAL) /* (global: still not asked) */
            mark_unasked(rs, NULL); /* its whole position, next time */
        if (rs->parked && !rs->asking) {
            finish(rs, false);
            return;
        }
    }
    if (rs->parked)
        park_check(&rs->w);
}

/* The question's text, once the connection is up (it may have just been
 * opened) and its server known: the session's own connection knows its
 * last commit; any other only the source's whole position, which
 * includes it. */
static bool ask_before_send(backend *b, bk_cmd *cmd)
{
    ryw_session *rs = cmd->arg;
    bool mine = rs->ask_on == b && rs->ask_thread == backend_thread_id(b);
    set_query(cmd, !is_mariadb(b) ? "SELECT @@GLOBAL.gtid_executed"
                   : mine         ? "SELECT @@last_gtid"
                                  : "SELECT @@GLOBAL.gtid_binlog_pos");
    return true;
}

void ryw_park(ryw_session *rs, backend *source)
{
    ryw_env *e = rs->env;
    bool ask = must_ask(rs) && source;
    rs->parked = true;
    rs->target = NULL;
    rs->started_us = clock_mono_us();
    rs->deadline_us = rs->started_us + (int64_t)e->wait_ms * 1000;
    rs->w.check = park_check;
    e->stats->waited++;
    if (ask)
        rs->asking++; /* before the first check, which may run at once */
    position_wait(e->pos, &rs->w);
    if (!ask)
        return;
    if (!rs->parked) { /* already decided (the position fails): never asked */
        rs->asking--;
        return;
    }
    bk_cmd *cmd = bk_cmd_new(RESP_QUERY, ask_done, rs);
    cmd->keep_reply = true;
    cmd->before_send = ask_before_send;
    cmd->tag = e->untracked; /* global: the writes this answer covers */
    rs->ask_on = rs->unasked && e->mode != RYW_GLOBAL ? rs->wrote_on : NULL;
    rs->ask_thread = rs->wrote_thread;
    rs->unasked = false;
    rs->wrote_on = NULL;
    backend_send(source, cmd); /* ask_done may run at once (a broken connection) */
}
