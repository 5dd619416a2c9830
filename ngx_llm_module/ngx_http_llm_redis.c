
/*
 * Copyright (C) ngx_llm_module authors
 *
 * llm_redis: a minimal event-driven Redis client (RESP2) on nginx's event
 * loop.  Each worker keeps one connection per llm_redis and pipelines its
 * commands on it (Redis answers in order): no pool of connections is
 * needed for the few commands a lease or a cache lookup takes.  Every wait
 * is bounded by timeout=; a failure is reported to the callers at once,
 * then no new connection is tried for a second (the outage), so that no
 * request waits on a Redis that is down.  An outage is counted and logged
 * once per 10 seconds for all the workers of this nginx.
 */


#include "ngx_http_llm_module.h"


#define NGX_HTTP_LLM_REDIS_BUF       16384
#define NGX_HTTP_LLM_REDIS_RETRY     1000      /* ms after a failure */
#define NGX_HTTP_LLM_REDIS_LOG_EVERY 10        /* s between outage logs */
#define NGX_HTTP_LLM_REDIS_VALUES    16


static ngx_int_t ngx_http_llm_redis_init_zone(ngx_shm_zone_t *shm_zone,
    void *data);
static ngx_int_t ngx_http_llm_redis_connect(ngx_http_llm_redis_t *rd);
static ngx_http_llm_redis_cmd_t *ngx_http_llm_redis_push(
    ngx_http_llm_redis_t *rd, ngx_uint_t argc, ngx_str_t *argv,
    ngx_http_llm_redis_handler_pt handler, void *data);
static void ngx_http_llm_redis_handshake(ngx_http_llm_redis_cmd_t *cmd,
    ngx_int_t rc, ngx_http_llm_resp_value_t *v, size_t n);
static void ngx_http_llm_redis_read_handler(ngx_event_t *rev);
static void ngx_http_llm_redis_write_handler(ngx_event_t *wev);
static ngx_int_t ngx_http_llm_redis_replies(ngx_http_llm_redis_t *rd,
    ngx_connection_t *c);
static void ngx_http_llm_redis_fail(ngx_http_llm_redis_t *rd,
    ngx_uint_t timeout, const char *reason, ngx_str_t *detail);
static void ngx_http_llm_redis_up(ngx_http_llm_redis_t *rd);
static ngx_int_t ngx_http_llm_redis_room(u_char **buf, size_t *size,
    size_t used, size_t need);
static void ngx_http_llm_redis_close(ngx_http_llm_redis_t *rd);
#if (NGX_SSL)
static ngx_int_t ngx_http_llm_redis_ssl_start(ngx_http_llm_redis_t *rd,
    ngx_connection_t *c);
static void ngx_http_llm_redis_ssl_done(ngx_connection_t *c);
#endif


static ngx_msec_t
ngx_http_llm_redis_now(void)
{
    ngx_time_t  *tp;

    tp = ngx_timeofday();

    return (ngx_msec_t) tp->sec * 1000 + tp->msec;
}


/*
 * llm_redis NAME ADDRESS [password=STRING] [user=NAME] [db=N]
 *           [timeout=TIME] [tls [tls_ca=FILE]];
 */

char *
ngx_http_llm_redis_directive(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_llm_main_conf_t *lmcf = conf;

    ngx_str_t              *value, zname;
    ngx_uint_t              i, tls;
    ngx_http_llm_redis_t   *rd, **rdp;
#if (NGX_SSL)
    ngx_ssl_t              *ssl;
    ngx_pool_cleanup_t     *cln;
#endif

    value = cf->args->elts;

    if (ngx_http_llm_redis_find(cf, &value[1]) != NULL) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "llm_redis \"%V\" is duplicate", &value[1]);
        return NGX_CONF_ERROR;
    }

    rd = ngx_pcalloc(cf->pool, sizeof(ngx_http_llm_redis_t));
    if (rd == NULL) {
        return NGX_CONF_ERROR;
    }

    tls = 0;

    rd->name = value[1];
    rd->timeout = 1000;
    rd->db = 0;

    rd->url.url = value[2];
    rd->url.default_port = 6379;

    if (ngx_parse_url(cf->pool, &rd->url) != NGX_OK) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "llm_redis \"%V\": %s in \"%V\"", &rd->name,
                           rd->url.err ? rd->url.err : "invalid address",
                           &value[2]);
        return NGX_CONF_ERROR;
    }

    if (rd->url.naddrs == 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "llm_redis \"%V\": no address for \"%V\"",
                           &rd->name, &value[2]);
        return NGX_CONF_ERROR;
    }

    for (i = 3; i < cf->args->nelts; i++) {

        if (ngx_strncmp(value[i].data, "password=", 9) == 0) {
            rd->password.data = value[i].data + 9;
            rd->password.len = value[i].len - 9;
            continue;
        }

        if (ngx_strncmp(value[i].data, "user=", 5) == 0) {
            rd->user.data = value[i].data + 5;
            rd->user.len = value[i].len - 5;

            if (rd->user.len == 0) {
                goto invalid;
            }

            continue;
        }

        if (ngx_strncmp(value[i].data, "db=", 3) == 0) {
            rd->db = ngx_atoi(value[i].data + 3, value[i].len - 3);

            if (rd->db == NGX_ERROR) {
                goto invalid;
            }

            continue;
        }

        if (ngx_strncmp(value[i].data, "timeout=", 8) == 0) {
            zname.data = value[i].data + 8;
            zname.len = value[i].len - 8;

            rd->timeout = ngx_parse_time(&zname, 0);

            if (rd->timeout == (ngx_msec_t) NGX_ERROR || rd->timeout == 0) {
                goto invalid;
            }

            continue;
        }

        if (ngx_strcmp(value[i].data, "tls") == 0) {
#if (NGX_SSL)
            tls = 1;
            continue;
#else
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "llm_redis \"%V\": \"tls\" needs nginx "
                               "built with OpenSSL", &rd->name);
            return NGX_CONF_ERROR;
#endif
        }

        if (ngx_strncmp(value[i].data, "tls_ca=", 7) == 0) {
            rd->tls_ca.data = value[i].data + 7;
            rd->tls_ca.len = value[i].len - 7;

            if (rd->tls_ca.len == 0) {
                goto invalid;
            }

            continue;
        }

        goto invalid;
    }

    if (rd->tls_ca.len && !tls) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "llm_redis \"%V\": \"tls_ca=\" needs \"tls\"",
                           &rd->name);
        return NGX_CONF_ERROR;
    }

