/* service_stream: StartStream, StopStream, GetStream.
 *
 * Validation happens here (INVALID_ARGUMENT naming the field); state rules
 * come from the registry (a running stream cannot be started twice:
 * FAILED_PRECONDITION with its state). StopStream replies only once the
 * stream's threads have exited, so a caller that gets the reply can rely on
 * nothing more being applied. */
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

static bool source_is_mariadb(const agent *a)
{
    const probe_result *r = monitor_last(a->monitor);
    return !r || r->flavor != FLAVOR_MYSQL;
}

static int stream_config_from(const service *s, const Tabletagent__V1__StartStreamRequest *r, stream_config *cfg,
                              sbuf *err)
{
    const agent *a = s->agent;
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
    bool mariadb = r->source ? true : source_is_mariadb(a);
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

void handle_start_stream(rpc_call *call, const ProtobufCMessage *req, void *ctx)
{
    service *s = ctx;
    const Tabletagent__V1__StartStreamRequest *r = (const void *)req;
    stream_config cfg;
    sbuf err = SBUF_INIT;
    if (stream_config_from(s, r, &cfg, &err) != 0) {
        rpc_call_fail(call, GRPC_STATUS_INVALID_ARGUMENT, "%s", err.buf);
    } else {
        cfg.server_id = r->server_id ? r->server_id : streams_server_id(s->agent->streams, cfg.name);
        if (streams_start(s->agent->streams, &cfg, &err) != STREAMS_OK)
            rpc_call_fail(call, GRPC_STATUS_FAILED_PRECONDITION, "%s", err.buf);
        else
            reply_stream(call, streams_get(s->agent->streams, cfg.name));
    }
    stream_config_clear(&cfg);
    sbuf_free(&err);
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
    if (streams_stop(s->agent->streams, r->name, stop_done, call) == STREAMS_NOT_FOUND)
        rpc_call_fail(call, GRPC_STATUS_NOT_FOUND, "no stream named \"%s\"", r->name);
}

void handle_get_stream(rpc_call *call, const ProtobufCMessage *req, void *ctx)
{
    service *s = ctx;
    const Tabletagent__V1__GetStreamRequest *r = (const void *)req;
    stream *st = streams_get(s->agent->streams, r->name);
    if (!st)
        rpc_call_fail(call, GRPC_STATUS_NOT_FOUND, "no stream named \"%s\"", r->name);
    else
        reply_stream(call, st);
}
