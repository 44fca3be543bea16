"""Wall time of ``weir validate`` over the corpus of real Kestra flows.

Runs the installed ``weir`` command as a user would (a fresh process each time, imports included)
and prints the minimum, median and maximum wall time, the files per second, the bare
interpreter's start measured in the same run (the floor of any command), and the ratio of the
median to the 0.5-second goal. A benchmark, never a test: it asserts nothing.

    python bench/validate.py [--runs N] [--corpus PATH]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

TARGET_SECONDS = 0.5
# Commands run as installed: with their bytecode cached, whatever this shell says.
ENV = {name: value for name, value in os.environ.items() if name != "PYTHONDONTWRITEBYTECODE"}
DEFAULT_CORPUS = Path(__file__).resolve().parents[1].parent / "shared" / "corpus" / "kestra-flows"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    args = parser.parse_args()
    weir = Path(sys.executable).parent / "weir"
    files = sorted(args.corpus.glob("*.y*ml"))
    command = [str(weir), "validate", str(args.corpus)]
    subprocess.run(command, capture_output=True, env=ENV, check=False)  # warm the caches
    times = []
    for _ in range(args.runs):
        start = time.perf_counter()
        run = subprocess.run(command, capture_output=True, text=True, env=ENV, check=False)
        times.append(time.perf_counter() - start)
        if run.returncode not in (0, 1):
            print(run.stderr, file=sys.stderr)
            return 1
    median = statistics.median(times)
    floors = []
    for _ in range(args.runs):
        start = time.perf_counter()
        subprocess.run([sys.executable, "-c", "pass"], env=ENV, check=False)
        floors.append(time.perf_counter() - start)
    print(f"weir validate over {len(files)} flows, {args.runs} runs")
    print(f"  wall time   min {min(times):.3f} s   median {median:.3f} s   max {max(times):.3f} s")
    print(f"  throughput  {len(files) / median:.0f} flows/s")
    print(f"  summary     {run.stdout.strip().splitlines()[-1]}")
    print(f"  baseline    `python -c pass` median {statistics.median(floors):.3f} s")
    print(f"  ratio to the {TARGET_SECONDS:g} s goal: x{median / TARGET_SECONDS:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
