/* render: human-readable views of agent messages for the terminal.
 *
 * One screen for `status` (label column, then facts), one line per update
 * for `watch`. Problems are spelled out on their own line so they are seen
 * at a glance, not buried in a field. */
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

#include "cpctl.h"
#include "tabletagent/v1/tabletagent.pb-c.h"

void render_duration(int64_t s, sbuf *out)
{
    if (s < 0)
        s = 0;
    if (s >= 86400)
        sbuf_addf(out, "%lldd%02lldh", (long long)(s / 86400), (long long)(s % 86400 / 3600));
    else if (s >= 3600)
        sbuf_addf(out, "%lldh%02lldm", (long long)(s / 3600), (long long)(s % 3600 / 60));
    else if (s >= 60)
        sbuf_addf(out, "%lldm%02llds", (long long)(s / 60), (long long)(s % 60));
    else
        sbuf_addf(out, "%llds", (long long)s);
}

static const char *on_off(int v)
{
    return v ? "ON" : "OFF";
}

static const char *or_dash(const char *s)
{
    return s && *s ? s : "-";
}

static const char *flavor_name(Tabletagent__V1__Flavor f)
{
    return f == TABLETAGENT__V1__FLAVOR__MARIADB ? "MariaDB" : f == TABLETAGENT__V1__FLAVOR__MYSQL ? "MySQL" : "?";
}

static int64_t now_ms(void)
{
    struct timeval tv;
    gettimeofday(&tv, NULL);
    return (int64_t)tv.tv_sec * 1000 + tv.tv_usec / 1000;
}

static void render_source(const Tabletagent__V1__SourceStatus *src, sbuf *out)
{
    sbuf_addf(out, "Source     %s  %s\n", or_dash(src->address),
              src->reachable ? "reachable" : "UNREACHABLE");
    if (!src->reachable)
        return;
    sbuf_addf(out, "Server     %s %s  server_id %u%s%s  read_only %s\n", flavor_name(src->flavor),
              or_dash(src->version), src->server_id, *src->server_uuid ? "  uuid " : "", src->server_uuid,
              on_off(src->read_only));
    sbuf_addf(out, "Binlog     %s  format %s  row_image %s  row_metadata %s  gtid_strict_mode %s\n",
              on_off(src->log_bin), or_dash(src->binlog_format), or_dash(src->binlog_row_image),
              or_dash(src->binlog_row_metadata), on_off(src->gtid_strict_mode));
    const Tabletagent__V1__Position *p = src->position;
    if (p)
        sbuf_addf(out, "Position   gtid %s  file %s:%llu\n", *p->gtid ? p->gtid : "(empty)", or_dash(p->file),
                  (unsigned long long)p->offset);
    sbuf_addf(out, "Oldest     %s  gtid %s  retention ", or_dash(src->oldest_binlog_file),
              *src->oldest_gtid ? src->oldest_gtid : "(empty)");
    if (src->binlog_retention_seconds)
        render_duration(src->binlog_retention_seconds, out);
    else
        sbuf_adds(out, "never expires");
    sbuf_addc(out, '\n');
    if (src->probed_at_unix_ms)
        sbuf_addf(out, "Probed     %.1f s ago, took %u ms\n", (double)(now_ms() - src->probed_at_unix_ms) / 1000.0,
                  src->probe_duration_ms);
}

void render_status(const ProtobufCMessage *msg, const char *agent_addr, sbuf *out)
{
    const Tabletagent__V1__AgentStatus *st = (const void *)msg;
    sbuf_addf(out, "Agent      %s  tablet-agent %s  up ", agent_addr, st->agent_version);
    render_duration(st->uptime_seconds, out);
    sbuf_addf(out, "  rss %.1f MB\n", (double)st->rss_bytes / (1024.0 * 1024.0));
    bool serving = st->state == TABLETAGENT__V1__SERVING_STATE__SERVING;
    sbuf_addf(out, "Health     %s\n", serving ? "SERVING" : "NOT_SERVING");
    if (!serving && *st->health_error)
        sbuf_addf(out, "Problem    %s\n", st->health_error);
    if (st->source)
        render_source(st->source, out);
}

void render_status_line(const ProtobufCMessage *msg, sbuf *out)
{
    const Tabletagent__V1__AgentStatus *st = (const void *)msg;
    char ts[32];
    time_t t = time(NULL);
    struct tm tm;
    localtime_r(&t, &tm);
    strftime(ts, sizeof ts, "%H:%M:%S", &tm);
    bool serving = st->state == TABLETAGENT__V1__SERVING_STATE__SERVING;
    sbuf_addf(out, "%s #%llu %-11s", ts, (unsigned long long)st->sequence, serving ? "SERVING" : "NOT_SERVING");
    const Tabletagent__V1__SourceStatus *src = st->source;
    if (src && src->position && src->reachable)
        sbuf_addf(out, " gtid=%s file=%s:%llu", *src->position->gtid ? src->position->gtid : "(empty)",
                  or_dash(src->position->file), (unsigned long long)src->position->offset);
    if (!serving && *st->health_error)
        sbuf_addf(out, " error=\"%s\"", st->health_error);
}
