/* Unit tests for lib/gtid: parsing, canonical text, set algebra and adds.
 *
 * Most checks compare whole strings (canonical text, full error messages),
 * so a change in wording or ordering shows up here. The helpers take the
 * caller's line so a failure points at the case, not at the helper. */
#include <CUnit/CUnit.h>
#include <stdio.h>
#include <string.h>

#include "lib/gtid.h"

#define U1 "3e11fa47-71ca-11e1-9e33-c80aa9429562"
#define U2 "8d2b0a43-1f0c-11ef-a1b2-0242ac120002"
#define U3 "00000000-0000-0000-0000-000000000001"
#define U1_UPPER "3E11FA47-71CA-11E1-9E33-C80AA9429562"

#define CHECK_STR(got, want) check_str((got), (want), __LINE__)
#define CANON(fl, in, want) check_canon((fl), (in), (want), __LINE__)
#define BAD(fl, in, want) check_bad((fl), (in), (want), __LINE__)
#define FMT_IS(set, want) check_format((set), (want), __LINE__)

static void check_str(const char *got, const char *want, unsigned line)
{
    sbuf msg = SBUF_INIT;
    sbuf_addf(&msg, "expected \"%s\", got \"%s\"", want, got);
    CU_assertImplementation(strcmp(got, want) == 0, line, sbuf_cstr(&msg), __FILE__, "",
                            CU_FALSE);
    sbuf_free(&msg);
}

static void check_format(const gtid_set *s, const char *want, unsigned line)
{
    sbuf out = SBUF_INIT;
    gtid_set_format(s, &out);
    check_str(sbuf_cstr(&out), want, line);
    sbuf_free(&out);
}

static gtid_set *parse_ok(server_flavor fl, const char *text)
{
    sbuf err = SBUF_INIT;
    gtid_set *s = NULL;
    int rc = gtid_set_parse(fl, text, &s, &err);
    if (rc != 0)
        fprintf(stderr, "\nunexpected parse error: %s\n", sbuf_cstr(&err));
    sbuf_free(&err);
    CU_ASSERT_FATAL(rc == 0 && s != NULL);
    return s;
}

/* Parses in, checks the canonical text, and checks that the canonical text
 * parses back to an equal set that formats identically. */
static void check_canon(server_flavor fl, const char *in, const char *want, unsigned line)
{
    gtid_set *s = parse_ok(fl, in);
    check_format(s, want, line);
    gtid_set *again = parse_ok(fl, want);
    CU_assertImplementation(gtid_set_equal(s, again), line, "canonical text re-parses equal",
                            __FILE__, "", CU_FALSE);
    check_format(again, want, line);
    gtid_set_free(again);
    gtid_set_free(s);
}

static void check_bad(server_flavor fl, const char *in, const char *want, unsigned line)
{
    sbuf err = SBUF_INIT;
    gtid_set *s = (gtid_set *)&err; /* must be reset to NULL on failure */
    int rc = gtid_set_parse(fl, in, &s, &err);
    CU_assertImplementation(rc == -1 && s == NULL, line, "parse fails and sets *out to NULL",
                            __FILE__, "", CU_FALSE);
    check_str(sbuf_cstr(&err), want, line);
    if (rc == 0)
        gtid_set_free(s);
    sbuf_free(&err);
}

static void uuid_bytes(const char *text, uint8_t out[16])
{
    for (int k = 0, i = 0; k < 16; k++) {
        unsigned v;
        if (text[i] == '-')
            i++;
        sscanf(text + i, "%2x", &v);
        out[k] = (uint8_t)v;
        i += 2;
    }
}

static void add_my(gtid_set *s, const char *uuid, const char *tag, uint64_t gno)
{
    uint8_t u[16];
    sbuf err = SBUF_INIT;
    uuid_bytes(uuid, u);
    int rc = gtid_set_add_mysql(s, u, tag, gno, &err);
    if (rc != 0)
        fprintf(stderr, "\nunexpected add error: %s\n", sbuf_cstr(&err));
    CU_ASSERT_EQUAL(rc, 0);
    sbuf_free(&err);
}

static void add_maria(gtid_set *s, uint32_t domain, uint32_t server, uint64_t seq)
{
    sbuf err = SBUF_INIT;
    CU_ASSERT_EQUAL(gtid_set_add_mariadb(s, domain, server, seq, &err), 0);
    sbuf_free(&err);
}

/* Parses both texts and applies the relation; for table-like checks. */
static bool rel(server_flavor fl, const char *a, const char *b,
                bool (*fn)(const gtid_set *, const gtid_set *))
{
    gtid_set *x = parse_ok(fl, a), *y = parse_ok(fl, b);
    bool r = fn(x, y);
    gtid_set_free(x);
    gtid_set_free(y);
    return r;
}

/* a |= b must give want and leave b as it was. */
static void check_union(server_flavor fl, const char *a, const char *b, const char *want,
                        unsigned line)
{
    sbuf err = SBUF_INIT, before = SBUF_INIT;
    gtid_set *x = parse_ok(fl, a), *y = parse_ok(fl, b);
    gtid_set_format(y, &before);
    CU_assertImplementation(gtid_set_union(x, y, &err) == 0, line, "union succeeds", __FILE__,
                            "", CU_FALSE);
    check_format(x, want, line);
    check_format(y, sbuf_cstr(&before), line);
    gtid_set_free(x);
    gtid_set_free(y);
    sbuf_free(&before);
    sbuf_free(&err);
}

#define UNION(fl, a, b, want) check_union((fl), (a), (b), (want), __LINE__)

/* ---- MariaDB parsing ---------------------------------------------------- */

