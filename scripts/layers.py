#!/usr/bin/env python3
"""Checks the import rules written at the top of core/src/lib.rs and
backend/src/lib.rs, from the source itself.

core: every top-level module has a layer; a module may use modules of lower
layers only (never a sibling in its own layer, never one above).
backend: no import circle between modules (`http` on top may use anything).
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

USE = re.compile(r"\bcrate::([a-z_]+)")


def uses(src: Path, modules: set[str]) -> dict[str, set[str]]:
    """Top-level module -> the crate's top-level modules its files name."""
    graph: dict[str, set[str]] = {m: set() for m in modules}
    for path in src.rglob("*.rs"):
        rel = path.relative_to(src)
        top = rel.parts[0].removesuffix(".rs")
        if top not in modules:
            continue
        text = path.read_text(encoding="utf-8")
        # Tests may reach anywhere: they check behaviour, not structure.
        text = re.split(r"#\[cfg\(test\)\]\s*mod tests\s*\{", text)[0]
        if rel.name == "tests.rs" or "tests" in rel.parts[:-1]:
            continue
        for m in USE.findall(text):
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
    return [f"backend: import circle {' -> '.join(cycle)}"] if cycle else []


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


def main() -> int:
    errors = check_core() + check_backend() + check_crates()
    for e in errors:
        print(f"layers: {e}", file=sys.stderr)
    if not errors:
        print("layers: the import rules hold")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
