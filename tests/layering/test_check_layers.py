#!/usr/bin/env python3
"""Tests of tools/check-layers.py: the real tree passes, and each kind of planted violation in a
copy of it fails with the file and line named.

    tests/layering/test_check_layers.py [REPO]     (default: the repository holding this file)
"""

import pathlib
import shutil
import subprocess
import sys
import tempfile

REPO = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else pathlib.Path(__file__).resolve().parents[2]).resolve()
CHECKER = REPO / "tools" / "check-layers.py"
failures = []


def run(root):
    result = subprocess.run([sys.executable, str(CHECKER), "--root", str(root)], capture_output=True, text=True)
    return result.returncode, result.stdout + result.stderr


def copy_tree(tmp):
    root = pathlib.Path(tmp) / "repo"
    shutil.copytree(REPO / "lib", root / "lib")
    (root / "docs").mkdir(parents=True)
    shutil.copy(REPO / "docs" / "architecture.md", root / "docs" / "architecture.md")
    return root


def plant(root, relative, line):
    """Appends an include to a file of the copy; returns the 'file:line' the checker must name."""
    path = root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    text = path.read_text() if path.exists() else ""
    if text and not text.endswith("\n"):
        text += "\n"
    text += line + "\n"
    path.write_text(text)
    return f"{relative}:{text.count(chr(10))}"


def expect_failure(name, mutate, *needles):
    with tempfile.TemporaryDirectory() as tmp:
        root = copy_tree(tmp)
        where = mutate(root)
        code, output = run(root)
        needles = [where, *needles] if where else list(needles)
        if code != 1 or not all(n in output for n in needles):
            failures.append(f"{name}: expected exit 1 naming {needles}, got exit {code}:\n{output}")


def expect_pass(name, mutate):
    with tempfile.TemporaryDirectory() as tmp:
        root = copy_tree(tmp)
        mutate(root)
        code, output = run(root)
        if code != 0:
            failures.append(f"{name}: expected exit 0, got {code}:\n{output}")


# The repository itself follows its order.
code, output = run(REPO)
if code != 0:
    failures.append(f"the repository: expected exit 0, got {code}:\n{output}")

# An include up the order, in a source file and in a header, each named with its line.
expect_failure("index includes model", lambda r: plant(r, "lib/index/candidate_index.cpp",
                                                         '#include "model/retrieval_model.h"'),
               '"model/retrieval_model.h", which is above it')
expect_failure("io includes persist", lambda r: plant(r, "lib/io/model_file.h", '#include "persist/convert.h"'))
expect_failure("base includes data", lambda r: plant(r, "lib/base/bytes.h", '  #  include "data/table.h"  // spaced'))
# The public header below the C API.
expect_failure("model includes the public header", lambda r: plant(r, "lib/model/fit.cpp",
                                                                     '#include "twotower/twotower.h"'),
               "the public header")
# An include that names no layer.
expect_failure("include without a layer", lambda r: plant(r, "lib/nn/dense.cpp", '#include "dense.h"'),
               "names no layer")
# A folder the document does not list.
expect_failure("unlisted folder", lambda r: plant(r, "lib/extra/thing.h", "#pragma once") and None,
               "lib/extra/: a folder under lib/ that is not in the layer order")
# A listed layer without a folder.
expect_failure("listed layer without a folder", lambda r: shutil.rmtree(r / "lib" / "persist"),
               "layer 'persist' has no folder")


# The order really comes from the document: swapping two layers there turns legal includes illegal.
def swap_model_and_index(root):
    doc = root / "docs" / "architecture.md"
    doc.write_text(doc.read_text().replace("index → io → model", "model → io → index"))


expect_failure("order read from the document", swap_model_and_index, "lib/model/retrieval_model.h:",
               '"index/candidate_index.h", which is above it')

# Includes down the order, within a layer, and angle-bracket includes pass.
expect_pass("legal includes", lambda r: [plant(r, "lib/capi/model.cpp", '#include "base/error.h"'),
                                         plant(r, "lib/persist/convert.cpp", '#include "persist/model_serialization.h"'),
                                         plant(r, "lib/data/table.cpp", "#include <model/anything.h>")])

if failures:
    print("\n\n".join(failures), file=sys.stderr)
    print(f"test_check_layers: {len(failures)} failure(s)", file=sys.stderr)
    sys.exit(1)
print("test_check_layers: all cases passed")