static void test_mariadb_parse_canonical(void)
{
    CANON(FLAVOR_MARIADB, "0-1-100", "0-1-100");
    CANON(FLAVOR_MARIADB, "2-1-5,0-1-100,1-3-7", "0-1-100,1-3-7,2-1-5");
    /* MariaDB skips blanks before a number, so before an entry they are fine */
    CANON(FLAVOR_MARIADB, "1-1-1, 0-2-2", "0-2-2,1-1-1");
    CANON(FLAVOR_MARIADB, "  1-1-1,\n 0-2-2", "0-2-2,1-1-1");
    CANON(FLAVOR_MARIADB, "\t0-1-2,\r\n\t1-1-3", "0-1-2,1-1-3");
    CANON(FLAVOR_MARIADB, "007-01-0042", "7-1-42");
    CANON(FLAVOR_MARIADB, "0-0-0", "0-0-0");
    CANON(FLAVOR_MARIADB, "4294967295-4294967295-18446744073709551615",
          "4294967295-4294967295-18446744073709551615");
    CANON(FLAVOR_MARIADB, "", "");
}

static void test_mariadb_parse_errors(void)
{
    BAD(FLAVOR_MARIADB, "0-1",
        "malformed GTID \"0-1\" at position 1: expected domain-server-sequence");
    BAD(FLAVOR_MARIADB, "0-1-2, 1-2",
        "malformed GTID \"1-2\" at position 8: expected domain-server-sequence");
    BAD(FLAVOR_MARIADB, "0",
        "malformed GTID \"0\" at position 1: expected domain-server-sequence");
    BAD(FLAVOR_MARIADB, "0-1-",
        "malformed GTID \"0-1-\" at position 1: expected domain-server-sequence");
    BAD(FLAVOR_MARIADB, "0-1-2-3",
        "malformed GTID \"0-1-2-3\" at position 1: expected domain-server-sequence");
    BAD(FLAVOR_MARIADB, "a-1-2",
        "malformed GTID \"a-1-2\" at position 1: expected domain-server-sequence");
    BAD(FLAVOR_MARIADB, "0-1-2x",
        "malformed GTID \"0-1-2x\" at position 1: expected domain-server-sequence");
    BAD(FLAVOR_MARIADB, "0-0x1-2",
        "malformed GTID \"0-0x1-2\" at position 1: expected domain-server-sequence");
    BAD(FLAVOR_MARIADB, "+0-1-2",
        "malformed GTID \"+0-1-2\" at position 1: expected domain-server-sequence");
    BAD(FLAVOR_MARIADB, "-0-1-2",
        "malformed GTID \"-0-1-2\" at position 1: expected domain-server-sequence");
    BAD(FLAVOR_MARIADB, "0-+1-2",
        "malformed GTID \"0-+1-2\" at position 1: expected domain-server-sequence");
    BAD(FLAVOR_MARIADB, "0-1--2",
        "malformed GTID \"0-1--2\" at position 1: expected domain-server-sequence");
    BAD(FLAVOR_MARIADB, "0 - 1 - 2",
        "malformed GTID \"0 - 1 - 2\" at position 1: expected domain-server-sequence");
    /* A newline is only a separator next to a comma; shown escaped. */
    BAD(FLAVOR_MARIADB, "0-1-2\n1-1-1",
        "malformed GTID \"0-1-2\\n1-1-1\" at position 1: expected domain-server-sequence");
    BAD(FLAVOR_MARIADB, "4294967296-1-1",
        "malformed GTID \"4294967296-1-1\" at position 1: domain exceeds 4294967295");
    BAD(FLAVOR_MARIADB, "0-4294967296-1",
        "malformed GTID \"0-4294967296-1\" at position 1: server id exceeds 4294967295");
    BAD(FLAVOR_MARIADB, "1-1-1,0-1-18446744073709551616",
        "malformed GTID \"0-1-18446744073709551616\" at position 7: "
        "sequence number exceeds 18446744073709551615");
    BAD(FLAVOR_MARIADB, "0-1-99999999999999999999999",
        "malformed GTID \"0-1-99999999999999999999999\" at position 1: "
        "sequence number exceeds 18446744073709551615");
    BAD(FLAVOR_MARIADB, "0-1-2,,1-1-1",
        "empty GTID in \"0-1-2,,1-1-1\" at position 7: expected domain-server-sequence");
    BAD(FLAVOR_MARIADB, "0-1-2, ,1-1-1",
        "empty GTID in \"0-1-2, ,1-1-1\" at position 8: expected domain-server-sequence");
    BAD(FLAVOR_MARIADB, "0-1-2,",
        "empty GTID in \"0-1-2,\" at position 7: expected domain-server-sequence");
    BAD(FLAVOR_MARIADB, "0-1-2, ,\n ",
        "empty GTID in \"0-1-2, ,\\n \" at position 8: expected domain-server-sequence");
    BAD(FLAVOR_MARIADB, ",0-1-2",
        "empty GTID in \",0-1-2\" at position 1: expected domain-server-sequence");
    BAD(FLAVOR_MARIADB, ",", "empty GTID in \",\" at position 1: expected domain-server-sequence");
    /* Long inputs are quoted around the problem, not from the start. */
    BAD(FLAVOR_MARIADB, "0-1-100,1-1-200,2-1-300,,3-1-1",
        "empty GTID in \"...1-1-200,2-1-300,,3-1-1\" at position 25: "
        "expected domain-server-sequence");
    BAD(FLAVOR_MARIADB, "0-1-2,0-2-3",
        "duplicate domain in GTID \"0-2-3\" at position 7: "
        "domain 0 already appears earlier in the list");
    BAD(FLAVOR_MARIADB, "5-1-2, 1-1-1, 05-1-2",
        "duplicate domain in GTID \"05-1-2\" at position 15: "
        "domain 5 already appears earlier in the list");
    /* MariaDB refuses a blank after a number: "Could not parse GTID list" */
    BAD(FLAVOR_MARIADB, "0-1-2 ,1-1-1",
        "unexpected space in \"0-1-2 ,1-1-1\" at position 6: "
        "MariaDB reads blanks only before a GTID; remove it");
    BAD(FLAVOR_MARIADB, "0-1-2\n",
        "unexpected newline in \"0-1-2\\n\" at position 6: "
        "MariaDB reads blanks only before a GTID; remove it");
    BAD(FLAVOR_MARIADB, "1-1-1, 0-1-2\t",
        "unexpected tab in \"1-1-1, 0-1-2\\t\" at position 13: "
        "MariaDB reads blanks only before a GTID; remove it");
    BAD(FLAVOR_MARIADB, "0-1-2\r\n,1-1-3",
        "unexpected carriage return in \"0-1-2\\x0d\\n,1-1-3\" at position 6: "
        "MariaDB reads blanks only before a GTID; remove it");
    BAD(FLAVOR_MARIADB, "0-1-100,1-1-200,2-1-300 ,3-1-1",
        "unexpected space in \"...,1-1-200,2-1-300 ,3-1-1\" at position 24: "
        "MariaDB reads blanks only before a GTID; remove it");
    BAD(FLAVOR_MARIADB, " \n\t ",
        "unexpected space in \" \\n\\t \" at position 1: "
        "MariaDB reads blanks only before a GTID; send \"\" for no position");
    BAD(FLAVOR_MARIADB, "\n",
        "unexpected newline in \"\\n\" at position 1: "
        "MariaDB reads blanks only before a GTID; send \"\" for no position");
}