#if (NGX_SSL)

    if (tls) {
        if (rd->url.family == AF_UNIX) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "llm_redis \"%V\": \"tls\" on a unix socket",
                               &rd->name);
            return NGX_CONF_ERROR;
        }

        ssl = ngx_pcalloc(cf->pool, sizeof(ngx_ssl_t));
        if (ssl == NULL) {
            return NGX_CONF_ERROR;
        }

        ssl->log = cf->log;

        if (ngx_ssl_create(ssl, NGX_SSL_TLSv1_2|NGX_SSL_TLSv1_3, NULL)
            != NGX_OK)
        {
            return NGX_CONF_ERROR;
        }

        cln = ngx_pool_cleanup_add(cf->pool, 0);
        if (cln == NULL) {
            ngx_ssl_cleanup_ctx(ssl);
            return NGX_CONF_ERROR;
        }

        cln->handler = ngx_ssl_cleanup_ctx;
        cln->data = ssl;

        if (rd->tls_ca.len
            && ngx_ssl_trusted_certificate(cf, ssl, &rd->tls_ca, 4) != NGX_OK)
        {
            return NGX_CONF_ERROR;
        }

        rd->ssl = ssl;

        /* SNI: a name, not an address */

        if (rd->url.host.len
            && ngx_inet_addr(rd->url.host.data, rd->url.host.len)
               == INADDR_NONE)
        {
            rd->sni = ngx_pnalloc(cf->pool, rd->url.host.len + 1);
            if (rd->sni == NULL) {
                return NGX_CONF_ERROR;
            }

            (void) ngx_cpystrn(rd->sni, rd->url.host.data,
                               rd->url.host.len + 1);
        }
    }

#endif

    if (rd->user.len && rd->password.len == 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "llm_redis \"%V\": \"user=\" needs \"password=\"",
                           &rd->name);
        return NGX_CONF_ERROR;
    }

    /* the counters, shared by the workers; the name is not a zone's */

    zname.len = sizeof("llm_redis ") - 1 + rd->name.len;
    zname.data = ngx_pnalloc(cf->pool, zname.len);
    if (zname.data == NULL) {
        return NGX_CONF_ERROR;
    }

    ngx_memcpy(ngx_cpymem(zname.data, "llm_redis ", sizeof("llm_redis ") - 1),
               rd->name.data, rd->name.len);

    rd->shm_zone = ngx_shared_memory_add(cf, &zname, 8 * ngx_pagesize,
                                         &ngx_http_llm_module);
    if (rd->shm_zone == NULL) {
        return NGX_CONF_ERROR;
    }

    rd->shm_zone->init = ngx_http_llm_redis_init_zone;
    rd->shm_zone->data = rd;

    rdp = ngx_array_push(&lmcf->redis);
    if (rdp == NULL) {
        return NGX_CONF_ERROR;
    }

    *rdp = rd;

    return NGX_CONF_OK;

invalid:

    ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                       "llm_redis \"%V\": invalid parameter \"%V\"",
                       &rd->name, &value[i]);

    return NGX_CONF_ERROR;
}


/* "redis=NAME" of a zone directive: an llm_redis declared before */

