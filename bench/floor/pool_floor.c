/* pool_floor WORKERS TASKS
 *
 * The C floor for `procdemo --json --time-scale 0 pool --workers W --tasks T`
 * (Pool(W).map(f, range(T)), f(n) = n * n): the same processes, the same
 * pipe system calls and one event line per task, without procdemo's own
 * overhead. Built with `gcc -O2 -static`.
 *
 * Two pipes of fixed-size records, each far under PIPE_BUF, so every write is
 * atomic and a read of one record's size returns exactly one record:
 *   task pipe   main -> workers: 8-byte records (the task number), one
 *               write(2) per task; every worker reads one record at a time
 *               from the same pipe, so whichever worker is free takes the
 *               next task. Main closes its end after the last task, and each
 *               worker stops at end of file.
 *   result pipe workers -> main: 16-byte records (task, pid, result), one
 *               write(2) per task; main reads as many whole records as are
 *               there in one read(2), and puts each result at its task's
 *               place, so the results come out in task order.
 * Main feeds the tasks and collects the results in one poll(2) loop (the task
 * end non-blocking): with T tasks more than the two pipes hold, writing every
 * task before reading a result would deadlock.
 *
 * Processes: main and worker-0..W-1. Each worker, per task: read the task,
 * square it, write the result, emit `task_done` (task, result). Main emits
 * `start`, `spawned` and `exit` per worker, and the summary (workers, tasks,
 * results in task order, pids: how many distinct workers ran tasks, mode,
 * elapsed_ms).
 * Exits 1 if a result is missing or wrong or a worker failed; 2 on bad usage.
 */
#include "floor_run.h"

#include <poll.h>

#define PROG "pool_floor"

struct task_rec {
    uint64_t task;
};
struct result_rec {
    uint32_t task;
    int32_t pid;
    uint64_t result;
};

/* --child worker NAME EPOCH TASK_FD RESULT_FD */
static int worker(char **argv)
{
    floor_init(PROG, argv[3], strtoull(argv[4], NULL, 10));
    int tasks = atoi(argv[5]), results = atoi(argv[6]);
    emit("start", "");
    for (;;) {
        struct task_rec t;
        ssize_t n;
        while ((n = read(tasks, &t, sizeof t)) < 0 && errno == EINTR)
            ;
        if (n == 0)
            return 0; /* main closed the task pipe: no more tasks */
        if (n != sizeof t)
            die("read from the task pipe: %s", n < 0 ? strerror(errno) : "short read");
        struct result_rec r = { .task = (uint32_t)t.task, .pid = (int32_t)floor_pid,
                                .result = t.task * t.task };
        while ((n = write(results, &r, sizeof r)) < 0 && errno == EINTR)
            ;
        if (n != sizeof r)
            die("write to the result pipe: %s", n < 0 ? strerror(errno) : "short write");
        emit("task_done", ",\"task\":%llu,\"result\":%llu", (unsigned long long)t.task,
             (unsigned long long)r.result);
    }
}

