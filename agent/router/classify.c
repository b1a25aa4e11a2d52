/* classify: where the router may run one statement. See classify.h.
 *
 * How it works. A small lexer turns the text into words, strings ('...'
 * and "..."), quoted names (`...`), user variables (@x, @'x'), system
 * variables (@@x, @@session.x) and punctuation. It skips whitespace and
 * comments (slash-star, "-- " and #) but reads executable comments
 * (slash-star-bang and slash-star-M-bang, with an optional version) as
 * code, as the server does. A string or a quoted name is one token, so a
 * keyword inside one never counts.
 *
 * The text is cut into statements at each ';'. Each statement gets two
 * passes over its tokens:
 *   - scan_statement looks at every token for what forbids the read side
 *     wherever it appears: locking reads, INTO, user variables, functions
 *     and system variables bound to the session (tables below), GET_LOCK,
 *     SQL_CALC_FOUND_ROWS, a token that cannot be lexed;
 *   - classify_one reads the statement's head through a table of verbs:
 *     for SELECT it weighs the scan's findings, for SET, USE, SHOW,
 *     transactions and locks it reads the few words that decide.
 * EXPLAIN ANALYZE, ANALYZE <stmt>, SET STATEMENT ... FOR and leading
 * parentheses run the statement after them: classify_one strips them in a
 * loop, never by recursion, so the stack depth never depends on the text.
 * Every step is linear in the text; nothing is allocated.
 *
 * Why the write side is the default. A read sent to the write side costs
 * the source a little load; a write, a locking read or a read of session
 * state sent to the read side gives a wrong answer or changes the
 * destination behind the migration's back. So only what is recognised as
 * a plain read goes to the read side, and every doubt (an unknown verb,
 * an unterminated string, a SET whose shape we cannot read) answers WRITE,
 * adding PIN where the doubt is about session state: a pinned session
 * loses read scaling, a wrong replay loses correctness.
 *
 * One doubt the text cannot settle: whether a backslash escapes a quote
 * (sql_mode NO_BACKSLASH_ESCAPES says no; ANSI_QUOTES makes "..." a name
 * with no escapes). When a string holds a backslash the text is read
 * again without backslash escapes; if the two readings route differently
 * the answer is WRITE, and if either pins, PIN. */
#include "router/classify.h"

#include <stdbool.h>
#include <string.h>

/* --- lexer ------------------------------------------------------------- */

typedef enum { T_END, T_WORD, T_STR, T_QNAME, T_VAR, T_SYSVAR, T_PUNCT, T_ASSIGN, T_BAD } tkind;

typedef struct tok {
    tkind k;
    const char *s; /* WORD: the word; STR, QNAME: between the quotes, still escaped; VAR, SYSVAR: the name */
    size_t n;
    char c;         /* PUNCT: the byte; STR: the quote */
    bool after_dot; /* the previous token was '.': a name, never a keyword ("t.select" is legal) */
    bool global;    /* SYSVAR: @@global., @@persist., @@persist_only. */
} tok;

typedef struct lexer {
    const char *p, *end;
    size_t exec; /* executable comments open */
    bool bs;     /* backslash escapes in '...' and "..." */
    bool saw_bs; /* a backslash in such a string: the text deserves a second reading */
    tkind prev;  /* the previous token, for "t.name" and 'user'@'host' */
    char prev_c;
    const char *prev_end;
} lexer;

static bool is_space(unsigned char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

/* Bytes of a bare word; any non-ASCII byte counts, as the server allows
 * Unicode letters in unquoted names. */
static bool is_word(unsigned char c)
{
    return c == '_' || c == '$' || (c >= '0' && c <= '9') || ((c | 32) >= 'a' && (c | 32) <= 'z') || c >= 0x80;
}

static void lexer_init(lexer *lx, const char *sql, size_t len, bool bs)
{
    memset(lx, 0, sizeof *lx);
    lx->p = sql;
    lx->end = sql + len;
    lx->bs = bs;
    lx->prev = T_END;
}

/* Skip whitespace and comments; false for a comment that never closes
 * (the server rejects the text; we must not guess what it meant). */
static bool skip_blank(lexer *lx)
{
    for (;;) {
        const char *p = lx->p, *e = lx->end;
        size_t left = (size_t)(e - p);
        if (!left)
            return true;
        unsigned char c = (unsigned char)p[0];
        if (is_space(c)) {
            lx->p++;
        } else if (c == '/' && left >= 2 && p[1] == '*') {
            const char *q = p + 2;
            if (e - q >= 2 && q[0] == 'M' && q[1] == '!')
                q++;
            if (q < e && *q == '!') { /* executable: the marker and version go, the text is code */
                for (q++; q < e && *q >= '0' && *q <= '9'; q++)
                    ;
                lx->p = q;
                lx->exec++;
                continue;
            }
            for (q = p + 2; e - q >= 2 && !(q[0] == '*' && q[1] == '/'); q++)
                ;
            if (e - q < 2) {
                lx->p = e;
                return false;
            }
            lx->p = q + 2;
        } else if (c == '*' && left >= 2 && p[1] == '/' && lx->exec) {
            lx->exec--;
            lx->p += 2;
        } else if (c == '#' || (c == '-' && left >= 2 && p[1] == '-' &&
                                (left == 2 || (unsigned char)p[2] <= ' ' || p[2] == 0x7f))) {
            /* "--" needs a space or control byte after it: "1--1" is arithmetic */
            const char *nl = memchr(p, '\n', left);
            lx->p = nl ? nl + 1 : e;
        } else {
            return true;
        }
    }
}

/* From just after an opening quote q to its closing quote (doubled quotes
 * stay inside), or NULL if it never closes. */
static const char *quote_end(lexer *lx, const char *p, char q, bool escapes)
{
    for (const char *e = lx->end; p < e; p++) {
        if (*p == '\\' && q != '`') {
            lx->saw_bs = true;
            if (escapes) {
                if (++p == e)
                    return NULL;
                continue;
            }
        }
        if (*p == q) {
            if (e - p >= 2 && p[1] == q)
                p++;
            else
                return p;
        }
    }
    return NULL;
}

static bool word_is(const char *s, size_t n, const char *lower)
{
    size_t i = 0;
    for (; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 'A' && c <= 'Z')
            c = (unsigned char)(c + 32);
        if (c != (unsigned char)lower[i]) /* also stops at lower's NUL */
            return false;
    }
    return lower[i] == '\0';
}

