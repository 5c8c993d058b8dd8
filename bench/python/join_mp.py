"""join_mp.py: the Python peer of `procdemo join`, for the benchmark.

The tutorial's join.py (Process(target=...), start all, join all) with N
children instead of 3 and no sleeps, so only the cost of the processes is
measured. Each child prints its two lines as in the tutorial.

    python3 join_mp.py [--method fork|spawn] N
"""
import argparse
import multiprocessing
import resource
import time
from multiprocessing import Process


def test(name):
    print('%s is running' % name)
    print('%s is over' % name)


def raise_fd_limit():
    # The spawn start method keeps two pipe ends per live child in the
    # parent: 1000 children need more than the usual 1024 descriptors.
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY or soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--method', choices=['fork', 'spawn'], default='fork')
    parser.add_argument('count', type=int)
    args = parser.parse_args()
    multiprocessing.set_start_method(args.method)
    raise_fd_limit()

    start_time = time.time()
    p_list = []
    for i in range(args.count):
        p = Process(target=test, args=('Process-%s' % (i + 1),))
        p.start()
        p_list.append(p)
    for p in p_list:
        p.join()
    print('main')
    print(time.time() - start_time)
    if any(p.exitcode != 0 for p in p_list):
        raise SystemExit(1)


if __name__ == '__main__':
    main()
