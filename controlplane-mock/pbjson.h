/* pbjson: any protobuf-c message as one line of JSON, for --json output.
 *
 * Field names are the .proto names (snake_case), every field is printed
 * (defaults included, so scripts can rely on keys being present), enums as
 * their names, bytes as base64, 64-bit integers as plain numbers. */
#ifndef PBJSON_H
#define PBJSON_H

#include <protobuf-c/protobuf-c.h>

#include "lib/sbuf.h"

void pbjson_write(const ProtobufCMessage *m, sbuf *out);
void pbjson_add_string(sbuf *out, const char *s, size_t len);

#endif