/* ---- MySQL parsing ------------------------------------------------------ */

static void test_mysql_parse_canonical(void)
{
    CANON(FLAVOR_MYSQL, U1 ":1-5", U1 ":1-5");
    CANON(FLAVOR_MYSQL, U1 ":7", U1 ":7");
    CANON(FLAVOR_MYSQL, U1 ":1-1", U1 ":1");
    CANON(FLAVOR_MYSQL, U1_UPPER ":1-3", U1 ":1-3");
    CANON(FLAVOR_MYSQL, U2 ":1-5," U1 ":3," U3 ":9", U3 ":9," U1 ":3," U2 ":1-5");
    CANON(FLAVOR_MYSQL, U1 ":1-3,\n" U2 ":1-2,\n" U1_UPPER ":4-6", U1 ":1-6," U2 ":1-2");
    CANON(FLAVOR_MYSQL, "  \n" U1 ":1 ,\n\t" U2 ":2 \n", U1 ":1," U2 ":2");
    /* Intervals: adjacent, overlapping, nested, unsorted, bridged. */
    CANON(FLAVOR_MYSQL, U1 ":1-3:4-5", U1 ":1-5");
    CANON(FLAVOR_MYSQL, U1 ":1-5:3-8", U1 ":1-8");
    CANON(FLAVOR_MYSQL, U1 ":1-10:2-3", U1 ":1-10");
    CANON(FLAVOR_MYSQL, U1 ":10-20:1-3:5", U1 ":1-3:5:10-20");
    CANON(FLAVOR_MYSQL, U1 ":7:5:6", U1 ":5-7");
    CANON(FLAVOR_MYSQL, U1 ":1:3:5:7:2-6", U1 ":1-7");
    CANON(FLAVOR_MYSQL, U1 ":1:3:5:7:2-4", U1 ":1-5:7");
    CANON(FLAVOR_MYSQL, U1 ":9223372036854775806", U1 ":9223372036854775806");
    CANON(FLAVOR_MYSQL, U1 ":1-9223372036854775806:5", U1 ":1-9223372036854775806");
    /* Tags. */
    CANON(FLAVOR_MYSQL, U1 ":1-5:mytag:1-3:7", U1 ":1-5:mytag:1-3:7");
    CANON(FLAVOR_MYSQL, U1 ":MyTag:1", U1 ":mytag:1");
    CANON(FLAVOR_MYSQL, U1 ":zz:1:aa:2:1-3", U1 ":aa:1-3:zz:1");
    CANON(FLAVOR_MYSQL, U1 ":t:5," U1 ":1", U1 ":1:t:5");
    CANON(FLAVOR_MYSQL, U1 ":t:5", U1 ":t:5");
    CANON(FLAVOR_MYSQL, U1 ":Tag:1," U1 ":TAG:2:4," U1 ":tag:3", U1 ":tag:1-4");
    CANON(FLAVOR_MYSQL, U1 ":_x9:1:X_9:2", U1 ":_x9:1:x_9:2");
    CANON(FLAVOR_MYSQL, U2 ":b:1," U1 ":a:1:2," U2 ":3", U1 ":a:1-2," U2 ":3:b:1");
    CANON(FLAVOR_MYSQL, U1 ":abcdefghijklmnopqrstuvwxyz_12345:1",
          U1 ":abcdefghijklmnopqrstuvwxyz_12345:1");
    CANON(FLAVOR_MYSQL, "", "");
    CANON(FLAVOR_MYSQL, " \n ", "");
}

