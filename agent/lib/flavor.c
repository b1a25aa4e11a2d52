/* flavor: MariaDB or MySQL. See flavor.h. */
#include "lib/flavor.h"

#include <string.h>

server_flavor flavor_of_version(const char *version)
{
    if (!version || !*version)
        return FLAVOR_UNKNOWN;
    return strstr(version, "MariaDB") ? FLAVOR_MARIADB : FLAVOR_MYSQL;
}

const char *flavor_name(server_flavor f)
{
    return f == FLAVOR_MARIADB ? "MariaDB" : f == FLAVOR_MYSQL ? "MySQL" : "unknown server";
}