int main(int argc, char **argv)
{
    if (argc >= 2 && strcmp(argv[1], "--child") == 0) {
        if (argc != 7)
            return 2;
        return worker(argv);
    }
    floor_prog = PROG;
    if (argc != 3) {
        fprintf(stderr, "usage: pool_floor WORKERS TASKS\n");
        return 2;
    }
    long workers = arg_num("WORKERS", argv[1], 1, 10000);
    long tasks = arg_num("TASKS", argv[2], 1, 10000);
    floor_init(PROG, "main", 0);
    emit("start", "");

    /* Close-on-exec, but for the two ends the workers use: a worker that kept main's
     * end of the task pipe open would never see its end of file. */
    int task_pipe[2], result_pipe[2];
    if (pipe2(task_pipe, O_CLOEXEC) != 0 || pipe2(result_pipe, O_CLOEXEC) != 0)
        die("pipe2: %s", strerror(errno));
    keep_open(task_pipe[0]);
    keep_open(result_pipe[1]);

    char epoch[32], tfd[16], rfd[16];
    snprintf(epoch, sizeof epoch, "%llu", (unsigned long long)floor_epoch_ns);
    snprintf(tfd, sizeof tfd, "%d", task_pipe[0]);
    snprintf(rfd, sizeof rfd, "%d", result_pipe[1]);
    pid_t *pids = calloc((size_t)workers, sizeof *pids);
    char (*names)[32] = calloc((size_t)workers, sizeof *names);
    if (!pids || !names)
        die("calloc: %s", strerror(errno));
    for (long w = 0; w < workers; w++) {
        snprintf(names[w], sizeof names[w], "worker-%ld", w);
        char *cargv[] = { NULL, "--child", "worker", names[w], epoch, tfd, rfd, NULL };
        pids[w] = spawn_self(cargv, names[w]);
    }
    /* Main keeps only its own ends: the workers then see end of file on the task
     * pipe once main closes it, and main sees it on the result pipe if they all die. */
    close(task_pipe[0]);
    close(result_pipe[1]);
    int task_w = task_pipe[1], result_r = result_pipe[0];
    if (fcntl(task_w, F_SETFL, O_NONBLOCK) != 0)
        die("fcntl(O_NONBLOCK): %s", strerror(errno));

    uint64_t *results = calloc((size_t)tasks, sizeof *results);
    unsigned char *have = calloc((size_t)tasks, 1);
    int32_t *seen_pids = calloc((size_t)workers, sizeof *seen_pids);
    if (!results || !have || !seen_pids)
        die("calloc: %s", strerror(errno));
    long next = 0, got = 0, distinct = 0;
    struct result_rec buf[256];
    while (got < tasks) {
        struct pollfd fds[2] = { { .fd = result_r, .events = POLLIN },
                                 { .fd = task_w, .events = POLLOUT } };
        if (poll(fds, next < tasks ? 2 : 1, -1) < 0) {
            if (errno == EINTR)
                continue;
            die("poll: %s", strerror(errno));
        }
        if (next < tasks && (fds[1].revents & (POLLOUT | POLLERR))) {
            while (next < tasks) { /* one write(2) per task, until the pipe is full */
                struct task_rec t = { .task = (uint64_t)next };
                ssize_t n = write(task_w, &t, sizeof t);
                if (n < 0 && (errno == EAGAIN || errno == EINTR))
                    break;
                if (n != sizeof t)
                    die("write to the task pipe: %s", n < 0 ? strerror(errno) : "short write");
                next++;
            }
            if (next == tasks)
                close(task_w); /* end of file for the workers once they drain it */
        }
        if (fds[0].revents & (POLLIN | POLLHUP | POLLERR)) {
            ssize_t n = read(result_r, buf, sizeof buf);
            if (n < 0 && errno == EINTR)
                continue;
            if (n < 0)
                die("read from the result pipe: %s", strerror(errno));
            if (n == 0)
                die("every worker ended with %ld of %ld results in", got, tasks);
            if (n % (ssize_t)sizeof buf[0] != 0)
                die("read a partial result record");
            for (size_t k = 0; k < (size_t)n / sizeof buf[0]; k++) {
                struct result_rec *r = &buf[k];
                if (r->task >= (uint64_t)tasks || have[r->task])
                    die("result for task %u: unknown or twice", r->task);
                have[r->task] = 1;
                results[r->task] = r->result;
                got++;
                long s = 0;
                while (s < distinct && seen_pids[s] != r->pid)
                    s++;
                if (s == distinct && distinct < workers)
                    seen_pids[distinct++] = r->pid;
            }
        }
    }

    int failed = 0;
    for (long w = 0; w < workers; w++)
        failed |= reap(pids[w], names[w]);

    /* The summary: results in task order, as one JSON list. */
    char *list = malloc((size_t)tasks * 21 + 2), *p = list;
    if (!list)
        die("malloc: %s", strerror(errno));
    *p++ = '[';
    for (long t = 0; t < tasks; t++) {
        p += sprintf(p, "%s%llu", t ? "," : "", (unsigned long long)results[t]);
        if (results[t] != (uint64_t)t * (uint64_t)t)
            failed = 1;
    }
    *p++ = ']';
    *p = '\0';
    emit("summary",
         ",\"workers\":%ld,\"tasks\":%ld,\"results\":%s,\"pids\":%ld,\"mode\":\"pool\","
         "\"elapsed_ms\":%.3f",
         workers, tasks, list, distinct, (double)((monotonic_ns() - floor_epoch_ns) / 1000) / 1000.0);
    free(list);
    if (failed) {
        fprintf(stderr, "pool_floor: a result was wrong or a worker failed\n");
        return 1;
    }
    return 0;
}
