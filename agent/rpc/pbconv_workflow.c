/* pbconv_workflow: import requests and Workflow messages. See pbconv.h. */
#include <stdlib.h>
#include <string.h>

#include "rpc/pbconv.h"

static int check_range(const char *field, uint64_t v, uint64_t lo, uint64_t hi, sbuf *err)
{
    if (v && (v < lo || v > hi)) {
        sbuf_setf(err, "options.%s must be between %llu and %llu, got %llu", field, (unsigned long long)lo,
                  (unsigned long long)hi, (unsigned long long)v);
        return -1;
    }
    return 0;
}

int pbconv_import_options(const Tabletagent__V1__ImportOptions *in, import_options *out, sbuf *err)
{
    import_options_defaults(out);
    if (!in)
        return 0;
    if (check_range("parallelism", in->parallelism, 1, 64, err) ||
        check_range("chunk_rows", in->chunk_rows, 10, 1000000, err) ||
        check_range("snapshot_seconds", in->snapshot_seconds, 1, 86400, err))
        return -1;
    if (in->parallelism)
        out->parallelism = in->parallelism;
    if (in->chunk_rows)
        out->chunk_rows = in->chunk_rows;
    if (in->throttle_threads_running)
        out->throttle_threads_running = in->throttle_threads_running;
    if (in->snapshot_seconds)
        out->snapshot_seconds = in->snapshot_seconds;
    out->ddl = pbconv_ddl(in->ddl);
    out->defer_indexes = !in->keep_secondary_indexes;
    return 0;
}

static Tabletagent__V1__WorkflowState wf_state_pb(wf_state s)
{
    switch (s) {
    case WF_STARTING: return TABLETAGENT__V1__WORKFLOW_STATE__WORKFLOW_STARTING;
    case WF_COPYING: return TABLETAGENT__V1__WORKFLOW_STATE__WORKFLOW_COPYING;
    case WF_CATCHING_UP: return TABLETAGENT__V1__WORKFLOW_STATE__WORKFLOW_CATCHING_UP;
    case WF_REPLICATING: return TABLETAGENT__V1__WORKFLOW_STATE__WORKFLOW_REPLICATING;
    case WF_PAUSED: return TABLETAGENT__V1__WORKFLOW_STATE__WORKFLOW_PAUSED;
    case WF_ERROR: return TABLETAGENT__V1__WORKFLOW_STATE__WORKFLOW_ERROR;
    case WF_STOPPED: return TABLETAGENT__V1__WORKFLOW_STATE__WORKFLOW_STOPPED;
    case WF_SWITCHING: return TABLETAGENT__V1__WORKFLOW_STATE__WORKFLOW_SWITCHING;
    case WF_PRIMARY: return TABLETAGENT__V1__WORKFLOW_STATE__WORKFLOW_PRIMARY;
    case WF_REVERSING: return TABLETAGENT__V1__WORKFLOW_STATE__WORKFLOW_REVERSING;
    }
    return TABLETAGENT__V1__WORKFLOW_STATE__WORKFLOW_STATE_UNSPECIFIED;
}

static void fill_tables(pb_workflow_holder *h)
{
    size_t n = h->st.ntables;
    h->tables = xcalloc(n + 1, sizeof *h->tables);
    h->table_ptrs = xcalloc(n + 1, sizeof *h->table_ptrs);
    for (size_t i = 0; i < n; i++) {
        Tabletagent__V1__TableProgress *t = &h->tables[i];
        tabletagent__v1__table_progress__init(t);
        t->schema = h->st.tables[i].schema;
        t->name = h->st.tables[i].name;
        t->phase = (char *)wf_phase_name(h->st.tables[i].phase);
        t->rows_copied = h->st.tables[i].rows_copied;
        t->rows_estimated = h->st.tables[i].rows_estimated;
        h->table_ptrs[i] = t;
    }
    h->msg.n_tables = n;
    h->msg.tables = h->table_ptrs;
}

static void fill_options(pb_workflow_holder *h, const import_options *o)
{
    tabletagent__v1__import_options__init(&h->options);
    h->options.parallelism = o->parallelism;
    h->options.chunk_rows = o->chunk_rows;
    h->options.throttle_threads_running = o->throttle_threads_running;
    h->options.ddl = pbconv_ddl_pb(o->ddl);
    h->options.keep_secondary_indexes = !o->defer_indexes;
    h->options.snapshot_seconds = o->snapshot_seconds;
    h->msg.options = &h->options;
}

static void fill_stream(pb_workflow_holder *h, const import_def *def, const db_endpoint *source)
{
    if (!h->st.has_stream)
        return;
    stream_config cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.name = def->name;
    cfg.source = *source;
    cfg.target = def->dest;
    cfg.ddl = def->opt.ddl;
    h->has_stream = true;
    h->st.has_stream = false; /* the holder owns the stream status now */
    pbconv_stream_fill(&h->stream, &cfg, &h->st.stream);
    h->msg.stream = &h->stream.msg;
}

void pbconv_workflow(import_wf *wf, const db_endpoint *source, pb_workflow_holder *h)
{
    const import_def *def = import_get_def(wf);
    memset(h, 0, sizeof *h);
    import_status(wf, &h->st);
    Tabletagent__V1__Workflow *m = &h->msg;
    tabletagent__v1__workflow__init(m);
    tabletagent__v1__error__init(&h->error);
    tabletagent__v1__position__init(&h->position);
    m->name = def->name;
    m->kind = "import";
    m->state = wf_state_pb(h->st.state);
    if (*h->st.error_code) {
        h->error.code = h->st.error_code;
        h->error.message = h->st.message;
        m->error = &h->error;
    }
    m->message = h->st.message;
    db_endpoint_describe(&def->dest, &h->destination);
    m->destination = h->destination.buf;
    pbconv_position_out(&h->position, &h->st.position);
    m->position = &h->position;
    m->rows_copied = h->st.rows_copied;
    m->rows_estimated = h->st.rows_estimated;
    m->rows_per_second = h->st.rows_per_second;
    m->eta_seconds = h->st.eta_seconds;
    m->throttled = h->st.throttled;
    m->throttle_reason = h->st.throttle_reason;
    m->copy_cycles = h->st.copy_cycles;
    m->created_at_unix_ms = h->st.created_ms;
    m->copied_at_unix_ms = h->st.copied_ms;
    fill_tables(h);
    fill_options(h, &def->opt);
    fill_stream(h, def, source);
}

void pbconv_workflow_release(pb_workflow_holder *h)
{
    if (h->has_stream)
        pbconv_stream_release(&h->stream);
    wf_status_clear(&h->st);
    sbuf_free(&h->destination);
    free(h->tables);
    free(h->table_ptrs);
}
