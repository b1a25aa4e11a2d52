/* service_workflow: CreateImport, GetWorkflow, ListWorkflows,
 * PauseWorkflow, ResumeWorkflow.
 *
 * Pause and resume are carried out by the workflow's own thread (commands
 * on one workflow are serialized there); the reply is sent when it has
 * acted, with FAILED_PRECONDITION naming the state when the command does
 * not apply. */
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include "lib/log.h"
#include "rpc/service_internal.h"
#include "workflow/workflows.h"

static void reply_workflow(service *s, rpc_call *call, import_wf *wf)
{
    pb_workflow_holder h;
    pbconv_workflow(wf, &s->agent->cfg->source, &h);
    rpc_call_reply(call, &h.msg.base);
    pbconv_workflow_release(&h);
}

static int import_def_from(const service *s, const Tabletagent__V1__CreateImportRequest *r, import_def *d, sbuf *err)
{
    memset(d, 0, sizeof *d);
    if (pbconv_name(r->name, "name", err) != 0 || pbconv_endpoint(r->destination, "destination", &s->secrets, &d->dest, err) != 0 ||
        pbconv_filter(r->tables, &d->tables, err) != 0 || pbconv_import_options(r->options, &d->opt, err) != 0)
        return -1;
    struct timeval tv;
    gettimeofday(&tv, NULL);
    d->name = xstrdup(r->name);
    d->sidecar = xstrdup(s->agent->cfg->sidecar_schema);
    d->fence_exempt = xstrdup(s->agent->cfg->fence_exempt);
    d->created_ms = (int64_t)tv.tv_sec * 1000 + tv.tv_usec / 1000;
    return 0;
}

void handle_create_import(rpc_call *call, const ProtobufCMessage *req, void *ctx)
{
    service *s = ctx;
    import_def d;
    sbuf err = SBUF_INIT;
    if (import_def_from(s, (const void *)req, &d, &err) != 0) {
        rpc_call_fail(call, GRPC_STATUS_INVALID_ARGUMENT, "%s", err.buf);
    } else {
        int rc = workflows_create(s->agent->workflows, &d, &err);
        if (rc == WORKFLOWS_EXISTS)
            rpc_call_fail(call, GRPC_STATUS_ALREADY_EXISTS, "%s", err.buf);
        else if (rc != WORKFLOWS_OK)
            rpc_call_fail(call, GRPC_STATUS_INTERNAL, "%s", err.buf);
        else
            reply_workflow(s, call, workflows_get(s->agent->workflows, d.name));
    }
    import_def_clear(&d);
    sbuf_free(&err);
}

void handle_get_workflow(rpc_call *call, const ProtobufCMessage *req, void *ctx)
{
    service *s = ctx;
    const Tabletagent__V1__GetWorkflowRequest *r = (const void *)req;
    import_wf *wf = workflows_get(s->agent->workflows, r->name);
    if (!wf)
        rpc_call_fail(call, GRPC_STATUS_NOT_FOUND, "no workflow named \"%s\"", r->name);
    else
        reply_workflow(s, call, wf);
}

void handle_list_workflows(rpc_call *call, const ProtobufCMessage *req, void *ctx)
{
    service *s = ctx;
    (void)req;
    size_t n = workflows_count(s->agent->workflows);
    pb_workflow_holder *h = xcalloc(n + 1, sizeof *h);
    Tabletagent__V1__Workflow **ptrs = xcalloc(n + 1, sizeof *ptrs);
    for (size_t i = 0; i < n; i++) {
        pbconv_workflow(workflows_at(s->agent->workflows, i), &s->agent->cfg->source, &h[i]);
        ptrs[i] = &h[i].msg;
    }
    Tabletagent__V1__ListWorkflowsResponse resp = TABLETAGENT__V1__LIST_WORKFLOWS_RESPONSE__INIT;
    resp.n_workflows = n;
    resp.workflows = ptrs;
    rpc_call_reply(call, &resp.base);
    for (size_t i = 0; i < n; i++)
        pbconv_workflow_release(&h[i]);
    free(h);
    free(ptrs);
}

