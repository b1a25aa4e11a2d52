/* args: table-driven option parsing for cpctl subcommands. See args.h. */
#include "args.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const arg_opt *find(const arg_opt *opts, size_t n, const char *name, size_t len)
{
    for (size_t i = 0; i < n; i++)
        if (strlen(opts[i].name) == len && strncmp(opts[i].name, name, len) == 0)
            return &opts[i];
    return NULL;
}

int args_parse(int argc, char **argv, const arg_opt *opts, size_t nopts, const char **pos, size_t npos,
               size_t *got, sbuf *err)
{
    *got = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strncmp(a, "--", 2) != 0) {
            if (*got == npos) {
                sbuf_setf(err, "unexpected argument \"%s\"", a);
                return -1;
            }
            pos[(*got)++] = a;
            continue;
        }
        const char *name = a + 2, *eq = strchr(name, '=');
        size_t len = eq ? (size_t)(eq - name) : strlen(name);
        const arg_opt *o = find(opts, nopts, name, len);
        if (!o) {
            sbuf_setf(err, "unknown option --%.*s", (int)len, name);
            return -1;
        }
        if (o->kind == ARG_FLAG) {
            *(bool *)o->dest = true;
            continue;
        }
        const char *value = eq ? eq + 1 : (i + 1 < argc ? argv[++i] : NULL);
        if (!value) {
            sbuf_setf(err, "--%s needs a value", o->name);
            return -1;
        }
        if (o->kind == ARG_STR) {
            *(const char **)o->dest = value;
        } else {
            arg_list *l = o->dest;
            l->v = realloc(l->v, (l->n + 1) * sizeof *l->v);
            l->v[l->n++] = (char *)value;
        }
    }
    return 0;
}

int args_command(int argc, char **argv, const arg_opt *opts, size_t nopts, const char **pos, size_t npos,
                 const char *pos_name, const char *synopsis)
{
    sbuf err = SBUF_INIT, usage = SBUF_INIT;
    size_t got = 0;
    int rc = 0;
    for (int i = 1; i < argc; i++)
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0)
            rc = 1;
    if (!rc && args_parse(argc, argv, opts, nopts, pos, npos, &got, &err) != 0)
        rc = -1;
    if (!rc && got != npos) {
        sbuf_setf(&err, "%s is required", pos_name ? pos_name : "an argument");
        rc = -1;
    }
    if (rc) {
        args_usage(synopsis, opts, nopts, &usage);
        /* the command's own words: the synopsis up to its first argument */
        size_t n = 0;
        for (const char *w = synopsis; *w && *w != '[' && *w != '-' && !(*w >= 'A' && *w <= 'Z');) {
            const char *sp = strchr(w, ' ');
            n = (size_t)((sp ? sp : w + strlen(w)) - synopsis);
            w = sp ? sp + 1 : w + strlen(w);
        }
        if (rc < 0)
            fprintf(stderr, "cpctl: %.*s: %s\n%s", (int)n, synopsis, err.buf, usage.buf);
        else
            fputs(usage.buf, stdout);
    }
    sbuf_free(&err);
    sbuf_free(&usage);
    return rc;
}

void args_list_free(arg_list *l)
{
    free(l->v);
    l->v = NULL;
    l->n = 0;
}

void args_usage(const char *synopsis, const arg_opt *opts, size_t nopts, sbuf *out)
{
    sbuf_addf(out, "usage: cpctl %s\n", synopsis);
    for (size_t i = 0; i < nopts; i++)
        sbuf_addf(out, "  --%-22s %s%s\n", opts[i].name, opts[i].help, opts[i].kind == ARG_LIST ? " (repeatable)" : "");
}
