"""The registry over real distribution metadata: dist-info folders on a temporary sys.path."""

from __future__ import annotations

import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from django_prodserver import entry_points, registry
from django_prodserver.entry_points import ENTRY_POINT_GROUP

if sys.version_info >= (3, 10):
    from importlib import metadata
else:  # the registry reads the backport on Python 3.9
    import importlib_metadata as metadata
from django_prodserver.backends.base import BaseServerBackend
from django_prodserver.exceptions import (
    BackendConflict,
    BackendDependencyMissing,
    BackendImportFailed,
    BackendNotFound,
    InvalidBackend,
)

from .not_installed import hide_packages


class SitePackages:
    """A folder on sys.path into which tests install fake distributions."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def install(
        self,
        dist: str,
        version: str,
        entry_points: dict[str, str],
        modules: dict[str, str] | None = None,
    ) -> None:
        info = self.path / f"{dist.replace('-', '_')}-{version}.dist-info"
        info.mkdir(parents=True)
        (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: {version}\n")
        lines = "".join(f"{alias} = {target}\n" for alias, target in entry_points.items())
        (info / "entry_points.txt").write_text(f"[{ENTRY_POINT_GROUP}]\n{lines}")
        for module, source in (modules or {}).items():
            (self.path / f"{module}.py").write_text(textwrap.dedent(source))


BACKEND_MODULE = """
from django_prodserver.backends.base import BaseServerBackend, BaseWorkerBackend

class Server(BaseServerBackend):
    pass

class Worker(BaseWorkerBackend):
    pass

not_a_class = lambda: None

class NotABackend:
    pass