typedef struct pending_reply {
    service *s;
    rpc_call *call;
    bool primary_is_dest;
} pending_reply;

static void command_done(import_wf *wf, const wf_cmd_result *res, void *data)
{
    pending_reply *p = data;
    if (res->code)
        rpc_call_fail(p->call, (grpc_status_code)res->code, "%s", res->message);
    else
        reply_workflow(p->s, p->call, wf);
    free(p);
}

static import_wf *find_or_fail(service *s, rpc_call *call, const char *name)
{
    import_wf *wf = workflows_get(s->agent->workflows, name);
    if (!wf)
        rpc_call_fail(call, GRPC_STATUS_NOT_FOUND, "no workflow named \"%s\"", name);
    return wf;
}

static void workflow_command(service *s, rpc_call *call, const char *name, wf_cmd_kind kind, db_endpoint *dest)
{
    import_wf *wf = find_or_fail(s, call, name);
    if (!wf) {
        db_endpoint_free(dest);
        return;
    }
    pending_reply *p = xcalloc(1, sizeof *p);
    *p = (pending_reply){s, call, false};
    import_command_with(wf, kind, NULL, dest, command_done, p);
}

void handle_pause_workflow(rpc_call *call, const ProtobufCMessage *req, void *ctx)
{
    const Tabletagent__V1__WorkflowCommandRequest *r = (const void *)req;
    workflow_command(ctx, call, r->name, WF_CMD_PAUSE, NULL);
}

void handle_resume_workflow(rpc_call *call, const ProtobufCMessage *req, void *ctx)
{
    const Tabletagent__V1__WorkflowCommandRequest *r = (const void *)req;
    db_endpoint *dest = NULL;
    if (r->destination && (*r->destination->host || *r->destination->socket)) {
        sbuf err = SBUF_INIT;
        dest = xcalloc(1, sizeof *dest);
        if (pbconv_endpoint(r->destination, "destination", &((service *)ctx)->secrets, dest, &err) != 0) {
            rpc_call_fail(call, GRPC_STATUS_INVALID_ARGUMENT, "%s", err.buf);
            db_endpoint_free(dest);
            sbuf_free(&err);
            return;
        }
        sbuf_free(&err);
    }
    workflow_command(ctx, call, r->name, WF_CMD_RESUME, dest);
}

/* ---- cutover ----------------------------------------------------------------------------- */

static void cutover_done(import_wf *wf, const wf_cmd_result *res, void *data)
{
    pending_reply *p = data;
    if (res->code) {
        rpc_call_fail(p->call, (grpc_status_code)res->code, "%s", res->message);
        free(p);
        return;
    }
    const cutover_report *r = &res->report;
    Tabletagent__V1__CutoverResponse resp = TABLETAGENT__V1__CUTOVER_RESPONSE__INIT;
    Tabletagent__V1__Position src, dst;
    Tabletagent__V1__CutoverStep steps[CUTOVER_MAX_STEPS], *ptrs[CUTOVER_MAX_STEPS];
    pb_workflow_holder h;
    pbconv_workflow(wf, &p->s->agent->cfg->source, &h);
    pbconv_position_out(&src, &r->source);
    pbconv_position_out(&dst, &r->dest);
    for (size_t i = 0; i < r->nsteps; i++) {
        tabletagent__v1__cutover_step__init(&steps[i]);
        steps[i].name = (char *)r->steps[i].name;
        steps[i].duration_ms = r->steps[i].ms;
        steps[i].ok = r->steps[i].ok;
        ptrs[i] = &steps[i];
    }
    resp.workflow = &h.msg;
    resp.source_position = &src;
    resp.destination_position = &dst;
    resp.n_steps = r->nsteps;
    resp.steps = ptrs;
    resp.total_ms = r->total_ms;
    resp.fenced_accounts = r->fenced_accounts ? r->fenced_accounts : "";
    rpc_call_reply(p->call, &resp.base);
    pbconv_workflow_release(&h);
    free(p);
}

