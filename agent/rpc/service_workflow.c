/* service_workflow: CreateImport, GetWorkflow, ListWorkflows,
 * PauseWorkflow, ResumeWorkflow.
 *
 * CreateImport runs the preflight checks on the thread pool first and
 * creates the workflow only when none FAILs, or the request overrides the
 * failing ones by id: a source writing statement-based binlogs, a MyISAM
 * table or a destination that is the source would otherwise be found only
 * at the first write, or never.
 *
 * Pause and resume are carried out by the workflow's own thread (commands
 * on one workflow are serialized there); the reply is sent when it has
 * acted, with FAILED_PRECONDITION naming the state when the command does
 * not apply. */
#include <stdlib.h>
#include <string.h>

#include "lib/clock.h"
#include "lib/log.h"
#include "preflight/preflight.h"
#include "rpc/service_internal.h"
#include "workflow/workflows.h"

static void reply_workflow(service *s, rpc_call *call, import_wf *wf)
{
    pb_workflow_holder h;
    pbconv_workflow(wf, &s->cfg->source, &h);
    rpc_call_reply(call, &h.msg.base);
    pbconv_workflow_release(&h);
}

static int import_def_from(const service *s, const Tabletagent__V1__CreateImportRequest *r, import_def *d, sbuf *err)
{
    memset(d, 0, sizeof *d);
    if (pbconv_name(r->name, "name", err) != 0 || pbconv_endpoint(r->destination, "destination", &s->secrets, &d->dest, err) != 0 ||
        pbconv_filter(r->tables, &d->tables, err) != 0 || pbconv_import_options(r->options, &d->opt, err) != 0)
        return -1;
    d->name = xstrdup(r->name);
    d->sidecar = xstrdup(s->cfg->sidecar_schema);
    d->fence_exempt = xstrdup(s->cfg->fence_exempt);
    d->created_ms = clock_wall_ms();
    return 0;
}

typedef struct create_job {
    svc_job job;
    import_def def;
    db_endpoint source; /* the job's own copy: run never reads agent state */
    char **overrides;
    size_t noverrides;
    preflight_report report;
    int rc;
} create_job;

static void create_job_free(create_job *j)
{
    import_def_clear(&j->def);
    db_endpoint_clear(&j->source);
    for (size_t i = 0; i < j->noverrides; i++)
        free(j->overrides[i]);
    free(j->overrides);
    preflight_report_clear(&j->report);
    free(j);
}

static bool overridden(const create_job *j, const char *id)
{
    for (size_t i = 0; i < j->noverrides; i++)
        if (strcmp(j->overrides[i], id) == 0)
            return preflight_check_overridable(id);
    return false;
}

static void create_preflight(svc_job *job)
{
    create_job *j = (create_job *)job;
    preflight_input in = {
        .source = &j->source,
        .destination = &j->def.dest,
        .filter = &j->def.tables,
        .sidecar_schema = j->def.sidecar,
        .cancel = &job->cancel,
    };
    j->rc = preflight_run(&in, &j->report);
}

/* The failing checks nobody overrode, for the refusal: ids with the first
 * words of what each found. */
static size_t create_blockers(const create_job *j, sbuf *out)
{
    size_t n = 0;
    for (size_t i = 0; i < j->report.nchecks; i++) {
        const preflight_check *c = &j->report.checks[i];
        if (c->severity != PF_FAIL || overridden(j, c->id))
            continue;
        sbuf_addf(out, "%s%s: ", n++ ? "; " : "", c->id);
        sbuf_add_printable(out, c->message, strlen(c->message), 120);
    }
    return n;
}

static void create_checked(svc_job *job)
{
    create_job *j = (create_job *)job;
    service *s = job->service;
    sbuf msg = SBUF_INIT;
    if (!job->call) {
        create_job_free(j);
        return;
    }
    size_t n = j->rc == 0 && !atomic_load(&job->cancel) ? create_blockers(j, &msg) : 0;
    if (j->rc != 0 || atomic_load(&job->cancel)) {
        rpc_call_fail(job->call, GRPC_STATUS_CANCELLED, "CreateImport was cancelled during its preflight");
    } else if (n) {
        const preflight_check *same = preflight_report_find(&j->report, "destination.distinct");
        rpc_call_fail(job->call, GRPC_STATUS_FAILED_PRECONDITION,
                      "%zu preflight check%s fail%s, so no workflow was created: %s. Fix them (cpctl preflight with the "
                      "same destination and tables shows each remedy)%s",
                      n, n == 1 ? "" : "s", n == 1 ? "s" : "", msg.buf,
                      same && same->severity == PF_FAIL ? "; a destination that is the source cannot be overridden"
                                                        : ", or accept them knowingly with override_checks "
                                                          "(cpctl import --override ID)");
    } else {
        sbuf_reset(&msg);
        wf_err rc = service_name_taken_by_stream(s, j->def.name, &msg) ? WF_EEXISTS
                                                                        : workflows_create(s->workflows, &j->def, &msg);
        if (rc != WF_OK) {
            rpc_call_fail(job->call, service_status(rc), "%s", msg.buf);
        } else {
            for (size_t i = 0; i < j->noverrides; i++)
                log_warn("workflow", "%s: created with preflight check %s overridden", j->def.name, j->overrides[i]);
            reply_workflow(s, job->call, workflows_get(s->workflows, j->def.name));
        }
    }
    sbuf_free(&msg);
    create_job_free(j);
}

