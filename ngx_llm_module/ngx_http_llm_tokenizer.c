
/*
 * Copyright (C) ngx_llm_module authors
 *
 * Exact token counts in nginx: "llm_tokenizer NAME FILE;" loads a tiktoken
 * rank file at configuration time (ngx_http_llm_bpe.c does the work),
 * "llm_model ... tokenizer=NAME;" makes the catalogue entry count with it.
 * The tables are built in the master process before the workers fork and
 * are only read afterwards; each worker allocates its own small cache on
 * its first count.
 *
 * The token memo: chat clients re-send the whole conversation on every
 * turn, so all messages but the last were counted by earlier requests.
 * Each worker keeps the counts of texts of 256 bytes and more in a fixed
 * table (2048 sets of 2 entries, 64 KB, allocated in init_process; no
 * locks, no growth): the key is a 64-bit hash of the text keyed with the
 * worker's random seed and the counter (a tokenizer or the estimator), and
 * the text's length, checked.  A collision can only misestimate one text.
 * -DNGX_HTTP_LLM_NO_TOKEN_MEMO builds without it.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_llm_module.h"
#include "ngx_http_llm_tokens.h"
#include "ngx_http_llm_bpe.h"
#include "ngx_http_llm_memo_hash.h"

#include <openssl/rand.h>


static void ngx_http_llm_tokenizer_cleanup(void *data);


#if !(NGX_HTTP_LLM_NO_TOKEN_MEMO)

/* below this, counting costs about what hashing does */
#define NGX_HTTP_LLM_MEMO_MIN    256

#define NGX_HTTP_LLM_MEMO_SETS   2048          /* of 2 entries: 64 KB */
#define NGX_HTTP_LLM_MEMO_EXACT  0x80000000

typedef struct {
    uint64_t                    hash;
    uint32_t                    len;           /* 0: empty */
    uint32_t                    tokens;        /* | NGX_HTTP_LLM_MEMO_EXACT */
} ngx_http_llm_memo_entry_t;


static uint64_t ngx_http_llm_memo_hash(const void *counter, const u_char *p,
    size_t len);


static ngx_http_llm_memo_entry_t  *ngx_http_llm_memo;
static uint64_t                    ngx_http_llm_memo_seed;
#if (NGX_HTTP_LLM_MEMO_AES)
static int                         ngx_http_llm_memo_aes = -1;
#endif

#endif


/* llm_tokenizer NAME FILE */

