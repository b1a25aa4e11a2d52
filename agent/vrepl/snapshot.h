/* snapshot: consistent reads of the source at an exact binlog position.
 *
 * Stage one of the copy path (snapshot -> copier -> applier's target). Two
 * methods:
 *   SNAPSHOT_EXACT_GTID (MariaDB): one connection runs START TRANSACTION
 *     WITH CONSISTENT SNAPSHOT and reads binlog_snapshot_file/position and
 *     BINLOG_GTID_POS() of them: the snapshot's exact GTID, no global lock.
 *   SNAPSHOT_LOCKED (MySQL, which lacks those status variables; works on
 *     MariaDB too): FLUSH TABLES WITH READ LOCK for the few milliseconds it
 *     takes to open n snapshot transactions and read the position, then
 *     UNLOCK TABLES. All n connections see the same point.
 * Connections use SET NAMES binary and time_zone '+00:00', like the
 * applier's, so values pass through byte for byte. */
#ifndef SNAPSHOT_H
#define SNAPSHOT_H

#include <mysql.h>
#include <stddef.h>
#include <stdint.h>

#include "db/db.h"
#include "db/probe.h"
#include "vrepl/vpos.h"

typedef enum { SNAPSHOT_EXACT_GTID, SNAPSHOT_LOCKED } snapshot_method;

typedef struct snapshot {
    MYSQL **conns;
    size_t nconns;
    vpos pos;          /* the position every connection's reads reflect */
    int64_t opened_ms; /* clock_mono_ms */
} snapshot;

int snapshot_open(const db_endpoint *source, server_flavor flavor, snapshot_method method, size_t nconns,
                  snapshot **out, sbuf *err);
void snapshot_close(snapshot *s);
/* The server's current binlog position, GTID and file/offset; an error if
 * the binary log is off. Exact only while writes are held (a read lock, a
 * fence). */
int snapshot_position(MYSQL *m, server_flavor flavor, vpos *pos, sbuf *err);
/* The method a flavour uses by default. */
snapshot_method snapshot_method_for(server_flavor flavor);

#endif
