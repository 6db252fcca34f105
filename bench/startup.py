"""Start-up of the command line: `autoalign --help` against bare interpreters, in the same run.

Each command is started as a fresh process, as a user's shell starts it, several times in turn
(so a background load affects all of them alike); the median wall time is reported. Baselines:
`python -c pass` (the interpreter alone) and `python -c "import typer"` (the CLI framework
alone, which `--help` cannot avoid). Target: `autoalign --help` within 0.3 s.

The commands run with bytecode caching on, as in a user's shell: into a cache of this run's own
(`PYTHONPYCACHEPREFIX`, a temporary folder), which the warm-up run of each command fills. An
environment that turns caching off (`PYTHONDONTWRITEBYTECODE`) would otherwise have every start
compile the project's modules from source, which no installed copy does (pip compiles them at
install). For information, one more row starts `autoalign --help` the way this environment
does: no bytecode written, the project's modules compiled on each start.

For information, no target: `import autoalign.pipeline`, what `autoalign run` loads before it
can send its first request (the model SDKs, SQLAlchemy, numpy, the stages). `bench/pipeline.py`
starts its wall clock after this import, so this row is where its cost shows.

Run:  python bench/startup.py [--repeat 15] [--quick]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

TARGET_S = 0.3
"""`autoalign --help` must answer within this many seconds."""


def _autoalign() -> list[str]:
    """The installed console script next to this interpreter, else `python -m autoalign`."""
    script = Path(sys.executable).parent / "autoalign"
    return [str(script)] if script.exists() else [sys.executable, "-m", "autoalign"]


UNCACHED = "autoalign --help, uncached"
"""The one command started without a bytecode cache (the environment's own setting)."""


def _commands() -> dict[str, list[str]]:
    return {
        "python -c pass": [sys.executable, "-c", "pass"],
        "python -c 'import typer'": [sys.executable, "-c", "import typer"],
        "autoalign --help": [*_autoalign(), "--help"],
        "autoalign show --help": [*_autoalign(), "show", "--help"],
        "import autoalign.pipeline": [sys.executable, "-c", "import autoalign.pipeline"],
        UNCACHED: [*_autoalign(), "--help"],
    }


def _env(pycache: str | None) -> dict[str, str]:
    """The children's environment: bytecode cached under `pycache`, or not written at all."""
    env = {**os.environ, "COLUMNS": "100"}
    env.pop("PYTHONPYCACHEPREFIX", None)
    if pycache is None:
        env["PYTHONDONTWRITEBYTECODE"] = "1"
    else:
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        env["PYTHONPYCACHEPREFIX"] = pycache
    return env


def _once(argv: list[str], env: dict[str, str]) -> float:
    started = time.perf_counter()
    subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env,
                   check=True)
    return time.perf_counter() - started


def timings(repeat: int) -> dict[str, list[float]]:
    """Wall seconds of each command, `repeat` times, interleaved; one warm-up run each first
    (it fills the file cache and this run's bytecode cache, and is not measured)."""
    commands = _commands()
    with tempfile.TemporaryDirectory(prefix="autoalign-pycache-") as pycache:
        envs = {name: _env(None if name == UNCACHED else pycache) for name in commands}
        for name, argv in commands.items():
            _once(argv, envs[name])
        times: dict[str, list[float]] = {name: [] for name in commands}
        for _ in range(repeat):
            for name, argv in commands.items():
                times[name].append(_once(argv, envs[name]))
    return times


def measure(quick: bool = False) -> list[dict[str, Any]]:
    """Rows for bench/pipeline.py: median start-up time and its ratio to the bare interpreter."""
    times = timings(5 if quick else 15)
    bare = statistics.median(times["python -c pass"])
    rows = []
    for name in ("autoalign --help", "autoalign show --help"):
        value = statistics.median(times[name])
        rows.append({
            "name": f"start-up: {name}", "value": value, "unit": "s", "baseline": bare,
            "ratio": value / bare, "target": f"<= {TARGET_S} s", "ok": value <= TARGET_S,
        })
    framework = statistics.median(times["python -c 'import typer'"])
    rows.append({
        "name": "start-up: import typer (framework floor)", "value": framework, "unit": "s",
        "baseline": bare, "ratio": framework / bare, "target": "-", "ok": True,
    })
    pipeline = statistics.median(times["import autoalign.pipeline"])
    rows.append({
        "name": "start-up: import autoalign.pipeline (before a run's first request)",
        "value": pipeline, "unit": "s", "baseline": bare, "ratio": pipeline / bare,
        "target": "-", "ok": True,
    })
    uncached = statistics.median(times[UNCACHED])
    rows.append({
        "name": "start-up: autoalign --help, no bytecode cache (modules compiled each start)",
        "value": uncached, "unit": "s", "baseline": bare, "ratio": uncached / bare,
        "target": "-", "ok": True,
    })
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=15, help="runs of each command")
    parser.add_argument("--quick", action="store_true", help="5 runs of each command")
    args = parser.parse_args()
    times = timings(5 if args.quick else args.repeat)
    bare = statistics.median(times["python -c pass"])
    print(f"{'command':<30} {'median s':>9} {'min s':>7} {'max s':>7} {'x bare':>7}  n")
    for name, values in times.items():
        median = statistics.median(values)
        print(f"{name:<30} {median:9.3f} {min(values):7.3f} {max(values):7.3f} "
              f"{median / bare:7.1f}  {len(values)}")
    help_s = statistics.median(times["autoalign --help"])
    verdict = "PASS" if help_s <= TARGET_S else "FAIL"
    print(f"\nautoalign --help: {help_s:.3f} s, target <= {TARGET_S} s: {verdict}")
    sys.exit(0 if help_s <= TARGET_S else 1)


if __name__ == "__main__":
    main()
