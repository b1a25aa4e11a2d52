/* fence: stop every writer on a server, without losing an acknowledged
 * transaction, and keep it protected afterwards.
 *
 * Raising a fence, in this order (each step measured on MariaDB 10.11):
 *   1. ACCOUNT LOCK every account that could write through read_only (it
 *      holds READ_ONLY ADMIN, which ALL PRIVILEGES includes), except the
 *      agent's own and the exempt ones: they cannot log in again;
 *   2. FLUSH TABLES WITH READ LOCK on a fence connection: every commit now
 *      waits, so the binlog position is fixed and no acknowledged
 *      transaction can be missing from it;
 *   3. KILL the sessions of the locked accounts: their waiting commits roll
 *      back (their clients see an error, nothing is half done);
 *   4. SET GLOBAL read_only = 1 from the fence connection (allowed while it
 *      holds the lock), so other accounts' commits fail once released.
 * fence_release then UNLOCKs the tables, leaving read_only and the locks as
 * lasting protection in which only READ_ONLY ADMIN holders (the agent's
 * reverse applier) write. fence_undo restores what was there before.
 * BACKUP STAGE BLOCK_COMMIT would also block commits, but its holder cannot
 * set read_only, and read_only set by another session waits for the
 * backup lock and lets the queued commits through first. */
#ifndef FENCE_H
#define FENCE_H

#include <stdbool.h>

#include "db/db.h"
#include "lib/sbuf.h"

/* What a fence changed, so it can be undone later (kept in the journal). */
typedef struct fence_record {
    bool read_only_before;
    char *accounts; /* locked accounts: "'u'@'h','v'@'%'", or "" */
} fence_record;

void fence_record_clear(fence_record *r);

typedef struct fence fence;

/* Decide what raising a fence will change, without changing anything, so
 * the journal can record it first. exempt: accounts never locked,
 * "user@host,user2@host2" (the agent's own account is always exempt). */
int fence_plan(const db_endpoint *ep, const char *exempt, fence_record *plan, sbuf *err);
/* Raise the fence the plan describes. lock_wait_s bounds waiting for the
 * read lock. On failure everything is undone. */
int fence_raise(const db_endpoint *ep, const fence_record *plan, unsigned lock_wait_s, fence **out, sbuf *err);
/* The server's position while fenced, on the fence's connection. */
MYSQL *fence_conn(fence *f);
/* Keep the protection, let waiting sessions go (they fail). Frees f. */
int fence_release(fence *f, sbuf *err);
/* Restore read_only and unlock the accounts, then release. Frees f. */
int fence_undo(fence *f, const fence_record *rec, sbuf *err);
/* Open writes again on a server protected by an earlier fence. */
int fence_lift(const db_endpoint *ep, const fence_record *rec, sbuf *err);
/* Protect a server again from a record (idempotent; after a crash). */
int fence_reapply(const db_endpoint *ep, const fence_record *rec, sbuf *err);
/* read_only does not survive a server's restart (the locks do): if the
 * fenced server is writable again, raise the fence again (raised). */
int fence_keep(const db_endpoint *ep, const fence_record *rec, bool *raised, sbuf *err);

#endif
