/* streamer: binlog transport, transaction framing, filtering. See streamer.h.
 *
 * libmariadb speaks the replica protocol and splits the stream into events;
 * everything after that is done here from the raw bytes, because the
 * library's row decoder is unreliable (see decoder.c). The server sends, per
 * transaction: GTID, TABLE_MAP + ROWS events, XID (MySQL adds a BEGIN
 * query); DDL is a standalone QUERY event.
 *
 * Table maps repeat in every transaction. They are cached by table id and
 * their raw bytes, so an unchanged map costs one memcmp, and schemas from
 * information_schema are cached by name until a DDL invalidates them.
 *
 * Interrupting: another thread calls streamer_interrupt, which shuts the
 * socket down under a mutex, so a blocked fetch returns at once. */
#include "vrepl/streamer.h"

#include <errmsg.h>
#include <mariadb_rpl.h>
#include <mysqld_error.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "lib/log.h"
#include "vrepl/stmt_target.h"

#define GTID_FL_STANDALONE 1
#define HEADER_LEN 19
#define QUOTE_MAX 200 /* bytes of a statement quoted in a message */

typedef struct map_entry {
    uint64_t id;
    uint8_t *raw;
    size_t rawlen;
    vtable *table; /* NULL: filtered out */
} map_entry;

typedef struct schema_entry {
    char *db, *table;
    schema_table *schema; /* NULL: not found */
} schema_entry;

struct streamer {
    MYSQL *conn;   /* binlog dump */
    MYSQL *meta;   /* information_schema lookups */
    MARIADB_RPL *rpl;
    MARIADB_RPL_EVENT *ev;
    server_flavor flavor;
    pthread_mutex_t lock;
    bool interrupted;
    int wake_fd; /* our own dup of the dump's socket, for streamer_interrupt */
    char *file;
    uint64_t offset;
    uint64_t event_pos; /* where the event being dispatched starts in file */
    sbuf gtid;          /* the current transaction's GTID, for messages */
    bool standalone;    /* its GTID event said it has no COMMIT/XID */
    int fail_errno;     /* set with a dispatch error that has its own number */
    table_filter filter;
    char *skip_schema;
    map_entry *maps;
    size_t nmaps, capmaps;
    schema_entry *schemas;
    size_t nschemas, capschemas;
};

/* ---- tables ------------------------------------------------------------------ */

vtable *vtable_ref(vtable *t)
{
    __atomic_add_fetch(&t->refs, 1, __ATOMIC_RELAXED);
    return t;
}

void vtable_unref(vtable *t)
{
    if (!t || __atomic_sub_fetch(&t->refs, 1, __ATOMIC_ACQ_REL) > 0)
        return;
    dec_table_free(t->map);
    free(t->generated);
    free(t);
}

void stream_event_free(stream_event *e)
{
    if (e->table) {
        dec_rows_free(&e->rows);
        vtable_unref(e->table);
    }
    free(e->file);
    free(e->schema);
    free(e->statement);
    memset(e, 0, sizeof *e);
}

/* ---- schema cache ----------------------------------------------------------------- */

static schema_entry *schema_lookup(streamer *s, const char *db, const char *table, sbuf *err)
{
    for (size_t i = 0; i < s->nschemas; i++)
        if (strcmp(s->schemas[i].db, db) == 0 && strcmp(s->schemas[i].table, table) == 0)
            return &s->schemas[i];
    schema_table *st = NULL;
    int e = schema_table_load(s->meta, db, table, &st, err);
    if (e && e != ER_NO_SUCH_TABLE)
        return NULL;
    if (s->nschemas == s->capschemas) {
        s->capschemas = s->capschemas ? s->capschemas * 2 : 16;
        s->schemas = xrealloc(s->schemas, s->capschemas * sizeof *s->schemas);
    }
    schema_entry *se = &s->schemas[s->nschemas++];
    se->db = xstrdup(db);
    se->table = xstrdup(table);
    se->schema = st;
    return se;
}

