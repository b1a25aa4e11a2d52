/* Unit tests for rpc/pbcheck: requests checked on their wire bytes, replies
 * made valid UTF-8 without touching the handler's message.
 *
 * Requests are written byte by byte with the w_* helpers, because the cases
 * that matter (a NUL inside a string, bytes that are not UTF-8, enum values
 * the .proto does not have, broken framing) are exactly what a protobuf
 * library will not produce. Each check runs on an exact-size heap copy, so
 * valgrind reports any read past the end. */
#include <CUnit/CUnit.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rpc/pbcheck.h"
#include "tabletagent/v1/tabletagent.pb-c.h"

#define CREATE_IMPORT (&tabletagent__v1__create_import_request__descriptor)
#define START_STREAM (&tabletagent__v1__start_stream_request__descriptor)
#define GET_WORKFLOW (&tabletagent__v1__get_workflow_request__descriptor)
#define DETACH (&tabletagent__v1__detach_request__descriptor)

#define DDL_CHOICES "(use DDL_STOP, DDL_EXEC or DDL_IGNORE)"
#define SIDE_CHOICES "(use SIDE_SOURCE or SIDE_DESTINATION)"
#define FIX "; check the client's protobuf library"

/* ---- writing wire bytes --------------------------------------------------- */

static void w_varint(sbuf *b, uint64_t v)
{
    do {
        uint8_t c = v & 0x7F;
        v >>= 7;
        sbuf_addc(b, (char)(v ? c | 0x80 : c));
    } while (v);
}

static void w_key(sbuf *b, unsigned field, unsigned wire)
{
    w_varint(b, (uint64_t)field << 3 | wire);
}

static void w_bytes(sbuf *b, unsigned field, const char *s, size_t n)
{
    w_key(b, field, 2);
    w_varint(b, n);
    sbuf_add(b, s, n);
}

/* A string literal, embedded NULs included. */
#define w_str(b, field, lit) w_bytes((b), (field), (lit), sizeof(lit) - 1)

static void w_msg(sbuf *b, unsigned field, const sbuf *inner)
{
    w_bytes(b, field, inner->buf ? inner->buf : "", inner->len);
}

static void w_enum(sbuf *b, unsigned field, uint64_t v)
{
    w_key(b, field, 0);
    w_varint(b, v);
}

/* ---- checking -------------------------------------------------------------- */

static int run_check(const ProtobufCMessageDescriptor *d, const void *bytes, size_t len, sbuf *err)
{
    uint8_t *copy = xmalloc(len ? len : 1);
    memcpy(copy, bytes, len);
    int rc = pbcheck_request(d, copy, len, err);
    free(copy);
    return rc;
}

/* want NULL: the request passes; else it fails with exactly want. */
static void check_req(const ProtobufCMessageDescriptor *d, const sbuf *b, const char *want, unsigned line)
{
    sbuf err = SBUF_INIT, msg = SBUF_INIT;
    int rc = run_check(d, b->buf, b->len, &err);
    if (!want)
        sbuf_addf(&msg, "expected to pass, got rc %d: %s", rc, sbuf_cstr(&err));
    else
        sbuf_addf(&msg, "expected \"%s\", got rc %d: \"%s\"", want, rc, sbuf_cstr(&err));
    bool ok = want ? rc == -1 && strcmp(sbuf_cstr(&err), want) == 0 : rc == 0;
    CU_assertImplementation(ok, line, sbuf_cstr(&msg), __FILE__, "", CU_FALSE);
    sbuf_free(&msg);
    sbuf_free(&err);
}

#define REQ_OK(d, b) check_req((d), (b), NULL, __LINE__)
#define REQ_BAD(d, b, want) check_req((d), (b), (want), __LINE__)

static void packed(const ProtobufCMessage *m, sbuf *out)
{
    sbuf_reset(out);
    size_t n = protobuf_c_message_get_packed_size(m);
    sbuf_grow(out, n + 1);
    protobuf_c_message_pack(m, (uint8_t *)out->buf);
    sbuf_setlen(out, n);
}