/* @@[scope.]name with the lexer just past "@@". */
static void lex_sysvar(lexer *lx, tok *t)
{
    const char *p = lx->p, *e = lx->end, *w = p;
    while (p < e && is_word((unsigned char)*p))
        p++;
    size_t wn = (size_t)(p - w);
    if (p < e && *p == '.' &&
        (word_is(w, wn, "global") || word_is(w, wn, "persist") || word_is(w, wn, "persist_only") ||
         word_is(w, wn, "session") || word_is(w, wn, "local"))) {
        t->global = (w[0] | 32) == 'g' || (w[0] | 32) == 'p';
        w = ++p;
        while (p < e && is_word((unsigned char)*p))
            p++;
        wn = (size_t)(p - w);
    }
    if (wn == 0 && p < e && *p == '`') {
        const char *close = quote_end(lx, p + 1, '`', false);
        if (close) {
            w = p + 1;
            wn = (size_t)(close - w);
            p = close + 1;
        }
    }
    lx->p = p;
    t->k = wn ? T_SYSVAR : T_BAD;
    t->s = w;
    t->n = wn;
}

static void lex(lexer *lx, tok *t)
{
    bool closed = skip_blank(lx);
    const char *p = lx->p, *e = lx->end;
    t->k = T_PUNCT;
    t->s = p;
    t->n = 1;
    t->c = 0;
    t->global = false;
    t->after_dot = lx->prev == T_PUNCT && lx->prev_c == '.';
    if (!closed) {
        t->k = T_BAD;
    } else if (p == e) {
        t->k = lx->exec ? T_BAD : T_END; /* an executable comment left open is an error too */
        lx->exec = 0;
        t->n = 0;
    } else if (*p == '\'' || *p == '"' || *p == '`') {
        const char *close = quote_end(lx, p + 1, *p, *p != '`' && lx->bs);
        t->k = *p == '`' ? T_QNAME : T_STR;
        t->c = *p;
        t->s = p + 1;
        if (close) {
            t->n = (size_t)(close - t->s);
            lx->p = close + 1;
        } else {
            t->k = T_BAD;
            lx->p = e;
        }
    } else if (*p == '@' && e - p >= 2 && p[1] == '@') {
        lx->p = p + 2;
        lex_sysvar(lx, t);
    } else if (*p == '@' && lx->prev_end == p && (lx->prev == T_STR || lx->prev == T_QNAME)) {
        /* 'user'@'host': the separator, not a variable. After a bare word
         * it stays a variable: SELECT@x is one (and root@host then reads
         * as a variable, which only costs the read side). */
        lx->p = p + 1;
        t->c = '@';
    } else if (*p == '@') {
        t->k = T_VAR;
        p++;
        if (p < e && (*p == '\'' || *p == '"' || *p == '`')) {
            const char *close = quote_end(lx, p + 1, *p, *p != '`' && lx->bs);
            t->s = p + 1;
            t->n = close ? (size_t)(close - t->s) : 0;
            t->k = close ? T_VAR : T_BAD;
            lx->p = close ? close + 1 : e;
        } else {
            t->s = p;
            while (p < e && (is_word((unsigned char)*p) || *p == '.'))
                p++;
            t->n = (size_t)(p - t->s);
            lx->p = p;
        }
    } else if (is_word((unsigned char)*p)) {
        t->k = T_WORD;
        while (p < e && is_word((unsigned char)*p))
            p++;
        t->n = (size_t)(p - t->s);
        lx->p = p;
    } else if (*p == ':' && e - p >= 2 && p[1] == '=') {
        t->k = T_ASSIGN;
        t->n = 2;
        lx->p = p + 2;
    } else {
        t->k = *p ? T_PUNCT : T_BAD; /* a NUL outside quotes: the server stops there or fails */
        t->c = *p;
        lx->p = p + 1;
    }
    lx->prev = t->k;
    lx->prev_c = t->c;
    lx->prev_end = lx->p;
}

/* The next token of the current statement: its ';' reads as T_END and
 * stays in place. */
static void next(lexer *lx, tok *t)
{
    lexer save = *lx;
    lex(lx, t);
    if (t->k == T_PUNCT && t->c == ';') {
        *lx = save;
        t->k = T_END;
    }
}

static void peek(const lexer *lx, tok *t)
{
    lexer c = *lx;
    next(&c, t);
}

/* A keyword: a bare word (not after a '.'), any case. */
static bool kw(const tok *t, const char *lower)
{
    return t->k == T_WORD && !t->after_dot && word_is(t->s, t->n, lower);
}

static bool punct(const tok *t, char c)
{
    return t->k == T_PUNCT && t->c == c;
}

