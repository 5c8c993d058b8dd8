/* buyer_floor [--no-fsync] N FILE
 *
 * The C floor for `procdemo tickets --buyers N --tickets N --data FILE`:
 * set FILE to {"ticket": N} under the lock, posix_spawn N static `buyer`
 * processes (found beside this program), all of them first, then reap them,
 * and check that the count went from N to 0.
 * --no-fsync is passed on to the buyers (and used for the reset): the same
 * work without the two fsyncs per buy, to show what durability costs.
 *
 * Exits 1 on any failure (spawn, a buyer not exiting 0, a final count
 * other than 0), 2 on bad usage.
 */
#include <spawn.h>
#include <sys/types.h>
#include <sys/wait.h>

#include "ticket_file.h"

extern char **environ;

int main(int argc, char **argv)
{
    int do_fsync = 1;
    if (argc == 4 && strcmp(argv[1], "--no-fsync") == 0) {
        do_fsync = 0;
        argv++;
        argc--;
    }
    if (argc != 3) {
        fprintf(stderr, "usage: buyer_floor [--no-fsync] N FILE\n");
        return 2;
    }
    long n = strtol(argv[1], NULL, 10);
    if (n < 1) {
        fprintf(stderr, "buyer_floor: N must be >= 1, got %s\n", argv[1]);
        return 2;
    }
    const char *path = argv[2];

    /* The buyer program lives in the same directory as this one. */
    char buyer[PATH_MAX];
    ssize_t len = readlink("/proc/self/exe", buyer, sizeof buyer - 16);
    if (len < 0) {
        perror("buyer_floor: readlink /proc/self/exe");
        return 1;
    }
    buyer[len] = '\0';
    char *slash = strrchr(buyer, '/');
    strcpy(slash ? slash + 1 : buyer, "buyer");

    /* Reset, under the lock, as `--tickets N` does. */
    int lock = lock_tickets(path);
    if (lock < 0 || write_tickets(path, n, do_fsync) != 0)
        return 1;
    close(lock);

    pid_t *pids = calloc((size_t)n, sizeof *pids);
    if (!pids) {
        perror("buyer_floor: calloc");
        return 1;
    }
    char *child_argv[4];
    int k = 0;
    child_argv[k++] = buyer;
    if (!do_fsync)
        child_argv[k++] = "--no-fsync";
    child_argv[k++] = (char *)path;
    child_argv[k] = NULL;

    int failed = 0;
    long started = 0;
    for (long i = 0; i < n; i++) {
        int err = posix_spawn(&pids[i], buyer, NULL, NULL, child_argv, environ);
        if (err != 0) {
            fprintf(stderr, "buyer_floor: posix_spawn %s: %s\n", buyer, strerror(err));
            failed = 1;
            break;
        }
        started++;
    }
    for (long i = 0; i < started; i++) {
        int status;
        while (waitpid(pids[i], &status, 0) < 0) {
            if (errno != EINTR) {
                perror("buyer_floor: waitpid");
                return 1;
            }
        }
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
            fprintf(stderr, "buyer_floor: buyer %ld did not exit with 0\n", (long)pids[i]);
            failed = 1;
        }
    }
    free(pids);

    long long left = read_tickets(path);
    if (left != 0) {
        fprintf(stderr, "buyer_floor: %s: expected 0 tickets left after %ld buyers, found %lld\n",
                path, n, left);
        failed = 1;
    }
    return failed;
}
