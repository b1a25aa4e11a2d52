/* gtid: MariaDB GTID lists and MySQL GTID sets. See gtid.h for the contract.
 *
 * A set keeps one sorted array for its flavour and nothing else:
 *
 *   MariaDB  gtid_domain entries sorted by domain. A GTID list is a position,
 *            not a history, so one (server, seq) per domain is all there is.
 *   MySQL    gtid_group entries sorted by (uuid, tag), the untagged group of
 *            a uuid first because "" sorts before any tag. Each group holds
 *            inclusive ranges that are sorted, disjoint and never adjacent
 *            (1-3 and 4-5 are stored as 1-5). A group is never empty, so
 *            "same groups, same ranges" is set equality and the canonical
 *            text falls straight out of the array order.
 *
 * Lookups are binary searches. Adding a transaction that extends the last
 * range of its group, the normal case while replicating, changes one number
 * in place: no allocation, no memmove.
 *
 * Parsing splits the text at commas and parses each entry into a fresh set,
 * which is thrown away on the first error. Character classes are spelled
 * out instead of using <ctype.h> so the accepted syntax does not depend on
 * the locale. */
#include "gtid.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#define UUID_TEXT_LEN 36
/* Quoted text in error messages is cut here: gtid_executed can be huge. */
#define QUOTE_MAX 64

typedef struct {
    uint32_t domain;
    uint32_t server;
    uint64_t seq;
} gtid_domain;

typedef struct {
    uint64_t lo, hi; /* inclusive */
} gtid_range;

typedef struct {
    uint8_t uuid[16];
    char tag[GTID_TAG_MAX + 1]; /* "" when untagged */
    gtid_range *r;
    size_t n, cap;
} gtid_group;

struct gtid_set {
    server_flavor flavor;
    gtid_domain *dom; /* FLAVOR_MARIADB */
    size_t ndom, domcap;
    gtid_group *grp; /* FLAVOR_MYSQL */
    size_t ngrp, grpcap;
};

/* ---- small helpers ------------------------------------------------------ */

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

static bool is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static bool is_alpha(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static char to_lower(char c)
{
    return (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
}

static int hex_value(char c)
{
    if (is_digit(c))
        return c - '0';
    c = to_lower(c);
    return (c >= 'a' && c <= 'f') ? c - 'a' + 10 : -1;
}

static const char *skip_space(const char *p)
{
    while (is_space(*p))
        p++;
    return p;
}

static const char *trim_end(const char *start, const char *end)
{
    while (end > start && is_space(end[-1]))
        end--;
    return end;
}

static const char *find_char(const char *p, const char *end, char c)
{
    const char *q = memchr(p, c, (size_t)(end - p));
    return q ? q : end;
}

/* Grows an array geometrically so appends are amortised O(1). */
static void *array_reserve(void *p, size_t *cap, size_t need, size_t size)
{
    if (need <= *cap)
        return p;
    size_t c = *cap ? *cap : 4;
    while (c < need)
        c *= 2;
    *cap = c;
    return xrealloc(p, c * size);
}

/* Reads decimal digits only: signs and blanks are syntax errors, not
 * something to skip as strtoull would. Returns the digits consumed. */
static size_t dec_parse(const char *p, const char *end, uint64_t max, uint64_t *val,
                        bool *overflow)
{
    const char *q = p;
    uint64_t v = 0;
    *overflow = false;
    for (; q < end && is_digit(*q); q++) {
        unsigned d = (unsigned)(*q - '0');
        if (v > (max - d) / 10)
            *overflow = true;
        else
            v = v * 10 + d;
    }
    *val = v;
    return (size_t)(q - p);
}

/* ---- error messages ----------------------------------------------------- */

/* Appends s as a C-like quoted string, escaping control characters so a
 * stray newline in the input stays visible in a one-line log. */
static void quote_add(sbuf *sb, const char *s, size_t len, bool clipped_front)
{
    sbuf_addc(sb, '"');
    if (clipped_front)
        sbuf_adds(sb, "...");
    size_t n = len > QUOTE_MAX ? QUOTE_MAX : len;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '\n')
            sbuf_adds(sb, "\\n");
        else if (c == '\t')
            sbuf_adds(sb, "\\t");
        else if (c == '"' || c == '\\')
            sbuf_addf(sb, "\\%c", c);
        else if (c < 0x20 || c == 0x7f)
            sbuf_addf(sb, "\\x%02x", c);
        else
            sbuf_addc(sb, (char)c);
    }
    if (len > n)
        sbuf_adds(sb, "...");
    sbuf_addc(sb, '"');
}

