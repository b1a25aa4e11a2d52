/* rpc_seeds: writes the seed corpus of fuzz_rpc (tests/fuzz/corpus/rpc).
 *
 * Each seed is an input in fuzz_rpc's format: the method's index in
 * service_methods(), the outcome byte, then a request packed by protobuf-c
 * from a message built here: one valid request per method, and variants
 * that reach the checks behind it (a name the fixtures hold, a password by
 * file, by variable and inline, a start by GTID and by file, a replica id
 * taken by the fixture's stream, out-of-range numbers). The names and
 * paths match fuzz_rpc.c's fixtures ("w", "s", its password directory and
 * variable prefix). Indices are looked up by method path, so the seeds
 * follow the method table; run make fuzz-rpc-seeds after changing it or the
 * .proto.
 *
 * Usage: rpc_seeds DIR */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "grpc/health/v1/health.pb-c.h"
#include "rpc/service.h"
#include "tabletagent/v1/tabletagent.pb-c.h"
#include "workflow/streams.h"

#define SECRET_DIR "/tmp/tablet-agent-fuzz-rpc/secrets"
#define SECRET_FILE SECRET_DIR "/dest"
#define SECRET_ENV_PREFIX "FUZZ_RPC_"
#define SECRET_ENV SECRET_ENV_PREFIX "DEST"

static const char *dir;
static unsigned written;

/* One seed: DIR/NN-Method-tag. A 0x7F byte in the packed request becomes
 * a NUL (C strings cannot carry one); cut drops that many trailing bytes. */
static void seed_cut(const char *method, const char *tag, unsigned outcome, const ProtobufCMessage *m, size_t cut)
{
    size_t n;
    const rpc_method *methods = service_methods(&n);
    size_t i = 0;
    while (i < n && strcmp(strrchr(methods[i].path, '/') + 1, method) != 0)
        i++;
    if (i == n || methods[i].request != m->descriptor) {
        fprintf(stderr, "rpc_seeds: no method %s taking %s\n", method, m->descriptor->name);
        exit(1);
    }
    size_t len = protobuf_c_message_get_packed_size(m);
    uint8_t *buf = malloc(len + 2);
    buf[0] = (uint8_t)i;
    buf[1] = (uint8_t)outcome;
    protobuf_c_message_pack(m, buf + 2);
    uint8_t *del = memchr(buf + 2, 0x7F, len);
    if (del)
        *del = 0;
    len = cut < len ? len - cut : 0;
    sbuf path = SBUF_INIT;
    sbuf_addf(&path, "%s/%02u-%s-%s", dir, written++, method, tag);
    FILE *f = fopen(path.buf, "wb");
    if (!f || fwrite(buf, 1, len + 2, f) != len + 2 || fclose(f) != 0) {
        fprintf(stderr, "rpc_seeds: cannot write %s\n", path.buf);
        exit(1);
    }
    sbuf_free(&path);
    free(buf);
}

static void seed(const char *method, const char *tag, unsigned outcome, const ProtobufCMessage *m)
{
    seed_cut(method, tag, outcome, m, 0);
}

