"""report.py: turn the measurements of bench/run into a table.

    python3 bench/report.py OUT_DIR PROCDEMO RESULTS_MD

Reads OUT_DIR/<workload>.json for join, tickets, queue, pool and shared
(bench/interleave.py files: every run of every round; a workload that
BENCH_ONLY left out is missing), OUT_DIR/version.json (hyperfine
--export-json), OUT_DIR/rss.json (bench/child_rss.py) and
OUT_DIR/commands.txt (the exact commands bench/run ran). Prints the tables as
Markdown and writes them, with the date, the machine, the load and the
commands, to RESULTS_MD.

Ratios are paired: "× C floor" is the median, over the rounds, of a command's
time divided by the C floor's time in the same round, and "procdemo faster by"
the median of the peer's time divided by procdemo's in the same round. Load
that comes and goes between rounds then moves both sides of a ratio alike.

A workload measured without a procdemo row (procdemo does not have that
lesson) gets a "not available" row, and its targets "not measured".
"""
import datetime
import json
import os
import platform
import statistics
import subprocess
import sys

# Per workload: the measurement file, the title, procdemo's row and the C floor's row
# in that file, the rows to show (None: all), the most procdemo may take as a
# multiple of the floor, and how many times faster than each Python start
# method it must be (None: no target, the row is shown for reference).
WORKLOADS = [
    dict(key='join', file='join', title='spawn: `join --count 1000`',
         ours='procdemo', floor='C floor', rows=None, limit=1.25,
         faster={'python fork': 3, 'python spawn': 50}),
    dict(key='tickets', file='tickets', title='tickets: `tickets --buyers 1000 --tickets 1000`',
         ours='procdemo', floor='C floor', rows=None, limit=1.15,
         faster={'python fork': 3, 'python spawn': 50}),
    dict(key='queue', file='queue',
         title='queue: `queue --producers 2 --consumers 2 --items 50000 --capacity 3` '
               '(100,000 items)',
         ours='procdemo', floor='C floor', rows=None, limit=1.5,
         faster={'python fork': 5, 'python spawn': None}),
    dict(key='pool', file='pool', title='pool: `pool --workers 4 --tasks 10000`',
         ours='procdemo', floor='C floor', rows=None, limit=1.5,
         faster={'python fork': 5, 'python fork, chunksize 1': None, 'python spawn': None}),
    dict(key='shared', file='shared', title='shared: `shared --workers 4 --adds 1000000`, lock',
         ours='procdemo', floor='C floor',
         rows=['procdemo', 'C floor', 'python fork', 'python spawn'], limit=1.5,
         faster={'python fork': 5, 'python spawn': None}),
    dict(key='shared --atomic', file='shared',
         title='shared: `shared --workers 4 --adds 1000000 --atomic` '
               '(Python: the same locked run, it has no atomic add)',
         ours='procdemo, atomic', floor='C floor, atomic',
         rows=['procdemo, atomic', 'C floor, atomic', 'python fork', 'python spawn'], limit=1.5,
         faster={'python fork': 5, 'python spawn': None}),
]
MIB = 1024


def load(path):
    try:
        with open(path) as f:
            return json.load(f)
    except FileNotFoundError:
        return None


class Workload:
    """One bench/interleave.py file: every run, by command and by round."""

    def __init__(self, data):
        self.data = data
        self.labels = [c['label'] for c in data['commands']]
        self.by_round = {}  # round -> label -> run
        for run in data['runs']:
            self.by_round.setdefault(run['round'], {})[run['label']] = run

    def runs(self, label):
        return [r[label] for _, r in sorted(self.by_round.items()) if label in r]

    def wall(self, label):
        return [run['wall_s'] for run in self.runs(label)]

    def cpu(self, label):
        return [run['user_s'] + run['sys_s'] for run in self.runs(label)]

    def paired(self, label, base, cpu=False):
        """label's time / base's time in each round where both ran."""
        key = (lambda r: r['user_s'] + r['sys_s']) if cpu else (lambda r: r['wall_s'])
        return [key(r[label]) / key(r[base]) for r in self.by_round.values()
                if label in r and base in r and key(r[base]) > 0]

    def load1(self):
        return [run['loadavg1'] for run in self.data['runs']]


