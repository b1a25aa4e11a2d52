/* Unit tests: an import's progress, from the agent's copy rate to cpctl's
 * live view: the rate when the row count goes down or is reloaded, text
 * width of multibyte names, and a view of hundreds of tables that fits the
 * screen with its columns aligned. */
#include <CUnit/CUnit.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../controlplane-mock/cpctl.h"
#include "tabletagent/v1/tabletagent.pb-c.h"
#include "workflow/import.h"

/* ---- the agent's copy rate ------------------------------------------------------------ */

static void test_rate_steady(void)
{
    wf_rate r = {0};
    wf_rate_update(&r, 10000, 0, 1);
    CU_ASSERT_EQUAL(r.per_second, 0);
    wf_rate_update(&r, 11000, 500, 1); /* under two seconds: no window yet */
    CU_ASSERT_EQUAL(r.per_second, 0);
    wf_rate_update(&r, 12000, 2000, 1);
    CU_ASSERT_DOUBLE_EQUAL(r.per_second, 1000.0, 0.001);
    wf_rate_update(&r, 14000, 6000, 1);
    CU_ASSERT_DOUBLE_EQUAL(r.per_second, 2000.0, 0.001);
}

/* The issue: rows copied going down (a table recounted from the sidecar,
 * or copied again) wrapped round to about 9.2e18 rows/s. */
static void test_rate_count_goes_down(void)
{
    wf_rate r = {0};
    wf_rate_update(&r, 10000, 100000, 1);
    wf_rate_update(&r, 12000, 102000, 1);
    CU_ASSERT_DOUBLE_EQUAL(r.per_second, 1000.0, 0.001);
    wf_rate_update(&r, 13000, 90000, 1); /* recounted lower */
    CU_ASSERT_DOUBLE_EQUAL(r.per_second, 1000.0, 0.001);
    wf_rate_update(&r, 14000, 91000, 1); /* a second into the new window */
    CU_ASSERT_DOUBLE_EQUAL(r.per_second, 1000.0, 0.001);
    wf_rate_update(&r, 15000, 93000, 1); /* the new window: 3000 rows in 2 s */
    CU_ASSERT_DOUBLE_EQUAL(r.per_second, 1500.0, 0.001);
    wf_rate_update(&r, 17500, 0, 1); /* the table list unloaded after an error */
    CU_ASSERT(r.per_second >= 0 && r.per_second < 1e6);
    wf_rate_update(&r, 20000, 0, 1); /* nothing copied since: 0 rows/s */
    CU_ASSERT_EQUAL(r.per_second, 0);
}

/* A reloaded table list brings back rows an earlier run copied: not a rate. */
static void test_rate_new_table_list(void)
{
    wf_rate r = {0};
    wf_rate_update(&r, 10000, 0, 1); /* setup, no tables yet */
    wf_rate_update(&r, 11000, 5000000, 2);
    wf_rate_update(&r, 13000, 5004000, 2);
    CU_ASSERT_DOUBLE_EQUAL(r.per_second, 2000.0, 0.001);
}

static void test_rate_eta(void)
{
    CU_ASSERT_EQUAL(wf_rate_eta(100, 100, 0), 0);
    CU_ASSERT_EQUAL(wf_rate_eta(200, 100, 10), 0); /* past the estimate */
    CU_ASSERT_EQUAL(wf_rate_eta(0, 100, 0), -1);
    CU_ASSERT_EQUAL(wf_rate_eta(0, 100, 10), 10);
}

/* ---- text width ------------------------------------------------------------------------- */

static void test_width(void)
{
    CU_ASSERT_EQUAL(render_width("abc", 3), 3);
    CU_ASSERT_EQUAL(render_width("caf\xC3\xA9", 5), 4);                  /* café */
    CU_ASSERT_EQUAL(render_width("\xE6\x97\xA5\xE6\x9C\xAC", 6), 4);     /* 日本: wide */
    CU_ASSERT_EQUAL(render_width("e\xCC\x81", 3), 1);                    /* e + combining acute */
    CU_ASSERT_EQUAL(render_width("\xF0\x9F\x98\x80", 4), 2);             /* 😀 */
    CU_ASSERT_EQUAL(render_rows("abc\n", 80), 1);
    CU_ASSERT_EQUAL(render_rows("0123456789\nab\n", 4), 4); /* 10 columns wrap to 3 rows */
    CU_ASSERT_EQUAL(render_rows("\n\n", 80), 2);
}