/* "<what> "<quoted>" at position <at>: <why>", always returning -1. */
static int __attribute__((format(printf, 7, 8)))
err_at(sbuf *err, const char *what, const char *q, size_t qlen, const char *text, const char *at,
       const char *why, ...)
{
    va_list ap;
    sbuf_setf(err, "%s ", what);
    quote_add(err, q, qlen, false);
    sbuf_addf(err, " at position %zu: ", (size_t)(at - text) + 1);
    va_start(ap, why);
    sbuf_vaddf(err, why, ap);
    va_end(ap);
    return -1;
}

/* "<what> in "<text>" at position <at>: <why>", always returning -1. For
 * an empty entry or a stray blank, which have no text of their own to
 * quote: the quote starts a little before, so the surroundings show. */
static int __attribute__((format(printf, 5, 6)))
err_near(sbuf *err, const char *what, const char *text, const char *at, const char *why, ...)
{
    va_list ap;
    const char *from = at - text > 16 ? at - 16 : text;
    sbuf_setf(err, "%s in ", what);
    quote_add(err, from, strlen(from), from != text);
    sbuf_addf(err, " at position %zu: ", (size_t)(at - text) + 1);
    va_start(ap, why);
    sbuf_vaddf(err, why, ap);
    va_end(ap);
    return -1;
}

static const char *unexpected_blank(char c)
{
    return c == ' '    ? "unexpected space"
           : c == '\t' ? "unexpected tab"
           : c == '\n' ? "unexpected newline"
                       : "unexpected carriage return";
}

/* ---- set lifetime ------------------------------------------------------- */

gtid_set *gtid_set_new(server_flavor flavor)
{
    gtid_set *s = xcalloc(1, sizeof(*s));
    s->flavor = flavor;
    return s;
}

void gtid_set_free(gtid_set *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < s->ngrp; i++)
        free(s->grp[i].r);
    free(s->grp);
    free(s->dom);
    free(s);
}

gtid_set *gtid_set_dup(const gtid_set *s)
{
    gtid_set *d = gtid_set_new(s->flavor);
    if (s->ndom) {
        d->dom = xmalloc(s->ndom * sizeof(*d->dom));
        memcpy(d->dom, s->dom, s->ndom * sizeof(*d->dom));
        d->ndom = d->domcap = s->ndom;
    }
    if (s->ngrp) {
        d->grp = xmalloc(s->ngrp * sizeof(*d->grp));
        d->ngrp = d->grpcap = s->ngrp;
    }
    for (size_t i = 0; i < s->ngrp; i++) {
        gtid_group *g = &d->grp[i];
        *g = s->grp[i];
        g->r = xmalloc(g->n * sizeof(*g->r));
        memcpy(g->r, s->grp[i].r, g->n * sizeof(*g->r));
        g->cap = g->n;
    }
    return d;
}

server_flavor gtid_set_flavor(const gtid_set *s)
{
    return s->flavor;
}

bool gtid_set_is_empty(const gtid_set *s)
{
    return s->ndom == 0 && s->ngrp == 0;
}

/* ---- MariaDB domains ---------------------------------------------------- */

/* Index of domain, or of where it would be inserted. */
static size_t domain_find(const gtid_set *s, uint32_t domain, bool *found)
{
    size_t lo = 0, hi = s->ndom;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (s->dom[mid].domain < domain)
            lo = mid + 1;
        else
            hi = mid;
    }
    *found = lo < s->ndom && s->dom[lo].domain == domain;
    return lo;
}

