"""The layers of docs/architecture.md, checked: import-linter's contracts in
setup.cfg, and no import cycle between any two modules of the package.

Both read the code's imports statically (grimp), counting imports under
TYPE_CHECKING and inside functions.
"""

from __future__ import annotations

from pathlib import Path

import grimp
from importlinter import api  # noqa: F401  (importing it configures import-linter)
from importlinter.application import use_cases

ROOT = Path(__file__).resolve().parent.parent


def test_the_layer_contracts_hold(capsys):
    kept = use_cases.lint_imports(str(ROOT / "setup.cfg"), cache_dir=None, no_logo=True)
    report = capsys.readouterr().out
    assert "Contracts:" in report, report  # the contracts were read and checked
    assert kept, report


def test_no_module_is_imported_back_by_what_it_imports():
    # acyclic_siblings compares siblings; this also catches a package and its own
    # submodule importing each other.
    graph = grimp.build_graph("asistencia", cache_dir=None)
    cycles = set()
    for importer in graph.modules:
        for imported in graph.find_modules_directly_imported_by(importer):
            back = graph.find_shortest_chain(importer=imported, imported=importer)
            if back:
                cycle = (importer, *back)
                start = cycle.index(min(cycle[:-1]))
                cycles.add(" -> ".join(cycle[start:-1] + cycle[:start + 1]))
    assert not cycles, "import cycles:\n" + "\n".join(sorted(cycles))