static void test_mysql_parse_errors(void)
{
    BAD(FLAVOR_MYSQL, "xyz:1",
        "malformed UUID \"xyz\" at position 1: expected 36 characters of 8-4-4-4-12 hex digits");
    BAD(FLAVOR_MYSQL, "3e11fa47-71ca-11e1-9e33-c80aa942956g:1",
        "malformed UUID \"3e11fa47-71ca-11e1-9e33-c80aa942956g\" at position 1: "
        "expected 36 characters of 8-4-4-4-12 hex digits");
    BAD(FLAVOR_MYSQL, "3e11fa4-771ca-11e1-9e33-c80aa9429562:1",
        "malformed UUID \"3e11fa4-771ca-11e1-9e33-c80aa9429562\" at position 1: "
        "expected 36 characters of 8-4-4-4-12 hex digits");
    BAD(FLAVOR_MYSQL, U1 "0:1",
        "malformed UUID \"" U1 "0\" at position 1: "
        "expected 36 characters of 8-4-4-4-12 hex digits");
    BAD(FLAVOR_MYSQL, U1 ":1, " U2 " :1",
        "malformed UUID \"" U2 " \" at position 41: "
        "expected 36 characters of 8-4-4-4-12 hex digits");
    BAD(FLAVOR_MYSQL, U1,
        "malformed GTID set group \"" U1 "\" at position 1: "
        "expected uuid:interval, found no interval after the UUID");
    BAD(FLAVOR_MYSQL, U1 ":",
        "empty element in GTID set group \"" U1 ":\" at position 38: "
        "expected an interval or a tag after ':'");
    BAD(FLAVOR_MYSQL, U1 ":1::3",
        "empty element in GTID set group \"" U1 ":1::3\" at position 40: "
        "expected an interval or a tag after ':'");
    BAD(FLAVOR_MYSQL, U1 ":0",
        "invalid GTID interval \"0\" at position 38: transaction numbers start at 1");
    BAD(FLAVOR_MYSQL, U1 ":0-5",
        "invalid GTID interval \"0-5\" at position 38: transaction numbers start at 1");
    BAD(FLAVOR_MYSQL, U1 ":1-3:5-3",
        "invalid GTID interval \"5-3\" at position 42: start 5 is greater than end 3");
    BAD(FLAVOR_MYSQL, U1 ":9223372036854775807",
        "invalid GTID interval \"9223372036854775807\" at position 38: "
        "numbers must not exceed 9223372036854775806");
    BAD(FLAVOR_MYSQL, U1 ":1-99999999999999999999",
        "invalid GTID interval \"1-99999999999999999999\" at position 38: "
        "numbers must not exceed 9223372036854775806");
    static const char *const junk[] = {"1-", "-5", "+5", "1-+5", " 1", "1 ", "1a", "1-2-3",
                                       "1--2", "0x5"};
    for (size_t i = 0; i < sizeof(junk) / sizeof(junk[0]); i++) {
        sbuf in = SBUF_INIT, want = SBUF_INIT;
        sbuf_addf(&in, U1 ":%s:9", junk[i]);
        sbuf_addf(&want,
                  "malformed GTID interval \"%s\" at position 38: "
                  "expected n or a-b with decimal numbers, or a tag",
                  junk[i]);
        BAD(FLAVOR_MYSQL, sbuf_cstr(&in), sbuf_cstr(&want));
        sbuf_free(&in);
        sbuf_free(&want);
    }
    /* MySQL reads 010 as octal 8 and refuses 08 */
    BAD(FLAVOR_MYSQL, U1 ":010",
        "malformed GTID interval \"010\" at position 38: "
        "remove the leading zeros (MySQL reads 010 as octal 8)");
    BAD(FLAVOR_MYSQL, U1 ":1-08",
        "malformed GTID interval \"1-08\" at position 38: "
        "remove the leading zeros (MySQL reads 010 as octal 8)");
    BAD(FLAVOR_MYSQL, U1 ":00",
        "malformed GTID interval \"00\" at position 38: "
        "remove the leading zeros (MySQL reads 010 as octal 8)");
    BAD(FLAVOR_MYSQL, U1 ":1-5:mytag",
        "malformed GTID tag \"mytag\" at position 42: "
        "a tag must be followed by at least one interval");
    BAD(FLAVOR_MYSQL, U1 ":a:b:1",
        "malformed GTID tag \"a\" at position 38: "
        "a tag must be followed by at least one interval");
    BAD(FLAVOR_MYSQL, U1 ":my-tag:1",
        "malformed GTID tag \"my-tag\" at position 38: "
        "expected only letters, digits and underscores");
    BAD(FLAVOR_MYSQL, U1 ":tag\xc3\xa9:1",
        "malformed GTID tag \"tag\xc3\xa9\" at position 38: "
        "expected only letters, digits and underscores");
    BAD(FLAVOR_MYSQL, U1 ":abcdefghijklmnopqrstuvwxyz_123456:1",
        "malformed GTID tag \"abcdefghijklmnopqrstuvwxyz_123456\" at position 38: "
        "expected 1 to 32 characters");
    BAD(FLAVOR_MYSQL, U1 ":1,," U2 ":1",
        "empty GTID set group in \"...-c80aa9429562:1,," U2 ":1\" at position 40: "
        "expected uuid:interval");
    BAD(FLAVOR_MYSQL, U1 ":1,\n",
        "empty GTID set group in \"...c80aa9429562:1,\\n\" at position 41: "
        "expected uuid:interval");
    BAD(FLAVOR_MYSQL, ",",
        "empty GTID set group in \",\" at position 1: expected uuid:interval");
}

/* ---- relations ---------------------------------------------------------- */

