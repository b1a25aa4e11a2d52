/* table_filter: table patterns. See table_filter.h. */
#include "vrepl/table_filter.h"

#include <fnmatch.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "lib/sbuf.h"

static bool is_system_schema(const char *db)
{
    return strcasecmp(db, "mysql") == 0 || strcasecmp(db, "information_schema") == 0 ||
           strcasecmp(db, "performance_schema") == 0 || strcasecmp(db, "sys") == 0;
}

static bool pattern_match(const char *pattern, const char *db, const char *table)
{
    const char *dot = strchr(pattern, '.');
    if (!dot) /* "db" alone means every table of it */
        return fnmatch(pattern, db, 0) == 0;
    sbuf p = SBUF_INIT;
    sbuf_add(&p, pattern, (size_t)(dot - pattern));
    bool m = fnmatch(p.buf, db, 0) == 0 && fnmatch(dot + 1, table, 0) == 0;
    sbuf_free(&p);
    return m;
}

bool table_filter_match(const table_filter *f, const char *db, const char *table)
{
    if (is_system_schema(db))
        return false;
    bool in = f->ninclude == 0;
    for (size_t i = 0; !in && i < f->ninclude; i++)
        in = pattern_match(f->include[i], db, table);
    for (size_t i = 0; in && i < f->nexclude; i++)
        in = !pattern_match(f->exclude[i], db, table);
    return in;
}

bool table_filter_match_schema(const table_filter *f, const char *db)
{
    if (!db || !*db || is_system_schema(db))
        return false;
    if (f->ninclude == 0)
        return true;
    for (size_t i = 0; i < f->ninclude; i++) {
        const char *dot = strchr(f->include[i], '.');
        sbuf p = SBUF_INIT;
        sbuf_add(&p, f->include[i], dot ? (size_t)(dot - f->include[i]) : strlen(f->include[i]));
        bool m = fnmatch(p.buf, db, 0) == 0;
        sbuf_free(&p);
        if (m)
            return true;
    }
    return false;
}

static char **strv_dup(char *const *v, size_t n)
{
    char **d = n ? xcalloc(n, sizeof *d) : NULL;
    for (size_t i = 0; i < n; i++)
        d[i] = xstrdup(v[i]);
    return d;
}

void table_filter_copy(table_filter *dst, const table_filter *src)
{
    dst->include = strv_dup(src->include, src->ninclude);
    dst->ninclude = src->ninclude;
    dst->exclude = strv_dup(src->exclude, src->nexclude);
    dst->nexclude = src->nexclude;
}

void table_filter_clear(table_filter *f)
{
    for (size_t i = 0; i < f->ninclude; i++)
        free(f->include[i]);
    for (size_t i = 0; i < f->nexclude; i++)
        free(f->exclude[i]);
    free(f->include);
    free(f->exclude);
    memset(f, 0, sizeof *f);
}
