"""interleave.py: time several commands side by side, round by round.

    python3 bench/interleave.py --out FILE [--rounds N] [--warmup W] [--seed S] \\
        [--cold PATH ...] -- LABEL RUNS COMMAND [LABEL RUNS COMMAND ...]

Each round runs every command of the workload once, in an order shuffled anew for
the round, so that load from other work on the machine, which comes and goes,
falls on procdemo, its C floor and its Python peers alike. (hyperfine runs all
runs of one command, then all runs of the next: load that changes between the
two moves their ratio.) bench/report.py then takes ratios within each round
and reports their median.

RUNS is how many of the N rounds the command takes part in: `all`, or a number
for a slow peer (a Python spawn-method run of 40 s), spread evenly over the
rounds. The W warm-up rounds before them are not recorded; they run every
command that takes part in at least 3 rounds.

COMMAND is one string, split into words as a shell would (shlex), and run
directly with posix_spawn (no shell: nothing of a shell's own start-up is
timed), stdin and stdout on /dev/null, stderr kept in a file and shown if the
command fails. Any exit status but 0 stops the measurement with status 1: each
peer checks its own result and exits 1 when it is wrong.

--cold PATH (any number of times) drops PATH's pages from the page cache
before the warm-up round (fsync, then posix_fadvise POSIX_FADV_DONTNEED), so
that the runs find it as after a fresh boot: brought back by the page faults
of exec, in single 4 KiB pages. How a program's file came into the page cache
changes what every exec of it costs: lld writes its output through a memory
mapping, and exec faults read a file back page by page, both leaving 4 KiB
pages, while cp(1) writes large folios, which fault-around maps many pages at
a time. The same procdemo binary ran join --count 1000 in 0.297 s from the
one and 0.271 s from the other (1.27x and 1.15x the C floor). bench/run gives
procdemo and the C floor programs alike, so all start the same way.

Per run it records the wall time (from just before posix_spawn to just after
wait4), and the user and system CPU time of the command and every process it
waited for (wait4's rusage), and the 1-minute load average before the run.
FILE gets one JSON object: the commands, the seed, the load average at the
start and the end, and every run. A line per round goes to stderr.
"""
import argparse
import json
import os
import random
import shlex
import sys
import tempfile
import time


def loadavg():
    with open('/proc/loadavg') as f:
        return ' '.join(f.read().split()[:3])


def run_once(argv, devnull, stderr_file):
    """Run argv once; returns (wall s, user s, sys s), or exits if it fails."""
    stderr_file.seek(0)
    stderr_file.truncate()
    actions = [
        (os.POSIX_SPAWN_DUP2, devnull, 0),
        (os.POSIX_SPAWN_DUP2, devnull, 1),
        (os.POSIX_SPAWN_DUP2, stderr_file.fileno(), 2),
    ]
    start = time.perf_counter()
    pid = os.posix_spawnp(argv[0], argv, os.environ, file_actions=actions)
    while True:
        try:
            _, status, usage = os.wait4(pid, 0)
            break
        except InterruptedError:
            continue
    wall = time.perf_counter() - start
    code = os.waitstatus_to_exitcode(status)
    if code != 0:
        stderr_file.seek(0)
        err = stderr_file.read().decode(errors='replace')
        sys.exit('interleave: `%s` exited with %d%s' % (
            shlex.join(argv), code, (':\n' + err[-4000:]) if err else ''))
    return wall, usage.ru_utime, usage.ru_stime


def drop_from_page_cache(path):
    """Write PATH's dirty pages out, then ask the kernel to drop its cached pages."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
    finally:
        os.close(fd)


def rounds_of(runs, rounds):
    """The rounds (0-based) a command with RUNS runs takes part in, spread evenly."""
    if runs >= rounds:
        return set(range(rounds))
    return {(i * rounds) // runs for i in range(runs)}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--out', required=True)
    parser.add_argument('--rounds', type=int, default=10)
    parser.add_argument('--warmup', type=int, default=1)
    parser.add_argument('--seed', type=int, default=None)
    parser.add_argument('--cold', action='append', default=[], metavar='PATH',
                        help='drop this file from the page cache before the warm-up round')
    parser.add_argument('spec', nargs='+', metavar='LABEL RUNS COMMAND')
    args = parser.parse_args()
    if len(args.spec) % 3 != 0:
        parser.error('commands come as LABEL RUNS COMMAND triples')
    if args.rounds < 1:
        parser.error('--rounds must be at least 1')

    commands = []
    for i in range(0, len(args.spec), 3):
        label, runs, command = args.spec[i:i + 3]
        runs = args.rounds if runs == 'all' else int(runs)
        commands.append(dict(label=label, command=command, argv=shlex.split(command),
                             runs=min(runs, args.rounds)))
    labels = [c['label'] for c in commands]
    if len(set(labels)) != len(labels):
        parser.error('labels must differ')
    for c in commands:
        c['rounds'] = rounds_of(c['runs'], args.rounds)

    seed = args.seed if args.seed is not None else random.SystemRandom().randrange(2 ** 32)
    rng = random.Random(seed)
    record = dict(rounds=args.rounds, warmup=args.warmup, seed=seed,
                  loadavg_start=loadavg(),
                  commands=[dict(label=c['label'], command=c['command'], runs=c['runs'])
                            for c in commands],
                  runs=[])
    for path in args.cold:
        drop_from_page_cache(path)
    record['cold'] = args.cold
    devnull = os.open(os.devnull, os.O_RDWR)
    started = time.monotonic()
    with tempfile.TemporaryFile() as stderr_file:
        for r in range(-args.warmup, args.rounds):
            if r < 0:
                todo = [c for c in commands if c['runs'] >= 3]
            else:
                todo = [c for c in commands if r in c['rounds']]
            rng.shuffle(todo)
            shown = []
            for position, c in enumerate(todo):
                load = float(loadavg().split()[0])
                wall, user, sys_ = run_once(c['argv'], devnull, stderr_file)
                if r >= 0:
                    record['runs'].append(dict(round=r, position=position, label=c['label'],
                                               wall_s=wall, user_s=user, sys_s=sys_,
                                               loadavg1=load))
                shown.append('%s %.3f' % (c['label'], wall))
            print('  %s %s: %s' % ('warm-up' if r < 0 else 'round', r + 1 if r >= 0 else '',
                                   ', '.join(shown)), file=sys.stderr)
    record['loadavg_end'] = loadavg()
    record['elapsed_s'] = time.monotonic() - started
    with open(args.out, 'w') as f:
        json.dump(record, f, indent=1)
        f.write('\n')


if __name__ == '__main__':
    main()