static void test_equal(void)
{
    CU_ASSERT_TRUE(rel(FLAVOR_MARIADB, "1-1-1,0-1-2", "0-1-2, 1-1-1", gtid_set_equal));
    CU_ASSERT_TRUE(rel(FLAVOR_MARIADB, "", "", gtid_set_equal));
    CU_ASSERT_FALSE(rel(FLAVOR_MARIADB, "0-1-2", "0-2-2", gtid_set_equal));
    CU_ASSERT_FALSE(rel(FLAVOR_MARIADB, "0-1-2", "0-1-3", gtid_set_equal));
    CU_ASSERT_FALSE(rel(FLAVOR_MARIADB, "0-1-2", "0-1-2,1-1-1", gtid_set_equal));
    CU_ASSERT_FALSE(rel(FLAVOR_MARIADB, "0-1-2", "1-1-2", gtid_set_equal));
    CU_ASSERT_FALSE(rel(FLAVOR_MARIADB, "", "0-1-2", gtid_set_equal));

    CU_ASSERT_TRUE(rel(FLAVOR_MYSQL, U1 ":1-3:4-5", U1_UPPER ":1-5", gtid_set_equal));
    CU_ASSERT_TRUE(rel(FLAVOR_MYSQL, U1 ":1," U2 ":T:1", U2 ":t:1,\n" U1 ":1", gtid_set_equal));
    CU_ASSERT_FALSE(rel(FLAVOR_MYSQL, U1 ":1-5", U1 ":1-6", gtid_set_equal));
    CU_ASSERT_FALSE(rel(FLAVOR_MYSQL, U1 ":1-5", U1 ":1-2:4-5", gtid_set_equal));
    CU_ASSERT_FALSE(rel(FLAVOR_MYSQL, U1 ":1-5", U2 ":1-5", gtid_set_equal));
    CU_ASSERT_FALSE(rel(FLAVOR_MYSQL, U1 ":a:1", U1 ":b:1", gtid_set_equal));
    CU_ASSERT_FALSE(rel(FLAVOR_MYSQL, U1 ":a:1", U1 ":1", gtid_set_equal));
    CU_ASSERT_FALSE(rel(FLAVOR_MYSQL, U1 ":1", U1 ":1," U2 ":1", gtid_set_equal));

    gtid_set *m = gtid_set_new(FLAVOR_MARIADB), *y = gtid_set_new(FLAVOR_MYSQL);
    CU_ASSERT_FALSE(gtid_set_equal(m, y));
    CU_ASSERT_FALSE(gtid_set_equal(y, m));
    CU_ASSERT_TRUE(gtid_set_equal(m, m));
    gtid_set_free(m);
    gtid_set_free(y);
}

static void test_contains_mariadb(void)
{
    const char *a = "0-1-10,1-1-5";
    CU_ASSERT_TRUE(rel(FLAVOR_MARIADB, a, a, gtid_set_contains));
    CU_ASSERT_TRUE(rel(FLAVOR_MARIADB, a, "0-1-10", gtid_set_contains));
    CU_ASSERT_TRUE(rel(FLAVOR_MARIADB, a, "0-1-3,1-1-5", gtid_set_contains));
    CU_ASSERT_TRUE(rel(FLAVOR_MARIADB, a, "0-2-10", gtid_set_contains)); /* server ignored */
    CU_ASSERT_TRUE(rel(FLAVOR_MARIADB, a, "", gtid_set_contains));
    CU_ASSERT_TRUE(rel(FLAVOR_MARIADB, "", "", gtid_set_contains));
    CU_ASSERT_FALSE(rel(FLAVOR_MARIADB, a, "0-1-11", gtid_set_contains));
    CU_ASSERT_FALSE(rel(FLAVOR_MARIADB, a, "0-1-1,1-1-6", gtid_set_contains));
    CU_ASSERT_FALSE(rel(FLAVOR_MARIADB, a, "2-1-1", gtid_set_contains)); /* missing in a */
    CU_ASSERT_FALSE(rel(FLAVOR_MARIADB, a, "0-1-1,2-1-1", gtid_set_contains));
    CU_ASSERT_FALSE(rel(FLAVOR_MARIADB, "1-1-5", "0-1-1", gtid_set_contains));
    CU_ASSERT_FALSE(rel(FLAVOR_MARIADB, "", "0-1-1", gtid_set_contains));
    CU_ASSERT_FALSE(rel(FLAVOR_MARIADB, "0-1-1", a, gtid_set_contains));
}

