/* Unit tests: preflight's pure rules. Version support, binlog retention and
 * the copy-time estimate, severity aggregation, SHOW GRANTS parsing, and
 * remedies built around names with backticks, quotes and Unicode. The
 * checks against real servers are in tests/integration/test_preflight.sh. */
#include <CUnit/CUnit.h>
#include <stdlib.h>
#include <string.h>

#include "preflight/preflight.h"

static preflight_severity version(server_flavor f, const char *v)
{
    sbuf why = SBUF_INIT;
    preflight_severity s = preflight_version_check(f, v, &why);
    if (s == PF_PASS) {
        CU_ASSERT_EQUAL(why.len, 0);
    } else {
        CU_ASSERT_PTR_NOT_NULL(strstr(why.buf, "MariaDB 10.5 and later and MySQL 5.7, 8.0 and 8.4"));
    }
    sbuf_free(&why);
    return s;
}

static void test_version_rules(void)
{
    CU_ASSERT_EQUAL(version(FLAVOR_MARIADB, "10.11.19-MariaDB-0+deb12u1-log"), PF_PASS);
    CU_ASSERT_EQUAL(version(FLAVOR_MARIADB, "10.5.0-MariaDB"), PF_PASS);
    CU_ASSERT_EQUAL(version(FLAVOR_MARIADB, "11.4.2-MariaDB"), PF_PASS);
    CU_ASSERT_EQUAL(version(FLAVOR_MARIADB, "5.5.5-10.6.12-MariaDB"), PF_PASS);
    CU_ASSERT_EQUAL(version(FLAVOR_MARIADB, "10.4.32-MariaDB"), PF_FAIL);
    CU_ASSERT_EQUAL(version(FLAVOR_MARIADB, "10.3.39-MariaDB-log"), PF_FAIL);
    CU_ASSERT_EQUAL(version(FLAVOR_MYSQL, "5.7.44-log"), PF_PASS);
    CU_ASSERT_EQUAL(version(FLAVOR_MYSQL, "8.0.36"), PF_PASS);
    CU_ASSERT_EQUAL(version(FLAVOR_MYSQL, "8.0.36-28"), PF_PASS); /* Percona */
    CU_ASSERT_EQUAL(version(FLAVOR_MYSQL, "8.4.0"), PF_PASS);
    CU_ASSERT_EQUAL(version(FLAVOR_MYSQL, "5.6.51"), PF_FAIL);
    CU_ASSERT_EQUAL(version(FLAVOR_MYSQL, "8.1.0"), PF_FAIL); /* innovation releases */
    CU_ASSERT_EQUAL(version(FLAVOR_MYSQL, "8.3.0"), PF_FAIL);
    CU_ASSERT_EQUAL(version(FLAVOR_MYSQL, "9.1.0"), PF_FAIL);
    CU_ASSERT_EQUAL(version(FLAVOR_MYSQL, "garbage"), PF_FAIL);
    CU_ASSERT_EQUAL(version(FLAVOR_UNKNOWN, "8.0.36"), PF_FAIL);
    CU_ASSERT_EQUAL(version(FLAVOR_MYSQL, NULL), PF_FAIL);

    sbuf why = SBUF_INIT;
    preflight_version_check(FLAVOR_MYSQL, "9.1.0", &why);
    CU_ASSERT_PTR_NOT_NULL(strstr(why.buf, "MySQL 9.1.0 is not supported"));
    sbuf_free(&why);

    int ma, mi, pa;
    CU_ASSERT_EQUAL(preflight_version_parse("8.0", &ma, &mi, &pa), 0);
    CU_ASSERT(ma == 8 && mi == 0 && pa == 0);
    CU_ASSERT_EQUAL(preflight_version_parse("10.11.19-MariaDB", &ma, &mi, &pa), 0);
    CU_ASSERT(ma == 10 && mi == 11 && pa == 19);
    CU_ASSERT_EQUAL(preflight_version_parse("10", &ma, &mi, &pa), -1);
    CU_ASSERT_EQUAL(preflight_version_parse("", &ma, &mi, &pa), -1);
}

