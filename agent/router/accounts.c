/* accounts: the parsed accounts file. See accounts.h.
 *
 * Names are looked up in a keymap (the router checks one per login and per
 * COM_CHANGE_USER); the hashes live in one array beside it and are wiped
 * when the table is freed. Error messages name the line, never its hash. */
#include "router/accounts.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "lib/keymap.h"

typedef struct account {
    uint8_t stage2[20];
} account;

struct accounts {
    keymap *names;
    account *list;
    size_t n, cap;
};

static int hexval(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c = tolower(c);
    return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* "*" followed by 40 hex digits, as the server prints the hash. */
static bool parse_hash(const char *s, size_t len, uint8_t out[20])
{
    if (len != 41 || s[0] != '*')
        return false;
    for (int i = 0; i < 20; i++) {
        int hi = hexval((unsigned char)s[1 + 2 * i]), lo = hexval((unsigned char)s[2 + 2 * i]);
        if (hi < 0 || lo < 0)
            return false;
        out[i] = (uint8_t)(hi << 4 | lo);
    }
    return true;
}

static int add_line(accounts *a, const char *line, size_t len, sbuf *err)
{
    size_t i = 0;
    while (i < len && isspace((unsigned char)line[i]))
        i++;
    if (i == len || line[i] == '#')
        return 0;
    size_t name = i;
    while (i < len && !isspace((unsigned char)line[i]))
        i++;
    size_t name_len = i - name;
    while (i < len && isspace((unsigned char)line[i]))
        i++;
    size_t hash = i;
    while (i < len && !isspace((unsigned char)line[i]))
        i++;
    size_t hash_len = i - hash;
    while (i < len && isspace((unsigned char)line[i]))
        i++;
    if (hash_len == 0) {
        sbuf_adds(err, "an account needs a password hash after its name "
                       "(\"name *HASH\", the hash as SELECT PASSWORD('...') prints it)");
        return -1;
    }
    if (i != len) {
        sbuf_adds(err, "expected two fields, \"name *HASH\"; found more");
        return -1;
    }
    if (name_len > 128 || !utf8_valid(line + name, name_len)) {
        sbuf_adds(err, "the account name is longer than 128 bytes or not UTF-8");
        return -1;
    }
    account acc;
    if (!parse_hash(line + hash, hash_len, acc.stage2)) {
        sbuf_adds(err, "the hash must be \"*\" and 40 hex digits, as SELECT PASSWORD('...') prints it "
                       "(only mysql_native_password hashes can be checked by the router)");
        return -1;
    }
    bool inserted;
    size_t *slot = keymap_put(a->names, line + name, name_len, &inserted);
    if (!inserted) {
        sbuf_adds(err, "the account is listed twice: ");
        sbuf_add_printable(err, line + name, name_len, 128);
        return -1;
    }
    if (a->n == a->cap) {
        a->cap = a->cap ? 2 * a->cap : 16;
        a->list = xrealloc(a->list, a->cap * sizeof *a->list);
    }
    *slot = a->n;
    a->list[a->n++] = acc;
    secure_zero(&acc, sizeof acc);
    return 0;
}

accounts *accounts_parse(const char *text, size_t len, const char *origin, sbuf *err)
{
    accounts *a = xcalloc(1, sizeof *a);
    a->names = keymap_new();
    size_t lineno = 0;
    for (size_t at = 0; at < len;) {
        const char *nl = memchr(text + at, '\n', len - at);
        size_t end = nl ? (size_t)(nl - text) : len, l = end - at;
        if (l && text[at + l - 1] == '\r')
            l--;
        lineno++;
        sbuf why = SBUF_INIT;
        if (add_line(a, text + at, l, &why) != 0) {
            sbuf_setf(err, "%s:%zu: %s", origin, lineno, why.buf);
            sbuf_free(&why);
            accounts_free(a);
            return NULL;
        }
        at = nl ? end + 1 : len;
    }
    return a;
}

void accounts_free(accounts *a)
{
    if (!a)
        return;
    if (a->list)
        secure_zero(a->list, a->cap * sizeof *a->list);
    free(a->list);
    keymap_free(a->names);
    free(a);
}

size_t accounts_count(const accounts *a)
{
    return a ? a->n : 0;
}

bool accounts_find(const accounts *a, const char *user, size_t len, uint8_t stage2[20])
{
    size_t *i = a ? keymap_get(a->names, user, len) : NULL;
    if (!i)
        return false;
    memcpy(stage2, a->list[*i].stage2, 20);
    return true;
}
