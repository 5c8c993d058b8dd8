/* buyer [--no-fsync] FILE
 *
 * One ticket buyer, the C floor of a procdemo `tickets` buyer without the
 * sleep and the events: search (read FILE without the lock), then take the
 * exclusive flock on FILE.lock, read, decrement if above 0, write back
 * (temp file + fsync + rename + directory fsync), release.
 * Built with `gcc -O2 -static`. Exits 0 when it bought or found it sold out.
 */
#include "ticket_file.h"

int main(int argc, char **argv)
{
    int do_fsync = 1;
    if (argc == 3 && strcmp(argv[1], "--no-fsync") == 0) {
        do_fsync = 0;
        argv++;
        argc--;
    }
    if (argc != 2) {
        fprintf(stderr, "usage: buyer [--no-fsync] FILE\n");
        return 2;
    }
    const char *path = argv[1];

    if (read_tickets(path) < 0) /* search, unlocked */
        return 1;

    int lock = lock_tickets(path);
    if (lock < 0)
        return 1;
    long long n = read_tickets(path);
    if (n < 0)
        return 1;
    if (n > 0 && write_tickets(path, n - 1, do_fsync) != 0)
        return 1;
    close(lock); /* releases the flock */
    return 0;
}