/* A full CreateImportRequest, as a protobuf library packs it. */
static void create_import_packed(sbuf *out)
{
    Tabletagent__V1__CreateImportRequest r = TABLETAGENT__V1__CREATE_IMPORT_REQUEST__INIT;
    Tabletagent__V1__Endpoint dest = TABLETAGENT__V1__ENDPOINT__INIT;
    Tabletagent__V1__TableFilter tables = TABLETAGENT__V1__TABLE_FILTER__INIT;
    Tabletagent__V1__ImportOptions opt = TABLETAGENT__V1__IMPORT_OPTIONS__INIT;
    char *include[] = {"shop.*", "caf\xc3\xa9.men\xc3\xbc"}, *exclude[] = {"shop.tmp_\xf0\x9f\x98\x80"};
    r.name = "wf-1";
    r.destination = &dest;
    dest.host = "127.0.0.1";
    dest.port = 3307;
    dest.user = "r\xc3\xb6\xc3\xb6t";
    dest.password = "secret";
    r.tables = &tables;
    tables.n_include = 2;
    tables.include = include;
    tables.n_exclude = 1;
    tables.exclude = exclude;
    r.options = &opt;
    opt.parallelism = 8;
    opt.chunk_rows = 5000;
    opt.ddl = TABLETAGENT__V1__DDL_POLICY__DDL_EXEC;
    packed(&r.base, out);
}

/* ---- requests ---------------------------------------------------------------- */

static void test_request_valid(void)
{
    sbuf b = SBUF_INIT, in = SBUF_INIT;

    create_import_packed(&b);
    REQ_OK(CREATE_IMPORT, &b);
    sbuf_reset(&b);
    REQ_OK(CREATE_IMPORT, &b); /* the empty message */

    /* proto3 clients leave out zeros, but may send them */
    sbuf_reset(&b);
    w_str(&b, 1, "");
    w_enum(&in, 4, 0);
    w_msg(&b, 4, &in);
    REQ_OK(CREATE_IMPORT, &b);
    sbuf_reset(&in);
    w_enum(&in, 4, TABLETAGENT__V1__DDL_POLICY__DDL_IGNORE);
    w_msg(&b, 4, &in);
    REQ_OK(CREATE_IMPORT, &b);

    /* a field twice, and fields this agent does not know, of every wire type */
    sbuf_reset(&b);
    w_str(&b, 1, "wf");
    w_str(&b, 1, "wf2");
    w_enum(&b, 99, 12345);
    w_key(&b, 98, 1);
    sbuf_add(&b, "\xff\0\0\0\0\0\0\x01", 8);
    w_str(&b, 97, "\0\xff not a string here");
    w_key(&b, 96, 5);
    sbuf_add(&b, "\0\xff\0\xff", 4);
    REQ_OK(GET_WORKFLOW, &b);

    /* StartStream: positions, filters, ddl */
    sbuf_reset(&b);
    sbuf_reset(&in);
    w_str(&b, 1, "s1");
    w_str(&in, 1, "0-1-5,1-1-7");
    w_msg(&b, 4, &in);
    w_msg(&b, 8, &in);
    w_enum(&b, 6, TABLETAGENT__V1__DDL_POLICY__DDL_STOP);
    REQ_OK(START_STREAM, &b);

    sbuf_free(&b);
    sbuf_free(&in);
}

