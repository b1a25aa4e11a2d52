/* libFuzzer target: one request to the agent's gRPC API, as bytes off the
 * wire, through the agent's request path into its handler.
 *
 * Input: byte 0 picks the method, an index into service_methods() (the
 * table the real server registers: TabletAgent and grpc.health.v1); byte 1
 * picks how the work a handler hands off ends (below) and whether the
 * client goes away before the answer; the rest is the request message.
 * The bytes go the way rpc_server.c's request_decode takes them (static
 * there, mirrored here in six lines): protobuf_c_message_unpack, then
 * pbcheck_request; a refusal is the INVALID_ARGUMENT the server sends, and
 * anything else goes to the handler, with the real service as its context,
 * once the unpacked message is seen to keep what rpc_server.h promises
 * (strings UTF-8, enums known: pbcheck judged the wire bytes, protobuf-c
 * made the message, and the two must agree).
 *
 * The service is the agent's own (service_new, the real registries and
 * config_load's settings) with nothing reachable behind it: its source is
 * 127.0.0.1:1, where nothing listens. The registries hold one workflow "w"
 * and one stream "s", both real (their threads find 127.0.0.1:1 refusing
 * and retry), so every check after a name lookup runs too: a cutover's
 * bounds, a VDiff's chunk size, a detach's side, the names a workflow
 * reserves, the replica id a running stream holds. Both are put back
 * before each input if an input stopped or detached them.
 *
 * The seam: a handler's work leaves the loop in exactly two ways, and the
 * fuzzer stops both there, after every check a handler makes on the loop:
 *   - a job for the thread pool (svc_job_start: Preflight, CreateImport,
 *     StartStream), whose body connects to the servers a request names.
 *     The link wraps uv_queue_work, and the pool refuses every job:
 *     svc_job_start's own refusal path answers UNAVAILABLE and frees the
 *     job. A request's endpoint is therefore never connected to.
 *   - a command for a workflow's thread (import_command_with: pause,
 *     resume, switch, reverse, detach, VDiff). The link wraps it; the
 *     command is answered on the next turn of the loop, as the workflow's
 *     thread would answer it, with the wf_err byte 1 picks (a success with
 *     a cutover report or a detach result, or any error), so every
 *     completion callback and its reply run. A successful detach forgets
 *     "w" for real. What a command receives must be what the handler
 *     checked (a cutover's bounds, a VDiff's chunk size, a resume's
 *     endpoint): the wrapper checks it.
 * Before the answer arrives the client may go away (byte 1, bit 4), as
 * rpc_server's close event would tell: a watcher's cancel callback ends its
 * call, a pending command still answers the cancelled call later.
 * Streaming calls (StreamHealth, Health.Watch) get one status push
 * (service_notify), then their client goes away.
 *
 * rpc_server.c is replaced by the rpc_call functions below, which check
 * every answer as the wire would carry it:
 *   - a call ends exactly once; a unary call with a reply of its method's
 *     type (from the .proto's service descriptor) or a status that is not
 *     OK; a streaming one sends messages of that type;
 *   - status codes are gRPC's (0-16); a failure says something, in valid
 *     UTF-8 (utf8_valid: the handler's own text, before the server's
 *     escaping);
 *   - a reply passes protobuf_c_message_check, and after pbcheck_reply
 *     packs to bytes that pbcheck_request accepts (UTF-8 strings, known
 *     enums) and that unpack again;
 *   - no secret appears in a status message, a reply or a log line written
 *     while the request is handled: the contents of the password file and
 *     variable the policy allows, and any inline password with "canary" in
 *     it (unless the request carries it in another field too).
 * ASan and UBSan check memory and arithmetic, LeakSanitizer that a request
 * leaves nothing behind (libFuzzer's -detect_leaks; not on the fixtures'
 * own threads, see thread_unjudged) and, at exit, after the agent is
 * stopped as agent_stop stops it, that nothing is left at all.
 *
 * Not covered: what the pool's jobs and the workflow's commands do with
 * servers, and a job's own completion and cancellation (integration tests
 * run them against real servers); the monitor (the service has none:
 * GetStatus reports the first probe as pending, and StartStream takes the
 * source for MariaDB); a workflow in SWITCHING or REVERSING (the checks
 * that refuse commands then); several calls in flight at once.
 *
 * Run: make fuzz-rpc (FUZZ_SECONDS, default 900); make fuzz-smoke runs it
 * briefly. FUZZ_RPC_TRACE=1 prints each call's status, FUZZ_RPC_LOG=1 the
 * agent's log lines. Seeds: tests/fuzz/corpus/rpc, valid requests of every
 * method and requests that each reach one check, written by
 * tests/fuzz/rpc_seeds.c (make fuzz-rpc-seeds). */
