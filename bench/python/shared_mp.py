"""shared_mp.py: the Python peer of `procdemo shared`, for the benchmark.

The tutorial's shared.py with W workers and K adds each: one Value('q', 0)
that every worker sees; each worker waits at a Barrier (so they start
together, as procdemo's workers do), then adds 1 K times under the Value's
own lock (`with v.get_lock(): v.value += 1`), and prints one line when done.
The main joins them and checks that the value is exactly W * K (exit 1
otherwise).

Python's multiprocessing has no atomic add: the lock is the only exact way
to add one at a time, so this same run is the peer of `shared --atomic` too.

    python3 shared_mp.py [--method fork|spawn] WORKERS ADDS
"""
import argparse
import multiprocessing
import sys
from multiprocessing import Barrier, Process, Value


def add(name, v, adds, start):
    start.wait()
    for _ in range(adds):
        with v.get_lock():
            v.value += 1
    print('%s added %d' % (name, adds))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--method', choices=['fork', 'spawn'], default='fork')
    parser.add_argument('workers', type=int)
    parser.add_argument('adds', type=int)
    args = parser.parse_args()
    multiprocessing.set_start_method(args.method)

    v = Value('q', 0)
    start = Barrier(args.workers)
    ps = [Process(target=add, args=('Process-%d' % (w + 1), v, args.adds, start))
          for w in range(args.workers)]
    for p in ps:
        p.start()
    for p in ps:
        p.join()
    expected = args.workers * args.adds
    print('期望 %s, 实际 %s, 丢失 %s' % (expected, v.value, expected - v.value))
    if v.value != expected or any(p.exitcode != 0 for p in ps):
        print('shared_mp: expected %d, final %d' % (expected, v.value), file=sys.stderr)
        raise SystemExit(1)


if __name__ == '__main__':
    main()
