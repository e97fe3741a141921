#!/usr/bin/env python3
"""Sorts the differences between two abidw dumps of libtwotower.so into additions and breaks.

    tools/abi-classify.py BASELINE.abi CURRENT.abi

abidiff (tools/check-abi.sh) decides whether anything changed and writes the report; this script
says which kind of change it is, by the rules of include/twotower/twotower.h:

  addition (compatible, TT_ABI_VERSION stays): a new function, a new enumerator, a new type, a
    member appended to a struct whose first member is `struct_size` (callers tell the library
    which fields they know);
  break (incompatible, TT_ABI_VERSION must change): a removed function, a changed parameter or
    return type, a struct member removed, renamed, retyped or moved, a struct without
    `struct_size` that grew or shrank, an enumerator removed or renumbered, a typedef retyped.

Prints one line per difference ("added: ..." / "break: ...") and exits 0 when there is none,
1 when there are additions only, 3 when there is a break, 2 on bad input.
"""
import sys
import xml.etree.ElementTree as ET


class Corpus:
    def __init__(self, path):
        try:
            root = ET.parse(path).getroot()
        except (OSError, ET.ParseError) as e:
            sys.exit(f"abi-classify: cannot read {path}: {e}")
        self.by_id = {}
        for el in root.iter():
            if el.get("id"):
                # A declaration-only class may share its id with nothing else; keep the definition.
                prev = self.by_id.get(el.get("id"))
                if prev is None or prev.get("is-declaration-only") == "yes":
                    self.by_id[el.get("id")] = el
        self.symbols = {s.get("name") for s in root.iter("elf-symbol")
                        if s.get("is-defined", "yes") == "yes"}
        self.functions = {}
        for fn in root.iter("function-decl"):
            name = fn.get("name", "")
            if fn.get("elf-symbol-id") and name.startswith("tt_"):
                self.functions[name] = self.signature(fn)
        self.variables = {v.get("name"): self.type_name(v.get("type-id"))
                          for v in root.iter("var-decl") if v.get("elf-symbol-id")}
        self.structs, self.enums, self.typedefs = {}, {}, {}
        for el in self.by_id.values():
            name = self.named(el)
            if el.tag in ("class-decl", "union-decl") and name and el.get("is-declaration-only") != "yes":
                members = []
                for dm in el.findall("data-member"):
                    var = dm.find("var-decl")
                    members.append((var.get("name"), self.type_name(var.get("type-id")),
                                    int(dm.get("layout-offset-in-bits", "0"))))
                self.structs[name] = (int(el.get("size-in-bits", "0")), members)
            elif el.tag == "enum-decl" and name:
                self.enums[name] = {e.get("name"): int(e.get("value")) for e in el.findall("enumerator")}
            elif el.tag == "typedef-decl" and name:
                target = self.by_id.get(el.get("type-id"))
                # `typedef struct tt_x tt_x;` and `typedef enum tt_e {...} tt_e;` are compared as
                # the struct or enum itself; other typedefs (function pointers) by their target.
                if target is None or self.named(target) != name:
                    self.typedefs[name] = self.type_name(el.get("type-id"))

    def named(self, el):
        name = el.get("name", "")
        if not name and el.get("naming-typedef-id"):
            name = self.by_id.get(el.get("naming-typedef-id"), el).get("name", "")
        return name

    def type_name(self, type_id, depth=0):
        el = self.by_id.get(type_id)
        if el is None or depth > 40:
            return "?" if type_id is None else type_id
        tag = el.tag
        if tag in ("type-decl", "typedef-decl", "class-decl", "union-decl", "enum-decl"):
            return self.named(el) or f"<anonymous {tag}>"
        if tag == "pointer-type-def":
            return self.type_name(el.get("type-id"), depth + 1) + "*"
        if tag == "reference-type-def":
            return self.type_name(el.get("type-id"), depth + 1) + "&"
        if tag == "qualified-type-def":
            quals = [q for q in ("const", "volatile", "restrict") if el.get(q) == "yes"]
            return " ".join(quals + [self.type_name(el.get("type-id"), depth + 1)])
        if tag == "array-type-def":
            dims = "".join(f"[{s.get('length', '')}]" for s in el.findall("subrange"))
            return self.type_name(el.get("element-type-id"), depth + 1) + dims
        if tag == "function-type":
            return self.signature(el, depth + 1)
        return tag

    def signature(self, fn, depth=0):
        params = [self.type_name(p.get("type-id"), depth + 1) if not p.get("is-variadic") else "..."
                  for p in fn.findall("parameter")]
        ret = fn.find("return")
        ret_type = self.type_name(ret.get("type-id"), depth + 1) if ret is not None else "void"
        return f"{ret_type}({', '.join(params)})"