#include <errno.h>
#include <ftw.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <mysql.h>
#include <sanitizer/lsan_interface.h>

#include "config.h"
#include "grpc/health/v1/health.pb-c.h"
#include "lib/clock.h"
#include "lib/log.h"
#include "rpc/pbcheck.h"
#include "rpc/service.h"
#include "tabletagent/v1/tabletagent.pb-c.h"
#include "workflow/import_def.h"
#include "workflow/streams.h"
#include "workflow/workflows.h"

#define FUZZ_DIR "/tmp/tablet-agent-fuzz-rpc"
#define FUZZ_SECRET_DIR FUZZ_DIR "/secrets"
#define FUZZ_SECRET_FILE FUZZ_SECRET_DIR "/dest"
#define FUZZ_FILE_SECRET "file-canary-secret-77a2"
#define FUZZ_ENV_PREFIX "FUZZ_RPC_"
#define FUZZ_ENV_NAME FUZZ_ENV_PREFIX "DEST"
#define FUZZ_ENV_SECRET "env-canary-secret-5d1b"
#define FUZZ_WAIT_MS 10000 /* longest a call may stay open after its input */

/* ---- failures --------------------------------------------------------------------------- */

static const char *current_method = "(setup)";

static void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static void die(const char *fmt, ...)
{
    sbuf sb = SBUF_INIT;
    va_list ap;
    va_start(ap, fmt);
    sbuf_vaddf(&sb, fmt, ap);
    va_end(ap);
    fprintf(stderr, "fuzz_rpc: %s: %s\n", current_method, sbuf_cstr(&sb));
    sbuf_free(&sb);
    abort();
}

/* ---- secrets that must never come back -------------------------------------------------- */

typedef struct strlist {
    char **v;
    size_t n;
} strlist;

static void strlist_add(strlist *l, const char *s)
{
    l->v = xrealloc(l->v, (l->n + 1) * sizeof *l->v);
    l->v[l->n++] = xstrdup(s);
}

static void strlist_clear(strlist *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->v[i]);
    free(l->v);
    memset(l, 0, sizeof *l);
}

/* The secrets of the input being handled; read only on the loop thread. */
static strlist secrets;
static pthread_t loop_thread;

/* Every string field of m: inline passwords into *pw, the rest into *other. */
static void request_strings(const ProtobufCMessage *m, strlist *pw, strlist *other)
{
    const ProtobufCMessageDescriptor *d = m->descriptor;
    for (unsigned i = 0; i < d->n_fields; i++) {
        const ProtobufCFieldDescriptor *f = &d->fields[i];
        if (f->type != PROTOBUF_C_TYPE_STRING && f->type != PROTOBUF_C_TYPE_MESSAGE)
            continue;
        const char *base = (const char *)m;
        void *const *elems = (void *const *)(base + f->offset);
        size_t n = 1;
        if (f->label == PROTOBUF_C_LABEL_REPEATED) {
            n = *(const size_t *)(base + f->quantifier_offset);
            elems = *(void *const *const *)(base + f->offset);
        }
        for (size_t k = 0; k < n; k++) {
            if (!elems[k])
                continue;
            if (f->type == PROTOBUF_C_TYPE_MESSAGE)
                request_strings(elems[k], pw, other);
            else if (d == &tabletagent__v1__endpoint__descriptor && strcmp(f->name, "password") == 0)
                strlist_add(pw, elems[k]);
            else
                strlist_add(other, elems[k]);
        }
    }
}

static bool in_any(const strlist *l, const char *s)
{
    for (size_t i = 0; i < l->n; i++)
        if (strstr(l->v[i], s))
            return true;
    return false;
}

