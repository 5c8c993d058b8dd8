/* ticket_file.h: the ticket file, done the way procdemo does it.
 *
 * Shared by buyer.c and buyer_floor.c. The data file holds {"ticket": N};
 * the lock is an exclusive flock(2) on "<data>.lock", a file that is created
 * once and never truncated; a write goes to a temporary file in the same
 * directory, is fsynced, renamed over the data file, and the directory is
 * fsynced, all before the lock is released.
 */
#ifndef TICKET_FILE_H
#define TICKET_FILE_H

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

/* Read the whole data file and return its "ticket" count, or -1. */
static long long read_tickets(const char *path)
{
    char buf[4096];
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        fprintf(stderr, "%s: open: %s\n", path, strerror(errno));
        return -1;
    }
    size_t len = 0;
    while (len < sizeof buf - 1) {
        ssize_t r = read(fd, buf + len, sizeof buf - 1 - len);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            fprintf(stderr, "%s: read: %s\n", path, strerror(errno));
            close(fd);
            return -1;
        }
        if (r == 0)
            break;
        len += (size_t)r;
    }
    close(fd);
    buf[len] = '\0';

    /* Just enough JSON for {"ticket": N}. */
    char *p = strstr(buf, "\"ticket\"");
    if (!p)
        goto bad;
    p += strlen("\"ticket\"");
    p += strspn(p, " \t\r\n");
    if (*p++ != ':')
        goto bad;
    p += strspn(p, " \t\r\n");
    if (*p < '0' || *p > '9')
        goto bad;
    return strtoll(p, NULL, 10);
bad:
    fprintf(stderr, "%s: not a ticket file: %s\n", path, buf);
    return -1;
}

/* Write {"ticket": n}: temp file in the same directory, fsync, rename,
 * fsync the directory. With do_fsync == 0 both fsyncs are skipped (the
 * labelled "no fsync" variant that shows what durability costs). */
static int write_tickets(const char *path, long long n, int do_fsync)
{
    char tmp[PATH_MAX], dir[PATH_MAX], text[64];
    snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid());
    snprintf(dir, sizeof dir, "%s", path);
    int len = snprintf(text, sizeof text, "{\"ticket\": %lld}\n", n);

    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) {
        fprintf(stderr, "%s: open: %s\n", tmp, strerror(errno));
        return -1;
    }
    if (write(fd, text, (size_t)len) != len) {
        fprintf(stderr, "%s: write: %s\n", tmp, strerror(errno));
        close(fd);
        return -1;
    }
    if (do_fsync && fsync(fd) != 0) {
        fprintf(stderr, "%s: fsync: %s\n", tmp, strerror(errno));
        close(fd);
        return -1;
    }
    close(fd);
    if (rename(tmp, path) != 0) {
        fprintf(stderr, "%s: rename: %s\n", path, strerror(errno));
        return -1;
    }
    if (do_fsync) {
        int dfd = open(dirname(dir), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dfd < 0 || fsync(dfd) != 0) {
            fprintf(stderr, "%s: directory fsync: %s\n", dir, strerror(errno));
            if (dfd >= 0)
                close(dfd);
            return -1;
        }
        close(dfd);
    }
    return 0;
}

/* Open "<path>.lock" (created if missing, never truncated) and take the
 * exclusive flock. Returns the descriptor; closing it releases the lock. */
static int lock_tickets(const char *path)
{
    char lock[PATH_MAX];
    snprintf(lock, sizeof lock, "%s.lock", path);
    int fd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) {
        fprintf(stderr, "%s: open: %s\n", lock, strerror(errno));
        return -1;
    }
    while (flock(fd, LOCK_EX) != 0) {
        if (errno != EINTR) {
            fprintf(stderr, "%s: flock: %s\n", lock, strerror(errno));
            close(fd);
            return -1;
        }
    }
    return fd;
}

#endif
