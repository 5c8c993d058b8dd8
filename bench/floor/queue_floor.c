/* queue_floor [--mq] PRODUCERS CONSUMERS ITEMS CAPACITY
 *
 * The C floor for `procdemo --json --time-scale 0 queue --producers P
 * --consumers C --items N --capacity K` (N items per producer): the same
 * processes, the same queue system calls and one event line per put and get,
 * without procdemo's own overhead. Built with `gcc -O2 -static`.
 *
 * The bounded queue (default): one pipe carrying fixed-size records of
 * RECORD bytes (a NUL-padded item string; an empty one is the end marker),
 * bounded to K records by a counting semaphore of free slots: a process-shared
 * POSIX sem_t, initialised to K, in a memfd_create + mmap(MAP_SHARED) page.
 * A pipe's own capacity counts bytes, in whole pages (F_SETPIPE_SZ rounds up
 * to a power of two pages, one at least), and the room a reader frees at the
 * front of a page is reused only once the page is empty: no pipe size means
 * "K items". The semaphore does.
 *   put: sem_wait(free) + write(pipe, record)   (sem_wait: a futex only when it must block)
 *   get: read(pipe, record) + sem_post(free)    (sem_post: a futex only when someone waits)
 * A record is smaller than PIPE_BUF, so a write is atomic and a read of
 * RECORD bytes returns exactly one record, however many producers and
 * consumers share the pipe.
 *
 * --mq: a POSIX message queue instead (mq_open with mq_maxmsg = K, unlinked
 * at once; each child inherits the descriptor): put is one mq_send, get one
 * mq_receive, the end marker an empty message. --capacity 1 to 10 is exactly
 * the unprivileged range of mq_maxmsg (/proc/sys/fs/mqueue/msg_max is 10).
 *
 * Processes: main, producer-0..P-1, consumer-0..C-1, each consumer started
 * after every producer. A producer puts "producer-<p>:<i>" for i in 0..N-1
 * and emits `put` after each; a consumer gets, emits `got`, and stops at the
 * end marker with `queue_end`. Main joins the producers, puts one end marker
 * per consumer, joins the consumers, and emits the summary (put, got, lost,
 * duplicated, in_order). Events also: `start` (every process), `spawned`,
 * `exit` (main, per child).
 *
 * The checks procdemo's summary reports are done through the same shared
 * page, with no system call: one byte per item counts how often it was got,
 * and a flag records a consumer seeing a producer's items out of order.
 * Exits 1 if an item was lost or duplicated, came out of order, or a child
 * failed; 2 on bad usage.
 */
#include "floor_run.h"

#include <mqueue.h>
#include <semaphore.h>
#include <sys/mman.h>

#define RECORD 64 /* bytes per queue record; item strings are far shorter */
#define PROG "queue_floor"

struct page {
    sem_t free_slots;           /* pipe mode: records the pipe may still take */
    unsigned char out_of_order; /* set by a consumer that saw a producer's items out of order */
    unsigned char seen[];       /* seen[p * items + i]: times producer-p:i was got */
};

static struct page *map_page(int memfd, size_t size)
{
    void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, memfd, 0);
    if (p == MAP_FAILED)
        die("mmap: %s", strerror(errno));
    return p;
}

static size_t page_size(long producers, long items)
{
    return sizeof(struct page) + (size_t)producers * (size_t)items;
}

/* put one record: an item, or the end marker (item == NULL). */
static void put(int mq, int q, struct page *pg, const char *item)
{
    if (mq) {
        size_t len = item ? strlen(item) : 0;
        while (mq_send(q, item ? item : "", len, 0) != 0) {
            if (errno != EINTR)
                die("mq_send: %s", strerror(errno));
        }
        return;
    }
    char rec[RECORD] = { 0 };
    if (item)
        strncpy(rec, item, RECORD - 1);
    while (sem_wait(&pg->free_slots) != 0) {
        if (errno != EINTR)
            die("sem_wait: %s", strerror(errno));
    }
    ssize_t n;
    while ((n = write(q, rec, RECORD)) < 0 && errno == EINTR)
        ;
    if (n != RECORD)
        die("write to the queue pipe: %s", n < 0 ? strerror(errno) : "short write");
}

