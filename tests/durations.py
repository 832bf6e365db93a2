"""Write tests/durations.json: the seconds each module's unit and app tests took, from the
durations the last runs kept in .pytest_cache (tests/conftest.py), so that a run with none (a
fresh clone, CI) also starts the longest modules first. Only the order depends on it.

    .venv/bin/python -m tests.durations
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).parent.parent
KEPT = ROOT / ".pytest_cache" / "v" / "blogapp" / "durations"
OUT = Path(__file__).with_name("durations.json")


def main() -> None:
    durations = json.loads(KEPT.read_text())
    listing = subprocess.run(
        [sys.executable, "-m", "pytest", "--collect-only", "-q", "-n", "0", "-m", "not system"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    modules: dict[str, float] = {}
    for nodeid in (line for line in listing.splitlines() if "::" in line):
        module = nodeid.partition("::")[0]
        modules[module] = modules.get(module, 0.0) + durations.get(nodeid, 0.0)
    ranked = {m: round(s, 1) for m, s in sorted(modules.items(), key=lambda kv: -kv[1]) if s >= 0.5}
    OUT.write_text(json.dumps(ranked, indent=1) + "\n")
    print(f"{OUT}: {len(ranked)} modules")


if __name__ == "__main__":
    main()