void streamer_schema_invalidate(streamer *s)
{
    for (size_t i = 0; i < s->nschemas; i++) {
        free(s->schemas[i].db);
        free(s->schemas[i].table);
        schema_table_free(s->schemas[i].schema);
    }
    s->nschemas = 0;
    for (size_t i = 0; i < s->nmaps; i++) {
        free(s->maps[i].raw);
        vtable_unref(s->maps[i].table);
    }
    s->nmaps = 0;
}

/* ---- table maps --------------------------------------------------------------------- */

static vtable *vtable_build(streamer *s, dec_table *map, sbuf *err)
{
    schema_entry *se = schema_lookup(s, map->schema, map->name, err);
    if (!se) {
        dec_table_free(map);
        return NULL;
    }
    if (se->schema && dec_table_fill(map, se->schema, err) != 0) {
        dec_table_free(map);
        return NULL;
    }
    vtable *t = xcalloc(1, sizeof *t);
    t->refs = 1;
    t->map = map;
    t->schema = se->schema;
    t->generated = xcalloc(map->ncols, sizeof *t->generated);
    for (uint32_t i = 0; se->schema && i < map->ncols && i < se->schema->ncols; i++)
        t->generated[i] = se->schema->cols[i].generated;
    /* Without key information, assume other unique keys exist: the applier
     * then uses its delete-then-insert form, which is correct either way. */
    t->other_unique = !se->schema || se->schema->has_other_unique;
    return t;
}

static map_entry *map_slot(streamer *s, uint64_t id)
{
    for (size_t i = 0; i < s->nmaps; i++)
        if (s->maps[i].id == id)
            return &s->maps[i];
    if (s->nmaps == s->capmaps) {
        s->capmaps = s->capmaps ? s->capmaps * 2 : 16;
        s->maps = xrealloc(s->maps, s->capmaps * sizeof *s->maps);
    }
    map_entry *m = &s->maps[s->nmaps++];
    memset(m, 0, sizeof *m);
    m->id = id;
    return m;
}

static int streamer_table_map(streamer *s, const uint8_t *body, size_t len, sbuf *err)
{
    dec_table *map;
    if (dec_table_map_parse_flavor(body, len, s->flavor, &map, err) != 0)
        return -1;
    map_entry *m = map_slot(s, map->id);
    if (m->raw && m->rawlen == len && memcmp(m->raw, body, len) == 0) {
        dec_table_free(map);
        return 0;
    }
    free(m->raw);
    vtable_unref(m->table);
    m->table = NULL;
    m->raw = xmalloc(len);
    memcpy(m->raw, body, len);
    m->rawlen = len;
    if ((s->skip_schema && strcmp(map->schema, s->skip_schema) == 0) ||
        !table_filter_match(&s->filter, map->schema, map->name)) {
        dec_table_free(map);
        return 0;
    }
    m->table = vtable_build(s, map, err);
    if (!m->table) {
        free(m->raw);
        m->raw = NULL;
        return -1;
    }
    return 0;
}

/* ---- events ------------------------------------------------------------------------- */

static uint32_t le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t le64(const uint8_t *p)
{
    return (uint64_t)le32(p) | (uint64_t)le32(p + 4) << 32;
}

typedef struct raw_event {
    uint32_t timestamp;
    uint8_t type;
    uint32_t server_id;
    uint32_t size; /* the whole event, header and checksum included */
    uint32_t next_pos;
    uint16_t flags;
    const uint8_t *body;
    size_t len;
} raw_event;

static int raw_event_split(const streamer *s, const MARIADB_RPL_EVENT *ev, raw_event *r, sbuf *err)
{
    size_t csum = s->rpl->use_checksum ? 4 : 0;
    if (ev->raw_data_size < 1 + HEADER_LEN + csum) {
        sbuf_setf(err, "binlog event of %zu bytes is shorter than its header", ev->raw_data_size);
        return -1;
    }
    const uint8_t *h = ev->raw_data + 1;
    r->timestamp = le32(h);
    r->type = h[4];
    r->server_id = le32(h + 5);
    r->size = le32(h + 9);
    r->next_pos = le32(h + 13);
    r->flags = (uint16_t)(h[17] | h[18] << 8);
    r->body = h + HEADER_LEN;
    r->len = ev->raw_data_size - 1 - HEADER_LEN - csum;
    return 0;
}

