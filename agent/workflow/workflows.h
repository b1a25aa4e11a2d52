/* workflows: the agent's workflows, by name (the loop's view).
 *
 * Creating a workflow saves its definition in the state directory first
 * and then starts its thread; on agent start every saved definition is
 * started again and resumes where its sidecar state says. Every change is
 * passed on through the callback the registry was given. Loop thread only. */
#ifndef WORKFLOWS_H
#define WORKFLOWS_H

#include <stddef.h>
#include <uv.h>

#include "db/db.h"
#include "lib/sbuf.h"
#include "workflow/import.h"
#include "workflow/wf_err.h"

typedef struct workflows workflows;

/* state_dir and source must outlive the registry. */
workflows *workflows_new(uv_loop_t *loop, const char *state_dir, const db_endpoint *source,
                         void (*changed)(void *data), void *data);
void workflows_free(workflows *w);
/* Start every workflow saved in the state directory. */
int workflows_restore(workflows *w, sbuf *err);
/* WF_EEXISTS for a name in use; WF_EINTERNAL when the definition cannot
 * be saved. */
wf_err workflows_create(workflows *w, const import_def *def, sbuf *err);
import_wf *workflows_get(workflows *w, const char *name);
size_t workflows_count(const workflows *w);
import_wf *workflows_at(workflows *w, size_t i);
void workflows_stop_all(workflows *w, void (*done)(void *), void *arg);
/* A detached workflow: drop it from the registry and the state directory. */
void workflows_forget(workflows *w, import_wf *wf);

#endif
