"""The public base of command-line backends: its parse helpers, its checks and its start sequence.

The backends under test here are small ones written as a third party would; the built-in
backends on the same base are tested in their own modules, and the test plugin
(tests/fixtures/plugin) is started for real in tests/integration/test_command.py.
"""

from __future__ import annotations

import argparse
import socket
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, ClassVar

import click
import pytest

from django_prodserver.backends.command_line import (
    CommandLineBackend,
    CommandLineProcessBackend,
    StartPlan,
    parse_with_argparse,
    parse_with_click,
)
from django_prodserver.backends.options import ArgsErrors
from django_prodserver.backends.ranges import COUNT, Bound
from django_prodserver.exceptions import InvalidApplication, InvalidBackendArgs

from .helpers import BackendUnderTest


def tool_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="tool")
    parser.add_argument("--workers", type=int)
    parser.add_argument("--bind", action="append")
    parser.add_argument("--name", required=False)
    parser.add_argument("-q", "--quiet", action="store_true")
    return parser


class ToolServer(CommandLineBackend):
    """A server whose command line is ``tool_parser()``."""

    program = "tool"
    environment_args = "TOOL_ARGS"
    bounds: ClassVar[dict[str, Bound]] = {"--workers": COUNT}
    started: ClassVar[list[dict[str, Any]]] = []

    def option_strings(self) -> Sequence[str]:
        return ["--workers", "--bind", "--name", "-q", "--quiet"]

    def repeatable(self, flag: str) -> bool:
        return flag == "--bind" or super().repeatable(flag)

    def parse(self, errors: ArgsErrors) -> argparse.Namespace:
        options, extra = parse_with_argparse(errors, tool_parser())
        if extra:
            raise errors.unknown_option(extra[0].partition("=")[0])
        return options

    def plan_start(self, args: Sequence[str]) -> StartPlan:
        options = tool_parser().parse_args(list(args))
        host, _, port = (options.bind or ["127.0.0.1:0"])[0].rpartition(":")
        sockets = [bind[5:] for bind in options.bind or [] if bind.startswith("unix:")]
        if sockets:
            return StartPlan(config=options, unix_sockets=sockets, imports_application=False)
        return StartPlan(config=options, addresses=[(host, int(port))])

    def run(self, args: Sequence[str], plan: StartPlan) -> int:
        # What the start sequence left for the server: the application imported or not.
        self.started.append(
            {"args": list(args), "application_imported": "testsite.wsgi" in sys.modules}
        )
        return int(plan.config.workers or 0) // 10  # a status, as a server would exit with


UNDER_TEST = BackendUnderTest(ToolServer, "tool")
server, checked_argv, error_for = UNDER_TEST.server, UNDER_TEST.checked_argv, UNDER_TEST.error_for


