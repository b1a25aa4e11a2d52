/* pbconv: request validation and status conversion. See pbconv.h. */
#include "rpc/pbconv.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "lib/gtid.h"

static const char *S(const char *s)
{
    return s ? s : "";
}

int pbconv_name(const char *name, const char *field, sbuf *err)
{
    size_t n = strlen(S(name));
    if (n == 0 || n > 64) {
        sbuf_setf(err, "%s must be 1 to 64 characters, got %zu", field, n);
        return -1;
    }
    for (const char *p = name; *p; p++) {
        if (!isalnum((unsigned char)*p) && *p != '_' && *p != '-' && *p != '.') {
            sbuf_setf(err, "%s may only contain letters, digits, '_', '-' and '.', got \"%s\"", field, name);
            return -1;
        }
    }
    return 0;
}

int pbconv_endpoint(const pb_Endpoint *in, const char *field, const secret_policy *policy, db_endpoint *out,
                    sbuf *err)
{
    memset(out, 0, sizeof *out);
    if (!in || (!*S(in->host) && !*S(in->socket))) {
        sbuf_setf(err, "%s needs a host (or a socket)", field);
        return -1;
    }
    if (!*S(in->user)) {
        sbuf_setf(err, "%s.user is empty", field);
        return -1;
    }
    if (in->port > 65535) {
        sbuf_setf(err, "%s.port %u is out of range", field, in->port);
        return -1;
    }
    int refs = !!*S(in->password_file) + !!*S(in->password_env) + !!*S(in->password);
    if (refs > 1) {
        sbuf_setf(err, "%s: give one of password_file, password_env, password", field);
        return -1;
    }
    sbuf ref = SBUF_INIT;
    int rc = 0;
    if (*S(in->password_env)) {
        sbuf_addf(&ref, "%s.password_env", field);
        rc = secret_policy_env(policy, ref.buf, in->password_env, &out->password, err);
    } else if (*S(in->password_file)) {
        sbuf_addf(&ref, "%s.password_file", field);
        rc = secret_policy_file(policy, ref.buf, in->password_file, &out->password, err);
    } else if (*S(in->password)) {
        out->password = secret_from_bytes(in->password, strlen(in->password));
    }
    sbuf_free(&ref);
    if (rc)
        return -1;
    out->host = *S(in->host) ? xstrdup(in->host) : NULL;
    out->socket = *S(in->socket) ? xstrdup(in->socket) : NULL;
    out->port = in->port ? in->port : 3306;
    out->user = xstrdup(in->user);
    out->tls = in->tls;
    out->connect_timeout_s = 5;
    out->read_timeout_s = 600;
    return 0;
}

static char **strv_copy(char **v, size_t n, const char *field, sbuf *err)
{
    char **d = n ? xcalloc(n, sizeof *d) : NULL;
    for (size_t i = 0; i < n; i++) {
        if (!v[i] || !*v[i] || strlen(v[i]) > 256) {
            sbuf_setf(err, "tables.%s[%zu] must be a non-empty pattern like db.table or db.*", field, i);
            for (size_t j = 0; j < i; j++)
                free(d[j]);
            free(d);
            return NULL;
        }
        d[i] = xstrdup(v[i]);
    }
    return d;
}

int pbconv_filter(const pb_TableFilter *in, table_filter *out, sbuf *err)
{
    memset(out, 0, sizeof *out);
    if (!in)
        return 0;
    out->include = strv_copy(in->include, in->n_include, "include", err);
    if (in->n_include && !out->include)
        return -1;
    out->ninclude = in->n_include;
    out->exclude = strv_copy(in->exclude, in->n_exclude, "exclude", err);
    if (in->n_exclude && !out->exclude) {
        table_filter_clear(out);
        return -1;
    }
    out->nexclude = in->n_exclude;
    return 0;
}

void pbconv_position_out(pb_Position *out, const vpos *v)
{
    tabletagent__v1__position__init(out);
    out->gtid = (char *)S(v->gtid);
    out->file = (char *)S(v->file);
    out->offset = v->offset;
}