char *
ngx_http_llm_tokenizer(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_llm_main_conf_t *lmcf = conf;

    char                      err[256];
    size_t                    line, size, expect;
    u_char                   *data;
    ssize_t                   n;
    ngx_str_t                *value, file;
    ngx_uint_t                i;
    ngx_file_t                f;
    ngx_file_info_t           fi;
    ngx_pool_cleanup_t       *cln;
    ngx_http_llm_bpe_t       *bpe;
    ngx_http_llm_tokenizer_t *t;

    (void) cmd;

    value = cf->args->elts;

    if (!ngx_http_llm_bpe_known(value[1].data, value[1].len)) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "llm_tokenizer: unknown encoding \"%V\" "
                           "(known: o200k_base, cl100k_base)", &value[1]);
        return NGX_CONF_ERROR;
    }

    if (lmcf->tokenizers.elts == NULL
        && ngx_array_init(&lmcf->tokenizers, cf->pool, 2,
                          sizeof(ngx_http_llm_tokenizer_t))
           != NGX_OK)
    {
        return NGX_CONF_ERROR;
    }

    t = lmcf->tokenizers.elts;

    for (i = 0; i < lmcf->tokenizers.nelts; i++) {
        if (t[i].name.len == value[1].len
            && ngx_strncmp(t[i].name.data, value[1].data, value[1].len) == 0)
        {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "llm_tokenizer \"%V\" is duplicate", &value[1]);
            return NGX_CONF_ERROR;
        }
    }

    file = value[2];

    if (ngx_conf_full_name(cf->cycle, &file, 1) != NGX_OK) {
        return NGX_CONF_ERROR;
    }

    ngx_memzero(&f, sizeof(ngx_file_t));
    f.name = file;
    f.log = cf->log;

    f.fd = ngx_open_file(file.data, NGX_FILE_RDONLY, NGX_FILE_OPEN, 0);
    if (f.fd == NGX_INVALID_FILE) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, ngx_errno,
                           "llm_tokenizer \"%V\": "
                           ngx_open_file_n " \"%V\" failed", &value[1], &file);
        return NGX_CONF_ERROR;
    }

    data = NULL;

    if (ngx_fd_info(f.fd, &fi) == NGX_FILE_ERROR) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, ngx_errno,
                           "llm_tokenizer \"%V\": "
                           ngx_fd_info_n " \"%V\" failed", &value[1], &file);
        goto failed;
    }

    size = (size_t) ngx_file_size(&fi);

    if (size == 0 || size > 64 * 1024 * 1024) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "llm_tokenizer \"%V\": \"%V\" is %s", &value[1],
                           &file, size ? "larger than 64M" : "empty");
        goto failed;
    }

    /* read with the configuration's log, freed before the next directive */

    data = ngx_alloc(size, cf->log);
    if (data == NULL) {
        goto failed;
    }

    n = ngx_read_file(&f, data, size, 0);

    if (n == NGX_ERROR || (size_t) n != size) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "llm_tokenizer \"%V\": \"%V\" could not be read",
                           &value[1], &file);
        goto failed;
    }

    bpe = ngx_http_llm_bpe_load(value[1].data, value[1].len, data, size,
                                err, sizeof(err), &line);

    if (bpe == NULL) {
        if (line) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "llm_tokenizer \"%V\": \"%V\" line %uz: %s",
                               &value[1], &file, line, err);
        } else {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "llm_tokenizer \"%V\": \"%V\": %s",
                               &value[1], &file, err);
        }

        goto failed;
    }

    /*
     * The file must be the encoding named: a rank file of the other one
     * loads (its pattern differs) and would count wrongly.  The published
     * files have 199,998 (o200k_base) and 100,256 (cl100k_base) tokens.
     */

    expect = (value[1].len == 10
              && ngx_strncmp(value[1].data, "o200k_base", 10) == 0)
             ? 199998 : 100256;

    if (ngx_http_llm_bpe_tokens(bpe) != expect) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "llm_tokenizer \"%V\": \"%V\" has %uz tokens, "
                           "the %V rank file has %uz (another encoding's "
                           "file?)", &value[1], &file,
                           ngx_http_llm_bpe_tokens(bpe), &value[1], expect);
        ngx_http_llm_bpe_free(bpe);
        goto failed;
    }

    cln = ngx_pool_cleanup_add(cf->pool, 0);
    if (cln == NULL) {
        ngx_http_llm_bpe_free(bpe);
        goto failed;
    }

    cln->handler = ngx_http_llm_tokenizer_cleanup;
    cln->data = bpe;

    t = ngx_array_push(&lmcf->tokenizers);
    if (t == NULL) {
        goto failed;            /* bpe is freed by the cleanup */
    }

    t->name = value[1];
    t->bpe = bpe;

    ngx_log_debug4(NGX_LOG_DEBUG_HTTP, cf->log, 0,
                   "llm_tokenizer \"%V\": %uz tokens, %uz bytes of tables, "
                   "%uz per worker", &value[1], ngx_http_llm_bpe_tokens(bpe),
                   ngx_http_llm_bpe_memory(bpe),
                   ngx_http_llm_bpe_worker_memory(bpe));

    ngx_free(data);

    if (ngx_close_file(f.fd) == NGX_FILE_ERROR) {
        ngx_log_error(NGX_LOG_ALERT, cf->log, ngx_errno,
                      ngx_close_file_n " \"%V\" failed", &file);
    }

    return NGX_CONF_OK;

failed:

    if (data) {
        ngx_free(data);
    }

    if (ngx_close_file(f.fd) == NGX_FILE_ERROR) {
        ngx_log_error(NGX_LOG_ALERT, cf->log, ngx_errno,
                      ngx_close_file_n " \"%V\" failed", &file);
    }

    return NGX_CONF_ERROR;
}


static void
ngx_http_llm_tokenizer_cleanup(void *data)
{
    ngx_http_llm_bpe_free(data);
}


/* the "tokenizer=NAME" of every llm_model names an llm_tokenizer */

ngx_int_t
ngx_http_llm_tokenizer_resolve(ngx_conf_t *cf, ngx_http_llm_main_conf_t *lmcf,
    ngx_http_llm_model_t *m)
{
    ngx_uint_t                 i;
    ngx_http_llm_tokenizer_t  *t;

    if (m->tokenizer_name.len == 0) {
        return NGX_OK;
    }

    t = lmcf->tokenizers.elts;

    for (i = 0; i < lmcf->tokenizers.nelts; i++) {
        if (t[i].name.len == m->tokenizer_name.len
            && ngx_strncmp(t[i].name.data, m->tokenizer_name.data,
                           m->tokenizer_name.len)
               == 0)
        {
            m->bpe = t[i].bpe;
            return NGX_OK;
        }
    }

    ngx_log_error(NGX_LOG_EMERG, cf->log, 0,
                  "llm_model \"%V\": no \"llm_tokenizer %V\" is defined "
                  "in %s:%ui", &m->name, &m->tokenizer_name, m->file, m->line);

    return NGX_ERROR;
}


/*
 * Tokens of a text for the request's model: exact where its catalogue
 * entry has a tokenizer, else the estimate.  Which one it was is kept for
 * $llm_tokens_source.  Long texts are looked up in the worker's memo first.
 */