static void test_retention(void)
{
    /* binlog_expire_logs_seconds wins over expire_logs_days */
    CU_ASSERT_EQUAL(preflight_retention_seconds("3600", "7.000000", NULL), 3600);
    CU_ASSERT_EQUAL(preflight_retention_seconds("604800", "7", NULL), 604800);
    /* seconds 0: days decide (MySQL 8.0 with only expire_logs_days set) */
    CU_ASSERT_EQUAL(preflight_retention_seconds("0", "2", NULL), 2 * 86400);
    CU_ASSERT_EQUAL(preflight_retention_seconds("0", "0.5", NULL), 43200);
    /* 0 everywhere: never expire */
    CU_ASSERT_EQUAL(preflight_retention_seconds("0", "0.000000", NULL), 0);
    CU_ASSERT_EQUAL(preflight_retention_seconds(NULL, NULL, NULL), 0);
    /* MySQL 5.7 has only days; MySQL 8.4 only seconds */
    CU_ASSERT_EQUAL(preflight_retention_seconds(NULL, "3", NULL), 3 * 86400);
    CU_ASSERT_EQUAL(preflight_retention_seconds("2592000", NULL, "ON"), 2592000);
    /* MySQL 8.0.29+: automatic purge off means never */
    CU_ASSERT_EQUAL(preflight_retention_seconds("2592000", NULL, "OFF"), 0);
}

static void test_copy_estimate(void)
{
    CU_ASSERT_EQUAL(preflight_copy_seconds(0), 0);
    CU_ASSERT_EQUAL(preflight_copy_seconds(1), 1);
    CU_ASSERT_EQUAL(preflight_copy_seconds(PREFLIGHT_COPY_BYTES_PER_S), 1);
    CU_ASSERT_EQUAL(preflight_copy_seconds(PREFLIGHT_COPY_BYTES_PER_S + 1), 2);
    /* 1 TB at 50 MB/s: 20000 s, about 5.6 h */
    CU_ASSERT_EQUAL(preflight_copy_seconds(1000ULL * 1000 * 1000 * 1000), 20000);
    /* need = max(requested hours, 2 x copy time); 0 hours = default 48 */
    CU_ASSERT_EQUAL(preflight_retention_need(0, 0), 48 * 3600);
    CU_ASSERT_EQUAL(preflight_retention_need(1, 60), 3600);
    CU_ASSERT_EQUAL(preflight_retention_need(1, 7200), 14400);
    CU_ASSERT_EQUAL(preflight_retention_need(48, 20000), 48 * 3600);
    CU_ASSERT_EQUAL(preflight_retention_need(48, 100000), 200000);
}

static void test_severity_aggregation(void)
{
    preflight_report r = {0};
    CU_ASSERT_EQUAL(r.worst, 0);
    preflight_report_add(&r, "a.pass", PF_PASS, "fine", "ignored remedy");
    CU_ASSERT_EQUAL(r.worst, PF_PASS);
    preflight_check *w = preflight_report_add(&r, "b.warn", PF_WARN, "hmm", "do this");
    CU_ASSERT_EQUAL(r.worst, PF_WARN);
    preflight_check_add_object(w, "`db`.`t`");
    preflight_check_add_object(w, "`db`.`u`");
    preflight_report_add(&r, "c.fail", PF_FAIL, "broken", "fix it");
    CU_ASSERT_EQUAL(r.worst, PF_FAIL);
    preflight_report_add(&r, "d.pass", PF_PASS, "fine", NULL);
    CU_ASSERT_EQUAL(r.worst, PF_FAIL); /* never goes back down */
    /* many checks: the array grows */
    for (int i = 0; i < 100; i++)
        preflight_report_add(&r, "e.more", PF_PASS, "", "");
    CU_ASSERT_EQUAL(r.nchecks, 104);
    const preflight_check *f = preflight_report_find(&r, "b.warn");
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    CU_ASSERT_EQUAL(f->nobjects, 2);
    CU_ASSERT_STRING_EQUAL(f->objects[1], "`db`.`u`");
    CU_ASSERT_STRING_EQUAL(f->remedy, "do this");
    CU_ASSERT_PTR_NULL(preflight_report_find(&r, "e.more")->remedy); /* empty remedy is none */
    CU_ASSERT_PTR_NULL(preflight_report_find(&r, "a.pass")->remedy); /* and PASS has none */
    CU_ASSERT_PTR_NULL(preflight_report_find(&r, "nope"));
    CU_ASSERT_STRING_EQUAL(preflight_severity_name(PF_WARN), "WARN");
    preflight_report_clear(&r);
    CU_ASSERT_EQUAL(r.nchecks, 0);
    CU_ASSERT_PTR_NULL(r.checks);
}