static bool starts_with_word(const char *s, size_t len, const char *word)
{
    size_t n = strlen(word);
    while (len && (*s == ' ' || *s == '\t' || *s == '\n' || *s == '(')) {
        s++;
        len--;
    }
    return len >= n && strncasecmp(s, word, n) == 0 && (len == n || !((s[n] | 32) >= 'a' && (s[n] | 32) <= 'z'));
}

static bool ident_char(char c)
{
    return c == '_' || c == '$' || (c >= '0' && c <= '9') || ((c | 32) >= 'a' && (c | 32) <= 'z');
}

/* Does the statement name a table of the pattern's schema ("db.t" or
 * "`db`.`t`")? A statement run from another default schema can still touch
 * ours through qualified names. Wildcard schemas match any qualified name. */
static bool mentions_schema(const char *q, size_t n, const char *pattern)
{
    const char *dot = strchr(pattern, '.');
    size_t plen = dot ? (size_t)(dot - pattern) : strlen(pattern);
    if (memchr(pattern, '*', plen) || memchr(pattern, '?', plen))
        return true;
    for (size_t i = 0; i + plen < n; i++) {
        bool quoted = q[i] == '`';
        size_t start = i + quoted, end = start + plen;
        if (end + quoted >= n || strncasecmp(q + start, pattern, plen) != 0)
            continue;
        if (quoted && q[end] != '`')
            continue;
        size_t after = end + quoted;
        if ((i == 0 || !ident_char(q[i - 1])) && q[after] == '.')
            return true;
    }
    return false;
}

static void event_commit(streamer *s, stream_event *ev, sev_kind kind)
{
    ev->kind = kind;
    ev->file = xstrdup(s->file ? s->file : "");
    ev->offset = s->offset;
    sbuf_reset(&s->gtid); /* the transaction ends here */
    s->standalone = false;
}

/* The DDL rule: could a statement whose tables are not known touch the
 * stream's tables? Yes when its default schema or a qualified name in its
 * text is of a schema the stream carries. */
static bool text_may_touch(const streamer *s, const char *db, const char *q, size_t n)
{
    bool relevant = table_filter_match_schema(&s->filter, db) && !(s->skip_schema && strcmp(db, s->skip_schema) == 0);
    for (size_t i = 0; !relevant && i < s->filter.ninclude; i++)
        relevant = mentions_schema(q, n, s->filter.include[i]);
    return relevant;
}

static char *ascii_lower(const char *s)
{
    char *l = xstrdup(s);
    for (char *p = l; *p; p++)
        if (*p >= 'A' && *p <= 'Z')
            *p = (char)(*p | 32);
    return l;
}

/* Does a statement-format row write concern the stream? By its target
 * table when it has one (as written, and lowercased: with
 * lower_case_table_names the text may spell a name in any case); without
 * one, every table could be written when the stream carries all of them,
 * else the DDL rule decides. */
static bool statement_relevant(const streamer *s, const stmt_target *t, const char *db, const char *q, size_t n)
{
    if (t->kind == STMT_WRITE_UNKNOWN)
        return s->filter.ninclude == 0 || text_may_touch(s, db, q, n);
    if (s->skip_schema && strcmp(t->db, s->skip_schema) == 0)
        return false;
    if (table_filter_match(&s->filter, t->db, t->table))
        return true;
    char *ldb = ascii_lower(t->db), *ltable = ascii_lower(t->table);
    bool m = table_filter_match(&s->filter, ldb, ltable);
    free(ldb);
    free(ltable);
    return m;
}

static void add_quoted_name(sbuf *sb, const char *name)
{
    sbuf_addc(sb, '`');
    sbuf_add_printable(sb, name, strlen(name), 256);
    sbuf_addc(sb, '`');
}

/* " at file:pos (GTID g)": where the event being dispatched starts. */
static void add_event_position(const streamer *s, sbuf *sb)
{
    sbuf_adds(sb, " at ");
    sbuf_add_printable(sb, s->file ? s->file : "", s->file ? strlen(s->file) : 0, 256);
    sbuf_addf(sb, ":%llu", (unsigned long long)s->event_pos);
    if (s->gtid.len)
        sbuf_addf(sb, " (GTID %s)", s->gtid.buf);
}