int pbconv_position(const pb_Position *in, const char *field, bool mariadb, vpos *out, sbuf *err)
{
    memset(out, 0, sizeof *out);
    if (!in)
        return 0;
    if (*S(in->gtid)) {
        gtid_set *g = NULL;
        if (gtid_set_parse(mariadb ? FLAVOR_MARIADB : FLAVOR_MYSQL, in->gtid, &g, err) != 0) {
            sbuf tmp = SBUF_INIT;
            sbuf_addf(&tmp, "%s.gtid: %s", field, err->buf);
            sbuf_setf(err, "%s", tmp.buf);
            sbuf_free(&tmp);
            return -1;
        }
        gtid_set_free(g);
    }
    if (*S(in->file) && in->offset < 4) {
        sbuf_setf(err, "%s.offset must be at least 4 (the first event of a binlog file)", field);
        return -1;
    }
    if (!*S(in->file) && in->offset) {
        sbuf_setf(err, "%s.offset given without %s.file", field, field);
        return -1;
    }
    vpos_set(out, in->gtid, in->file, in->offset);
    return 0;
}

ddl_policy pbconv_ddl(Tabletagent__V1__DdlPolicy p)
{
    return p == TABLETAGENT__V1__DDL_POLICY__DDL_EXEC     ? DDL_EXEC
           : p == TABLETAGENT__V1__DDL_POLICY__DDL_IGNORE ? DDL_IGNORE
                                                          : DDL_STOP;
}

Tabletagent__V1__DdlPolicy pbconv_ddl_pb(ddl_policy p)
{
    return p == DDL_EXEC     ? TABLETAGENT__V1__DDL_POLICY__DDL_EXEC
           : p == DDL_IGNORE ? TABLETAGENT__V1__DDL_POLICY__DDL_IGNORE
                             : TABLETAGENT__V1__DDL_POLICY__DDL_STOP;
}

static Tabletagent__V1__StreamState state_pb(stream_state s)
{
    switch (s) {
    case STREAM_STARTING: return TABLETAGENT__V1__STREAM_STATE__STREAM_STARTING;
    case STREAM_RUNNING: return TABLETAGENT__V1__STREAM_STATE__STREAM_RUNNING;
    case STREAM_RETRYING: return TABLETAGENT__V1__STREAM_STATE__STREAM_RETRYING;
    case STREAM_STOPPED: return TABLETAGENT__V1__STREAM_STATE__STREAM_STOPPED;
    case STREAM_ERROR: return TABLETAGENT__V1__STREAM_STATE__STREAM_ERROR;
    }
    return TABLETAGENT__V1__STREAM_STATE__STREAM_STATE_UNSPECIFIED;
}

void pbconv_stream_status(stream *s, pb_stream_holder *h)
{
    stream_status st;
    stream_status_get(s, &st);
    pbconv_stream_fill(h, stream_get_config(s), &st);
}

void pbconv_stream_fill(pb_stream_holder *h, const stream_config *cfg, stream_status *st)
{
    h->st = *st; /* taken */
    memset(st, 0, sizeof *st);
    tabletagent__v1__stream_status__init(&h->msg);
    tabletagent__v1__error__init(&h->error);
    sbuf_init(&h->source, 0);
    sbuf_init(&h->target, 0);
    db_endpoint_describe(&cfg->source, &h->source);
    db_endpoint_describe(&cfg->target, &h->target);
    pb_StreamStatus *m = &h->msg;
    m->name = cfg->name;
    m->state = state_pb(h->st.state);
    if (h->st.error) {
        h->error.code = (char *)stream_error_name(h->st.error);
        h->error.message = h->st.message;
        m->error = &h->error;
    }
    m->message = h->st.message;
    pbconv_position_out(&h->applied, &h->st.applied);
    m->applied = &h->applied;
    m->lag_seconds = h->st.lag_seconds;
    m->transactions = h->st.transactions;
    m->rows = h->st.rows;
    m->events = h->st.events;
    m->source = h->source.buf;
    m->target = h->target.buf;
    m->ddl = pbconv_ddl_pb(cfg->ddl);
    pbconv_position_out(&h->stop_at, &cfg->stop_at);
    m->stop_at = &h->stop_at;
    m->stop_reached = h->st.stop_reached;
    m->retries = h->st.retries;
    m->started_at_unix_ms = h->st.started_ms;
}

void pbconv_stream_release(pb_stream_holder *h)
{
    stream_status_clear(&h->st);
    sbuf_free(&h->source);
    sbuf_free(&h->target);
}
