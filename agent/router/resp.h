/* resp: where a server's reply to one command ends, without decoding it.
 *
 * The router forwards replies byte for byte; it only needs to know where
 * each one ends (to send the next command), the final status flags (is a
 * transaction open? are more result sets coming?), whether it was an
 * error, and two moments when it must act: a prepared statement's id
 * (which it renumbers) and a LOAD DATA LOCAL request (after which the
 * client sends file data). resp_feed walks frame headers, looks at the
 * first byte of each packet, reads whole only the small packets that
 * carry status (OK, EOF, ERR, column counts) and lets rows stream through
 * in whatever pieces the network delivers them.
 *
 * The router never offers CLIENT_DEPRECATE_EOF, so result sets always have
 * their EOF packets, which is the one layout every client understands.
 *
 * On a connection with CLIENT_SESSION_TRACK (session_track set after
 * resp_start) the parser also collects the GTIDs the reply's OK packets
 * report (wire_ok_gtid): what the command committed, for read-your-writes
 * (ryw.h). */
#ifndef ROUTER_RESP_H
#define ROUTER_RESP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum {
    RESP_NONE,       /* no reply: COM_STMT_CLOSE, COM_STMT_SEND_LONG_DATA */
    RESP_SIMPLE,     /* one OK, ERR or EOF: INIT_DB, SET_OPTION, RESET_CONNECTION, STMT_RESET, ... */
    RESP_QUERY,      /* COM_QUERY: OK, ERR, result sets, LOCAL INFILE requests, several of them */
    RESP_EXECUTE,    /* COM_STMT_EXECUTE: like a query, binary rows, maybe a cursor instead */
    RESP_FETCH,      /* COM_STMT_FETCH: rows, then EOF */
    RESP_PREPARE,    /* COM_STMT_PREPARE: PREPARE_OK, parameter and column definitions */
    RESP_FIELD_LIST, /* COM_FIELD_LIST: column definitions, then EOF */
    RESP_ANY1,       /* COM_STATISTICS: one packet of any content */
} resp_kind;

typedef enum {
    RESP_MORE,     /* all bytes given so far belong to the reply; more to come */
    RESP_DONE,     /* the reply ended: *used bytes were its last */
    RESP_PREPARED, /* a PREPARE_OK was just consumed: stmt_id at buf + id_at */
    RESP_INFILE,   /* the server asks for a local file: the client's data comes next */
    RESP_BAD,      /* not a valid reply: the connection cannot be trusted */
} resp_event;

typedef struct resp_parser {
    resp_kind kind;
    int state;
    uint64_t left;  /* definitions still to pass in this state */
    uint32_t skip;  /* payload bytes of the current frame still to pass */
    bool continues; /* the current packet continues in the next frame */
    uint8_t seq;    /* the last frame's sequence number */
    bool any;       /* at least one frame of the reply has been seen */
    /* Results. */
    uint16_t status;       /* status flags of the last OK or EOF */
    bool failed;           /* the reply (its last result) was an ERR */
    uint16_t err_code;     /* with failed */
    char err_msg[256];     /* with failed: the server's text, truncated */
    uint32_t stmt_id;      /* with RESP_PREPARED */
    uint16_t ncols, nparams;
    size_t id_at;
    /* Session tracking: set by the caller after resp_start. */
    bool session_track;
    /* The GTIDs the OK packets reported, comma-separated (a multi-statement
     * may commit several times); gtid_lost: more than fits, or one that
     * could not be read, so the text is not the whole truth. */
    char gtid[192];
    size_t gtid_len;
    bool gtid_lost;
} resp_parser;

void resp_start(resp_parser *p, resp_kind kind);
/* Consume the reply's bytes from buf. *used is how many belong to it (they
 * can be forwarded); bytes past *used are either the start of a packet
 * that must be seen whole (call again with more) or, after RESP_DONE, not
 * part of this reply. */
resp_event resp_feed(resp_parser *p, const uint8_t *buf, size_t len, size_t *used);
/* The reply is complete (a feed of no bytes would say RESP_DONE): after
 * RESP_PREPARED of a statement without parameters or columns. */
bool resp_complete(const resp_parser *p);

#endif
