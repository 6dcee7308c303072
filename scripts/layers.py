#!/usr/bin/env python3
"""Checks the import rules written at the top of core/src/lib.rs and
backend/src/lib.rs, from the source itself.

core: every top-level module has a layer; a module may use modules of lower
layers only (never a sibling in its own layer, never one above).
backend: no import circle between modules (`http` on top may use anything),
and every table is written only by the module that owns it (other modules
may read it: see backend/src/lib.rs).
Also: no crate but `guardian-ffi` depends on UniFFI, and `guardian-protocol`
depends on no other crate of ours.

Prints the graph it checked and exits 1 on the first broken rule.
"""

import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# Lower number = lower layer. Modules in one layer may not use each other.
CORE_LAYERS = {
    "clock": 0,
    "store": 1,
    "patrol": 2,
    "referral": 2,
    "library": 2,
    "events": 3,
    "sync": 4,
    "error": 5,
    "guardian": 6,
    # Feature `fuzzing` only: entry points over the parsers, never shipped.
    "fuzz": 7,
}

# A path from the crate root (`crate::a`, `crate::{a, b::c}`) or up from
# the file's own module (`super::super::a`).
PATH = re.compile(r"\b((?:crate|super)(?:::super)*)::(\{|[a-z_]+)")


def module_path(rel: Path) -> list[str]:
    """`patrol/geometry.rs` -> [patrol, geometry]; `patrol/mod.rs` -> [patrol]."""
    parts = list(rel.parts[:-1]) + [rel.name.removesuffix(".rs")]
    return parts[:-1] if parts[-1] in ("mod", "lib") else parts


def group_heads(text: str, start: int) -> list[str]:
    """The first name of each path in the `{…}` group opening at `start`."""
    depth, item, heads = 0, "", []
    for ch in text[start:]:
        if ch == "{":
            depth += 1
            if depth == 1:
                continue
        elif ch == "}":
            depth -= 1
            if depth == 0:
                heads.append(item)
                break
        if depth == 1 and ch == ",":
            heads.append(item)
            item = ""
        elif depth >= 1:
            item += ch
    return [m.group(0) for h in heads if (m := re.match(r"[a-z_]+", h.strip()))]


def named_tops(text: str, here: list[str]) -> set[str]:
    """The crate's top-level modules that `text`, in module `here`, names."""
    found = set()
    for m in PATH.finditer(text):
        root, head = m.group(1), m.group(2)
        if root == "crate":
            names = group_heads(text, m.start(2)) if head == "{" else [head]
            found.update(names)
            continue
        ups = root.count("super")
        base = here[: len(here) - ups] if ups <= len(here) else None
        if base == []:
            # `super` up to the crate root: the next name is a top module.
            found.update(group_heads(text, m.start(2)) if head == "{" else [head])
        elif base:
            found.add(base[0])
    return found


def sources(src: Path, modules: set[str]):
    """(top-level module, path, text without its tests) for each file."""
    for path in sorted(src.rglob("*.rs")):
        rel = path.relative_to(src)
        top = rel.parts[0].removesuffix(".rs")
        if top not in modules or rel.name == "tests.rs" or "tests" in rel.parts[:-1]:
            continue
        text = path.read_text(encoding="utf-8")
        # Tests may reach anywhere: they check behaviour, not structure.
        text = re.split(r"#\[cfg\(test\)\]\s*mod tests\s*\{", text)[0]
        yield top, rel, text


def uses(src: Path, modules: set[str]) -> dict[str, set[str]]:
    """Top-level module -> the crate's top-level modules its files name."""
    graph: dict[str, set[str]] = {m: set() for m in modules}
    for top, rel, text in sources(src, modules):
        for m in named_tops(text, module_path(rel)):
            if m in modules and m != top:
                graph[top].add(m)
    return graph


def top_modules(src: Path) -> set[str]:
    lib = (src / "lib.rs").read_text(encoding="utf-8")
    return set(re.findall(r"^\s*(?:pub(?:\(crate\))?\s+)?mod\s+([a-z_]+);", lib, re.M))