/* --- what forbids the read side, wherever it appears --------------------- */

enum {
    F_BAD = 1u << 0,      /* a token that cannot be lexed: unterminated, NUL */
    F_LOCKREAD = 1u << 1, /* FOR UPDATE, FOR SHARE, LOCK IN SHARE MODE */
    F_INTO = 1u << 2,     /* INTO: OUTFILE, DUMPFILE, variables */
    F_INTO_VAR = 1u << 3, /* INTO @var: state on the server that ran it */
    F_UVAR = 1u << 4,     /* a user variable: it lives on one server */
    F_UVAR_SET = 1u << 5, /* @var := ... */
    F_SESSION = 1u << 6,  /* a function or system variable bound to the session or server, a stored function */
    F_PIN = 1u << 7,      /* GET_LOCK(, SQL_CALC_FOUND_ROWS */
    F_LAST = 1u << 8,     /* FOUND_ROWS(), ROW_COUNT(), @@warning_count, @@error_count */
    F_SELECT = 1u << 9,   /* a SELECT anywhere (a subquery in a SET value) */
    F_PARAM = 1u << 10,   /* a '?' placeholder: a prepared SET cannot be replayed from its text */
};

typedef struct named_effect {
    const char *name;
    unsigned feat;
} named_effect;

/* Functions whose answer depends on the session or on the server that
 * runs them; matched as a name followed by '('. */
static const named_effect session_functions[] = {
    {"last_insert_id", F_SESSION},
    {"get_lock", F_PIN}, /* the lock lives as long as the session on that server */
    {"release_lock", F_SESSION},
    {"release_all_locks", F_SESSION},
    {"is_free_lock", F_SESSION},
    {"is_used_lock", F_SESSION},
    {"nextval", F_SESSION}, /* sequences: they write, and lastval is per session */
    {"lastval", F_SESSION},
    {"setval", F_SESSION},
    {"connection_id", F_SESSION},
    {"current_role", F_SESSION}, /* SET ROLE runs only on the write side */
    {"master_pos_wait", F_SESSION},
    {"master_gtid_wait", F_SESSION},
    {"source_pos_wait", F_SESSION},
    {"wait_for_executed_gtid_set", F_SESSION},
    {"wait_until_sql_thread_after_gtids", F_SESSION},
    {"load_file", F_SESSION}, /* a file on the server's own disk */
    {"found_rows", F_LAST},
    {"row_count", F_LAST},
};

static const named_effect session_variables[] = {
    {"warning_count", F_LAST}, {"error_count", F_LAST}, {"last_insert_id", F_SESSION}, {"identity", F_SESSION},
    {"insert_id", F_SESSION},  {"last_gtid", F_SESSION}, {"pseudo_thread_id", F_SESSION},
};

static unsigned lookup(const named_effect *table, size_t n, const char *s, size_t len)
{
    for (size_t i = 0; i < n; i++)
        if (word_is(s, len, table[i].name))
            return table[i].feat;
    return 0;
}

#define LOOKUP(table, t) lookup(table, sizeof table / sizeof table[0], (t)->s, (t)->n)

/* Every token of one statement, up to its ';' (left in place) or the end. */
static unsigned scan_statement(lexer *lx)
{
    tok h0 = {T_END}, h1 = {T_END}, h2 = {T_END}, t; /* the last three tokens */
    unsigned f = 0;
    for (;;) {
        next(lx, &t);
        if (t.k == T_END)
            break;
        switch (t.k) {
        case T_BAD:
            f |= F_BAD;
            break;
        case T_VAR:
            f |= F_UVAR | (kw(&h0, "into") ? F_INTO_VAR : 0);
            break;
        case T_ASSIGN: /* @x := or "@ x :=" (the server takes a blank after a lone @) */
            f |= h0.k == T_VAR || (h1.k == T_VAR && h1.n == 0) ? F_UVAR_SET : 0;
            break;
        case T_SYSVAR:
            f |= LOOKUP(session_variables, &t);
            break;
        case T_PUNCT:
            if (t.c == '?')
                f |= F_PARAM;
            if (t.c == '(' && (h0.k == T_WORD || h0.k == T_QNAME)) {
                f |= LOOKUP(session_functions, &h0);
                /* db.f(...) is a stored function (built-ins are never
                 * qualified): it may write, the text cannot tell */
                if (h0.after_dot)
                    f |= F_SESSION;
            }
            break;
        case T_WORD:
            if (t.after_dot) { /* MariaDB's seq.nextval */
                if (word_is(t.s, t.n, "nextval") || word_is(t.s, t.n, "currval") || word_is(t.s, t.n, "lastval"))
                    f |= F_SESSION;
            } else if ((kw(&t, "update") || kw(&t, "share")) && kw(&h0, "for")) {
                f |= F_LOCKREAD;
            } else if (kw(&t, "mode") && kw(&h0, "share") && kw(&h1, "in") && kw(&h2, "lock")) {
                f |= F_LOCKREAD;
            } else if (kw(&t, "into")) {
                f |= F_INTO;
            } else if (kw(&t, "for") && kw(&h0, "value") && (kw(&h1, "next") || kw(&h1, "previous"))) {
                f |= F_SESSION;
            } else if (kw(&t, "sql_calc_found_rows")) {
                f |= F_PIN;
            } else if (kw(&t, "select")) {
                f |= F_SELECT;
            }
            break;
        default:
            break;
        }
        h2 = h1;
        h1 = h0;
        h0 = t;
    }
    return f;
}

