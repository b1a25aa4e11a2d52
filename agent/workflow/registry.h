/* registry: named long-lived objects of the agent (streams, workflows), as
 * the loop sees them.
 *
 * Names are unique; the registry owns its items and frees them through the
 * ops it was given. Stopping all of them (at shutdown) asks each to stop
 * and calls done once the last has said so, however they answer (at once
 * or later). Loop thread only. */
#ifndef REGISTRY_H
#define REGISTRY_H

#include <stddef.h>

typedef struct registry registry;

typedef struct registry_ops {
    const char *(*name)(const void *item);
    /* Ask item to stop; it calls stopped(arg) once it has (maybe at once). */
    void (*stop)(void *item, void (*stopped)(void *arg), void *arg);
    void (*free)(void *item);
} registry_ops;

registry *registry_new(const registry_ops *ops);
/* Frees every item, then the registry. */
void registry_free(registry *r);
void *registry_get(const registry *r, const char *name);
/* Add item; an item of the same name is freed and replaced. */
void registry_put(registry *r, void *item);
/* Take item out without freeing it. */
void registry_take(registry *r, void *item);
size_t registry_count(const registry *r);
void *registry_at(const registry *r, size_t i);
void registry_stop_all(registry *r, void (*done)(void *arg), void *arg);

#endif
