/* libFuzzer target: arbitrary bytes into the binlog decoder.
 *
 * Input: byte 0 picks a mode (low 2 bits) and a ROWS event type (the rest,
 * an index into rows_types); the remaining bytes are
 *   mode 0: a TABLE_MAP body and a ROWS body, split at the little-endian
 *           16-bit offset in bytes 1-2;
 *   mode 1: a ROWS body for a fixed MariaDB table map (40 columns, captured
 *           from the sandbox server: every MariaDB type);
 *   mode 2: a ROWS body for a fixed MySQL-flavour table map covering every
 *           decodable type (TIME2/DATETIME2/TIMESTAMP2 at each fraction
 *           width, old temporal types, BLOBs of 1-4 length bytes, binary
 *           JSON...), after a dec_table_fill that adds UUID/INET hints and
 *           MariaDB 5.3 fraction widths;
 *   mode 3: like mode 0, with a dec_table_fill from a schema derived from
 *           the input before the rows are decoded.
 * The ROWS body's table id is patched to the map's, or nearly every input
 * would stop at the id check. Every decoded value is rendered both ways.
 *
 * Build and run (the Makefile's fuzz-smoke and fuzz-decoder targets):
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
 *     -Iagent -Ibuild/gen $(mariadb_config --cflags) -D_GNU_SOURCE agent/vrepl/decoder.c \
 *     agent/db/schema.c agent/db/db.c agent/lib/sbuf.c agent/lib/secret.c \
 *     tests/fuzz/fuzz_decoder.c -o build/fuzz/fuzz_decoder $(mariadb_config --libs) -lz -lm
 *   build/fuzz/fuzz_decoder -max_len=4096 -max_total_time=30 \
 *     -artifact_prefix=build/fuzz/crash- build/fuzz/corpus-decoder tests/fuzz/corpus/decoder
 * The seeds in tests/fuzz/corpus/decoder are events captured from MariaDB
 * 10.11 in this input format, plus one row of the MySQL map. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "db/schema.h"
#include "vrepl/decoder.h"

static const char mariadb_map_hex[] =
    "1c000000000001000b646563746573745f66697800017400280301010202090903030808f6f6040510100d0a13131312"
    "121111fefe0ffe0ffcfcfcfefefcfffefe28411e050204080100000800060300060006fe28fe0ab004fe081400010204"
    "f701f8010404fe10fe10feffffffff01022aa1030c2d082d3f3f2d2d3f2e3f3f3f070101047702696402746902747502"
    "7369027375026d69026d750169026975026269026275026431026432016602646202623103623634017902647402746d"
    "03746d3603746d330364746d0464746d360274730374733602633102633202766302626e027662027474027478026c62"
    "01650173016a016701750269360a012d05070301780179017a060703016101620163080100";

static const char mysql_map_hex[] =
    "2a000000000001000466757a7a0003616c6c0047010209030801020903080d0405f6f6f6f61010100a0e0b0c07131313"
    "1313131312121212121212111111111111110f0ffdfefefefefefefefefefef7f8fcfcfcfcf9fafbfff5f54d0408411e"
    "050201001e1e0100000807030001020304050600010203040506000102030405062c0114000a00fe28fe08cefcfe10fe"
    "10fe04f701f702f801f808f702f80301020304010304040402ffffffffffffffffff010207c002132d043f063f073f08"
    "3f0a3f0c3f0d3f0e3f0f3f0b060808080808080615030161016201630301610162016303016101620163051503017801"
    "79017a0301780179017a0301780179017a070101080100";

static const uint8_t rows_types[] = {23, 24, 25, 30, 31, 32, 166, 167, 168, 169, 170, 171, 39, 19};

typedef struct fuzz_map {
    uint8_t *bytes;
    size_t len;
} fuzz_map;

static fuzz_map fuzz_mariadb, fuzz_mysql;

static void fuzz_unhex(const char *hex, fuzz_map *m)
{
    m->len = strlen(hex) / 2;
    m->bytes = malloc(m->len);
    for (size_t i = 0; i < m->len; i++) {
        unsigned hi = (unsigned)(hex[2 * i] <= '9' ? hex[2 * i] - '0' : hex[2 * i] - 'a' + 10);
        unsigned lo = (unsigned)(hex[2 * i + 1] <= '9' ? hex[2 * i + 1] - '0' : hex[2 * i + 1] - 'a' + 10);
        m->bytes[i] = (uint8_t)(hi << 4 | lo);
    }
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    fuzz_unhex(mariadb_map_hex, &fuzz_mariadb);
    fuzz_unhex(mysql_map_hex, &fuzz_mysql);
    return 0;
}

static void fuzz_render(const dec_table *t, const dec_row *r)
{
    sbuf out = SBUF_INIT;
    for (uint32_t c = 0; c < r->ncols + 1; c++) {
        dec_value_render_sql(t, r, c, &out);
        dec_value_render_text(t, r, c, &out);
    }
    sbuf_free(&out);
}

/* The rows body in a buffer of its own size (so ASan sees overreads), with
 * the table id of the map. */