static Tabletagent__V1__Endpoint endpoint(const char *host, unsigned port, const char *user)
{
    Tabletagent__V1__Endpoint e = TABLETAGENT__V1__ENDPOINT__INIT;
    e.host = (char *)host;
    e.port = port;
    e.user = (char *)user;
    return e;
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: rpc_seeds DIR\n");
        return 2;
    }
    dir = argv[1];

    Tabletagent__V1__GetStatusRequest status = TABLETAGENT__V1__GET_STATUS_REQUEST__INIT;
    seed("GetStatus", "plain", 0, &status.base);
    Tabletagent__V1__StreamHealthRequest health = TABLETAGENT__V1__STREAM_HEALTH_REQUEST__INIT;
    seed("StreamHealth", "plain", 0, &health.base);
    seed("StreamHealth", "client-leaves", 16, &health.base);

    const char *services[] = {"", "tabletagent.v1.TabletAgent", "liveness", "billing.v1.Billing"};
    for (size_t i = 0; i < 4; i++) {
        Grpc__Health__V1__HealthCheckRequest h = GRPC__HEALTH__V1__HEALTH_CHECK_REQUEST__INIT;
        h.service = (char *)services[i];
        char tag[16];
        snprintf(tag, sizeof tag, "service%zu", i);
        seed("Check", tag, 0, &h.base);
        seed("Watch", tag, 0, &h.base);
    }

    char *include[] = {"shop.*", "crm.accounts"}, *exclude[] = {"shop.tmp_*"};
    Tabletagent__V1__TableFilter tables = TABLETAGENT__V1__TABLE_FILTER__INIT;
    tables.include = include;
    tables.n_include = 2;
    tables.exclude = exclude;
    tables.n_exclude = 1;

    Tabletagent__V1__Endpoint by_file = endpoint("127.0.0.1", 1, "tablet_agent");
    by_file.password_file = SECRET_FILE;
    Tabletagent__V1__Endpoint by_env = endpoint("db-2.internal", 3307, "tablet_agent");
    by_env.password_env = SECRET_ENV;
    by_env.tls = true;
    Tabletagent__V1__Endpoint inline_pw = endpoint("", 0, "migrator");
    inline_pw.socket = "/run/mysqld/mysqld.sock";
    inline_pw.password = "p4ss-canary-0001";

    Tabletagent__V1__PreflightRequest pf = TABLETAGENT__V1__PREFLIGHT_REQUEST__INIT;
    seed("Preflight", "source-only", 0, &pf.base);
    pf.destination = &by_file;
    pf.tables = &tables;
    pf.retention_hours = 48;
    seed("Preflight", "dest-file", 0, &pf.base);
    pf.destination = &inline_pw;
    pf.retention_hours = 87601;
    seed("Preflight", "retention-too-long", 0, &pf.base);

    Tabletagent__V1__ImportOptions opt = TABLETAGENT__V1__IMPORT_OPTIONS__INIT;
    opt.parallelism = 4;
    opt.chunk_rows = 10000;
    opt.throttle_threads_running = 50;
    opt.ddl = TABLETAGENT__V1__DDL_POLICY__DDL_EXEC;
    opt.snapshot_seconds = 600;
    char *overrides[] = {"schema.engine", "destination.distinct"};
    Tabletagent__V1__CreateImportRequest ci = TABLETAGENT__V1__CREATE_IMPORT_REQUEST__INIT;
    ci.name = "shop";
    ci.destination = &by_env;
    ci.tables = &tables;
    ci.options = &opt;
    ci.override_checks = overrides;
    ci.n_override_checks = 1;
    seed("CreateImport", "env", 0, &ci.base);
    ci.destination = &inline_pw;
    ci.n_override_checks = 2;
    seed("CreateImport", "inline-no-override", 0, &ci.base);
    ci.name = "w";
    ci.n_override_checks = 0;
    seed("CreateImport", "name-taken", 0, &ci.base);
    ci.name = "s";
    seed("CreateImport", "stream-name", 0, &ci.base);

    Tabletagent__V1__GetWorkflowRequest gw = TABLETAGENT__V1__GET_WORKFLOW_REQUEST__INIT;
    gw.name = "w";
    seed("GetWorkflow", "w", 0, &gw.base);
    gw.name = "nope";
    seed("GetWorkflow", "unknown", 0, &gw.base);
    Tabletagent__V1__ListWorkflowsRequest lw = TABLETAGENT__V1__LIST_WORKFLOWS_REQUEST__INIT;
    seed("ListWorkflows", "plain", 0, &lw.base);

    Tabletagent__V1__WorkflowCommandRequest wc = TABLETAGENT__V1__WORKFLOW_COMMAND_REQUEST__INIT;
    wc.name = "w";
    seed("PauseWorkflow", "ok", 0, &wc.base);
    seed("PauseWorkflow", "state", WF_ESTATE, &wc.base);
    seed("ResumeWorkflow", "ok", 0, &wc.base);
    wc.destination = &inline_pw;
    seed("ResumeWorkflow", "new-password", 0, &wc.base);
    wc.destination = &by_file;
    seed("ResumeWorkflow", "client-leaves", 16 | WF_EUNAVAILABLE, &wc.base);

    Tabletagent__V1__CutoverRequest co = TABLETAGENT__V1__CUTOVER_REQUEST__INIT;
    co.name = "w";
    co.timeout_ms = 30000;
    co.max_lag_seconds = 10;
    seed("SwitchTraffic", "ok", 0, &co.base);
    seed("ReverseTraffic", "ok", 0, &co.base);
    seed("SwitchTraffic", "timeout", WF_ETIMEOUT, &co.base);
    co.timeout_ms = 999;
    seed("SwitchTraffic", "timeout-too-short", 0, &co.base);
    co.timeout_ms = 0;
    co.max_lag_seconds = -1;
    seed("ReverseTraffic", "negative-lag", 0, &co.base);

    Tabletagent__V1__DetachRequest de = TABLETAGENT__V1__DETACH_REQUEST__INIT;
    de.name = "w";
    de.primary = TABLETAGENT__V1__SIDE__SIDE_DESTINATION;
    seed("Detach", "ok", 2 << 5, &de.base);
    de.primary = TABLETAGENT__V1__SIDE__SIDE_SOURCE;
    de.force = true;
    seed("Detach", "refused", WF_ESTATE, &de.base);

    Tabletagent__V1__VDiffRequest vd = TABLETAGENT__V1__VDIFF_REQUEST__INIT;
    vd.name = "w";
    vd.chunk_rows = 1000;
    seed("VDiff", "ok", 0, &vd.base);
    seed("GetVDiff", "ok", 0, &vd.base);
    vd.chunk_rows = 1000001;
    seed("VDiff", "chunk-too-big", 0, &vd.base);

    Tabletagent__V1__Position gtid = TABLETAGENT__V1__POSITION__INIT, file = TABLETAGENT__V1__POSITION__INIT;
    gtid.gtid = "0-1-100,1-2-5";
    file.file = "mariadb-bin.000042";
    file.offset = 4;
    Tabletagent__V1__Endpoint target = endpoint("10.0.0.9", 3306, "tablet_agent");
    target.password_file = SECRET_FILE;
    Tabletagent__V1__StartStreamRequest ss = TABLETAGENT__V1__START_STREAM_REQUEST__INIT;
    ss.name = "orders";
    ss.target = &target;
    ss.start = &gtid;
    ss.tables = &tables;
    ss.ddl = TABLETAGENT__V1__DDL_POLICY__DDL_IGNORE;
    seed("StartStream", "gtid", 0, &ss.base);
    ss.source = &by_env;
    ss.start = &file;
    ss.stop_at = &gtid;
    ss.server_id = 4242;
    ss.reset = true;
    seed("StartStream", "file-stop-at", 0, &ss.base);
    streams *reg = streams_new(NULL, 0, NULL, NULL);
    ss.source = NULL;
    ss.stop_at = NULL;
    ss.server_id = streams_server_id(reg, "s");
    streams_free(reg);
    seed("StartStream", "replica-id-taken", 0, &ss.base);
    ss.server_id = 0;
    ss.name = "w.reverse";
    seed("StartStream", "workflow-name", 0, &ss.base);

    Tabletagent__V1__StopStreamRequest st = TABLETAGENT__V1__STOP_STREAM_REQUEST__INIT;
    st.name = "s";
    seed("StopStream", "s", 0, &st.base);
    Tabletagent__V1__GetStreamRequest gs = TABLETAGENT__V1__GET_STREAM_REQUEST__INIT;
    gs.name = "s";
    seed("GetStream", "s", 0, &gs.base);
    gs.name = "bad name!";
    seed("GetStream", "bad-name", 0, &gs.base);

    /* Refusals: each reaches one check. */
    Tabletagent__V1__PreflightRequest bad = TABLETAGENT__V1__PREFLIGHT_REQUEST__INIT;
    Tabletagent__V1__Endpoint e = endpoint("127.0.0.1", 70000, "tablet_agent");
    bad.destination = &e;
    seed("Preflight", "port-out-of-range", 0, &bad.base);
    e = endpoint("127.0.0.1", 1, "tablet_agent");
    e.password = "inline";
    e.password_env = SECRET_ENV;
    seed("Preflight", "two-passwords", 0, &bad.base);
    const char *files[] = {"/etc/shadow", SECRET_DIR "/missing", SECRET_DIR "/escape", SECRET_DIR "/../secrets/dest",
                           "secrets/dest"};
    for (size_t i = 0; i < sizeof files / sizeof *files; i++) {
        e = endpoint("127.0.0.1", 1, "tablet_agent");
        e.password_file = (char *)files[i];
        char tag[32];
        snprintf(tag, sizeof tag, "password-file%zu", i);
        seed("Preflight", tag, 0, &bad.base);
    }
    const char *envs[] = {"HOME", SECRET_ENV_PREFIX "UNSET", SECRET_ENV_PREFIX};
    for (size_t i = 0; i < sizeof envs / sizeof *envs; i++) {
        e = endpoint("127.0.0.1", 1, "tablet_agent");
        e.password_env = (char *)envs[i];
        char tag[32];
        snprintf(tag, sizeof tag, "password-env%zu", i);
        seed("Preflight", tag, 0, &bad.base);
    }
    e = endpoint("", 0, "");
    e.tls = true;
    seed("Preflight", "dest-tls-only", 0, &bad.base);
    e = endpoint("127.0.0.1", 1, "");
    seed("Preflight", "dest-no-user", 0, &bad.base);
    bad.destination = NULL;
    char *empty[] = {""}, long_pattern[301];
    memset(long_pattern, 'x', 300);
    long_pattern[300] = 0;
    char *longs[] = {"shop.*", long_pattern};
    Tabletagent__V1__TableFilter badtables = TABLETAGENT__V1__TABLE_FILTER__INIT;
    badtables.include = empty;
    badtables.n_include = 1;
    bad.tables = &badtables;
    seed("Preflight", "empty-pattern", 0, &bad.base);
    badtables.include = include;
    badtables.exclude = longs;
    badtables.n_exclude = 2;
    seed("Preflight", "long-exclude", 0, &bad.base);

    Tabletagent__V1__ImportOptions badopt = TABLETAGENT__V1__IMPORT_OPTIONS__INIT;
    badopt.parallelism = 65;
    ci.name = "shop";
    ci.destination = &by_file;
    ci.options = &badopt;
    seed("CreateImport", "parallelism", 0, &ci.base);
    badopt.parallelism = 0;
    badopt.chunk_rows = 5;
    seed("CreateImport", "chunk-rows", 0, &ci.base);
    badopt.chunk_rows = 0;
    badopt.snapshot_seconds = 86401;
    seed("CreateImport", "snapshot-seconds", 0, &ci.base);
    ci.options = &opt;
    char *unknown[] = {"no.such_check"};
    ci.override_checks = unknown;
    ci.n_override_checks = 1;
    seed("CreateImport", "unknown-override", 0, &ci.base);
    ci.n_override_checks = 0;
    ci.name = "a-name-of-sixty-five-characters-which-is-one-more-than-allowed-xx";
    seed("CreateImport", "long-name", 0, &ci.base);
    ci.name = "caf\xc3\xa9";
    seed("CreateImport", "non-ascii-name", 0, &ci.base);
    ci.name = "sh\x7fop";
    seed("CreateImport", "nul-in-name", 0, &ci.base);
    ci.name = "sh\xffop";
    seed("CreateImport", "not-utf8", 0, &ci.base);
    ci.name = "shop";
    seed_cut("CreateImport", "truncated", 0, &ci.base, 3);
    ci.destination = NULL;
    seed("CreateImport", "no-destination", 0, &ci.base);

    Tabletagent__V1__Position nooff = TABLETAGENT__V1__POSITION__INIT, nofile = TABLETAGENT__V1__POSITION__INIT,
                              badgtid = TABLETAGENT__V1__POSITION__INIT, empty_pos = TABLETAGENT__V1__POSITION__INIT;
    nooff.file = "mariadb-bin.000001";
    nofile.offset = 4;
    badgtid.gtid = "0-1-x";
    ss.name = "orders";
    ss.server_id = 0;
    ss.start = &nooff;
    seed("StartStream", "file-without-offset", 0, &ss.base);
    ss.start = &nofile;
    seed("StartStream", "offset-without-file", 0, &ss.base);
    ss.start = &badgtid;
    seed("StartStream", "bad-gtid", 0, &ss.base);
    ss.start = &empty_pos;
    seed("StartStream", "empty-start", 0, &ss.base);
    ss.start = &gtid;
    ss.stop_at = &badgtid;
    seed("StartStream", "bad-stop-at", 0, &ss.base);
    ss.stop_at = NULL;
    ss.target = NULL;
    seed("StartStream", "no-target", 0, &ss.base);
    ss.target = &target;
    ss.source = &e;
    seed("StartStream", "bad-source", 0, &ss.base);
    ss.source = NULL;
    ss.ddl = 7;
    seed("StartStream", "unknown-ddl", 0, &ss.base);

    de.primary = 9;
    seed("Detach", "unknown-side", 0, &de.base);
    co.name = "w";
    co.timeout_ms = 0;
    co.max_lag_seconds = 0.0 / 0.0;
    seed("SwitchTraffic", "nan-lag", 0, &co.base);
    co.max_lag_seconds = 86401;
    seed("SwitchTraffic", "lag-too-big", 0, &co.base);
    co.max_lag_seconds = 0;
    co.timeout_ms = 3600001;
    seed("ReverseTraffic", "timeout-too-long", 0, &co.base);

    /* Every answer a workflow command can get. */
    wc.destination = NULL;
    for (unsigned code = 1; code <= WF_EINTERNAL; code++) {
        char tag[32];
        snprintf(tag, sizeof tag, "wf-error%u", code);
        seed("PauseWorkflow", tag, code, &wc.base);
    }
    de.primary = TABLETAGENT__V1__SIDE__SIDE_UNSPECIFIED;
    de.force = true;
    seed("Detach", "forced", 0, &de.base);
    seed("Detach", "client-leaves", 16, &de.base);
    vd.chunk_rows = 0;
    seed("VDiff", "client-leaves", 16 | WF_EUNAVAILABLE, &vd.base);

    printf("rpc_seeds: %u seeds in %s\n", written, dir);
    return 0;
}
