#include "ngx_http_llm_pii.c"
#include <time.h>
typedef struct { unsigned long long v[4096]; size_t n; } rep_t;
static int col(unsigned int id, unsigned long long from, unsigned long long to, unsigned int flags, void *d){ rep_t *r=d; if(r->n<4096) r->v[r->n++]=((unsigned long long)id<<48)|(from<<24)|to; return 0; }
static int cmpu(const void*a,const void*b){ unsigned long long x=*(const unsigned long long*)a,y=*(const unsigned long long*)b; return (x>y)-(x<y);}
static void *al(void *d, size_t n){ return malloc(n); }
int main(int argc,char**argv){
    int bad; char err[256];
    ngx_http_llm_pii_t *p=ngx_http_llm_pii_compile(NGX_HTTP_LLM_PII_ALL,NULL,0,err,sizeof(err),&bad);
    hs_scratch_t *sc=NULL; ngx_http_llm_pii_alloc_scratch(p,&sc);
    /* whole-text dbs of the apart patterns, to compare against */
    hs_database_t *whole[3]; hs_compile_error_t *ce;
    for(int a=0;a<3;a++){ const char *ex[64]; unsigned fl[64], id[64], n=0;
        for(unsigned i=0;i<p->npatterns;i++) if(p->patterns[i].flags & ngx_http_llm_pii_apart_flags[a]){ unsigned t,f; ex[n]=ngx_http_llm_pii_builtin_pattern(i,&t,&f); fl[n]=f; id[n]=i; n++; }
        if(hs_compile_multi(ex,fl,id,n,HS_MODE_BLOCK,NULL,&whole[a],&ce)!=HS_SUCCESS){printf("compile %s\n",ce->message);return 1;}
        hs_alloc_scratch(whole[a],&sc); }
    const char *alph[]={"0","1","2","3","5","7","9"," ",".","-","+","(",")","k","x","X","K","A","B","a","b","M","R","L","P","T","H","Z","z","d","e","\n",":","/","_","Q","00","+4","2A","0 ","DE","de","GODE","561231","HDFRRL09","12345678","RSSMRA","85T10A562S","X1234567L"};
    int na=sizeof(alph)/sizeof(alph[0]);
    srand(argc>1?atoi(argv[1]):1); long iters=argc>2?atol(argv[2]):200000;
    static u_char t[4096]; ngx_http_llm_pii_matches_t m; memset(&m,0,sizeof(m)); m.alloc=al;
    long fail=0, gi=0, gn=0, rr=0;
    for(long it=0; it<iters; it++){
        size_t len=0; int n=rand()%120+1;
        int sub = rand()%4;  /* restrict alphabet sometimes */
        for(int k=0;k<n && len<3000;k++){ const char *c=alph[ sub==0 ? rand()%na : sub==1 ? rand()%16 : sub==2 ? (rand()%2? rand()%12 : 17+rand()%12) : rand()%na ]; size_t l=strlen(c); memcpy(t+len,c,l); len+=l; }
        rep_t r1, r2; 
        /* iban / national gates: no report when the gate is closed */
        for(int a=0;a<3;a+=2){ r1.n=0; hs_scan(whole[a],(char*)t,len,0,sc,col,&r1);
            int g = a==0 ? ngx_http_llm_pii_iban_gate(t,len) : ngx_http_llm_pii_national_gate(t,len);
            if(a==0) gi+=g; else gn+=g;
            if(r1.n && !g){ fail++; if(fail<5){ printf("GATE %d miss: %.*s\n",a,(int)len,t);} } }
        /* runs: same reports */
        r1.n=0; hs_scan(whole[1],(char*)t,len,0,sc,col,&r1);
        r2.n=0; ngx_http_llm_pii_runs(p,sc,t,len,col,&r2,&m);
        qsort(r1.v,r1.n,8,cmpu); qsort(r2.v,r2.n,8,cmpu); rr+=r1.n;
        if(r1.n!=r2.n || memcmp(r1.v,r2.v,r1.n*8)){ fail++; if(fail<5) printf("RUNS differ (%zu vs %zu): %.*s\n",r1.n,r2.n,(int)len,t); }
    }
    printf("iters %ld fail %ld iban-gate-open %ld national-gate-open %ld digit reports %ld\n",iters,fail,gi,gn,rr);
    return fail!=0;
}
