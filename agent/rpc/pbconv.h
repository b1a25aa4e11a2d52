/* pbconv: protobuf messages <-> the agent's own types.
 *
 * Requests are validated here, on the way in, so the layers below only see
 * well-formed values; each failure names the field. Status messages on the
 * way out point into a holder that owns their strings until they are sent. */
#ifndef PBCONV_H
#define PBCONV_H

#include "db/db.h"
#include "lib/sbuf.h"
#include "tabletagent/v1/tabletagent.pb-c.h"
#include "vrepl/stream.h"
#include "workflow/import.h"

typedef Tabletagent__V1__Endpoint pb_Endpoint;
typedef Tabletagent__V1__Position pb_Position;
typedef Tabletagent__V1__TableFilter pb_TableFilter;
typedef Tabletagent__V1__StreamStatus pb_StreamStatus;
typedef Tabletagent__V1__Error pb_Error;

/* field: the request field's name, for messages ("target"). A password
 * reference must pass the agent's policy (secret_policy). */
int pbconv_endpoint(const pb_Endpoint *in, const char *field, const secret_policy *policy, db_endpoint *out,
                    sbuf *err);
int pbconv_filter(const pb_TableFilter *in, table_filter *out, sbuf *err);
int pbconv_position(const pb_Position *in, const char *field, bool mariadb, vpos *out, sbuf *err);
/* The reverse: out points into v, which must outlive it. */
void pbconv_position_out(pb_Position *out, const vpos *v);
int pbconv_name(const char *name, const char *field, sbuf *err);
ddl_policy pbconv_ddl(Tabletagent__V1__DdlPolicy p);
Tabletagent__V1__DdlPolicy pbconv_ddl_pb(ddl_policy p);

/* A StreamStatus message and the memory its fields point into. */
typedef struct pb_stream_holder {
    pb_StreamStatus msg;
    pb_Error error;
    pb_Position applied, stop_at;
    stream_status st;
    sbuf source, target;
} pb_stream_holder;

void pbconv_stream_status(stream *s, pb_stream_holder *h);
/* From a status snapshot (taken over by the holder) and the config that
 * describes the stream. */
void pbconv_stream_fill(pb_stream_holder *h, const stream_config *cfg, stream_status *st);
void pbconv_stream_release(pb_stream_holder *h);

int pbconv_import_options(const Tabletagent__V1__ImportOptions *in, import_options *out, sbuf *err);

/* A Workflow message and the memory its fields point into. */
typedef struct pb_workflow_holder {
    Tabletagent__V1__Workflow msg;
    Tabletagent__V1__Error error;
    Tabletagent__V1__Position position;
    Tabletagent__V1__ImportOptions options;
    Tabletagent__V1__TableProgress *tables;
    Tabletagent__V1__TableProgress **table_ptrs;
    pb_stream_holder stream;
    bool has_stream;
    wf_status st;
    sbuf destination;
} pb_workflow_holder;

void pbconv_workflow(import_wf *wf, const db_endpoint *source, pb_workflow_holder *h);
void pbconv_workflow_release(pb_workflow_holder *h);

#endif
