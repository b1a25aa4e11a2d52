/* service_preflight: the Preflight RPC.
 *
 * The request is validated on the loop (INVALID_ARGUMENT naming the field),
 * then preflight_run, which blocks on both servers for up to several
 * seconds, runs on the libuv thread pool with its own copies of everything
 * it reads: the job owns the endpoints, the filter and the sidecar name, so
 * it never touches agent state from the worker, and it may outlive the
 * agent's RPC server during shutdown. The loop-side completion converts the
 * plain report to a PreflightReport and replies.
 *
 * The call is ended exactly once (svc_job): by the completion, or earlier
 * when the client goes away (deadline, disconnect, shutdown); preflight
 * then stops between checks. */
#include <stdlib.h>
#include <string.h>

#include "lib/log.h"
#include "preflight/preflight.h"
#include "rpc/service_internal.h"

/* Ten years: anything longer is a typo, not a retention need. */
#define PREFLIGHT_MAX_RETENTION_HOURS 87600u

typedef struct preflight_job {
    svc_job job;
    db_endpoint source;
    db_endpoint destination;
    bool has_destination;
    table_filter filter;
    char *sidecar;
    unsigned retention_hours;
    preflight_report report;
    int rc;
} preflight_job;

static void preflight_job_free(preflight_job *j)
{
    db_endpoint_clear(&j->source);
    db_endpoint_clear(&j->destination);
    table_filter_clear(&j->filter);
    free(j->sidecar);
    preflight_report_clear(&j->report);
    free(j);
}

/* A destination counts as given when any of its fields is set; then it
 * must be complete (a host or socket, a user). */
static bool preflight_endpoint_given(const pb_Endpoint *e)
{
    return e && ((e->host && *e->host) || (e->socket && *e->socket) || (e->user && *e->user) ||
                 (e->password_file && *e->password_file) || (e->password_env && *e->password_env) ||
                 (e->password && *e->password) || e->port || e->tls);
}

static int preflight_job_from(const service *s, const Tabletagent__V1__PreflightRequest *r, preflight_job *j,
                              sbuf *err)
{
    const service *a = s;
    if (r->retention_hours > PREFLIGHT_MAX_RETENTION_HOURS) {
        sbuf_setf(err, "retention_hours %u is more than ten years (%u)", r->retention_hours,
                  PREFLIGHT_MAX_RETENTION_HOURS);
        return -1;
    }
    if (preflight_endpoint_given(r->destination)) {
        if (pbconv_endpoint(r->destination, "destination", &s->secrets, &j->destination, err) != 0)
            return -1;
        j->has_destination = true;
    }
    if (pbconv_filter(r->tables, &j->filter, err) != 0)
        return -1;
    db_endpoint *src = db_endpoint_dup(&a->cfg->source);
    j->source = *src;
    free(src);
    /* Bounded, unlike a stream's source connection: a preflight query that
     * hangs should fail the check, not the call. */
    j->source.read_timeout_s = 60;
    j->retention_hours = r->retention_hours;
    j->sidecar = xstrdup(a->cfg->sidecar_schema ? a->cfg->sidecar_schema : "");
    return 0;
}

static void preflight_work(svc_job *job)
{
    preflight_job *j = (preflight_job *)job;
    preflight_input in = {
        .source = &j->source,
        .destination = j->has_destination ? &j->destination : NULL,
        .filter = &j->filter,
        .retention_hours = j->retention_hours,
        .sidecar_schema = j->sidecar,
        .cancel = &job->cancel,
    };
    j->rc = preflight_run(&in, &j->report);
}

static Tabletagent__V1__Severity preflight_severity_pb(preflight_severity s)
{
    switch (s) {
    case PF_PASS: return TABLETAGENT__V1__SEVERITY__PASS;
    case PF_WARN: return TABLETAGENT__V1__SEVERITY__WARN;
    case PF_FAIL: return TABLETAGENT__V1__SEVERITY__FAIL;
    }
    return TABLETAGENT__V1__SEVERITY__SEVERITY_UNSPECIFIED;
}

/* Build the reply on the stack and heap; its strings point into the
 * report, which lives until the job is freed after the reply is packed. */
static void preflight_reply(rpc_call *call, const preflight_report *r)
{
    Tabletagent__V1__PreflightReport msg = TABLETAGENT__V1__PREFLIGHT_REPORT__INIT;
    Tabletagent__V1__PreflightCheck *checks = xcalloc(r->nchecks ? r->nchecks : 1, sizeof *checks);
    Tabletagent__V1__PreflightCheck **ptrs = xcalloc(r->nchecks ? r->nchecks : 1, sizeof *ptrs);
    for (size_t i = 0; i < r->nchecks; i++) {
        const preflight_check *c = &r->checks[i];
        tabletagent__v1__preflight_check__init(&checks[i]);
        checks[i].id = (char *)c->id;
        checks[i].severity = preflight_severity_pb(c->severity);
        checks[i].message = c->message;
        checks[i].remedy = c->remedy ? c->remedy : "";
        checks[i].objects = c->objects;
        checks[i].n_objects = c->nobjects;
        ptrs[i] = &checks[i];
    }
    msg.checks = ptrs;
    msg.n_checks = r->nchecks;
    msg.worst = preflight_severity_pb(r->worst);
    msg.tables = r->tables;
    msg.estimated_rows = r->est_rows;
    msg.estimated_bytes = r->est_bytes;
    msg.estimated_copy_seconds = r->est_copy_seconds;
    msg.duration_ms = r->duration_ms;
    rpc_call_reply(call, &msg.base);
    free(checks);
    free(ptrs);
}

static void preflight_done(svc_job *job)
{
    preflight_job *j = (preflight_job *)job;
    if (j->rc == 0 && !atomic_load(&job->cancel))
        log_info("preflight", "done in %u ms: %zu checks, worst %s", j->report.duration_ms, j->report.nchecks,
                 preflight_severity_name(j->report.worst));
    if (job->call) {
        if (j->rc != 0 || atomic_load(&job->cancel))
            rpc_call_fail(job->call, GRPC_STATUS_CANCELLED, "preflight was cancelled");
        else
            preflight_reply(job->call, &j->report);
    }
    preflight_job_free(j);
}

void handle_preflight(rpc_call *call, const ProtobufCMessage *req, void *ctx)
{
    service *s = ctx;
    const Tabletagent__V1__PreflightRequest *r = (const void *)req;
    preflight_job *j = xcalloc(1, sizeof *j);
    sbuf err = SBUF_INIT;
    if (preflight_job_from(s, r, j, &err) != 0) {
        rpc_call_fail(call, GRPC_STATUS_INVALID_ARGUMENT, "%s", err.buf);
        preflight_job_free(j);
        sbuf_free(&err);
        return;
    }
    sbuf_free(&err);
    log_info("preflight", "started%s", j->has_destination ? " (with a destination)" : "");
    svc_job_start(s, call, &j->job, "preflight", preflight_work, preflight_done);
}
