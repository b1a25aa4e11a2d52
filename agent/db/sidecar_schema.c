/* sidecar_schema: the agent's tables, defined once. See sidecar_schema.h. */
#include "db/sidecar_schema.h"

#include "db/db.h"

typedef struct sidecar_def {
    unsigned group;
    const char *table;
    const char *columns;
} sidecar_def;

static const sidecar_def sidecar_defs[] = {
    {SIDECAR_STREAMS, "streams",
     "name VARBINARY(128) NOT NULL PRIMARY KEY, gtid TEXT NOT NULL, file VARCHAR(512) NOT NULL, "
     "binlog_offset BIGINT UNSIGNED NOT NULL, transactions BIGINT UNSIGNED NOT NULL DEFAULT 0, "
     "source_ts INT UNSIGNED NOT NULL DEFAULT 0, "
     "updated_at TIMESTAMP(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6) ON UPDATE CURRENT_TIMESTAMP(6)"},
    {SIDECAR_WORKFLOWS, "workflows",
     "name VARBINARY(128) NOT NULL PRIMARY KEY, state VARCHAR(32) NOT NULL, message TEXT NOT NULL, "
     "created_at TIMESTAMP(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6), "
     "updated_at TIMESTAMP(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6) ON UPDATE CURRENT_TIMESTAMP(6)"},
    {SIDECAR_COPY, "copy_state",
     "workflow VARBINARY(128) NOT NULL, table_schema VARBINARY(256) NOT NULL, table_name VARBINARY(256) NOT NULL, "
     "state VARCHAR(16) NOT NULL, rows_estimated BIGINT UNSIGNED NOT NULL, "
     "rows_copied BIGINT UNSIGNED NOT NULL DEFAULT 0, deferred_indexes LONGBLOB NOT NULL, "
     "PRIMARY KEY (workflow, table_schema, table_name)"},
    {SIDECAR_COPY, "copy_chunks",
     "workflow VARBINARY(128) NOT NULL, table_schema VARBINARY(256) NOT NULL, table_name VARBINARY(256) NOT NULL, "
     "chunk BIGINT UNSIGNED NOT NULL, end_key LONGBLOB NOT NULL, rows_copied BIGINT UNSIGNED NOT NULL, "
     "committed_at TIMESTAMP(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6), "
     "PRIMARY KEY (workflow, table_schema, table_name, chunk)"},
    {SIDECAR_CUTOVER, "cutover",
     "workflow VARBINARY(128) NOT NULL PRIMARY KEY, direction VARCHAR(16) NOT NULL, phase VARCHAR(16) NOT NULL, "
     "writes_on VARCHAR(16) NOT NULL DEFAULT 'source', source_gtid TEXT NOT NULL, source_file VARCHAR(512) NOT NULL, "
     "source_offset BIGINT UNSIGNED NOT NULL, dest_gtid TEXT NOT NULL, dest_file VARCHAR(512) NOT NULL, "
     "dest_offset BIGINT UNSIGNED NOT NULL, source_read_only_before TINYINT NOT NULL, source_accounts TEXT NOT NULL, "
     "dest_read_only_before TINYINT NOT NULL, dest_accounts TEXT NOT NULL, "
     "updated_at TIMESTAMP(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6) ON UPDATE CURRENT_TIMESTAMP(6)"},
    {SIDECAR_VDIFF, "vdiff",
     "workflow VARBINARY(128) NOT NULL PRIMARY KEY, state VARCHAR(16) NOT NULL, message TEXT NOT NULL, "
     "at_gtid TEXT NOT NULL, writes_on_dest TINYINT NOT NULL, chunk_rows BIGINT UNSIGNED NOT NULL, "
     "started_ms BIGINT NOT NULL, finished_ms BIGINT NOT NULL"},
    {SIDECAR_VDIFF, "vdiff_tables",
     "workflow VARBINARY(128) NOT NULL, table_schema VARBINARY(256) NOT NULL, table_name VARBINARY(256) NOT NULL, "
     "resume_key LONGBLOB, done TINYINT NOT NULL, compared BIGINT UNSIGNED NOT NULL, "
     "matching BIGINT UNSIGNED NOT NULL, mismatched BIGINT UNSIGNED NOT NULL, missing BIGINT UNSIGNED NOT NULL, "
     "extra BIGINT UNSIGNED NOT NULL, samples BLOB NOT NULL, PRIMARY KEY (workflow, table_schema, table_name)"},
};

int sidecar_schema_create(MYSQL *m, const char *schema, unsigned tables, sbuf *err)
{
    sbuf q = SBUF_INIT;
    sbuf_adds(&q, "CREATE DATABASE IF NOT EXISTS ");
    db_add_ident(&q, schema);
    int e = db_exec(m, q.buf, err);
    for (size_t i = 0; !e && i < sizeof sidecar_defs / sizeof sidecar_defs[0]; i++) {
        if (!(sidecar_defs[i].group & tables))
            continue;
        sbuf_setf(&q, "CREATE TABLE IF NOT EXISTS ");
        db_add_table(&q, schema, sidecar_defs[i].table);
        sbuf_addf(&q, " (%s) ENGINE=InnoDB", sidecar_defs[i].columns);
        e = db_exec(m, q.buf, err);
    }
    sbuf_free(&q);
    return e;
}