ngx_http_llm_redis_t *
ngx_http_llm_redis_param(ngx_conf_t *cf, ngx_str_t *value,
    const char *directive)
{
    ngx_str_t              name;
    ngx_http_llm_redis_t  *redis;

    name.data = value->data + sizeof("redis=") - 1;
    name.len = value->len - (sizeof("redis=") - 1);

    redis = ngx_http_llm_redis_find(cf, &name);

    if (redis == NULL) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "%s: no llm_redis \"%V\" declared before",
                           directive, &name);
    }

    return redis;
}


/* an llm_redis declared before (in the http block) */

ngx_http_llm_redis_t *
ngx_http_llm_redis_find(ngx_conf_t *cf, ngx_str_t *name)
{
    ngx_uint_t                 i;
    ngx_http_llm_redis_t     **rdp;
    ngx_http_llm_main_conf_t  *lmcf;

    lmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_llm_module);

    rdp = lmcf->redis.elts;

    for (i = 0; i < lmcf->redis.nelts; i++) {
        if (rdp[i]->name.len == name->len
            && ngx_strncmp(rdp[i]->name.data, name->data, name->len) == 0)
        {
            return rdp[i];
        }
    }

    return NULL;
}


static ngx_int_t
ngx_http_llm_redis_init_zone(ngx_shm_zone_t *shm_zone, void *data)
{
    ngx_http_llm_redis_t *ord = data;

    ngx_time_t            *tp;
    ngx_slab_pool_t       *shpool;
    ngx_http_llm_redis_t  *rd;

    rd = shm_zone->data;

    if (ord) {
        /* reload: the counters and this nginx's identity live on */
        rd->sh = ord->sh;
        return NGX_OK;
    }

    shpool = (ngx_slab_pool_t *) shm_zone->shm.addr;

    rd->sh = ngx_slab_calloc(shpool, sizeof(ngx_http_llm_redis_sh_t));
    if (rd->sh == NULL) {
        return NGX_ERROR;
    }

    /* who takes leases, for the share of each nginx in an outage */

    tp = ngx_timeofday();

    rd->sh->instance = ((uint64_t) ngx_random() << 32)
                       ^ ((uint64_t) ngx_pid << 16)
                       ^ (uint64_t) ngx_random()
                       ^ ((uint64_t) tp->sec * 1000 + tp->msec);

    return NGX_OK;
}


ngx_uint_t
ngx_http_llm_redis_down(ngx_http_llm_redis_t *rd)
{
    return rd->sh->down_since != 0;
}


ngx_int_t
ngx_http_llm_redis_number(ngx_http_llm_resp_value_t *v, int64_t *value)
{
    size_t     i;
    int64_t    n;
    ngx_int_t  neg;

    if (v->type == NGX_HTTP_LLM_RESP_INTEGER) {
        *value = v->integer;
        return NGX_OK;
    }

    if (v->type != NGX_HTTP_LLM_RESP_BULK
        && v->type != NGX_HTTP_LLM_RESP_STATUS)
    {
        return NGX_ERROR;
    }

    if (v->len == 0 || v->len > 18) {
        return NGX_ERROR;
    }

    neg = (v->data[0] == '-');
    i = neg;

    if (i == v->len) {
        return NGX_ERROR;
    }

    n = 0;

    for ( /* void */ ; i < v->len; i++) {
        if (v->data[i] < '0' || v->data[i] > '9') {
            return NGX_ERROR;
        }

        n = n * 10 + (v->data[i] - '0');
    }

    *value = neg ? -n : n;

    return NGX_OK;
}


ngx_http_llm_redis_cmd_t *
ngx_http_llm_redis_send(ngx_http_llm_redis_t *rd, ngx_uint_t argc,
    ngx_str_t *argv, ngx_http_llm_redis_handler_pt handler, void *data)
{
    ngx_http_llm_redis_cmd_t  *cmd;

    if (!rd->inited) {
        ngx_queue_init(&rd->pending);
        ngx_queue_init(&rd->free);
        rd->inited = 1;
    }

    if (rd->connection == NULL) {

        if (rd->down_until
            && (ngx_msec_int_t) (rd->down_until - ngx_current_msec) > 0)
        {
            /* in an outage: no request waits for a Redis that is down */
            (void) ngx_atomic_fetch_add(&rd->sh->skipped, 1);
            return NULL;
        }

        if (ngx_http_llm_redis_connect(rd) != NGX_OK) {
            return NULL;
        }
    }

    cmd = ngx_http_llm_redis_push(rd, argc, argv, handler, data);
    if (cmd == NULL) {
        return NULL;
    }

    /* written from an event handler: callbacks never run in the caller */

    if (!rd->connecting && !rd->handshaking) {
        ngx_post_event(rd->connection->write, &ngx_posted_events);
    }

    if (!rd->connection->read->timer_set) {
        ngx_add_timer(rd->connection->read, rd->timeout);
    }

    rd->connection->idle = 0;

    return cmd;
}


