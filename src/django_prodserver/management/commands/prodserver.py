"""``manage.py prodserver [NAME]``: start a process configured in ``PRODUCTION_PROCESSES``."""

from __future__ import annotations

import json
from argparse import ArgumentParser
from typing import Any, ClassVar

from django.core.management.base import BaseCommand, CommandError, SystemCheckError

from ... import conf, registry
from ...exceptions import ProdserverError, WrongProcessKind

COMMAND_FOR_KIND = {"server": "server", "worker": "worker"}


class Command(BaseCommand):
    help = (
        "Start a production process configured in PRODUCTION_PROCESSES: a web server or a task "
        "worker. Without NAME, the first configured process starts."
    )
    # The checks run in handle(), after this command's own validation has had its say in one
    # line, and not at all for --list and --list-backends, which must work on broken settings.
    requires_system_checks: ClassVar[list[str]] = []  # type: ignore[misc]
    #: Limits the command to backends of one kind ("server" or "worker"); None starts any.
    kind: ClassVar[str | None] = None

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("name", nargs="?", help="The process to start (a key of the setting).")
        parser.add_argument(
            "--list", action="store_true", help="List the configured processes and exit."
        )
        parser.add_argument(
            "--list-backends",
            action="store_true",
            help="List every installed backend with its status and exit.",
        )
        parser.add_argument(
            "--json", action="store_true", help="With --list or --list-backends: print JSON."
        )
        parser.add_argument(
            "--dry-run",
            action="store_true",
            help="Validate everything and print what would start, but start nothing.",
        )
        parser.add_argument(
            "--set",
            action="append",
            default=[],
            metavar="OPTION=VALUE",
            dest="overrides",
            help="Override one ARGS option for this run, e.g. --set workers=8 (repeatable; a "
            "repeated option becomes a list; true/false/none give True/False/None).",
        )
        parser.add_argument(
            "--skip-checks", action="store_true", help="Skip Django's system checks."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            if options["list_backends"]:
                self._list_backends(as_json=options["json"])
            elif options["list"]:
                self._list_processes(as_json=options["json"])
            else:
                self._start(options)
        except ProdserverError as e:
            raise CommandError(e.message) from e

    def _start(self, options: dict[str, Any]) -> None:
        config = conf.with_overrides(
            conf.select_process(options["name"], self.kind), options["overrides"]
        )
        backend, args = conf.prepare(config)
        if self.kind and backend.kind != self.kind:
            raise WrongProcessKind(
                f"Process {config.name!r} runs a {backend.kind} (backend {config.backend!r}), "
                f"not a {self.kind}: start it with 'manage.py {COMMAND_FOR_KIND[backend.kind]} "
                f"{config.name}' or 'manage.py prodserver {config.name}'."
            )
        described = f"process {config.name!r} with backend {config.backend!r}"
        if options["dry_run"]:
            self.stdout.write(f"Would start {described} ({type(backend).__name__}):")
            self.stdout.write(backend.describe_start(args))
            return
        if not options["skip_checks"]:
            self._run_system_checks()
        self.stdout.write(f"Starting {described}.")
        self.stdout.flush()
        backend.start_server(*args)

    def _run_system_checks(self) -> None:
        try:
            self.check(display_num_errors=False)
        except SystemCheckError:
            raise
        except Exception as e:
            # A check that crashes (a URLconf or view that fails to import) is still a
            # configuration error: one line, with the cause, and the traceback under --traceback.
            text = " ".join(f"{type(e).__name__}: {e}".split())
            raise CommandError(f"System checks could not run: {text}") from e

    def _list_processes(self, as_json: bool) -> None:
        rows = []
        for name, entry in conf.processes_setting().items():
            row: dict[str, Any] = {
                "name": name,
                "backend": None,
                "kind": None,
                "status": "ok",
                "detail": "",
            }
            try:
                config = conf.validate_entry(name, entry)
                row["backend"] = config.backend
                backend = conf.load_backend(config)
                row["kind"] = backend.kind
                # Valid means the start would pass validation: ARGS too, not only BACKEND.
                conf.prepare(config)
            except ProdserverError as e:
                row["status"], row["detail"] = "error", e.message
            # server and worker list their own kind, and the processes they cannot tell.
            if self.kind is None or row["kind"] in (self.kind, None):
                rows.append(row)
        if as_json:
            self.stdout.write(json.dumps(rows, indent=2))
            return
        self._write_table(
            ["PROCESS", "BACKEND", "KIND", "STATUS"],
            [[r["name"], r["backend"] or "-", r["kind"] or "-", self._status(r)] for r in rows],
        )

    def _list_backends(self, as_json: bool) -> None:
        rows = registry.describe_backends()
        if as_json:
            self.stdout.write(json.dumps([row._asdict() for row in rows], indent=2))
            return
        self._write_table(
            ["ALIAS", "KIND", "TARGET", "DISTRIBUTION", "STATUS"],
            [
                [
                    row.alias,
                    row.kind or "-",
                    row.target,
                    f"{row.distribution} {row.version}",
                    self._status(row._asdict()),
                ]
                for row in rows
            ],
        )

    def _status(self, row: dict[str, Any]) -> str:
        text = row["status"] + (f": {row['detail']}" if row["detail"] else "")
        style = self.style.SUCCESS if row["status"] == "ok" else self.style.ERROR
        return style(text)

    def _write_table(self, header: list[str], rows: list[list[str]]) -> None:
        # The last column holds free text, so it is not padded.
        widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header) - 1)]
        for row in [header, *rows]:
            cells = [cell.ljust(width) for cell, width in zip(row, widths)]
            self.stdout.write("  ".join([*cells, row[-1]]))
