/* Unit tests: the Prometheus text builder (lib/prom): numbers, escaping,
 * histograms' cumulative buckets, and one whole page against a golden text. */
#include <CUnit/CUnit.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "lib/prom.h"

static void number_is(double v, const char *want)
{
    sbuf sb = SBUF_INIT;
    prom_add_number(&sb, v);
    CU_ASSERT_STRING_EQUAL(sbuf_cstr(&sb), want);
    if (strcmp(sbuf_cstr(&sb), want) != 0)
        fprintf(stderr, "number: got %s, want %s\n", sbuf_cstr(&sb), want);
    sbuf_free(&sb);
}

static void test_numbers(void)
{
    number_is(0, "0");
    number_is(-0.0, "0");
    number_is(1, "1");
    number_is(-42, "-42");
    number_is(0.1, "0.1");
    number_is(0.0025, "0.0025");
    number_is(1e-6, "1e-06");
    number_is(1.5e20, "1.5e+20");
    number_is(123456.789, "123456.789");
    number_is(1.0 / 3, "0.3333333333333333");
    number_is(NAN, "NaN");
    number_is(INFINITY, "+Inf");
    number_is(-INFINITY, "-Inf");
    /* Whatever the text, it reads back as the same double. */
    double hard[] = {0.30000000000000004, 5e-324, 1.7976931348623157e308, 2.5e-7};
    for (size_t i = 0; i < sizeof hard / sizeof hard[0]; i++) {
        sbuf sb = SBUF_INIT;
        prom_add_number(&sb, hard[i]);
        CU_ASSERT_EQUAL(strtod(sb.buf, NULL), hard[i]);
        sbuf_free(&sb);
    }
}

static void label_is(const char *value, const char *want)
{
    sbuf sb = SBUF_INIT;
    prom_add_label_value(&sb, value);
    CU_ASSERT_STRING_EQUAL(sbuf_cstr(&sb), want);
    if (strcmp(sbuf_cstr(&sb), want) != 0)
        fprintf(stderr, "label: got %s, want %s\n", sbuf_cstr(&sb), want);
    CU_ASSERT_TRUE(utf8_valid(sb.buf, sb.len));
    sbuf_free(&sb);
}

static void test_label_escaping(void)
{
    label_is("shop", "shop");
    label_is("", "");
    label_is(NULL, "");
    label_is("a\\b", "a\\\\b");
    label_is("say \"hi\"", "say \\\"hi\\\"");
    label_is("two\nlines", "two\\nlines");
    label_is("tab\tok", "tab\tok");            /* only three characters are escaped */
    label_is("ünïcødé😀", "ünïcødé😀");        /* UTF-8 passes through */
    label_is("caf\xe9", "caf\\\\xE9");          /* latin1 é: the text \xE9, escaped */
    label_is("\xc3", "\\\\xC3");                /* a cut sequence */
    label_is("\xed\xa0\x80", "\\\\xED\\\\xA0\\\\x80"); /* a surrogate is not UTF-8 */
}

static void test_help_and_sample_lines(void)
{
    sbuf sb = SBUF_INIT;
    prom_writer w;
    prom_begin(&w, &sb);
    prom_family(&w, "x_total", PROM_COUNTER, "back\\slash and\nnewline \"quotes\" stay");
    prom_count(&w, NULL, 0, 18446744073709551615ULL);
    prom_count(&w, PROM_LABELS({"a", "1"}, {"b", "q\""}), 9007199254740993ULL); /* 2^53 + 1, exact */
    CU_ASSERT_STRING_EQUAL(sb.buf, "# HELP x_total back\\\\slash and\\nnewline \"quotes\" stay\n"
                                   "# TYPE x_total counter\n"
                                   "x_total 18446744073709551615\n"
                                   "x_total{a=\"1\",b=\"q\\\"\"} 9007199254740993\n");
    sbuf_free(&sb);
}

static const double le3[] = {0.1, 1, 10};
static const prom_buckets b3 = {le3, 3};

static void test_histogram_buckets(void)
{
    prom_hist h;
    memset(&h, 0, sizeof h);
    /* A bound is inclusive (le): 0.1 goes in the first bucket. */
    double obs[] = {0.05, 0.1, 0.5, 1, 1, 7, 10, 11, 1e9};
    for (size_t i = 0; i < sizeof obs / sizeof obs[0]; i++)
        prom_hist_observe(&h, &b3, obs[i]);
    CU_ASSERT_EQUAL(h.counts[0], 2);
    CU_ASSERT_EQUAL(h.counts[1], 3);
    CU_ASSERT_EQUAL(h.counts[2], 2);
    CU_ASSERT_EQUAL(h.counts[3], 2);
    CU_ASSERT_EQUAL(h.count, 9);
    sbuf sb = SBUF_INIT;
    prom_writer w;
    prom_begin(&w, &sb);
    prom_family(&w, "op_seconds", PROM_HISTOGRAM, "h");
    prom_histogram(&w, PROM_LABELS({"op", "x"}), &b3, &h);
    /* Cumulative, ending with +Inf equal to _count. */
    CU_ASSERT_STRING_EQUAL(sb.buf, "# HELP op_seconds h\n"
                                   "# TYPE op_seconds histogram\n"
                                   "op_seconds_bucket{op=\"x\",le=\"0.1\"} 2\n"
                                   "op_seconds_bucket{op=\"x\",le=\"1\"} 5\n"
                                   "op_seconds_bucket{op=\"x\",le=\"10\"} 7\n"
                                   "op_seconds_bucket{op=\"x\",le=\"+Inf\"} 9\n"
                                   "op_seconds_sum{op=\"x\"} 1000000030.65\n"
                                   "op_seconds_count{op=\"x\"} 9\n");
    /* Without labels, le is the only one. */
    prom_hist empty;
    memset(&empty, 0, sizeof empty);
    sbuf_reset(&sb);
    prom_histogram(&w, NULL, 0, &b3, &empty);
    CU_ASSERT_STRING_EQUAL(sb.buf, "op_seconds_bucket{le=\"0.1\"} 0\n"
                                   "op_seconds_bucket{le=\"1\"} 0\n"
                                   "op_seconds_bucket{le=\"10\"} 0\n"
                                   "op_seconds_bucket{le=\"+Inf\"} 0\n"
                                   "op_seconds_sum 0\n"
                                   "op_seconds_count 0\n");
    sbuf_free(&sb);
}