static void fuzz_rows(const dec_table *t, uint8_t type, const uint8_t *p, size_t n)
{
    uint8_t *b = malloc(n ? n : 1);
    memcpy(b, p, n);
    for (size_t i = 0; i < 6 && i < n; i++)
        b[i] = (uint8_t)(t->id >> (8 * i));
    sbuf err = SBUF_INIT;
    uint64_t id;
    dec_rows_table_id(type, b, n, &id, &err);
    dec_rows r;
    if (dec_rows_parse(t, type, b, n, &r, &err) == 0) {
        for (size_t i = 0; i < r.nrows; i++) {
            if (r.before)
                fuzz_render(t, &r.before[i]);
            if (r.after)
                fuzz_render(t, &r.after[i]);
        }
        /* Rows outlive their event: move one out, free the rest. */
        if (r.nrows && r.after) {
            dec_row keep = r.after[0];
            memset(&r.after[0], 0, sizeof keep);
            dec_rows_free(&r);
            fuzz_render(t, &keep);
            dec_row_free(&keep);
        } else {
            dec_rows_free(&r);
        }
    } else if (err.len == 0) {
        abort(); /* an error must say what went wrong */
    }
    sbuf_free(&err);
    free(b);
}

/* A schema with as many columns as the map, types picked from seed. */
static schema_table *fuzz_schema(const dec_table *t, const uint8_t *seed, size_t nseed)
{
    static const char *const types[][2] = {
        {"uuid", "uuid"},          {"inet6", "inet6"},         {"inet4", "inet4"},
        {"json", "json"},          {"time", "time(3) /* mariadb-5.3 */"},
        {"datetime", "datetime(6)"}, {"timestamp", "timestamp(1)"},
        {"enum", "enum('a','b''c','\\\\')"}, {"set", "set('x','y')"}, {"point", "point"},
        {"int", "int(10) unsigned"}, {"binary", "binary(4)"},
    };
    size_t nt = sizeof types / sizeof types[0];
    schema_table *s = calloc(1, sizeof *s);
    s->schema = strdup("db");
    s->name = strdup("tb");
    s->ncols = t->ncols;
    s->cols = calloc(t->ncols ? t->ncols : 1, sizeof *s->cols);
    for (size_t i = 0; i < t->ncols; i++) {
        schema_column *c = &s->cols[i];
        size_t k = nseed ? seed[i % nseed] % nt : i % nt;
        c->name = strdup("c");
        c->data_type = strdup(types[k][0]);
        c->column_type = strdup(types[k][1]);
        c->is_unsigned = k == 10;
        c->collation_id = (uint32_t)(k * 7);
        c->octet_length = k * 3;
        schema_parse_elements(c->column_type, &c->elements, &c->nelements);
    }
    s->nkey = t->ncols ? 1 : 0;
    s->key = calloc(1, sizeof *s->key);
    return s;
}

static void fuzz_fill(dec_table *t, const uint8_t *seed, size_t nseed)
{
    schema_table *s = fuzz_schema(t, seed, nseed);
    sbuf err = SBUF_INIT;
    dec_table_fill(t, s, &err);
    schema_table_free(s);
    sbuf_free(&err);
}

static void fuzz_map_and_rows(const uint8_t *p, size_t n, uint8_t type, bool fill)
{
    if (n < 2)
        return;
    size_t split = (size_t)(p[0] | p[1] << 8);
    p += 2, n -= 2;
    if (split > n)
        split %= n + 1;
    uint8_t *m = malloc(split ? split : 1);
    memcpy(m, p, split);
    dec_table *t = NULL;
    sbuf err = SBUF_INIT;
    int rc = dec_table_map_parse(m, split, &t, &err);
    if (rc != 0 && err.len == 0)
        abort();
    free(m);
    if (t) {
        if (fill)
            fuzz_fill(t, p + split, n - split);
        fuzz_rows(t, type, p + split, n - split);
        dec_table_free(t);
    }
    sbuf_free(&err);
}

static void fuzz_fixed(const fuzz_map *m, const uint8_t *p, size_t n, uint8_t type, bool fill)
{
    dec_table *t = NULL;
    sbuf err = SBUF_INIT;
    if (dec_table_map_parse(m->bytes, m->len, &t, &err) != 0)
        abort(); /* the fixed maps are valid */
    if (fill) {
        /* By column of the MySQL map: MariaDB 5.3 widths for the old
         * TIME/DATETIME/TIMESTAMP, UUID/INET6/INET4 on the binary CHARs. */
        uint8_t kinds[128];
        memset(kinds, 10, sizeof kinds);
        kinds[22] = 4, kinds[23] = 5, kinds[24] = 6;
        kinds[52] = 0, kinds[53] = 1, kinds[54] = 2, kinds[69] = 3;
        fuzz_fill(t, kinds, t->ncols < sizeof kinds ? t->ncols : sizeof kinds);
    }
    fuzz_rows(t, type, p, n);
    dec_table_free(t);
    sbuf_free(&err);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    uint8_t mode = data[0] & 3;
    uint8_t type = rows_types[(data[0] >> 2) % sizeof rows_types];
    switch (mode) {
    case 0:
        fuzz_map_and_rows(data + 1, size - 1, type, false);
        break;
    case 1:
        fuzz_fixed(&fuzz_mariadb, data + 1, size - 1, type, false);
        break;
    case 2:
        fuzz_fixed(&fuzz_mysql, data + 1, size - 1, type, true);
        break;
    default:
        fuzz_map_and_rows(data + 1, size - 1, type, true);
        break;
    }
    return 0;
}