@pytest.fixture(autouse=True)
def no_tool_args(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TOOL_ARGS", raising=False)
    ToolServer.started.clear()


def test_args_become_argv_and_lists_repeat_or_are_refused() -> None:
    assert checked_argv({"workers": 2, "bind": ["a:1", "b:2"]}) == [
        "--workers=2",
        "--bind=a:1",
        "--bind=b:2",
    ]
    # The base's default: a list repeats an option the server does not know (the check names
    # the option then); one it knows takes one value, unless repeatable() says otherwise.
    assert error_for({"workers": [1, 2]}) == (
        "Process 'web': invalid value [1, 2] for tool option 'workers' in ARGS: it takes one "
        "value, and repeating it would keep only the last."
    )


def test_the_option_table_is_built_once_per_backend() -> None:
    calls = []

    class Counted(ToolServer):
        def option_strings(self) -> Sequence[str]:
            calls.append(1)
            return super().option_strings()

    backend = Counted(process_name="web", ARGS={"workers": 2, "name": False})
    backend.check_args(backend.prep_server_args())
    backend.check_args(backend.prep_server_args())
    assert len(calls) == 1


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            {"wrkers": 2},
            "Process 'web': unknown tool option 'wrkers' in ARGS. Did you mean 'workers'?",
        ),
        (
            {"workers": "two"},
            "Process 'web': invalid value 'two' for tool option 'workers' in ARGS: invalid int "
            "value: 'two'.",
        ),
        (
            {"workers": 20000},
            "Process 'web': invalid value 20000 for tool option 'workers' in ARGS: it must be from "
            "1 to 10000.",
        ),
        (
            ["--workers", "20000"],
            "Process 'web': invalid value '20000' for tool option "
            "'--workers' in ARGS: it must be from 1 to 10000.",
        ),
        (
            {"help": True},
            "Process 'web': tool option 'help' cannot be set in ARGS: it makes tool "
            "print and exit instead of serving.",
        ),
        # Short flags combined: argparse reaches the help action itself.
        (
            ["-qh"],
            "Process 'web': tool option '--help' cannot be set in ARGS: it makes tool print "
            "and exit instead of serving.",
        ),
        # parser.error(): a value missing.
        (
            ["--name"],
            "Process 'web': invalid use of tool option '--name' in ARGS: expected one argument.",
        ),
        (
            {"name": "a\0b"},
            "Process 'web': invalid value 'a\\x00b' for tool option 'name' in ARGS: it contains a "
            "NUL character ('\\x00'), which no host name or path can hold.",
        ),
        (
            ["--name", "a\0b"],
            "Process 'web': invalid value 'a\\x00b' for tool option '--name' in ARGS: it contains "
            "a NUL character ('\\x00'), which no host name or path can hold.",
        ),
        (
            ["x\0"],
            "Process 'web': tool rejects ARGS: the argument 'x\\x00' it contains a NUL character "
            "('\\x00'), which no host name or path can hold.",
        ),
        (
            ["--workers 2"],
            "Process 'web': the argument '--workers 2' in ARGS contains a space, but each item of "
            "ARGS is passed as one argument. Write it as separate items, ['--workers', '2'], or "
            "as a dict.",
        ),
    ],
)
def test_bad_args_are_one_line(args: Any, message: str) -> None:
    assert error_for(args) == message


def test_parser_errors_without_an_option_are_the_parser_s_reason() -> None:
    parser = argparse.ArgumentParser(prog="tool")
    parser.add_argument("--name", required=True)
    errors = ArgsErrors(server(), [], "tool", ["--name"])
    with pytest.raises(InvalidBackendArgs) as caught:
        parse_with_argparse(errors, parser)
    assert caught.value.message == (
        "Process 'web': tool rejects ARGS: the following arguments are required: --name."
    )


