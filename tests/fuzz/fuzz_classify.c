/* libFuzzer target: arbitrary bytes into the router's statement classifier.
 *
 * The input is the statement text itself (any bytes, not NUL-terminated:
 * libFuzzer's buffer is exactly the input, so ASan sees a read past it).
 * Beyond "no crash, no over-read, no undefined behaviour", every answer
 * must keep the promises of classify.h, and blanks around the text must
 * not change it (a space before, a newline after). A broken promise
 * aborts with the input saved as build/fuzz/crash-classify-*.
 *
 * Build and run (the Makefile's fuzz-smoke and fuzz-classify targets):
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
 *     -Iagent agent/router/classify.c tests/fuzz/fuzz_classify.c -o build/fuzz/fuzz_classify
 *   build/fuzz/fuzz_classify -max_len=4096 -dict=tests/fuzz/classify.dict -max_total_time=15 \
 *     -artifact_prefix=build/fuzz/crash-classify- build/fuzz/corpus-classify tests/fuzz/corpus/classify
 * The seeds in tests/fuzz/corpus/classify are statements of each family
 * the classifier tells apart; the dictionary holds its keywords. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "router/classify.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fuzz_check(int ok, const char *what)
{
    if (!ok) {
        fprintf(stderr, "classify: %s\n", what);
        abort();
    }
}

static void fuzz_invariants(const classify_result *r)
{
    const unsigned all = CLASSIFY_PIN | CLASSIFY_SESSION_SET | CLASSIFY_USE | CLASSIFY_MULTI |
                         CLASSIFY_LOCAL_INFILE | CLASSIFY_AUTOCOMMIT | CLASSIFY_TXN_BEGIN | CLASSIFY_TXN_END |
                         CLASSIFY_UNLOCK;
    unsigned excl = r->flags & (CLASSIFY_PIN | CLASSIFY_SESSION_SET | CLASSIFY_USE | CLASSIFY_AUTOCOMMIT);
    fuzz_check(r->route == CLASSIFY_ROUTE_READ || r->route == CLASSIFY_ROUTE_WRITE ||
                   r->route == CLASSIFY_ROUTE_LAST,
               "route out of range");
    fuzz_check(r->kind >= CLASSIFY_KIND_SELECT && r->kind <= CLASSIFY_KIND_OTHER, "kind out of range");
    fuzz_check((r->flags & ~all) == 0, "unknown flag");
    fuzz_check(r->route == CLASSIFY_ROUTE_WRITE || r->flags == 0, "a read or last route with flags");
    fuzz_check((excl & (excl - 1)) == 0, "PIN, SESSION_SET, USE, AUTOCOMMIT together");
    fuzz_check(!(r->flags & CLASSIFY_MULTI) || r->route == CLASSIFY_ROUTE_WRITE, "MULTI not on the write side");
    fuzz_check(memchr(r->key, '\0', sizeof r->key) != NULL, "key not terminated");
    fuzz_check(memchr(r->name, '\0', sizeof r->name) != NULL, "name not terminated");
    fuzz_check((r->flags & CLASSIFY_SESSION_SET) || r->key[0] == '\0', "key without SESSION_SET");
    fuzz_check((r->flags & CLASSIFY_USE) ? r->name[0] != '\0' : r->name[0] == '\0', "name and USE disagree");
    fuzz_check((r->flags & CLASSIFY_AUTOCOMMIT) ? (r->autocommit == 0 || r->autocommit == 1) : r->autocommit == 0,
               "autocommit value");
}

static int fuzz_same(const classify_result *a, const classify_result *b)
{
    return a->route == b->route && a->kind == b->kind && a->flags == b->flags && a->autocommit == b->autocommit &&
           strcmp(a->key, b->key) == 0 && strcmp(a->name, b->name) == 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    classify_result r, padded;
    classify_statement((const char *)data, size, &r);
    fuzz_invariants(&r);

    char *copy = malloc(size + 2);
    copy[0] = ' ';
    if (size)
        memcpy(copy + 1, data, size);
    copy[size + 1] = '\n';
    classify_statement(copy, size + 2, &padded);
    free(copy);
    fuzz_check(fuzz_same(&r, &padded), "blanks around the text changed the answer");
    return 0;
}
