/* import_copy: an import's setup and copy cycles (a phase; see
 * import_core.h). */
#ifndef IMPORT_COPY_H
#define IMPORT_COPY_H

#include "workflow/import_core.h"

/* Sidecar tables, destination tables, each table's resume point. */
step_result wf_setup(import_wf *wf, sbuf *err);
/* Forget the loaded tables (the progress stays on show). */
void wf_unload(import_wf *wf);
bool wf_copy_complete(import_wf *wf);
/* Catch up, snapshot, copy pages for at most snapshot_seconds. */
step_result wf_copy_cycle(import_wf *wf, sbuf *err);

#endif