static classify_route read_route(unsigned f)
{
    if (f & (F_BAD | F_LOCKREAD | F_INTO | F_INTO_VAR | F_UVAR | F_UVAR_SET | F_SESSION | F_PIN))
        return CLASSIFY_ROUTE_WRITE;
    return (f & F_LAST) ? CLASSIFY_ROUTE_LAST : CLASSIFY_ROUTE_READ;
}

static void result_clear(classify_result *r)
{
    r->route = CLASSIFY_ROUTE_WRITE;
    r->kind = CLASSIFY_KIND_OTHER;
    r->flags = 0;
    r->autocommit = 0;
    r->key[0] = '\0';
    r->name[0] = '\0';
}

/* Pinning replaces replay: the session stays where the state is. */
static void pin(classify_result *r)
{
    r->route = CLASSIFY_ROUTE_WRITE;
    r->flags = (r->flags & ~(unsigned)(CLASSIFY_SESSION_SET | CLASSIFY_USE | CLASSIFY_AUTOCOMMIT)) | CLASSIFY_PIN;
    r->autocommit = 0;
    r->key[0] = '\0';
    r->name[0] = '\0';
}

/* --- SET ----------------------------------------------------------------- */

/* Session variables whose SET must not be replayed: one-shot values for
 * the next statement on that server, binary logging, replication identity. */
static const char *const pinning_variables[] = {
    "sql_log_bin", "insert_id",      "last_insert_id", "identity",         "rand_seed1",        "rand_seed2",
    "gtid_next",   "gtid_seq_no",    "gtid_domain_id", "pseudo_thread_id", "pseudo_slave_mode", "server_id",
    "skip_replication",
};

/* GLOBAL, PERSIST, PERSIST_ONLY: 1; SESSION, LOCAL: 0; else -1. */
static int scope_of(const tok *t)
{
    if (kw(t, "global") || kw(t, "persist") || kw(t, "persist_only"))
        return 1;
    if (kw(t, "session") || kw(t, "local"))
        return 0;
    return -1;
}

/* ISOLATION LEVEL ... | READ ONLY | READ WRITE, separated by commas. */
static bool set_transaction_parse(lexer *lx)
{
    tok t;
    for (;;) {
        next(lx, &t);
        if (kw(&t, "isolation")) {
            next(lx, &t);
            if (!kw(&t, "level"))
                return false;
            next(lx, &t);
            if (kw(&t, "repeatable") || kw(&t, "read")) {
                bool rr = kw(&t, "repeatable");
                next(lx, &t);
                if (rr ? !kw(&t, "read") : !(kw(&t, "committed") || kw(&t, "uncommitted")))
                    return false;
            } else if (!kw(&t, "serializable")) {
                return false;
            }
        } else if (kw(&t, "read")) {
            next(lx, &t);
            if (!kw(&t, "only") && !kw(&t, "write"))
                return false;
        } else {
            return false;
        }
        next(lx, &t);
        if (t.k == T_END)
            return true;
        if (!punct(&t, ','))
            return false;
    }
}

/* An expression up to a top-level ',' (left in place) or the end: false
 * when empty or unbalanced. *first is its first token, *count how many. */
static bool set_value_skip(lexer *lx, tok *first, size_t *count)
{
    size_t depth = 0, k = 0;
    for (;;) {
        lexer save = *lx;
        tok t;
        next(lx, &t);
        if (t.k == T_END || (punct(&t, ',') && depth == 0)) {
            *lx = save;
            break;
        }
        if (punct(&t, '('))
            depth++;
        if (punct(&t, ')') && depth-- == 0)
            return false;
        if (k++ == 0)
            *first = t;
    }
    *count = k;
    return k > 0 && depth == 0;
}

/* A charset or collation name: a word or a string. */
static bool set_charset_name(lexer *lx)
{
    tok t;
    next(lx, &t);
    return t.k == T_WORD || t.k == T_STR;
}

static int bool_value(const tok *t, size_t count)
{
    if (count != 1 || (t->k != T_WORD && t->k != T_STR))
        return -1;
    if (word_is(t->s, t->n, "on") || (t->k == T_WORD && (word_is(t->s, t->n, "1") || word_is(t->s, t->n, "true"))))
        return 1;
    if (word_is(t->s, t->n, "off") || (t->k == T_WORD && (word_is(t->s, t->n, "0") || word_is(t->s, t->n, "false"))))
        return 0;
    return -1;
}

/* SET's assignment list (MySQL's "the last scope keyword holds for the
 * assignments after it"). Replay needs every assignment understood, every
 * one of session scope, and values that mean the same on any server. */