void handle_create_import(rpc_call *call, const ProtobufCMessage *req, void *ctx)
{
    service *s = ctx;
    const Tabletagent__V1__CreateImportRequest *r = (const void *)req;
    create_job *j = xcalloc(1, sizeof *j);
    sbuf err = SBUF_INIT;
    grpc_status_code code = GRPC_STATUS_OK;
    if (import_def_from(s, r, &j->def, &err) != 0)
        code = GRPC_STATUS_INVALID_ARGUMENT;
    for (size_t i = 0; !code && i < r->n_override_checks; i++) {
        if (!preflight_check_known(r->override_checks[i])) {
            sbuf_setf(&err, "override_checks[%zu]: no preflight check is named \"%s\" (the ids are those of the "
                            "Preflight report, e.g. schema.engine)", i, r->override_checks[i]);
            code = GRPC_STATUS_INVALID_ARGUMENT;
        } else if (!preflight_check_overridable(r->override_checks[i])) {
            sbuf_setf(&err, "override_checks[%zu]: %s cannot be overridden", i, r->override_checks[i]);
            code = GRPC_STATUS_INVALID_ARGUMENT;
        }
    }
    if (!code && (workflows_get(s->workflows, j->def.name) || service_name_taken_by_stream(s, j->def.name, &err))) {
        if (!err.len)
            sbuf_setf(&err, "a workflow named %s exists already", j->def.name);
        code = GRPC_STATUS_ALREADY_EXISTS;
    }
    if (code) {
        rpc_call_fail(call, code, "%s", err.buf);
        create_job_free(j);
        sbuf_free(&err);
        return;
    }
    sbuf_free(&err);
    j->overrides = xcalloc(r->n_override_checks + 1, sizeof *j->overrides);
    for (size_t i = 0; i < r->n_override_checks; i++)
        j->overrides[j->noverrides++] = xstrdup(r->override_checks[i]);
    db_endpoint *src = db_endpoint_dup(&s->cfg->source);
    j->source = *src;
    free(src);
    j->source.read_timeout_s = 60;
    svc_job_start(s, call, &j->job, "CreateImport", create_preflight, create_checked);
}

void handle_get_workflow(rpc_call *call, const ProtobufCMessage *req, void *ctx)
{
    service *s = ctx;
    const Tabletagent__V1__GetWorkflowRequest *r = (const void *)req;
    import_wf *wf = service_workflow(s, call, r->name);
    if (wf)
        reply_workflow(s, call, wf);
}

