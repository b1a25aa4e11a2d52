/* service_stream: StartStream, StopStream, GetStream.
 *
 * Validation happens here (INVALID_ARGUMENT naming the field); state rules
 * come from the registry (a running stream cannot be started twice:
 * FAILED_PRECONDITION with its state). A workflow's stream names (NAME and
 * NAME.reverse) are reserved: their saved positions are the workflow's.
 * Before a stream starts, a job on the thread pool looks at both servers:
 * a target that is the source itself, or a replica id the source already
 * knows, is refused (a server it cannot reach is left to the stream, which
 * reports it and retries). StopStream replies only once the stream's
 * threads have exited, so a caller that gets the reply can rely on nothing
 * more being applied. */
#include <stdlib.h>
#include <string.h>

#include "lib/log.h"
#include "rpc/service_internal.h"
#include "workflow/streams.h"

static void reply_stream(rpc_call *call, stream *s)
{
    pb_stream_holder h;
    pbconv_stream_status(s, &h);
    rpc_call_reply(call, &h.msg.base);
    pbconv_stream_release(&h);
}

static bool source_is_mariadb(const service *a)
{
    const probe_result *r = a->monitor ? monitor_last(a->monitor) : NULL;
    return !r || r->flavor != FLAVOR_MYSQL;
}

static int stream_config_from(const service *s, const Tabletagent__V1__StartStreamRequest *r, stream_config *cfg,
                              sbuf *err)
{
    const service *a = s;
    memset(cfg, 0, sizeof *cfg);
    if (pbconv_name(r->name, "name", err) != 0 || pbconv_endpoint(r->target, "target", &s->secrets, &cfg->target, err) != 0)
        return -1;
    if (r->source) {
        if (pbconv_endpoint(r->source, "source", &s->secrets, &cfg->source, err) != 0)
            return -1;
    } else {
        db_endpoint *src = db_endpoint_dup(&a->cfg->source);
        cfg->source = *src;
        free(src);
        cfg->source.read_timeout_s = 600;
    }
    bool mariadb = r->source ? true : source_is_mariadb(s);
    if (pbconv_position(r->start, "start", mariadb, &cfg->start, err) != 0 ||
        pbconv_position(r->stop_at, "stop_at", mariadb, &cfg->stop_at, err) != 0 ||
        pbconv_filter(r->tables, &cfg->filter, err) != 0)
        return -1;
    if (!r->start || (!*cfg->start.gtid && !*cfg->start.file)) {
        sbuf_setf(err, "start needs a gtid (MariaDB) or a file and offset");
        return -1;
    }
    cfg->name = xstrdup(r->name);
    cfg->ddl = pbconv_ddl(r->ddl);
    cfg->reset = r->reset;
    cfg->sidecar_schema = xstrdup(a->cfg->sidecar_schema);
    return 0;
}

/* The checks that need only the registries, on the loop: a name a
 * workflow owns, a replica id another of our streams runs with. */
static grpc_status_code start_allowed(service *s, const stream_config *cfg, sbuf *err)
{
    if (service_name_taken_by_workflow(s, cfg->name, err))
        return GRPC_STATUS_ALREADY_EXISTS;
    for (size_t i = 0; i < streams_count(s->streams); i++) {
        stream *o = streams_at(s->streams, i);
        const stream_config *oc = stream_get_config(o);
        if (stream_running(o) && oc->server_id == cfg->server_id && strcmp(oc->name, cfg->name) != 0) {
            sbuf_setf(err, "server_id %u is used by stream %s; give another or leave it 0", cfg->server_id,
                      oc->name);
            return GRPC_STATUS_INVALID_ARGUMENT;
        }
    }
    return GRPC_STATUS_OK;
}

typedef struct start_job {
    svc_job job;
    stream_config cfg;
    bool explicit_id;
    grpc_status_code code;
    sbuf msg;
} start_job;

static void start_job_free(start_job *j)
{
    stream_config_clear(&j->cfg);
    sbuf_free(&j->msg);
    free(j);
}

static void start_check(svc_job *job)
{
    start_job *j = (start_job *)job;
    MYSQL *src = NULL, *dst = NULL;
    sbuf err = SBUF_INIT, who = SBUF_INIT;
    bool same = false;
    if (db_connect(&j->cfg.source, 0, &src, &err) == 0 && db_connect(&j->cfg.target, 0, &dst, &err) == 0 &&
        db_same_server(src, dst, &same, &err) == 0 && same) {
        db_server_describe(src, &who);
        sbuf_setf(&j->msg, "the target is the source server itself (%s): the stream would apply the source's "
                           "binlog back into it, forever; point the target at another server", who.buf);
        j->code = GRPC_STATUS_FAILED_PRECONDITION;
    }
    for (int side = 0; !j->code && j->explicit_id && side < 2; side++) {
        MYSQL *m = side ? dst : src;
        if (m && db_server_id_user(m, j->cfg.server_id, &who, &err) == 0 && who.len) {
            sbuf_setf(&j->msg, "server_id %u is taken on the %s by %s; a stream must use a replica id of its own "
                               "(leave it 0 to derive one)", j->cfg.server_id, side ? "target" : "source", who.buf);
            j->code = GRPC_STATUS_INVALID_ARGUMENT;
        }
    }
    if (src)
        mysql_close(src);
    if (dst)
        mysql_close(dst);
    sbuf_free(&err);
    sbuf_free(&who);
}

static void start_checked(svc_job *job)
{
    start_job *j = (start_job *)job;
    service *s = job->service;
    if (!job->call) {
        start_job_free(j);
        return;
    }
    if (!j->code)
        j->code = start_allowed(s, &j->cfg, &j->msg);
    if (!j->code && streams_start(s->streams, &j->cfg, &j->msg) != WF_OK)
        j->code = GRPC_STATUS_FAILED_PRECONDITION;
    if (j->code)
        rpc_call_fail(job->call, j->code, "%s", j->msg.buf);
    else
        reply_stream(job->call, streams_get(s->streams, j->cfg.name));
    start_job_free(j);
}

void handle_start_stream(rpc_call *call, const ProtobufCMessage *req, void *ctx)
{
    service *s = ctx;
    const Tabletagent__V1__StartStreamRequest *r = (const void *)req;
    start_job *j = xcalloc(1, sizeof *j);
    sbuf_init(&j->msg, 0);
    grpc_status_code code = GRPC_STATUS_INVALID_ARGUMENT;
    if (stream_config_from(s, r, &j->cfg, &j->msg) == 0) {
        j->explicit_id = r->server_id != 0;
        j->cfg.server_id = r->server_id ? r->server_id : streams_server_id(s->streams, j->cfg.name);
        code = start_allowed(s, &j->cfg, &j->msg);
    }
    if (code) {
        rpc_call_fail(call, code, "%s", j->msg.buf);
        start_job_free(j);
        return;
    }
    svc_job_start(s, call, &j->job, "StartStream", start_check, start_checked);
}

static void stop_done(stream *st, void *data)
{
    rpc_call *call = data;
    reply_stream(call, st);
}

void handle_stop_stream(rpc_call *call, const ProtobufCMessage *req, void *ctx)
{
    service *s = ctx;
    const Tabletagent__V1__StopStreamRequest *r = (const void *)req;
    if (service_stream(s, call, r->name))
        streams_stop(s->streams, r->name, stop_done, call);
}

void handle_get_stream(rpc_call *call, const ProtobufCMessage *req, void *ctx)
{
    service *s = ctx;
    const Tabletagent__V1__GetStreamRequest *r = (const void *)req;
    stream *st = service_stream(s, call, r->name);
    if (st)
        reply_stream(call, st);
}