/* The entry of domain, inserted with seq 0 if it is new. */
static gtid_domain *domain_slot(gtid_set *s, uint32_t domain)
{
    bool found;
    size_t i = domain_find(s, domain, &found);
    if (found)
        return &s->dom[i];
    s->dom = array_reserve(s->dom, &s->domcap, s->ndom + 1, sizeof(*s->dom));
    memmove(&s->dom[i + 1], &s->dom[i], (s->ndom - i) * sizeof(*s->dom));
    s->ndom++;
    s->dom[i] = (gtid_domain){.domain = domain};
    return &s->dom[i];
}

/* No ordering check against the recorded sequence: outside strict mode
 * MariaDB itself can apply a lower sequence after a higher one in the same
 * domain (another master, a manual SET gtid_slave_pos), and the caller
 * mirrors what the server did. The latest event is the position. */
int gtid_set_add_mariadb(gtid_set *s, uint32_t domain, uint32_t server, uint64_t seq, sbuf *err)
{
    if (s->flavor != FLAVOR_MARIADB) {
        sbuf_setf(err, "cannot add MariaDB GTID %" PRIu32 "-%" PRIu32 "-%" PRIu64
                       " to a MySQL GTID set",
                  domain, server, seq);
        return -1;
    }
    gtid_domain *d = domain_slot(s, domain);
    d->server = server;
    d->seq = seq;
    return 0;
}

uint64_t gtid_set_mariadb_seq(const gtid_set *s, uint32_t domain)
{
    bool found;
    if (s->flavor != FLAVOR_MARIADB)
        return 0;
    size_t i = domain_find(s, domain, &found);
    return found ? s->dom[i].seq : 0;
}

/* One "domain-server-seq" entry, already trimmed. */
static int mariadb_entry_parse(gtid_set *s, const char *text, const char *tok, const char *end,
                               sbuf *err)
{
    static const uint64_t max[3] = {UINT32_MAX, UINT32_MAX, UINT64_MAX};
    static const char *const name[3] = {"domain", "server id", "sequence number"};
    size_t len = (size_t)(end - tok);
    const char *p = tok;
    uint64_t v[3];
    bool overflow, found;

    for (int i = 0; i < 3; i++) {
        if (i > 0 && (p == end || *p++ != '-'))
            return err_at(err, "malformed GTID", tok, len, text, tok,
                          "expected domain-server-sequence");
        size_t n = dec_parse(p, end, max[i], &v[i], &overflow);
        if (n == 0)
            return err_at(err, "malformed GTID", tok, len, text, tok,
                          "expected domain-server-sequence");
        if (overflow)
            return err_at(err, "malformed GTID", tok, len, text, tok, "%s exceeds %" PRIu64,
                          name[i], max[i]);
        p += n;
    }
    if (p != end)
        return err_at(err, "malformed GTID", tok, len, text, tok,
                      "expected domain-server-sequence");
    domain_find(s, (uint32_t)v[0], &found);
    if (found)
        return err_at(err, "duplicate domain in GTID", tok, len, text, tok,
                      "domain %" PRIu64 " already appears earlier in the list", v[0]);
    gtid_domain *d = domain_slot(s, (uint32_t)v[0]);
    d->server = (uint32_t)v[1];
    d->seq = v[2];
    return 0;
}

static void mariadb_format(const gtid_set *s, sbuf *out)
{
    for (size_t i = 0; i < s->ndom; i++)
        sbuf_addf(out, "%s%" PRIu32 "-%" PRIu32 "-%" PRIu64, i ? "," : "", s->dom[i].domain,
                  s->dom[i].server, s->dom[i].seq);
}

static bool mariadb_equal(const gtid_set *a, const gtid_set *b)
{
    if (a->ndom != b->ndom)
        return false;
    for (size_t i = 0; i < a->ndom; i++) {
        const gtid_domain *x = &a->dom[i], *y = &b->dom[i];
        if (x->domain != y->domain || x->server != y->server || x->seq != y->seq)
            return false;
    }
    return true;
}

static bool mariadb_contains(const gtid_set *a, const gtid_set *b)
{
    size_t i = 0;
    for (size_t j = 0; j < b->ndom; j++) {
        while (i < a->ndom && a->dom[i].domain < b->dom[j].domain)
            i++;
        if (i == a->ndom || a->dom[i].domain != b->dom[j].domain ||
            a->dom[i].seq < b->dom[j].seq)
            return false;
    }
    return true;
}

