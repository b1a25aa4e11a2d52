/* workflows: named workflows of the agent. See workflows.h. */
#include "workflow/workflows.h"

#include <stdlib.h>
#include <string.h>

#include "agent.h"
#include "lib/log.h"

struct workflows {
    agent *agent;
    import_wf **v;
    size_t n, cap;
    void (*all_done)(void *);
    void *all_done_arg;
    size_t stopping;
};

workflows *workflows_new(agent *a)
{
    workflows *w = xcalloc(1, sizeof *w);
    w->agent = a;
    return w;
}

void workflows_free(workflows *w)
{
    if (!w)
        return;
    for (size_t i = 0; i < w->n; i++)
        import_free(w->v[i]);
    free(w->v);
    free(w);
}

static void workflows_changed(void *data)
{
    agent_changed(((workflows *)data)->agent);
}

static void workflows_add(workflows *w, const import_def *def)
{
    if (w->n == w->cap) {
        w->cap = w->cap ? w->cap * 2 : 8;
        w->v = xrealloc(w->v, w->cap * sizeof *w->v);
    }
    w->v[w->n++] = import_start(w->agent->loop, def, w->agent->cfg->state_dir, &w->agent->cfg->source,
                                 workflows_changed, w);
}

int workflows_restore(workflows *w, sbuf *err)
{
    import_def *defs;
    size_t n;
    if (import_def_load_all(w->agent->cfg->state_dir, &defs, &n, err) != 0)
        return -1;
    for (size_t i = 0; i < n; i++) {
        log_info("workflow", "%s: restoring from %s", defs[i].name, w->agent->cfg->state_dir);
        workflows_add(w, &defs[i]);
        import_def_clear(&defs[i]);
    }
    free(defs);
    return 0;
}

import_wf *workflows_get(workflows *w, const char *name)
{
    for (size_t i = 0; i < w->n; i++)
        if (strcmp(import_get_def(w->v[i])->name, name) == 0)
            return w->v[i];
    return NULL;
}

int workflows_create(workflows *w, const import_def *def, sbuf *err)
{
    if (workflows_get(w, def->name)) {
        sbuf_setf(err, "a workflow named %s exists already", def->name);
        return WORKFLOWS_EXISTS;
    }
    if (import_def_save(w->agent->cfg->state_dir, def, err) != 0)
        return WORKFLOWS_FAILED;
    workflows_add(w, def);
    agent_changed(w->agent);
    return WORKFLOWS_OK;
}

size_t workflows_count(const workflows *w)
{
    return w->n;
}

import_wf *workflows_at(workflows *w, size_t i)
{
    return i < w->n ? w->v[i] : NULL;
}

int workflows_command(workflows *w, const char *name, wf_cmd_kind kind, wf_cmd_cb cb, void *data)
{
    import_wf *wf = workflows_get(w, name);
    if (!wf)
        return WORKFLOWS_NOT_FOUND;
    import_command(wf, kind, cb, data);
    return WORKFLOWS_OK;
}

static void workflows_one_stopped(import_wf *wf, const wf_cmd_result *res, void *data)
{
    (void)wf;
    (void)res;
    workflows *w = data;
    if (--w->stopping == 0 && w->all_done)
        w->all_done(w->all_done_arg);
}

void workflows_stop_all(workflows *w, void (*done)(void *), void *arg)
{
    w->all_done = done;
    w->all_done_arg = arg;
    w->stopping = w->n + 1;
    for (size_t i = 0; i < w->n; i++)
        import_command(w->v[i], WF_CMD_STOP, workflows_one_stopped, w);
    workflows_one_stopped(NULL, NULL, w);
}

void workflows_forget(workflows *w, import_wf *wf)
{
    sbuf err = SBUF_INIT;
    if (import_def_remove(w->agent->cfg->state_dir, import_get_def(wf)->name, &err) != 0)
        log_error("workflow", "%s", err.buf);
    sbuf_free(&err);
    for (size_t i = 0; i < w->n; i++) {
        if (w->v[i] != wf)
            continue;
        memmove(&w->v[i], &w->v[i + 1], (w->n - i - 1) * sizeof *w->v);
        w->n--;
        break;
    }
    import_free(wf); /* waits for its thread, which is already leaving */
    agent_changed(w->agent);
}