static void set_parse(lexer *lx, unsigned f, classify_result *r)
{
    tok t, u;
    lexer c = *lx;
    next(&c, &t);
    next(&c, &u);
    if (kw(&t, "password") || kw(&t, "role") || (kw(&t, "default") && kw(&u, "role")))
        return; /* accounts and roles: the write side, nothing to replay */
    int scope = scope_of(&t);
    if (kw(&t, "transaction") || (scope >= 0 && kw(&u, "transaction"))) {
        c = *lx;
        next(&c, &t);
        if (scope >= 0)
            next(&c, &t);
        if (!set_transaction_parse(&c))
            pin(r);
        else if (scope == 0) { /* without SESSION it only shapes the next transaction */
            r->flags |= CLASSIFY_SESSION_SET;
            memcpy(r->key, "transaction", sizeof "transaction");
        }
        return;
    }

    unsigned nvars = 0, nglobal = 0;
    bool global = false, pins = false, has_autocommit = false;
    int autocommit = -1;
    const char *key = NULL;
    size_t keylen = 0;
    for (;;) {
        next(lx, &t);
        if ((scope = scope_of(&t)) >= 0) {
            global = scope == 1;
            next(lx, &t);
        }
        bool is_global = global;
        const char *name = NULL;
        size_t n = 0;
        if (kw(&t, "names") || kw(&t, "charset") || kw(&t, "character")) {
            if (kw(&t, "character")) {
                next(lx, &u);
                if (!kw(&u, "set"))
                    goto unparsed;
            }
            name = kw(&t, "names") ? "names" : "character set";
            n = strlen(name);
            if (!set_charset_name(lx))
                goto unparsed;
            peek(lx, &u);
            if (kw(&u, "collate") && name[0] == 'n') {
                next(lx, &u);
                if (!set_charset_name(lx))
                    goto unparsed;
            }
        } else {
            if (t.k == T_VAR) {
                pins = true; /* a user variable lives on the server that ran the SET */
            } else if (t.k == T_SYSVAR) {
                is_global = t.global;
            } else if (!(t.k == T_WORD || (t.k == T_QNAME && !memchr(t.s, '`', t.n)))) {
                goto unparsed;
            }
            name = t.s;
            n = t.n;
            next(lx, &u);
            if (!punct(&u, '=') && u.k != T_ASSIGN) /* also catches structured names: a.b = ... */
                goto unparsed;
            tok first = {T_END};
            size_t count;
            if (!set_value_skip(lx, &first, &count))
                goto unparsed;
            if (word_is(name, n, "autocommit") && !is_global) {
                has_autocommit = true;
                autocommit = bool_value(&first, count);
            }
            for (size_t i = 0; i < sizeof pinning_variables / sizeof pinning_variables[0]; i++)
                pins |= word_is(name, n, pinning_variables[i]);
        }
        nvars++;
        nglobal += is_global;
        key = name;
        keylen = n;
        next(lx, &t);
        if (t.k == T_END)
            break;
        if (!punct(&t, ','))
            goto unparsed;
    }

    if (pins)
        goto unparsed;
    if (nglobal == nvars)
        return; /* administration: the write side, nothing to replay */
    /* Mixed scopes would replay a global change; values that read user
     * variables, the session or tables, or hold a placeholder, would not
     * mean the same on another server. */
    if (nglobal || f)
        goto unparsed;
    if (has_autocommit) {
        if (nvars != 1 || autocommit < 0)
            goto unparsed;
        r->flags |= CLASSIFY_AUTOCOMMIT;
        r->autocommit = autocommit;
        return;
    }
    if (nvars == 1) {
        if (keylen >= sizeof r->key)
            goto unparsed;
        for (size_t i = 0; i < keylen; i++)
            r->key[i] = (char)(key[i] >= 'A' && key[i] <= 'Z' ? key[i] + 32 : key[i]);
        r->key[keylen] = '\0';
        if (memchr(r->key, '\0', keylen))
            goto unparsed;
    }
    r->flags |= CLASSIFY_SESSION_SET;
    return;
unparsed:
    pin(r);
}

/* --- verbs --------------------------------------------------------------- */

/* Each reads what follows its verb. true: the rest of the text is a
 * statement that runs (EXPLAIN ANALYZE ...); classify_one goes on with it. */
typedef bool verb_fn(lexer *lx, unsigned f, classify_result *r);

static bool v_read(lexer *lx, unsigned f, classify_result *r)
{
    (void)lx;
    r->route = read_route(f);
    return false;
}

/* WITH ...: the verb at depth 0 after the common table expressions. */
static bool v_with(lexer *lx, unsigned f, classify_result *r)
{
    size_t depth = 0;
    tok t;
    for (next(lx, &t); t.k != T_END; next(lx, &t)) {
        if (punct(&t, '(')) {
            depth++;
        } else if (punct(&t, ')')) {
            if (depth-- == 0)
                break;
        } else if (depth == 0 && t.k == T_WORD) {
            if (kw(&t, "select") || kw(&t, "values") || kw(&t, "table"))
                break;
            if (kw(&t, "insert") || kw(&t, "replace") || kw(&t, "update") || kw(&t, "delete")) {
                r->kind = kw(&t, "update")   ? CLASSIFY_KIND_UPDATE
                          : kw(&t, "delete") ? CLASSIFY_KIND_DELETE
                                             : CLASSIFY_KIND_INSERT;
                return false;
            }
        }
    }
    r->route = read_route(f);
    return false;
}

static bool v_show(lexer *lx, unsigned f, classify_result *r)
{
    static const char *const server_bound[] = {"processlist", "master",   "binlog",   "binary", "slave",
                                               "slaves",      "replica",  "replicas", "relaylog", "all"};
    tok t;
    next(lx, &t);
    if (kw(&t, "count")) { /* SHOW COUNT(*) WARNINGS */
        tok a, b, c;
        next(lx, &a);
        next(lx, &b);
        next(lx, &c);
        next(lx, &t);
        if (!punct(&a, '(') || !punct(&b, '*') || !punct(&c, ')'))
            return false;
        if (!kw(&t, "warnings") && !kw(&t, "errors"))
            return false;
    }
    if (kw(&t, "warnings") || kw(&t, "errors")) {
        r->route = CLASSIFY_ROUTE_LAST;
        return false;
    }
    if (kw(&t, "full"))
        next(lx, &t);
    for (size_t i = 0; i < sizeof server_bound / sizeof server_bound[0]; i++)
        if (kw(&t, server_bound[i]))
            return false; /* about the source server itself: its sessions, its binlog */
    r->route = read_route(f);
    return false;
}

