/* spawn_floor N PATH
 *
 * The C floor for `procdemo join`: posix_spawn N copies of PATH (the static
 * `noop`), all of them first, then reap them all. Whatever procdemo does on
 * top of this (its own startup, JSON events, re-executing a larger binary)
 * is overhead measured against this floor.
 *
 * Exits 1 if a spawn fails or a child does not exit with 0, 2 on bad usage.
 */
#include <errno.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>

extern char **environ;

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: spawn_floor N PATH\n");
        return 2;
    }
    long n = strtol(argv[1], NULL, 10);
    if (n < 1) {
        fprintf(stderr, "spawn_floor: N must be >= 1, got %s\n", argv[1]);
        return 2;
    }
    const char *path = argv[2];
    pid_t *pids = calloc((size_t)n, sizeof *pids);
    if (!pids) {
        perror("spawn_floor: calloc");
        return 1;
    }

    int failed = 0;
    long started = 0;
    for (long i = 0; i < n; i++) {
        char *child_argv[] = { (char *)path, NULL };
        int err = posix_spawn(&pids[i], path, NULL, NULL, child_argv, environ);
        if (err != 0) {
            fprintf(stderr, "spawn_floor: posix_spawn %s: %s\n", path, strerror(err));
            failed = 1;
            break;
        }
        started++;
    }

    for (long i = 0; i < started; i++) {
        int status;
        while (waitpid(pids[i], &status, 0) < 0) {
            if (errno != EINTR) {
                perror("spawn_floor: waitpid");
                return 1;
            }
        }
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
            fprintf(stderr, "spawn_floor: child %ld did not exit with 0\n", (long)pids[i]);
            failed = 1;
        }
    }
    free(pids);
    return failed;
}