static void test_contains_mysql(void)
{
    const char *a = U1 ":1-10:20-30:t:5-6," U2 ":1-5";
    CU_ASSERT_TRUE(rel(FLAVOR_MYSQL, a, a, gtid_set_contains));
    CU_ASSERT_TRUE(rel(FLAVOR_MYSQL, a, U1 ":3-7", gtid_set_contains));
    CU_ASSERT_TRUE(rel(FLAVOR_MYSQL, a, U1 ":1:10:20:25-30", gtid_set_contains));
    CU_ASSERT_TRUE(rel(FLAVOR_MYSQL, a, U1 ":T:6," U2 ":5", gtid_set_contains));
    CU_ASSERT_TRUE(rel(FLAVOR_MYSQL, a, "", gtid_set_contains));
    CU_ASSERT_TRUE(rel(FLAVOR_MYSQL, "", "", gtid_set_contains));
    CU_ASSERT_FALSE(rel(FLAVOR_MYSQL, a, U1 ":8-12", gtid_set_contains)); /* partial overlap */
    CU_ASSERT_FALSE(rel(FLAVOR_MYSQL, a, U1 ":5-25", gtid_set_contains)); /* spans a hole */
    CU_ASSERT_FALSE(rel(FLAVOR_MYSQL, a, U1 ":15", gtid_set_contains));
    CU_ASSERT_FALSE(rel(FLAVOR_MYSQL, a, U1 ":31", gtid_set_contains));
    CU_ASSERT_FALSE(rel(FLAVOR_MYSQL, a, U1 ":1:11", gtid_set_contains));
    CU_ASSERT_FALSE(rel(FLAVOR_MYSQL, a, U2 ":6", gtid_set_contains));
    CU_ASSERT_FALSE(rel(FLAVOR_MYSQL, a, U3 ":1", gtid_set_contains)); /* uuid missing in a */
    CU_ASSERT_FALSE(rel(FLAVOR_MYSQL, a, U2 ":t:1", gtid_set_contains)); /* tag missing in a */
    CU_ASSERT_FALSE(rel(FLAVOR_MYSQL, a, U1 ":t:4", gtid_set_contains));
    CU_ASSERT_FALSE(rel(FLAVOR_MYSQL, U1 ":1-10", a, gtid_set_contains));
    CU_ASSERT_FALSE(rel(FLAVOR_MYSQL, "", U1 ":1", gtid_set_contains));

    gtid_set *m = gtid_set_new(FLAVOR_MARIADB), *y = gtid_set_new(FLAVOR_MYSQL);
    CU_ASSERT_FALSE(gtid_set_contains(m, y));
    CU_ASSERT_FALSE(gtid_set_contains(y, m));
    gtid_set_free(m);
    gtid_set_free(y);
}

/* ---- union ---------------------------------------------------------------- */

static void test_union_mariadb(void)
{
    UNION(FLAVOR_MARIADB, "0-1-10,2-1-5", "0-2-8,1-3-4,2-4-9", "0-1-10,1-3-4,2-4-9");
    UNION(FLAVOR_MARIADB, "0-1-5", "0-2-5", "0-1-5"); /* tie keeps a's server */
    UNION(FLAVOR_MARIADB, "0-1-5", "0-2-6", "0-2-6");
    UNION(FLAVOR_MARIADB, "", "3-1-1,1-1-1", "1-1-1,3-1-1");
    UNION(FLAVOR_MARIADB, "5-5-5", "", "5-5-5");
    UNION(FLAVOR_MARIADB, "", "", "");
}

static void test_union_mysql(void)
{
    UNION(FLAVOR_MYSQL, U1 ":1-5:t:1", U1 ":6-8:10," U2 ":1," U1 ":t:2-3:u:1",
          U1 ":1-8:10:t:1-3:u:1," U2 ":1");
    UNION(FLAVOR_MYSQL, U1 ":1-3:7-9", U1 ":2-8", U1 ":1-9");
    UNION(FLAVOR_MYSQL, U1 ":1:3:5", U1 ":2:4", U1 ":1-5");
    UNION(FLAVOR_MYSQL, U2 ":5", U3 ":5", U3 ":5," U2 ":5");
    UNION(FLAVOR_MYSQL, "", U1 ":1-3", U1 ":1-3");
    UNION(FLAVOR_MYSQL, U1 ":1-3", "", U1 ":1-3");

    sbuf err = SBUF_INIT;
    gtid_set *a = parse_ok(FLAVOR_MYSQL, U1 ":1-3:x:1");
    CU_ASSERT_EQUAL(gtid_set_union(a, a, &err), 0);
    FMT_IS(a, U1 ":1-3:x:1");
    gtid_set_free(a);
    sbuf_free(&err);
}

static void test_union_flavor_mismatch(void)
{
    sbuf err = SBUF_INIT;
    gtid_set *m = parse_ok(FLAVOR_MARIADB, "0-1-5");
    gtid_set *y = parse_ok(FLAVOR_MYSQL, U1 ":1");

    CU_ASSERT_EQUAL(gtid_set_union(m, y, &err), -1);
    CHECK_STR(sbuf_cstr(&err), "cannot merge a MySQL GTID set into a MariaDB GTID set");
    FMT_IS(m, "0-1-5");
    CU_ASSERT_EQUAL(gtid_set_union(y, m, &err), -1);
    CHECK_STR(sbuf_cstr(&err), "cannot merge a MariaDB GTID set into a MySQL GTID set");
    FMT_IS(y, U1 ":1");
    gtid_set_free(m);
    gtid_set_free(y);
    sbuf_free(&err);
}

/* ---- add ------------------------------------------------------------------ */

static void test_add_mariadb(void)
{
    sbuf err = SBUF_INIT;
    gtid_set *s = gtid_set_new(FLAVOR_MARIADB);

    add_maria(s, 5, 1, 100);
    FMT_IS(s, "5-1-100");
    add_maria(s, 5, 1, 101);
    FMT_IS(s, "5-1-101");
    add_maria(s, 1, 2, 7); /* new domain lands in order */
    add_maria(s, 9, 2, 1);
    FMT_IS(s, "1-2-7,5-1-101,9-2-1");
    add_maria(s, 5, 3, 102); /* another server in the domain */
    FMT_IS(s, "1-2-7,5-3-102,9-2-1");
    add_maria(s, 5, 3, 50); /* lower sequence still replaces: see gtid.c */
    FMT_IS(s, "1-2-7,5-3-50,9-2-1");
    add_maria(s, UINT32_MAX, UINT32_MAX, UINT64_MAX);
    FMT_IS(s, "1-2-7,5-3-50,9-2-1,4294967295-4294967295-18446744073709551615");
    CU_ASSERT_FALSE(gtid_set_is_empty(s));

    gtid_set *y = gtid_set_new(FLAVOR_MYSQL);
    CU_ASSERT_EQUAL(gtid_set_add_mariadb(y, 0, 1, 5, &err), -1);
    CHECK_STR(sbuf_cstr(&err), "cannot add MariaDB GTID 0-1-5 to a MySQL GTID set");
    CU_ASSERT_TRUE(gtid_set_is_empty(y));
    gtid_set_free(y);
    gtid_set_free(s);
    sbuf_free(&err);
}

