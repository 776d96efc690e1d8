"""The package's layout: dependencies point down, and the architecture page names every module."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "src" / "blapose"


def _modules() -> dict[str, Path]:
    """Dotted names below ``blapose`` ('' for the package itself) -> file."""
    modules = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = list(path.relative_to(PACKAGE).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        if parts and parts[-1] == "__main__":
            continue
        modules[".".join(parts)] = path
    return modules


def _imports(name: str, path: Path, modules: dict[str, Path]) -> set[str]:
    """The package's modules that ``name`` imports, at the top or inside functions."""
    is_package = path.name == "__init__.py"
    base = name.split(".") if name else []
    if not is_package:
        base = base[:-1]
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        targets = []
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                root = ["blapose"] + base[:len(base) - node.level + 1]
                module = ".".join(root + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            targets = [module] + [f"{module}.{alias.name}" for alias in node.names]
        for target in targets:
            if target != "blapose" and not target.startswith("blapose."):
                continue
            candidate = target.removeprefix("blapose").lstrip(".")
            while candidate and candidate not in modules:
                candidate = candidate.rpartition(".")[0]
            if candidate and candidate != name and not name.startswith(candidate + "."):
                found.add(candidate)
    return found


def test_no_import_cycle_counting_imports_inside_functions():
    """No module reaches itself through the package's imports, lazy ones included."""
    modules = _modules()
    graph = {name: _imports(name, path, modules) for name, path in modules.items()}
    state: dict[str, int] = {}
    cycles = []

    def visit(name: str, trail: list[str]) -> None:
        state[name] = 1
        for child in sorted(graph[name]):
            if state.get(child) == 1:
                cycles.append(" -> ".join(trail[trail.index(child):] + [child]))
            elif child not in state:
                visit(child, trail + [child])
        state[name] = 2

    for name in graph:
        if name not in state:
            visit(name, [name])
    assert not cycles, cycles


def test_library_code_never_imports_the_demo_or_the_command_line():
    """Only the command line imports ``demo``; nothing outside ``cli`` imports ``cli``."""
    modules = _modules()
    for name, path in modules.items():
        if name.startswith("cli") or name == "":
            continue
        imported = _imports(name, path, modules)
        assert "demo" not in imported, name
        assert not any(module == "cli" or module.startswith("cli.") for module in imported), name


def test_architecture_page_names_every_module_and_only_real_ones():
    """docs/architecture.md names each module, in its own row or in its package's row, and no module that is gone."""
    page = (ROOT / "docs" / "architecture.md").read_text()
    rows = [line for line in page.splitlines() if line.startswith("| ")]
    named = {name for row in rows for name in re.findall(r"`([a-z_][a-z0-9_.]*)/?`", row)}
    modules = _modules()
    missing = []
    for name in modules:
        if not name or name in named:
            continue
        parent, _, leaf = name.rpartition(".")
        in_parent_row = any(re.search(rf"`{re.escape(parent)}/?`", row.split("|")[1]) and f"`{leaf}`" in row
                            for row in rows) if parent else False
        if not in_parent_row:
            missing.append(name)
    assert not missing, f"modules the architecture page does not name: {missing}"
    first_column = {name for row in rows for name in re.findall(r"`([a-z_][a-z0-9_.]*)/?`", row.split("|")[1])}
    unknown = sorted(name for name in first_column if name not in modules and name != "blapose")
    assert not unknown, f"the architecture page names modules that do not exist: {unknown}"
