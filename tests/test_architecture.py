"""The dependency rule of docs (architecture.md): clinics <- delegation <- booking, econsult;
every app may call sms; sms imports none of them; eportal wires everything. Apps may use
the project's database plumbing (``eportal.db``), nothing else of ``eportal``. ``ops`` (the
health cycle and monitoring) sits on top: no app imports it, and it imports the apps in one
module, ``ops/wiring.py``."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
APPS = ("clinics", "delegation", "booking", "econsult", "sms")
ALLOWED = {
    "clinics": {"sms"},
    "delegation": {"clinics", "sms"},
    "booking": {"clinics", "delegation", "sms"},
    "econsult": {"clinics", "delegation", "sms"},
    "sms": set(),
}
# The tenant-scoped admin base lives in clinics; the SMS admin builds on it (sms/admin.py).
EXCEPTIONS = {("sms/admin.py", "clinics")}


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
    return found


@pytest.mark.parametrize("app", APPS)
def test_apps_import_only_what_the_dependency_rule_allows(app):
    wrong = []
    for path in sorted((ROOT / app).rglob("*.py")):
        relative = path.relative_to(ROOT).as_posix()
        for module in imported_modules(path):
            top = module.split(".")[0]
            if top == "ops":
                wrong.append(f"{relative}: {module}")
            elif top == "eportal":
                if not (module == "eportal.db" or module.startswith("eportal.db.")):
                    wrong.append(f"{relative}: {module}")
            elif (
                top in APPS
                and top != app
                and top not in ALLOWED[app]
                and (relative, top) not in EXCEPTIONS
            ):
                wrong.append(f"{relative}: {module}")
    assert wrong == []


#: The one module of ops that may import the clinic apps.
OPS_WIRING = "ops/wiring.py"


def test_ops_imports_the_apps_only_through_its_wiring_module():
    wrong = []
    for path in sorted((ROOT / "ops").rglob("*.py")):
        relative = path.relative_to(ROOT).as_posix()
        if relative == OPS_WIRING:
            continue
        for module in imported_modules(path):
            if module.split(".")[0] in APPS:
                wrong.append(f"{relative}: {module}")
    assert wrong == []
