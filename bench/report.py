"""report.py: turn the measurements of bench/run into a table.

    python3 bench/report.py OUT_DIR PROCDEMO RESULTS_MD

Reads OUT_DIR/<workload>.json and <workload>_spawn.json for join, tickets,
queue, pool and shared, and OUT_DIR/version.json (hyperfine --export-json
files; the *_spawn ones are missing with BENCH_QUICK=1, and a workload that
BENCH_ONLY left out is missing altogether), OUT_DIR/rss.json
(bench/child_rss.py) and OUT_DIR/commands.txt (the exact commands bench/run
ran). Prints the tables as Markdown and writes them, with the date, the
machine and the commands, to RESULTS_MD.

A workload measured without a procdemo row (procdemo does not have that
lesson yet) gets a "not available" row, and its targets "not measured".
"""
import datetime
import json
import os
import platform
import subprocess
import sys

# Per workload: the hyperfine file, the title, procdemo's row and the C floor's row
# in that file, the rows to show (None: all), the most procdemo may take as a
# multiple of the floor, and how many times faster than each Python start
# method it must be (None: no target, the row is shown for reference).
WORKLOADS = [
    dict(key='join', file='join', title='spawn: `join --count 1000`',
         ours='procdemo', floor='C floor', rows=None, limit=1.5,
         faster={'python fork': 3, 'python spawn': 50}),
    dict(key='tickets', file='tickets', title='tickets: `tickets --buyers 1000 --tickets 1000`',
         ours='procdemo', floor='C floor', rows=None, limit=1.3,
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


def medians(out, workload):
    """name -> hyperfine result, the main run and the spawn-method run merged;
    None if the workload was not measured."""
    main = load(os.path.join(out, workload + '.json'))
    if main is None:
        return None
    rows = {}
    for data in (main, load(os.path.join(out, workload + '_spawn.json'))):
        for result in (data or {}).get('results', []):
            rows[result['command']] = result
    return rows


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


def row(title, name, r, floor=None, speedup=''):
    ratio = '%.2f' % (r['median'] / floor) if floor else ''
    digits = 3 if r['median'] >= 0.1 else 4
    return '| %s | %s | %.*f | %.*f ± %.*f | %d | %s | %s |' % (
        title, name, digits, r['median'], digits, r['mean'], digits, r['stddev'] or 0,
        len(r['times']), ratio, speedup)


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
    lines = ['| workload | tool | median (s) | mean ± σ (s) | runs | × C floor | procdemo faster by |',
             '|---|---|---:|---:|---:|---:|---:|']
    targets = ['| target | measured | status |', '|---|---|---|']

    for w in WORKLOADS:
        rows = medians(out, w['file'])
        if rows is None:
            continue  # not measured this time (BENCH_ONLY)
        if w['rows'] is not None:
            rows = {name: r for name, r in rows.items() if name in w['rows']}
        floor = rows[w['floor']]['median']
        ours = rows[w['ours']]['median'] if w['ours'] in rows else None
        lesson = w['file']
        if ours is None:
            lines.append('| %s | %s | not available: procdemo has no `%s` yet | | | | |' % (
                w['title'], w['ours'], lesson))
        for name, r in rows.items():
            speedup = ('%.1f×' % (r['median'] / ours)
                       if ours is not None and name.startswith('python') else '')
            lines.append(row(w['title'], name, r, floor, speedup))

        missing = 'not available (no `procdemo %s` yet)' % lesson
        label = '%s: procdemo ≤ %.1f× C floor' % (w['key'], w['limit'])
        if ours is None:
            targets.append(check(label, missing, None))
        else:
            targets.append(check(label, '%.2f×' % (ours / floor), ours / floor <= w['limit']))
        for peer, factor in w['faster'].items():
            if factor is None:
                continue
            label = '%s: procdemo ≥ %d× faster than %s' % (w['key'], factor, peer)
            if peer not in rows:
                targets.append(check(label, 'skipped (BENCH_QUICK=1)', None))
            elif ours is None:
                targets.append(check(label, missing, None))
            else:
                speedup = rows[peer]['median'] / ours
                targets.append(check(label, '%.1f×' % speedup, speedup >= factor))

    rss = load(os.path.join(out, 'rss.json'))
    if rss is not None:
        peak = rss['child_peak_kib']
        targets.append(check(
            'child peak RSS ≤ 3 MiB',
            '%.2f MiB (VmHWM, largest child; getrusage max(main, child): %.2f MiB)' % (
                peak / MIB, rss['rusage_max_kib'] / MIB),
            peak <= 3 * MIB))

    version = medians(out, 'version')
    if version is not None:
        for name, r in version.items():
            lines.append(row('startup: `--version`', name, r))
        v = version['procdemo']['median'] * 1000
        targets.append(check('`procdemo --version` < 2 ms', '%.2f ms (median)' % v, v < 2))

    table = '\n'.join(lines) + '\n\n' + '\n'.join(targets) + '\n'
    print()
    print(table)

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
            output(['hyperfine', '--version']), 'Python ' + platform.python_version(),
            output(['gcc', '--version']).splitlines()[0]))
        f.write('- load average (1, 5, 15 min) at the start: %s; at the end: %s\n\n' % (
            loadavg(os.path.join(out, 'loadavg.start')), loadavg('/proc/loadavg')))
        f.write('Medians over hyperfine runs; "× C floor" is median / the C floor\'s median, '
                '"procdemo faster by" is the peer\'s median / procdemo\'s.\n\n')
        f.write(table)
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
