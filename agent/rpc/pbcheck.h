/* pbcheck: the strings and enums of protobuf messages, checked at the
 * API's edge, both ways.
 *
 * Incoming: protobuf-c unpacks a string field into a NUL-terminated C
 * string without looking at it, and an enum field into an int whatever its
 * value, so "wf\0evil" would reach a handler as "wf", bytes that are not
 * UTF-8 would reach logs and replies, and DDL policy 7 a switch that never
 * heard of it. pbcheck_request refuses such a request from its wire bytes.
 *
 * Outgoing: every proto3 string must be UTF-8, or strict clients (Go, Java)
 * reject the whole message. pbcheck_reply makes sure of it.
 *
 * Pure functions of their arguments (no gRPC), so they can be unit-tested
 * and fuzzed. */
#ifndef PBCHECK_H
#define PBCHECK_H

#include <protobuf-c/protobuf-c.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/sbuf.h"

/* 0 when, in the len bytes at buf (a message of type d), every string field,
 * nested and repeated, is valid UTF-8 without a NUL byte and every enum
 * field holds a value d knows. Else -1 and *err names the field, as in
 * "destination.user contains a NUL byte (byte 3 of 5); ..." or "options.ddl:
 * unknown value 7 (use DDL_STOP, DDL_EXEC or DDL_IGNORE)". Bytes that are
 * not the wire format fail too, and never make it read outside buf. */
int pbcheck_request(const ProtobufCMessageDescriptor *d, const uint8_t *buf, size_t len, sbuf *err);

/* What to pack in place of m. Normally m itself, found by one read-only
 * walk (*copy is set to NULL). When a string field somewhere in m is not
 * valid UTF-8, a copy of m in which such bytes are escaped as \xNN; *copy
 * owns it and the caller frees it with protobuf_c_message_free_unpacked(
 * *copy, NULL). m is never changed: replies point into live agent state.
 * If no copy can be made (out of memory), m itself is returned. */
const ProtobufCMessage *pbcheck_reply(const ProtobufCMessage *m, ProtobufCMessage **copy);

#endif