/* The secrets to look for while req is handled: the policy's file and
 * variable, and the request's canary passwords; none that the request
 * also sends in the open (a user named like the password is echoed). */
static void secrets_collect(const ProtobufCMessage *req)
{
    strlist pw = {0}, other = {0};
    if (req)
        request_strings(req, &pw, &other);
    strlist_clear(&secrets);
    const char *fixed[] = {FUZZ_FILE_SECRET, FUZZ_ENV_SECRET};
    for (size_t i = 0; i < 2; i++)
        if (!in_any(&other, fixed[i]) && !in_any(&pw, fixed[i]))
            strlist_add(&secrets, fixed[i]);
    for (size_t i = 0; i < pw.n; i++)
        if (strstr(pw.v[i], "canary") && !in_any(&other, pw.v[i]))
            strlist_add(&secrets, pw.v[i]);
    strlist_clear(&pw);
    strlist_clear(&other);
}

static void secrets_check(const void *data, size_t len, const char *where)
{
    if (!pthread_equal(pthread_self(), loop_thread))
        return;
    for (size_t i = 0; i < secrets.n; i++)
        if (memmem(data, len, secrets.v[i], strlen(secrets.v[i])))
            die("a secret (\"%s\") appears in %s", secrets.v[i], where);
}

/* Log lines: checked for secrets, then dropped (FUZZ_RPC_LOG=1 shows them). */
void __wrap_log_write(log_level level, const char *module, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void __wrap_log_write(log_level level, const char *module, const char *fmt, ...)
{
    sbuf sb = SBUF_INIT;
    va_list ap;
    va_start(ap, fmt);
    sbuf_vaddf(&sb, fmt, ap);
    va_end(ap);
    secrets_check(sb.buf, sb.len, "a log line");
    static int show = -1;
    if (show < 0)
        show = getenv("FUZZ_RPC_LOG") != NULL;
    if (show)
        fprintf(stderr, "log %d %s: %s\n", (int)level, module, sbuf_cstr(&sb));
    sbuf_free(&sb);
}

/* ---- rpc_call: what rpc_server.c would do, checked ------------------------------------ */

struct rpc_call {
    const rpc_method *method;
    const ProtobufCMessageDescriptor *reply_type;
    bool ended, cancelled, replied;
    unsigned sent;
    rpc_cancel_cb on_cancel;
    void *cancel_data;
};

/* The message as the server would pack it, checked as a client would read it. */
static void check_message(rpc_call *c, const ProtobufCMessage *m, const char *what)
{
    if (!m)
        die("%s of NULL", what);
    if (m->descriptor != c->reply_type)
        die("%s of type %s, but the method returns %s", what, m->descriptor->name, c->reply_type->name);
    if (!protobuf_c_message_check(m))
        die("%s fails protobuf_c_message_check", what);
    ProtobufCMessage *copy;
    const ProtobufCMessage *out = pbcheck_reply(m, &copy);
    size_t n = protobuf_c_message_get_packed_size(out);
    uint8_t *buf = xmalloc(n + 1);
    if (protobuf_c_message_pack(out, buf) != n)
        die("%s packs to another size than it announced", what);
    sbuf why = SBUF_INIT;
    if (pbcheck_request(c->reply_type, buf, n, &why) != 0)
        die("%s would go out invalid: %s", what, why.buf);
    ProtobufCMessage *back = protobuf_c_message_unpack(c->reply_type, NULL, n, buf);
    if (!back)
        die("%s does not unpack again", what);
    secrets_check(buf, n, what);
    protobuf_c_message_free_unpacked(back, NULL);
    if (copy)
        protobuf_c_message_free_unpacked(copy, NULL);
    sbuf_free(&why);
    free(buf);
}

static void call_finish(rpc_call *c, grpc_status_code code, const char *msg)
{
    static int trace = -1;
    if (trace < 0)
        trace = getenv("FUZZ_RPC_TRACE") != NULL;
    if (trace)
        fprintf(stderr, "%s -> %d%s%s%s\n", c->method->path, (int)code, c->replied ? " with a reply" : "",
                msg ? ": " : "", msg ? msg : "");
    if (c->ended)
        die("call ended twice (status %d after the first end)", (int)code);
    c->ended = true;
    if ((int)code < 0 || (int)code > GRPC_STATUS_UNAUTHENTICATED)
        die("status code %d is not gRPC's", (int)code);
    if (code != GRPC_STATUS_OK && (!msg || !*msg))
        die("status %d without a message: an error must say what happened", (int)code);
    if (msg && !utf8_valid(msg, strlen(msg)))
        die("status message is not valid UTF-8");
    if (msg)
        secrets_check(msg, strlen(msg), "a status message");
    if (c->method->kind == RPC_UNARY && code == GRPC_STATUS_OK && !c->replied)
        die("unary call ended OK without a reply");
}

void rpc_call_reply(rpc_call *c, const ProtobufCMessage *resp)
{
    if (c->method->kind != RPC_UNARY)
        die("rpc_call_reply on a streaming call");
    if (c->ended)
        die("reply after the call ended");
    check_message(c, resp, "reply");
    c->replied = true;
    call_finish(c, GRPC_STATUS_OK, NULL);
}

void rpc_call_fail(rpc_call *c, grpc_status_code code, const char *fmt, ...)
{
    sbuf msg = SBUF_INIT;
    va_list ap;
    va_start(ap, fmt);
    sbuf_vaddf(&msg, fmt, ap);
    va_end(ap);
    call_finish(c, code, sbuf_cstr(&msg));
    sbuf_free(&msg);
}

void rpc_call_end(rpc_call *c, grpc_status_code code, const char *message)
{
    call_finish(c, code, message);
}

int rpc_call_send(rpc_call *c, const ProtobufCMessage *msg)
{
    if (c->method->kind != RPC_SERVER_STREAM)
        die("rpc_call_send on a unary call");
    if (c->ended) /* rpc_server may have freed the call */
        die("send after the call ended");
    check_message(c, msg, "streamed message");
    if (c->cancelled)
        return -1;
    c->sent++;
    return 0;
}

void rpc_call_on_cancel(rpc_call *c, rpc_cancel_cb cb, void *data)
{
    if (c->ended)
        die("rpc_call_on_cancel after the call ended");
    c->on_cancel = cb;
    c->cancel_data = data;
}

const char *rpc_call_method(const rpc_call *c)
{
    return c->method->path;
}

/* The client went away: rpc_server's close event on a call not yet ended. */
static void call_cancel(rpc_call *c)
{
    if (c->ended || c->cancelled)
        return;
    c->cancelled = true;
    if (c->on_cancel)
        c->on_cancel(c, c->cancel_data);
}

/* ---- the seam: work that would leave the loop --------------------------------------------- */

/* The thread pool refuses every job (svc_job_start answers UNAVAILABLE). */
int __wrap_uv_queue_work(uv_loop_t *loop, uv_work_t *req, uv_work_cb work_cb, uv_after_work_cb after_work_cb);
int __wrap_uv_queue_work(uv_loop_t *loop, uv_work_t *req, uv_work_cb work_cb, uv_after_work_cb after_work_cb)
{
    (void)loop;
    (void)req;
    (void)work_cb;
    (void)after_work_cb;
    return UV_EBUSY;
}

/* The fixtures' threads (a workflow's, a stream's) retry their connections
 * all along, allocating an error text each time. LeakSanitizer's checks
 * during the run examine the process while they do, and once in about 7
 * million runs reported such a text, held on a retrying thread's stack,
 * as lost. What those threads allocate is not what this fuzzer tests, so
 * the threads the agent starts are started with LeakSanitizer off for
 * them: the loop thread, where every request is handled, is judged in full. */
typedef struct thread_start {
    uv_thread_cb entry;
    void *arg;
} thread_start;

static void thread_unjudged(void *p)
{
    thread_start t = *(thread_start *)p;
    free(p);
    __lsan_disable();
    t.entry(t.arg);
}

int __real_uv_thread_create(uv_thread_t *tid, uv_thread_cb entry, void *arg);
int __wrap_uv_thread_create(uv_thread_t *tid, uv_thread_cb entry, void *arg);
int __wrap_uv_thread_create(uv_thread_t *tid, uv_thread_cb entry, void *arg)
{
    thread_start *t = xmalloc(sizeof *t);
    *t = (thread_start){entry, arg};
    int rc = __real_uv_thread_create(tid, thread_unjudged, t);
    if (rc != 0)
        free(t);
    return rc;
}

typedef struct pending_cmd {
    import_wf *wf;
    wf_cmd_kind kind;
    wf_cmd_args args;
    db_endpoint *dest;
    wf_cmd_cb cb;
    void *data;
    struct pending_cmd *next;
} pending_cmd;

static pending_cmd *pending;

/* What the handlers promise the workflow layer once they have checked. */
static void command_check(wf_cmd_kind kind, const wf_cmd_args *a, const db_endpoint *dest)
{
    if (dest && kind != WF_CMD_RESUME)
        die("a destination handed to a command other than resume");
    if (dest && ((!dest->host && !dest->socket) || !dest->user || !*dest->user || dest->port > 65535))
        die("resume got a destination that pbconv_endpoint should have refused");
    if (!a)
        return;
    if ((kind == WF_CMD_SWITCH || kind == WF_CMD_REVERSE) &&
        (!(a->max_lag_s >= 0 && a->max_lag_s <= 86400) ||
         (a->timeout_ms && (a->timeout_ms < CUTOVER_MIN_TIMEOUT_MS || a->timeout_ms > 3600000))))
        die("cutover command with max_lag_s %g, timeout_ms %u: outside what the handler accepts", a->max_lag_s,
            a->timeout_ms);
    if (kind == WF_CMD_VDIFF && a->chunk_rows > 1000000)
        die("VDiff command with chunk_rows %llu", (unsigned long long)a->chunk_rows);
    if (kind == WF_CMD_DETACH && a->primary != WF_SIDE_ANY && a->primary != WF_SIDE_SOURCE &&
        a->primary != WF_SIDE_DEST)
        die("detach command with side %d", (int)a->primary);
}

void __wrap_import_command_with(import_wf *wf, wf_cmd_kind kind, const wf_cmd_args *args, db_endpoint *dest,
                                wf_cmd_cb cb, void *data);
void __wrap_import_command_with(import_wf *wf, wf_cmd_kind kind, const wf_cmd_args *args, db_endpoint *dest,
                                wf_cmd_cb cb, void *data)
{
    command_check(kind, args, dest);
    pending_cmd *p = xcalloc(1, sizeof *p);
    *p = (pending_cmd){wf, kind, {0}, dest, cb, data, pending};
    if (args)
        p->args = *args;
    pending = p;
}

/* Answer the queued commands as the workflow's thread would: with the
 * wf_err the input picked, and on success with what the command reports. */
static void commands_answer(uint8_t outcome)
{
    while (pending) {
        pending_cmd *p = pending;
        pending = p->next;
        wf_cmd_result res;
        memset(&res, 0, sizeof res);
        res.code = (wf_err)((outcome & 15) % (WF_EINTERNAL + 1));
        sbuf msg = SBUF_INIT;
        if (res.code)
            sbuf_setf(&msg, "the workflow refused the command (error %d in the fuzzer)", (int)res.code);
        else if (p->kind == WF_CMD_DETACH)
            sbuf_setf(&msg, "writes stay open on the destination; the source stays fenced");
        res.message = (char *)sbuf_cstr(&msg);
        if (!res.code && (p->kind == WF_CMD_SWITCH || p->kind == WF_CMD_REVERSE)) {
            static const char *steps[] = {"check_lag", "fence", "wait_applied", "commit", "start_reverse"};
            for (size_t i = 0; i < sizeof steps / sizeof *steps; i++)
                res.report.steps[res.report.nsteps++] = (cutover_step){steps[i], (uint32_t)i * 3, true};
            vpos_set(&res.report.source, "0-1-42", "mariadb-bin.000002", 1234);
            vpos_set(&res.report.dest, "0-2-7", "mariadb-bin.000001", 567);
            res.report.total_ms = 12;
            res.report.fenced_accounts = xstrdup("'app'@'%'");
        }
        if (!res.code && p->kind == WF_CMD_DETACH)
            res.primary = (wf_side)((outcome >> 5) % 3);
        p->cb(p->wf, &res, p->data);
        vpos_clear(&res.report.source);
        vpos_clear(&res.report.dest);
        free(res.report.fenced_accounts);
        sbuf_free(&msg);
        db_endpoint_free(p->dest);
        free(p);
    }
}

/* ---- the agent, without servers ----------------------------------------------------------- */

static struct {
    uv_loop_t loop;
    agent_config cfg;
    streams *streams;
    workflows *workflows;
    service *svc;
    const rpc_method *methods;
    size_t nmethods;
    const ProtobufCMessageDescriptor **reply_types;
} F;

static void fixture_changed(void *data)
{
    (void)data;
    if (F.svc)
        service_notify(F.svc);
}

static void endpoint_unreachable(db_endpoint *ep)
{
    memset(ep, 0, sizeof *ep);
    ep->host = xstrdup("127.0.0.1");
    ep->port = 1; /* nothing listens: every connection is refused at once */
    ep->user = xstrdup("fuzz");
    ep->connect_timeout_s = 1;
    ep->read_timeout_s = 1;
}

/* Workflow "w" and a running stream "s", as the agent would have them. */
static void fixtures_ensure(void)
{
    sbuf err = SBUF_INIT;
    if (!workflows_get(F.workflows, "w")) {
        import_def def;
        memset(&def, 0, sizeof def);
        def.name = xstrdup("w");
        endpoint_unreachable(&def.dest);
        def.tables.include = xcalloc(1, sizeof *def.tables.include);
        def.tables.include[0] = xstrdup("shop.*");
        def.tables.ninclude = 1;
        import_options_defaults(&def.opt);
        def.sidecar = xstrdup(F.cfg.sidecar_schema);
        def.fence_exempt = xstrdup("");
        def.created_ms = clock_wall_ms();
        if (workflows_create(F.workflows, &def, &err) != WF_OK)
            die("cannot create workflow w: %s", err.buf);
        import_def_clear(&def);
    }
    /* A stream that is still stopping is restarted before a later input. */
    stream *s = streams_get(F.streams, "s");
    if (s && stream_running(s)) {
        sbuf_free(&err);
        return;
    }
    stream_config cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.name = xstrdup("s");
    endpoint_unreachable(&cfg.source);
    endpoint_unreachable(&cfg.target);
    vpos_set(&cfg.start, "0-1-1", "", 0);
    cfg.ddl = DDL_STOP;
    cfg.server_id = streams_server_id(F.streams, "s");
    cfg.sidecar_schema = xstrdup(F.cfg.sidecar_schema);
    if (streams_start(F.streams, &cfg, &err) != WF_OK)
        die("cannot start stream s: %s", err.buf);
    stream_config_clear(&cfg);
    sbuf_free(&err);
}

/* The reply type of each method, from the .proto's service descriptors. */
static const ProtobufCMessageDescriptor *reply_type_of(const rpc_method *m)
{
    static const ProtobufCServiceDescriptor *const services[] = {&tabletagent__v1__tablet_agent__descriptor,
                                                                &grpc__health__v1__health__descriptor};
    for (size_t i = 0; i < sizeof services / sizeof *services; i++) {
        const ProtobufCServiceDescriptor *sd = services[i];
        size_t n = strlen(sd->name);
        if (strncmp(m->path, "/", 1) != 0 || strncmp(m->path + 1, sd->name, n) != 0 || m->path[n + 1] != '/')
            continue;
        const ProtobufCMethodDescriptor *md = protobuf_c_service_descriptor_get_method_by_name(sd, m->path + n + 2);
        if (!md)
            break;
        if (md->input != m->request)
            die("%s: the method table's request type %s is not the .proto's %s", m->path, m->request->name,
                md->input->name);
        return md->output;
    }
    die("%s: no such method in the .proto", m->path);
}

static char state_dir[] = FUZZ_DIR "/state-XXXXXX";

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static void flag_set(void *arg)
{
    *(bool *)arg = true;
}

static void loop_until(const bool *done)
{
    for (int i = 0; !*done && i < FUZZ_WAIT_MS; i++) {
        uv_run(&F.loop, UV_RUN_NOWAIT);
        if (!*done)
            usleep(1000);
    }
    if (!*done)
        die("the agent did not stop within %d ms", FUZZ_WAIT_MS);
}

/* At exit, before LeakSanitizer's check (atexit handlers run newest first):
 * stop and free everything the way agent_stop does, so no thread is still
 * working when memory is judged, and the state directory goes. */
static void teardown(void)
{
    current_method = "(teardown)";
    bool workflows_done = false, streams_done = false;
    service_close(F.svc);
    workflows_stop_all(F.workflows, flag_set, &workflows_done);
    loop_until(&workflows_done);
    streams_stop_all(F.streams, flag_set, &streams_done);
    loop_until(&streams_done);
    workflows_free(F.workflows);
    streams_free(F.streams);
    service_free(F.svc);
    F.svc = NULL;
    uv_run(&F.loop, UV_RUN_NOWAIT); /* the handles the registries closed */
    if (uv_loop_close(&F.loop) != 0)
        die("a libuv handle is still open after the agent stopped");
    config_free(&F.cfg);
    free(F.reply_types);
    strlist_clear(&secrets);
    mysql_library_end();
    nftw(state_dir, remove_entry, 8, FTW_DEPTH | FTW_PHYS);
}

static void setup(void)
{
    loop_thread = pthread_self();
    mysql_library_init(0, NULL, NULL);
    mkdir(FUZZ_DIR, 0700);
    mkdir(FUZZ_SECRET_DIR, 0700);
    FILE *f = fopen(FUZZ_SECRET_FILE, "w");
    if (!f)
        die("cannot write %s: %s", FUZZ_SECRET_FILE, strerror(errno));
    fputs(FUZZ_FILE_SECRET "\n", f);
    fclose(f);
    /* A link out of the password directory: the policy must refuse it. */
    if (symlink("/etc/hostname", FUZZ_SECRET_DIR "/escape") != 0 && errno != EEXIST)
        die("cannot link %s/escape: %s", FUZZ_SECRET_DIR, strerror(errno));
    setenv(FUZZ_ENV_NAME, FUZZ_ENV_SECRET, 1);

    if (!mkdtemp(state_dir))
        die("cannot make a state directory: %s", strerror(errno));
    char *argv[] = {"fuzz_rpc",
                    "--source-host=127.0.0.1",
                    "--source-port=1",
                    "--source-user=fuzz",
                    "--state-dir",
                    state_dir,
                    "--endpoint-password-dirs=" FUZZ_SECRET_DIR,
                    "--endpoint-password-env-prefix=" FUZZ_ENV_PREFIX,
                    "--log-level=error",
                    NULL};
    sbuf err = SBUF_INIT;
    if (config_load(&F.cfg, (int)(sizeof argv / sizeof *argv) - 1, argv, &err) != 0)
        die("config: %s", err.buf);
    sbuf_free(&err);
    uv_loop_init(&F.loop);
    F.streams = streams_new(&F.loop, F.cfg.server_id, fixture_changed, NULL);
    F.workflows = workflows_new(&F.loop, F.cfg.state_dir, &F.cfg.source, fixture_changed, NULL);
    service_deps deps = {&F.loop, &F.cfg, NULL, F.streams, F.workflows};
    F.svc = service_new(&deps);
    F.methods = service_methods(&F.nmethods);
    F.reply_types = xcalloc(F.nmethods, sizeof *F.reply_types);
    for (size_t i = 0; i < F.nmethods; i++)
        F.reply_types[i] = reply_type_of(&F.methods[i]);
    fixtures_ensure();
    atexit(teardown);
}

/* ---- one input ---------------------------------------------------------------------------- */

/* What rpc_server.h promises a handler about the unpacked request, checked
 * on protobuf-c's result rather than on the wire as pbcheck does: every
 * string valid UTF-8, every enum a value the .proto defines. */
static void request_promise_check(const ProtobufCMessage *m, unsigned depth)
{
    const ProtobufCMessageDescriptor *d = m->descriptor;
    if (depth > 64)
        die("request nested more than 64 deep after pbcheck accepted it");
    for (unsigned i = 0; i < d->n_fields; i++) {
        const ProtobufCFieldDescriptor *f = &d->fields[i];
        const char *base = (const char *)m;
        if (f->type != PROTOBUF_C_TYPE_STRING && f->type != PROTOBUF_C_TYPE_MESSAGE &&
            f->type != PROTOBUF_C_TYPE_ENUM)
            continue;
        size_t n = 1;
        const char *elems = base + f->offset;
        if (f->label == PROTOBUF_C_LABEL_REPEATED) {
            n = *(const size_t *)(base + f->quantifier_offset);
            elems = *(const char *const *)(base + f->offset);
        }
        for (size_t k = 0; k < n; k++) {
            if (f->type == PROTOBUF_C_TYPE_ENUM) {
                int v = ((const int *)elems)[k];
                if (!protobuf_c_enum_descriptor_get_value(f->descriptor, v))
                    die("%s.%s holds %d, which pbcheck let through", d->name, f->name, v);
                continue;
            }
            const void *e = ((const void *const *)elems)[k];
            if (!e)
                continue;
            if (f->type == PROTOBUF_C_TYPE_MESSAGE)
                request_promise_check(e, depth + 1);
            else if (!utf8_valid(e, strlen(e)))
                die("%s.%s is not UTF-8, yet pbcheck let it through", d->name, f->name);
        }
    }
}

/* rpc_server.c's request_decode: the request, or NULL with *why set. */
static ProtobufCMessage *request_decode(const ProtobufCMessageDescriptor *d, const uint8_t *buf, size_t len,
                                        sbuf *why)
{
    ProtobufCMessage *m = protobuf_c_message_unpack(d, NULL, len, buf);
    if (!m) {
        sbuf_setf(why, "malformed request: cannot decode it as %s; check the client's .proto version", d->name);
    } else if (pbcheck_request(d, buf, len, why) != 0) {
        protobuf_c_message_free_unpacked(m, NULL);
        m = NULL;
    }
    return m;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!F.svc)
        setup();
    if (size < 2)
        return 0;
    size_t mi = data[0] % F.nmethods;
    uint8_t outcome = data[1];
    bool client_leaves = outcome & 16;
    /* On the heap and freed after the input, as rpc_server frees a call
     * once it has ended: a handler that kept it would write freed memory. */
    rpc_call *call = xcalloc(1, sizeof *call);
    call->method = &F.methods[mi];
    call->reply_type = F.reply_types[mi];
    current_method = call->method->path;
    /* A copy of exactly the request's size, so ASan sees any overread. */
    size_t n = size - 2;
    uint8_t *buf = xmalloc(n ? n : 1);
    memcpy(buf, data + 2, n);

    sbuf why = SBUF_INIT;
    ProtobufCMessage *req = request_decode(call->method->request, buf, n, &why);
    secrets_collect(req);
    if (req) {
        request_promise_check(req, 0);
        call->method->handler(call, req, F.svc);
        protobuf_c_message_free_unpacked(req, NULL);
    } else {
        rpc_call_fail(call, GRPC_STATUS_INVALID_ARGUMENT, "%s", sbuf_cstr(&why));
    }
    sbuf_free(&why);
    free(buf);

    /* Later turns of the loop: the client may leave first, then the
     * workflow answers; a stream gets one update before its client goes. */
    if (client_leaves)
        call_cancel(call);
    commands_answer(outcome);
    if (!call->ended && call->method->kind == RPC_SERVER_STREAM) {
        service_notify(F.svc);
        call_cancel(call);
    }
    for (int i = 0; !call->ended && i < FUZZ_WAIT_MS; i++) {
        uv_run(&F.loop, UV_RUN_NOWAIT);
        if (!call->ended)
            usleep(1000);
    }
    if (!call->ended)
        die("the call was never ended: its client would wait forever");
    uv_run(&F.loop, UV_RUN_NOWAIT);
    if (pending)
        die("a command was queued after the call ended");
    service_notify(F.svc); /* the agent's state changes: nobody may still watch through the call */
    free(call);
    strlist_clear(&secrets);
    current_method = "(between inputs)";
    fixtures_ensure();
    return 0;
}
