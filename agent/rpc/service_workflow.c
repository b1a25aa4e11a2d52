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
    if (pbconv_name(r->name, "name", err) != 0 || pbconv_endpoint(r->destination, "destination", &d->dest, err) != 0 ||
        pbconv_filter(r->tables, &d->tables, err) != 0 || pbconv_import_options(r->options, &d->opt, err) != 0)
        return -1;
    struct timeval tv;
    gettimeofday(&tv, NULL);
    d->name = xstrdup(r->name);
    d->sidecar = xstrdup(s->agent->cfg->sidecar_schema);
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
} pending_reply;

static void command_done(import_wf *wf, int code, const char *message, void *data)
{
    pending_reply *p = data;
    if (code)
        rpc_call_fail(p->call, (grpc_status_code)code, "%s", message);
    else
        reply_workflow(p->s, p->call, wf);
    free(p);
}

static void workflow_command(service *s, rpc_call *call, const char *name, wf_cmd_kind kind, db_endpoint *dest)
{
    import_wf *wf = workflows_get(s->agent->workflows, name);
    if (!wf) {
        db_endpoint_free(dest);
        rpc_call_fail(call, GRPC_STATUS_NOT_FOUND, "no workflow named \"%s\"", name);
        return;
    }
    pending_reply *p = xcalloc(1, sizeof *p);
    *p = (pending_reply){s, call};
    import_command_dest(wf, kind, dest, command_done, p);
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
        if (pbconv_endpoint(r->destination, "destination", dest, &err) != 0) {
            rpc_call_fail(call, GRPC_STATUS_INVALID_ARGUMENT, "%s", err.buf);
            db_endpoint_free(dest);
            sbuf_free(&err);
            return;
        }
        sbuf_free(&err);
    }
    workflow_command(ctx, call, r->name, WF_CMD_RESUME, dest);
}
