/* gtid: replication positions of MariaDB and MySQL as comparable sets.
 *
 * A gtid_set holds either flavour, fixed at creation:
 *
 *   MariaDB  a GTID list such as @@gtid_binlog_pos, "0-1-100,1-2-7": one
 *            domain-server-sequence entry per domain, the last transaction
 *            applied in that domain.
 *   MySQL    a GTID set such as @@gtid_executed,
 *            "uuid:1-5:7,uuid2:1-3:mytag:1-9": the transactions executed, as
 *            intervals per server uuid and (MySQL 8.4) per tag.
 *
 * Parsing accepts what the servers print and read alike, so a text that
 * parses can be handed to the server as it is: any case; in a MySQL set,
 * blanks and newlines around commas (@@gtid_executed has them) but no
 * leading zeros (MySQL reads 010 as octal); in a MariaDB list, blanks only
 * before an entry (MariaDB refuses one after a number). gtid_set_format()
 * writes one canonical text, so two sets are equal exactly when their
 * canonical texts are. Sets of different
 * flavours are never equal and never contain one another.
 *
 * Errors: functions that can fail return 0 or -1 and put a message in *err,
 * which must not be NULL. Positions in messages count characters of the
 * parsed text from 1. */
#ifndef GTID_H
#define GTID_H

#include <stdbool.h>
#include <stdint.h>

#include "lib/flavor.h"
#include "lib/sbuf.h"


typedef struct gtid_set gtid_set;

/* MySQL stores a GNO as a signed 64-bit number and reserves INT64_MAX as
 * the end marker, so this is the largest transaction number it accepts. */
#define GTID_MYSQL_GNO_MAX ((uint64_t)INT64_MAX - 1)
#define GTID_TAG_MAX 32

gtid_set *gtid_set_new(server_flavor flavor);
void gtid_set_free(gtid_set *s);
gtid_set *gtid_set_dup(const gtid_set *s);
server_flavor gtid_set_flavor(const gtid_set *s);

/* On error *out is set to NULL. An empty text is the empty set, and so is
 * an all-blank MySQL one. */
int gtid_set_parse(server_flavor flavor, const char *text, gtid_set **out, sbuf *err);
/* Appends the canonical text ("" for the empty set) to out. */
void gtid_set_format(const gtid_set *s, sbuf *out);

bool gtid_set_is_empty(const gtid_set *s);
bool gtid_set_equal(const gtid_set *a, const gtid_set *b);
/* a includes b. MariaDB: every domain of b is in a with a sequence at least
 * as high (server ids are ignored, as in MariaDB strict mode). */
bool gtid_set_contains(const gtid_set *a, const gtid_set *b);
/* a |= b. MariaDB: per domain the higher sequence wins, a's entry on ties.
 * Fails, leaving a unchanged, if the flavours differ. */
int gtid_set_union(gtid_set *a, const gtid_set *b, sbuf *err);

/* Record one transaction. For MariaDB the entry of the domain is replaced
 * even by a lower sequence: see gtid.c. Fails on a set of the other flavour. */
int gtid_set_add_mariadb(gtid_set *s, uint32_t domain, uint32_t server, uint64_t seq, sbuf *err);
/* tag NULL or "" is untagged; a tag is matched case-insensitively. Fails on
 * an invalid tag or a gno outside 1..GTID_MYSQL_GNO_MAX. */
int gtid_set_add_mysql(gtid_set *s, const uint8_t uuid[16], const char *tag, uint64_t gno,
                       sbuf *err);

/* MariaDB only: the sequence recorded for domain, 0 if none. */
uint64_t gtid_set_mariadb_seq(const gtid_set *s, uint32_t domain);

#endif