static void test_request_strings(void)
{
    sbuf b = SBUF_INIT, in = SBUF_INIT, t = SBUF_INIT;

    /* protobuf-c alone would hand the handler "wf" */
    w_str(&b, 1, "wf\0evil");
    ProtobufCMessage *m = protobuf_c_message_unpack(GET_WORKFLOW, NULL, b.len, (uint8_t *)b.buf);
    CU_ASSERT_FATAL(m != NULL);
    CU_ASSERT_STRING_EQUAL(((Tabletagent__V1__GetWorkflowRequest *)m)->name, "wf");
    protobuf_c_message_free_unpacked(m, NULL);
    REQ_BAD(GET_WORKFLOW, &b, "name contains a NUL byte (byte 3 of 7); remove it");

    sbuf_reset(&b);
    w_str(&in, 1, "127.0.0.1");
    w_str(&in, 4, "ro\0ot");
    w_msg(&b, 2, &in);
    REQ_BAD(CREATE_IMPORT, &b, "destination.user contains a NUL byte (byte 3 of 5); remove it");

    /* the secret itself never shows in the message */
    sbuf_reset(&b);
    sbuf_reset(&in);
    w_str(&in, 7, "hunter\0\xff");
    w_msg(&b, 2, &in);
    REQ_BAD(CREATE_IMPORT, &b, "destination.password contains a NUL byte (byte 7 of 8); remove it");

    sbuf_reset(&b);
    w_str(&b, 1, "wf\xff");
    REQ_BAD(GET_WORKFLOW, &b, "name is not valid UTF-8 (byte 3 of 3); send text as UTF-8");
    static const char *const invalid[] = {
        "\x80",         /* a continuation byte alone */
        "\xc3",         /* cut short */
        "\xc0\xaf",     /* overlong '/' */
        "\xed\xa0\x80", /* a UTF-16 surrogate */
        "\xf4\x90\x80\x80", /* past U+10FFFF */
        "\xfe",
    };
    for (size_t i = 0; i < sizeof invalid / sizeof invalid[0]; i++) {
        sbuf_reset(&b);
        w_bytes(&b, 1, invalid[i], strlen(invalid[i]));
        sbuf want = SBUF_INIT;
        sbuf_addf(&want, "name is not valid UTF-8 (byte 1 of %zu); send text as UTF-8", strlen(invalid[i]));
        REQ_BAD(GET_WORKFLOW, &b, want.buf);
        sbuf_free(&want);
    }

    /* repeated strings are named with their index */
    sbuf_reset(&b);
    w_str(&t, 1, "a.b");
    w_str(&t, 2, "x.y");
    w_str(&t, 1, "c.\xc3");
    w_msg(&b, 3, &t);
    REQ_BAD(CREATE_IMPORT, &b, "tables.include[1] is not valid UTF-8 (byte 3 of 3); send text as UTF-8");

    /* two levels down */
    sbuf_reset(&b);
    sbuf_reset(&in);
    w_str(&in, 1, "0-1-2\0");
    w_msg(&b, 8, &in);
    REQ_BAD(START_STREAM, &b, "stop_at.gtid contains a NUL byte (byte 6 of 6); remove it");

    sbuf_free(&b);
    sbuf_free(&in);
    sbuf_free(&t);
}

/* message Packed { repeated DdlPolicy ddl = 1; }: no request of the API
 * has a repeated enum yet, but a client may pack one when it does. */
static const ProtobufCFieldDescriptor packed_fields[] = {{
    .name = "ddl",
    .id = 1,
    .label = PROTOBUF_C_LABEL_REPEATED,
    .type = PROTOBUF_C_TYPE_ENUM,
    .descriptor = &tabletagent__v1__ddl_policy__descriptor,
    .flags = PROTOBUF_C_FIELD_FLAG_PACKED,
}};
static const ProtobufCIntRange packed_ranges[] = {{1, 0}, {0, 1}};
static const ProtobufCMessageDescriptor packed_desc = {
    .magic = PROTOBUF_C__MESSAGE_DESCRIPTOR_MAGIC,
    .name = "test.Packed",
    .n_fields = 1,
    .fields = packed_fields,
    .n_field_ranges = 1,
    .field_ranges = packed_ranges,
};

