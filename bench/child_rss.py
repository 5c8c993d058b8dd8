"""child_rss.py: peak resident set (RSS) of one procdemo child process.

    python3 bench/child_rss.py PROCDEMO MAXRSS

Method (the child's own figure): run
    PROCDEMO --json --time-scale 0.5 join --count 3
whose children Process-2 and Process-3 sleep 0.5 s and 1 s. Each child's
`start` event on stdout gives its pid; while it lives, /proc/<pid>/status is
read every 2 ms and the largest VmHWM (the kernel's own peak-RSS counter of
that process since its exec) is kept. VmHWM only grows, so the last sample,
taken just before the child exits, holds its peak up to then; only its final
line of output and exit() come after. Samples are only kept while the
process's PPid is procdemo's main, so a recycled pid cannot count.
Process-1 sleeps 0 s and may end before it is sampled; it does the same work.

Cross-check: MAXRSS runs
    PROCDEMO --json --time-scale 0 join --count 1
and prints getrusage(RUSAGE_CHILDREN).ru_maxrss, the peak of the largest
process that was waited for: max(main, child), not the child alone. It is
another run, so it may differ from the sampled figure by a few pages.

RSS counts every resident page of the process, including shared library and
binary pages that other processes share. Prints one JSON object on stdout.
"""
import json
import subprocess
import sys
import threading
import time

SCALE = '0.5'
COUNT = '3'


def status_fields(pid):
    fields = {}
    try:
        with open('/proc/%d/status' % pid) as f:
            for line in f:
                key, _, value = line.partition(':')
                fields[key] = value.split()
    except OSError:  # gone already
        pass
    return fields


def sample_children(procdemo):
    cmd = [procdemo, '--json', '--time-scale', SCALE, 'join', '--count', COUNT]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
    children = {}  # pid -> name, from the `start` events
    main_pid = []

    def read_events():
        for line in proc.stdout:
            event = json.loads(line)
            if event.get('event') != 'start':
                continue
            if event.get('name') == 'main':
                main_pid.append(event['pid'])
            else:
                children[event['pid']] = event['name']

    reader = threading.Thread(target=read_events)
    reader.start()
    peaks = {}  # name -> peak VmHWM in KiB
    while proc.poll() is None:
        for pid, name in list(children.items()):
            fields = status_fields(pid)
            if 'VmHWM' not in fields or not main_pid:
                continue  # exited (a zombie has no VmHWM) or not yet known
            if int(fields['PPid'][0]) != main_pid[0]:
                continue
            peaks[name] = max(peaks.get(name, 0), int(fields['VmHWM'][0]))
        time.sleep(0.002)
    reader.join()
    if proc.returncode != 0:
        sys.exit('child_rss: %s exited with %d' % (' '.join(cmd), proc.returncode))
    return ' '.join(cmd), peaks


def main():
    procdemo, maxrss = sys.argv[1], sys.argv[2]
    command, peaks = sample_children(procdemo)
    if not peaks:
        sys.exit('child_rss: no child of `%s` could be sampled' % command)

    rusage_cmd = [maxrss, procdemo, '--json', '--time-scale', '0', 'join', '--count', '1']
    rusage = subprocess.run(rusage_cmd, stdout=subprocess.PIPE, text=True, check=True)
    print(json.dumps({
        'command': command,
        'child_peak_kib': max(peaks.values()),
        'per_child_kib': peaks,
        'rusage_command': ' '.join(rusage_cmd),
        'rusage_max_kib': int(rusage.stdout.split()[-1]),
    }))


if __name__ == '__main__':
    main()
