/* status_page: the agent's status for people (GET / on --metrics-listen):
 * one self-contained HTML page, no scripts and no external assets, that
 * refreshes itself.
 *
 * It shows what /metrics shows, read the same way (one metrics_snap on the
 * loop thread): the source's health and position, each workflow's phase
 * and per-table copy progress with rate and ETA, each stream's replication
 * lag over the last hour as an SVG chart drawn by the server, the last
 * cutovers with their steps' times, and VDiff results. The page changes
 * nothing and shows no secret; every name on it (workflows, tables,
 * streams, messages: chosen by people, possibly hostile) is HTML-escaped.
 *
 * The only state it keeps is what a single look cannot give: a ring of lag
 * samples per stream (one every STATUS_PAGE_SAMPLE_MS, an hour's worth),
 * taken by a timer on the loop, and each table's copy rate window. */
#ifndef STATUS_PAGE_H
#define STATUS_PAGE_H

#include "agent.h"
#include "lib/sbuf.h"

#define STATUS_PAGE_SAMPLE_MS 10000
#define STATUS_PAGE_SAMPLES 360 /* one hour at the default interval */
#define STATUS_PAGE_REFRESH_S 5
/* The page's media type. */
#define STATUS_PAGE_CONTENT_TYPE "text/html; charset=utf-8"

typedef struct status_page status_page;

/* Loop thread: start sampling the agent's streams' lag. The environment
 * variable TABLET_AGENT_TEST_LAG_SAMPLE_MS shortens the interval for tests. */
status_page *status_page_start(agent *a);
/* Loop thread: the whole page. */
void status_page_render(status_page *p, sbuf *out);
/* Loop thread: stop the timer; the page is freed once libuv closed it. */
void status_page_stop(status_page *p);

#endif
