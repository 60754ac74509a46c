"""A lint for the one access policy (after Zulip's semgrep rule against unscoped queries).

Views, API modules and selectors read tenant data only through `Model.objects.visible_to(user, action)`
(or `.none()`, which returns nothing). A model whose rows are parts of a parent row and keeps a plain
manager (an event's people, products and vehicles; a profile's members) is read through
`access.visible(Model, user, action)`, which applies its rule the same way. The bypass,
`.objects.unscoped()`, is allowed only inside a function whose name starts with `dangerously_`, so every
use stands out in review. Django's `get_object_or_404(Model, ...)` / `get_list_or_404(Model, ...)` on a
tenant-owned model is refused: it would look the id up across every tenant; pass it a `visible_to(...)`
queryset instead.

Modules checked: every `views*.py`, `api*.py` and `selectors*.py` (and `views/`, `api/`, `selectors/`
packages) of the apps below.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
APPS = ("accounts", "events", "evidence", "profiles", "matching", "sharing", "lpr", "audit", "guardrails")
ALLOWED_MANAGER_METHODS = frozenset({"visible_to", "none"})
BYPASS = "unscoped"
BYPASS_FUNCTION_PREFIX = "dangerously_"
MANAGER_BYPASSES = frozenset({"_default_manager", "_base_manager"})
LOOKUP_SHORTCUTS = frozenset({"get_object_or_404", "get_list_or_404"})

# Reviewed uses tolerated for now: (path, function, what) → why. Each entry must still match a real
# violation (the test below fails when one is fixed, so the entry goes too). Keep it empty: fix the
# code instead (visible_to, access.visible for a part of a parent row, or a dangerously_* helper).
KNOWN_EXCEPTIONS: dict[tuple[str, str, str], str] = {}


@dataclass(frozen=True)
class Violation:
    path: str
    line: int
    function: str
    what: str
    message: str

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.path, self.function, self.what)

    def __str__(self) -> str:
        return f"{self.path}:{self.line} in {self.function or '<module>'}: {self.message}"


def checked_modules(root: Path = ROOT) -> list[Path]:
    found: set[Path] = set()
    for app in APPS:
        base = root / app
        if not base.is_dir():
            continue
        for pattern in ("views*.py", "api*.py", "selectors*.py", "views/**/*.py", "api/**/*.py",
                        "selectors/**/*.py"):
            found.update(p for p in base.glob(pattern) if p.is_file())
    return sorted(found)


def tenant_model_names() -> frozenset[str]:
    """Class names of the models whose manager has `visible_to` (the tenant-owned ones)."""
    from django.apps import apps

    return frozenset(m.__name__ for m in apps.get_models() if hasattr(m._default_manager, "visible_to"))


class _Checker(ast.NodeVisitor):
    def __init__(self, path: str, tenant_models: frozenset[str]):
        self.path = path
        self.tenant_models = tenant_models
        self.functions: list[str] = []
        self.parents: dict[ast.AST, ast.AST] = {}
        self.found: list[Violation] = []

    def check(self, tree: ast.AST) -> list[Violation]:
        for parent in ast.walk(tree):
            for child in ast.iter_child_nodes(parent):
                self.parents[child] = parent
        self.visit(tree)
        return self.found

    def report(self, node: ast.AST, what: str, message: str) -> None:
        self.found.append(Violation(self.path, getattr(node, "lineno", 0), ".".join(self.functions), what, message))

    def _in_bypass_function(self) -> bool:
        return any(name.startswith(BYPASS_FUNCTION_PREFIX) for name in self.functions)

    def visit_FunctionDef(self, node):
        self.functions.append(node.name)
        self.generic_visit(node)
        self.functions.pop()

    visit_AsyncFunctionDef = visit_FunctionDef

    def visit_ClassDef(self, node):
        self.functions.append(node.name)
        self.generic_visit(node)
        self.functions.pop()

    def visit_Attribute(self, node: ast.Attribute):
        if node.attr in MANAGER_BYPASSES:
            self.report(node, node.attr, f"`{node.attr}` bypasses the scoped manager; use `.objects.visible_to(...)`")
        elif node.attr == "objects":
            self._check_manager_use(node)
        self.generic_visit(node)

    def _check_manager_use(self, node: ast.Attribute) -> None:
        method_node = self.parents.get(node)
        call = self.parents.get(method_node) if method_node is not None else None
        called = (isinstance(method_node, ast.Attribute) and isinstance(call, ast.Call)
                  and call.func is method_node)
        if not called:
            self.report(node, "objects", "a bare `.objects` manager; call `.objects.visible_to(user, action)` on it")
            return
        method = method_node.attr
        if method in ALLOWED_MANAGER_METHODS:
            return
        if method == BYPASS:
            if not self._in_bypass_function():
                self.report(node, f"objects.{BYPASS}",
                            f"`.objects.{BYPASS}()` outside a function named {BYPASS_FUNCTION_PREFIX}*")
            return
        self.report(node, f"objects.{method}",
                    f"`.objects.{method}(...)` is unscoped; use `.objects.visible_to(user, action)`")

    def visit_Call(self, node: ast.Call):
        func = node.func
        name = func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else ""
        if name in LOOKUP_SHORTCUTS and node.args:
            first = node.args[0]
            model = first.id if isinstance(first, ast.Name) else first.attr if isinstance(first, ast.Attribute) else ""
            if model in self.tenant_models:
                self.report(node, name, f"`{name}({model}, ...)` looks across every tenant; "
                                        f"pass `{model}.objects.visible_to(user, action)` instead")
        self.generic_visit(node)


def lint_source(source: str, path: str = "<snippet>", tenant_models: frozenset[str] | None = None) -> list[Violation]:
    tree = ast.parse(source, filename=path)
    return _Checker(path, tenant_model_names() if tenant_models is None else tenant_models).check(tree)


def lint_tree(root: Path = ROOT) -> list[Violation]:
    models = tenant_model_names()
    out: list[Violation] = []
    for module in checked_modules(root):
        out.extend(lint_source(module.read_text(), str(module.relative_to(root)), models))
    return out


# --- the lint over the code ----------------------------------------------------------------------


def test_views_apis_and_selectors_read_tenant_data_only_through_the_policy():
    found = [v for v in lint_tree() if v.key not in KNOWN_EXCEPTIONS]
    assert not found, "Unscoped queries (see tests/test_scoping_lint.py):\n" + "\n".join(map(str, found))


def test_every_known_exception_is_still_real():
    keys = {v.key for v in lint_tree()}
    stale = [k for k in KNOWN_EXCEPTIONS if k not in keys]
    assert not stale, f"fixed: remove from KNOWN_EXCEPTIONS: {stale}"


def test_the_lint_reads_the_modules_that_matter():
    names = {str(p.relative_to(ROOT)) for p in checked_modules()}
    for expected in ("events/views.py", "events/api.py", "events/selectors.py", "accounts/views_admin.py",
                     "accounts/views_auth.py", "audit/views.py", "audit/selectors.py", "evidence/views.py",
                     "evidence/api.py"):
        assert expected in names
    assert "events/services.py" not in names  # services and jobs may use unscoped() by design


def test_every_tenant_owned_model_has_an_access_rule():
    from django.apps import apps

    from auror import access

    missing = [m._meta.label for m in apps.get_models()
               if hasattr(m._default_manager, "visible_to") and m._meta.label not in access._RULES]
    assert not missing, f"tenant-owned models without a rule in auror/access.py: {missing}"


# --- the lint itself can fail ----------------------------------------------------------------------

MODELS = frozenset({"Event", "Store"})


@pytest.mark.parametrize("snippet, what", [
    ("def view(request, pk):\n    return Event.objects.get(pk=pk)\n", "objects.get"),
    ("def view(request):\n    return Event.objects.filter(store=1)\n", "objects.filter"),
    ("def view(request):\n    return Event.objects.all()\n", "objects.all"),
    ("def view(request):\n    qs = Event.objects\n    return qs.filter(pk=1)\n", "objects"),
    ("def view(request):\n    return Event.objects.unscoped().filter(pk=1)\n", "objects.unscoped"),
    ("class V:\n    def get_queryset(self):\n        return Event.objects.unscoped()\n", "objects.unscoped"),
    ("def view(request):\n    return Event._default_manager.filter(pk=1)\n", "_default_manager"),
    ("def view(request, pk):\n    return get_object_or_404(Event, pk=pk)\n", "get_object_or_404"),
    ("def view(request, pk):\n    return shortcuts.get_object_or_404(models.Store, pk=pk)\n", "get_object_or_404"),
    ("def view(request):\n    return get_list_or_404(Event, store=1)\n", "get_list_or_404"),
    ("def view(request):\n    return Event.objects.select_related('store').visible_to(request.user)\n",
     "objects.select_related"),
])
def test_the_lint_refuses(snippet, what):
    found = lint_source(snippet, tenant_models=MODELS)
    assert [v.what for v in found] == [what], found


@pytest.mark.parametrize("snippet", [
    "def view(request, pk):\n    return Event.objects.visible_to(request.user).get(pk=pk)\n",
    "def view(request):\n    return Event.objects.visible_to(request.user, 'change').filter(store=1)\n",
    "def view(request):\n    return Event.objects.none()\n",
    "def dangerously_all_events():\n    return Event.objects.unscoped()\n",
    "class V:\n    def dangerously_get_queryset(self):\n        return Event.objects.unscoped()\n",
    "def view(request, pk):\n    return get_object_or_404(Event.objects.visible_to(request.user), pk=pk)\n",
    "def view(request, pk):\n    return get_object_or_404(TOTPDevice, pk=pk)\n",  # not tenant-owned
    "def view(request):\n    return access.visible(EventPerson, request.user).filter(pk=1)\n",
])
def test_the_lint_accepts(snippet):
    assert lint_source(snippet, tenant_models=MODELS) == []
