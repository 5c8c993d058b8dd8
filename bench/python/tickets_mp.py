"""tickets_mp.py: the Python peer of `procdemo tickets`, for the benchmark.

The tutorial's tickets.py with N buyers instead of 10 and no sleep: each
buyer searches (reads the file without the lock), then, holding one
multiprocessing.Lock, reads, decrements if above 0 and writes. The file is
first reset to {"ticket": N}; after all buyers are joined it must read 0
(exit 1 otherwise).

The write is NOT the tutorial's in-place open('w') + json.dump: with 1000
buyers an unlocked search then regularly reads a truncated, empty file and
dies on json.loads. It is written the way procdemo and the C floor write it:
a temporary file in the same directory, fsync, rename over the data file,
fsync the directory. --no-fsync skips both fsyncs (temp + rename only).

    python3 tickets_mp.py [--method fork|spawn] [--no-fsync] N FILE
"""
import argparse
import json
import multiprocessing
import os
import resource
import sys
from multiprocessing import Lock, Process


def read_tickets(path):
    with open(path, 'r', encoding='utf-8') as f:
        data = f.read()
    return json.loads(data)


def write_tickets(path, t_d, do_fsync):
    tmp = '%s.tmp.%d' % (path, os.getpid())
    with open(tmp, 'w', encoding='utf-8') as f:
        json.dump(t_d, f)
        if do_fsync:
            f.flush()
            os.fsync(f.fileno())
    os.rename(tmp, path)
    if do_fsync:
        dir_fd = os.open(os.path.dirname(os.path.abspath(path)), os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)


def search(i, path):
    t_d = read_tickets(path)
    print('buyer-%s: %s tickets left' % (i, t_d.get('ticket')))


def buy(i, path, do_fsync):
    t_d = read_tickets(path)
    if t_d.get('ticket') > 0:
        t_d['ticket'] -= 1
        write_tickets(path, t_d, do_fsync)
        print('buyer-%s bought a ticket' % i)
    else:
        print('buyer-%s: sold out' % i)


def run(i, mutex, path, do_fsync):
    search(i, path)
    mutex.acquire()
    try:
        buy(i, path, do_fsync)
    finally:
        mutex.release()


def raise_fd_limit():
    # The spawn start method keeps two pipe ends per live child in the
    # parent: 1000 children need more than the usual 1024 descriptors.
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY or soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--method', choices=['fork', 'spawn'], default='fork')
    parser.add_argument('--no-fsync', action='store_true')
    parser.add_argument('buyers', type=int)
    parser.add_argument('file')
    args = parser.parse_args()
    multiprocessing.set_start_method(args.method)
    raise_fd_limit()
    do_fsync = not args.no_fsync

    write_tickets(args.file, {'ticket': args.buyers}, do_fsync)
    mutex = Lock()
    p_list = []
    for i in range(args.buyers):
        p = Process(target=run, args=(i, mutex, args.file, do_fsync))
        p.start()
        p_list.append(p)
    for p in p_list:
        p.join()

    left = read_tickets(args.file).get('ticket')
    failed = [p for p in p_list if p.exitcode != 0]
    if left != 0 or failed:
        print('tickets_mp: %s: expected 0 tickets left after %d buyers, found %s; '
              '%d buyers failed' % (args.file, args.buyers, left, len(failed)),
              file=sys.stderr)
        raise SystemExit(1)


if __name__ == '__main__':
    main()