static void statement_error(streamer *s, const stmt_target *t, const char *db, const char *q, size_t n, sbuf *err)
{
    sbuf_reset(err);
    if (t->kind == STMT_WRITE) {
        sbuf_adds(err, "statement-format write to ");
        add_quoted_name(err, t->db);
        sbuf_addc(err, '.');
        add_quoted_name(err, t->table);
    } else {
        sbuf_addf(err, "statement-format %s that may write the stream's tables (the agent cannot tell which tables "
                       "it writes", t->verb);
        if (*db) {
            sbuf_adds(err, "; its default schema is ");
            add_quoted_name(err, db);
        }
        sbuf_addc(err, ')');
    }
    sbuf_adds(err, " in the source's binlog");
    add_event_position(s, err);
    sbuf_adds(err, ": \"");
    sbuf_add_printable(err, q, n, QUOTE_MAX);
    sbuf_adds(err, "\". The session that wrote it used binlog_format=STATEMENT or MIXED, and the agent applies row "
                   "events only: make every writer of these tables use ROW (SET GLOBAL binlog_format=ROW, and fix "
                   "any tool or session that sets its own format; pt-table-checksum sets STATEMENT for its session, "
                   "so keep its --replicate table outside the stream's tables). This change never reached the "
                   "destination: the table must be copied again (start a new import), or excluded from the "
                   "stream's tables.");
}

/* A row write logged as SQL text: skipped when it cannot touch the
 * stream's tables (the transaction around it still commits, empty), else
 * the stream cannot go on. 1: ev filled; 0: nothing to return; -1: error. */
static int streamer_statement(streamer *s, const stmt_target *t, const char *db, const char *q, size_t n,
                              stream_event *ev, sbuf *err)
{
    if (!statement_relevant(s, t, db, q, n)) {
        if (!s->standalone)
            return 0;
        event_commit(s, ev, SEV_COMMIT); /* no XID or COMMIT follows */
        return 1;
    }
    statement_error(s, t, db, q, n, err);
    s->fail_errno = STREAMER_ESTATEMENT;
    return -1;
}

/* A QUERY event's statement (q, n: not NUL-terminated) under default
 * schema db. 1: ev filled; 0: nothing to return; -1: error. */
static int streamer_query(streamer *s, const char *q, size_t n, const char *db, size_t dblen, stream_event *ev,
                          sbuf *err)
{
    if (starts_with_word(q, n, "BEGIN") || starts_with_word(q, n, "SAVEPOINT"))
        return 0;
    if (starts_with_word(q, n, "COMMIT") || starts_with_word(q, n, "ROLLBACK")) {
        event_commit(s, ev, SEV_COMMIT);
        return 1;
    }
    /* Account management touches only the system schema, never a table a
     * stream carries (the cutover fence itself locks accounts). */
    static const char *const accounts[] = {"CREATE USER", "ALTER USER", "DROP USER", "RENAME USER", "GRANT",
                                           "REVOKE", "SET PASSWORD", "CREATE ROLE", "DROP ROLE", "SET DEFAULT ROLE",
                                           "FLUSH"};
    for (size_t i = 0; i < sizeof accounts / sizeof accounts[0]; i++) {
        if (starts_with_word(q, n, accounts[i])) {
            event_commit(s, ev, SEV_COMMIT);
            return 1;
        }
    }
    if (starts_with_word(q, n, "XA")) {
        sbuf_setf(err, "XA transactions are not supported: \"");
        sbuf_add_printable(err, q, n, QUOTE_MAX);
        sbuf_adds(err, "\"");
        add_event_position(s, err);
        return -1;
    }
    char *schema = xstrndup(db ? db : "", db ? dblen : 0);
    stmt_target t;
    stmt_target_parse(q, n, schema, &t);
    if (t.kind != STMT_OTHER) {
        int rc = streamer_statement(s, &t, schema, q, n, ev, err);
        stmt_target_clear(&t);
        free(schema);
        return rc;
    }
    ev->schema = schema;
    ev->statement = xmalloc(n + 1); /* every byte, even past a NUL */
    memcpy(ev->statement, q, n);
    ev->statement[n] = '\0';
    ev->statement_len = n;
    event_commit(s, ev, text_may_touch(s, ev->schema, q, n) ? SEV_DDL : SEV_COMMIT);
    return 1;
}