static void mariadb_union(gtid_set *a, const gtid_set *b)
{
    for (size_t j = 0; j < b->ndom; j++) {
        bool found;
        domain_find(a, b->dom[j].domain, &found);
        gtid_domain *d = domain_slot(a, b->dom[j].domain);
        if (!found || b->dom[j].seq > d->seq)
            *d = b->dom[j];
    }
}

/* ---- MySQL ranges --------------------------------------------------------- */

static void range_insert_at(gtid_group *g, size_t i, uint64_t lo, uint64_t hi)
{
    g->r = array_reserve(g->r, &g->cap, g->n + 1, sizeof(*g->r));
    memmove(&g->r[i + 1], &g->r[i], (g->n - i) * sizeof(*g->r));
    g->r[i] = (gtid_range){lo, hi};
    g->n++;
}

/* First range that [lo, ...] could touch: the first whose hi + 1 >= lo.
 * Numbers stay below UINT64_MAX (GTID_MYSQL_GNO_MAX), so hi + 1 is safe. */
static size_t range_lower_bound(const gtid_group *g, uint64_t lo)
{
    size_t a = 0, b = g->n;
    while (a < b) {
        size_t mid = a + (b - a) / 2;
        if (g->r[mid].hi + 1 < lo)
            a = mid + 1;
        else
            b = mid;
    }
    return a;
}

/* Adds [lo, hi], merging every range it overlaps or touches. */
static void range_add(gtid_group *g, uint64_t lo, uint64_t hi)
{
    gtid_range *last = g->n ? &g->r[g->n - 1] : NULL;

    /* Transactions arrive in order: extend or append at the tail. */
    if (last && lo >= last->lo && lo <= last->hi + 1) {
        if (hi > last->hi)
            last->hi = hi;
        return;
    }
    if (!last || lo > last->hi + 1) {
        range_insert_at(g, g->n, lo, hi);
        return;
    }
    size_t i = range_lower_bound(g, lo), j = i;
    while (j < g->n && g->r[j].lo <= hi + 1)
        j++;
    if (j == i) {
        range_insert_at(g, i, lo, hi);
        return;
    }
    g->r[i].lo = lo < g->r[i].lo ? lo : g->r[i].lo;
    g->r[i].hi = hi > g->r[j - 1].hi ? hi : g->r[j - 1].hi;
    memmove(&g->r[i + 1], &g->r[j], (g->n - j) * sizeof(*g->r));
    g->n -= j - i - 1;
}

/* Every range of b lies inside one range of a. Because a's ranges are
 * maximal, a range of b spanning two of them has a hole in a. */
static bool range_contains(const gtid_group *a, const gtid_group *b)
{
    size_t i = 0;
    for (size_t j = 0; j < b->n; j++) {
        while (i < a->n && a->r[i].hi < b->r[j].lo)
            i++;
        if (i == a->n || a->r[i].lo > b->r[j].lo || a->r[i].hi < b->r[j].hi)
            return false;
    }
    return true;
}

/* ---- MySQL groups ------------------------------------------------------- */

static int group_cmp(const uint8_t uuid[16], const char *tag, const gtid_group *g)
{
    int c = memcmp(uuid, g->uuid, 16);
    return c ? c : strcmp(tag, g->tag);
}

