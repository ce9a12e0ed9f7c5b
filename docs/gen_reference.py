"""Write docs/reference.md, the configuration reference, from the installed backends.

    python docs/gen_reference.py            # (re)write docs/reference.md
    python docs/gen_reference.py --check    # exit 1 if docs/reference.md is out of date

For every backend django-prodserver registers (``registry.describe_backends()``), the reference
gives its alias, kind, class, the extra that installs it, the entry keys it reads besides BACKEND
and ARGS, the application setting it serves, and every long option of the program's own parser
with its help text. The options are read from each program as installed, so the page says which
versions it was generated with; run it in an environment with every extra installed
(``pip install -e ".[test]"``).

The introspection lives here, not in the backends: it is documentation, not validation.
"""

from __future__ import annotations

import argparse
import difflib
import re
import sys
from collections.abc import Callable, Iterable
from importlib import metadata
from pathlib import Path
from typing import Any

DOCS = Path(__file__).resolve().parent
OUTPUT = DOCS / "reference.md"
DISTRIBUTION = "django-prodserver"

Option = tuple[str, str]  # (option strings as written on the command line, help text)


def configure_django() -> None:
    """Settings with every app whose management command a backend runs."""
    import django
    from django.conf import settings

    if settings.configured:
        return
    from django_prodserver.backends.django_tasks import INSTALLED_DB_WORKER_APPS

    settings.configure(
        INSTALLED_APPS=[
            "django.contrib.contenttypes",
            "django.contrib.auth",
            "django.contrib.staticfiles",  # runserver's --nostatic and --insecure
            "django_prodserver",
            *INSTALLED_DB_WORKER_APPS[:1],
            "django_q",
        ],
        DATABASES={"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}},
        TASKS={"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}},
        Q_CLUSTER={"timeout": 60, "retry": 120},
        WSGI_APPLICATION="mysite.wsgi.application",
        USE_TZ=True,
    )
    django.setup()


# -- reading each program's options ------------------------------------------------------------


def one_line(text: str | None) -> str:
    return " ".join((text or "").split()).replace("|", "\\|")


def from_click(params: Iterable[Any]) -> list[Option]:
    import click

    options = []
    for param in params:
        if isinstance(param, click.Option) and not param.hidden:
            flags = [*param.opts, *param.secondary_opts]
            options.append((", ".join(flags), one_line(param.help)))
    return options


def from_argparse(
    parser: argparse.ArgumentParser, leave_out: Iterable[str] = ("-h", "--help")
) -> list[Option]:
    formatter = parser._get_formatter()
    left_out = set(leave_out)
    options = []
    for action in parser._actions:
        if not action.option_strings or action.help == argparse.SUPPRESS:
            continue
        if left_out & set(action.option_strings):
            continue
        help_text = formatter._expand_help(action) if action.help else ""
        options.append((", ".join(action.option_strings), one_line(help_text)))
    return options


def gunicorn_options(backend: Any) -> list[Option]:
    from gunicorn.config import KNOWN_SETTINGS

    return [
        (", ".join(setting.cli), one_line(setting.short))
        for setting in KNOWN_SETTINGS
        if setting.cli and not {"-h", "--help", "-v", "--version"} & set(setting.cli)
    ]


def uvicorn_options(backend: Any) -> list[Option]:
    from uvicorn.main import main

    return from_click(main.params)


def granian_options(backend: Any) -> list[Option]:
    from granian.cli import cli

    return from_click(cli.params)


def celery_options(backend: Any) -> list[Option]:
    return from_click(backend.subcommand_parser.params)


def flower_options(backend: Any) -> list[Option]:
    from django_prodserver.backends.celery_flower import flower_options

    return [
        (f"--{name}", one_line(option.help))
        for name, option in sorted(flower_options().items())
        if name != "help"
    ]


def waitress_options(backend: Any) -> list[Option]:
    """The options of ``waitress-serve``, with the first paragraph of its help for each."""
    from waitress.adjustments import Adjustments
    from waitress.runner import HELP

    helps: dict[str, str] = {}
    for block in re.split(r"\n(?=    --)", HELP):
        head, _, body = block.strip().partition("\n")
        name = head.split("=")[0].replace("[no-]", "").lstrip("-").replace("-", "_")
        helps[name] = one_line(body.strip().split("\n\n")[0])
    options = []
    for name, cast in Adjustments._params:
        flag = "--" + name.replace("_", "-")
        flags = f"{flag}, --no-{flag[2:]}" if cast.__name__ == "asbool" else flag
        options.append((flags, helps.get(name, "")))
    options.append(("--call", helps.get("call", "")))
    return options


def daphne_options(backend: Any) -> list[Option]:
    from django_prodserver.backends.daphne import daphne_parser

    return from_argparse(daphne_parser())


def hypercorn_options(backend: Any) -> list[Option]:
    from django_prodserver.backends.hypercorn import hypercorn_parser

    return from_argparse(hypercorn_parser())


def management_command_options(backend: Any) -> list[Option]:
    """The command's own options, without those every management command has."""
    from django.core.management.base import BaseCommand

    common = BaseCommand().create_parser("manage.py", "command")._option_string_actions
    return from_argparse(backend.parser(), leave_out=common)


# Per backend class: how to read its options, the distribution that provides the program, the
# command whose --help lists the options, and the application setting it serves.
PROGRAMS: dict[str, tuple[Callable[[Any], list[Option]], str, str, str]] = {
    "GunicornServer": (gunicorn_options, "gunicorn", "gunicorn --help", "WSGI_APPLICATION"),
    "UvicornServer": (uvicorn_options, "uvicorn", "uvicorn --help", "ASGI_APPLICATION"),
    "UvicornWSGIServer": (uvicorn_options, "uvicorn", "uvicorn --help", "WSGI_APPLICATION"),
    "WaitressServer": (waitress_options, "waitress", "waitress-serve --help", "WSGI_APPLICATION"),
    "GranianServer": (granian_options, "granian", "granian --help", ""),
    "DaphneServer": (daphne_options, "daphne", "daphne --help", "ASGI_APPLICATION"),
    "HypercornServer": (hypercorn_options, "hypercorn", "hypercorn --help", "ASGI_APPLICATION"),
    "CeleryWorker": (celery_options, "celery", "celery worker --help", ""),
    "CeleryBeat": (celery_options, "celery", "celery beat --help", ""),
    "CeleryFlower": (flower_options, "flower", "celery flower --help", ""),
    "DjangoTasksWorker": (
        management_command_options,
        "django-tasks-db",
        "manage.py db_worker --help",
        "",
    ),
    "DjangoQ2Worker": (management_command_options, "django-q2", "manage.py qcluster --help", ""),
    "DjangoRunserver": (
        management_command_options,
        "django",
        "manage.py runserver --help",
        "WSGI_APPLICATION",
    ),
    "WerkzeugRunserver": (
        management_command_options,
        "django-extensions",
        "manage.py runserver_plus --help",
        "WSGI_APPLICATION",
    ),
    "DaphneRunserver": (
        management_command_options,
        "daphne",
        "manage.py runserver --help (with daphne in INSTALLED_APPS)",
        "ASGI_APPLICATION",
    ),
}
GRANIAN_APPLICATIONS = {"granian-wsgi": "WSGI_APPLICATION", "granian-asgi": "ASGI_APPLICATION"}
ASGI_NOTE = " (or the `asgi` module beside `WSGI_APPLICATION`)"


def application_setting(alias: str, class_name: str, settings_keys: Iterable[str]) -> str:
    setting = GRANIAN_APPLICATIONS.get(alias) or PROGRAMS[class_name][3]
    if setting == "ASGI_APPLICATION":
        return f"`{setting}`{ASGI_NOTE}"
    if setting:
        return f"`{setting}`"
    if "APP" in settings_keys:
        return "the Celery application named in `APP`"
    return "none: a worker"


# -- the page ----------------------------------------------------------------------------------


def version(distribution: str) -> str:
    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return "not installed"


def render() -> str:
    configure_django()
    from django_prodserver import registry

    extras = {spec.alias: spec.extras for spec in registry.discover().specs}
    rows = [row for row in registry.describe_backends() if row.distribution == DISTRIBUTION]
    lines = [
        "# Configuration reference",
        "",
        "<!-- Generated by docs/gen_reference.py from the installed backends: do not edit. -->",
        "",
        "Every built-in backend: what to install, the keys its `PRODUCTION_PROCESSES` entry",
        "reads, the application it serves, and every option its program accepts in `ARGS`.",
        "An option is written in `ARGS` by its long name, with `_` or `-`: `--max-requests` is",
        '`"max_requests": 1000`; see [Usage](usage.md#args) for the rule.',
        "",
    ]
    programs = sorted({PROGRAMS[row.target.rpartition(":")[2]][1] for row in rows})
    versions = ", ".join(f"{name} {version(name)}" for name in ["django", *programs])
    lines += [
        f"Generated with django-prodserver {version(DISTRIBUTION)} and {versions}. "
        "Other versions of a "
        "program may have other options; `--dry-run` and `manage.py check` always validate "
        "against the installed one.",
        "",
        "| alias | kind | extra |",
        "|---|---|---|",
    ]
    for row in rows:
        extra = ", ".join(extras.get(row.alias, ())) or "-"
        lines.append(f"| [`{row.alias}`](#{row.alias}) | {row.kind or '-'} | `{extra}` |")
    lines.append("")
    for row in rows:
        lines += section(row, extras.get(row.alias, ()))
    return "\n".join(lines).rstrip() + "\n"


def section(row: Any, extras: Iterable[str]) -> list[str]:
    from django_prodserver import registry

    module_name, _, class_name = row.target.partition(":")
    backend_class = registry.resolve(row.alias).backend_class
    read_options, distribution, help_command, _ = PROGRAMS[class_name]
    from django_prodserver import conf

    keys = sorted(conf.entry_keys(backend_class) - conf.COMMON_KEYS)
    extra = ", ".join(extras)
    lines = [
        f"## {row.alias}",
        "",
        "| | |",
        "|---|---|",
        f"| kind | {row.kind} |",
        f"| class | `{module_name}.{class_name}` |",
        f'| install | `pip install "django-prodserver[{extra}]"` |'
        if extra
        else "| install | nothing beyond django-prodserver |",
        f"| entry keys besides `BACKEND`, `ARGS` | {', '.join(f'`{k}`' for k in keys) or 'none'} |",
        f"| application | {application_setting(row.alias, class_name, keys)} |",
        f"| options of | `{help_command}` ({distribution} {version(distribution)}) |",
        "",
    ]
    backend = backend_class(alias=row.alias, process_name="reference", BACKEND=row.alias)
    added = " ".join(f"`{token}`" for token in backend.prep_server_args()) or "nothing"
    lines.insert(-1, f"| added to an empty `ARGS` | {added} |")
    options = read_options(backend)
    lines += ["| option | help |", "|---|---|"]
    lines += [f"| `{flags}` | {help_text} |" for flags, help_text in options]
    lines.append("")
    return lines


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--check", action="store_true", help="exit 1 if the reference is out of date"
    )
    options = parser.parse_args(argv)
    text = render()
    current = OUTPUT.read_text() if OUTPUT.exists() else ""
    if options.check:
        if current == text:
            print(f"{OUTPUT.relative_to(DOCS.parent)} is up to date.")
            return 0
        diff = difflib.unified_diff(
            current.splitlines(), text.splitlines(), "reference.md", "generated", lineterm=""
        )
        print("\n".join(list(diff)[:40]))
        print(f"{OUTPUT.relative_to(DOCS.parent)} is out of date: run python docs/gen_reference.py")
        return 1
    OUTPUT.write_text(text)
    print(f"wrote {OUTPUT.relative_to(DOCS.parent)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