/* EXPLAIN, DESCRIBE, DESC: only EXPLAIN ANALYZE runs its statement. */
static bool v_explain(lexer *lx, unsigned f, classify_result *r)
{
    bool analyze = false;
    tok t;
    for (;;) {
        peek(lx, &t);
        if (kw(&t, "analyze")) {
            analyze = true;
        } else if (kw(&t, "format")) { /* FORMAT = JSON: the value goes below */
            next(lx, &t);
            peek(lx, &t);
            if (punct(&t, '='))
                next(lx, &t);
        } else if (!kw(&t, "extended") && !kw(&t, "partitions")) {
            break;
        }
        next(lx, &t);
    }
    if (analyze)
        return true;
    if (kw(&t, "for")) /* EXPLAIN FOR CONNECTION n: another session of that server */
        return false;
    r->route = read_route(f);
    return false;
}

/* MariaDB's ANALYZE [FORMAT=JSON] <stmt> runs it; ANALYZE TABLE is admin. */
static bool v_analyze(lexer *lx, unsigned f, classify_result *r)
{
    (void)f;
    (void)r;
    tok t;
    peek(lx, &t);
    if (kw(&t, "table") || kw(&t, "tables") || kw(&t, "no_write_to_binlog") || kw(&t, "local"))
        return false;
    if (kw(&t, "format")) {
        next(lx, &t);
        peek(lx, &t);
        if (punct(&t, '='))
            next(lx, &t);
        next(lx, &t);
    }
    return true;
}

static bool v_set(lexer *lx, unsigned f, classify_result *r)
{
    tok t, prev = {T_END};
    peek(lx, &t);
    if (!kw(&t, "statement")) {
        set_parse(lx, f, r);
        return false;
    }
    /* SET STATEMENT a=b[, ...] FOR <stmt>: the settings last one statement */
    size_t depth = 0;
    for (next(lx, &t); t.k != T_END; prev = t, next(lx, &t)) {
        if (punct(&t, '('))
            depth++;
        else if (punct(&t, ')') && depth)
            depth--;
        else if (depth == 0 && kw(&t, "for") && !kw(&prev, "value")) /* not NEXT VALUE FOR */
            return true;
    }
    pin(r);
    return false;
}

static bool v_use(lexer *lx, unsigned f, classify_result *r)
{
    (void)f;
    tok t, end;
    next(lx, &t);
    next(lx, &end);
    size_t n = 0;
    if (end.k == T_END && (t.k == T_WORD || t.k == T_QNAME)) {
        for (size_t i = 0; i < t.n && n < sizeof r->name; i++, n++) {
            if (t.k == T_QNAME && t.s[i] == '`')
                i++; /* `` inside a quoted name is one backtick */
            r->name[n] = t.s[i];
        }
    }
    /* Empty, too long or holding a NUL: the name cannot be replayed as it
     * was meant, so the session stays where it ran. */
    if (n == 0 || n >= sizeof r->name || memchr(r->name, '\0', n)) {
        pin(r);
        return false;
    }
    r->name[n] = '\0';
    r->flags |= CLASSIFY_USE;
    return false;
}

static bool v_begin(lexer *lx, unsigned f, classify_result *r)
{
    (void)f;
    tok t;
    next(lx, &t);
    if (kw(&t, "not")) { /* BEGIN NOT ATOMIC: a compound statement, anything may happen inside */
        r->kind = CLASSIFY_KIND_OTHER;
        pin(r);
        return false;
    }
    if (kw(&t, "work"))
        next(lx, &t);
    if (t.k == T_END)
        r->flags |= CLASSIFY_TXN_BEGIN;
    return false;
}

static bool v_start(lexer *lx, unsigned f, classify_result *r)
{
    (void)f;
    tok t;
    next(lx, &t);
    if (kw(&t, "transaction"))
        r->flags |= CLASSIFY_TXN_BEGIN;
    else
        r->kind = CLASSIFY_KIND_OTHER; /* START SLAVE, START REPLICA */
    return false;
}

/* COMMIT|ROLLBACK [WORK] [AND [NO] CHAIN] [[NO] RELEASE]; ROLLBACK TO. */
static bool v_end(lexer *lx, unsigned f, classify_result *r)
{
    (void)f;
    tok t, prev = {T_END};
    next(lx, &t);
    if (kw(&t, "work"))
        next(lx, &t);
    if (kw(&t, "to"))
        return false; /* to a savepoint: the transaction goes on */
    r->flags |= CLASSIFY_TXN_END;
    for (; t.k != T_END; prev = t, next(lx, &t))
        if (kw(&t, "chain") && kw(&prev, "and"))
            r->flags |= CLASSIFY_TXN_BEGIN; /* the next transaction starts at once */
    return false;
}

static bool v_xa(lexer *lx, unsigned f, classify_result *r)
{
    (void)f;
    tok t;
    next(lx, &t);
    if (kw(&t, "start") || kw(&t, "begin"))
        r->flags |= CLASSIFY_TXN_BEGIN;
    else if (kw(&t, "commit") || kw(&t, "rollback"))
        r->flags |= CLASSIFY_TXN_END;
    return false;
}

static bool v_pin(lexer *lx, unsigned f, classify_result *r)
{
    (void)lx;
    (void)f;
    pin(r);
    return false;
}

/* The verb pins when one of its later words (not after a '.') is w1, or
 * w1 directly followed by w2. */
