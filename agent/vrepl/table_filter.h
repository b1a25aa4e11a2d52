/* table_filter: which tables a stream, a workflow or a preflight covers.
 *
 * "db.table" patterns with * and ? (fnmatch), "db" alone meaning every
 * table of it; an empty include list means every table outside the system
 * schemas, which are never covered. Excludes win over includes. */
#ifndef TABLE_FILTER_H
#define TABLE_FILTER_H

#include <stdbool.h>
#include <stddef.h>

typedef struct table_filter {
    char **include;
    size_t ninclude;
    char **exclude;
    size_t nexclude;
} table_filter;

bool table_filter_match(const table_filter *f, const char *db, const char *table);
/* True if any included table could live in this schema (for DDL). */
bool table_filter_match_schema(const table_filter *f, const char *db);
void table_filter_clear(table_filter *f);
void table_filter_copy(table_filter *dst, const table_filter *src);

#endif
