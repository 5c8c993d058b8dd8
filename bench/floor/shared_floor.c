/* shared_floor [--atomic] WORKERS ADDS
 *
 * The C floor for `procdemo --json --time-scale 0 shared --workers W --adds K`
 * (and `... --atomic`): the same processes, the same shared page and the same
 * lock calls, without procdemo's own overhead. Built with `gcc -O2 -static`.
 *
 * Main makes one page with memfd_create + ftruncate and maps it
 * (mmap MAP_SHARED); each worker inherits the memfd and maps the same page.
 * The page holds the integer (starting at 0), the lock and a start barrier (a
 * process-shared pthread_barrier_t for the W workers, so they start adding
 * together). Each worker adds 1 to the integer K times:
 *   lock (default): lock; read the integer; write it back plus 1; unlock.
 *     The lock is a robust process-shared pthread_mutex_t in the page
 *     (PTHREAD_PROCESS_SHARED + PTHREAD_MUTEX_ROBUST: a futex in the page;
 *     no system call unless a worker must wait or wake a waiter; a holder that
 *     dies leaves EOWNERDEAD to the next locker instead of a lock held forever).
 *     It is the one function pair counter_lock / counter_unlock (and
 *     counter_lock_init), so another lock (a bare futex, flock) is a swap of
 *     those three functions.
 *   --atomic: one atomic add (lock xadd) per increment, no lock.
 * then emits `added` (adds). Main emits `start`, `spawned` and `exit` per
 * worker, and the summary (workers, adds, expected, final, lost, mode).
 * Exits 1 if final != W * K or a worker failed; 2 on bad usage.
 */
#include "floor_run.h"

#include <pthread.h>
#include <sys/mman.h>

#define PROG "shared_floor"

struct page {
    pthread_mutex_t lock;
    pthread_barrier_t start;
    int64_t value; /* the shared integer */
};

/* The lock, one small function pair (and its set-up): swap these to try another. */
static void counter_lock_init(struct page *pg)
{
    pthread_mutexattr_t attr;
    if (pthread_mutexattr_init(&attr) != 0 ||
        pthread_mutexattr_setpshared(&attr, PTHREAD_PROCESS_SHARED) != 0 ||
        pthread_mutexattr_setrobust(&attr, PTHREAD_MUTEX_ROBUST) != 0 ||
        pthread_mutex_init(&pg->lock, &attr) != 0)
        die("pthread_mutex_init (process-shared, robust) failed");
    pthread_mutexattr_destroy(&attr);
}

static void counter_lock(struct page *pg)
{
    int err = pthread_mutex_lock(&pg->lock);
    if (err == EOWNERDEAD) /* the last holder died holding it: its add may be lost */
        err = pthread_mutex_consistent(&pg->lock);
    if (err != 0)
        die("pthread_mutex_lock: %s", strerror(err));
}

static void counter_unlock(struct page *pg)
{
    int err = pthread_mutex_unlock(&pg->lock);
    if (err != 0)
        die("pthread_mutex_unlock: %s", strerror(err));
}

static struct page *map_page(int memfd)
{
    void *p = mmap(NULL, sizeof(struct page), PROT_READ | PROT_WRITE, MAP_SHARED, memfd, 0);
    if (p == MAP_FAILED)
        die("mmap: %s", strerror(errno));
    return p;
}

/* --child worker NAME EPOCH MEMFD ADDS ATOMIC */
static int worker(char **argv)
{
    floor_init(PROG, argv[3], strtoull(argv[4], NULL, 10));
    struct page *pg = map_page(atoi(argv[5]));
    long long adds = atoll(argv[6]);
    int atomic = atoi(argv[7]);
    emit("start", "");

    int err = pthread_barrier_wait(&pg->start);
    if (err != 0 && err != PTHREAD_BARRIER_SERIAL_THREAD)
        die("pthread_barrier_wait: %s", strerror(err));
    volatile int64_t *value = &pg->value;
    if (atomic) {
        for (long long k = 0; k < adds; k++)
            __atomic_fetch_add(&pg->value, 1, __ATOMIC_SEQ_CST);
    } else {
        for (long long k = 0; k < adds; k++) {
            counter_lock(pg);
            int64_t v = *value; /* read ... */
            *value = v + 1;     /* ... and write back */
            counter_unlock(pg);
        }
    }
    emit("added", ",\"adds\":%lld", adds);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc >= 2 && strcmp(argv[1], "--child") == 0) {
        if (argc != 8)
            return 2;
        return worker(argv);
    }
    floor_prog = PROG;
    int atomic = 0;
    if (argc >= 2 && strcmp(argv[1], "--atomic") == 0) {
        atomic = 1;
        argv++;
        argc--;
    }
    if (argc != 3) {
        fprintf(stderr, "usage: shared_floor [--atomic] WORKERS ADDS\n");
        return 2;
    }
    long workers = arg_num("WORKERS", argv[1], 1, 10000);
    long long adds = arg_num("ADDS", argv[2], 1, 100000000);
    floor_init(PROG, "main", 0);
    emit("start", "");

    /* Inherited by the workers (no close-on-exec), who map it themselves. */
    int memfd = memfd_create("procdemo-shared-floor", 0);
    if (memfd < 0 || ftruncate(memfd, sizeof(struct page)) != 0)
        die("memfd_create/ftruncate: %s", strerror(errno));
    struct page *pg = map_page(memfd);
    pg->value = 0;
    if (!atomic)
        counter_lock_init(pg);
    pthread_barrierattr_t battr;
    if (pthread_barrierattr_init(&battr) != 0 ||
        pthread_barrierattr_setpshared(&battr, PTHREAD_PROCESS_SHARED) != 0 ||
        pthread_barrier_init(&pg->start, &battr, (unsigned)workers) != 0)
        die("pthread_barrier_init (process-shared) failed");

    char epoch[32], smem[16], sadds[32], satomic[4];
    snprintf(epoch, sizeof epoch, "%llu", (unsigned long long)floor_epoch_ns);
    snprintf(smem, sizeof smem, "%d", memfd);
    snprintf(sadds, sizeof sadds, "%lld", adds);
    snprintf(satomic, sizeof satomic, "%d", atomic);
    pid_t *pids = calloc((size_t)workers, sizeof *pids);
    char (*names)[32] = calloc((size_t)workers, sizeof *names);
    if (!pids || !names)
        die("calloc: %s", strerror(errno));
    for (long w = 0; w < workers; w++) {
        snprintf(names[w], sizeof names[w], "Process-%ld", w + 1);
        char *cargv[] = { NULL, "--child", "worker", names[w], epoch, smem, sadds, satomic, NULL };
        pids[w] = spawn_self(cargv, names[w]);
    }
    int failed = 0;
    for (long w = 0; w < workers; w++)
        failed |= reap(pids[w], names[w]);

    long long expected = (long long)workers * adds;
    long long final = (long long)__atomic_load_n(&pg->value, __ATOMIC_SEQ_CST);
    emit("summary",
         ",\"workers\":%ld,\"adds\":%lld,\"expected\":%lld,\"final\":%lld,\"lost\":%lld,"
         "\"mode\":\"%s\"",
         workers, adds, expected, final, expected - final, atomic ? "atomic" : "lock");
    if (final != expected || failed) {
        fprintf(stderr, "shared_floor: expected %lld, final %lld%s\n", expected, final,
                failed ? ", and a worker failed" : "");
        return 1;
    }
    return 0;
}
