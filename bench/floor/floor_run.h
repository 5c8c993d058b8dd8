/* floor_run.h: how the queue, pool and shared floors run, the way procdemo runs.
 *
 * Shared by queue_floor.c, pool_floor.c and shared_floor.c. Each floor is one
 * static program that starts its children by re-executing itself, as procdemo
 * does: posix_spawn(3) of /proc/self/exe (glibc does clone(CLONE_VM|CLONE_VFORK)
 * + execve, as Rust's std::process::Command without a pre_exec hook does), with
 * "--child ROLE ..." in argv. A child finds the pipes, queues and shared pages it
 * needs already open under the descriptor numbers its argv names: they are made
 * without close-on-exec, so execve keeps them (procdemo clears close-on-exec on
 * exactly those).
 *
 * Every process writes its events as procdemo does with --json: one JSON line per
 * event ({"t_ms":..,"pid":..,"ppid":..,"name":..,"event":..,...}), each line with
 * one write(2), t_ms on one monotonic clock shared by the run (the main's start,
 * passed to each child). Unlike procdemo it asks getppid(2) once per process, not
 * once per event: the floor is the least the work needs.
 */
#ifndef FLOOR_RUN_H
#define FLOOR_RUN_H

#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

static const char *floor_prog = "floor"; /* for error messages */
static char floor_name[64] = "main";
static long floor_pid, floor_ppid;
static uint64_t floor_epoch_ns;

static void die(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "%s: %s: ", floor_prog, floor_name);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    exit(1);
}

static uint64_t monotonic_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Who is writing: call once per process, before the first event. epoch 0: now. */
static void floor_init(const char *prog, const char *name, uint64_t epoch_ns)
{
    floor_prog = prog;
    snprintf(floor_name, sizeof floor_name, "%s", name);
    floor_pid = getpid();
    floor_ppid = getppid();
    floor_epoch_ns = epoch_ns ? epoch_ns : monotonic_ns();
}

/* Write the whole of buf to fd (stdout): one write(2) unless it is cut short. */
static void write_all(int fd, const char *buf, size_t len)
{
    while (len > 0) {
        ssize_t n = write(fd, buf, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            die("write to stdout: %s", strerror(errno));
        buf += n;
        len -= (size_t)n;
    }
}

/* One event: {"t_ms":..,"pid":..,"ppid":..,"name":"..","event":"EVENT"FIELDS}\n
 * FIELDS (printf format) is the rest of the object, each field with its leading
 * comma, or "". One write(2) per line, as procdemo's Out::emit. */
static void emit(const char *event, const char *fields, ...)
{
    char small[512], *line = small;
    uint64_t ns = monotonic_ns() - floor_epoch_ns;
    int head = snprintf(small, sizeof small,
                        "{\"t_ms\":%.3f,\"pid\":%ld,\"ppid\":%ld,\"name\":\"%s\",\"event\":\"%s\"",
                        (double)(ns / 1000) / 1000.0, floor_pid, floor_ppid, floor_name, event);
    va_list ap;
    va_start(ap, fields);
    int rest = vsnprintf(small + head, sizeof small - (size_t)head, fields, ap);
    va_end(ap);
    size_t need = (size_t)head + (size_t)rest + 2; /* "}\n" */
    if (need >= sizeof small) { /* a long summary: format it again, whole */
        line = malloc(need + 1);
        if (!line)
            die("malloc: %s", strerror(errno));
        memcpy(line, small, (size_t)head);
        va_start(ap, fields);
        vsnprintf(line + head, need + 1 - (size_t)head, fields, ap);
        va_end(ap);
    }
    memcpy(line + head + rest, "}\n", 2);
    write_all(1, line, need);
    if (line != small)
        free(line);
}

/* Keep fd open across execve (clear FD_CLOEXEC), as procdemo's keep_open_across_exec. */
static inline void keep_open(int fd)
{
    if (fcntl(fd, F_SETFD, 0) != 0)
        die("fcntl(F_SETFD): %s", strerror(errno));
}

/* Start one child: posix_spawn of this same program with ARGV (NULL-terminated;
 * argv[0] is replaced by the program's name). Emits main's "spawned" event. */
static pid_t spawn_self(char *argv[], const char *child_name)
{
    argv[0] = (char *)floor_prog;
    pid_t pid;
    int err = posix_spawn(&pid, "/proc/self/exe", NULL, NULL, argv, environ);
    if (err != 0)
        die("posix_spawn /proc/self/exe (%s): %s", child_name, strerror(err));
    emit("spawned", ",\"child\":%ld,\"child_name\":\"%s\"", (long)pid, child_name);
    return pid;
}

/* waitpid one child and emit main's "exit" event. Returns 0 if it exited with 0. */
static int reap(pid_t pid, const char *child_name)
{
    int status;
    while (waitpid(pid, &status, 0) < 0) {
        if (errno != EINTR)
            die("waitpid %ld: %s", (long)pid, strerror(errno));
    }
    if (WIFEXITED(status)) {
        emit("exit", ",\"child\":%ld,\"child_name\":\"%s\",\"code\":%d", (long)pid, child_name,
             WEXITSTATUS(status));
        return WEXITSTATUS(status) != 0;
    }
    emit("exit", ",\"child\":%ld,\"child_name\":\"%s\",\"signal\":%d", (long)pid, child_name,
         WTERMSIG(status));
    return 1;
}

/* A non-negative decimal number from argv, or die. */
static long long arg_num(const char *what, const char *s, long long lo, long long hi)
{
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno || *s == '\0' || *end != '\0' || v < lo || v > hi) {
        fprintf(stderr, "%s: %s must be a number from %lld to %lld, got %s\n", floor_prog, what,
                lo, hi, s);
        exit(2);
    }
    return v;
}

#endif