/* ---- the workflow view -------------------------------------------------------------------- */

typedef struct fake_wf {
    Tabletagent__V1__Workflow w;
    Tabletagent__V1__TableProgress *t;
    Tabletagent__V1__TableProgress **ptrs;
    char (*names)[48];
} fake_wf;

/* n tables; the first `done` done, the next `copying` with rows. */
static void fake_wf_init(fake_wf *f, size_t n, size_t done, size_t copying)
{
    tabletagent__v1__workflow__init(&f->w);
    f->w.name = "big";
    f->w.destination = "127.0.0.1:3306";
    f->w.state = TABLETAGENT__V1__WORKFLOW_STATE__WORKFLOW_COPYING;
    f->t = calloc(n, sizeof *f->t);
    f->ptrs = calloc(n, sizeof *f->ptrs);
    f->names = calloc(n, sizeof *f->names);
    for (size_t i = 0; i < n; i++) {
        tabletagent__v1__table_progress__init(&f->t[i]);
        snprintf(f->names[i], sizeof f->names[i], "t%03zu", i);
        f->t[i].schema = "db";
        f->t[i].name = f->names[i];
        f->t[i].phase = i < done ? "done" : "copying";
        f->t[i].rows_estimated = 1000;
        f->t[i].rows_copied = i < done ? 1000 : i < done + copying ? 10 : 0;
        f->ptrs[i] = &f->t[i];
        f->w.rows_copied += f->t[i].rows_copied;
        f->w.rows_estimated += 1000;
    }
    f->w.n_tables = n;
    f->w.tables = f->ptrs;
}

static void fake_wf_free(fake_wf *f)
{
    free(f->t);
    free(f->ptrs);
    free(f->names);
}

static size_t lines_of(const char *s)
{
    size_t n = 0;
    for (; *s; s++)
        n += *s == '\n';
    return n;
}

static void test_view_fits(void)
{
    fake_wf f;
    fake_wf_init(&f, 500, 120, 4);
    sbuf out = SBUF_INIT;
    render_workflow_fit(&f.w.base, NULL, 14, 100, &out);
    CU_ASSERT(lines_of(out.buf) <= 14);
    CU_ASSERT(lines_of(out.buf) >= 12);
    CU_ASSERT_PTR_NOT_NULL(strstr(out.buf, "500 tables: 120 done, 4 copying, 376 pending"));
    CU_ASSERT_PTR_NOT_NULL(strstr(out.buf, " more (cpctl --json workflow status big"));
    /* the started ones first, then those to come, done ones last */
    const char *t120 = strstr(out.buf, "db.t120"), *t124 = strstr(out.buf, "db.t124");
    CU_ASSERT_PTR_NOT_NULL(t120);
    CU_ASSERT_PTR_NOT_NULL(t124);
    CU_ASSERT(t120 && t124 && t120 < t124);
    CU_ASSERT_PTR_NULL(strstr(out.buf, "db.t000"));
    sbuf_reset(&out);
    render_workflow(&f.w.base, &out); /* no screen: 20 tables */
    CU_ASSERT(lines_of(out.buf) <= 3 + 20);
    CU_ASSERT(lines_of(out.buf) >= 3 + 19);
    sbuf_free(&out);
    fake_wf_free(&f);
}

