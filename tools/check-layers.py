#!/usr/bin/env python3
"""Fails when an include in lib/ runs up the layer order.

The order is read from docs/architecture.md, from the one line that starts with "Layer order:"
(layers separated by arrows, lowest first), so the document and the check cannot disagree.
A file in lib/Y may include "X/..." only when X is Y or comes before Y in that order. Every
folder under lib/ must be a listed layer, every quoted include must name one, and the public
header ("twotower/twotower.h") may be included only by the last layer (the C API).

    tools/check-layers.py [--root DIR]     (default: the repository holding this script)

Prints every violation as FILE:LINE: message and exits 1 if there is any, else prints the order
and exits 0. Tested by tests/layering/test_check_layers.py.
"""

import argparse
import pathlib
import re
import sys

ORDER_LINE = re.compile(r"^Layer order:\s*(.+)$", re.MULTILINE)
INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"')
PUBLIC_HEADER_DIR = "twotower"
SOURCE_SUFFIXES = {".h", ".hpp", ".c", ".cc", ".cpp", ".in"}


def read_order(doc: pathlib.Path) -> list[str]:
    match = ORDER_LINE.search(doc.read_text(encoding="utf-8"))
    if not match:
        raise SystemExit(f"{doc}: no line starting with 'Layer order:' (the layers, lowest first, separated by →)")
    layers = [name.strip(" `") for name in re.split(r"→|->", match.group(1))]
    if any(not name for name in layers) or len(set(layers)) != len(layers):
        raise SystemExit(f"{doc}: the 'Layer order:' line must list distinct layer names: {match.group(1)!r}")
    return layers


def check(root: pathlib.Path) -> tuple[list[str], list[str]]:
    lib = root / "lib"
    layers = read_order(root / "docs" / "architecture.md")
    rank = {name: i for i, name in enumerate(layers)}
    problems = []
    folders = sorted(p.name for p in lib.iterdir() if p.is_dir())
    for name in folders:
        if name not in rank:
            problems.append(f"lib/{name}/: a folder under lib/ that is not in the layer order of docs/architecture.md")
    for name in layers:
        if name not in folders:
            problems.append(f"docs/architecture.md: layer '{name}' has no folder lib/{name}/")

    for path in sorted(lib.rglob("*")):
        if not path.is_file() or path.suffix not in SOURCE_SUFFIXES:
            continue
        relative = path.relative_to(root).as_posix()
        layer = path.relative_to(lib).parts[0]
        if layer not in rank:
            continue  # reported above as an unlisted folder
        for number, line in enumerate(path.read_text(encoding="utf-8", errors="replace").splitlines(), 1):
            match = INCLUDE.match(line)
            if not match:
                continue
            target = match.group(1)
            where = f"{relative}:{number}"
            head = target.split("/", 1)[0] if "/" in target else None
            if head == PUBLIC_HEADER_DIR:
                if layer != layers[-1]:
                    problems.append(
                        f'{where}: "{target}" (the public header) is for lib/{layers[-1]} only; '
                        f"lib/{layer} is an engine layer (for the version: base/version.h)")
            elif head is None or head not in rank:
                problems.append(f'{where}: "{target}" names no layer; includes in lib/ are "<layer>/<file>"')
            elif rank[head] > rank[layer]:
                problems.append(f'{where}: lib/{layer} includes "{target}", which is above it '
                                f"(layer order: {' → '.join(layers)})")
    return layers, problems


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--root", type=pathlib.Path, default=pathlib.Path(__file__).resolve().parent.parent)
    args = parser.parse_args()
    layers, problems = check(args.root)
    for problem in problems:
        print(problem, file=sys.stderr)
    if problems:
        print(f"check-layers: {len(problems)} include(s) against the layer order", file=sys.stderr)
        return 1
    print(f"check-layers: lib/ follows the layer order {' → '.join(layers)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