static void test_remedy_formatting(void)
{
    sbuf sb = SBUF_INIT;
    preflight_add_grant(&sb, "REPLICATION SLAVE", NULL, "agent@%");
    CU_ASSERT_STRING_EQUAL(sb.buf, "GRANT REPLICATION SLAVE ON *.* TO 'agent'@'%';");
    sbuf_reset(&sb);
    preflight_add_grant(&sb, "SELECT", "we`ird db", "agent@127.0.0.1");
    CU_ASSERT_STRING_EQUAL(sb.buf, "GRANT SELECT ON `we``ird db`.* TO 'agent'@'127.0.0.1';");
    sbuf_reset(&sb);
    /* a user name with '@' and a quote: split at the last '@' */
    preflight_add_grant(&sb, "RELOAD", NULL, "o'b@x@10.0.0.%");
    CU_ASSERT_STRING_EQUAL(sb.buf, "GRANT RELOAD ON *.* TO 'o\\'b@x'@'10.0.0.%';");
    sbuf_reset(&sb);
    preflight_add_grant(&sb, "SELECT", "ünïcødé", "ägent@localhost");
    CU_ASSERT_STRING_EQUAL(sb.buf, "GRANT SELECT ON `ünïcødé`.* TO 'ägent'@'localhost';");
    sbuf_reset(&sb);
    preflight_add_account(&sb, NULL);
    CU_ASSERT_STRING_EQUAL(sb.buf, "'agent'@'%'");
    sbuf_free(&sb);
}

static void test_privilege_named(void)
{
    sbuf p = SBUF_INIT;
    CU_ASSERT_EQUAL(preflight_privilege_named("query failed: Access denied; you need (at least one of) the SUPER, "
                                              "BINLOG MONITOR privilege(s) for this operation (error 1227)", &p), 0);
    CU_ASSERT_STRING_EQUAL(p.buf, "BINLOG MONITOR");
    CU_ASSERT_EQUAL(preflight_privilege_named("Access denied; you need (at least one of) the REPLICATION SLAVE "
                                              "privilege(s) for this operation", &p), 0);
    CU_ASSERT_STRING_EQUAL(p.buf, "REPLICATION SLAVE");
    CU_ASSERT_EQUAL(preflight_privilege_named("Access denied; you need (at least one of) the SUPER, "
                                              "REPLICATION CLIENT privilege(s) for this operation", &p), 0);
    CU_ASSERT_STRING_EQUAL(p.buf, "REPLICATION CLIENT");
    CU_ASSERT_EQUAL(preflight_privilege_named("SHOW GRANTS lists no RELOAD on *.*", &p), -1);
    CU_ASSERT_EQUAL(preflight_privilege_named(NULL, &p), -1);
    sbuf_free(&p);
}