def public(name):
    """A type of the C API (new system types such as int64_t come with the API's own additions)."""
    return name.lower().startswith("tt_")


def classify(old, new):
    added, broken = [], []
    for name, sig in sorted(old.functions.items()):
        if name not in new.functions:
            broken.append(f"function {name} removed" if name not in new.symbols
                          else f"function {name} no longer described (is it still declared?)")
        elif new.functions[name] != sig:
            broken.append(f"function {name}: {sig} -> {new.functions[name]}")
    added += [f"function {n}{new.functions[n][new.functions[n].index('('):]}"
              for n in sorted(new.functions.keys() - old.functions.keys())]
    for name in sorted(old.symbols - new.symbols):
        if name not in old.functions:
            broken.append(f"symbol {name} removed")
    added += [f"symbol {n}" for n in sorted(new.symbols - old.symbols - new.functions.keys())]
    for name, t in sorted(old.variables.items()):
        if new.variables.get(name) != t:
            broken.append(f"variable {name}: {t} -> {new.variables.get(name, 'removed')}")

    for name, (size, members) in sorted(old.structs.items()):
        if name not in new.structs:
            broken.append(f"struct {name} no longer part of the ABI")
            continue
        new_size, new_members = new.structs[name]
        for i, m in enumerate(members):
            if i >= len(new_members):
                broken.append(f"struct {name}: member {m[0]} removed")
            elif new_members[i] != m:
                n = new_members[i]
                broken.append(f"struct {name}: member {i} was {m[1]} {m[0]} at bit {m[2]}, "
                              f"is {n[1]} {n[0]} at bit {n[2]}")
        appended = new_members[len(members):]
        sized = bool(members) and members[0][0] == "struct_size"
        if appended and sized:
            added += [f"struct {name}: member {t} {n} appended" for n, t, _ in appended]
        elif appended or new_size != size:
            why = "" if sized else " (it has no struct_size)"
            broken.append(f"struct {name}{why} changed size: {size // 8} -> {new_size // 8} bytes")
    added += [f"struct {n}" for n in sorted(new.structs.keys() - old.structs.keys()) if public(n)]

    for name, values in sorted(old.enums.items()):
        if name not in new.enums:
            broken.append(f"enum {name} no longer part of the ABI")
            continue
        for e, v in sorted(values.items()):
            if new.enums[name].get(e) != v:
                broken.append(f"enum {name}: {e} = {v} -> {new.enums[name].get(e, 'removed')}")
        added += [f"enum {name}: {e} = {new.enums[name][e]}"
                  for e in sorted(new.enums[name].keys() - values.keys())]
    added += [f"enum {n}" for n in sorted(new.enums.keys() - old.enums.keys()) if public(n)]

    for name, t in sorted(old.typedefs.items()):
        if new.typedefs.get(name, t) != t:
            broken.append(f"typedef {name}: {t} -> {new.typedefs[name]}")
    added += [f"typedef {n}" for n in sorted(new.typedefs.keys() - old.typedefs.keys()) if public(n)]
    return added, broken


def main(argv):
    if len(argv) != 3:
        print(__doc__.strip().splitlines()[2].strip(), file=sys.stderr)
        return 2
    added, broken = classify(Corpus(argv[1]), Corpus(argv[2]))
    for line in broken:
        print(f"break: {line}")
    for line in added:
        print(f"added: {line}")
    return 3 if broken else 1 if added else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
