"""Install the benchmark-only yardsticks listed in perf/requirements.txt.

A line whose comment says ``no-deps`` is installed with ``--no-deps`` (for packages whose
declared dependencies are far heavier than what the benchmark uses).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path


def main() -> int:
    lines = (Path(__file__).parent / "requirements.txt").read_text().splitlines()
    plain, no_deps = [], []
    for raw in lines:
        spec, _, comment = raw.partition("#")
        spec = spec.strip()
        if not spec:
            continue
        (no_deps if "no-deps" in comment else plain).append(spec)
    pip = [sys.executable, "-m", "pip", "install", "--quiet"]
    if plain:
        subprocess.run([*pip, *plain], check=True)
    if no_deps:
        subprocess.run([*pip, "--no-deps", *no_deps], check=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
