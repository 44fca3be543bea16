"""Compatibility with real Kestra flows: the share that ``weir validate`` accepts, and the types
still missing, most used first.

Reads a folder of flow files in place (default: the shared corpus; point it at a checkout of
kestra-io/blueprints' ``flows/`` folder for the blueprints) and prints the share of files that
validate and the ``--top`` types Weir does not register, by the number of flows using each, with
the plugin family each belongs to. A benchmark, never a test: it asserts nothing.

    python bench/compat.py [FOLDER ...] [--top N]
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from pathlib import Path

import yaml

from controlplane.spec.families import family_of
from controlplane.spec.usage import missing_types
from controlplane.spec.validate import validate_file

DEFAULT_CORPUS = Path(__file__).resolve().parents[1].parent / "shared" / "corpus" / "kestra-flows"


def measure(folder: Path, top: int) -> None:
    files = sorted(p for p in folder.rglob("*.y*ml") if p.is_file())
    valid = 0
    missing: Counter[str] = Counter()
    for path in files:
        valid += validate_file(path).ok
        try:
            document = yaml.safe_load(path.read_text(encoding="utf-8"))
        except (yaml.YAMLError, UnicodeDecodeError):
            continue
        missing.update(missing_types(document))
    share = 100 * valid / len(files) if files else 0.0
    print(f"{folder}: {valid} of {len(files)} flows validate ({share:.0f}%)")
    print(f"  {len(missing)} types missing, used {sum(missing.values())} times; most used:")
    for name, count in missing.most_common(top):
        print(f"  {count:4d}  {name}  ({family_of(name)})")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folders", nargs="*", type=Path, default=[DEFAULT_CORPUS])
    parser.add_argument("--top", type=int, default=10)
    args = parser.parse_args()
    for folder in args.folders:
        measure(folder, args.top)
    return 0


if __name__ == "__main__":
    sys.exit(main())
