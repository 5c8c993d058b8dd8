"""report.py: turn the measurements of bench/run into a table.

    python3 bench/report.py OUT_DIR PROCDEMO RESULTS_MD

Reads OUT_DIR/{join,join_spawn,tickets,tickets_spawn,version}.json (hyperfine
--export-json files; the *_spawn ones are missing with BENCH_QUICK=1),
OUT_DIR/rss.json (bench/child_rss.py) and OUT_DIR/commands.txt (the exact
commands bench/run ran). Prints the tables as Markdown and writes them, with
the date, the machine and the commands, to RESULTS_MD.
"""
import datetime
import json
import os
import platform
import subprocess
import sys

WORKLOADS = [
    ('join', 'spawn: `join --count 1000`', 'C floor'),
    ('tickets', 'tickets: `tickets --buyers 1000 --tickets 1000`', 'C floor'),
]
MIB = 1024


def load(path):
    try:
        with open(path) as f:
            return json.load(f)
    except FileNotFoundError:
        return None


def medians(out, workload):
    """name -> hyperfine result, the main run and the spawn-method run merged."""
    rows = {}
    for suffix in ('', '_spawn'):
        data = load(os.path.join(out, workload + suffix + '.json'))
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

    for workload, title, floor_name in WORKLOADS:
        rows = medians(out, workload)
        floor = rows[floor_name]['median']
        ours = rows['procdemo']['median']
        for name, r in rows.items():
            speedup = '%.1f×' % (r['median'] / ours) if name.startswith('python') else ''
            lines.append(row(title, name, r, floor, speedup))

        limit = 1.5 if workload == 'join' else 1.3
        targets.append(check('%s: procdemo ≤ %.1f× C floor' % (workload, limit),
                             '%.2f×' % (ours / floor), ours / floor <= limit))
        for peer, factor in (('python fork', 3), ('python spawn', 50)):
            label = '%s: procdemo ≥ %d× faster than %s' % (workload, factor, peer)
            if peer in rows:
                speedup = rows[peer]['median'] / ours
                targets.append(check(label, '%.1f×' % speedup, speedup >= factor))
            else:
                targets.append(check(label, 'skipped (BENCH_QUICK=1)', None))

    rss = load(os.path.join(out, 'rss.json'))
    peak = rss['child_peak_kib']
    targets.append(check(
        'child peak RSS ≤ 3 MiB',
        '%.2f MiB (VmHWM, largest child; getrusage max(main, child): %.2f MiB)' % (
            peak / MIB, rss['rusage_max_kib'] / MIB),
        peak <= 3 * MIB))

    version = medians(out, 'version')
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
        f.write('\nChild peak RSS: `%s`, VmHWM of each child sampled from /proc while it '
                'sleeps (KiB: %s); cross-check `%s` (getrusage RUSAGE_CHILDREN: '
                'max of main and child).\n' % (
                    rss['command'],
                    ', '.join('%s %d' % kv for kv in sorted(rss['per_child_kib'].items())),
                    rss['rusage_command']))
        f.write('\n## Commands run\n\n```\n%s```\n' % commands)


if __name__ == '__main__':
    main()
