/* workflows: the agent's workflows, by name (the loop's view).
 *
 * Creating a workflow saves its definition in the state directory first
 * and then starts its thread; on agent start every saved definition is
 * started again and resumes where its sidecar state says. */
#ifndef WORKFLOWS_H
#define WORKFLOWS_H

#include <stddef.h>

#include "lib/sbuf.h"
#include "workflow/import.h"

typedef struct agent agent;
typedef struct workflows workflows;

enum { WORKFLOWS_OK = 0, WORKFLOWS_EXISTS = 1, WORKFLOWS_NOT_FOUND = 2, WORKFLOWS_FAILED = 3 };

workflows *workflows_new(agent *a);
void workflows_free(workflows *w);
/* Start every workflow saved in the state directory. */
int workflows_restore(workflows *w, sbuf *err);
int workflows_create(workflows *w, const import_def *def, sbuf *err);
import_wf *workflows_get(workflows *w, const char *name);
size_t workflows_count(const workflows *w);
import_wf *workflows_at(workflows *w, size_t i);
int workflows_command(workflows *w, const char *name, wf_cmd_kind kind, wf_cmd_cb cb, void *data);
void workflows_stop_all(workflows *w, void (*done)(void *), void *arg);
/* A detached workflow: drop it from the registry and the state directory. */
void workflows_forget(workflows *w, import_wf *wf);

#endif
