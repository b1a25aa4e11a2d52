/* Unit tests: sbuf string buffers and the SQL quoting helpers built on them. */
#include <CUnit/CUnit.h>
#include <stdlib.h>
#include <string.h>

#include "db/db.h"
#include "lib/sbuf.h"

static void test_sbuf_grow_and_format(void)
{
    sbuf sb = SBUF_INIT;
    CU_ASSERT_STRING_EQUAL(sbuf_cstr(&sb), "");
    for (int i = 0; i < 1000; i++)
        sbuf_addf(&sb, "%d,", i);
    CU_ASSERT_EQUAL(sb.len, strlen(sb.buf));
    CU_ASSERT_NSTRING_EQUAL(sb.buf, "0,1,2,", 6);
    sbuf_setf(&sb, "x=%s", "y");
    CU_ASSERT_STRING_EQUAL(sb.buf, "x=y");
    sbuf_add(&sb, "\0z", 2);
    CU_ASSERT_EQUAL(sb.len, 5);
    CU_ASSERT_EQUAL(sb.buf[4], 'z');
    sbuf_setlen(&sb, 1);
    CU_ASSERT_STRING_EQUAL(sb.buf, "x");
    char *s = sbuf_detach(&sb, NULL);
    CU_ASSERT_STRING_EQUAL(s, "x");
    CU_ASSERT_PTR_NULL(sb.buf);
    free(s);
}

static void test_sbuf_hex_and_wipe(void)
{
    sbuf sb = SBUF_INIT;
    sbuf_add_hex(&sb, "\x00\xff\x10", 3);
    CU_ASSERT_STRING_EQUAL(sb.buf, "00FF10");
    sbuf_wipe(&sb);
    CU_ASSERT_PTR_NULL(sb.buf);
    CU_ASSERT_EQUAL(sb.len, 0);
}

static void test_db_quoting(void)
{
    sbuf sb = SBUF_INIT;
    db_add_ident(&sb, "we`ird na`me");
    CU_ASSERT_STRING_EQUAL(sb.buf, "`we``ird na``me`");
    sbuf_reset(&sb);
    db_add_table(&sb, "db", "t");
    CU_ASSERT_STRING_EQUAL(sb.buf, "`db`.`t`");
    sbuf_reset(&sb);
    db_add_string(&sb, "a'b\\c\0d\n\r\x1a\"", 11);
    CU_ASSERT_STRING_EQUAL(sb.buf, "'a\\'b\\\\c\\0d\\n\\r\\Z\\\"'");
    sbuf_free(&sb);
}

static void test_printable_and_utf8(void)
{
    sbuf sb = SBUF_INIT;
    /* Valid UTF-8 passes, controls and invalid bytes are escaped. */
    sbuf_add_printable(&sb, "caf\xC3\xA9 \x01\n\xFF", 9, 100);
    CU_ASSERT_STRING_EQUAL(sb.buf, "caf\xC3\xA9 \\x01\\x0A\\xFF");
    CU_ASSERT_TRUE(utf8_valid(sb.buf, sb.len));
    /* Cut at a character boundary: a 2-byte character that does not fit
     * is left out whole. */
    sbuf_reset(&sb);
    sbuf_add_printable(&sb, "ab\xC3\xA9" "cd", 6, 3);
    CU_ASSERT_STRING_EQUAL(sb.buf, "ab...");
    sbuf_reset(&sb);
    sbuf_add_printable(&sb, "abc", 3, 3);
    CU_ASSERT_STRING_EQUAL(sb.buf, "abc");
    /* Overlong, surrogate, past U+10FFFF, truncated: all invalid. */
    CU_ASSERT_FALSE(utf8_valid("\xC0\x80", 2));
    CU_ASSERT_FALSE(utf8_valid("\xED\xA0\x80", 3));
    CU_ASSERT_FALSE(utf8_valid("\xF4\x90\x80\x80", 4));
    CU_ASSERT_FALSE(utf8_valid("\xE2\x82", 2));
    CU_ASSERT_TRUE(utf8_valid("\xF0\x9F\x98\x80 \xE2\x82\xAC", 8));
    sbuf_free(&sb);
}

int suite_sbuf(void)
{
    CU_pSuite s = CU_add_suite("sbuf", NULL, NULL);
    if (!s || !CU_add_test(s, "grow and format", test_sbuf_grow_and_format) ||
        !CU_add_test(s, "hex and wipe", test_sbuf_hex_and_wipe) ||
        !CU_add_test(s, "SQL quoting", test_db_quoting) ||
        !CU_add_test(s, "printable text and UTF-8", test_printable_and_utf8))
        return -1;
    return 0;
}
