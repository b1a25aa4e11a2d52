/* args: command-line options of cpctl subcommands.
 *
 * Each command declares a table of options (string, flag or repeatable
 * list) and positional names; args_parse fills them and reports the first
 * problem in words. */
#ifndef CP_ARGS_H
#define CP_ARGS_H

#include <stdbool.h>
#include <stddef.h>

#include "lib/sbuf.h"

typedef enum { ARG_STR, ARG_FLAG, ARG_LIST } arg_kind;

typedef struct arg_opt {
    const char *name; /* without the leading -- */
    arg_kind kind;
    void *dest;       /* const char **, bool *, or arg_list * */
    const char *help;
} arg_opt;

typedef struct arg_list {
    char **v;
    size_t n;
} arg_list;

/* argv[0] is the command name. Positional arguments land in pos (at most
 * npos of them); *got says how many came. */
int args_parse(int argc, char **argv, const arg_opt *opts, size_t nopts, const char **pos, size_t npos,
               size_t *got, sbuf *err);
/* A command's arguments, the same way for every command: exactly npos
 * positional names (pos_name says what the first is, for the message).
 * --help prints the usage on stdout: returns 1. A problem is printed with
 * the usage on stderr: returns -1. Else 0. synopsis follows "cpctl ". */
int args_command(int argc, char **argv, const arg_opt *opts, size_t nopts, const char **pos, size_t npos,
                 const char *pos_name, const char *synopsis);
void args_list_free(arg_list *l);
void args_usage(const char *synopsis, const arg_opt *opts, size_t nopts, sbuf *out);

#endif
