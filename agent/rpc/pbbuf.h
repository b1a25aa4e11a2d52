/* pbbuf: protobuf-c messages in and out of gRPC byte buffers. Shared by
 * the agent's RPC server and the control-plane CLI's client. */
#ifndef PBBUF_H
#define PBBUF_H

#include <grpc/byte_buffer.h>
#include <protobuf-c/protobuf-c.h>

/* A new byte buffer holding msg packed; the caller destroys it. */
grpc_byte_buffer *pbbuf_pack(const ProtobufCMessage *msg);
/* The message in bb, or NULL if it does not decode as d; free it with
 * protobuf_c_message_free_unpacked. */
ProtobufCMessage *pbbuf_unpack(const ProtobufCMessageDescriptor *d, grpc_byte_buffer *bb);

#endif
