/* keymap: a hash map from byte strings to a size_t, for hot paths.
 *
 * Open addressing with linear probing and FNV-1a hashing; keys are copied
 * into one arena, so clearing the map between batches frees nothing but
 * resets two counters. Used by the applier to find the latest image of a
 * row by its rendered key. */
#ifndef KEYMAP_H
#define KEYMAP_H

#include <stdbool.h>
#include <stddef.h>

typedef struct keymap keymap;

keymap *keymap_new(void);
void keymap_free(keymap *m);
/* Forget every key; keeps the memory for reuse. */
void keymap_clear(keymap *m);
size_t keymap_count(const keymap *m);
/* The value slot for key; inserted (and *inserted set) when absent. The
 * pointer is valid until the next put or clear. */
size_t *keymap_put(keymap *m, const void *key, size_t len, bool *inserted);
/* NULL when absent. */
size_t *keymap_get(const keymap *m, const void *key, size_t len);

#endif
