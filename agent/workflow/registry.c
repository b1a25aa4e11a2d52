/* registry: named items owned by the loop. See registry.h. */
#include "workflow/registry.h"

#include <stdlib.h>
#include <string.h>

#include "lib/sbuf.h"

struct registry {
    const registry_ops *ops;
    void **v;
    size_t n, cap;
    void (*all_done)(void *);
    void *all_done_arg;
    size_t stopping;
};

registry *registry_new(const registry_ops *ops)
{
    registry *r = xcalloc(1, sizeof *r);
    r->ops = ops;
    return r;
}

void registry_free(registry *r)
{
    if (!r)
        return;
    for (size_t i = 0; i < r->n; i++)
        r->ops->free(r->v[i]);
    free(r->v);
    free(r);
}

static ssize_t registry_index(const registry *r, const char *name)
{
    for (size_t i = 0; i < r->n; i++)
        if (strcmp(r->ops->name(r->v[i]), name) == 0)
            return (ssize_t)i;
    return -1;
}

void *registry_get(const registry *r, const char *name)
{
    ssize_t i = registry_index(r, name);
    return i < 0 ? NULL : r->v[i];
}

void registry_put(registry *r, void *item)
{
    ssize_t i = registry_index(r, r->ops->name(item));
    if (i >= 0) {
        r->ops->free(r->v[i]);
        r->v[i] = item;
        return;
    }
    if (r->n == r->cap) {
        r->cap = r->cap ? r->cap * 2 : 8;
        r->v = xrealloc(r->v, r->cap * sizeof *r->v);
    }
    r->v[r->n++] = item;
}

void registry_take(registry *r, void *item)
{
    for (size_t i = 0; i < r->n; i++) {
        if (r->v[i] != item)
            continue;
        memmove(&r->v[i], &r->v[i + 1], (r->n - i - 1) * sizeof *r->v);
        r->n--;
        return;
    }
}

size_t registry_count(const registry *r)
{
    return r->n;
}

void *registry_at(const registry *r, size_t i)
{
    return i < r->n ? r->v[i] : NULL;
}

static void registry_one_stopped(void *arg)
{
    registry *r = arg;
    if (--r->stopping == 0 && r->all_done)
        r->all_done(r->all_done_arg);
}

void registry_stop_all(registry *r, void (*done)(void *arg), void *arg)
{
    r->all_done = done;
    r->all_done_arg = arg;
    r->stopping = r->n + 1; /* +1 so that answers given at once cannot finish early */
    for (size_t i = 0; i < r->n; i++)
        r->ops->stop(r->v[i], registry_one_stopped, r);
    registry_one_stopped(r);
}
