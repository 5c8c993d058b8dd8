"""pool_mp.py: the Python peer of `procdemo pool`, for the benchmark.

The tutorial's pool.py with W workers and T tasks and no sleep:
Pool(W).map(task, range(T)), where task(n) prints a line (its pid and n) and
returns n * n. map returns the results in task order. task also returns its
pid, as procdemo's summary counts the distinct pids that ran tasks.

map sends tasks in chunks: by default ceil(T / (4 * W)) tasks per message
(625 for 4 workers and 10,000 tasks). --chunksize 1 sends one task per
message, as procdemo's task pipe does (one record per task).

The pool is closed and joined (not terminated, as the tutorial's `with`
block does on exit) so that the workers end by themselves and write out
what they printed. Checks that every result is n * n (exit 1 otherwise).

    python3 pool_mp.py [--method fork|spawn] [--chunksize N] WORKERS TASKS
"""
import argparse
import multiprocessing
import os
import sys
from multiprocessing import Pool


def task(n):
    print('%s 处理任务 %s' % (os.getpid(), n))
    return n * n, os.getpid()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--method', choices=['fork', 'spawn'], default='fork')
    parser.add_argument('--chunksize', type=int, default=None,
                        help="tasks per message (default: map's own choice)")
    parser.add_argument('workers', type=int)
    parser.add_argument('tasks', type=int)
    args = parser.parse_args()
    multiprocessing.set_start_method(args.method)

    with Pool(args.workers) as pool:
        out = pool.map(task, range(args.tasks), args.chunksize)
        pool.close()
        pool.join()
    res = [r for r, _ in out]
    pids = len(set(pid for _, pid in out))
    print(res)
    print('main: %d tasks, %d pids' % (len(res), pids))
    if res != [n * n for n in range(args.tasks)]:
        print('pool_mp: wrong results', file=sys.stderr)
        raise SystemExit(1)


if __name__ == '__main__':
    main()
