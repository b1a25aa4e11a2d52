/* cpctl: the control-plane mock's command-line interface.
 *
 * Shared between the command files: the parsed global options, the
 * connection to the agent, and output helpers. Each command is a function
 * `int cmd_<name>(cp_ctx *, int argc, char **argv)` that returns the
 * process exit code (0 ok, 1 the operation failed or found problems,
 * 2 usage error, 3 the agent is unreachable). */
#ifndef CPCTL_H
#define CPCTL_H

#include <grpc/status.h>
#include <protobuf-c/protobuf-c.h>
#include <signal.h>
#include <stdbool.h>
#include <uv.h>

#include "rpc/rpc_client.h"
#include "lib/sbuf.h"

enum { EXIT_OK = 0, EXIT_FAILED = 1, EXIT_USAGE = 2, EXIT_UNREACHABLE = 3 };

typedef struct cp_ctx {
    const char *agent_addr;
    const char *control_addr; /* the control-plane mock (cpctl serve) */
    rpc_client *control;
    rpc_client_tls tls;
    bool use_tls;
    bool json;
    unsigned timeout_ms;
    rpc_client *client;
    volatile sig_atomic_t *interrupted;
} cp_ctx;

/* Connect on first use; prints the error and returns NULL on failure. */
rpc_client *cp_agent(cp_ctx *ctx);
/* Print a failed call's status for people (stderr) and map it to an exit
 * code. */
int cp_report_failure(const cp_ctx *ctx, const char *what, grpc_status_code st, const char *msg);
/* Print a message as one JSON line on stdout. */
void cp_print_json(const ProtobufCMessage *m);

/* Connection options for a server, repeated per role ("target"). */
typedef struct cp_endpoint_args {
    const char *host, *port, *socket, *user, *password_file, *password_env;
} cp_endpoint_args;

#define CP_ENDPOINT_OPTS(role, a)                                                        \
    {role "-host", ARG_STR, &(a).host, role " server host"},                             \
    {role "-port", ARG_STR, &(a).port, role " server port (3306)"},                      \
    {role "-socket", ARG_STR, &(a).socket, role " server unix socket"},                  \
    {role "-user", ARG_STR, &(a).user, "user the agent logs in as"},                     \
    {role "-password-file", ARG_STR, &(a).password_file, "file the agent reads the password from"}, \
    {role "-password-env", ARG_STR, &(a).password_env, "agent environment variable holding it"}

#include "tabletagent/v1/tabletagent.pb-c.h"

void cp_endpoint_from_args(const cp_endpoint_args *a, Tabletagent__V1__Endpoint *ep);
/* "stop", "exec", "ignore" (NULL: stop); false for anything else. */
bool cp_ddl_policy(const char *s, Tabletagent__V1__DdlPolicy *out);

int cmd_status(cp_ctx *ctx, int argc, char **argv);
int cmd_stream(cp_ctx *ctx, int argc, char **argv);
int cmd_preflight(cp_ctx *ctx, int argc, char **argv);
int cmd_import(cp_ctx *ctx, int argc, char **argv);
int cmd_serve(cp_ctx *ctx, int argc, char **argv);
/* validate, switch, reverse, detach, routing */
int cmd_lifecycle(cp_ctx *ctx, int argc, char **argv);
rpc_client *cp_control(cp_ctx *ctx);
/* Change a workflow's routing rules on the control plane (compare-and-set). */
/* version (may be NULL): the rules version now in place. */
int cp_routing_set(cp_ctx *ctx, const char *wf, int mode, const char *source, const char *dest, bool detached,
                   bool hold, uint64_t *version);
/* After CreateImport: rules sending everything to the source, unless the
 * control plane knows the workflow already; a note when none runs. */
int cp_routing_register(cp_ctx *ctx, const char *wf);
int cmd_workflow(cp_ctx *ctx, int argc, char **argv);
int cmd_watch(cp_ctx *ctx, int argc, char **argv);
int cmd_health(cp_ctx *ctx, int argc, char **argv);
int cmd_router(cp_ctx *ctx, int argc, char **argv);

/* follow.c: poll `method` until settled(reply), redrawing the view. On
 * EXIT_OK *last is the final reply, the caller's to free. */
typedef struct cp_follow_ops {
    const char *method, *what;
    const ProtobufCMessage *request;
    const ProtobufCMessageDescriptor *reply;
    bool (*settled)(const ProtobufCMessage *m);
    void (*render)(const ProtobufCMessage *m, sbuf *out);
    void (*render_line)(const ProtobufCMessage *m, sbuf *out);
    /* Optional, used instead of render on a terminal: the view in at most
     * `lines` lines `cols` wide; prev is the reply drawn before, or NULL. */
    void (*render_fit)(const ProtobufCMessage *m, const ProtobufCMessage *prev, int lines, int cols, sbuf *out);
} cp_follow_ops;
int cp_follow(cp_ctx *ctx, const cp_follow_ops *ops, ProtobufCMessage **last);
int cmd_vdiff(cp_ctx *ctx, int argc, char **argv);

/* reconcile.c: follow the agent's workflow states from `cpctl serve`; cb
 * runs on the loop with each workflow's WorkflowState. */
typedef struct reconciler reconciler;
typedef void (*reconcile_cb)(void *data, const char *workflow, int state);
reconciler *reconciler_start(uv_loop_t *loop, const char *agent, const rpc_client_tls *tls, reconcile_cb cb, void *data);
/* Joins the thread; the handle closes on the loop. */
void reconciler_stop(reconciler *r);

/* render.c: human-readable views. */
void render_status(const ProtobufCMessage *status, const char *agent_addr, sbuf *out);
void render_status_line(const ProtobufCMessage *status, sbuf *out);
void render_stream(const ProtobufCMessage *stream, sbuf *out);
/* At most 20 table lines; render_workflow_fit fits the whole view in
 * `lines` (<= 0: no screen, 20 table lines) of `cols` columns. */
void render_workflow(const ProtobufCMessage *workflow, sbuf *out);
void render_workflow_fit(const ProtobufCMessage *workflow, const ProtobufCMessage *prev, int lines, int cols,
                         sbuf *out);
/* Terminal columns UTF-8 text takes (wide characters two), and the rows
 * text of several lines takes on a screen `cols` wide, wrapped lines
 * included. */
size_t render_width(const char *s, size_t len);
/* Text in exactly `width` columns: padded, or cut with an ellipsis. */
void render_pad(sbuf *out, const char *s, size_t width);
int render_rows(const char *text, int cols);
void render_workflow_line(const ProtobufCMessage *workflow, sbuf *out);
void render_count(uint64_t n, sbuf *out);
void render_vdiff(const ProtobufCMessage *report, sbuf *out);
void render_vdiff_line(const ProtobufCMessage *report, sbuf *out);
/* render_router.c: the routers of a workflow's RoutingRules (GetRouting):
 * a summary line, then one line per router. */
void render_routers(const ProtobufCMessage *rules, sbuf *out);
/* A router's GetStatus (router.v1.RouterStatus), reached at addr. */
void render_router_status(const ProtobufCMessage *status, const char *addr, sbuf *out);

#endif
