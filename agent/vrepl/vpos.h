/* vpos: a replication position, the one type every stage and workflow
 * passes around: where a stream has applied to, where a snapshot reads,
 * where a switch fenced the source.
 *
 * A position is a GTID set in the source flavour's text form and, always,
 * the binlog coordinate (file, offset) that every flavour has. */
#ifndef VPOS_H
#define VPOS_H

#include <stdbool.h>
#include <stdint.h>

#include "lib/flavor.h"

typedef struct vpos {
    char *gtid; /* flavour text form; "" when only file/offset are known */
    char *file;
    uint64_t offset;
} vpos;

void vpos_set(vpos *p, const char *gtid, const char *file, uint64_t offset);
void vpos_clear(vpos *p);
/* Compare binlog coordinates: <0, 0, >0. File names compare by their
 * numeric suffix, so .999999 < .1000000. */
int vpos_cmp_file(const char *fa, uint64_t oa, const char *fb, uint64_t ob);
/* Has applied reached want: its GTID set contains want's, or (without a
 * GTID) its coordinate is at or past want's? */
bool vpos_reached(server_flavor flavor, const vpos *applied, const vpos *want);

#endif