"""


@pytest.fixture
def site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[SitePackages]:
    path = tmp_path / "site"
    path.mkdir()
    monkeypatch.syspath_prepend(str(path))
    before = set(sys.modules)
    yield SitePackages(path)
    for name in set(sys.modules) - before:
        if name.startswith("fake_"):
            del sys.modules[name]


def test_alias_resolves_to_its_class_and_knows_its_alias(site: SitePackages) -> None:
    site.install(
        "fake-plugin", "1.2", {"fake-web": "fake_plugin:Server"}, {"fake_plugin": BACKEND_MODULE}
    )
    resolved = registry.resolve("fake-web")
    assert resolved.backend_class.__name__ == "Server"
    assert resolved.alias == "fake-web"
    assert resolved.spec == registry.BackendSpec(
        "fake-web", "fake_plugin:Server", (), "fake-plugin", "1.2"
    )


def test_one_class_can_serve_several_aliases(site: SitePackages) -> None:
    site.install(
        "fake-plugin",
        "1.0",
        {"fake-a": "fake_plugin:Server", "fake-b": "fake_plugin:Server"},
        {"fake_plugin": BACKEND_MODULE},
    )
    first, second = registry.resolve("fake-a"), registry.resolve("fake-b")
    assert first.backend_class is second.backend_class
    assert (first.alias, second.alias) == ("fake-a", "fake-b")


def test_a_distribution_s_metadata_is_parsed_once_for_all_its_backends(
    site: SitePackages, monkeypatch: pytest.MonkeyPatch
) -> None:
    aliases = {f"fake-{n}": "fake_plugin:Server" for n in range(5)}
    site.install("fake-plugin", "1.3", aliases, {"fake_plugin": BACKEND_MODULE})
    parsed: list[str] = []
    metadata_of = metadata.PathDistribution.metadata

    def counted(dist: metadata.PathDistribution) -> Any:
        parsed.append(str(getattr(dist, "_path", "")))
        return metadata_of.fget(dist)  # type: ignore[attr-defined]

    monkeypatch.setattr(metadata.PathDistribution, "metadata", property(counted))

    specs = [spec for spec in registry.discover().specs if spec.distribution == "fake-plugin"]

    assert [(spec.alias, spec.version) for spec in specs] == [(a, "1.3") for a in sorted(aliases)]
    # Each access parses the whole METADATA file; a large one (a long description) is costly.
    assert sum("fake_plugin-1.3" in path for path in parsed) == 1


def test_same_distribution_twice_on_sys_path_is_not_a_conflict(
    site: SitePackages, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    site.install(
        "fake-plugin", "2.0", {"fake-web": "fake_plugin:Server"}, {"fake_plugin": BACKEND_MODULE}
    )
    stale = SitePackages(tmp_path / "stale")
    stale.path.mkdir()
    stale.install("fake_plugin", "1.0", {"fake-web": "fake_plugin:Worker"})
    monkeypatch.syspath_prepend(str(stale.path))  # the stale copy comes first on sys.path
    resolved = registry.resolve("fake-web")
    # The copy Python finds first wins, as it would for an import.
    assert resolved.spec is not None
    assert resolved.spec.version == "1.0"
    assert resolved.backend_class.__name__ == "Worker"


def test_two_distributions_registering_one_alias_conflict(site: SitePackages) -> None:
    site.install(
        "fake-one", "1.0", {"fake-web": "fake_plugin:Server"}, {"fake_plugin": BACKEND_MODULE}
    )
    site.install("fake-two", "3.1", {"fake-web": "fake_plugin:Worker"})
    with pytest.raises(BackendConflict) as excinfo:
        registry.resolve("fake-web")
    assert str(excinfo.value) == (
        "BACKEND 'fake-web' is registered by more than one distribution: "
        "fake-one 1.0 (fake_plugin:Server); fake-two 3.1 (fake_plugin:Worker). "
        "Set BACKEND to the dotted path of the one you want, such as 'fake_plugin:Server'."
    )


def test_plugin_that_raises_on_import_is_reported_with_its_distribution(
    site: SitePackages,
) -> None:
    site.install(
        "fake-broken",
        "0.3",
        {"fake-broken": "fake_broken:Server"},
        {"fake_broken": "raise RuntimeError('the plugin\\nis broken')\n"},
    )
    with pytest.raises(BackendImportFailed) as excinfo:
        registry.resolve("fake-broken")
    assert str(excinfo.value) == (
        "BACKEND 'fake-broken' (fake_broken:Server from fake-broken 0.3) failed to import: "
        "RuntimeError: the plugin is broken"
    )
    assert isinstance(excinfo.value.__cause__, RuntimeError)


def test_missing_dependency_gives_the_install_command_from_the_extra(
    site: SitePackages,
) -> None:
    site.install(
        "fake-needs",
        "1.0",
        {"fake-needs": "fake_needs:Server [fast]"},
        {"fake_needs": "import fake_not_installed_anywhere\n"},
    )
    with pytest.raises(BackendDependencyMissing) as excinfo:
        registry.resolve("fake-needs")
    assert str(excinfo.value) == (
        "BACKEND 'fake-needs' needs the module 'fake_not_installed_anywhere', which is not "
        'installed. Install it with: pip install "fake-needs[fast]"'
    )


def test_missing_dependency_of_a_dotted_path_without_entry_point(site: SitePackages) -> None:
    (site.path / "fake_needs.py").write_text("import fake_not_installed_anywhere\n")
    with pytest.raises(BackendDependencyMissing) as excinfo:
        registry.resolve("fake_needs.Server")
    assert str(excinfo.value) == (
        "BACKEND 'fake_needs.Server' needs the module 'fake_not_installed_anywhere', which is "
        "not installed. Install the package that provides it."
    )


def test_dotted_path_to_a_registered_backend_gets_the_same_install_hint(
    site: SitePackages,
) -> None:
    site.install(
        "fake-needs",
        "1.0",
        {"fake-needs": "fake_needs:Server [fast]"},
        {"fake_needs": "import fake_not_installed_anywhere\n"},
    )
    with pytest.raises(BackendDependencyMissing) as excinfo:
        registry.resolve("fake_needs.Server")
    assert str(excinfo.value).endswith('Install it with: pip install "fake-needs[fast]"')


@pytest.mark.parametrize(
    ("extras", "hint"),
    [
        # Another class of the module of a registered backend: the module's extra.
        (("fast", "fast"), 'Install it with: pip install "fake-needs[fast]"'),
        # The module's backends need different extras: which one is unknown.
        (("fast", "slow"), "Install the package that provides it."),
    ],
)
def test_dotted_path_to_another_class_of_a_registered_module(
    site: SitePackages, extras: tuple[str, str], hint: str
) -> None:
    site.install(
        "fake-needs",
        "1.0",
        {
            "fake-needs": f"fake_needs:Server [{extras[0]}]",
            "fake-needs-worker": f"fake_needs:Worker [{extras[1]}]",
        },
        {"fake_needs": "import fake_not_installed_anywhere\n"},
    )
    with pytest.raises(BackendDependencyMissing) as excinfo:
        registry.resolve("fake_needs.OtherServer")
    assert str(excinfo.value) == (
        "BACKEND 'fake_needs.OtherServer' needs the module 'fake_not_installed_anywhere', which "
        f"is not installed. {hint}"
    )


# What a bare `pip install django-prodserver` lacks: every server package and the packages the
# servers depend on that the backends import too.
NOT_IN_A_BARE_INSTALL = (
    "celery",
    "click",
    "daphne",
    "django_q",
    "django_tasks",
    "django_tasks_db",
    "flower",
    "granian",
    "gunicorn",
    "hypercorn",
    "tornado",
    "twisted",
    "uvicorn",
    "waitress",
)
# Each built-in backend module: the module it names as missing, and its extra.
BUILT_IN_BACKENDS = {
    "celery": ("celery", "celery", ["CeleryWorker", "CeleryBeat"]),
    "celery_flower": ("flower", "flower", ["CeleryFlower"]),
    "daphne": ("daphne", "daphne", ["DaphneServer"]),
    "django_q2": ("django_q", "django-q2", ["DjangoQ2Worker"]),
    "django_tasks": ("django_tasks_db", "django-tasks", ["DjangoTasksWorker"]),
    "granian": ("granian", "granian", ["GranianServer", "GranianASGIServer", "GranianWSGIServer"]),
    "gunicorn": ("gunicorn", "gunicorn", ["GunicornServer"]),
    "hypercorn": ("hypercorn", "hypercorn", ["HypercornServer"]),
    "uvicorn": ("uvicorn", "uvicorn", ["UvicornServer", "UvicornWSGIServer"]),
    "waitress": ("waitress", "waitress", ["WaitressServer"]),
}


# django-prodserver 3.0's modules that re-export a built-in one: module -> the built-in module.
UPSTREAM_MODULES = {
    "servers.flower": "celery_flower",
    "servers.granian": "granian",
    "servers.gunicorn": "gunicorn",
    "servers.uvicorn": "uvicorn",
    "servers.waitress": "waitress",
    "workers.celery": "celery",
    "workers.django_q2": "django_q2",
    "workers.django_tasks": "django_tasks",
}
CLASS_PATHS = [
    (module, cls) for module, (_, _, classes) in BUILT_IN_BACKENDS.items() for cls in classes
] + [
    (upstream, cls)
    for upstream, module in UPSTREAM_MODULES.items()
    for cls in BUILT_IN_BACKENDS[module][2]
    if cls != "GranianServer"  # 3.0 named it GranianServerBase
]


@pytest.fixture
def bare_install(monkeypatch: pytest.MonkeyPatch) -> None:
    """No server package can be imported, as after `pip install django-prodserver`."""
    backend_modules = {
        f"django_prodserver.backends.{m}" for m in [*BUILT_IN_BACKENDS, *UPSTREAM_MODULES]
    }
    for name in list(sys.modules):  # a backend package's modules too (granian's)
        if name in backend_modules or name.rpartition(".")[0] in backend_modules:
            monkeypatch.delitem(sys.modules, name)
    hide_packages(monkeypatch, NOT_IN_A_BARE_INSTALL)


@pytest.mark.usefixtures("bare_install")
@pytest.mark.parametrize(("module", "cls"), CLASS_PATHS)
def test_bare_install_every_class_path_names_its_server_and_extra(module: str, cls: str) -> None:
    # A 3.0 path re-exports a built-in module, whose hint it gets.
    missing, extra, _ = BUILT_IN_BACKENDS[UPSTREAM_MODULES.get(module, module)]
    backend = f"django_prodserver.backends.{module}.{cls}"
    with pytest.raises(BackendDependencyMissing) as excinfo:
        registry.resolve(backend)
    assert str(excinfo.value) == (
        f"BACKEND {backend!r} needs the module {missing!r}, which is not installed. "
        f'Install it with: pip install "django-prodserver[{extra}]"'
    )


@pytest.mark.usefixtures("bare_install")
def test_bare_install_every_alias_names_its_server_and_extra() -> None:
    rows = {row.alias: row for row in registry.describe_backends()}
    expected = {}
    for module, (missing, extra, _) in BUILT_IN_BACKENDS.items():
        for alias, row in rows.items():
            if row.target.startswith(f"django_prodserver.backends.{module}:"):
                expected[alias] = (
                    "missing dependency",
                    f"BACKEND {alias!r} needs the module {missing!r}, which is not installed. "
                    f'Install it with: pip install "django-prodserver[{extra}]"',
                )
    assert len(expected) == 13
    assert {alias: (rows[alias].status, rows[alias].detail) for alias in expected} == expected


def test_entry_point_that_is_not_a_class(site: SitePackages) -> None:
    site.install(
        "fake-plugin",
        "1.0",
        {"fake-fn": "fake_plugin:not_a_class"},
        {"fake_plugin": BACKEND_MODULE},
    )
    with pytest.raises(InvalidBackend) as excinfo:
        registry.resolve("fake-fn")
    assert str(excinfo.value) == (
        "BACKEND 'fake-fn' (fake_plugin:not_a_class from fake-plugin 1.0) is not a backend "
        "class: it is a function object. A backend must be a subclass of "
        "django_prodserver.backends.base.BaseServerBackend or BaseWorkerBackend."
    )


def test_class_that_is_not_a_backend(site: SitePackages) -> None:
    (site.path / "fake_plugin.py").write_text(BACKEND_MODULE)
    with pytest.raises(InvalidBackend) as excinfo:
        registry.resolve("fake_plugin.NotABackend")
    assert str(excinfo.value) == (
        "BACKEND 'fake_plugin.NotABackend' is not a backend class: it is the class "
        "fake_plugin.NotABackend. A backend must be a subclass of "
        "django_prodserver.backends.base.BaseServerBackend or BaseWorkerBackend."
    )


def test_entry_point_whose_module_is_gone(site: SitePackages) -> None:
    site.install("fake-stale", "1.0", {"fake-stale": "fake_gone:Server"})
    with pytest.raises(BackendImportFailed) as excinfo:
        registry.resolve("fake-stale")
    assert str(excinfo.value) == (
        "BACKEND 'fake-stale' (fake_gone:Server from fake-stale 1.0) failed to import: there is "
        "no module 'fake_gone'. Reinstall fake-stale."
    )


def test_entry_point_whose_attribute_is_gone(site: SitePackages) -> None:
    site.install(
        "fake-plugin", "1.0", {"fake-web": "fake_plugin:Servr"}, {"fake_plugin": BACKEND_MODULE}
    )
    with pytest.raises(BackendImportFailed) as excinfo:
        registry.resolve("fake-web")
    assert str(excinfo.value) == (
        "BACKEND 'fake-web' (fake_plugin:Servr from fake-plugin 1.0) cannot be loaded: module "
        "'fake_plugin' has no attribute 'Servr'. Did you mean 'Server'?"
    )


BUILT_IN_AND_TEST_PLUGIN_ALIASES = (
    "celery-beat, celery-flower, celery-worker, daphne, daphne-runserver, django-q2, django-tasks, "
    "granian-asgi, granian-wsgi, gunicorn, hypercorn, runserver, runserver-plus, uvicorn, "
    "uvicorn-wsgi, waitress, wsgiref"
)


def test_unknown_alias_suggests_close_matches_and_lists_known_ones() -> None:
    with pytest.raises(BackendNotFound) as excinfo:
        registry.resolve("gunicron")
    assert str(excinfo.value) == (
        "BACKEND 'gunicron' is not a known backend alias. Did you mean 'gunicorn' or 'uvicorn'? "
        f"Known aliases: {BUILT_IN_AND_TEST_PLUGIN_ALIASES}. A dotted path to a backend class, "
        "such as 'myproject.backends.MyServer', also works."
    )


def test_several_close_matches_are_offered() -> None:
    with pytest.raises(BackendNotFound, match=r"Did you mean 'granian-wsgi' or 'granian-asgi'\?"):
        registry.resolve("granian")


def test_unknown_alias_with_nothing_installed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(entry_points, "_distributions", lambda: [])
    with pytest.raises(BackendNotFound) as excinfo:
        registry.resolve("web")
    assert str(excinfo.value) == (
        "BACKEND 'web' is not a known backend alias. Known aliases: none are installed. "
        "A dotted path to a backend class, such as 'myproject.backends.MyServer', also works."
    )


@pytest.mark.parametrize(
    ("backend", "message"),
    [
        (
            "fake_missing_pkg.backends.Server",
            "BACKEND 'fake_missing_pkg.backends.Server' cannot be imported: there is no module "
            "named 'fake_missing_pkg.backends'. Check the spelling, or use a backend alias "
            "(manage.py prodserver --list-backends).",
        ),
        (
            "django_prodserver.backends.base.BaseServerBackendd",
            "BACKEND 'django_prodserver.backends.base.BaseServerBackendd' cannot be loaded: module "
            "'django_prodserver.backends.base' has no attribute 'BaseServerBackendd'. "
            "Did you mean 'BaseServerBackend'?",
        ),
        (
            ":Server",
            "BACKEND ':Server' is not a valid dotted path: write it as 'package.module.Class' or "
            "'package.module:Class'.",
        ),
        (
            "  ",
            "BACKEND must be a backend alias or a dotted path to a backend class, not '  '.",
        ),
    ],
)
def test_bad_dotted_paths(backend: str, message: str) -> None:
    with pytest.raises(BackendNotFound) as excinfo:
        registry.resolve(backend)
    assert str(excinfo.value) == message


def test_dotted_path_and_colon_path_scan_no_entry_points(
    site: SitePackages, monkeypatch: pytest.MonkeyPatch
) -> None:
    (site.path / "fake_plugin.py").write_text(BACKEND_MODULE)

    def no_scan() -> None:
        raise AssertionError("a dotted path must not scan entry points")

    monkeypatch.setattr(entry_points, "_distributions", no_scan)
    assert registry.resolve("fake_plugin.Server").alias is None
    assert registry.resolve("fake_plugin:Worker").backend_class.kind == "worker"
    assert registry.resolve("django_prodserver.backends.base.BaseServerBackend").backend_class is (
        BaseServerBackend
    )


def test_aliases_scan_at_most_once_per_process(monkeypatch: pytest.MonkeyPatch) -> None:
    calls = []
    real = entry_points._distributions

    def counting() -> object:
        calls.append(1)
        return real()

    monkeypatch.setattr(entry_points, "_distributions", counting)
    registry.resolve("wsgiref")
    registry.resolve("wsgiref")
    with pytest.raises(BackendNotFound):
        registry.resolve("nope")
    assert len(calls) == 1


def test_broken_plugin_does_not_affect_other_backends(site: SitePackages) -> None:
    site.install(
        "fake-broken",
        "0.3",
        {"fake-broken": "fake_broken:Server"},
        {"fake_broken": "raise RuntimeError('boom')\n"},
    )
    site.install(
        "fake-plugin", "1.0", {"fake-web": "fake_plugin:Server"}, {"fake_plugin": BACKEND_MODULE}
    )
    assert registry.resolve("fake-web").backend_class.__name__ == "Server"
    assert "fake_broken" not in sys.modules


def test_unreadable_metadata_is_listed_as_a_problem(site: SitePackages) -> None:
    site.install("fake-plugin", "1.0", {"fake-web": "fake_plugin:Server"})
    info = site.path / "fake_plugin-1.0.dist-info"
    (info / "entry_points.txt").write_text(
        f"[{ENTRY_POINT_GROUP}]\nthis line is not an entry point\n"
    )
    discovery = registry.discover()
    assert [p.distribution for p in discovery.problems] == [str(info)]
    rows = [row for row in registry.describe_backends() if row.distribution == str(info)]
    assert [row.status for row in rows] == ["broken"]


def test_describe_backends_reports_every_status(site: SitePackages) -> None:
    site.install(
        "fake-one",
        "1.0",
        {"fake-web": "fake_plugin:Server", "fake-x": "fake_plugin:Worker"},
        {"fake_plugin": BACKEND_MODULE},
    )
    site.install("fake-two", "2.0", {"fake-x": "fake_plugin:Server"})
    site.install(
        "fake-broken",
        "0.3",
        {"fake-broken": "fake_broken:Server"},
        {"fake_broken": "raise RuntimeError('boom')\n"},
    )
    site.install(
        "fake-needs",
        "1.0",
        {"fake-needs": "fake_needs:Server [fast]"},
        {"fake_needs": "import fake_not_installed_anywhere\n"},
    )
    site.install("fake-fn", "1.0", {"fake-fn": "fake_plugin:not_a_class"})
    rows = {
        (row.alias, row.distribution): row
        for row in registry.describe_backends()
        if row.distribution.startswith("fake-")
    }
    assert rows["fake-web", "fake-one"] == registry.BackendInfo(
        "fake-web", "server", "fake_plugin:Server", "fake-one", "1.0", "ok", ""
    )
    assert rows["fake-x", "fake-one"].status == "conflict"
    assert rows["fake-x", "fake-two"].status == "conflict"
    assert rows["fake-broken", "fake-broken"].status == "broken"
    assert rows["fake-broken", "fake-broken"].detail.endswith("RuntimeError: boom")
    assert rows["fake-needs", "fake-needs"].status == "missing dependency"
    assert rows["fake-needs", "fake-needs"].detail.endswith('pip install "fake-needs[fast]"')
    assert rows["fake-fn", "fake-fn"].status == "not a backend"


def test_error_in_process_keeps_its_class_and_cause() -> None:
    with pytest.raises(BackendNotFound) as excinfo:
        registry.resolve("fake_missing_pkg.Server")
    worded = excinfo.value.in_process("web")
    assert type(worded) is BackendNotFound
    assert str(worded).startswith("Process 'web': BACKEND 'fake_missing_pkg.Server' cannot")
    assert worded.__cause__ is excinfo.value.__cause__


def test_extras_with_hyphens_keep_their_names(site: SitePackages) -> None:
    site.install(
        "fake-needs",
        "1.0",
        {"fake-needs": "fake_needs:Server [fast-io, extra2]"},
        {"fake_needs": "import fake_not_installed_anywhere\n"},
    )
    with pytest.raises(BackendDependencyMissing) as excinfo:
        registry.resolve("fake-needs")
    assert str(excinfo.value).endswith('pip install "fake-needs[fast-io,extra2]"')


@pytest.mark.parametrize(
    ("source", "shown"),
    [("import sys\nsys.exit(0)\n", "SystemExit: 0"), ("raise SystemExit(3)\n", "SystemExit: 3")],
)
def test_a_backend_module_that_exits_failed_to_import(
    site: SitePackages, source: str, shown: str
) -> None:
    # Not exit status 0 and no output: the import failed, and says so.
    site.install("fake-exits", "0.1", {"fake-exits": "fake_exits:Server"}, {"fake_exits": source})
    with pytest.raises(BackendImportFailed) as excinfo:
        registry.resolve("fake-exits")
    assert str(excinfo.value) == (
        f"BACKEND 'fake-exits' (fake_exits:Server from fake-exits 0.1) failed to import: {shown}"
    )
    sys.modules.pop("fake_exits", None)


def test_a_stop_while_a_backend_imports_stays_a_stop(site: SitePackages) -> None:
    site.install(
        "fake-stopped",
        "0.1",
        {"fake-stopped": "fake_stopped:Server"},
        {"fake_stopped": "raise KeyboardInterrupt\n"},
    )
    with pytest.raises(KeyboardInterrupt):
        registry.resolve("fake-stopped")
