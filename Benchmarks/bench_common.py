"""Helpers the benchmark drivers (ann_bench.py, text_bench.py) share: logging and JSON-line
events, the resident memory of a process, running a JSON-lines program and collecting its
events, finding the Freshet benchmark program, and formatting numbers and tables for the
reports. Imported from beside them (not a script of its own).
"""
import ctypes
import json
import os
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def emit(event):
    print(json.dumps(event), flush=True)


def rss_bytes():
    """VmRSS of this process after handing freed heap back to the kernel."""
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise RuntimeError("no VmRSS in /proc/self/status")


def package_version(name):
    try:
        from importlib.metadata import version
        return version(name)
    except Exception:
        return "?"


def run_events(name, cmd, env=None):
    """Run a JSON-lines program; echo its lines to stderr as they come, return the events."""
    log(f"[{name}] $ {' '.join(cmd)}")
    load_start = os.getloadavg()[0]
    events = []
    started = time.time()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True, bufsize=1, env=env)
    for line in proc.stdout:
        line = line.strip()
        if not line:
            continue
        try:
            event = json.loads(line)
        except json.JSONDecodeError:
            log(f"[{name}] {line}")
            continue
        if not isinstance(event, dict):
            log(f"[{name}] {line}")
            continue
        events.append(event)
        log(f"[{name}] {line}")
    code = proc.wait()
    if code != 0:
        log(f"[{name}] exited with status {code} after {time.time() - started:.0f} s; "
            f"keeping the {len(events)} events it printed")
    return {"system": name, "cmd": cmd, "exit_code": code, "events": events,
            "wall_seconds": round(time.time() - started, 1), "loadavg": [load_start, os.getloadavg()[0]]}


def freshet_program(path, product, env_var, others):
    """The Freshet benchmark program `product`: path (--freshet-bin), else $env_var, else
    .build/release/<product>; a relative path that does not exist from here is taken from the
    repository root. None, after saying how to build it, when it is not an executable file;
    `others` says what still runs without it."""
    path = path or os.environ.get(env_var) or f".build/release/{product}"
    if not os.path.isabs(path) and not os.path.exists(path):
        path = os.path.join(REPO, path)
    if not (os.path.isfile(path) and os.access(path, os.X_OK)):
        log(f"\n*** Freshet benchmark program not found at {path}: skipping Freshet.\n"
            f"*** Build it with `swift build -c release --product {product}`, or point "
            f"{env_var} (or --freshet-bin) at it. {others}\n")
        return None
    return path


def fmt_num(value, digits=1):
    if isinstance(value, float):
        return f"{value:,.{digits}f}" if abs(value) < 1e15 else str(value)
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}"
    return str(value)


def mib(value):
    return f"{value / 2**20:,.1f} MiB" if isinstance(value, (int, float)) else "-"


def table(headers, rows):
    widths = [max(len(str(h)), *(len(str(r[i])) for r in rows)) if rows else len(str(h))
              for i, h in enumerate(headers)]
    lines = ["  ".join(str(h).ljust(w) for h, w in zip(headers, widths)),
             "  ".join("-" * w for w in widths)]
    for row in rows:
        lines.append("  ".join(str(c).ljust(w) for c, w in zip(row, widths)))
    return "\n".join(lines)


def raw_events_heading(run):
    """The report line above a run's raw events: its wall time and the load around it."""
    load = run.get("loadavg")
    load = f", 1-min load average {load[0]:.1f} at start, {load[1]:.1f} at end" if load else ""
    return f"\n--- {run['system']} raw events ({run['wall_seconds']} s wall{load}) ---"
