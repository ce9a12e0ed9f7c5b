"""``manage.py prodserver [NAME]``: start a process configured in ``PRODUCTION_PROCESSES``."""

from __future__ import annotations

import json
import os
import sys
from argparse import ArgumentParser
from pathlib import Path
from typing import Any, ClassVar

from django.core.management.base import BaseCommand, CommandError, SystemCheckError

from ... import checks, conf, export, listing, processes, registry, supervisor, warmup
from ...backends.base import BaseProcessBackend
from ...exceptions import ExportFailed, ProdserverError, WrongProcessKind, one_line
from ...redact import redact_text

COMMAND_FOR_KIND = {"server": "server", "worker": "worker", "dev": "devserver"}
# The kinds each limited command starts: 3.0's development backends were servers, and
# `manage.py server NAME` started them.
KINDS_STARTED_BY = {"server": ("server", "dev"), "worker": ("worker",)}
KIND_NOUNS = {"dev": "development server"}
# Set in the process a development server's reloader restarts (Django's, Werkzeug's).
RELOADER_CHILD = ("RUN_MAIN", "WERKZEUG_RUN_MAIN")
#: The command's on/off options, with their help.
SWITCHES = {
    "--all": "Start every configured process together, and stop them together.",
    "--list": "List the configured processes and exit.",
    "--list-backends": "List every installed backend with its status and exit.",
    "--json": "With --list or --list-backends: print JSON.",
    "--dry-run": "Check the processes without starting anything, and print what would start: "
    "the settings, BACKEND, ARGS (with the server's own parser), PORT and WEB_CONCURRENCY, and "
    "the application, imported and checked to be callable by the server. The system checks, "
    "the address and the warm-up request are checked at a start only.",
}
#: Options that do something only beside another: each refused without it.
GOES_WITH = {"json": ("list", "list_backends"), "output": ("export",), "image": ("export",)}


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
        parser.add_argument(
            "name",
            nargs="*",
            help="The process to start (a key of the setting); several names start them all "
            "together, each as its own 'manage.py prodserver NAME'.",
        )
        for flag, text in SWITCHES.items():
            parser.add_argument(flag, action="store_true", help=text)
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
        parser.add_argument(
            "--export",
            metavar="FORMAT",
            help=f"Write deployment files for the processes (all, or NAME) and exit: "
            f"{', '.join(export.FORMATS)}.",
        )
        parser.add_argument(
            "--output",
            type=Path,
            metavar="DIR",
            help="With --export: the folder to write the files in (default: print them).",
        )
        parser.add_argument(
            "--image", help="With --export kubernetes: the container image that holds the project."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        # A list from the command line; devserver passes one name as a string.
        names = options.get("name") or []
        options["name"] = [names] if isinstance(names, str) else list(names)
        options.setdefault("all", False)
        self._refuse_options_alone(options)
        try:
            # Each process built once for the run: the system checks reuse what it prepared.
            with processes.for_this_run() as handler:
                if options["list_backends"]:
                    self._list_backends(as_json=options["json"])
                elif options["list"]:
                    self._list_processes(handler, as_json=options["json"])
                elif options["export"] is not None:
                    self._export(options)
                elif options["all"] or len(options["name"]) > 1:
                    self._start_several(options)
                else:
                    self._start(handler, options)
        except ExportFailed as e:
            raise CommandError("\n".join(e.lines)) from e
        except ProdserverError as e:
            raise CommandError(e.message) from e

    @staticmethod
    def _refuse_options_alone(options: dict[str, Any]) -> None:
        # Ignored, they would let a start go ahead that the user meant to list or export.
        for dest, partners in GOES_WITH.items():
            if options.get(dest) and not any(options.get(partner) for partner in partners):
                flag, wanted = (
                    f"--{dest}",
                    " or ".join(f"--{p.replace('_', '-')}" for p in partners),
                )
                raise CommandError(
                    f"{flag} goes with {wanted}, and does nothing without: add {wanted}, or "
                    f"leave out {flag}."
                )

    def _start(self, handler: processes.ProcessHandler, options: dict[str, Any]) -> None:
        name = options["name"][0] if options["name"] else None
        config = conf.with_overrides(handler.select(name, self.kind), options["overrides"])
        config, backend, args = handler.prepare(handler.with_environment(config))
        if self.kind and backend.kind not in KINDS_STARTED_BY.get(self.kind, (self.kind,)):
            command = COMMAND_FOR_KIND.get(backend.kind)
            instead = f"'manage.py {command} {config.name}' or " if command else ""
            raise WrongProcessKind(
                f"Process {config.name!r} runs a {KIND_NOUNS.get(backend.kind, backend.kind)} "
                f"(backend {config.backend!r}), not a {KIND_NOUNS.get(self.kind, self.kind)}: "
                f"start it with {instead}'manage.py prodserver {config.name}'."
            )
        backend.check_can_start()
        if options["dry_run"]:
            backend.check_application()
            self._describe(config, backend, args)
            return
        if not options["skip_checks"]:
            self._run_system_checks(config.name)
        if not any(os.environ.get(name) == "true" for name in RELOADER_CHILD):
            # Once, not again on each reload.
            self.stdout.write(f"Starting process {config.name!r} with backend {config.backend!r}.")
            self.stdout.flush()
        backend.start_server(*args)

    def _describe(
        self, config: conf.ProcessConfig, backend: BaseProcessBackend, args: list[str]
    ) -> None:
        self.stdout.write(
            f"Would start process {config.name!r} with backend {config.backend!r} "
            f"({type(backend).__name__}):"
        )
        self.stdout.write(backend.describe_start(args))
        for line in config.sources:
            self.stdout.write(line)
        healthcheck = backend.healthcheck()
        if healthcheck:
            self.stdout.write(warmup.describe(healthcheck, backend.warms_up))

    def _start_several(self, options: dict[str, Any]) -> None:
        """``--all`` or several names: every process validated, then each run as a child."""
        if options["all"] and options["name"]:
            raise CommandError(
                "--all starts every process: give no process names with it, or leave out --all."
            )
        if options["overrides"]:
            raise CommandError(
                "--set overrides the ARGS of one process: start that process alone to use it."
            )
        kinds = KINDS_STARTED_BY.get(self.kind, (self.kind,)) if self.kind else None
        planned, errors = processes.plan(options["name"], kinds)
        for error in errors:
            self.stderr.write(error.message)
        if errors:
            total = len(planned) + len(errors)
            raise CommandError(f"{len(errors)} of {total} processes cannot start; none started.")
        if not planned:
            kind = KIND_NOUNS.get(str(self.kind), self.kind)
            raise CommandError(f"No process in {conf.SETTING} runs a {kind}.")
        if options["dry_run"]:
            self._check_applications(planned)
            for process in planned:
                self._describe(process.config, process.backend, process.args)
            return
        if not options["skip_checks"]:
            self._run_system_checks(*(process.config.name for process in planned))
        manage_options = [
            f"--{name}={options[name]}" for name in ("settings", "pythonpath") if options[name]
        ]
        manage_options += ["--traceback"] * bool(options["traceback"]) + ["--skip-checks"]
        children = [
            supervisor.Child(
                process.config.name,
                supervisor.child_command(process.config.name, manage_options),
                process,
            )
            for process in planned
        ]
        colour = self.stdout.isatty() and not options["no_color"]
        status = supervisor.Supervisor(children, self.stdout, colour).run()
        if status:
            sys.exit(status)

    def _check_applications(self, planned: list[processes.PlannedProcess]) -> None:
        failed = 0
        for process in planned:
            try:
                process.backend.check_application()
            except ProdserverError as e:
                self.stderr.write(e.message)
                failed += 1
        if failed:
            raise CommandError(f"{failed} of {len(planned)} processes cannot start; none started.")

    def _export(self, options: dict[str, Any]) -> None:
        names = options["name"] or None
        output = options["output"]
        notes: list[str] = []
        files = export.render(options["export"], names, output, options["image"], notes)
        for note in notes:
            self.stderr.write(note)
        if output is None:
            for number, (name, text) in enumerate(files.items()):
                if len(files) > 1:  # a comment line in every format with several files
                    self.stdout.write(("\n" if number else "") + f"# {name}")
                self.stdout.write(text, ending="")
            return
        for path in export.write(files, output):
            self.stdout.write(f"Wrote {path}")

    def _run_system_checks(self, *processes: str) -> None:
        try:
            with checks.starting(*processes):
                self.check(display_num_errors=False)
        except SystemCheckError:
            raise
        except Exception as e:
            # A check that crashes (a URLconf or view that fails to import) is still a
            # configuration error: one line, with the cause, and the traceback under --traceback.
            raise CommandError(f"System checks could not run: {redact_text(one_line(e))}") from e

    def _list_processes(self, handler: processes.ProcessHandler, as_json: bool) -> None:
        # server and worker list their own kind, and the processes they cannot tell.
        rows = listing.describe_processes(handler, self.kind)
        if as_json:
            self.stdout.write(json.dumps([row._asdict() for row in rows], indent=2))
            return
        self._write_table(
            ["PROCESS", "BACKEND", "KIND", "STATUS"],
            [
                [r.name, r.backend or "-", r.kind or "-", self._status(r.status, r.detail)]
                for r in rows
            ],
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
                    self._status(row.status, row.detail),
                ]
                for row in rows
            ],
        )

    def _status(self, status: str, detail: str) -> str:
        style = self.style.SUCCESS if status == "ok" else self.style.ERROR
        return style(status + (f": {detail}" if detail else ""))

    def _write_table(self, header: list[str], rows: list[list[str]]) -> None:
        for line in listing.table(header, rows):
            self.stdout.write(line)