static bool cutover_in_flight(import_wf *wf)
{
    wf_state st = import_state(wf);
    return st == WF_SWITCHING || st == WF_REVERSING;
}

static void cutover_command(service *s, rpc_call *call, const Tabletagent__V1__CutoverRequest *r, wf_cmd_kind kind)
{
    import_wf *wf = find_or_fail(s, call, r->name);
    if (!wf)
        return;
    if (cutover_in_flight(wf)) {
        rpc_call_fail(call, GRPC_STATUS_FAILED_PRECONDITION, "workflow %s is %s; wait for it to finish", r->name,
                      wf_state_name(import_state(wf)));
        return;
    }
    if (r->max_lag_seconds < 0 || r->timeout_ms > 3600000) {
        rpc_call_fail(call, GRPC_STATUS_INVALID_ARGUMENT, "max_lag_seconds must be >= 0 and timeout_ms at most 3600000");
        return;
    }
    wf_cmd_args args = {.timeout_ms = r->timeout_ms, .max_lag_s = r->max_lag_seconds};
    pending_reply *p = xcalloc(1, sizeof *p);
    *p = (pending_reply){s, call, false};
    import_command_with(wf, kind, &args, NULL, cutover_done, p);
}

void handle_switch_traffic(rpc_call *call, const ProtobufCMessage *req, void *ctx)
{
    cutover_command(ctx, call, (const void *)req, WF_CMD_SWITCH);
}

void handle_reverse_traffic(rpc_call *call, const ProtobufCMessage *req, void *ctx)
{
    cutover_command(ctx, call, (const void *)req, WF_CMD_REVERSE);
}

static void detach_done(import_wf *wf, const wf_cmd_result *res, void *data)
{
    pending_reply *p = data;
    if (res->code) {
        rpc_call_fail(p->call, (grpc_status_code)res->code, "%s", res->message);
        free(p);
        return;
    }
    Tabletagent__V1__DetachResponse resp = TABLETAGENT__V1__DETACH_RESPONSE__INIT;
    char *name = xstrdup(import_get_def(wf)->name);
    resp.name = name;
    resp.primary = p->primary_is_dest ? TABLETAGENT__V1__SIDE__SIDE_DESTINATION : TABLETAGENT__V1__SIDE__SIDE_SOURCE;
    resp.message = res->message;
    rpc_call_reply(p->call, &resp.base);
    workflows_forget(p->s->agent->workflows, wf);
    free(name);
    free(p);
}

void handle_detach(rpc_call *call, const ProtobufCMessage *req, void *ctx)
{
    service *s = ctx;
    const Tabletagent__V1__DetachRequest *r = (const void *)req;
    import_wf *wf = find_or_fail(s, call, r->name);
    if (!wf)
        return;
    if (r->primary != TABLETAGENT__V1__SIDE__SIDE_SOURCE && r->primary != TABLETAGENT__V1__SIDE__SIDE_DESTINATION) {
        rpc_call_fail(call, GRPC_STATUS_INVALID_ARGUMENT, "primary must be SIDE_SOURCE or SIDE_DESTINATION");
        return;
    }
    if (cutover_in_flight(wf)) {
        rpc_call_fail(call, GRPC_STATUS_FAILED_PRECONDITION, "workflow %s is %s; a detach waits for it to finish",
                      r->name, wf_state_name(import_state(wf)));
        return;
    }
    wf_cmd_args args = {.primary_is_dest = r->primary == TABLETAGENT__V1__SIDE__SIDE_DESTINATION};
    pending_reply *p = xcalloc(1, sizeof *p);
    *p = (pending_reply){s, call, args.primary_is_dest};
    import_command_with(wf, WF_CMD_DETACH, &args, NULL, detach_done, p);
}