static void test_add_mysql(void)
{
    gtid_set *s = gtid_set_new(FLAVOR_MYSQL);

    add_my(s, U1, NULL, 1);
    add_my(s, U1, NULL, 2);
    add_my(s, U1, NULL, 3);
    FMT_IS(s, U1 ":1-3");
    add_my(s, U1, NULL, 5); /* gap */
    FMT_IS(s, U1 ":1-3:5");
    add_my(s, U1, NULL, 4); /* fills the gap: two ranges become one */
    FMT_IS(s, U1 ":1-5");
    add_my(s, U1, NULL, 3); /* already there */
    add_my(s, U1, NULL, 5);
    add_my(s, U1, NULL, 1);
    FMT_IS(s, U1 ":1-5");
    add_my(s, U1, NULL, 10);
    add_my(s, U1, NULL, 8);
    FMT_IS(s, U1 ":1-5:8:10");
    add_my(s, U1, NULL, 9);
    FMT_IS(s, U1 ":1-5:8-10");
    add_my(s, U1, NULL, 7); /* extends a range from below */
    FMT_IS(s, U1 ":1-5:7-10");
    add_my(s, U1, "", 20);
    add_my(s, U1, "T", 1); /* tags normalise to lowercase */
    add_my(s, U1, "t", 2);
    add_my(s, U1, "a_1", 9);
    FMT_IS(s, U1 ":1-5:7-10:20:a_1:9:t:1-2");
    add_my(s, U3, NULL, 4);
    add_my(s, U2, NULL, GTID_MYSQL_GNO_MAX);
    FMT_IS(s, U3 ":4," U1 ":1-5:7-10:20:a_1:9:t:1-2," U2 ":9223372036854775806");
    gtid_set_free(s);
}

static void test_add_mysql_bulk(void)
{
    gtid_set *s = gtid_set_new(FLAVOR_MYSQL);

    /* The replication pattern: one ascending gno after another. */
    for (uint64_t g = 1; g <= 100000; g++)
        add_my(s, U1, NULL, g);
    FMT_IS(s, U1 ":1-100000");

    /* Odd numbers leave 500 holes; filling them from the top down takes
     * the general merge path every time. */
    gtid_set_free(s);
    s = gtid_set_new(FLAVOR_MYSQL);
    for (uint64_t g = 1; g <= 1000; g += 2)
        add_my(s, U2, "x", g);
    gtid_set *odd = parse_ok(FLAVOR_MYSQL, U2 ":x:1:3:5");
    CU_ASSERT_TRUE(gtid_set_contains(s, odd));
    gtid_set_free(odd);
    for (uint64_t g = 1000; g >= 2; g -= 2)
        add_my(s, U2, "x", g);
    FMT_IS(s, U2 ":x:1-1000");
    gtid_set_free(s);
}

static void test_add_mysql_errors(void)
{
    sbuf err = SBUF_INIT;
    uint8_t u[16];
    gtid_set *s = gtid_set_new(FLAVOR_MYSQL);

    uuid_bytes(U1, u);
    CU_ASSERT_EQUAL(gtid_set_add_mysql(s, u, NULL, 0, &err), -1);
    CHECK_STR(sbuf_cstr(&err), "invalid GTID number 0: expected 1 to 9223372036854775806");
    CU_ASSERT_EQUAL(gtid_set_add_mysql(s, u, NULL, GTID_MYSQL_GNO_MAX + 1, &err), -1);
    CHECK_STR(sbuf_cstr(&err),
              "invalid GTID number 9223372036854775807: expected 1 to 9223372036854775806");
    CU_ASSERT_EQUAL(gtid_set_add_mysql(s, u, "1x", 1, &err), -1);
    CHECK_STR(sbuf_cstr(&err), "invalid GTID tag \"1x\": expected a letter or underscore first");
    CU_ASSERT_EQUAL(gtid_set_add_mysql(s, u, "a b", 1, &err), -1);
    CHECK_STR(sbuf_cstr(&err),
              "invalid GTID tag \"a b\": expected only letters, digits and underscores");
    CU_ASSERT_EQUAL(gtid_set_add_mysql(s, u, "abcdefghijklmnopqrstuvwxyz_123456", 1, &err), -1);
    CHECK_STR(sbuf_cstr(&err), "invalid GTID tag \"abcdefghijklmnopqrstuvwxyz_123456\": "
                               "expected 1 to 32 characters");
    CU_ASSERT_TRUE(gtid_set_is_empty(s));

    gtid_set *m = gtid_set_new(FLAVOR_MARIADB);
    CU_ASSERT_EQUAL(gtid_set_add_mysql(m, u, NULL, 1, &err), -1);
    CHECK_STR(sbuf_cstr(&err), "cannot add a MySQL GTID to a MariaDB GTID list");
    CU_ASSERT_TRUE(gtid_set_is_empty(m));
    gtid_set_free(m);
    gtid_set_free(s);
    sbuf_free(&err);
}

/* ---- the rest --------------------------------------------------------------- */