static int streamer_rows(streamer *s, const raw_event *r, stream_event *ev, sbuf *err)
{
    uint64_t id;
    if (dec_rows_table_id(r->type, r->body, r->len, &id, err) != 0)
        return -1;
    map_entry *m = NULL;
    for (size_t i = 0; i < s->nmaps; i++)
        if (s->maps[i].id == id)
            m = &s->maps[i];
    if (!m) {
        sbuf_setf(err, "rows event for table id %llu without a table map (at %s:%llu)", (unsigned long long)id,
                  s->file, (unsigned long long)s->offset);
        return -1;
    }
    if (!m->table)
        return 0;
    if (dec_rows_parse(m->table->map, r->type, r->body, r->len, &ev->rows, err) != 0) {
        sbuf_addf(err, " (table %s.%s, at %s:%llu)", m->table->map->schema, m->table->map->name, s->file,
                  (unsigned long long)s->offset);
        return -1;
    }
    ev->kind = SEV_ROWS;
    ev->table = vtable_ref(m->table);
    ev->bytes = r->len * 2 + 64 * ev->rows.nrows;
    return 1;
}

static int streamer_gtid(streamer *s, const raw_event *r, stream_event *ev, sbuf *err)
{
    if (r->type == BINLOG_GTID_MARIADB) {
        if (r->len < 13) {
            sbuf_setf(err, "truncated GTID event");
            return -1;
        }
        ev->gtid_seq = le64(r->body);
        ev->gtid_domain = le32(r->body + 8);
        ev->gtid_server = r->server_id;
        s->standalone = r->body[12] & GTID_FL_STANDALONE;
        sbuf_setf(&s->gtid, "%u-%u-%llu", ev->gtid_domain, ev->gtid_server, (unsigned long long)ev->gtid_seq);
    } else {
        if (r->len < 25) {
            sbuf_setf(err, "truncated GTID event");
            return -1;
        }
        ev->mysql_gtid = true;
        memcpy(ev->mysql_uuid, r->body + 1, 16);
        ev->gtid_seq = le64(r->body + 17);
        s->standalone = false;
        sbuf_reset(&s->gtid);
        for (int i = 0; i < 16; i++)
            sbuf_addf(&s->gtid, "%s%02x", i == 4 || i == 6 || i == 8 || i == 10 ? "-" : "", ev->mysql_uuid[i]);
        sbuf_addf(&s->gtid, ":%llu", (unsigned long long)ev->gtid_seq);
    }
    ev->kind = SEV_BEGIN;
    return 1;
}

/* Dispatch one raw event: 1 when ev was filled, 0 to read on, -1 error. */
static int streamer_dispatch(streamer *s, const MARIADB_RPL_EVENT *e, const raw_event *r, stream_event *ev,
                             sbuf *err)
{
    switch (r->type) {
    case BINLOG_ROTATE:
        free(s->file);
        s->file = xstrndup(e->event.rotate.filename.str, e->event.rotate.filename.length);
        s->offset = e->event.rotate.position;
        return 0;
    case BINLOG_HEARTBEAT:
        ev->kind = SEV_HEARTBEAT;
        return 1;
    case BINLOG_GTID_MARIADB:
    case BINLOG_GTID_MYSQL:
        return streamer_gtid(s, r, ev, err);
    case BINLOG_QUERY:
    case BINLOG_QUERY_COMPRESSED:
        return streamer_query(s, e->event.query.statement.str, e->event.query.statement.length,
                              e->event.query.database.str, e->event.query.database.length, ev, err);
    case EXECUTE_LOAD_QUERY_EVENT: /* a statement-format LOAD DATA; its data came in earlier events */
        return streamer_query(s, e->event.execute_load_query.statement.str,
                              e->event.execute_load_query.statement.length, e->event.execute_load_query.schema.str,
                              e->event.execute_load_query.schema.length, ev, err);
    case BINLOG_TABLE_MAP:
        return streamer_table_map(s, r->body, r->len, err);
    case BINLOG_XID:
        event_commit(s, ev, SEV_COMMIT);
        return 1;
    default:
        if (dec_is_rows_event(r->type))
            return streamer_rows(s, r, ev, err);
        return 0;
    }
}