static void test_request_enums(void)
{
    sbuf b = SBUF_INIT, in = SBUF_INIT;

    w_enum(&in, 4, 7);
    w_msg(&b, 4, &in);
    REQ_BAD(CREATE_IMPORT, &b, "options.ddl: unknown value 7 " DDL_CHOICES);

    sbuf_reset(&b);
    w_enum(&b, 6, 4);
    REQ_BAD(START_STREAM, &b, "ddl: unknown value 4 " DDL_CHOICES);

    sbuf_reset(&b);
    w_str(&b, 1, "wf");
    w_enum(&b, 2, 9);
    REQ_BAD(DETACH, &b, "primary: unknown value 9 " SIDE_CHOICES);

    /* negative values travel as 10-byte varints */
    sbuf_reset(&b);
    w_enum(&b, 2, (uint64_t)-1);
    REQ_BAD(DETACH, &b, "primary: unknown value -1 " SIDE_CHOICES);
    /* protobuf-c keeps the low 32 bits: this is SIDE_SOURCE to a handler */
    sbuf_reset(&b);
    w_enum(&b, 2, ((uint64_t)1 << 32) | TABLETAGENT__V1__SIDE__SIDE_SOURCE);
    REQ_OK(DETACH, &b);

    /* an enum must be a varint (packed only when repeated) */
    sbuf_reset(&b);
    sbuf_reset(&in);
    w_str(&in, 4, "\x01");
    w_msg(&b, 4, &in);
    REQ_BAD(CREATE_IMPORT, &b, "malformed request: options.ddl: expected a varint" FIX);

    /* repeated, packed and not */
    sbuf_reset(&b);
    w_bytes(&b, 1, "\x01\x02\x03\x00", 4);
    w_enum(&b, 1, 2);
    REQ_OK(&packed_desc, &b);
    w_bytes(&b, 1, "\x01\x09", 2);
    REQ_BAD(&packed_desc, &b, "ddl[6]: unknown value 9 " DDL_CHOICES);
    sbuf_reset(&b);
    w_enum(&b, 1, 1);
    w_enum(&b, 1, 8);
    REQ_BAD(&packed_desc, &b, "ddl[1]: unknown value 8 " DDL_CHOICES);
    sbuf_reset(&b);
    w_bytes(&b, 1, "\x01\x80", 2);
    REQ_BAD(&packed_desc, &b, "malformed request: ddl: bad varint in a packed list" FIX);

    sbuf_free(&b);
    sbuf_free(&in);
}

static void test_request_malformed(void)
{
    static const struct {
        const char *bytes;
        size_t len;
        const char *want;
    } cases[] = {
        {"\x0a", 1, "malformed request: truncated field" FIX},
        {"\x0a\x05" "ab", 4, "malformed request: truncated field" FIX},
        {"\x0a\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01", 12, "malformed request: truncated field" FIX},
        {"\x0a\xff\xff\xff\xff\xff\xff\xff\xff\x7f", 10, "malformed request: truncated field" FIX},
        {"\x08", 1, "malformed request: truncated field" FIX},
        {"\x08\x80", 2, "malformed request: truncated field" FIX},
        {"\x11" "1234567", 8, "malformed request: truncated field" FIX},
        {"\x15" "123", 4, "malformed request: truncated field" FIX},
        {"\x00\x01", 2, "malformed request: bad field key" FIX},
        {"\x80", 1, "malformed request: bad field key" FIX},
        {"\xf8\xff\xff\xff\xff\x01", 6, "malformed request: bad field key" FIX}, /* field 2^33 - 1 */
        {"\x0b", 1, "malformed request: unsupported wire type" FIX},
        {"\x0c", 1, "malformed request: unsupported wire type" FIX},
        {"\x0e\x00", 2, "malformed request: unsupported wire type" FIX},
        {"\x0a\x01\x00", 3, "name contains a NUL byte (byte 1 of 1); remove it"},
        {"\x08\x01", 2, "malformed request: name: expected a length-delimited value" FIX},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        sbuf b = SBUF_INIT;
        sbuf_add(&b, cases[i].bytes, cases[i].len);
        check_req(GET_WORKFLOW, &b, cases[i].want, __LINE__);
        sbuf_free(&b);
    }

    sbuf b = SBUF_INIT, in = SBUF_INIT;
    w_str(&in, 4, "root");
    sbuf_setlen(&in, in.len - 1);
    w_msg(&b, 2, &in);
    REQ_BAD(CREATE_IMPORT, &b, "malformed request: destination: truncated field" FIX);
    sbuf_reset(&b);
    w_enum(&b, 2, 1);
    REQ_BAD(CREATE_IMPORT, &b, "malformed request: destination: expected a length-delimited value" FIX);
    sbuf_free(&b);
    sbuf_free(&in);
}

