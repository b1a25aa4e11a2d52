/* flavor: which kind of MySQL-compatible server, for every layer.
 *
 * GTID syntax (lib/gtid), binlog event layout (vrepl/decoder), snapshot
 * and fencing methods and SQL dialect all follow the same two answers, so
 * there is one enum for them, not one per module. */
#ifndef FLAVOR_H
#define FLAVOR_H

typedef enum { FLAVOR_UNKNOWN = 0, FLAVOR_MARIADB = 1, FLAVOR_MYSQL = 2 } server_flavor;

/* From a VERSION() string: "10.11.6-MariaDB-log" is MariaDB, anything
 * else that is not empty MySQL. */
server_flavor flavor_of_version(const char *version);
/* "MariaDB", "MySQL" or "unknown server", for messages. */
const char *flavor_name(server_flavor f);

#endif
