/* import_def: what defines an import workflow, and where it is kept.
 *
 * The definition (destination, tables, options) is what the agent needs
 * to find a workflow again after a restart, before it can read the
 * workflow's progress from the sidecar schema on the destination. It is
 * kept in the agent's state directory, one file per workflow, written
 * atomically with mode 0600. The destination password is stored only as a
 * reference (a file path or an environment variable name); an inline
 * password lives in memory only, so after a restart such a workflow waits
 * for the orchestrator to supply it again. */
#ifndef IMPORT_DEF_H
#define IMPORT_DEF_H

#include <stdbool.h>
#include <stdint.h>

#include "db/db.h"
#include "vrepl/stream.h"

typedef struct import_options {
    unsigned parallelism;              /* writer connections; default 4 */
    uint64_t chunk_rows;               /* rows per page; default 10000 */
    unsigned throttle_threads_running; /* 0: off; default 50 */
    ddl_policy ddl;
    bool defer_indexes;                /* add secondary indexes after the rows; default on */
    unsigned snapshot_seconds;         /* longest a snapshot is held; default 600 */
} import_options;

typedef struct import_def {
    char *name;
    db_endpoint dest;
    table_filter tables;
    import_options opt;
    char *sidecar;
    char *fence_exempt; /* accounts a cutover never locks: "user@host,..." */
    int64_t created_ms;
    bool password_missing; /* loaded from disk; the inline password is gone */
    /* Milestones, saved before the step they name, so a detach whose
     * destination is away knows what it may leave behind there. A file
     * without them (an older agent's) counts as having passed both. */
    bool dest_written;    /* tables or sidecar state may exist on the destination */
    bool cutover_started; /* a switch began: a fence may be up on either side */
} import_def;

void import_options_defaults(import_options *o);
void import_def_copy(import_def *dst, const import_def *src);
void import_def_clear(import_def *d);

/* state_dir/workflows/<name>.conf */
int import_def_save(const char *state_dir, const import_def *d, sbuf *err);
int import_def_remove(const char *state_dir, const char *name, sbuf *err);
/* Every saved definition; a file that does not parse is reported and
 * skipped, so one bad file does not hide the others. */
int import_def_load_all(const char *state_dir, import_def **out, size_t *n, sbuf *err);

#endif