def test_the_environment_variable_the_server_reads_is_checked_like_args(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("TOOL_ARGS", "--workers=0 --bind=a:1")
    assert error_for({}) == (
        "Process 'web': invalid value '0' for tool option '--workers' in TOOL_ARGS: it must be "
        "from 1 to 10000."
    )
    monkeypatch.setenv("TOOL_ARGS", "--wrkers=2")
    assert error_for({}) == (
        "Process 'web': unknown tool option '--wrkers' in TOOL_ARGS. Did you mean '--workers'?"
    )
    monkeypatch.setenv("TOOL_ARGS", "--name='unclosed")
    assert error_for({}) == (
        "Process 'web': the environment variable TOOL_ARGS cannot be read as arguments: No "
        "closing quotation."
    )
    monkeypatch.setenv("TOOL_ARGS", "  ")
    assert checked_argv({"workers": 2}) == ["--workers=2"]


def test_the_application_is_checked_and_shown(settings: Any) -> None:
    backend = server({"workers": 2})
    assert backend.describe_start(backend.prep_server_args()) == (
        "tool --workers=2 testsite.wsgi:application"
    )
    settings.WSGI_APPLICATION = "nowhere.wsgi.application"
    with pytest.raises(InvalidApplication) as caught:
        backend.check_args(backend.prep_server_args())
    assert str(caught.value) == (
        "WSGI_APPLICATION = 'nowhere.wsgi.application', but there is no module 'nowhere.wsgi'. "
        "Set it to your project's application, such as 'mysite.wsgi.application'."
    )


@pytest.mark.parametrize(
    ("where", "command_line"),
    [
        ("first", ["testsite.asgi:application", "--workers=2"]),
        ("last", ["--workers=2", "testsite.asgi:application"]),
        (None, ["--workers=2"]),
    ],
)
def test_where_the_command_line_takes_the_application(
    where: str | None, command_line: list[str]
) -> None:
    class Placed(ToolServer):
        application_setting = "ASGI_APPLICATION"
        application_argument = where  # type: ignore[assignment]

    assert Placed(process_name="web").command_line(["--workers=2"]) == command_line


def test_start_checks_imports_closes_connections_then_runs(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from django.db import connections

    steps: list[str] = []
    monkeypatch.setattr(connections, "close_all", lambda: steps.append("connections closed"))
    monkeypatch.setattr(ToolServer, "started", steps)  # run() records what it found there
    sys.modules.pop("testsite.wsgi", None)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    backend = server({"bind": f"127.0.0.1:{port}", "workers": 2})

    backend.start_server(*backend.prep_server_args())

    assert steps == [
        "connections closed",
        {"args": [f"--bind=127.0.0.1:{port}", "--workers=2"], "application_imported": True},
    ]
    assert backend.listen_address(backend.prep_server_args()) == ("127.0.0.1", port)


def test_a_busy_address_stops_the_start_before_the_server_runs() -> None:
    with socket.socket() as occupant:
        occupant.bind(("127.0.0.1", 0))
        occupant.listen()
        port = occupant.getsockname()[1]
        backend = server({"bind": f"127.0.0.1:{port}"})
        with pytest.raises(InvalidBackendArgs) as caught:
            backend.start_server(*backend.prep_server_args())
    assert caught.value.message == (
        f"Process 'web': cannot listen on 127.0.0.1:{port}: Address already in use. "
        f"Is another server using it?"
    )
    assert ToolServer.started == []


def test_a_socket_directory_that_is_missing_stops_the_start(tmp_path: Path) -> None:
    backend = server({"bind": f"unix:{tmp_path}/missing/tool.sock"})
    with pytest.raises(InvalidBackendArgs) as caught:
        backend.start_server(*backend.prep_server_args())
    assert caught.value.message == (
        f"Process 'web': cannot listen on the Unix socket '{tmp_path}/missing/tool.sock': the "
        f"directory '{tmp_path}/missing' does not exist. Create it, or choose a path in an "
        f"existing directory."
    )


def test_without_the_application_import_and_with_a_status(tmp_path: Path) -> None:
    sys.modules.pop("testsite.wsgi", None)
    backend = server({"bind": f"unix:{tmp_path}/tool.sock", "workers": 30})
    with pytest.raises(SystemExit) as caught:
        backend.start_server(*backend.prep_server_args())
    assert caught.value.code == 3
    assert ToolServer.started[0]["application_imported"] is False
    assert backend.listen_address(backend.prep_server_args()) is None


def test_the_base_s_own_plan_knows_nothing_and_what_it_leaves_to_subclasses() -> None:
    backend = CommandLineBackend(process_name="web")
    assert backend.plan_start([]) == StartPlan()
    with pytest.raises(NotImplementedError):
        backend.run([], StartPlan())
    process = CommandLineProcessBackend(process_name="web")
    with pytest.raises(NotImplementedError):
        process.known_options  # noqa: B018 - the table comes from option_strings()
    with pytest.raises(NotImplementedError):
        process.parse(ArgsErrors(process, [], "tool", []))


@click.command()
@click.option("--count", type=int)
def count_command(count: int | None) -> None:
    """A click program."""


def click_errors(argv: list[str]) -> ArgsErrors:
    return ArgsErrors(server(), argv, "counter", ["--count", "--help"])


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (
            ["--help"],
            "Process 'web': counter option '--help' cannot be set in ARGS: it makes "
            "counter print and exit instead of serving.",
        ),
        (
            ["--cont=1"],
            "Process 'web': unknown counter option '--cont' in ARGS. Did you mean '--count'?",
        ),
        (
            ["--count=x"],
            "Process 'web': invalid value 'x' for counter option '--count' in ARGS: "
            "'x' is not a valid integer.",
        ),
    ],
)
def test_parse_with_click(argv: list[str], message: str) -> None:
    with pytest.raises(InvalidBackendArgs) as caught:
        parse_with_click(click_errors(argv), count_command)
    assert caught.value.message == message


def test_parse_with_click_returns_the_parsed_context_and_takes_an_unknown_option_hook() -> None:
    assert parse_with_click(click_errors(["--count=3"]), count_command).params == {"count": 3}
    errors = click_errors(["--colour"])

    def hint(flag: str) -> InvalidBackendArgs:
        return errors.unknown_option(flag, hint="It is an option of another command.")

    with pytest.raises(InvalidBackendArgs) as caught:
        parse_with_click(errors, count_command, unknown_option=hint)
    assert caught.value.message == (
        "Process 'web': unknown counter option '--colour' in ARGS. It is an option of another "
        "command."
    )