/* The sequence number of a binlog file name ("source-bin.000042" -> 42)
 * and the length of its base; false when it has no numeric extension. */
static bool binlog_seq(const char *f, size_t *base_len, unsigned long long *seq)
{
    const char *dot = strrchr(f, '.');
    if (!dot || !dot[1] || strspn(dot + 1, "0123456789") != strlen(dot + 1))
        return false;
    *base_len = (size_t)(dot - f);
    *seq = strtoull(dot + 1, NULL, 10);
    return true;
}

/* Is binlog file a older than b, the same server's? */
static bool binlog_older(const char *a, const char *b)
{
    size_t la, lb;
    unsigned long long sa, sb;
    return binlog_seq(a, &la, &sa) && binlog_seq(b, &lb, &sb) && la == lb && strncmp(a, b, la) == 0 && sa < sb;
}

static void add_file_name(sbuf *sb, const char *f)
{
    sbuf_addc(sb, '\'');
    sbuf_add_printable(sb, f, strlen(f), 256);
    sbuf_addc(sb, '\'');
}

/* The server has no binlog file s->file. Purged (older than the oldest it
 * keeps: only a new copy helps), or never there (a typo, another server's
 * file, a future one: the start position is wrong)? Its list tells. */
static int streamer_missing_file(streamer *s, const char *why, sbuf *err)
{
    sbuf first = SBUF_INIT, last = SBUF_INIT, lerr = SBUF_INIT;
    MYSQL_RES *res = NULL;
    int rc = db_query(s->meta, "SHOW BINARY LOGS", &res, &lerr);
    size_t count = 0;
    for (MYSQL_ROW row; !rc && (row = mysql_fetch_row(res));) {
        if (!row[0])
            continue;
        if (!count++)
            sbuf_adds(&first, row[0]);
        sbuf_reset(&last);
        sbuf_adds(&last, row[0]);
    }
    if (res)
        mysql_free_result(res);
    sbuf_reset(err);
    if (rc) {
        sbuf_adds(err, "the source has no binlog file ");
        add_file_name(err, s->file);
        sbuf_adds(err, " (");
        sbuf_add_printable(err, why, strlen(why), QUOTE_MAX);
        sbuf_adds(err, "), and listing its binlogs to tell whether it was purged failed: ");
        sbuf_add_printable(err, lerr.buf, lerr.len, QUOTE_MAX);
    } else if (count && binlog_older(s->file, first.buf)) {
        sbuf_adds(err, "the source no longer has the binlog for this position: ");
        add_file_name(err, s->file);
        sbuf_adds(err, " was purged (its oldest is ");
        add_file_name(err, first.buf);
        sbuf_adds(err, "); the destination must be re-copied: start a new import");
        rc = STREAMER_EPURGED;
    } else {
        sbuf_adds(err, "the source has no binlog file ");
        add_file_name(err, s->file);
        if (count) {
            sbuf_adds(err, ": it has ");
            add_file_name(err, first.buf);
            sbuf_adds(err, " .. ");
            add_file_name(err, last.buf);
        } else {
            sbuf_adds(err, ": it has none (is log_bin on?)");
        }
        sbuf_adds(err, ". The name may be mistyped or belong to another server: start the stream at a file and "
                       "offset of this source (SHOW MASTER STATUS gives its current one)");
        rc = STREAMER_ENOBINLOG;
    }
    sbuf_free(&first);
    sbuf_free(&last);
    sbuf_free(&lerr);
    return rc;
}

