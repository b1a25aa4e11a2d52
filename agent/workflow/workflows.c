/* workflows: named workflows of the agent. See workflows.h. */
#include "workflow/workflows.h"

#include <stdlib.h>
#include <string.h>

#include "lib/log.h"
#include "workflow/registry.h"

struct workflows {
    uv_loop_t *loop;
    registry *reg;
    const char *state_dir;
    const db_endpoint *source;
    void (*changed)(void *);
    void *changed_data;
};

static const char *workflow_name(const void *item)
{
    return import_get_def(item)->name;
}

typedef struct stop_wait {
    void (*stopped)(void *);
    void *arg;
} stop_wait;

static void workflow_stopped_one(import_wf *wf, const wf_cmd_result *res, void *data)
{
    (void)wf;
    (void)res;
    stop_wait *w = data;
    w->stopped(w->arg);
    free(w);
}

static void workflow_stop_item(void *item, void (*stopped)(void *), void *arg)
{
    stop_wait *w = xcalloc(1, sizeof *w);
    *w = (stop_wait){stopped, arg};
    import_command(item, WF_CMD_STOP, workflow_stopped_one, w);
}

static void workflow_free_item(void *item)
{
    import_free(item);
}

static const registry_ops workflows_ops = {workflow_name, workflow_stop_item, workflow_free_item};

workflows *workflows_new(uv_loop_t *loop, const char *state_dir, const db_endpoint *source,
                         void (*changed)(void *data), void *data)
{
    workflows *w = xcalloc(1, sizeof *w);
    w->loop = loop;
    w->reg = registry_new(&workflows_ops);
    w->state_dir = state_dir;
    w->source = source;
    w->changed = changed;
    w->changed_data = data;
    return w;
}

void workflows_free(workflows *w)
{
    if (!w)
        return;
    registry_free(w->reg);
    free(w);
}

static void workflows_changed(void *data)
{
    workflows *w = data;
    w->changed(w->changed_data);
}

static void workflows_add(workflows *w, const import_def *def)
{
    registry_put(w->reg, import_start(w->loop, def, w->state_dir, w->source, workflows_changed, w));
}

int workflows_restore(workflows *w, sbuf *err)
{
    import_def *defs;
    size_t n;
    if (import_def_load_all(w->state_dir, &defs, &n, err) != 0)
        return -1;
    for (size_t i = 0; i < n; i++) {
        log_event(LOG_INFO, "workflow", LOG_ABOUT(.workflow = defs[i].name), "restoring from %s", w->state_dir);
        workflows_add(w, &defs[i]);
        import_def_clear(&defs[i]);
    }
    free(defs);
    return 0;
}

import_wf *workflows_get(workflows *w, const char *name)
{
    return registry_get(w->reg, name);
}

wf_err workflows_create(workflows *w, const import_def *def, sbuf *err)
{
    if (workflows_get(w, def->name)) {
        sbuf_setf(err, "a workflow named %s exists already", def->name);
        return WF_EEXISTS;
    }
    if (import_def_save(w->state_dir, def, err) != 0)
        return WF_EINTERNAL;
    workflows_add(w, def);
    w->changed(w->changed_data);
    return WF_OK;
}

size_t workflows_count(const workflows *w)
{
    return registry_count(w->reg);
}

import_wf *workflows_at(workflows *w, size_t i)
{
    return registry_at(w->reg, i);
}

void workflows_stop_all(workflows *w, void (*done)(void *), void *arg)
{
    registry_stop_all(w->reg, done, arg);
}

void workflows_forget(workflows *w, import_wf *wf)
{
    sbuf err = SBUF_INIT;
    if (import_def_remove(w->state_dir, import_get_def(wf)->name, &err) != 0)
        log_error("workflow", "%s", err.buf);
    sbuf_free(&err);
    registry_take(w->reg, wf);
    import_free(wf); /* waits for its thread, which is already leaving */
    w->changed(w->changed_data);
}