/* get one record into rec (NUL-terminated); returns its length, 0 for the end marker. */
static size_t get(int mq, int q, struct page *pg, char rec[RECORD + 1])
{
    if (mq) {
        ssize_t n;
        while ((n = mq_receive(q, rec, RECORD, NULL)) < 0) {
            if (errno != EINTR)
                die("mq_receive: %s", strerror(errno));
        }
        rec[n] = '\0';
        return (size_t)n;
    }
    ssize_t n;
    while ((n = read(q, rec, RECORD)) < 0 && errno == EINTR)
        ;
    if (n != RECORD)
        die("read from the queue pipe: %s", n < 0 ? strerror(errno) : "short read or end of file");
    if (sem_post(&pg->free_slots) != 0)
        die("sem_post: %s", strerror(errno));
    rec[RECORD] = '\0';
    return strlen(rec);
}

/* --child producer|consumer NAME EPOCH INDEX PRODUCERS ITEMS MQ QUEUE_FD MEMFD */
static int child(char **argv)
{
    const char *role = argv[2];
    floor_init(PROG, argv[3], strtoull(argv[4], NULL, 10));
    long index = atol(argv[5]), producers = atol(argv[6]), items = atol(argv[7]);
    int mq = atoi(argv[8]), q = atoi(argv[9]), memfd = atoi(argv[10]);
    struct page *pg = map_page(memfd, page_size(producers, items));
    emit("start", "");

    char rec[RECORD + 1];
    if (strcmp(role, "producer") == 0) {
        for (long i = 0; i < items; i++) {
            snprintf(rec, sizeof rec, "producer-%ld:%ld", index, i);
            put(mq, q, pg, rec);
            emit("put", ",\"item\":\"%s\"", rec);
        }
        return 0;
    }

    long *last = malloc((size_t)producers * sizeof *last); /* last item got, per producer */
    if (!last)
        die("malloc: %s", strerror(errno));
    for (long p = 0; p < producers; p++)
        last[p] = -1;
    for (;;) {
        if (get(mq, q, pg, rec) == 0) {
            emit("queue_end", "");
            return 0;
        }
        long p, i;
        if (sscanf(rec, "producer-%ld:%ld", &p, &i) != 2 || p < 0 || p >= producers || i < 0 ||
            i >= items)
            die("got a record that is no item: %s", rec);
        __atomic_fetch_add(&pg->seen[p * items + i], 1, __ATOMIC_RELAXED);
        if (i <= last[p])
            pg->out_of_order = 1;
        last[p] = i;
        emit("got", ",\"item\":\"%s\"", rec);
    }
}