static ngx_http_llm_redis_cmd_t *
ngx_http_llm_redis_push(ngx_http_llm_redis_t *rd, ngx_uint_t argc,
    ngx_str_t *argv, ngx_http_llm_redis_handler_pt handler, void *data)
{
    size_t                     size, lens[16];
    ngx_uint_t                 i;
    ngx_queue_t               *q;
    const u_char              *args[16];
    ngx_http_llm_redis_cmd_t  *cmd;

    if (argc > 16) {
        return NULL;
    }

    for (i = 0; i < argc; i++) {
        args[i] = argv[i].data;
        lens[i] = argv[i].len;
    }

    size = ngx_http_llm_resp_command_size(argc, lens);

    if (ngx_http_llm_redis_room(&rd->out, &rd->out_size, rd->out_last, size)
        != NGX_OK)
    {
        return NULL;
    }

    if (!ngx_queue_empty(&rd->free)) {
        q = ngx_queue_head(&rd->free);
        ngx_queue_remove(q);
        cmd = ngx_queue_data(q, ngx_http_llm_redis_cmd_t, queue);

    } else {
        cmd = ngx_palloc(ngx_cycle->pool, sizeof(ngx_http_llm_redis_cmd_t));
        if (cmd == NULL) {
            return NULL;
        }
    }

    rd->out_last += ngx_http_llm_resp_command(rd->out + rd->out_last, argc,
                                              args, lens);

    cmd->handler = handler;
    cmd->data = data;
    cmd->start = ngx_current_msec;
    cmd->redis = rd;

    ngx_queue_insert_tail(&rd->pending, &cmd->queue);
    rd->npending++;

    return cmd;
}


/* room for need more bytes after used; the buffer grows (rarely) */

static ngx_int_t
ngx_http_llm_redis_room(u_char **buf, size_t *size, size_t used, size_t need)
{
    size_t   n;
    u_char  *p;

    if (*buf && used + need <= *size) {
        return NGX_OK;
    }

    n = ngx_max(*size * 2, NGX_HTTP_LLM_REDIS_BUF);

    while (n < used + need) {
        n *= 2;
    }

    p = ngx_alloc(n, ngx_cycle->log);
    if (p == NULL) {
        return NGX_ERROR;
    }

    if (used) {
        ngx_memcpy(p, *buf, used);
    }

    if (*buf) {
        ngx_free(*buf);
    }

    *buf = p;
    *size = n;

    return NGX_OK;
}


static ngx_int_t
ngx_http_llm_redis_connect(ngx_http_llm_redis_t *rd)
{
    u_char            *p;
    ngx_int_t          rc;
    ngx_str_t          argv[3], db;
    ngx_connection_t  *c;
    u_char             buf[NGX_INT_T_LEN];

    ngx_memzero(&rd->peer, sizeof(ngx_peer_connection_t));

    rd->peer.sockaddr = rd->url.addrs[0].sockaddr;
    rd->peer.socklen = rd->url.addrs[0].socklen;
    rd->peer.name = &rd->url.addrs[0].name;
    rd->peer.get = ngx_event_get_peer;
    rd->peer.log = ngx_cycle->log;
    rd->peer.log_error = NGX_ERROR_ERR;

    rc = ngx_event_connect_peer(&rd->peer);

    if (rc == NGX_ERROR || rc == NGX_BUSY || rc == NGX_DECLINED) {
        ngx_http_llm_redis_fail(rd, 0, "could not connect", NULL);
        return NGX_ERROR;
    }

    c = rd->peer.connection;

    c->data = rd;
    c->read->handler = ngx_http_llm_redis_read_handler;
    c->write->handler = ngx_http_llm_redis_write_handler;
    c->pool = NULL;

    if (rd->ssl) {
        /* the TLS state of the connection is allocated from it */
        c->pool = ngx_create_pool(1024, ngx_cycle->log);
        if (c->pool == NULL) {
            ngx_close_connection(c);
            ngx_http_llm_redis_fail(rd, 0, "no memory", NULL);
            return NGX_ERROR;
        }
    }

    rd->connection = c;
    rd->handshaking = 0;

    /* with tls, the handshake starts from the write handler */
    rd->connecting = (rc == NGX_AGAIN || rd->ssl);
    rd->out_pos = 0;
    rd->out_last = 0;
    rd->in_last = 0;

    (void) ngx_atomic_fetch_add(&rd->sh->connects, 1);

    /* AUTH and SELECT first, pipelined with what follows */

    if (rd->password.len) {
        ngx_str_set(&argv[0], "AUTH");

        if (rd->user.len) {
            argv[1] = rd->user;
            argv[2] = rd->password;
        } else {
            argv[1] = rd->password;
        }

        if (ngx_http_llm_redis_push(rd, rd->user.len ? 3 : 2, argv,
                                    ngx_http_llm_redis_handshake, "AUTH")
            == NULL)
        {
            goto failed;
        }
    }

    if (rd->db) {
        p = ngx_sprintf(buf, "%i", rd->db);
        db.data = buf;
        db.len = p - buf;

        ngx_str_set(&argv[0], "SELECT");
        argv[1] = db;

        if (ngx_http_llm_redis_push(rd, 2, argv,
                                    ngx_http_llm_redis_handshake, "SELECT")
            == NULL)
        {
            goto failed;
        }
    }

    if (!rd->connecting || rc != NGX_AGAIN) {
        ngx_post_event(c->write, &ngx_posted_events);
    }

    ngx_add_timer(c->read, rd->timeout);

    return NGX_OK;

failed:

    ngx_http_llm_redis_fail(rd, 0, "no memory", NULL);

    return NGX_ERROR;
}


