/* wf_err: the workflow layer's one error vocabulary.
 *
 * What a workflow command or a registry call can answer besides success.
 * rpc/ maps these to gRPC status codes (service.c, service_status); nothing
 * below rpc/ knows gRPC. Each comes with a message for people. */
#ifndef WF_ERR_H
#define WF_ERR_H

typedef enum {
    WF_OK = 0,
    WF_EINVAL,       /* a value the operation cannot use */
    WF_ESTATE,       /* not allowed in the current state (the message names it) */
    WF_ENOTFOUND,    /* no such workflow or stream */
    WF_EEXISTS,      /* the name is taken */
    WF_EUNAVAILABLE, /* a server it needs cannot be reached, or the workflow has stopped */
    WF_ETIMEOUT,     /* a bounded operation ran out of time (and undid its work) */
    WF_EABORTED,     /* gave up before its point of no return and undid its work */
    WF_EINTERNAL,    /* a failure of the agent's own: state it could not write, a bug */
} wf_err;

#endif