static bool pins_with(lexer *lx, classify_result *r, const char *w1, const char *w2)
{
    tok t, prev = {T_END};
    for (next(lx, &t); t.k != T_END; prev = t, next(lx, &t)) {
        if (w2 ? kw(&prev, w1) && kw(&t, w2) : kw(&t, w1)) {
            pin(r);
            return true;
        }
    }
    return false;
}

static bool v_flush(lexer *lx, unsigned f, classify_result *r)
{
    (void)f;
    lexer c = *lx;
    /* FLUSH TABLES ... WITH READ LOCK and FLUSH TABLES t FOR EXPORT hold locks */
    if (!pins_with(lx, r, "read", "lock"))
        pins_with(&c, r, "for", "export");
    return false;
}

static bool v_handler(lexer *lx, unsigned f, classify_result *r)
{
    (void)f;
    pins_with(lx, r, "open", NULL);
    return false;
}

static bool v_create(lexer *lx, unsigned f, classify_result *r)
{
    (void)f;
    tok t;
    next(lx, &t);
    if (kw(&t, "or")) { /* OR REPLACE */
        next(lx, &t);
        next(lx, &t);
    }
    if (kw(&t, "temporary"))
        pin(r);
    return false;
}

static bool v_execute(lexer *lx, unsigned f, classify_result *r)
{
    (void)f;
    tok t;
    next(lx, &t);
    if (kw(&t, "immediate")) /* runs any text, which may set anything */
        pin(r);
    return false;
}

static bool v_unlock(lexer *lx, unsigned f, classify_result *r)
{
    (void)f;
    tok t;
    next(lx, &t);
    if (kw(&t, "tables") || kw(&t, "table"))
        r->flags |= CLASSIFY_UNLOCK;
    return false;
}

/* LOAD DATA|XML [LOW_PRIORITY|CONCURRENT] [LOCAL] INFILE */
static bool v_load(lexer *lx, unsigned f, classify_result *r)
{
    (void)f;
    tok t;
    next(lx, &t);
    if (!kw(&t, "data") && !kw(&t, "xml"))
        return false;
    for (next(lx, &t); t.k == T_WORD && !kw(&t, "infile"); next(lx, &t))
        if (kw(&t, "local"))
            r->flags |= CLASSIFY_LOCAL_INFILE;
    return false;
}

/* GET [CURRENT|STACKED] DIAGNOSTICS: about the previous statement. */
static bool v_get(lexer *lx, unsigned f, classify_result *r)
{
    (void)f;
    tok t;
    next(lx, &t);
    if (kw(&t, "current") || kw(&t, "stacked"))
        next(lx, &t);
    if (kw(&t, "diagnostics"))
        r->route = CLASSIFY_ROUTE_LAST;
    return false;
}

static const struct verb {
    const char *word;
    classify_kind kind;
    verb_fn *fn;  /* NULL: the write side, nothing more to know */
    bool in_parens; /* may follow a leading '(' */
} verbs[] = {
    {"select", CLASSIFY_KIND_SELECT, v_read, true},
    {"values", CLASSIFY_KIND_SELECT, v_read, true},
    {"table", CLASSIFY_KIND_SELECT, v_read, true},
    {"with", CLASSIFY_KIND_SELECT, v_with, true},
    {"show", CLASSIFY_KIND_SHOW, v_show, false},
    {"describe", CLASSIFY_KIND_OTHER, v_explain, false},
    {"desc", CLASSIFY_KIND_OTHER, v_explain, false},
    {"explain", CLASSIFY_KIND_OTHER, v_explain, false},
    {"help", CLASSIFY_KIND_OTHER, v_read, false},
    {"analyze", CLASSIFY_KIND_OTHER, v_analyze, false},
    {"insert", CLASSIFY_KIND_INSERT, NULL, false},
    {"replace", CLASSIFY_KIND_INSERT, NULL, false},
    {"update", CLASSIFY_KIND_UPDATE, NULL, false},
    {"delete", CLASSIFY_KIND_DELETE, NULL, false},
    {"create", CLASSIFY_KIND_DDL, v_create, false},
    {"alter", CLASSIFY_KIND_DDL, NULL, false},
    {"drop", CLASSIFY_KIND_DDL, NULL, false},
    {"truncate", CLASSIFY_KIND_DDL, NULL, false},
    {"rename", CLASSIFY_KIND_DDL, NULL, false},
    {"set", CLASSIFY_KIND_SET, v_set, false},
    {"use", CLASSIFY_KIND_OTHER, v_use, false},
    {"begin", CLASSIFY_KIND_TXN, v_begin, false},
    {"start", CLASSIFY_KIND_TXN, v_start, false},
    {"commit", CLASSIFY_KIND_TXN, v_end, false},
    {"rollback", CLASSIFY_KIND_TXN, v_end, false},
    {"savepoint", CLASSIFY_KIND_TXN, NULL, false},
    {"release", CLASSIFY_KIND_TXN, NULL, false},
    {"xa", CLASSIFY_KIND_TXN, v_xa, false},
    {"lock", CLASSIFY_KIND_OTHER, v_pin, false},
    {"backup", CLASSIFY_KIND_OTHER, v_pin, false}, /* MariaDB BACKUP STAGE|LOCK */
    {"prepare", CLASSIFY_KIND_OTHER, v_pin, false},
    {"unlock", CLASSIFY_KIND_OTHER, v_unlock, false},
    {"flush", CLASSIFY_KIND_OTHER, v_flush, false},
    {"handler", CLASSIFY_KIND_OTHER, v_handler, false},
    {"execute", CLASSIFY_KIND_OTHER, v_execute, false},
    {"load", CLASSIFY_KIND_OTHER, v_load, false},
    {"get", CLASSIFY_KIND_OTHER, v_get, false},
    /* MariaDB runs compound statements outside stored programs */
    {"if", CLASSIFY_KIND_OTHER, v_pin, false},
    {"case", CLASSIFY_KIND_OTHER, v_pin, false},
    {"loop", CLASSIFY_KIND_OTHER, v_pin, false},
    {"while", CLASSIFY_KIND_OTHER, v_pin, false},
    {"repeat", CLASSIFY_KIND_OTHER, v_pin, false},
    {"for", CLASSIFY_KIND_OTHER, v_pin, false},
};

