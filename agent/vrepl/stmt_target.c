/* stmt_target: which table a statement from the binlog writes. See
 * stmt_target.h.
 *
 * A small lexer yields words, quoted names and strings, and punctuation;
 * whitespace and comments (-- , #, slash-star) are skipped, but the text
 * of an executable comment (slash-star-bang with a version, MariaDB's
 * slash-star-M-bang) is read as code, as the server does. Strings are
 * skipped whole, so a file name in LOAD DATA cannot look like INTO TABLE.
 * Each verb then reads its modifiers and one table name; whenever what
 * follows is not the single-table form, the answer is "writes, tables
 * unknown" rather than a guess. */
#include "vrepl/stmt_target.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "lib/sbuf.h"

typedef enum { TK_END, TK_WORD, TK_QUOTED, TK_PUNCT, TK_BAD } tk_kind;

typedef struct token {
    tk_kind kind;
    const char *s; /* TK_QUOTED: the text between the quotes, still escaped */
    size_t len;
    char quote; /* TK_QUOTED: ` " or ' */
} token;

typedef struct lexer {
    const char *p, *end;
} lexer;

static bool is_space(unsigned char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

/* Bytes of a bare identifier or keyword; any non-ASCII byte counts, as
 * the server allows Unicode letters in unquoted names. */
static bool is_word(unsigned char c)
{
    return c == '_' || c == '$' || (c >= '0' && c <= '9') || ((c | 32) >= 'a' && (c | 32) <= 'z') || c >= 0x80;
}

static const char *find_close(const char *p, const char *end)
{
    for (; end - p >= 2; p++)
        if (p[0] == '*' && p[1] == '/')
            return p;
    return NULL;
}

static void skip_blank(lexer *lx)
{
    for (;;) {
        const char *p = lx->p, *e = lx->end;
        size_t left = (size_t)(e - p);
        if (left && is_space((unsigned char)*p)) {
            lx->p++;
        } else if (left >= 2 && p[0] == '/' && p[1] == '*') {
            const char *c = p + 2;
            if (c + 1 < e && c[0] == 'M' && c[1] == '!')
                c++;
            if (c < e && *c == '!') { /* executable comment: its text is code */
                for (c++; c < e && *c >= '0' && *c <= '9'; c++)
                    ;
                lx->p = c;
            } else {
                const char *close = find_close(p + 2, e);
                lx->p = close ? close + 2 : e;
            }
        } else if (left >= 2 && p[0] == '*' && p[1] == '/') { /* the end of an executable comment */
            lx->p += 2;
        } else if ((left && *p == '#') ||
                   (left >= 2 && p[0] == '-' && p[1] == '-' && (left == 2 || (unsigned char)p[2] <= ' '))) {
            const char *nl = memchr(p, '\n', left);
            lx->p = nl ? nl + 1 : e;
        } else {
            return;
        }
    }
}

static token lex_next(lexer *lx)
{
    skip_blank(lx);
    token t = {TK_END, lx->p, 0, 0};
    if (lx->p >= lx->end)
        return t;
    unsigned char c = (unsigned char)*lx->p;
    if (is_word(c)) {
        const char *p = lx->p;
        while (p < lx->end && is_word((unsigned char)*p))
            p++;
        t.kind = TK_WORD;
        t.len = (size_t)(p - lx->p);
        lx->p = p;
    } else if (c == '`' || c == '"' || c == '\'') {
        /* Backquoted names double their quote; strings may also escape
         * with a backslash (unless NO_BACKSLASH_ESCAPES, which the text
         * does not tell: only a string ending in a backslash is misread). */
        const char *p = lx->p + 1;
        for (;;) {
            if (p >= lx->end) {
                t.kind = TK_BAD;
                lx->p = lx->end;
                return t;
            }
            if (*p == '\\' && c != '`') {
                p += lx->end - p >= 2 ? 2 : 1;
            } else if ((unsigned char)*p == c) {
                if (p + 1 < lx->end && (unsigned char)p[1] == c)
                    p += 2;
                else
                    break;
            } else {
                p++;
            }
        }
        t.kind = TK_QUOTED;
        t.quote = (char)c;
        t.s = lx->p + 1;
        t.len = (size_t)(p - t.s);
        lx->p = p + 1;
    } else {
        t.kind = TK_PUNCT;
        t.len = 1;
        lx->p++;
    }
    return t;
}

static token lex_peek(const lexer *lx)
{
    lexer copy = *lx;
    return lex_next(&copy);
}

static bool word_is(token t, const char *kw)
{
    size_t n = strlen(kw);
    return t.kind == TK_WORD && t.len == n && strncasecmp(t.s, kw, n) == 0;
}

static bool word_in(token t, const char *const *kws)
{
    for (; *kws; kws++)
        if (word_is(t, *kws))
            return true;
    return false;
}

static bool punct_is(token t, char c)
{
    return t.kind == TK_PUNCT && *t.s == c;
}

/* A name: a bare word, `backquoted`, or "double-quoted" (a string unless
 * ANSI_QUOTES, but only a name can stand where this is called). */
static bool is_name(token t)
{
    return t.kind == TK_WORD || (t.kind == TK_QUOTED && t.quote != '\'' && t.len > 0);
}

static char *name_text(token t)
{
    if (t.kind == TK_WORD)
        return xstrndup(t.s, t.len);
    sbuf out = SBUF_INIT;
    sbuf_init(&out, t.len);
    for (size_t i = 0; i < t.len; i++) {
        sbuf_addc(&out, t.s[i]);
        if (t.s[i] == t.quote && i + 1 < t.len && t.s[i + 1] == t.quote)
            i++;
    }
    return sbuf_detach(&out, NULL);
}

/* Skip any of the given modifier words, in any order. */
static void skip_words(lexer *lx, const char *const *kws)
{
    while (word_in(lex_peek(lx), kws))
        lex_next(lx);
}

/* tbl or db.tbl (spaces around the dot are allowed). */
static bool parse_table(lexer *lx, const char *default_db, stmt_target *out)
{
    token a = lex_next(lx);
    if (!is_name(a))
        return false;
    if (!punct_is(lex_peek(lx), '.')) {
        out->db = xstrdup(default_db ? default_db : "");
        out->table = name_text(a);
        return true;
    }
    lex_next(lx);
    token b = lex_next(lx);
    if (!is_name(b))
        return false;
    out->db = name_text(a);
    out->table = name_text(b);
    return true;
}

static bool parse_insert(lexer *lx, const char *default_db, stmt_target *out)
{
    static const char *const mods[] = {"LOW_PRIORITY", "DELAYED", "HIGH_PRIORITY", "IGNORE", "INTO", NULL};
    skip_words(lx, mods);
    return parse_table(lx, default_db, out);
}

/* An optional "[AS] alias" after a table: *next is the token after it.
 * A word in not_alias is not an alias but what follows the table; false
 * when AS is not followed by a name. */
static bool skip_alias(lexer *lx, const char *const *not_alias, token *next)
{
    token t = lex_next(lx);
    if (word_is(t, "AS")) {
        if (!is_name(lex_next(lx)))
            return false;
        t = lex_next(lx);
    } else if (is_name(t) && !word_in(t, not_alias)) {
        t = lex_next(lx);
    }
    *next = t;
    return true;
}

/* UPDATE tbl [[AS] alias] SET: a comma or a join after the table makes it
 * a multi-table UPDATE, whose targets are in the SET list. */
static bool parse_update(lexer *lx, const char *default_db, stmt_target *out)
{
    static const char *const mods[] = {"LOW_PRIORITY", "IGNORE", NULL};
    skip_words(lx, mods);
    if (!parse_table(lx, default_db, out))
        return false;
    token t;
    return skip_alias(lx, (const char *const[]){"SET", NULL}, &t) && word_is(t, "SET");
}

/* DELETE FROM tbl [[AS] alias] then the end or a clause of the
 * single-table form; DELETE t1 FROM ... and DELETE FROM t1 USING ... are
 * multi-table. */
static bool parse_delete(lexer *lx, const char *default_db, stmt_target *out)
{
    static const char *const mods[] = {"LOW_PRIORITY", "QUICK", "IGNORE", "HISTORY", NULL};
    static const char *const tail[] = {"WHERE", "ORDER", "LIMIT", "RETURNING", "PARTITION", "FOR", "BEFORE", NULL};
    static const char *const not_alias[] = {"WHERE", "ORDER", "LIMIT",  "RETURNING", "PARTITION",
                                            "FOR",   "BEFORE", "USING", NULL};
    skip_words(lx, mods);
    if (!word_is(lex_next(lx), "FROM") || !parse_table(lx, default_db, out))
        return false;
    token t;
    return skip_alias(lx, not_alias, &t) && (t.kind == TK_END || punct_is(t, ';') || word_in(t, tail));
}

/* LOAD DATA|XML ... INTO TABLE tbl: the file name and options before INTO
 * are skipped token by token. */
static bool parse_load(lexer *lx, const char *default_db, stmt_target *out)
{
    for (token t = lex_next(lx); t.kind != TK_END && t.kind != TK_BAD; t = lex_next(lx))
        if (word_is(t, "INTO") && word_is(lex_peek(lx), "TABLE")) {
            lex_next(lx);
            return parse_table(lx, default_db, out);
        }
    return false;
}

void stmt_target_parse(const char *q, size_t n, const char *default_db, stmt_target *out)
{
    memset(out, 0, sizeof *out);
    lexer lx = {q, q + n};
    token verb = lex_next(&lx);
    bool found = false;
    if (word_is(verb, "INSERT") || word_is(verb, "REPLACE")) {
        out->verb = word_is(verb, "INSERT") ? "INSERT" : "REPLACE";
        found = parse_insert(&lx, default_db, out);
    } else if (word_is(verb, "UPDATE")) {
        out->verb = "UPDATE";
        found = parse_update(&lx, default_db, out);
    } else if (word_is(verb, "DELETE")) {
        out->verb = "DELETE";
        found = parse_delete(&lx, default_db, out);
    } else if (word_is(verb, "LOAD")) {
        token what = lex_next(&lx);
        if (!word_is(what, "DATA") && !word_is(what, "XML"))
            return; /* LOAD INDEX INTO CACHE and the like */
        out->verb = word_is(what, "DATA") ? "LOAD DATA" : "LOAD XML";
        found = parse_load(&lx, default_db, out);
    } else if (word_is(verb, "WITH") || word_is(verb, "SELECT") || word_is(verb, "DO")) {
        /* Logged only when they write (a CTE before UPDATE/DELETE, a
         * stored function that changes rows): which tables, the text does
         * not say. */
        out->verb = word_is(verb, "WITH") ? "WITH" : word_is(verb, "SELECT") ? "SELECT" : "DO";
    } else {
        return;
    }
    out->kind = found ? STMT_WRITE : STMT_WRITE_UNKNOWN;
    if (!found) {
        free(out->db);
        free(out->table);
        out->db = out->table = NULL;
    }
}

void stmt_target_clear(stmt_target *t)
{
    free(t->db);
    free(t->table);
    memset(t, 0, sizeof *t);
}
