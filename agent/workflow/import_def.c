/* import_def: workflow definitions on disk. See import_def.h.
 *
 * The file is "key=value" lines; repeated keys (tables.include) form
 * lists. Writes go to a temporary file that is fsynced and renamed over the
 * old one, so a crash leaves either the old or the new definition, never
 * half of one. */
#include "workflow/import_def.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/log.h"

void import_options_defaults(import_options *o)
{
    o->parallelism = 4;
    o->chunk_rows = 10000;
    o->throttle_threads_running = 50;
    o->ddl = DDL_STOP;
    o->defer_indexes = true;
    o->snapshot_seconds = 600;
}

void import_def_copy(import_def *dst, const import_def *src)
{
    *dst = *src;
    dst->name = xstrdup(src->name);
    db_endpoint *e = db_endpoint_dup(&src->dest);
    dst->dest = *e;
    free(e);
    table_filter_copy(&dst->tables, &src->tables);
    dst->sidecar = xstrdup(src->sidecar);
    dst->fence_exempt = xstrdup(src->fence_exempt ? src->fence_exempt : "");
}

void import_def_clear(import_def *d)
{
    free(d->name);
    db_endpoint_clear(&d->dest);
    table_filter_clear(&d->tables);
    free(d->sidecar);
    free(d->fence_exempt);
    memset(d, 0, sizeof *d);
}

static void path_of(const char *state_dir, const char *name, const char *suffix, sbuf *out)
{
    sbuf_reset(out);
    sbuf_addf(out, "%s/workflows/%s.conf%s", state_dir, name, suffix);
}

static int ensure_dir(const char *state_dir, sbuf *err)
{
    sbuf d = SBUF_INIT;
    sbuf_addf(&d, "%s/workflows", state_dir);
    int rc = 0;
    if ((mkdir(state_dir, 0700) != 0 && errno != EEXIST) || (mkdir(d.buf, 0700) != 0 && errno != EEXIST)) {
        sbuf_setf(err, "cannot create %s: %s (set --state-dir to a writable directory)", d.buf, strerror(errno));
        rc = -1;
    }
    sbuf_free(&d);
    return rc;
}

static void serialize(const import_def *d, sbuf *out)
{
    const db_endpoint *e = &d->dest;
    sbuf_addf(out, "# tablet-agent workflow definition; no secret is stored here\nkind=import\nname=%s\n", d->name);
    if (e->host)
        sbuf_addf(out, "dest.host=%s\n", e->host);
    if (e->socket)
        sbuf_addf(out, "dest.socket=%s\n", e->socket);
    sbuf_addf(out, "dest.port=%u\ndest.user=%s\ndest.tls=%d\n", e->port, e->user ? e->user : "", e->tls);
    if (e->password && secret_file(e->password))
        sbuf_addf(out, "dest.password_file=%s\n", secret_file(e->password));
    else if (e->password && secret_env(e->password))
        sbuf_addf(out, "dest.password_env=%s\n", secret_env(e->password));
    else if (e->password)
        sbuf_adds(out, "dest.password_inline=1\n");
    for (size_t i = 0; i < d->tables.ninclude; i++)
        sbuf_addf(out, "tables.include=%s\n", d->tables.include[i]);
    for (size_t i = 0; i < d->tables.nexclude; i++)
        sbuf_addf(out, "tables.exclude=%s\n", d->tables.exclude[i]);
    const import_options *o = &d->opt;
    sbuf_addf(out, "fence_exempt=%s\n", d->fence_exempt ? d->fence_exempt : "");
    sbuf_addf(out, "sidecar=%s\ncreated_ms=%lld\nopt.parallelism=%u\nopt.chunk_rows=%llu\nopt.throttle=%u\n"
                   "opt.ddl=%s\nopt.defer_indexes=%d\nopt.snapshot_seconds=%u\n",
              d->sidecar, (long long)d->created_ms, o->parallelism, (unsigned long long)o->chunk_rows,
              o->throttle_threads_running, ddl_policy_name(o->ddl), o->defer_indexes, o->snapshot_seconds);
    sbuf_addf(out, "milestone.dest_written=%d\nmilestone.cutover_started=%d\n", d->dest_written, d->cutover_started);
}

int import_def_save(const char *state_dir, const import_def *d, sbuf *err)
{
    if (ensure_dir(state_dir, err) != 0)
        return -1;
    sbuf path = SBUF_INIT, tmp = SBUF_INIT, text = SBUF_INIT;
    path_of(state_dir, d->name, "", &path);
    path_of(state_dir, d->name, ".tmp", &tmp);
    serialize(d, &text);
    int rc = -1, fd = open(tmp.buf, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd >= 0 && write(fd, text.buf, text.len) == (ssize_t)text.len && fsync(fd) == 0 && close(fd) == 0) {
        fd = -1;
        rc = rename(tmp.buf, path.buf);
    }
    if (rc != 0) {
        sbuf_setf(err, "cannot write %s: %s", path.buf, strerror(errno));
        if (fd >= 0)
            close(fd);
        unlink(tmp.buf);
    }
    sbuf_free(&path);
    sbuf_free(&tmp);
    sbuf_free(&text);
    return rc;
}

int import_def_remove(const char *state_dir, const char *name, sbuf *err)
{
    sbuf path = SBUF_INIT;
    path_of(state_dir, name, "", &path);
    int rc = unlink(path.buf) == 0 || errno == ENOENT ? 0 : -1;
    if (rc)
        sbuf_setf(err, "cannot remove %s: %s", path.buf, strerror(errno));
    sbuf_free(&path);
    return rc;
}