static int streamer_fetch_error(streamer *s, sbuf *err)
{
    unsigned e = mysql_errno(s->conn);
    sbuf msg = SBUF_INIT;
    sbuf_adds(&msg, mysql_error(s->conn));
    pthread_mutex_lock(&s->lock);
    bool interrupted = s->interrupted;
    pthread_mutex_unlock(&s->lock);
    int rc;
    if (interrupted) {
        sbuf_setf(err, "interrupted");
        rc = STREAMER_EINTERRUPTED;
    } else if (e == ER_MASTER_FATAL_ERROR_READING_BINLOG && s->file && *s->file &&
               strstr(msg.buf, "first log file name")) {
        rc = streamer_missing_file(s, msg.buf, err);
    } else if (e == ER_MASTER_FATAL_ERROR_READING_BINLOG &&
               (strstr(msg.buf, "purged") || strstr(msg.buf, "Could not find") || strstr(msg.buf, "could not find"))) {
        sbuf_setf(err, "the source no longer has the binlog for this position (");
        sbuf_add_printable(err, msg.buf, msg.len, QUOTE_MAX);
        sbuf_adds(err, "); the destination must be re-copied: start a new import");
        rc = STREAMER_EPURGED;
    } else {
        sbuf_setf(err, "reading the binlog failed: ");
        sbuf_add_printable(err, msg.buf, msg.len, QUOTE_MAX);
        sbuf_addf(err, " (error %u)", e);
        rc = e ? (int)e : CR_SERVER_LOST;
    }
    sbuf_free(&msg);
    return rc;
}

/* libmariadb 3.3 cannot parse the events that carry a statement-format
 * LOAD DATA's file: it reads BEGIN_LOAD_QUERY's data as a C string
 * ("Malformed packet" unless it holds a NUL) and does not know
 * APPEND_BLOCK or DELETE_FILE. The streamer needs none of them (the
 * EXECUTE_LOAD_QUERY that follows carries the statement), so such a
 * failure only skips the event: the packet, header included, is still in
 * the connection's read buffer, and the connection is intact. */
static bool streamer_skip_load_block(streamer *s)
{
    unsigned e = mysql_errno(s->conn);
    const unsigned char *p = s->conn->net.read_pos;
    if ((e != CR_BINLOG_ERROR && e != CR_UNKNOWN_BINLOG_EVENT) || !p || p[0] != 0)
        return false;
    unsigned type = p[1 + 4];
    if (type != BEGIN_LOAD_QUERY_EVENT && type != APPEND_BLOCK_EVENT && type != DELETE_FILE_EVENT)
        return false;
    uint32_t next = le32(p + 1 + 13);
    if (next)
        s->offset = next;
    return true;
}

int streamer_next(streamer *s, stream_event *ev, sbuf *err)
{
    memset(ev, 0, sizeof *ev);
    for (;;) {
        s->ev = mariadb_rpl_fetch(s->rpl, s->ev);
        if (!s->ev && streamer_skip_load_block(s))
            continue;
        if (!s->ev || s->ev->event_type == UNKNOWN_EVENT)
            return streamer_fetch_error(s, err);
        raw_event r;
        if (raw_event_split(s, s->ev, &r, err) != 0)
            return CR_MALFORMED_PACKET;
        if (!(r.flags & LOG_EVENT_ARTIFICIAL_F) && r.next_pos && r.type != BINLOG_ROTATE &&
            r.type != BINLOG_HEARTBEAT) {
            s->offset = r.next_pos;
            s->event_pos = r.next_pos >= r.size ? r.next_pos - r.size : 0;
        }
        int rc = streamer_dispatch(s, s->ev, &r, ev, err);
        if (rc < 0) {
            stream_event_free(ev);
            int e = s->fail_errno ? s->fail_errno : CR_MALFORMED_PACKET;
            s->fail_errno = 0;
            return e;
        }
        if (rc > 0) {
            ev->timestamp = r.timestamp;
            return 0;
        }
    }
}

/* ---- open / close ----------------------------------------------------------------------- */

static int streamer_session(streamer *s, const streamer_config *cfg, sbuf *err)
{
    sbuf q = SBUF_INIT;
    int e = db_exec(s->conn, "SET @master_binlog_checksum = @@global.binlog_checksum, "
                             "@source_binlog_checksum = @@global.binlog_checksum", err);
    if (!e && s->flavor == FLAVOR_MARIADB)
        e = db_exec(s->conn, "SET @mariadb_slave_capability = 4, @slave_gtid_strict_mode = 1", err);
    if (!e && cfg->heartbeat_ms) {
        sbuf_setf(&q, "SET @master_heartbeat_period = %llu", (unsigned long long)cfg->heartbeat_ms * 1000000ULL);
        e = db_exec(s->conn, q.buf, err);
    }
    if (!e && s->flavor == FLAVOR_MARIADB && cfg->start_gtid && *cfg->start_gtid) {
        sbuf_setf(&q, "SET @slave_connect_state = ");
        db_add_cstring(&q, cfg->start_gtid);
        e = db_exec(s->conn, q.buf, err);
    }
    sbuf_free(&q);
    return e;
}