static size_t group_find(const gtid_set *s, const uint8_t uuid[16], const char *tag, bool *found)
{
    size_t lo = 0, hi = s->ngrp;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (group_cmp(uuid, tag, &s->grp[mid]) > 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    *found = lo < s->ngrp && group_cmp(uuid, tag, &s->grp[lo]) == 0;
    return lo;
}

/* The group of (uuid, tag), inserted empty if new: the caller must give it
 * a range before anyone else looks at the set. The pointer is valid until
 * the next insertion. tag is already normalised. */
static gtid_group *group_slot(gtid_set *s, const uint8_t uuid[16], const char *tag)
{
    bool found;
    size_t i = group_find(s, uuid, tag, &found);
    if (found)
        return &s->grp[i];
    s->grp = array_reserve(s->grp, &s->grpcap, s->ngrp + 1, sizeof(*s->grp));
    memmove(&s->grp[i + 1], &s->grp[i], (s->ngrp - i) * sizeof(*s->grp));
    s->ngrp++;
    gtid_group *g = &s->grp[i];
    memset(g, 0, sizeof(*g));
    memcpy(g->uuid, uuid, 16);
    strcpy(g->tag, tag);
    return g;
}

/* Checks a tag and writes it lowercased to out. NULL when valid, else what
 * is wrong with it. */
static const char *tag_normalize(const char *s, size_t len, char out[GTID_TAG_MAX + 1])
{
    if (len == 0 || len > GTID_TAG_MAX)
        return "expected 1 to 32 characters";
    if (!is_alpha(s[0]) && s[0] != '_')
        return "expected a letter or underscore first";
    for (size_t i = 0; i < len; i++) {
        if (!is_alpha(s[i]) && !is_digit(s[i]) && s[i] != '_')
            return "expected only letters, digits and underscores";
        out[i] = to_lower(s[i]);
    }
    out[len] = '\0';
    return NULL;
}

int gtid_set_add_mysql(gtid_set *s, const uint8_t uuid[16], const char *tag, uint64_t gno,
                       sbuf *err)
{
    char norm[GTID_TAG_MAX + 1] = "";
    const char *why;

    if (s->flavor != FLAVOR_MYSQL) {
        sbuf_setf(err, "cannot add a MySQL GTID to a MariaDB GTID list");
        return -1;
    }
    if (tag && *tag && (why = tag_normalize(tag, strlen(tag), norm))) {
        sbuf_setf(err, "invalid GTID tag ");
        quote_add(err, tag, strlen(tag), false);
        sbuf_addf(err, ": %s", why);
        return -1;
    }
    if (gno == 0 || gno > GTID_MYSQL_GNO_MAX) {
        sbuf_setf(err, "invalid GTID number %" PRIu64 ": expected 1 to %" PRIu64, gno,
                  GTID_MYSQL_GNO_MAX);
        return -1;
    }
    range_add(group_slot(s, uuid, norm), gno, gno);
    return 0;
}

static int uuid_parse(const char *p, size_t len, uint8_t uuid[16])
{
    if (len != UUID_TEXT_LEN)
        return -1;
    for (size_t i = 0, k = 0; i < len; k++) {
        if (i == 8 || i == 13 || i == 18 || i == 23) {
            if (p[i++] != '-')
                return -1;
        }
        int h = hex_value(p[i]), l = hex_value(p[i + 1]);
        if (h < 0 || l < 0)
            return -1;
        uuid[k] = (uint8_t)(h << 4 | l);
        i += 2;
    }
    return 0;
}

static void uuid_format(const uint8_t uuid[16], sbuf *out)
{
    static const char hex[] = "0123456789abcdef";
    for (int k = 0; k < 16; k++) {
        if (k == 4 || k == 6 || k == 8 || k == 10)
            sbuf_addc(out, '-');
        sbuf_addc(out, hex[uuid[k] >> 4]);
        sbuf_addc(out, hex[uuid[k] & 15]);
    }
}

/* One "n" or "a-b" element of a group. */
static int interval_parse(const char *text, const char *tok, const char *end, uint64_t *lo,
                          uint64_t *hi, sbuf *err)
{
    size_t len = (size_t)(end - tok);
    bool ovf_lo, ovf_hi = false;
    size_t n = dec_parse(tok, end, GTID_MYSQL_GNO_MAX, lo, &ovf_lo);
    const char *p = tok + n;
    bool zero_led = n > 1 && tok[0] == '0';

    *hi = *lo;
    if (n && p < end && *p == '-') {
        size_t m = dec_parse(p + 1, end, GTID_MYSQL_GNO_MAX, hi, &ovf_hi);
        zero_led = zero_led || (m > 1 && p[1] == '0');
        p = m ? p + 1 + m : tok;
    }
    if (n == 0 || p != end)
        return err_at(err, "malformed GTID interval", tok, len, text, tok,
                      "expected n or a-b with decimal numbers, or a tag");
    /* MySQL reads numbers as C does: 010 is octal 8, and 08 an error. */
    if (zero_led)
        return err_at(err, "malformed GTID interval", tok, len, text, tok,
                      "remove the leading zeros (MySQL reads 010 as octal 8)");
    if (ovf_lo || ovf_hi)
        return err_at(err, "invalid GTID interval", tok, len, text, tok,
                      "numbers must not exceed %" PRIu64, GTID_MYSQL_GNO_MAX);
    if (*lo == 0)
        return err_at(err, "invalid GTID interval", tok, len, text, tok,
                      "transaction numbers start at 1");
    if (*lo > *hi)
        return err_at(err, "invalid GTID interval", tok, len, text, tok,
                      "start %" PRIu64 " is greater than end %" PRIu64, *lo, *hi);
    return 0;
}

static int err_tag_alone(sbuf *err, const char *text, const char *tag, const char *end)
{
    return err_at(err, "malformed GTID tag", tag, (size_t)(find_char(tag, end, ':') - tag), text,
                  tag, "a tag must be followed by at least one interval");
}

/* Parses the ":elem:elem..." part of a group after the uuid. p is at the
 * first ':'. A tag switches the target group for the intervals after it. */
static int mysql_elements_parse(gtid_set *s, const uint8_t uuid[16], const char *text,
                                const char *group, const char *p, const char *end, sbuf *err)
{
    char tag[GTID_TAG_MAX + 1] = "";
    const char *tag_at = NULL; /* set while a tag still waits for an interval */
    gtid_group *g = NULL;

    while (p < end) {
        const char *el = p + 1, *el_end = find_char(el, end, ':');
        p = el_end;
        if (el == el_end)
            return err_at(err, "empty element in GTID set group", group,
                          (size_t)(end - group), text, el,
                          "expected an interval or a tag after ':'");
        if (is_alpha(*el) || *el == '_') {
            if (tag_at)
                return err_tag_alone(err, text, tag_at, end);
            const char *why = tag_normalize(el, (size_t)(el_end - el), tag);
            if (why)
                return err_at(err, "malformed GTID tag", el, (size_t)(el_end - el), text, el,
                              "%s", why);
            tag_at = el;
            g = NULL;
            continue;
        }
        uint64_t lo, hi;
        if (interval_parse(text, el, el_end, &lo, &hi, err))
            return -1;
        if (!g)
            g = group_slot(s, uuid, tag);
        range_add(g, lo, hi);
        tag_at = NULL;
    }
    return tag_at ? err_tag_alone(err, text, tag_at, end) : 0;
}

/* One "uuid:elem[:elem...]" group, already trimmed. */
static int mysql_group_parse(gtid_set *s, const char *text, const char *tok, const char *end,
                             sbuf *err)
{
    uint8_t uuid[16];
    const char *colon = find_char(tok, end, ':');

    if (uuid_parse(tok, (size_t)(colon - tok), uuid))
        return err_at(err, "malformed UUID", tok, (size_t)(colon - tok), text, tok,
                      "expected 36 characters of 8-4-4-4-12 hex digits");
    if (colon == end)
        return err_at(err, "malformed GTID set group", tok, (size_t)(end - tok), text, tok,
                      "expected uuid:interval, found no interval after the UUID");
    return mysql_elements_parse(s, uuid, text, tok, colon, end, err);
}

static void mysql_format(const gtid_set *s, sbuf *out)
{
    for (size_t i = 0; i < s->ngrp; i++) {
        const gtid_group *g = &s->grp[i];
        if (i == 0 || memcmp(g->uuid, s->grp[i - 1].uuid, 16) != 0) {
            if (i)
                sbuf_addc(out, ',');
            uuid_format(g->uuid, out);
        }
        if (g->tag[0])
            sbuf_addf(out, ":%s", g->tag);
        for (size_t k = 0; k < g->n; k++) {
            if (g->r[k].lo == g->r[k].hi)
                sbuf_addf(out, ":%" PRIu64, g->r[k].lo);
            else
                sbuf_addf(out, ":%" PRIu64 "-%" PRIu64, g->r[k].lo, g->r[k].hi);
        }
    }
}

static bool mysql_equal(const gtid_set *a, const gtid_set *b)
{
    if (a->ngrp != b->ngrp)
        return false;
    for (size_t i = 0; i < a->ngrp; i++) {
        const gtid_group *x = &a->grp[i], *y = &b->grp[i];
        if (group_cmp(x->uuid, x->tag, y) != 0 || x->n != y->n ||
            memcmp(x->r, y->r, x->n * sizeof(*x->r)) != 0)
            return false;
    }
    return true;
}

static bool mysql_contains(const gtid_set *a, const gtid_set *b)
{
    for (size_t j = 0; j < b->ngrp; j++) {
        bool found;
        const gtid_group *y = &b->grp[j];
        size_t i = group_find(a, y->uuid, y->tag, &found);
        if (!found || !range_contains(&a->grp[i], y))
            return false;
    }
    return true;
}

static void mysql_union(gtid_set *a, const gtid_set *b)
{
    for (size_t j = 0; j < b->ngrp; j++) {
        const gtid_group *y = &b->grp[j];
        gtid_group *x = group_slot(a, y->uuid, y->tag);
        for (size_t k = 0; k < y->n; k++)
            range_add(x, y->r[k].lo, y->r[k].hi);
    }
}

/* ---- public entry points ------------------------------------------------ */

int gtid_set_parse(server_flavor flavor, const char *text, gtid_set **out, sbuf *err)
{
    const char *what = flavor == FLAVOR_MARIADB ? "empty GTID" : "empty GTID set group";
    const char *expected =
        flavor == FLAVOR_MARIADB ? "domain-server-sequence" : "uuid:interval";
    gtid_set *s = gtid_set_new(flavor);
    const char *p = skip_space(text);

    *out = NULL;
    if (flavor == FLAVOR_MARIADB && p != text && !*p) {
        err_near(err, unexpected_blank(*text), text, text,
                 "MariaDB reads blanks only before a GTID; send \"\" for no position");
        gtid_set_free(s);
        return -1;
    }
    while (*p) {
        const char *comma = strchr(p, ',');
        const char *end = comma ? comma : p + strlen(p);
        const char *tok_end = trim_end(p, end);
        int rc;

        if (tok_end == p)
            rc = err_near(err, what, text, p, "expected %s", expected);
        else if (flavor == FLAVOR_MARIADB && tok_end != end)
            rc = err_near(err, unexpected_blank(*tok_end), text, tok_end,
                          "MariaDB reads blanks only before a GTID; remove it");
        else if (flavor == FLAVOR_MARIADB)
            rc = mariadb_entry_parse(s, text, p, tok_end, err);
        else
            rc = mysql_group_parse(s, text, p, tok_end, err);
        if (rc) {
            gtid_set_free(s);
            return -1;
        }
        if (!comma)
            break;
        p = skip_space(comma + 1);
        if (!*p) {
            err_near(err, what, text, p, "expected %s", expected);
            gtid_set_free(s);
            return -1;
        }
    }
    *out = s;
    return 0;
}

void gtid_set_format(const gtid_set *s, sbuf *out)
{
    if (s->flavor == FLAVOR_MARIADB)
        mariadb_format(s, out);
    else
        mysql_format(s, out);
}

bool gtid_set_equal(const gtid_set *a, const gtid_set *b)
{
    if (a->flavor != b->flavor)
        return false;
    return a->flavor == FLAVOR_MARIADB ? mariadb_equal(a, b) : mysql_equal(a, b);
}

bool gtid_set_contains(const gtid_set *a, const gtid_set *b)
{
    if (a->flavor != b->flavor)
        return false;
    return a->flavor == FLAVOR_MARIADB ? mariadb_contains(a, b) : mysql_contains(a, b);
}

int gtid_set_union(gtid_set *a, const gtid_set *b, sbuf *err)
{
    if (a->flavor != b->flavor) {
        sbuf_setf(err, "cannot merge a %s GTID set into a %s GTID set",
                  b->flavor == FLAVOR_MARIADB ? "MariaDB" : "MySQL",
                  a->flavor == FLAVOR_MARIADB ? "MariaDB" : "MySQL");
        return -1;
    }
    if (a == b) /* a | a == a, and merging into the array being read is not safe */
        return 0;
    if (a->flavor == FLAVOR_MARIADB)
        mariadb_union(a, b);
    else
        mysql_union(a, b);
    return 0;
}
