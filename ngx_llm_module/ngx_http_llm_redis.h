
/*
 * Copyright (C) ngx_llm_module authors
 *
 * llm_redis: an event-driven Redis client on nginx's event loop.  One
 * pipelined connection per worker and llm_redis (kept alive), commands
 * queued with a callback each; nothing ever blocks the worker.
 */


#ifndef _NGX_HTTP_LLM_REDIS_H_INCLUDED_
#define _NGX_HTTP_LLM_REDIS_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_llm_resp.h"


typedef struct ngx_http_llm_redis_cmd_s  ngx_http_llm_redis_cmd_t;

/*
 * rc: NGX_OK with the reply's values (v[0] is the reply; it may be an
 * error reply), or NGX_ERROR (no connection, a timeout, a broken reply):
 * v is NULL.  The values point into the client's buffer: copied if kept.
 */
typedef void (*ngx_http_llm_redis_handler_pt)(ngx_http_llm_redis_cmd_t *cmd,
    ngx_int_t rc, ngx_http_llm_resp_value_t *v, size_t n);


struct ngx_http_llm_redis_cmd_s {
    ngx_queue_t                     queue;
    ngx_http_llm_redis_handler_pt   handler;    /* NULL: reply ignored */
    void                           *data;
    ngx_msec_t                      start;
    ngx_http_llm_redis_t           *redis;
};


/* in shared memory: counters of every worker of this nginx */

typedef struct {
    ngx_atomic_t                    ok;         /* replies */
    ngx_atomic_t                    errors;     /* error replies */
    ngx_atomic_t                    failed;     /* no reply: connection */
    ngx_atomic_t                    timeouts;
    ngx_atomic_t                    skipped;    /* not sent: in an outage */
    ngx_atomic_t                    latency_ms; /* sum, over ok + errors */
    ngx_atomic_t                    latency_max;
    ngx_atomic_t                    connects;
    ngx_atomic_t                    outages;
    ngx_atomic_t                    outage_ms;  /* ended outages */
    ngx_atomic_t                    down_since; /* ms since the epoch, or 0 */
    ngx_atomic_t                    logged;     /* seconds, last outage log */
    ngx_atomic_t                    leases;     /* budget leases taken */
    ngx_atomic_t                    lease_short;/* granted less than asked */
    ngx_atomic_t                    returns;    /* surplus given back */
    ngx_atomic_t                    cache_hits;
    ngx_atomic_t                    cache_misses;
    ngx_atomic_t                    cache_stores;
    uint64_t                        instance;   /* of this nginx */
} ngx_http_llm_redis_sh_t;


struct ngx_http_llm_redis_s {
    ngx_str_t                       name;
    ngx_url_t                       url;
    ngx_str_t                       password;
    ngx_str_t                       user;
    ngx_int_t                       db;
    ngx_msec_t                      timeout;
    ngx_shm_zone_t                 *shm_zone;
    ngx_http_llm_redis_sh_t        *sh;
    void                           *ssl;        /* ngx_ssl_t: tls */
    ngx_str_t                       tls_ca;     /* verify with these CAs */
    u_char                         *sni;        /* the host, for SNI */

    /* this worker's */
    ngx_peer_connection_t           peer;
    ngx_connection_t               *connection;
    ngx_queue_t                     pending;    /* sent, reply awaited */
    ngx_queue_t                     free;
    u_char                         *out;
    size_t                          out_pos;
    size_t                          out_last;
    size_t                          out_size;
    u_char                         *in;
    size_t                          in_last;
    size_t                          in_size;
    ngx_msec_t                      down_until; /* no new connection before */
    ngx_uint_t                      npending;
    unsigned                        inited:1;
    unsigned                        connecting:1;
    unsigned                        handshaking:1;
};


char *ngx_http_llm_redis_directive(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
ngx_http_llm_redis_t *ngx_http_llm_redis_find(ngx_conf_t *cf,
    ngx_str_t *name);
ngx_http_llm_redis_t *ngx_http_llm_redis_param(ngx_conf_t *cf,
    ngx_str_t *value, const char *directive);

/*
 * Sends a command (argc strings); NULL when it is not sent (in an outage
 * or on an error): the caller goes on without Redis.  Otherwise the
 * handler is called once, from an event handler, never from inside this
 * call.
 */
ngx_http_llm_redis_cmd_t *ngx_http_llm_redis_send(ngx_http_llm_redis_t *rd,
    ngx_uint_t argc, ngx_str_t *argv, ngx_http_llm_redis_handler_pt handler,
    void *data);

/* an outage is known (this nginx's workers failed to reach it) */
ngx_uint_t ngx_http_llm_redis_down(ngx_http_llm_redis_t *rd);

/* a decimal integer reply or bulk string: NGX_OK and *value */
ngx_int_t ngx_http_llm_redis_number(ngx_http_llm_resp_value_t *v,
    int64_t *value);

void ngx_http_llm_redis_exit_process(ngx_cycle_t *cycle);

/* llm_status (ngx_http_llm_main_conf_t: ngx_http_llm_module.h) */
size_t ngx_http_llm_redis_status_size(void *lmcf);
u_char *ngx_http_llm_redis_status(u_char *p, void *lmcf, ngx_uint_t json);


#endif /* _NGX_HTTP_LLM_REDIS_H_INCLUDED_ */