/* Every prefix and every one-byte change of a real request: the checker
 * answers (0, or -1 with a message that is itself valid UTF-8) and, under
 * valgrind, never reads outside the buffer. */
static void test_request_hostile(void)
{
    sbuf b = SBUF_INIT, err = SBUF_INIT;
    create_import_packed(&b);
    unsigned failed = 0;
    for (size_t n = 0; n <= b.len; n++) {
        sbuf_reset(&err);
        if (run_check(CREATE_IMPORT, b.buf, n, &err) != 0) {
            failed++;
            CU_ASSERT(err.len > 0 && utf8_valid(err.buf, err.len));
        }
    }
    CU_ASSERT(failed > 0);
    uint8_t *m = xmalloc(b.len);
    for (size_t i = 0; i < b.len; i++) {
        for (unsigned v = 0; v < 256; v++) {
            memcpy(m, b.buf, b.len);
            m[i] = (uint8_t)v;
            sbuf_reset(&err);
            if (run_check(CREATE_IMPORT, m, b.len, &err) != 0)
                CU_ASSERT(err.len > 0 && utf8_valid(err.buf, err.len));
        }
    }
    free(m);
    sbuf_free(&b);
    sbuf_free(&err);
}

/* ---- replies ------------------------------------------------------------------ */

static void test_reply_valid_is_itself(void)
{
    Tabletagent__V1__Workflow wf = TABLETAGENT__V1__WORKFLOW__INIT;
    Tabletagent__V1__Error e = TABLETAGENT__V1__ERROR__INIT;
    Tabletagent__V1__TableProgress t0 = TABLETAGENT__V1__TABLE_PROGRESS__INIT;
    Tabletagent__V1__TableProgress *tables[] = {&t0};
    wf.name = "wf";
    wf.message = "caf\xc3\xa9 \xf0\x9f\x98\x80 line\nbreak\ttab";
    wf.error = &e;
    e.message = "";
    e.code = NULL; /* unset strings are fine */
    wf.n_tables = 1;
    wf.tables = tables;
    t0.name = "t\xc3\xa9";
    ProtobufCMessage *copy = (ProtobufCMessage *)&e; /* must be reset */
    CU_ASSERT_PTR_EQUAL(pbcheck_reply(&wf.base, &copy), &wf.base);
    CU_ASSERT_PTR_NULL(copy);
}

