/* accounts: who may connect through the router, and how it checks them.
 *
 * The accounts file holds one account per line, a name and the server's
 * own mysql_native_password hash, as `SELECT PASSWORD('pw')` or the
 * account's authentication_string shows it:
 *     # name   hash
 *     app      *2470C0C06DEE42FD1618BB99005ADCA2EC9D1E19
 * The hash is SHA1(SHA1(password)): enough to check a client's login and,
 * from that login, to log in to each backend as the same account, but not
 * the password itself. The router re-reads the file when it changes (a
 * Kubernetes Secret update), so accounts are added and rotated without a
 * restart. An accounts table is immutable once parsed; the router swaps in
 * a new one. */
#ifndef ROUTER_ACCOUNTS_H
#define ROUTER_ACCOUNTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/sbuf.h"

typedef struct accounts accounts;

/* Parse a whole file's text. NULL with err naming the line on a mistake:
 * a file with one bad line is refused whole, so a typo never locks
 * every application out (the router keeps the table it had). */
accounts *accounts_parse(const char *text, size_t len, const char *origin, sbuf *err);
void accounts_free(accounts *a);
size_t accounts_count(const accounts *a);
/* The stored SHA1(SHA1(password)) of user; false when there is no such
 * account. */
bool accounts_find(const accounts *a, const char *user, size_t len, uint8_t stage2[20]);

#endif