/* AUTH or SELECT refused: a wrong password is said clearly */

static void
ngx_http_llm_redis_handshake(ngx_http_llm_redis_cmd_t *cmd, ngx_int_t rc,
    ngx_http_llm_resp_value_t *v, size_t n)
{
    ngx_str_t  detail;

    if (rc != NGX_OK || v[0].type != NGX_HTTP_LLM_RESP_ERROR) {
        return;
    }

    detail.data = (u_char *) v[0].data;
    detail.len = v[0].len;

    ngx_http_llm_redis_fail(cmd->redis, 0,
                            (ngx_strcmp(cmd->data, "AUTH") == 0)
                            ? "AUTH refused" : "SELECT refused", &detail);
}


static void
ngx_http_llm_redis_write_handler(ngx_event_t *wev)
{
    int                    err;
    ssize_t                n;
    socklen_t              len;
    ngx_connection_t      *c;
    ngx_http_llm_redis_t  *rd;

    c = wev->data;
    rd = c->data;

    if (rd->connection != c) {
        return;
    }

    if (rd->connecting) {
        err = 0;
        len = sizeof(int);

        if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, (void *) &err, &len)
            == -1)
        {
            err = ngx_socket_errno;
        }

        if (err) {
            ngx_log_error(NGX_LOG_DEBUG, c->log, err,
                          "llm_redis \"%V\": connect() failed", &rd->name);
            ngx_http_llm_redis_fail(rd, 0, "could not connect", NULL);
            return;
        }

        rd->connecting = 0;

#if (NGX_SSL)
        if (rd->ssl) {
            if (ngx_http_llm_redis_ssl_start(rd, c) != NGX_OK) {
                ngx_http_llm_redis_fail(rd, 0, "TLS failed", NULL);
            }

            return;
        }
#endif
    }

    while (rd->out_pos < rd->out_last) {
        n = c->send(c, rd->out + rd->out_pos, rd->out_last - rd->out_pos);

        if (n == NGX_AGAIN) {
            break;
        }

        if (n == NGX_ERROR || n == 0) {
            ngx_http_llm_redis_fail(rd, 0, "could not send", NULL);
            return;
        }

        rd->out_pos += n;
    }

    if (rd->out_pos == rd->out_last) {
        rd->out_pos = 0;
        rd->out_last = 0;

    } else if (rd->out_pos > rd->out_size / 2) {
        ngx_memmove(rd->out, rd->out + rd->out_pos,
                    rd->out_last - rd->out_pos);
        rd->out_last -= rd->out_pos;
        rd->out_pos = 0;
    }

    if (ngx_handle_write_event(wev, 0) != NGX_OK) {
        ngx_http_llm_redis_fail(rd, 0, "event error", NULL);
    }
}


static void
ngx_http_llm_redis_read_handler(ngx_event_t *rev)
{
    ssize_t                n;
    ngx_connection_t      *c;
    ngx_http_llm_redis_t  *rd;

    c = rev->data;
    rd = c->data;

    if (rd->connection != c) {
        return;
    }

    if (rev->timedout) {
        ngx_http_llm_redis_fail(rd, 1, "timed out", NULL);
        return;
    }

    if (c->close) {
        /* the worker exits: an idle connection is closed */
        ngx_http_llm_redis_close(rd);
        return;
    }

    for ( ;; ) {

        if (rd->in_last == rd->in_size) {
            if (rd->in_size >= NGX_HTTP_LLM_RESP_MAX_BULK) {
                ngx_http_llm_redis_fail(rd, 0, "a reply is too large", NULL);
                return;
            }

            if (ngx_http_llm_redis_room(&rd->in, &rd->in_size, rd->in_last,
                                        rd->in_size ? rd->in_size
                                                    : NGX_HTTP_LLM_REDIS_BUF)
                != NGX_OK)
            {
                ngx_http_llm_redis_fail(rd, 0, "no memory", NULL);
                return;
            }
        }

        n = c->recv(c, rd->in + rd->in_last, rd->in_size - rd->in_last);

        if (n == NGX_AGAIN) {
            break;
        }

        if (n == 0 || n == NGX_ERROR) {
            if (rd->npending == 0 && n == 0) {
                /* an idle connection closed by Redis (its timeout) */
                ngx_http_llm_redis_close(rd);
                return;
            }

            ngx_http_llm_redis_fail(rd, 0, "connection closed", NULL);
            return;
        }

        rd->in_last += n;

        if (ngx_http_llm_redis_replies(rd, c) != NGX_OK) {
            /* the connection is gone */
            return;
        }
    }

    if (rd->npending) {
        ngx_add_timer(rev, rd->timeout);

    } else {
        if (rev->timer_set) {
            ngx_del_timer(rev);
        }

        c->idle = 1;
    }

    if (ngx_handle_read_event(rev, 0) != NGX_OK) {
        ngx_http_llm_redis_fail(rd, 0, "event error", NULL);
    }
}