static void strv_push(char ***v, size_t *n, const char *s)
{
    *v = xrealloc(*v, (*n + 1) * sizeof **v);
    (*v)[(*n)++] = xstrdup(s);
}

static void set_str(char **dst, const char *v)
{
    free(*dst);
    *dst = xstrdup(v);
}

static int parse_line(import_def *d, char *line, sbuf *err)
{
    char *eq = strchr(line, '=');
    if (!eq) {
        sbuf_setf(err, "expected key=value, got \"%s\"", line);
        return -1;
    }
    *eq = '\0';
    const char *k = line, *v = eq + 1;
    if (strcmp(k, "name") == 0) set_str(&d->name, v);
    else if (strcmp(k, "dest.host") == 0) set_str(&d->dest.host, v);
    else if (strcmp(k, "dest.socket") == 0) set_str(&d->dest.socket, v);
    else if (strcmp(k, "dest.port") == 0) d->dest.port = (unsigned)strtoul(v, NULL, 10);
    else if (strcmp(k, "dest.user") == 0) set_str(&d->dest.user, v);
    else if (strcmp(k, "dest.tls") == 0) d->dest.tls = atoi(v) != 0;
    else if (strcmp(k, "dest.password_file") == 0) d->dest.password = secret_from_file(v);
    else if (strcmp(k, "dest.password_env") == 0) {
        if (secret_from_env(v, false, &d->dest.password, err) != 0)
            d->password_missing = true;
    } else if (strcmp(k, "dest.password_inline") == 0) d->password_missing = true;
    else if (strcmp(k, "tables.include") == 0) strv_push(&d->tables.include, &d->tables.ninclude, v);
    else if (strcmp(k, "tables.exclude") == 0) strv_push(&d->tables.exclude, &d->tables.nexclude, v);
    else if (strcmp(k, "sidecar") == 0) set_str(&d->sidecar, v);
    else if (strcmp(k, "fence_exempt") == 0) set_str(&d->fence_exempt, v);
    else if (strcmp(k, "created_ms") == 0) d->created_ms = strtoll(v, NULL, 10);
    else if (strcmp(k, "opt.parallelism") == 0) d->opt.parallelism = (unsigned)strtoul(v, NULL, 10);
    else if (strcmp(k, "opt.chunk_rows") == 0) d->opt.chunk_rows = strtoull(v, NULL, 10);
    else if (strcmp(k, "opt.throttle") == 0) d->opt.throttle_threads_running = (unsigned)strtoul(v, NULL, 10);
    else if (strcmp(k, "opt.ddl") == 0) d->opt.ddl = strcmp(v, "exec") == 0 ? DDL_EXEC : strcmp(v, "ignore") == 0 ? DDL_IGNORE : DDL_STOP;
    else if (strcmp(k, "opt.defer_indexes") == 0) d->opt.defer_indexes = atoi(v) != 0;
    else if (strcmp(k, "opt.snapshot_seconds") == 0) d->opt.snapshot_seconds = (unsigned)strtoul(v, NULL, 10);
    else if (strcmp(k, "milestone.dest_written") == 0) d->dest_written = atoi(v) != 0;
    else if (strcmp(k, "milestone.cutover_started") == 0) d->cutover_started = atoi(v) != 0;
    return 0; /* unknown keys (kind, newer fields) are ignored */
}

static int load_one(const char *path, import_def *d, sbuf *err)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        sbuf_setf(err, "cannot read %s: %s", path, strerror(errno));
        return -1;
    }
    memset(d, 0, sizeof *d);
    import_options_defaults(&d->opt);
    d->dest_written = d->cutover_started = true; /* unless the file says otherwise */
    char line[4096];
    int rc = 0;
    while (rc == 0 && fgets(line, sizeof line, f)) {
        line[strcspn(line, "\r\n")] = '\0';
        if (*line && *line != '#')
            rc = parse_line(d, line, err);
    }
    fclose(f);
    if (rc == 0 && (!d->name || !d->sidecar || !d->dest.user)) {
        sbuf_setf(err, "%s lacks name, sidecar or dest.user", path);
        rc = -1;
    }
    if (rc)
        import_def_clear(d);
    return rc;
}

int import_def_load_all(const char *state_dir, import_def **out, size_t *n, sbuf *err)
{
    *out = NULL;
    *n = 0;
    sbuf dir = SBUF_INIT, path = SBUF_INIT, one = SBUF_INIT;
    sbuf_addf(&dir, "%s/workflows", state_dir);
    DIR *dh = opendir(dir.buf);
    if (!dh) {
        int e = errno;
        sbuf_free(&dir);
        if (e == ENOENT)
            return 0;
        sbuf_setf(err, "cannot read %s/workflows: %s", state_dir, strerror(e));
        return -1;
    }
    struct dirent *de;
    while ((de = readdir(dh))) {
        size_t len = strlen(de->d_name);
        if (len < 6 || strcmp(de->d_name + len - 5, ".conf") != 0)
            continue;
        sbuf_setf(&path, "%s/%s", dir.buf, de->d_name);
        import_def d;
        if (load_one(path.buf, &d, &one) != 0) {
            log_error("workflow", "skipping %s: %s", path.buf, one.buf);
            continue;
        }
        *out = xrealloc(*out, (*n + 1) * sizeof **out);
        (*out)[(*n)++] = d;
    }
    closedir(dh);
    sbuf_free(&dir);
    sbuf_free(&path);
    sbuf_free(&one);
    return 0;
}
