/* keymap: open-addressing hash map over byte strings. See keymap.h. */
#include "lib/keymap.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/sbuf.h"

typedef struct slot {
    size_t key_off; /* into the arena; SIZE_MAX when empty */
    size_t key_len;
    uint64_t hash;
    size_t value;
} slot;

struct keymap {
    slot *slots;
    size_t cap; /* power of two */
    size_t count;
    sbuf arena;
};

static uint64_t hash_bytes(const void *key, size_t len)
{
    const unsigned char *p = key;
    uint64_t h = 1469598103934665603ULL;
    for (size_t i = 0; i < len; i++) {
        h ^= p[i];
        h *= 1099511628211ULL;
    }
    return h;
}

static void slots_reset(slot *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        s[i].key_off = SIZE_MAX;
}

keymap *keymap_new(void)
{
    keymap *m = xcalloc(1, sizeof *m);
    m->cap = 64;
    m->slots = xmalloc(m->cap * sizeof *m->slots);
    slots_reset(m->slots, m->cap);
    return m;
}

void keymap_free(keymap *m)
{
    if (!m)
        return;
    free(m->slots);
    sbuf_free(&m->arena);
    free(m);
}

void keymap_clear(keymap *m)
{
    slots_reset(m->slots, m->cap);
    m->count = 0;
    sbuf_reset(&m->arena);
}

size_t keymap_count(const keymap *m)
{
    return m->count;
}

static slot *find(const keymap *m, const void *key, size_t len, uint64_t h)
{
    size_t mask = m->cap - 1;
    for (size_t i = h & mask;; i = (i + 1) & mask) {
        slot *s = &m->slots[i];
        if (s->key_off == SIZE_MAX)
            return s;
        if (s->hash == h && s->key_len == len && memcmp(m->arena.buf + s->key_off, key, len) == 0)
            return s;
    }
}

static void grow(keymap *m)
{
    slot *old = m->slots;
    size_t oldcap = m->cap;
    m->cap *= 2;
    m->slots = xmalloc(m->cap * sizeof *m->slots);
    slots_reset(m->slots, m->cap);
    for (size_t i = 0; i < oldcap; i++) {
        if (old[i].key_off == SIZE_MAX)
            continue;
        size_t mask = m->cap - 1, j = old[i].hash & mask;
        while (m->slots[j].key_off != SIZE_MAX)
            j = (j + 1) & mask;
        m->slots[j] = old[i];
    }
    free(old);
}

size_t *keymap_put(keymap *m, const void *key, size_t len, bool *inserted)
{
    if ((m->count + 1) * 4 > m->cap * 3)
        grow(m);
    uint64_t h = hash_bytes(key, len);
    slot *s = find(m, key, len, h);
    *inserted = s->key_off == SIZE_MAX;
    if (*inserted) {
        s->key_off = m->arena.len;
        s->key_len = len;
        s->hash = h;
        s->value = 0;
        sbuf_add(&m->arena, key, len);
        m->count++;
    }
    return &s->value;
}

size_t *keymap_get(const keymap *m, const void *key, size_t len)
{
    slot *s = find(m, key, len, hash_bytes(key, len));
    return s->key_off == SIZE_MAX ? NULL : &s->value;
}
