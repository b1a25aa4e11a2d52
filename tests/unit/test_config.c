/* Unit tests: configuration layers and their precedence, strict parsing,
 * and the rules that keep the password out of flags. */
#include <CUnit/CUnit.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "lib/log.h"

static char cfg_path[64];

static void clear_env(void)
{
    unsetenv("TABLET_AGENT_LISTEN");
    unsetenv("TABLET_AGENT_PROBE_INTERVAL_MS");
    unsetenv("TABLET_AGENT_SOURCE_USER");
    unsetenv("TABLET_AGENT_SOURCE_PASSWORD");
    unsetenv("TABLET_AGENT_CONFIG");
}

static void write_file(const char *text)
{
    strcpy(cfg_path, "/tmp/cfgtestXXXXXX");
    int fd = mkstemp(cfg_path);
    CU_ASSERT_FATAL(fd >= 0);
    CU_ASSERT(write(fd, text, strlen(text)) == (ssize_t)strlen(text));
    close(fd);
}

static int load(agent_config *cfg, sbuf *err, int argc, char **argv)
{
    sbuf_reset(err);
    return config_load(cfg, argc, argv, err);
}

static void test_defaults(void)
{
    clear_env();
    agent_config cfg;
    sbuf err = SBUF_INIT;
    char *argv[] = {"agent", "--source-user=u", NULL};
    CU_ASSERT_EQUAL(load(&cfg, &err, 2, argv), 0);
    CU_ASSERT_STRING_EQUAL(cfg.listen, "127.0.0.1:15991");
    CU_ASSERT_EQUAL(cfg.probe_interval_ms, 2000);
    CU_ASSERT_EQUAL(cfg.source.port, 3306);
    CU_ASSERT_PTR_NULL(cfg.source.password);
    CU_ASSERT_FALSE(config_tls_enabled(&cfg));
    config_free(&cfg);
    sbuf_free(&err);
}

static void test_precedence(void)
{
    clear_env();
    write_file("# comment\nlisten = 1.1.1.1:1\nprobe-interval-ms = 300\nsource-user = fileuser\n"
               "source-port=3307\n");
    setenv("TABLET_AGENT_CONFIG", cfg_path, 1);
    setenv("TABLET_AGENT_PROBE_INTERVAL_MS", "400", 1);
    setenv("TABLET_AGENT_LISTEN", "2.2.2.2:2", 1);
    agent_config cfg;
    sbuf err = SBUF_INIT;
    char *argv[] = {"agent", "--listen", "3.3.3.3:3", NULL};
    CU_ASSERT_EQUAL_FATAL(load(&cfg, &err, 3, argv), 0);
    CU_ASSERT_STRING_EQUAL(cfg.listen, "3.3.3.3:3");      /* flag beats env and file */
    CU_ASSERT_EQUAL(cfg.probe_interval_ms, 400);           /* env beats file */
    CU_ASSERT_STRING_EQUAL(cfg.source.user, "fileuser");  /* file beats default */
    CU_ASSERT_EQUAL(cfg.source.port, 3307);
    config_free(&cfg);
    sbuf_free(&err);
    unlink(cfg_path);
    clear_env();
}