static int streamer_dump(streamer *s, const streamer_config *cfg, sbuf *err)
{
    bool by_gtid = s->flavor == FLAVOR_MARIADB && cfg->start_gtid && *cfg->start_gtid;
    const char *file = by_gtid ? "" : (cfg->start_file ? cfg->start_file : "");
    s->rpl = mariadb_rpl_init(s->conn);
    mariadb_rpl_optionsv(s->rpl, MARIADB_RPL_SERVER_ID, cfg->server_id);
    mariadb_rpl_optionsv(s->rpl, MARIADB_RPL_FILENAME, file, strlen(file));
    mariadb_rpl_optionsv(s->rpl, MARIADB_RPL_START, by_gtid ? 4UL : (unsigned long)cfg->start_offset);
    mariadb_rpl_optionsv(s->rpl, MARIADB_RPL_FLAGS, 0);
    if (mariadb_rpl_open(s->rpl) != 0) {
        unsigned e = mysql_errno(s->conn);
        const char *m = mysql_error(s->conn);
        sbuf_setf(err, "cannot start the binlog dump: ");
        sbuf_add_printable(err, m, strlen(m), QUOTE_MAX);
        sbuf_addf(err, " (error %u)", e);
        return e ? (int)e : CR_UNKNOWN_ERROR;
    }
    s->file = xstrdup(file);
    s->offset = by_gtid ? 4 : cfg->start_offset;
    return 0;
}

int streamer_open(const streamer_config *cfg, streamer **out, sbuf *err)
{
    streamer *s = xcalloc(1, sizeof *s);
    pthread_mutex_init(&s->lock, NULL);
    s->wake_fd = -1;
    table_filter_copy(&s->filter, cfg->filter);
    s->skip_schema = cfg->skip_schema ? xstrdup(cfg->skip_schema) : NULL;
    *out = NULL;
    db_endpoint ep = *cfg->source;
    ep.read_timeout_s = 0; /* a dump waits for events indefinitely */
    int e = db_connect(&ep, 0, &s->conn, err);
    if (!e)
        e = db_connect(cfg->source, 0, &s->meta, err);
    if (!e) {
        s->flavor = flavor_of_version(mysql_get_server_info(s->conn));
        s->wake_fd = dup((int)mysql_get_socket(s->conn));
        e = streamer_session(s, cfg, err);
    }
    if (!e)
        e = streamer_dump(s, cfg, err);
    if (e) {
        streamer_close(s);
        return e;
    }
    *out = s;
    return 0;
}

/* From another thread: wake a reader blocked in the dump. It must not call
 * into libmariadb, whose connection the reader is using (and may be tearing
 * down after an error), so it shuts down the socket through a descriptor
 * of its own, which also cannot have been reused for another file. */
void streamer_interrupt(streamer *s)
{
    pthread_mutex_lock(&s->lock);
    s->interrupted = true;
    if (s->wake_fd >= 0)
        shutdown(s->wake_fd, SHUT_RDWR);
    pthread_mutex_unlock(&s->lock);
}

void streamer_close(streamer *s)
{
    if (!s)
        return;
    if (s->ev)
        mariadb_free_rpl_event(s->ev);
    if (s->rpl)
        mariadb_rpl_close(s->rpl);
    pthread_mutex_lock(&s->lock);
    if (s->conn)
        mysql_close(s->conn);
    s->conn = NULL;
    if (s->wake_fd >= 0)
        close(s->wake_fd);
    s->wake_fd = -1;
    pthread_mutex_unlock(&s->lock);
    if (s->meta)
        mysql_close(s->meta);
    streamer_schema_invalidate(s);
    free(s->maps);
    free(s->schemas);
    free(s->file);
    sbuf_free(&s->gtid);
    free(s->skip_schema);
    table_filter_clear(&s->filter);
    pthread_mutex_destroy(&s->lock);
    free(s);
}