size_t
ngx_http_llm_count_tokens(ngx_http_llm_ctx_t *ctx, const u_char *text,
    size_t len)
{
    size_t                      n;
    ngx_http_llm_bpe_t         *bpe;
#if !(NGX_HTTP_LLM_NO_TOKEN_MEMO)
    uint64_t                    h;
    ngx_http_llm_memo_entry_t  *e, tmp;
#endif

    bpe = ctx->entry ? ctx->entry->bpe : NULL;

#if !(NGX_HTTP_LLM_NO_TOKEN_MEMO)

    e = NULL;
    h = 0;

    if (len >= NGX_HTTP_LLM_MEMO_MIN && (uint64_t) len <= 0xffffffff
        && ngx_http_llm_memo != NULL)
    {
        h = ngx_http_llm_memo_hash(bpe, text, len);
        e = &ngx_http_llm_memo[(h & (NGX_HTTP_LLM_MEMO_SETS - 1)) * 2];

        if (e[1].hash == h && e[1].len == len) {
            /* the most recent first */
            tmp = e[0];
            e[0] = e[1];
            e[1] = tmp;
        }

        if (e[0].hash == h && e[0].len == len) {
            n = e[0].tokens & ~NGX_HTTP_LLM_MEMO_EXACT;

            if (e[0].tokens & NGX_HTTP_LLM_MEMO_EXACT) {
                ctx->tokens_exact = 1;

            } else {
                ctx->tokens_estimated = 1;
            }

            ngx_log_debug3(NGX_LOG_DEBUG_HTTP,
                           ctx->request->connection->log, 0,
                           "llm token memo hit: %uz bytes, %uz tokens (%s)",
                           len, n, bpe ? "exact" : "estimate");
            return n;
        }
    }

#endif

    if (bpe) {
        n = ngx_http_llm_bpe_count(bpe, text, len);

        if (n != (size_t) -1) {
            ctx->tokens_exact = 1;
            goto done;
        }

        ngx_log_error(NGX_LOG_ERR, ctx->request->connection->log, 0,
                      "llm: the exact token count of %uz bytes failed "
                      "(model \"%V\"), estimated instead", len,
                      &ctx->entry->name);

        /* not memoized: the next request tries the tokenizer again */

        ctx->tokens_estimated = 1;

        return ngx_http_llm_estimate_tokens(text, len);
    }

    ctx->tokens_estimated = 1;

    n = ngx_http_llm_estimate_tokens(text, len);

done:

#if !(NGX_HTTP_LLM_NO_TOKEN_MEMO)

    if (e != NULL && n < NGX_HTTP_LLM_MEMO_EXACT) {
        /* the older entry of the set goes */
        e[1] = e[0];
        e[0].hash = h;
        e[0].len = (uint32_t) len;
        e[0].tokens = (uint32_t) n | (bpe ? NGX_HTTP_LLM_MEMO_EXACT : 0);

        ngx_log_debug2(NGX_LOG_DEBUG_HTTP, ctx->request->connection->log, 0,
                       "llm token memo store: %uz bytes, %uz tokens",
                       len, n);
    }

#endif

    return n;
}


/* the worker's memo of token counts, and its seed */

ngx_int_t
ngx_http_llm_tokens_init_process(ngx_cycle_t *cycle)
{
#if !(NGX_HTTP_LLM_NO_TOKEN_MEMO)

    if (ngx_process != NGX_PROCESS_WORKER
        && ngx_process != NGX_PROCESS_SINGLE)
    {
        return NGX_OK;
    }

    if (ngx_http_cycle_get_module_main_conf(cycle, ngx_http_llm_module)
        == NULL)
    {
        return NGX_OK;
    }

    if (RAND_bytes((u_char *) &ngx_http_llm_memo_seed,
                   sizeof(ngx_http_llm_memo_seed))
        != 1)
    {
        /* random() is seeded per worker by nginx */
        ngx_http_llm_memo_seed = ((uint64_t) ngx_random() << 40)
                                 ^ ((uint64_t) ngx_random() << 20)
                                 ^ (uint64_t) ngx_random();
    }

    ngx_http_llm_memo = ngx_pcalloc(cycle->pool, NGX_HTTP_LLM_MEMO_SETS * 2
                                    * sizeof(ngx_http_llm_memo_entry_t));

    if (ngx_http_llm_memo == NULL) {
        /* counts go on without it */
        ngx_log_error(NGX_LOG_WARN, cycle->log, 0,
                      "llm: no memory for the token memo, counting without");
    }

#else

    (void) cycle;

#endif

    return NGX_OK;
}


#if !(NGX_HTTP_LLM_NO_TOKEN_MEMO)

/*
 * The memo's hash (engines/ngx_http_llm_memo_hash.h), keyed by the
 * worker's seed and the counter: a count by one tokenizer is never taken
 * for another's.
 */

static uint64_t
ngx_http_llm_memo_hash(const void *counter, const u_char *p, size_t len)
{
    uint64_t  key;

    key = ngx_http_llm_memo_seed
          ^ ((uint64_t) (uintptr_t) counter * 0x165667b19e3779f9ULL);

#if (NGX_HTTP_LLM_MEMO_AES)

    /* AES-NI: a worker sees one answer all its life */

    if (ngx_http_llm_memo_aes < 0) {
        ngx_http_llm_memo_aes = __builtin_cpu_supports("aes") ? 1 : 0;
    }

    if (ngx_http_llm_memo_aes) {
        return ngx_http_llm_memo_hash_aes(key, p, len);
    }

#endif

    return ngx_http_llm_memo_hash64(key, p, len);
}

#endif