static void test_empty_sets(void)
{
    server_flavor fl[2] = {FLAVOR_MARIADB, FLAVOR_MYSQL};
    for (int i = 0; i < 2; i++) {
        gtid_set *a = gtid_set_new(fl[i]), *b = parse_ok(fl[i], fl[i] == FLAVOR_MYSQL ? " \n" : "");
        CU_ASSERT_EQUAL(gtid_set_flavor(a), fl[i]);
        CU_ASSERT_EQUAL(gtid_set_flavor(b), fl[i]);
        CU_ASSERT_TRUE(gtid_set_is_empty(a));
        CU_ASSERT_TRUE(gtid_set_is_empty(b));
        CU_ASSERT_TRUE(gtid_set_equal(a, b));
        CU_ASSERT_TRUE(gtid_set_contains(a, b));
        FMT_IS(a, "");
        gtid_set_free(a);
        gtid_set_free(b);
    }
    CU_ASSERT_FALSE(rel(FLAVOR_MARIADB, "0-0-0", "", gtid_set_equal));
    gtid_set *y = parse_ok(FLAVOR_MYSQL, U1 ":1");
    CU_ASSERT_FALSE(gtid_set_is_empty(y));
    gtid_set_free(y);
    gtid_set_free(NULL);

    /* format appends rather than overwrites */
    sbuf out = SBUF_INIT;
    sbuf_adds(&out, "pos=");
    gtid_set *m = parse_ok(FLAVOR_MARIADB, "1-1-1,0-1-1");
    gtid_set_format(m, &out);
    CHECK_STR(sbuf_cstr(&out), "pos=0-1-1,1-1-1");
    gtid_set_free(m);
    sbuf_free(&out);
}

static void test_dup(void)
{
    gtid_set *a = parse_ok(FLAVOR_MYSQL, U2 ":1-5:9:t:1," U1 ":3");
    gtid_set *b = gtid_set_dup(a);
    CU_ASSERT_EQUAL(gtid_set_flavor(b), FLAVOR_MYSQL);
    CU_ASSERT_TRUE(gtid_set_equal(a, b));
    add_my(b, U2, NULL, 6); /* the copy owns its ranges */
    add_my(b, U2, NULL, 7);
    add_my(b, U2, NULL, 8);
    add_my(b, U3, "z", 1);
    FMT_IS(a, U1 ":3," U2 ":1-5:9:t:1");
    FMT_IS(b, U3 ":z:1," U1 ":3," U2 ":1-9:t:1");
    gtid_set_free(a);
    gtid_set_free(b);

    a = parse_ok(FLAVOR_MARIADB, "2-1-5,0-1-9");
    b = gtid_set_dup(a);
    CU_ASSERT_TRUE(gtid_set_equal(a, b));
    add_maria(b, 1, 1, 1);
    add_maria(b, 2, 1, 6);
    FMT_IS(a, "0-1-9,2-1-5");
    FMT_IS(b, "0-1-9,1-1-1,2-1-6");
    gtid_set_free(a);
    gtid_set_free(b);

    a = gtid_set_new(FLAVOR_MARIADB);
    b = gtid_set_dup(a);
    CU_ASSERT_TRUE(gtid_set_is_empty(b));
    CU_ASSERT_EQUAL(gtid_set_flavor(b), FLAVOR_MARIADB);
    add_maria(b, 0, 0, 1);
    FMT_IS(b, "0-0-1");
    gtid_set_free(a);
    gtid_set_free(b);
}

static void test_mariadb_seq(void)
{
    gtid_set *s = parse_ok(FLAVOR_MARIADB, "3-2-7, 0-1-10");
    CU_ASSERT_EQUAL(gtid_set_mariadb_seq(s, 0), 10);
    CU_ASSERT_EQUAL(gtid_set_mariadb_seq(s, 3), 7);
    CU_ASSERT_EQUAL(gtid_set_mariadb_seq(s, 1), 0);
    CU_ASSERT_EQUAL(gtid_set_mariadb_seq(s, 4), 0);
    add_maria(s, 1, 9, 12);
    CU_ASSERT_EQUAL(gtid_set_mariadb_seq(s, 1), 12);
    gtid_set_free(s);

    gtid_set *y = parse_ok(FLAVOR_MYSQL, U1 ":1-5");
    CU_ASSERT_EQUAL(gtid_set_mariadb_seq(y, 0), 0);
    gtid_set_free(y);
}

int suite_gtid(void)
{
    static const struct {
        const char *name;
        CU_TestFunc fn;
    } tests[] = {
        {"mariadb parse canonical", test_mariadb_parse_canonical},
        {"mariadb parse errors", test_mariadb_parse_errors},
        {"mysql parse canonical", test_mysql_parse_canonical},
        {"mysql parse errors", test_mysql_parse_errors},
        {"equal", test_equal},
        {"contains mariadb", test_contains_mariadb},
        {"contains mysql", test_contains_mysql},
        {"union mariadb", test_union_mariadb},
        {"union mysql", test_union_mysql},
        {"union flavor mismatch", test_union_flavor_mismatch},
        {"add mariadb", test_add_mariadb},
        {"add mysql", test_add_mysql},
        {"add mysql bulk", test_add_mysql_bulk},
        {"add mysql errors", test_add_mysql_errors},
        {"empty sets", test_empty_sets},
        {"dup", test_dup},
        {"mariadb seq", test_mariadb_seq},
    };
    CU_pSuite suite = CU_add_suite("gtid", NULL, NULL);
    if (!suite)
        return -1;
    for (size_t i = 0; i < sizeof(tests) / sizeof(tests[0]); i++)
        if (!CU_add_test(suite, tests[i].name, tests[i].fn))
            return -1;
    return 0;
}