int main(int argc, char **argv)
{
    if (argc >= 2 && strcmp(argv[1], "--child") == 0) {
        if (argc != 11)
            return 2;
        return child(argv);
    }
    floor_prog = PROG;
    int mq = 0;
    if (argc >= 2 && strcmp(argv[1], "--mq") == 0) {
        mq = 1;
        argv++;
        argc--;
    }
    if (argc != 5) {
        fprintf(stderr, "usage: queue_floor [--mq] PRODUCERS CONSUMERS ITEMS CAPACITY\n");
        return 2;
    }
    long producers = arg_num("PRODUCERS", argv[1], 1, 10000);
    long consumers = arg_num("CONSUMERS", argv[2], 1, 10000);
    long items = arg_num("ITEMS", argv[3], 1, 100000000); /* per producer */
    long capacity = arg_num("CAPACITY", argv[4], 1, 10);
    floor_init(PROG, "main", 0);
    emit("start", "");

    /* The shared page: the semaphore and the checks. Inherited, so no close-on-exec. */
    size_t size = page_size(producers, items);
    int memfd = memfd_create("procdemo-queue-floor", 0);
    if (memfd < 0 || ftruncate(memfd, (off_t)size) != 0)
        die("memfd_create/ftruncate: %s", strerror(errno));
    struct page *pg = map_page(memfd, size);

    int q_put, q_get; /* what producers and consumers use: the two pipe ends, or one mq */
    if (mq) {
        char name[64];
        snprintf(name, sizeof name, "/procdemo-queue-floor-%ld", (long)getpid());
        struct mq_attr attr = { .mq_maxmsg = capacity, .mq_msgsize = RECORD };
        mqd_t m = mq_open(name, O_RDWR | O_CREAT | O_EXCL, 0600, &attr);
        if (m == (mqd_t)-1)
            die("mq_open %s: %s", name, strerror(errno));
        mq_unlink(name); /* nothing left in /dev/mqueue, whatever happens next */
        keep_open(m);    /* on Linux an mqd_t is a descriptor, opened close-on-exec */
        q_put = q_get = m;
    } else {
        if (sem_init(&pg->free_slots, 1, (unsigned)capacity) != 0)
            die("sem_init: %s", strerror(errno));
        int fds[2];
        if (pipe(fds) != 0)
            die("pipe: %s", strerror(errno));
        q_get = fds[0];
        q_put = fds[1];
    }

    char epoch[32], index[32], nprod[32], nitems[32], smq[8], sput[16], sget[16], smem[16];
    snprintf(epoch, sizeof epoch, "%llu", (unsigned long long)floor_epoch_ns);
    snprintf(nprod, sizeof nprod, "%ld", producers);
    snprintf(nitems, sizeof nitems, "%ld", items);
    snprintf(smq, sizeof smq, "%d", mq);
    snprintf(sput, sizeof sput, "%d", q_put);
    snprintf(sget, sizeof sget, "%d", q_get);
    snprintf(smem, sizeof smem, "%d", memfd);

    long n = producers + consumers;
    pid_t *pids = calloc((size_t)n, sizeof *pids);
    char (*names)[32] = calloc((size_t)n, sizeof *names);
    if (!pids || !names)
        die("calloc: %s", strerror(errno));
    for (long k = 0; k < n; k++) {
        int is_prod = k < producers;
        long i = is_prod ? k : k - producers;
        snprintf(names[k], sizeof names[k], "%s-%ld", is_prod ? "producer" : "consumer", i);
        snprintf(index, sizeof index, "%ld", i);
        char *cargv[] = { NULL, "--child", is_prod ? "producer" : "consumer", names[k], epoch,
                          index, nprod, nitems, smq, is_prod ? sput : sget, smem, NULL };
        pids[k] = spawn_self(cargv, names[k]);
    }

    int failed = 0;
    for (long k = 0; k < producers; k++)
        failed |= reap(pids[k], names[k]);
    for (long c = 0; c < consumers; c++)
        put(mq, q_put, pg, NULL); /* one end marker per consumer */
    for (long k = producers; k < n; k++)
        failed |= reap(pids[k], names[k]);

    long long got = 0, lost = 0, duplicated = 0, total = (long long)producers * items;
    for (long long j = 0; j < total; j++) {
        got += pg->seen[j];
        lost += pg->seen[j] == 0;
        duplicated += pg->seen[j] > 1 ? pg->seen[j] - 1 : 0;
    }
    int in_order = !pg->out_of_order;
    emit("summary",
         ",\"producers\":%ld,\"consumers\":%ld,\"capacity\":%ld,\"put\":%lld,\"got\":%lld,"
         "\"lost\":%lld,\"duplicated\":%lld,\"in_order\":%s",
         producers, consumers, capacity, total, got, lost, duplicated,
         in_order ? "true" : "false");
    if (lost || duplicated || !in_order || failed) {
        fprintf(stderr, "queue_floor: %lld lost, %lld duplicated, %s, %s\n", lost, duplicated,
                in_order ? "in order" : "OUT OF ORDER",
                failed ? "a child failed" : "every child exited with 0");
        return 1;
    }
    return 0;
}