static void test_strict_values(void)
{
    clear_env();
    agent_config cfg;
    sbuf err = SBUF_INIT;
    char *a1[] = {"agent", "--source-user=u", "--probe-interval-ms=20x", NULL};
    CU_ASSERT_EQUAL(load(&cfg, &err, 3, a1), -1);
    CU_ASSERT_STRING_EQUAL(err.buf, "--probe-interval-ms: probe-interval-ms must be a non-negative integer, got \"20x\"");
    config_free(&cfg);
    char *a2[] = {"agent", "--nope=1", NULL};
    CU_ASSERT_EQUAL(load(&cfg, &err, 2, a2), -1);
    CU_ASSERT_STRING_EQUAL(err.buf, "unknown flag --nope (see --help)");
    config_free(&cfg);
    char *a3[] = {"agent", "--source-user=u", "--log-level=loud", NULL};
    CU_ASSERT_EQUAL(load(&cfg, &err, 3, a3), -1);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.buf, "debug, info, warn or error"));
    config_free(&cfg);
    char *a4[] = {"agent", NULL};
    CU_ASSERT_EQUAL(load(&cfg, &err, 1, a4), -1);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.buf, "source-user is not set"));
    config_free(&cfg);
    char *a5[] = {"agent", "--source-user=u", "--tls-cert=c.pem", NULL};
    CU_ASSERT_EQUAL(load(&cfg, &err, 3, a5), -1);
    CU_ASSERT_STRING_EQUAL(err.buf, "mTLS needs all of tls-cert, tls-key and tls-client-ca; 1 of 3 are set");
    config_free(&cfg);
    char *a6[] = {"agent", "--source-user=u", "--listen", NULL};
    CU_ASSERT_EQUAL(load(&cfg, &err, 3, a6), -1);
    CU_ASSERT_STRING_EQUAL(err.buf, "--listen needs a value");
    config_free(&cfg);
    sbuf_free(&err);
}

static void test_file_errors(void)
{
    clear_env();
    write_file("listen = x:1\nbogus = 1\n");
    agent_config cfg;
    sbuf err = SBUF_INIT, want = SBUF_INIT;
    char *argv[] = {"agent", "--config", cfg_path, "--source-user=u", NULL};
    CU_ASSERT_EQUAL(load(&cfg, &err, 4, argv), -1);
    sbuf_addf(&want, "%s:2: unknown setting \"bogus\" (see --help)", cfg_path);
    CU_ASSERT_STRING_EQUAL(err.buf, want.buf);
    config_free(&cfg);
    unlink(cfg_path);
    char *argv2[] = {"agent", "--config=/nonexistent/agent.conf", NULL};
    CU_ASSERT_EQUAL(load(&cfg, &err, 2, argv2), -1);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.buf, "cannot read config file /nonexistent/agent.conf"));
    config_free(&cfg);
    sbuf_free(&err);
    sbuf_free(&want);
}

