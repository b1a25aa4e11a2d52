/* service_vdiff: VDiff and GetVDiff.
 *
 * VDiff queues the start on the workflow's thread (it has to pause the
 * workflow's stream to fix the synchronised point) and replies with the
 * report once the comparison runs; GetVDiff reads the report as it stands. */
#include <stdlib.h>

#include "rpc/service_internal.h"
#include "workflow/workflows.h"

typedef struct vdiff_holder {
    Tabletagent__V1__VDiffReport msg;
    Tabletagent__V1__Position pos;
    Tabletagent__V1__VDiffTable total;
    Tabletagent__V1__VDiffTable *tables;
    Tabletagent__V1__VDiffTable **ptrs;
    wf_vdiff_report r;
} vdiff_holder;

static void table_pb(Tabletagent__V1__VDiffTable *t, const char *schema, const char *name, const vdiff_result *r)
{
    tabletagent__v1__vdiff_table__init(t);
    t->schema = (char *)schema;
    t->name = (char *)name;
    t->done = r->done;
    t->rows_estimated = r->rows_estimated;
    t->rows_compared = r->compared;
    t->matching = r->matching;
    t->mismatched = r->mismatched;
    t->missing_on_destination = r->missing;
    t->extra_on_destination = r->extra;
    t->n_samples = r->nsamples;
    t->samples = (char **)r->samples;
}

static void report_pb(import_wf *wf, vdiff_holder *h)
{
    wf_vdiff_report *r = &h->r;
    import_vdiff_report(wf, r);
    Tabletagent__V1__VDiffReport *m = &h->msg;
    tabletagent__v1__vdiff_report__init(m);
    m->name = (char *)import_get_def(wf)->name;
    m->state = (char *)wf_vdiff_state_name(r->state);
    m->message = r->message;
    pbconv_position_out(&h->pos, &r->at);
    m->position = &h->pos;
    m->writing_side = r->writes_on_dest ? TABLETAGENT__V1__SIDE__SIDE_DESTINATION : TABLETAGENT__V1__SIDE__SIDE_SOURCE;
    h->tables = xcalloc(r->ntables + 1, sizeof *h->tables);
    h->ptrs = xcalloc(r->ntables + 1, sizeof *h->ptrs);
    for (size_t i = 0; i < r->ntables; i++) {
        table_pb(&h->tables[i], r->tables[i].schema, r->tables[i].name, &r->tables[i].r);
        h->ptrs[i] = &h->tables[i];
    }
    m->n_tables = r->ntables;
    m->tables = h->ptrs;
    table_pb(&h->total, "", "", &r->total);
    m->total = &h->total;
    m->rows_per_second = r->rows_per_second;
    m->eta_seconds = r->eta_seconds;
    m->started_unix_ms = r->started_ms;
    m->finished_unix_ms = r->finished_ms;
    m->throttled = r->throttled;
    m->differences = r->total.mismatched + r->total.missing + r->total.extra;
}

static void reply_report(rpc_call *call, import_wf *wf)
{
    vdiff_holder h;
    report_pb(wf, &h);
    rpc_call_reply(call, &h.msg.base);
    free(h.tables);
    free(h.ptrs);
    wf_vdiff_report_clear(&h.r);
}

static void vdiff_started(import_wf *wf, const wf_cmd_result *res, void *data)
{
    rpc_call *call = data;
    if (res->code)
        rpc_call_fail(call, service_status(res->code), "%s", res->message);
    else
        reply_report(call, wf);
}

void handle_vdiff(rpc_call *call, const ProtobufCMessage *req, void *ctx)
{
    service *s = ctx;
    const Tabletagent__V1__VDiffRequest *r = (const void *)req;
    import_wf *wf = service_workflow(s, call, r->name);
    if (!wf)
        return;
    if (r->chunk_rows > 1000000) {
        rpc_call_fail(call, GRPC_STATUS_INVALID_ARGUMENT, "chunk_rows must be at most 1000000 (0: the default 1000)");
        return;
    }
    wf_cmd_args args = {.chunk_rows = r->chunk_rows};
    import_command_with(wf, WF_CMD_VDIFF, &args, NULL, vdiff_started, call);
}

void handle_get_vdiff(rpc_call *call, const ProtobufCMessage *req, void *ctx)
{
    service *s = ctx;
    const Tabletagent__V1__VDiffRequest *r = (const void *)req;
    import_wf *wf = service_workflow(s, call, r->name);
    if (wf)
        reply_report(call, wf);
}
