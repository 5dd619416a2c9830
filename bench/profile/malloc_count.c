/*
 * LD_PRELOAD counter of the C library's allocator calls, for
 * bench/profile.sh: every malloc, calloc, realloc, posix_memalign,
 * memalign/aligned_alloc and free of the process (and of the processes
 * it forks: nginx's worker) is counted in a shared mapping of the file
 * named by $MALLOC_COUNT_FILE, which the benchmark reads before and
 * after a run (od -An -t u8).  Slots: see enum below.  Sizes are counted
 * in four classes: < 4 KB (pool-block sizes go here), 4-32 KB, 32-128 KB,
 * >= 128 KB (glibc's initial mmap threshold).
 *
 *   cc -O2 -shared -fPIC -o build/malloc_count.so bench/profile/malloc_count.c
 *
 * Not for production: a benchmark tool only.
 */

#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

extern void *__libc_malloc(size_t);
extern void *__libc_calloc(size_t, size_t);
extern void *__libc_realloc(void *, size_t);
extern void *__libc_memalign(size_t, size_t);
extern void  __libc_free(void *);

enum { MC_MALLOC, MC_CALLOC, MC_REALLOC, MC_MEMALIGN, MC_FREE, MC_BYTES,
       MC_LT4K, MC_LT32K, MC_LT128K, MC_GE128K, MC_N };

static unsigned long  mc_local[MC_N];
static unsigned long *mc = mc_local;

__attribute__((constructor))
static void
mc_init(void)
{
    const char  *name;
    int          fd;
    void        *p;

    name = getenv("MALLOC_COUNT_FILE");
    if (name == NULL) {
        return;
    }

    fd = open(name, O_RDWR | O_CREAT | O_TRUNC, 0644);
    if (fd == -1) {
        return;
    }

    if (ftruncate(fd, sizeof(mc_local)) == 0) {
        p = mmap(NULL, sizeof(mc_local), PROT_READ | PROT_WRITE, MAP_SHARED,
                 fd, 0);
        if (p != MAP_FAILED) {
            mc = p;
        }
    }

    close(fd);
}

static void
mc_size(size_t n)
{
    __atomic_add_fetch(&mc[MC_BYTES], n, __ATOMIC_RELAXED);
    __atomic_add_fetch(&mc[n < 4096 ? MC_LT4K : n < 32768 ? MC_LT32K
                           : n < 131072 ? MC_LT128K : MC_GE128K],
                       1, __ATOMIC_RELAXED);
}

void *
malloc(size_t n)
{
    __atomic_add_fetch(&mc[MC_MALLOC], 1, __ATOMIC_RELAXED);
    mc_size(n);
    return __libc_malloc(n);
}

void *
calloc(size_t k, size_t n)
{
    __atomic_add_fetch(&mc[MC_CALLOC], 1, __ATOMIC_RELAXED);
    mc_size(k * n);
    return __libc_calloc(k, n);
}

void *
realloc(void *p, size_t n)
{
    __atomic_add_fetch(&mc[MC_REALLOC], 1, __ATOMIC_RELAXED);
    mc_size(n);
    return __libc_realloc(p, n);
}

void *
memalign(size_t a, size_t n)
{
    __atomic_add_fetch(&mc[MC_MEMALIGN], 1, __ATOMIC_RELAXED);
    mc_size(n);
    return __libc_memalign(a, n);
}

void *
aligned_alloc(size_t a, size_t n)
{
    return memalign(a, n);
}

int
posix_memalign(void **out, size_t a, size_t n)
{
    void  *p;

    p = memalign(a, n);
    if (p == NULL) {
        return ENOMEM;
    }

    *out = p;
    return 0;
}

void
free(void *p)
{
    if (p != NULL) {
        __atomic_add_fetch(&mc[MC_FREE], 1, __ATOMIC_RELAXED);
    }
    __libc_free(p);
}