static void test_grants_parsing(void)
{
    preflight_grants g = {0};
    preflight_grants_add_line(&g, "GRANT USAGE ON *.* TO `agent`@`%` IDENTIFIED BY PASSWORD '*ABC'");
    CU_ASSERT_FALSE(preflight_grants_has(&g, "SELECT", NULL));
    preflight_grants_add_line(&g, "GRANT SELECT, RELOAD, REPLICATION SLAVE, BINLOG MONITOR ON *.* TO `agent`@`%`");
    CU_ASSERT_TRUE(preflight_grants_has(&g, "RELOAD", NULL));
    CU_ASSERT_TRUE(preflight_grants_has(&g, "REPLICATION SLAVE", NULL));
    CU_ASSERT_TRUE(preflight_grants_has(&g, "SELECT", "any"));
    CU_ASSERT_FALSE(preflight_grants_has(&g, "INSERT", "any"));
    /* database-level, with a name that needs quoting and a LIKE pattern */
    preflight_grants_add_line(&g, "GRANT INSERT, CREATE VIEW ON `we``ird, db`.* TO `agent`@`%`");
    CU_ASSERT_TRUE(preflight_grants_has(&g, "INSERT", "we`ird, db"));
    CU_ASSERT_TRUE(preflight_grants_has(&g, "CREATE VIEW", "we`ird, db"));
    CU_ASSERT_FALSE(preflight_grants_has(&g, "INSERT", "other"));
    CU_ASSERT_FALSE(preflight_grants_has(&g, "INSERT", NULL)); /* not global */
    preflight_grants_add_line(&g, "GRANT ALL PRIVILEGES ON `app\\_%`.* TO `agent`@`%`");
    CU_ASSERT_TRUE(preflight_grants_has(&g, "DROP", "app_prod"));
    CU_ASSERT_FALSE(preflight_grants_has(&g, "DROP", "appXprod"));
    CU_ASSERT_FALSE(preflight_grants_has(&g, "GRANT OPTION", "app_prod"));
    /* ignored: roles, tables, columns, routines, proxies */
    size_t n = g.n;
    preflight_grants_add_line(&g, "GRANT `r1` TO `agent`@`%`");
    preflight_grants_add_line(&g, "GRANT DELETE ON `db`.`t` TO `agent`@`%`");
    preflight_grants_add_line(&g, "GRANT EXECUTE ON PROCEDURE `db`.`p` TO `agent`@`%`");
    preflight_grants_add_line(&g, "GRANT PROXY ON ''@'%' TO 'root'@'localhost' WITH GRANT OPTION");
    preflight_grants_add_line(&g, "SET DEFAULT ROLE `r1` FOR `agent`@`%`");
    CU_ASSERT_EQUAL(g.n, n);
    CU_ASSERT_FALSE(preflight_grants_has(&g, "DELETE", "db"));
    /* column privileges do not cover the table; the rest of the line does */
    preflight_grants_add_line(&g, "GRANT UPDATE (`a, b`, `c`), LOCK TABLES ON `db`.* TO `agent`@`%`");
    CU_ASSERT_FALSE(preflight_grants_has(&g, "UPDATE", "db"));
    CU_ASSERT_TRUE(preflight_grants_has(&g, "LOCK TABLES", "db"));
    /* a role's grants (shown by SHOW GRANTS when active), MySQL spelling */
    preflight_grants_add_line(&g, "GRANT REPLICATION CLIENT,BACKUP_ADMIN ON *.* TO `r1`");
    CU_ASSERT_TRUE(preflight_grants_has(&g, "BINLOG MONITOR", NULL));
    CU_ASSERT_TRUE(preflight_grants_has(&g, "BACKUP_ADMIN", NULL));
    preflight_grants_clear(&g);
    CU_ASSERT_EQUAL(g.n, 0);

    CU_ASSERT_TRUE(preflight_like("a%", "abc"));
    CU_ASSERT_TRUE(preflight_like("%", ""));
    CU_ASSERT_TRUE(preflight_like("a_c", "abc"));
    CU_ASSERT_FALSE(preflight_like("a\\_c", "abc"));
    CU_ASSERT_TRUE(preflight_like("a\\_c", "a_c"));
    CU_ASSERT_TRUE(preflight_like("%b%", "abc"));
    CU_ASSERT_FALSE(preflight_like("%x%", "abc"));
}

static void test_sql_mode_diff(void)
{
    sbuf out = SBUF_INIT;
    preflight_sql_mode_minus("STRICT_TRANS_TABLES,NO_ZERO_DATE,ANSI_QUOTES", "NO_ZERO_DATE", &out);
    CU_ASSERT_STRING_EQUAL(out.buf, "STRICT_TRANS_TABLES,ANSI_QUOTES");
    sbuf_reset(&out);
    preflight_sql_mode_minus("NO_ZERO_DATE", "no_zero_date,STRICT_ALL_TABLES", &out);
    CU_ASSERT_EQUAL(out.len, 0);
    preflight_sql_mode_minus("", "STRICT_ALL_TABLES", &out);
    CU_ASSERT_EQUAL(out.len, 0);
    preflight_sql_mode_minus("ANSI", NULL, &out);
    CU_ASSERT_STRING_EQUAL(out.buf, "ANSI");
    sbuf_free(&out);
}

int suite_preflight(void)
{
    CU_pSuite s = CU_add_suite("preflight", NULL, NULL);
    if (!s || !CU_add_test(s, "version support rules", test_version_rules) ||
        !CU_add_test(s, "binlog retention", test_retention) ||
        !CU_add_test(s, "copy estimate and retention need", test_copy_estimate) ||
        !CU_add_test(s, "severity aggregation", test_severity_aggregation) ||
        !CU_add_test(s, "remedy formatting with odd names", test_remedy_formatting) ||
        !CU_add_test(s, "privilege named by error 1227", test_privilege_named) ||
        !CU_add_test(s, "SHOW GRANTS parsing", test_grants_parsing) ||
        !CU_add_test(s, "sql_mode differences", test_sql_mode_diff))
        return -1;
    return 0;
}