/* One statement, from its first token to its ';' or the end. */
static void classify_one(lexer lx, unsigned f, classify_result *r)
{
    bool parens = false;
    tok t;
    result_clear(r);
    for (;;) {
        next(&lx, &t);
        if (punct(&t, '(')) {
            parens = true;
            continue;
        }
        const struct verb *v = NULL;
        for (size_t i = 0; t.k == T_WORD && i < sizeof verbs / sizeof verbs[0] && !v; i++)
            if (kw(&t, verbs[i].word))
                v = &verbs[i];
        if (!v) {
            tok u;
            peek(&lx, &u);
            if (t.k == T_WORD && !parens && punct(&u, ':'))
                pin(r); /* label: BEGIN ... : a compound statement */
            break;
        }
        if (parens && !v->in_parens)
            break;
        r->kind = v->kind;
        if (!v->fn || !v->fn(&lx, f, r))
            break;
    }
    if (f & (F_PIN | F_UVAR_SET | F_INTO_VAR))
        pin(r);
    if (f & F_BAD)
        r->route = CLASSIFY_ROUTE_WRITE;
}

/* --- the whole text ------------------------------------------------------ */

/* *first_bad: the first statement does not lex, so the server rejects the
 * text before it runs anything. */
static void classify_text(const char *sql, size_t len, bool bs, classify_result *out, bool *saw_bs,
                          bool *first_bad)
{
    lexer lx;
    classify_result part;
    unsigned parts = 0, pins = 0, sticky = 0, txn = 0;
    lexer_init(&lx, sql, len, bs);
    for (;;) {
        lexer start = lx;
        unsigned f = scan_statement(&lx);
        if (!parts)
            *first_bad = f & F_BAD;
        classify_one(start, f, parts ? &part : out);
        const classify_result *r = parts ? &part : out;
        if (r->flags & (CLASSIFY_PIN | CLASSIFY_SESSION_SET | CLASSIFY_USE | CLASSIFY_AUTOCOMMIT))
            pins = CLASSIFY_PIN;
        sticky |= r->flags & (CLASSIFY_LOCAL_INFILE | CLASSIFY_UNLOCK);
        if (r->flags & (CLASSIFY_TXN_BEGIN | CLASSIFY_TXN_END))
            txn = r->flags & (CLASSIFY_TXN_BEGIN | CLASSIFY_TXN_END);
        parts++;
        tok t;
        lex(&lx, &t); /* the ';' or the end */
        if (t.k == T_END)
            break;
        lexer ahead = lx;
        lex(&ahead, &t);
        if (t.k == T_END) /* a trailing ';' with only blanks after it */
            break;
    }
    *saw_bs = lx.saw_bs;
    if (parts > 1) {
        classify_kind kind = out->kind;
        result_clear(out);
        out->kind = kind;
        out->flags = CLASSIFY_MULTI | pins | sticky | txn;
    }
}

void classify_statement(const char *sql, size_t len, classify_result *out)
{
    bool saw_bs, bad;
    if (!sql)
        sql = "", len = 0;
    classify_text(sql, len, true, out, &saw_bs, &bad);
    if (!saw_bs)
        return;
    /* Without backslash escapes, 'O\'Brien' no longer lexes: a server in
     * that mode refuses the text whole, wherever it goes. Only a reading
     * that the server could run counts. */
    classify_result alt;
    classify_text(sql, len, false, &alt, &saw_bs, &bad);
    if (bad)
        return;
    if (alt.route != out->route)
        out->route = CLASSIFY_ROUTE_WRITE;
    /* A pin, or a replay the two readings disagree on, pins. */
    if ((alt.flags & CLASSIFY_PIN) ||
        ((alt.flags ^ out->flags) & (CLASSIFY_SESSION_SET | CLASSIFY_USE | CLASSIFY_AUTOCOMMIT)) ||
        strcmp(alt.key, out->key) != 0 || strcmp(alt.name, out->name) != 0 || alt.autocommit != out->autocommit)
        pin(out);
    out->flags |= alt.flags & CLASSIFY_LOCAL_INFILE;
}

const char *classify_kind_name(classify_kind k)
{
    switch (k) {
    case CLASSIFY_KIND_SELECT: return "select";
    case CLASSIFY_KIND_INSERT: return "insert";
    case CLASSIFY_KIND_UPDATE: return "update";
    case CLASSIFY_KIND_DELETE: return "delete";
    case CLASSIFY_KIND_DDL: return "ddl";
    case CLASSIFY_KIND_TXN: return "txn";
    case CLASSIFY_KIND_SET: return "set";
    case CLASSIFY_KIND_SHOW: return "show";
    case CLASSIFY_KIND_OTHER: return "other";
    }
    return "other";
}

const char *classify_route_name(classify_route r)
{
    switch (r) {
    case CLASSIFY_ROUTE_READ: return "read";
    case CLASSIFY_ROUTE_WRITE: return "write";
    case CLASSIFY_ROUTE_LAST: return "last";
    }
    return "write";
}