def check_core() -> list[str]:
    src = ROOT / "core" / "src"
    mods = top_modules(src)
    missing = mods - CORE_LAYERS.keys()
    if missing:
        return [f"core: module(s) {sorted(missing)} have no layer in scripts/layers.py"]
    graph = uses(src, mods)
    errors = []
    for m in sorted(graph):
        for dep in sorted(graph[m]):
            if CORE_LAYERS[dep] >= CORE_LAYERS[m]:
                errors.append(
                    f"core: `{m}` (layer {CORE_LAYERS[m]}) uses `{dep}` (layer {CORE_LAYERS[dep]})"
                )
        print(f"core  {m:>9} (L{CORE_LAYERS[m]}) -> {', '.join(sorted(graph[m])) or '-'}")
    return errors


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(n: str) -> list[str] | None:
        state[n] = 1
        stack.append(n)
        for d in sorted(graph.get(n, ())):
            if state.get(d) == 1:
                return stack[stack.index(d):] + [d]
            if d not in state:
                found = visit(d)
                if found:
                    return found
        stack.pop()
        state[n] = 2
        return None

    for n in sorted(graph):
        if n not in state:
            found = visit(n)
            if found:
                return found
    return None


def check_backend() -> list[str]:
    src = ROOT / "backend" / "src"
    mods = top_modules(src)
    graph = uses(src, mods)
    for m in sorted(graph):
        print(f"backend {m:>10} -> {', '.join(sorted(graph[m])) or '-'}")
    cycle = find_cycle(graph)
    errors = [f"backend: import circle {' -> '.join(cycle)}"] if cycle else []
    return errors + check_table_writes(src, mods)


# The backend's tables made in `db` and written by another module; every
# other table is owned by the module whose file creates it.
TABLE_OWNERS = {
    "area_sets": "areas",
    "areas": "areas",
    "officers": "officers",
    "schedules": "schedule",
    "assignments": "schedule",
    "records": "records",
    "patrols": "records",
    "chunks": "chunks",
    "fixes": "chunks",
    "commands": "commands",
}
CREATE = re.compile(r"CREATE TABLE (?:IF NOT EXISTS )?([a-z_]+)")
WRITE = re.compile(r"(?:INSERT INTO|UPDATE|DELETE FROM)\s+([a-z_]+)|insert_many\(\s*\"([a-z_]+)\"")


def check_table_writes(src: Path, modules: set[str]) -> list[str]:
    files = list(sources(src, modules))
    owners = dict(TABLE_OWNERS)
    for top, _, text in files:
        for t in CREATE.findall(text):
            owners.setdefault(t, top)
    errors = []
    for top, rel, text in files:
        for m in WRITE.finditer(text):
            table = m.group(1) or m.group(2)
            owner = owners.get(table)
            if owner is None:
                errors.append(f"backend: {rel} writes `{table}`, a table nobody creates")
            elif owner != top:
                errors.append(f"backend: {rel} writes `{table}`, which `{owner}` owns")
    print(f"backend tables: {len(owners)}, each written by its owner only" if not errors else "")
    return errors


def check_crates() -> list[str]:
    errors = []
    for toml in sorted(ROOT.glob("*/Cargo.toml")):
        text = toml.read_text(encoding="utf-8")
        deps = text.split("[dependencies]", 1)[-1]
        crate = toml.parent.name
        if crate != "bindings" and re.search(r"^uniffi\b", deps, re.M):
            errors.append(f"{crate}: depends on uniffi; only bindings may")
        if crate == "protocol" and re.search(r"^guardian-", deps, re.M):
            errors.append("protocol: depends on another guardian crate; it is the bottom layer")
    return errors


def self_test() -> None:
    """The path reader on the forms it must understand."""
    cases = [
        ("use crate::{store::Store, patrol::{a, b}, clock};", ["sync", "engine"], {"store", "patrol", "clock"}),
        ("use super::super::store::X; use super::Y;", ["patrol", "geometry", "x"], {"patrol"}),
        ("use super::super::{clock, store};", ["patrol", "geometry"], {"clock", "store"}),
        ("use super::events::E;", ["sync"], {"events"}),
        ("crate::library::db::apply(tx)", ["sync", "engine"], {"library"}),
    ]
    for text, here, want in cases:
        got = named_tops(text, here)
        assert got == want, f"{text!r} in {here}: {got} != {want}"
    print("layers: self-test passed")


def main() -> int:
    if "--self-test" in sys.argv:
        self_test()
    errors = check_core() + check_backend() + check_crates()
    for e in errors:
        print(f"layers: {e}", file=sys.stderr)
    if not errors:
        print("layers: the import rules hold")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