/* A page as an agent would write it: the exact text. */
static void test_golden_page(void)
{
    static const char golden[] =
        "# HELP demo_build_info Always 1.\n"
        "# TYPE demo_build_info gauge\n"
        "demo_build_info{version=\"0.1.0\"} 1\n"
        "# HELP demo_rows_total Rows copied.\n"
        "# TYPE demo_rows_total counter\n"
        "demo_rows_total{workflow=\"shop\",table=\"shop.orders\"} 1200\n"
        "demo_rows_total{workflow=\"shop\",table=\"odd db.we`ird \\\"t\\\\\\n\"} 0\n"
        "# HELP demo_lag_seconds Lag.\n"
        "# TYPE demo_lag_seconds gauge\n"
        "demo_lag_seconds{stream=\"shop\"} 0.25\n"
        "demo_lag_seconds{stream=\"shop.reverse\"} NaN\n"
        "# HELP demo_retention_seconds Never expires.\n"
        "# TYPE demo_retention_seconds gauge\n"
        "demo_retention_seconds +Inf\n"
        "# HELP demo_step_seconds Steps.\n"
        "# TYPE demo_step_seconds histogram\n"
        "demo_step_seconds_bucket{step=\"commit\",le=\"0.1\"} 1\n"
        "demo_step_seconds_bucket{step=\"commit\",le=\"1\"} 1\n"
        "demo_step_seconds_bucket{step=\"commit\",le=\"10\"} 2\n"
        "demo_step_seconds_bucket{step=\"commit\",le=\"+Inf\"} 2\n"
        "demo_step_seconds_sum{step=\"commit\"} 2.003\n"
        "demo_step_seconds_count{step=\"commit\"} 2\n"
        "# HELP demo_empty_total Nothing yet: the family is still listed.\n"
        "# TYPE demo_empty_total counter\n";
    sbuf sb = SBUF_INIT;
    prom_writer w;
    prom_begin(&w, &sb);
    prom_family(&w, "demo_build_info", PROM_GAUGE, "Always 1.");
    prom_value(&w, PROM_LABELS({"version", "0.1.0"}), 1);
    prom_family(&w, "demo_rows_total", PROM_COUNTER, "Rows copied.");
    prom_count(&w, PROM_LABELS({"workflow", "shop"}, {"table", "shop.orders"}), 1200);
    prom_count(&w, PROM_LABELS({"workflow", "shop"}, {"table", "odd db.we`ird \"t\\\n"}), 0);
    prom_family(&w, "demo_lag_seconds", PROM_GAUGE, "Lag.");
    prom_value(&w, PROM_LABELS({"stream", "shop"}), 0.25);
    prom_value(&w, PROM_LABELS({"stream", "shop.reverse"}), NAN);
    prom_family(&w, "demo_retention_seconds", PROM_GAUGE, "Never expires.");
    prom_value(&w, NULL, 0, INFINITY);
    prom_family(&w, "demo_step_seconds", PROM_HISTOGRAM, "Steps.");
    prom_hist h;
    memset(&h, 0, sizeof h);
    prom_hist_observe(&h, &b3, 0.003);
    prom_hist_observe(&h, &b3, 2);
    prom_histogram(&w, PROM_LABELS({"step", "commit"}), &b3, &h);
    prom_family(&w, "demo_empty_total", PROM_COUNTER, "Nothing yet: the family is still listed.");
    CU_ASSERT_STRING_EQUAL(sb.buf, golden);
    if (strcmp(sb.buf, golden) != 0)
        fprintf(stderr, "golden page differs; got:\n%s\n", sb.buf);
    sbuf_free(&sb);
}

int suite_prom(void)
{
    CU_pSuite s = CU_add_suite("prom", NULL, NULL);
    if (!s || !CU_add_test(s, "numbers", test_numbers) || !CU_add_test(s, "label escaping", test_label_escaping) ||
        !CU_add_test(s, "HELP text and sample lines", test_help_and_sample_lines) ||
        !CU_add_test(s, "histogram buckets are cumulative", test_histogram_buckets) ||
        !CU_add_test(s, "golden page", test_golden_page))
        return -1;
    return 0;
}