/* the complete replies in the buffer, each to its command */

static ngx_int_t
ngx_http_llm_redis_replies(ngx_http_llm_redis_t *rd, ngx_connection_t *c)
{
    size_t                      pos, n;
    ssize_t                     rc;
    ngx_msec_t                  ms;
    ngx_queue_t                *q;
    ngx_atomic_uint_t           max;
    ngx_http_llm_redis_cmd_t   *cmd;
    ngx_http_llm_resp_value_t   v[NGX_HTTP_LLM_REDIS_VALUES];

    pos = 0;

    while (pos < rd->in_last) {

        rc = ngx_http_llm_resp_parse(rd->in + pos, rd->in_last - pos, v,
                                     NGX_HTTP_LLM_REDIS_VALUES, &n);

        if (rc == NGX_HTTP_LLM_RESP_INCOMPLETE) {
            break;
        }

        if (rc == NGX_HTTP_LLM_RESP_INVALID || ngx_queue_empty(&rd->pending)) {
            ngx_http_llm_redis_fail(rd, 0, "invalid reply", NULL);
            return NGX_ERROR;
        }

        pos += rc;

        q = ngx_queue_head(&rd->pending);
        ngx_queue_remove(q);
        rd->npending--;

        cmd = ngx_queue_data(q, ngx_http_llm_redis_cmd_t, queue);

        ms = ngx_current_msec - cmd->start;

        (void) ngx_atomic_fetch_add(v[0].type == NGX_HTTP_LLM_RESP_ERROR
                                    ? &rd->sh->errors : &rd->sh->ok, 1);
        (void) ngx_atomic_fetch_add(&rd->sh->latency_ms, ms);

        max = rd->sh->latency_max;

        if (ms > max) {
            (void) ngx_atomic_cmp_set(&rd->sh->latency_max, max, ms);
        }

        if (rd->sh->down_since) {
            ngx_http_llm_redis_up(rd);
        }

        if (cmd->handler) {
            cmd->handler(cmd, NGX_OK, v, ngx_min(n, NGX_HTTP_LLM_REDIS_VALUES));
        }

        ngx_queue_insert_head(&rd->free, &cmd->queue);

        if (rd->connection != c) {
            return NGX_ERROR;
        }
    }

    if (pos) {
        ngx_memmove(rd->in, rd->in + pos, rd->in_last - pos);
        rd->in_last -= pos;
    }

    return NGX_OK;
}


/*
 * The connection failed: every command waiting is told, no new connection
 * is tried for a while.  Logged once per interval for the whole nginx.
 */

static void
ngx_http_llm_redis_fail(ngx_http_llm_redis_t *rd, ngx_uint_t timeout,
    const char *reason, ngx_str_t *detail)
{
    time_t                     now, logged;
    ngx_msec_t                 ms;
    ngx_queue_t               *q;
    ngx_http_llm_redis_cmd_t  *cmd;
    ngx_http_llm_redis_sh_t   *sh;
    ngx_str_t                  empty = ngx_null_string;

    sh = rd->sh;

    ngx_http_llm_redis_close(rd);

    rd->connecting = 0;
    rd->out_pos = 0;
    rd->out_last = 0;
    rd->in_last = 0;
    rd->down_until = ngx_current_msec + NGX_HTTP_LLM_REDIS_RETRY;

    ms = ngx_http_llm_redis_now();

    if (sh->down_since == 0
        && ngx_atomic_cmp_set(&sh->down_since, 0, ms))
    {
        (void) ngx_atomic_fetch_add(&sh->outages, 1);
    }

    now = ngx_time();
    logged = (time_t) sh->logged;

    if (now - logged >= NGX_HTTP_LLM_REDIS_LOG_EVERY
        && ngx_atomic_cmp_set(&sh->logged, logged, now))
    {
        ngx_log_error(NGX_LOG_ERR, ngx_cycle->log, 0,
                      "llm_redis \"%V\" (%V): %s%s%V; requests go on without "
                      "it (logged once per %ds)", &rd->name, &rd->url.url,
                      reason, detail ? ": " : "", detail ? detail : &empty,
                      NGX_HTTP_LLM_REDIS_LOG_EVERY);
    }

    while (!ngx_queue_empty(&rd->pending)) {
        q = ngx_queue_head(&rd->pending);
        ngx_queue_remove(q);
        rd->npending--;

        cmd = ngx_queue_data(q, ngx_http_llm_redis_cmd_t, queue);

        (void) ngx_atomic_fetch_add(timeout ? &sh->timeouts : &sh->failed, 1);

        if (cmd->handler) {
            cmd->handler(cmd, NGX_ERROR, NULL, 0);
        }

        ngx_queue_insert_head(&rd->free, &cmd->queue);
    }
}


