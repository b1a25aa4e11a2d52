/* cutover: switch, reverse and detach of an import (a phase; see
 * import_core.h). */
#ifndef CUTOVER_H
#define CUTOVER_H

#include "workflow/import_core.h"

/* After a restart: finish or undo a switch or reverse that a crash cut,
 * and learn which side has the writes. */
step_result cutover_recover(import_wf *wf, sbuf *err);
void cutover_switch(import_wf *wf, wf_cmd *c);
void cutover_reverse(import_wf *wf, wf_cmd *c);
/* On the workflow thread, now and then: the side a switch or reverse left
 * fenced still is (a restart turns read_only off); if not, fence it
 * again and say so in the log. */
void cutover_fence_keep(import_wf *wf);
/* The caller stops a running VDiff first. */
void cutover_detach(import_wf *wf, wf_cmd *c);

#endif