def median(xs):
    return statistics.median(xs) if xs else None


def quartiles(xs):
    """The first and third quartiles, or None with fewer than 4 values."""
    if len(xs) < 4:
        return None
    q = statistics.quantiles(xs, n=4)
    return q[0], q[2]


def output(cmd):
    try:
        return subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                              text=True).stdout.strip()
    except OSError:
        return '?'


def machine():
    cpu = '?'
    with open('/proc/cpuinfo') as f:
        for line in f:
            if line.startswith('model name'):
                cpu = line.split(':', 1)[1].strip()
                break
    return '%d cores (nproc), Linux %s, %s' % (os.cpu_count(), platform.release(), cpu)


def seconds(x):
    return '%.*f' % (3 if x >= 0.1 else 4, x)


def ratio_text(xs, unit=''):
    """`1.12 (1.05–1.20)`: the median of paired ratios and their quartiles."""
    m = median(xs)
    if m is None:
        return ''
    q = quartiles(xs)
    return '%.2f%s' % (m, unit) + (' (%.2f–%.2f)' % q if q else '')


def loadavg(path):
    try:
        with open(path) as f:
            return ' '.join(f.read().split()[:3])
    except OSError:
        return '?'


def check(label, measured, ok):
    if ok is None:
        return '| %s | %s | not measured |' % (label, measured)
    return '| %s | %s | %s |' % (label, measured, 'met' if ok else '**NOT met**')


