/* import_vdiff: VDiff of an import (a phase; see import_core.h). */
#ifndef IMPORT_VDIFF_H
#define IMPORT_VDIFF_H

#include "workflow/import_core.h"

/* Start a diff (resume: continue the one an agent restart cut). WF_OK, or
 * an error with err. */
wf_err wf_vdiff_begin(import_wf *wf, bool resume, uint64_t chunk_rows, sbuf *err);
void wf_vdiff_command(import_wf *wf, wf_cmd *c);
/* Once per agent start, when replication runs: resume a cut diff. */
void wf_vdiff_resume(import_wf *wf);
/* Cancel a running diff (it stays resumable) and free it. */
void wf_vdiff_stop(import_wf *wf);

#endif