/* With a previous reply, the tables that moved come first, busiest first. */
static void test_view_busiest_first(void)
{
    fake_wf prev, now;
    fake_wf_init(&prev, 300, 0, 0);
    fake_wf_init(&now, 300, 0, 0);
    now.t[250].rows_copied = 50;
    now.t[77].rows_copied = 900;
    prev.t[10].phase = "creating"; /* moved on since */
    sbuf out = SBUF_INIT;
    render_workflow_fit(&now.w.base, &prev.w.base, 10, 100, &out);
    const char *a = strstr(out.buf, "db.t077"), *b = strstr(out.buf, "db.t250"), *c = strstr(out.buf, "db.t010");
    CU_ASSERT(a && b && c && a < b && b < c);
    sbuf_free(&out);
    fake_wf_free(&prev);
    fake_wf_free(&now);
}

static void test_view_creating(void)
{
    fake_wf f;
    fake_wf_init(&f, 500, 0, 0);
    for (size_t i = 0; i < 500; i++)
        f.t[i].phase = i < 120 ? "pending" : "creating";
    f.w.state = TABLETAGENT__V1__WORKFLOW_STATE__WORKFLOW_STARTING;
    sbuf out = SBUF_INIT;
    render_workflow_fit(&f.w.base, NULL, 20, 80, &out);
    CU_ASSERT_PTR_NOT_NULL(strstr(out.buf, "creating tables: 120/500"));
    sbuf_reset(&out);
    render_workflow_line(&f.w.base, &out);
    CU_ASSERT_PTR_NOT_NULL(strstr(out.buf, "creating tables: 120/500"));
    sbuf_free(&out);
    fake_wf_free(&f);
}

/* The display column where a table line's row count starts. */
static size_t rows_column(const char *line, size_t len)
{
    const char *p = strstr(line, "  copying ");
    CU_ASSERT_FATAL(p != NULL && (size_t)(p - line) < len);
    return render_width(line, (size_t)(p - line));
}

static void test_view_aligned(void)
{
    fake_wf f;
    fake_wf_init(&f, 4, 0, 4);
    f.t[0].name = "caf\xC3\xA9_\xE6\x97\xA5\xE6\x9C\xAC";                  /* café_日本 */
    f.t[1].name = "plain";
    f.t[2].name = "\xE6\x97\xA5\xE6\x9C\xAC\xE6\x97\xA5\xE6\x9C\xAC_very_long_name_that_does_not_fit_at_all";
    f.t[3].name = "tab\tname"; /* control characters shown escaped */
    sbuf out = SBUF_INIT;
    render_workflow_fit(&f.w.base, NULL, 30, 120, &out);
    size_t col = 0, seen = 0;
    for (const char *line = out.buf; *line;) {
        const char *nl = strchr(line, '\n');
        size_t len = (size_t)(nl - line);
        if (strncmp(line, "  db.", 5) == 0) {
            size_t c = rows_column(line, len);
            if (seen++ == 0)
                col = c;
            CU_ASSERT_EQUAL(c, col);
        }
        line = nl + 1;
    }
    CU_ASSERT_EQUAL(seen, 4);
    CU_ASSERT_PTR_NOT_NULL(strstr(out.buf, "\xE2\x80\xA6")); /* the long one cut with an ellipsis */
    CU_ASSERT_PTR_NOT_NULL(strstr(out.buf, "db.tab\\x09name"));
    sbuf_free(&out);
    fake_wf_free(&f);
}

int suite_progress(void)
{
    CU_pSuite s = CU_add_suite("progress", NULL, NULL);
    if (!s || !CU_add_test(s, "rate: steady", test_rate_steady) ||
        !CU_add_test(s, "rate: rows copied go down", test_rate_count_goes_down) ||
        !CU_add_test(s, "rate: a new table list", test_rate_new_table_list) ||
        !CU_add_test(s, "rate: eta", test_rate_eta) || !CU_add_test(s, "display width", test_width) ||
        !CU_add_test(s, "view fits the screen", test_view_fits) ||
        !CU_add_test(s, "view: busiest first", test_view_busiest_first) ||
        !CU_add_test(s, "view: creating tables", test_view_creating) ||
        !CU_add_test(s, "view: aligned multibyte names", test_view_aligned))
        return -1;
    return 0;
}
