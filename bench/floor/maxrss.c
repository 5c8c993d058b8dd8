/* maxrss COMMAND [ARG...]
 *
 * Run COMMAND with its stdout sent to /dev/null, wait for it, and print
 * getrusage(RUSAGE_CHILDREN).ru_maxrss in KiB on stdout.
 *
 * That figure is the largest peak resident set among all descendants that
 * were waited for: COMMAND itself and every child COMMAND reaped. For
 * `procdemo join --count 1` it is max(main, child), an upper bound of the
 * child's peak RSS, not the child's own figure (bench/child_rss.py measures
 * that one).
 * Exits with COMMAND's exit code (1 if it was killed, 127 if it could not run).
 */
#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>

extern char **environ;

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: maxrss COMMAND [ARG...]\n");
        return 2;
    }
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0);

    pid_t pid;
    int err = posix_spawnp(&pid, argv[1], &actions, NULL, argv + 1, environ);
    if (err != 0) {
        fprintf(stderr, "maxrss: %s: %s\n", argv[1], strerror(err));
        return 127;
    }
    int status;
    while (waitpid(pid, &status, 0) < 0) {
        if (errno != EINTR) {
            perror("maxrss: waitpid");
            return 1;
        }
    }
    struct rusage ru;
    getrusage(RUSAGE_CHILDREN, &ru);
    printf("%ld\n", ru.ru_maxrss);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 1;
}
