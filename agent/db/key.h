/* key: a row's identifying key, encoded as the SQL literals that select
 * it again.
 *
 * An encoded key is a list of literals, each "<len>:<literal>", read on a
 * SET NAMES binary connection: a key saved in the sidecar schema reads the
 * same rows after a restart, whatever the bytes. Columns whose text is not
 * what they store are selected and written so that it round-trips (FLOAT
 * as DOUBLE, BIT as a number, UUID and INET6 with a text introducer). */
#ifndef KEY_H
#define KEY_H

#include <mysql.h>
#include <stdbool.h>
#include <stddef.h>

#include "db/schema.h"
#include "lib/sbuf.h"

void key_append(sbuf *key, const char *literal, size_t len);
/* Split an encoded key into n literals (pointers into key); -1 if malformed. */
int key_split(const char *key, const char **lits, size_t *lens, size_t n);
/* "(42,'abc')" for logs; long values are cut. */
void key_describe(const char *key, size_t nkey, sbuf *out);
/* How a column is selected so its text round-trips through a literal. */
void key_add_column(sbuf *q, const schema_column *c);
/* A value so selected, as its SQL literal (as_text: with an introducer). */
void key_add_literal(sbuf *sb, bool as_text, const MYSQL_FIELD *f, const char *v, unsigned long len);
/* Append a value so selected to an encoded key. */
void key_append_value(sbuf *key, const schema_column *c, const MYSQL_FIELD *f, const char *v, unsigned long len);
/* "(k1 > v1 OR (k1 = v1 AND k2 > v2) ...)", the form MariaDB turns into an
 * index range; with upper, "<=" instead. -1 if the key is malformed. */
int key_bound(sbuf *q, const schema_table *s, const char *key, bool upper);
/* Column kinds whose values need the treatment above. */
bool key_column_is_bit(const schema_column *c);
bool key_column_as_text(const schema_column *c);

#endif