static void test_reply_invalid_is_escaped_copy(void)
{
    Tabletagent__V1__ListWorkflowsResponse resp = TABLETAGENT__V1__LIST_WORKFLOWS_RESPONSE__INIT;
    Tabletagent__V1__Workflow ok = TABLETAGENT__V1__WORKFLOW__INIT, bad = TABLETAGENT__V1__WORKFLOW__INIT;
    Tabletagent__V1__Error e = TABLETAGENT__V1__ERROR__INIT;
    Tabletagent__V1__TableProgress t0 = TABLETAGENT__V1__TABLE_PROGRESS__INIT, t1 = t0;
    Tabletagent__V1__TableProgress *tables[] = {&t0, &t1};
    Tabletagent__V1__Workflow *wfs[] = {&ok, &bad};
    ok.name = "ok";
    ok.message = "all fine \xc3\xa9";
    bad.name = "bad";
    bad.state = TABLETAGENT__V1__WORKFLOW_STATE__WORKFLOW_ERROR;
    bad.message = "copy failed: \xff\xfe";
    bad.error = &e;
    e.code = "APPLY";
    e.message = "Incorrect string value: '\xf0\x9f' for column";
    bad.n_tables = 2;
    bad.tables = tables;
    t0.name = "fine";
    t1.name = "caf\xe9\nx"; /* latin1; the newline stays */
    resp.n_workflows = 2;
    resp.workflows = wfs;

    char *before = bad.message;
    ProtobufCMessage *copy;
    const ProtobufCMessage *out = pbcheck_reply(&resp.base, &copy);
    CU_ASSERT_FATAL(copy != NULL && out == copy);
    CU_ASSERT_PTR_EQUAL(bad.message, before); /* the handler's message is untouched */
    CU_ASSERT_STRING_EQUAL(bad.message, "copy failed: \xff\xfe");

    /* The copy packs exactly as if the handler had written the escapes. */
    sbuf got = SBUF_INIT, want = SBUF_INIT, err = SBUF_INIT;
    packed(out, &got);
    bad.message = "copy failed: \\xFF\\xFE";
    e.message = "Incorrect string value: '\\xF0\\x9F' for column";
    t1.name = "caf\\xE9\nx";
    packed(&resp.base, &want);
    CU_ASSERT_EQUAL(got.len, want.len);
    CU_ASSERT(got.len == want.len && memcmp(got.buf, want.buf, got.len) == 0);
    CU_ASSERT_EQUAL(pbcheck_request(resp.base.descriptor, (uint8_t *)got.buf, got.len, &err), 0);
    ProtobufCMessage *none;
    CU_ASSERT_PTR_EQUAL(pbcheck_reply(&resp.base, &none), &resp.base); /* the escapes are valid */

    protobuf_c_message_free_unpacked(copy, NULL);
    sbuf_free(&got);
    sbuf_free(&want);
    sbuf_free(&err);
}

/* Repeated strings, in a message of its own kind. */
static void test_reply_repeated_strings(void)
{
    Tabletagent__V1__PreflightReport rep = TABLETAGENT__V1__PREFLIGHT_REPORT__INIT;
    Tabletagent__V1__PreflightCheck c = TABLETAGENT__V1__PREFLIGHT_CHECK__INIT;
    Tabletagent__V1__PreflightCheck *checks[] = {&c};
    char *objects[] = {"db.ok", "db.\x80\x80", "db.ok2"};
    rep.n_checks = 1;
    rep.checks = checks;
    c.id = "schema.charset";
    c.n_objects = 3;
    c.objects = objects;

    ProtobufCMessage *copy;
    pbcheck_reply(&rep.base, &copy);
    CU_ASSERT_FATAL(copy != NULL);
    const Tabletagent__V1__PreflightCheck *fixed = ((Tabletagent__V1__PreflightReport *)copy)->checks[0];
    CU_ASSERT_EQUAL(fixed->n_objects, 3);
    CU_ASSERT_STRING_EQUAL(fixed->objects[0], "db.ok");
    CU_ASSERT_STRING_EQUAL(fixed->objects[1], "db.\\x80\\x80");
    CU_ASSERT_STRING_EQUAL(fixed->objects[2], "db.ok2");
    CU_ASSERT_STRING_EQUAL(objects[1], "db.\x80\x80");
    protobuf_c_message_free_unpacked(copy, NULL);
}

int suite_pbcheck(void)
{
    static const struct {
        const char *name;
        CU_TestFunc fn;
    } tests[] = {
        {"request valid", test_request_valid},
        {"request strings", test_request_strings},
        {"request enums", test_request_enums},
        {"request malformed", test_request_malformed},
        {"request hostile bytes", test_request_hostile},
        {"reply valid is itself", test_reply_valid_is_itself},
        {"reply invalid is an escaped copy", test_reply_invalid_is_escaped_copy},
        {"reply repeated strings", test_reply_repeated_strings},
    };
    CU_pSuite suite = CU_add_suite("pbcheck", NULL, NULL);
    if (!suite)
        return -1;
    for (size_t i = 0; i < sizeof tests / sizeof tests[0]; i++)
        if (!CU_add_test(suite, tests[i].name, tests[i].fn))
            return -1;
    return 0;
}