def main():
    out, procdemo, results_md = sys.argv[1:4]
    lines = ['| workload | tool | median (s) | min (s) | CPU median (s) | runs '
             '| × C floor | × C floor, CPU | procdemo faster by |',
             '|---|---|---:|---:|---:|---:|---:|---:|---:|']
    targets = ['| target | measured | status |', '|---|---|---|']
    loads = ['| workload | rounds | 1-min load average over its runs | at its start → end '
             '| took (s) |',
             '|---|---:|---|---|---:|']

    for w in WORKLOADS:
        data = load(os.path.join(out, w['file'] + '.json'))
        if data is None:
            continue  # not measured this time (BENCH_ONLY)
        m = Workload(data)
        if w['key'] == w['file']:
            load1 = m.load1()
            loads.append('| %s | %d | %.1f to %.1f (median %.1f) | %s → %s | %.0f |' % (
                w['file'], data['rounds'], min(load1), max(load1), median(load1),
                data['loadavg_start'].split()[0], data['loadavg_end'].split()[0],
                data['elapsed_s']))
        labels = [name for name in m.labels if w['rows'] is None or name in w['rows']]
        floor, ours = w['floor'], w['ours']
        have_ours = ours in m.labels
        lesson = w['file']
        if not have_ours:
            lines.append('| %s | %s | not available: procdemo has no `%s` | | | | | | |' % (
                w['title'], ours, lesson))
        for name in labels:
            wall, cpu = m.wall(name), m.cpu(name)
            vs_floor = ratio_text(m.paired(name, floor)) if name != floor else '1.00'
            vs_floor_cpu = ('%.2f' % median(m.paired(name, floor, cpu=True))
                            if name != floor else '1.00')
            speedup = ''
            if have_ours and name.startswith('python'):
                speedup = ratio_text(m.paired(name, ours), '×')
            lines.append('| %s | %s | %s | %s | %s | %d | %s | %s | %s |' % (
                w['title'], name, seconds(median(wall)), seconds(min(wall)),
                seconds(median(cpu)), len(wall), vs_floor, vs_floor_cpu, speedup))

        missing = 'not available (no `procdemo %s`)' % lesson
        label = '%s: procdemo ≤ %.2f× C floor' % (w['key'], w['limit'])
        if not have_ours:
            targets.append(check(label, missing, None))
        else:
            r = median(m.paired(ours, floor))
            cpu = median(m.paired(ours, floor, cpu=True))
            targets.append(check(label, '%.2f× (CPU time: %.2f×)' % (r, cpu), r <= w['limit']))
        for peer, factor in w['faster'].items():
            if factor is None:
                continue
            label = '%s: procdemo ≥ %d× faster than %s' % (w['key'], factor, peer)
            if peer not in m.labels:
                targets.append(check(label, 'skipped (BENCH_QUICK=1)', None))
            elif not have_ours:
                targets.append(check(label, missing, None))
            else:
                speedup = median(m.paired(peer, ours))
                targets.append(check(label, '%.1f×' % speedup, speedup >= factor))

    rss = load(os.path.join(out, 'rss.json'))
    if rss is not None:
        peak = rss['child_peak_kib']
        targets.append(check(
            'child peak RSS ≤ 3 MiB',
            '%.2f MiB (VmHWM, largest child; getrusage max(main, child): %.2f MiB)' % (
                peak / MIB, rss['rusage_max_kib'] / MIB),
            peak <= 3 * MIB))

    version = load(os.path.join(out, 'version.json'))
    if version is not None:
        results = {r['command']: r for r in version['results']}
        for name, r in results.items():
            lines.append('| startup: `--version` | %s | %s | %s | | %d | | | |' % (
                name, seconds(r['median']), seconds(min(r['times'])), len(r['times'])))
        v = results['procdemo']['median'] * 1000
        targets.append(check('`procdemo --version` < 2 ms', '%.2f ms (median)' % v, v < 2))

    table = '\n'.join(lines) + '\n\n' + '\n'.join(targets) + '\n'
    print()
    print(table)
    print('\n'.join(loads))

    with open(os.path.join(out, 'commands.txt')) as f:
        commands = f.read()
    now = datetime.datetime.now(datetime.timezone.utc).strftime('%Y-%m-%d %H:%M UTC')
    with open(results_md, 'w') as f:
        f.write('# procdemo benchmark results\n\n')
        f.write('Written by `bench/run`; see `bench/README.md` for what each workload measures.\n\n')
        f.write('- date: %s\n' % now)
        f.write('- machine: %s\n' % machine())
        f.write('- procdemo: %s (commit %s)\n' % (
            output([procdemo, '--version']), output(['git', 'rev-parse', '--short', 'HEAD'])))
        f.write('- %s, %s, %s\n' % (
            'Python ' + platform.python_version(),
            output(['gcc', '--version']).splitlines()[0], output(['hyperfine', '--version'])))
        f.write('- load average (1, 5, 15 min) at the start: %s; at the end: %s\n\n' % (
            loadavg(os.path.join(out, 'loadavg.start')), loadavg('/proc/loadavg')))
        f.write('Method: each workload is measured in rounds (`bench/interleave.py`); a round '
                'runs every command of the workload once, in a shuffled order, each started '
                'with posix_spawn, stdout on /dev/null. "median" and "min" are wall times, "CPU" '
                'is user + system time of the command and all its children (wait4). '
                '"× C floor" is the median over the rounds of the command\'s time divided by '
                'the C floor\'s time in the same round (quartiles in brackets); "procdemo '
                'faster by" the median of the peer\'s time divided by procdemo\'s in the same '
                'round. The targets are checked on these paired wall-time medians. The '
                'start-up row is hyperfine (1000 runs, no shell).\n\n')
        f.write(table)
        f.write('\nLoad on the machine while each workload ran. The benchmark\'s own processes '
                'count: join and tickets start 1000 at once and the Python spawn peers 1000 '
                'interpreters, so the 1-minute average climbs during them and decays slowly '
                'after; the load at the start of the run is the one that shows other work.'
                '\n\n')
        f.write('\n'.join(loads) + '\n')
        if rss is not None:
            f.write('\nChild peak RSS: `%s`, VmHWM of each child sampled from /proc while it '
                    'sleeps (KiB: %s); cross-check `%s` (getrusage RUSAGE_CHILDREN: '
                    'max of main and child).\n' % (
                        rss['command'],
                        ', '.join('%s %d' % kv for kv in sorted(rss['per_child_kib'].items())),
                        rss['rusage_command']))
        f.write('\n## Commands run\n\n```\n%s```\n' % commands)


if __name__ == '__main__':
    main()