static void test_password_sources(void)
{
    clear_env();
    agent_config cfg;
    sbuf err = SBUF_INIT, pw = SBUF_INIT;
    char *a1[] = {"agent", "--source-user=u", "--source-password=hunter2", NULL};
    CU_ASSERT_EQUAL(load(&cfg, &err, 3, a1), -1);
    CU_ASSERT_PTR_NULL(strstr(err.buf, "hunter2"));
    CU_ASSERT_PTR_NOT_NULL(strstr(err.buf, "--source-password-file"));
    config_free(&cfg);

    setenv("TABLET_AGENT_SOURCE_PASSWORD", "s3cret", 1);
    char *a2[] = {"agent", "--source-user=u", NULL};
    CU_ASSERT_EQUAL_FATAL(load(&cfg, &err, 2, a2), 0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(cfg.source.password);
    CU_ASSERT_EQUAL(secret_read(cfg.source.password, &pw, &err), 0);
    CU_ASSERT_STRING_EQUAL(pw.buf, "s3cret");
    CU_ASSERT_PTR_NULL(getenv("TABLET_AGENT_SOURCE_PASSWORD")); /* consumed */
    sbuf_reset(&err);
    secret_describe(cfg.source.password, &err);
    CU_ASSERT_STRING_EQUAL(err.buf, "env TABLET_AGENT_SOURCE_PASSWORD");
    config_free(&cfg);

    write_file("filepass\n");
    char *a3[] = {"agent", "--source-user=u", "--source-password-file", cfg_path, NULL};
    CU_ASSERT_EQUAL_FATAL(load(&cfg, &err, 4, a3), 0);
    CU_ASSERT_EQUAL(secret_read(cfg.source.password, &pw, &err), 0);
    CU_ASSERT_STRING_EQUAL(pw.buf, "filepass"); /* trailing newline dropped */
    config_free(&cfg);
    unlink(cfg_path);
    sbuf_wipe(&pw);
    sbuf_free(&err);
}

static void test_usage_lists_everything(void)
{
    sbuf out = SBUF_INIT;
    config_usage(&out);
    CU_ASSERT_PTR_NOT_NULL(strstr(out.buf, "--probe-interval-ms"));
    CU_ASSERT_PTR_NOT_NULL(strstr(out.buf, "TABLET_AGENT_PROBE_INTERVAL_MS"));
    CU_ASSERT_PTR_NOT_NULL(strstr(out.buf, "Precedence: flags > environment > config file (--config or TABLET_AGENT_CONFIG) > defaults"));
    sbuf_free(&out);
}

/* One log line written while stderr is a pipe, read back. */
static void capture_line(char *buf, size_t size, void (*emit)(void))
{
    int fds[2];
    CU_ASSERT_FATAL(pipe(fds) == 0);
    int saved = dup(STDERR_FILENO);
    dup2(fds[1], STDERR_FILENO);
    emit();
    dup2(saved, STDERR_FILENO);
    close(saved);
    close(fds[1]);
    ssize_t n = read(fds[0], buf, size - 1);
    buf[n > 0 ? n : 0] = '\0';
    close(fds[0]);
}

static void emit_event(void)
{
    log_event(LOG_WARN, "copier", LOG_ABOUT(.workflow = "w\"1", .schema = "s\\", .table = "t\x01\xff\xc3\xa9"),
              "page of %s failed:\n\"%s\"", "t\x01\xff\xc3\xa9", "x\ty");
}

static void emit_plain(void)
{
    log_info("agent", "plain %d", 7);
}

static void test_log_format(void)
{
    clear_env();
    agent_config cfg;
    sbuf err = SBUF_INIT;
    char *bad[] = {"agent", "--source-user=u", "--log-format=xml", NULL};
    CU_ASSERT_EQUAL(load(&cfg, &err, 3, bad), -1);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.buf, "--log-format: log-format must be text or json, got \"xml\""));
    config_free(&cfg);
    setenv("TABLET_AGENT_LOG_FORMAT", "json", 1);
    char *argv[] = {"agent", "--source-user=u", NULL};
    CU_ASSERT_EQUAL(load(&cfg, &err, 2, argv), 0);
    unsetenv("TABLET_AGENT_LOG_FORMAT");
    config_free(&cfg);

    char line[1024];
    capture_line(line, sizeof line, emit_event);
    /* ts first, then the fields; every string escaped; bytes that are not
     * UTF-8 become U+FFFD; one line. */
    CU_ASSERT_EQUAL(strncmp(line, "{\"ts\":\"20", 9), 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(line, "Z\",\"level\":\"warn\",\"component\":\"copier\",\"workflow\":\"w\\\"1\","
                                        "\"table\":\"s\\\\.t\\u0001\\ufffd\xc3\xa9\","
                                        "\"msg\":\"page of t\\u0001\\ufffd\xc3\xa9 failed:\\n\\\"x\\ty\\\"\"}\n"));
    CU_ASSERT(utf8_valid(line, strlen(line)));
    CU_ASSERT_PTR_EQUAL(strchr(line, '\n'), line + strlen(line) - 1); /* one line */
    capture_line(line, sizeof line, emit_plain);
    CU_ASSERT_PTR_NOT_NULL(strstr(line, "\",\"level\":\"info\",\"component\":\"agent\",\"msg\":\"plain 7\"}\n"));

    log_set_format(LOG_TEXT);
    capture_line(line, sizeof line, emit_event);
    /* The text line reads as before log_event: "component: NAME: message". */
    CU_ASSERT_PTR_NOT_NULL(strstr(line, "Z WARN  copier: w\"1: page of t"));
    sbuf_free(&err);
}

int suite_config(void)
{
    CU_pSuite s = CU_add_suite("config", NULL, NULL);
    if (!s || !CU_add_test(s, "defaults", test_defaults) || !CU_add_test(s, "precedence", test_precedence) ||
        !CU_add_test(s, "strict values", test_strict_values) || !CU_add_test(s, "file errors", test_file_errors) ||
        !CU_add_test(s, "password sources", test_password_sources) ||
        !CU_add_test(s, "usage", test_usage_lists_everything) || !CU_add_test(s, "log format", test_log_format))
        return -1;
    return 0;
}
