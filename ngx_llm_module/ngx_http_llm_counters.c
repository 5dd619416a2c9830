
/*
 * Copyright (C) ngx_llm_module authors
 *
 * Counter slots and the registry of the llm_status page (the core's part
 * of the counters; see ngx_http_llm_module.h).
 *
 * Slots: a zone of shared memory, "ngx_http_llm_status", holds a fixed
 * array of named slots of atomics, found by name at every configuration
 * load, so that counters survive reloads: one per catalogue model, one for
 * "(unlisted)", then those the features asked for (ngx_http_llm_add_stat(),
 * routing: one per route).  The core does not count: the owner of a slot
 * does.
 *
 * Registry: the features that have counters to show add a writer
 * (ngx_http_llm_add_counters()); the status module, which names no
 * feature, writes them by rank.
 */


#include "ngx_http_llm_module.h"


static ngx_int_t ngx_http_llm_stats_init_zone(ngx_shm_zone_t *shm_zone,
    void *data);
static ngx_http_llm_stat_t *ngx_http_llm_stat_slot(ngx_http_llm_stats_t *st,
    ngx_str_t *name, ngx_uint_t kind, ngx_uint_t limit);


static ngx_str_t  ngx_http_llm_stats_name = ngx_string("ngx_http_llm_status");

static ngx_str_t  ngx_http_llm_unlisted = ngx_string("(unlisted)");


/* the zone of counter slots, created with the http block */

ngx_int_t
ngx_http_llm_stats_zone(ngx_conf_t *cf, ngx_http_llm_main_conf_t *lmcf)
{
    ngx_shm_zone_t  *shm_zone;

    shm_zone = ngx_shared_memory_add(cf, &ngx_http_llm_stats_name,
                                     sizeof(ngx_http_llm_stats_t)
                                     + 16 * ngx_pagesize,
                                     &ngx_http_llm_module);
    if (shm_zone == NULL) {
        return NGX_ERROR;
    }

    shm_zone->init = ngx_http_llm_stats_init_zone;
    shm_zone->data = lmcf;

    return NGX_OK;
}


/*
 * A slot for a feature (kind NGX_HTTP_LLM_STAT_ROUTE ...): *stat is set
 * when the zone is initialised, after the configuration is read, or left
 * NULL when no slot is free (the feature then does not count it).  The
 * name must live as long as the configuration.
 */

ngx_int_t
ngx_http_llm_add_stat(ngx_conf_t *cf, ngx_str_t *name, ngx_uint_t kind,
    ngx_http_llm_stat_t **stat)
{
    ngx_http_llm_stat_want_t  *w;
    ngx_http_llm_main_conf_t  *lmcf;

    lmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_llm_module);

    w = ngx_array_push(&lmcf->stat_wants);
    if (w == NULL) {
        return NGX_ERROR;
    }

    w->name = *name;
    w->kind = kind;
    w->stat = stat;

    *stat = NULL;

    return NGX_OK;
}


