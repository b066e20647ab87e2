"""Run every benchmark under perf/ (``bench_*.py``) and summarise which met its targets.

Each benchmark is a script that prints its measured figures and exits non-zero when a target
is missed. ``python perf/run.py agreement`` runs only the benchmarks whose name contains
"agreement".
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path


def main(argv: list[str]) -> int:
    here = Path(__file__).parent
    scripts = sorted(here.glob("bench_*.py"))
    if argv:
        scripts = [s for s in scripts if any(a in s.stem for a in argv)]
    outcome: list[tuple[str, int, float]] = []
    for script in scripts:
        print(f"\n=== {script.stem} ===", flush=True)
        started = time.perf_counter()
        code = subprocess.run([sys.executable, str(script)], cwd=here.parent).returncode
        outcome.append((script.stem, code, time.perf_counter() - started))
    print("\n=== summary ===")
    for name, code, seconds in outcome:
        print(f"{'met   ' if code == 0 else 'MISSED'} {name} ({seconds:.1f} s)")
    return 0 if all(code == 0 for _, code, _ in outcome) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
