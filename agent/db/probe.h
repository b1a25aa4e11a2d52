/* probe: one look at the source server's health and replication settings.
 *
 * probe_run is blocking and meant for a worker thread: it reuses its
 * connection between runs, reconnects when the link is gone, and fills a
 * probe_result that the caller owns. It never throws away what it learned:
 * a failed query leaves the fields it could not read empty and explains the
 * failure in `error`. */
#ifndef PROBE_H
#define PROBE_H

#include <stdbool.h>
#include <stdint.h>

#include "db/db.h"
#include "lib/flavor.h"


typedef struct probe_result {
    bool reachable;
    char *error;           /* NULL when healthy; else what is wrong and what to do */
    server_flavor flavor;
    char *version;
    uint32_t server_id;
    char *server_uuid;     /* MySQL only */
    bool read_only;
    bool log_bin;
    bool gtid_strict_mode;
    char *binlog_format;
    char *binlog_row_image;
    char *binlog_row_metadata;
    char *gtid;            /* gtid_binlog_pos (MariaDB) or gtid_executed (MySQL) */
    char *file;            /* SHOW MASTER STATUS */
    uint64_t offset;
    char *oldest_file;     /* first of SHOW BINARY LOGS */
    char *oldest_gtid;     /* BINLOG_GTID_POS(oldest_file, 4), MariaDB */
    int64_t retention_s;   /* 0: binlogs never expire */
    int64_t at_ms;         /* wall clock of the probe, ms since the epoch */
    uint32_t duration_ms;
} probe_result;

typedef struct probe probe;

probe *probe_new(const db_endpoint *ep);
void probe_free(probe *p);
void probe_run(probe *p, probe_result *out);
void probe_result_clear(probe_result *r);

#endif
