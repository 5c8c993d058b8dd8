"""queue_mp.py: the Python peer of `procdemo queue`, for the benchmark.

The tutorial's producer/consumer (producer_consumer.py) with P producers,
C consumers, N items per producer, Queue(K), and no sleeps: each producer
puts 'producer-<p>:<i>' for i in range(N) and prints a line per put; each
consumer gets, prints a line per item, and stops at None; the main joins the
producers, puts one None per consumer, joins the consumers.

Like procdemo's summary it then checks the run: every item got exactly once
(a shared byte per item, counted by the consumers) and, for every consumer,
each producer's items in the order they were put. It prints the summary
line, and exits 1 if an item was lost or duplicated or came out of order.

    python3 queue_mp.py [--method fork|spawn] PRODUCERS CONSUMERS ITEMS CAPACITY
"""
import argparse
import multiprocessing
import sys
from multiprocessing import Array, Process, Queue


def producer(p, items, q):
    name = 'producer-%d' % p
    for i in range(items):
        data = '%s:%d' % (name, i)
        q.put(data)  # blocks while the queue is full
        print('%s put %s' % (name, data))


def consumer(c, items, q, seen, out_of_order, producers):
    name = 'consumer-%d' % c
    last = [-1] * producers
    while True:
        food = q.get()  # blocks while the queue is empty
        if food is None:
            print('%s: end of the queue' % name)
            break
        p, i = food[len('producer-'):].split(':')
        p, i = int(p), int(i)
        seen[p * items + i] += 1
        if i <= last[p]:
            out_of_order.value = 1
        last[p] = i
        print('%s got %s' % (name, food))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--method', choices=['fork', 'spawn'], default='fork')
    parser.add_argument('producers', type=int)
    parser.add_argument('consumers', type=int)
    parser.add_argument('items', type=int, help='per producer')
    parser.add_argument('capacity', type=int)
    args = parser.parse_args()
    multiprocessing.set_start_method(args.method)

    q = Queue(args.capacity)
    total = args.producers * args.items
    seen = Array('B', total, lock=False)  # checks only: how often each item was got
    out_of_order = multiprocessing.Value('b', 0, lock=False)
    ps = [Process(target=producer, args=(p, args.items, q)) for p in range(args.producers)]
    cs = [Process(target=consumer, args=(c, args.items, q, seen, out_of_order, args.producers))
          for c in range(args.consumers)]
    for p in ps + cs:
        p.start()
    for p in ps:
        p.join()
    for _ in cs:
        q.put(None)  # one end marker per consumer
    for c in cs:
        c.join()

    got = sum(seen)
    lost = sum(1 for n in seen if n == 0)
    duplicated = sum(n - 1 for n in seen if n > 1)
    in_order = not out_of_order.value
    print('main: put %d, got %d, lost %d, duplicated %d, in order %s'
          % (total, got, lost, duplicated, in_order))
    failed = [p for p in ps + cs if p.exitcode != 0]
    if lost or duplicated or not in_order or failed:
        print('queue_mp: %d lost, %d duplicated, in order: %s, %d processes failed'
              % (lost, duplicated, in_order, len(failed)), file=sys.stderr)
        raise SystemExit(1)


if __name__ == '__main__':
    main()