static ngx_int_t
ngx_http_llm_stats_init_zone(ngx_shm_zone_t *shm_zone, void *data)
{
    ngx_http_llm_main_conf_t  *olmcf = data;

    ngx_str_t                 *first;
    ngx_uint_t                 i, missing, limit;
    ngx_slab_pool_t           *shpool;
    ngx_http_llm_model_t      *m;
    ngx_http_llm_stat_want_t  *w;
    ngx_http_llm_main_conf_t  *lmcf;

    lmcf = shm_zone->data;

    if (olmcf) {
        /* reload: the counters live on, slots are found by name again */
        lmcf->stats = olmcf->stats;

    } else {
        shpool = (ngx_slab_pool_t *) shm_zone->shm.addr;

        if (shm_zone->shm.exists) {
            lmcf->stats = shpool->data;

        } else {
            lmcf->stats = ngx_slab_calloc(shpool,
                                          sizeof(ngx_http_llm_stats_t));
            if (lmcf->stats == NULL) {
                return NGX_ERROR;
            }

            shpool->data = lmcf->stats;
        }
    }

    /*
     * The last slot is kept for "(unlisted)", where the models without a
     * slot of their own are counted, if it does not have one yet; it comes
     * after the configured models on the status page.
     */

    limit = NGX_HTTP_LLM_STAT_SLOTS;

    if (ngx_http_llm_stat_slot(lmcf->stats, &ngx_http_llm_unlisted,
                               NGX_HTTP_LLM_STAT_MODEL, 0)
        == NULL)
    {
        limit--;
    }

    first = NULL;
    missing = 0;

    m = lmcf->models.elts;

    for (i = 0; i < lmcf->models.nelts; i++) {
        m[i].stat = ngx_http_llm_stat_slot(lmcf->stats, &m[i].name,
                                           NGX_HTTP_LLM_STAT_MODEL, limit);
        if (m[i].stat == NULL) {
            first = first ? first : &m[i].name;
            missing++;
        }
    }

    if (lmcf->default_model) {
        lmcf->default_model->stat = ngx_http_llm_stat_slot(lmcf->stats,
                                          &lmcf->default_model->name,
                                          NGX_HTTP_LLM_STAT_MODEL, limit);
        if (lmcf->default_model->stat == NULL) {
            first = first ? first : &lmcf->default_model->name;
            missing++;
        }
    }

    lmcf->unlisted = ngx_http_llm_stat_slot(lmcf->stats,
                                            &ngx_http_llm_unlisted,
                                            NGX_HTTP_LLM_STAT_MODEL,
                                            NGX_HTTP_LLM_STAT_SLOTS);

    /* the features' slots (routes) */

    w = lmcf->stat_wants.elts;

    for (i = 0; i < lmcf->stat_wants.nelts; i++) {
        *w[i].stat = ngx_http_llm_stat_slot(lmcf->stats, &w[i].name,
                                            w[i].kind,
                                            NGX_HTTP_LLM_STAT_SLOTS);
        if (*w[i].stat == NULL) {
            first = first ? first : &w[i].name;
            missing++;
        }
    }

    if (missing) {
        ngx_log_error(NGX_LOG_WARN, shm_zone->shm.log, 0,
                      "llm_status: counters are kept for %d models and "
                      "routes (those of earlier configurations included, "
                      "until a restart): %ui more, from \"%V\" on, are "
                      "counted as \"(unlisted)\" (models) or not at all "
                      "(routes)", NGX_HTTP_LLM_STAT_SLOTS, missing, first);
    }

    return NGX_OK;
}


/*
 * The slot of a name, made among the first "limit" slots if it has none
 * (limit 0: found only).  Runs in the master while the configuration
 * loads: no lock needed.
 */

static ngx_http_llm_stat_t *
ngx_http_llm_stat_slot(ngx_http_llm_stats_t *st, ngx_str_t *name,
    ngx_uint_t kind, ngx_uint_t limit)
{
    size_t                len;
    ngx_uint_t            i;
    ngx_http_llm_stat_t  *s;

    len = ngx_min(name->len, NGX_HTTP_LLM_STAT_NAME);

    for (i = 0; i < st->nslots; i++) {
        s = &st->slots[i];

        if (s->kind == kind && s->len == len
            && ngx_strncmp(s->name, name->data, len) == 0)
        {
            return s;
        }
    }

    if (st->nslots >= limit) {
        return NULL;
    }

    s = &st->slots[st->nslots++];

    ngx_memcpy(s->name, name->data, len);
    s->len = len;
    s->kind = kind;

    return s;
}


/*
 * A section of the llm_status page, written after the models: called by
 * the features in their postconfiguration.  size() is the room it needs at
 * most; write(p, json) writes it (JSON: a member of the page's object,
 * beginning with ",").  Both run in a worker, for the running cycle.
 */

ngx_int_t
ngx_http_llm_add_counters(ngx_conf_t *cf, ngx_uint_t rank,
    ngx_uint_t json_rank, ngx_http_llm_counters_size_pt size,
    ngx_http_llm_counters_pt write)
{
    ngx_http_llm_counters_t   *c;
    ngx_http_llm_main_conf_t  *lmcf;

    lmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_llm_module);

    c = ngx_array_push(&lmcf->counters);
    if (c == NULL) {
        return NGX_ERROR;
    }

    c->rank = rank;
    c->json_rank = json_rank;
    c->size = size;
    c->write = write;

    return NGX_OK;
}


/* "# HELP" and "# TYPE" of a Prometheus metric family */

u_char *
ngx_http_llm_prom_family(u_char *p, const char *name, const char *type,
    const char *help)
{
    return ngx_sprintf(p, "# HELP %s %s\n# TYPE %s %s\n", name, help, name,
                       type);
}
