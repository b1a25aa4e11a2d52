/* vpos: replication positions. See vpos.h. */
#include "vrepl/vpos.h"

#include <stdlib.h>
#include <string.h>

#include "lib/gtid.h"
#include "lib/sbuf.h"

void vpos_set(vpos *p, const char *gtid, const char *file, uint64_t offset)
{
    char *g = xstrdup(gtid ? gtid : ""), *f = xstrdup(file ? file : "");
    free(p->gtid);
    free(p->file);
    p->gtid = g;
    p->file = f;
    p->offset = offset;
}

void vpos_clear(vpos *p)
{
    free(p->gtid);
    free(p->file);
    memset(p, 0, sizeof *p);
}

static unsigned long long file_seq(const char *f, size_t *base_len)
{
    const char *dot = strrchr(f, '.');
    *base_len = dot ? (size_t)(dot - f) : strlen(f);
    return dot ? strtoull(dot + 1, NULL, 10) : 0;
}

int vpos_cmp_file(const char *fa, uint64_t oa, const char *fb, uint64_t ob)
{
    size_t la, lb;
    unsigned long long sa = file_seq(fa, &la), sb = file_seq(fb, &lb);
    int c = strncmp(fa, fb, la < lb ? la : lb);
    if (c == 0 && la != lb)
        c = la < lb ? -1 : 1;
    if (c == 0 && sa != sb)
        c = sa < sb ? -1 : 1;
    if (c == 0 && oa != ob)
        c = oa < ob ? -1 : 1;
    return c;
}

bool vpos_reached(server_flavor flavor, const vpos *applied, const vpos *want)
{
    if (want->gtid && *want->gtid) {
        gtid_set *a = NULL, *w = NULL;
        sbuf err = SBUF_INIT;
        bool ok = gtid_set_parse(flavor, applied->gtid ? applied->gtid : "", &a, &err) == 0 &&
                  gtid_set_parse(flavor, want->gtid, &w, &err) == 0 && gtid_set_contains(a, w);
        gtid_set_free(a);
        gtid_set_free(w);
        sbuf_free(&err);
        return ok;
    }
    return applied->file && vpos_cmp_file(applied->file, applied->offset, want->file, want->offset) >= 0;
}