static void
ngx_http_llm_redis_close(ngx_http_llm_redis_t *rd)
{
    ngx_pool_t        *pool;
    ngx_connection_t  *c;

    c = rd->connection;

    if (c == NULL) {
        return;
    }

    pool = c->pool;

#if (NGX_SSL)
    if (c->ssl) {
        c->ssl->no_wait_shutdown = 1;
        c->ssl->no_send_shutdown = 1;
        (void) ngx_ssl_shutdown(c);
    }
#endif

    ngx_close_connection(c);

    if (pool) {
        ngx_destroy_pool(pool);
    }

    rd->connection = NULL;
    rd->connecting = 0;
    rd->handshaking = 0;
}


#if (NGX_SSL)

static ngx_int_t
ngx_http_llm_redis_ssl_start(ngx_http_llm_redis_t *rd, ngx_connection_t *c)
{
    ngx_int_t  rc;

    if (ngx_ssl_create_connection(rd->ssl, c, NGX_SSL_BUFFER|NGX_SSL_CLIENT)
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    c->sendfile = 0;

#ifdef SSL_CTRL_SET_TLSEXT_HOSTNAME
    if (rd->sni
        && SSL_set_tlsext_host_name(c->ssl->connection, (char *) rd->sni)
           == 0)
    {
        return NGX_ERROR;
    }
#endif

    rd->handshaking = 1;

    rc = ngx_ssl_handshake(c);

    if (rc == NGX_AGAIN) {
        c->ssl->handler = ngx_http_llm_redis_ssl_done;
        return NGX_OK;
    }

    ngx_http_llm_redis_ssl_done(c);

    return NGX_OK;
}


/* the handshake ended (or failed, or timed out): the commands go */

static void
ngx_http_llm_redis_ssl_done(ngx_connection_t *c)
{
    long                   rc;
    ngx_http_llm_redis_t  *rd;

    rd = c->data;

    if (rd->connection != c) {
        return;
    }

    rd->handshaking = 0;

    if (!c->ssl->handshaked) {
        ngx_http_llm_redis_fail(rd, c->read->timedout,
                                c->read->timedout ? "TLS handshake timed out"
                                                  : "TLS handshake failed",
                                NULL);
        return;
    }

    if (rd->tls_ca.len) {
        rc = SSL_get_verify_result(c->ssl->connection);

        if (rc != X509_V_OK) {
            ngx_http_llm_redis_fail(rd, 0, "its certificate is not trusted",
                                    NULL);
            return;
        }

        if (rd->sni && ngx_ssl_check_host(c, &rd->url.host) != NGX_OK) {
            ngx_http_llm_redis_fail(rd, 0, "its certificate is not for "
                                    "its host", NULL);
            return;
        }
    }

    c->read->handler = ngx_http_llm_redis_read_handler;
    c->write->handler = ngx_http_llm_redis_write_handler;

    ngx_post_event(c->write, &ngx_posted_events);
}

#endif


/* a reply after an outage: it ends */

static void
ngx_http_llm_redis_up(ngx_http_llm_redis_t *rd)
{
    ngx_msec_t                since, now;
    ngx_http_llm_redis_sh_t  *sh;

    sh = rd->sh;
    since = sh->down_since;
    now = ngx_http_llm_redis_now();

    if (since == 0 || !ngx_atomic_cmp_set(&sh->down_since, since, 0)) {
        return;
    }

    (void) ngx_atomic_fetch_add(&sh->outage_ms,
                                (now > since) ? now - since : 0);

    sh->logged = 0;

    ngx_log_error(NGX_LOG_NOTICE, ngx_cycle->log, 0,
                  "llm_redis \"%V\" (%V) answers again after %Mms",
                  &rd->name, &rd->url.url, (now > since) ? now - since : 0);
}


void
ngx_http_llm_redis_exit_process(ngx_cycle_t *cycle)
{
    ngx_uint_t                 i;
    ngx_http_llm_redis_t     **rdp;
    ngx_http_llm_main_conf_t  *lmcf;

    lmcf = ngx_http_cycle_get_module_main_conf(cycle, ngx_http_llm_module);

    if (lmcf == NULL) {
        return;
    }

    rdp = lmcf->redis.elts;

    for (i = 0; i < lmcf->redis.nelts; i++) {

        ngx_http_llm_redis_close(rdp[i]);

        if (rdp[i]->out) {
            ngx_free(rdp[i]->out);
            rdp[i]->out = NULL;
        }

        if (rdp[i]->in) {
            ngx_free(rdp[i]->in);
            rdp[i]->in = NULL;
        }
    }
}


/* llm_status: the counters of each llm_redis */

size_t
ngx_http_llm_redis_status_size(void *conf)
{
    ngx_http_llm_main_conf_t *lmcf = conf;

    return lmcf->redis.nelts * 4096 + 64;
}


u_char *
ngx_http_llm_redis_status(u_char *p, void *conf, ngx_uint_t json)
{
    ngx_http_llm_main_conf_t *lmcf = conf;

    size_t                    len;
    ngx_uint_t                i, j;
    ngx_msec_t                since, now, outage;
    ngx_http_llm_redis_t    **rdp, *rd;
    ngx_http_llm_redis_sh_t  *sh;

    static const char  *results[] = { "ok", "error", "failed", "timeout",
                                      "skipped" };

    if (lmcf->redis.nelts == 0) {
        return p;
    }

    rdp = lmcf->redis.elts;
    now = ngx_http_llm_redis_now();

    if (json) {
        p = ngx_cpymem(p, ",\"redis\":{", 10);
    }

    for (i = 0; i < lmcf->redis.nelts; i++) {
        rd = rdp[i];
        sh = rd->sh;

        if (sh == NULL) {
            continue;
        }

        since = sh->down_since;
        outage = sh->outage_ms + ((since && now > since) ? now - since : 0);
        len = ngx_min(rd->name.len, 64);

        if (json) {
            p = ngx_sprintf(p, "%s\"%*s\":{\"up\":%s,\"calls\":{\"ok\":%uA,"
                            "\"error\":%uA,\"failed\":%uA,\"timeout\":%uA,"
                            "\"skipped\":%uA},\"latency_ms\":{\"sum\":%uA,"
                            "\"max\":%uA},\"connects\":%uA,\"outages\":%uA,"
                            "\"outage_ms\":%M,\"leases\":{\"taken\":%uA,"
                            "\"short\":%uA,\"returned\":%uA},\"cache\":{"
                            "\"hits\":%uA,\"misses\":%uA,\"stores\":%uA}}",
                            i ? "," : "", len, rd->name.data,
                            since ? "false" : "true", sh->ok, sh->errors,
                            sh->failed, sh->timeouts, sh->skipped,
                            sh->latency_ms, sh->latency_max, sh->connects,
                            sh->outages, outage, sh->leases, sh->lease_short,
                            sh->returns, sh->cache_hits, sh->cache_misses,
                            sh->cache_stores);
            continue;
        }

        if (i == 0) {
            p = ngx_sprintf(p, "# HELP llm_redis_up Whether the Redis of an "
                            "llm_redis answers (0 in an outage).\n"
                            "# TYPE llm_redis_up gauge\n");
        }

        p = ngx_sprintf(p, "llm_redis_up{redis=\"%*s\"} %d\n", len,
                        rd->name.data, since ? 0 : 1);

        for (j = 0; j < 5; j++) {
            p = ngx_sprintf(p, "llm_redis_calls_total{redis=\"%*s\","
                            "result=\"%s\"} %uA\n", len, rd->name.data,
                            results[j],
                            j == 0 ? sh->ok : j == 1 ? sh->errors
                            : j == 2 ? sh->failed : j == 3 ? sh->timeouts
                            : sh->skipped);
        }

        p = ngx_sprintf(p, "llm_redis_latency_ms_sum{redis=\"%*s\"} %uA\n"
                        "llm_redis_latency_ms_max{redis=\"%*s\"} %uA\n"
                        "llm_redis_connects_total{redis=\"%*s\"} %uA\n"
                        "llm_redis_outages_total{redis=\"%*s\"} %uA\n"
                        "llm_redis_outage_ms_total{redis=\"%*s\"} %M\n"
                        "llm_redis_leases_total{redis=\"%*s\"} %uA\n"
                        "llm_redis_leases_short_total{redis=\"%*s\"} %uA\n"
                        "llm_redis_lease_returns_total{redis=\"%*s\"} %uA\n"
                        "llm_redis_cache_hits_total{redis=\"%*s\"} %uA\n"
                        "llm_redis_cache_misses_total{redis=\"%*s\"} %uA\n"
                        "llm_redis_cache_stores_total{redis=\"%*s\"} %uA\n",
                        len, rd->name.data, sh->latency_ms,
                        len, rd->name.data, sh->latency_max,
                        len, rd->name.data, sh->connects,
                        len, rd->name.data, sh->outages,
                        len, rd->name.data, outage,
                        len, rd->name.data, sh->leases,
                        len, rd->name.data, sh->lease_short,
                        len, rd->name.data, sh->returns,
                        len, rd->name.data, sh->cache_hits,
                        len, rd->name.data, sh->cache_misses,
                        len, rd->name.data, sh->cache_stores);
    }

    if (json) {
        *p++ = '}';
    }

    return p;
}