void handle_list_workflows(rpc_call *call, const ProtobufCMessage *req, void *ctx)
{
    service *s = ctx;
    (void)req;
    size_t n = workflows_count(s->workflows);
    pb_workflow_holder *h = xcalloc(n + 1, sizeof *h);
    Tabletagent__V1__Workflow **ptrs = xcalloc(n + 1, sizeof *ptrs);
    for (size_t i = 0; i < n; i++) {
        pbconv_workflow(workflows_at(s->workflows, i), &s->cfg->source, &h[i]);
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

static void command_done(import_wf *wf, const wf_cmd_result *res, void *data)
{
    pending_reply *p = data;
    if (res->code)
        rpc_call_fail(p->call, service_status(res->code), "%s", res->message);
    else
        reply_workflow(p->s, p->call, wf);
    free(p);
}

static void workflow_command(service *s, rpc_call *call, const char *name, wf_cmd_kind kind, db_endpoint *dest)
{
    import_wf *wf = service_workflow(s, call, name);
    if (!wf) {
        db_endpoint_free(dest);
        return;
    }
    pending_reply *p = xcalloc(1, sizeof *p);
    *p = (pending_reply){s, call};
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
    const Tabletagent__V1__Endpoint *d = r->destination;
    if (d && (*d->host || *d->socket || *d->user || d->port || *d->password_file || *d->password_env || *d->password ||
              d->tls)) {
        /* Part of an endpoint would be silently ignored or, worse, taken
         * with defaults (port 3306): the whole one, as at import. */
        sbuf err = SBUF_INIT;
        dest = xcalloc(1, sizeof *dest);
        if (pbconv_endpoint(r->destination, "destination", &((service *)ctx)->secrets, dest, &err) != 0) {
            rpc_call_fail(call, GRPC_STATUS_INVALID_ARGUMENT,
                          "resuming with new destination credentials takes the whole endpoint, as at import: %s",
                          err.buf);
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
        rpc_call_fail(p->call, service_status(res->code), "%s", res->message);
        free(p);
        return;
    }
    const cutover_report *r = &res->report;
    Tabletagent__V1__CutoverResponse resp = TABLETAGENT__V1__CUTOVER_RESPONSE__INIT;
    Tabletagent__V1__Position src, dst;
    Tabletagent__V1__CutoverStep steps[CUTOVER_MAX_STEPS], *ptrs[CUTOVER_MAX_STEPS];
    pb_workflow_holder h;
    pbconv_workflow(wf, &p->s->cfg->source, &h);
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
    import_wf *wf = service_workflow(s, call, r->name);
    if (!wf)
        return;
    if (cutover_in_flight(wf)) {
        rpc_call_fail(call, GRPC_STATUS_FAILED_PRECONDITION, "workflow %s is %s; wait for it to finish", r->name,
                      wf_state_name(import_state(wf)));
        return;
    }
    if (!(r->max_lag_seconds >= 0 && r->max_lag_seconds <= 86400)) { /* NaN fails both */
        rpc_call_fail(call, GRPC_STATUS_INVALID_ARGUMENT, "max_lag_seconds must be a number from 0 to 86400 "
                      "(0: the default 10)");
        return;
    }
    if (r->timeout_ms && (r->timeout_ms < CUTOVER_MIN_TIMEOUT_MS || r->timeout_ms > 3600000)) {
        rpc_call_fail(call, GRPC_STATUS_INVALID_ARGUMENT, "timeout_ms %u is outside %u to 3600000: a switch needs at "
                      "least %u ms to fence, catch up and commit (0: the default 30000)", r->timeout_ms,
                      CUTOVER_MIN_TIMEOUT_MS, CUTOVER_MIN_TIMEOUT_MS);
        return;
    }
    wf_cmd_args args = {.timeout_ms = r->timeout_ms, .max_lag_s = r->max_lag_seconds};
    pending_reply *p = xcalloc(1, sizeof *p);
    *p = (pending_reply){s, call};
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

static Tabletagent__V1__Side side_pb(wf_side s)
{
    return s == WF_SIDE_SOURCE ? TABLETAGENT__V1__SIDE__SIDE_SOURCE
           : s == WF_SIDE_DEST ? TABLETAGENT__V1__SIDE__SIDE_DESTINATION
                               : TABLETAGENT__V1__SIDE__SIDE_UNSPECIFIED;
}

static void detach_done(import_wf *wf, const wf_cmd_result *res, void *data)
{
    pending_reply *p = data;
    if (res->code) {
        rpc_call_fail(p->call, service_status(res->code), "%s", res->message);
        free(p);
        return;
    }
    Tabletagent__V1__DetachResponse resp = TABLETAGENT__V1__DETACH_RESPONSE__INIT;
    char *name = xstrdup(import_get_def(wf)->name);
    resp.name = name;
    resp.primary = side_pb(res->primary);
    resp.message = res->message;
    rpc_call_reply(p->call, &resp.base);
    workflows_forget(p->s->workflows, wf);
    free(name);
    free(p);
}

void handle_detach(rpc_call *call, const ProtobufCMessage *req, void *ctx)
{
    service *s = ctx;
    const Tabletagent__V1__DetachRequest *r = (const void *)req;
    import_wf *wf = service_workflow(s, call, r->name);
    if (!wf)
        return;
    if (cutover_in_flight(wf)) {
        rpc_call_fail(call, GRPC_STATUS_FAILED_PRECONDITION, "workflow %s is %s; a detach waits for it to finish",
                      r->name, wf_state_name(import_state(wf)));
        return;
    }
    wf_cmd_args args = {
        .primary = r->primary == TABLETAGENT__V1__SIDE__SIDE_SOURCE        ? WF_SIDE_SOURCE
                   : r->primary == TABLETAGENT__V1__SIDE__SIDE_DESTINATION ? WF_SIDE_DEST
                                                                            : WF_SIDE_ANY,
        .force = r->force,
    };
    pending_reply *p = xcalloc(1, sizeof *p);
    *p = (pending_reply){s, call};
    import_command_with(wf, WF_CMD_DETACH, &args, NULL, detach_done, p);
}
