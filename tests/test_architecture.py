"""The dependency rule of docs/architecture.md: clinics <- identification, delegation;
delegation <- booking, econsult; the patient-facing services (booking, econsult) may use
identification's patient session (``identification.session``) and nothing else of it; every
app may call sms; sms imports none of them; eportal wires everything. Apps may use the
project's database plumbing (``eportal.db``), nothing else of ``eportal``. ``ops`` (the
health cycle and monitoring) sits on top: no app imports it, and it imports the apps in one
module, ``ops/wiring.py``."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
APPS = ("clinics", "identification", "delegation", "booking", "econsult", "sms")
ALLOWED = {
    "clinics": {"sms"},
    "identification": {"clinics", "sms"},
    "delegation": {"clinics", "sms"},
    "booking": {"clinics", "delegation", "identification", "sms"},
    "econsult": {"clinics", "delegation", "identification", "sms"},
    "sms": set(),
}
# The only modules of an app that other apps may import, where not all of it is theirs to use:
# the patient session, not identification's login flows, models or views.
PUBLIC = {"identification": ("identification.session",)}
# The tenant-scoped admin base lives in clinics; the SMS admin builds on it (sms/admin.py).
EXCEPTIONS = {("sms/admin.py", "clinics")}


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            # ``from identification import session`` imports identification.session.
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return found


def is_within(module: str, package: str) -> bool:
    return module == package or module.startswith(package + ".")


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
                if not is_within(module, "eportal.db"):
                    wrong.append(f"{relative}: {module}")
            elif top in APPS and top != app and (relative, top) not in EXCEPTIONS:
                public = PUBLIC.get(top)
                if top not in ALLOWED[app] or (
                    public and not any(is_within(module, p) for p in public)
                ):
                    wrong.append(f"{relative}: {module}")
    assert wrong == []


def test_the_rule_sees_what_an_import_names(tmp_path):
    path = tmp_path / "probe.py"
    path.write_text(
        "from identification import services, session\nimport clinics.models\n", encoding="utf-8"
    )
    assert imported_modules(path) == {
        "identification.services",
        "identification.session",
        "clinics.models",
    }


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


def test_fhirapi_sits_on_top_no_app_imports_it():
    """fhirapi (the FHIR API) calls clinics, booking and delegation; only eportal's settings
    and urls name it, and it imports nothing of eportal, identification, econsult or ops."""
    wrong = []
    for app in (*APPS, "ops"):
        for path in sorted((ROOT / app).rglob("*.py")):
            for module in imported_modules(path):
                if module.split(".")[0] == "fhirapi":
                    wrong.append(f"{path.relative_to(ROOT).as_posix()}: {module}")
    for path in sorted((ROOT / "fhirapi").rglob("*.py")):
        for module in imported_modules(path):
            if module.split(".")[0] in ("eportal", "identification", "econsult", "ops"):
                wrong.append(f"{path.relative_to(ROOT).as_posix()}: {module}")
    assert wrong == []
