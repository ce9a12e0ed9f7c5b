"""The celery-flower backend: APP, Flower's options checked with Flower's own definitions, the
loopback default, and how Flower is started.

Flower really serves in tests/integration/test_asgi_servers_and_flower.py; here Celery's and
Flower's command lines run for real, down to Flower's web application, which is replaced.
"""

from __future__ import annotations

import signal
import sys
from collections.abc import Iterator
from importlib import metadata
from pathlib import Path
from typing import Any
from unittest import mock

import pytest
from tornado.options import options

from django_prodserver.backends.base import BaseServerBackend
from django_prodserver.backends.celery import CeleryBackend
from django_prodserver.backends.celery_flower import CeleryFlower, flower_options
from django_prodserver.exceptions import InvalidBackendArgs

APP = "testsite.celery_app.app"

FLOWER = tuple(int(part) for part in metadata.version("flower").split(".")[:2])


def flower(args: Any = None, **entry: Any) -> CeleryFlower:
    entry = {"BACKEND": "celery-flower", "APP": APP, **entry}
    if args is not None:
        entry["ARGS"] = args
    return CeleryFlower(alias="celery-flower", process_name="flower", **entry)


def checked_argv(args: Any) -> list[str]:
    backend = flower(args)
    argv = backend.prep_server_args()
    backend.check_args(argv)
    return argv


def error_for(args: Any) -> str:
    backend = flower(args)
    with pytest.raises(InvalidBackendArgs) as caught:
        backend.check_args(backend.prep_server_args())
    return caught.value.message


def test_is_a_server_reading_app() -> None:
    assert issubclass(CeleryFlower, CeleryBackend)
    assert issubclass(CeleryFlower, BaseServerBackend)
    assert CeleryFlower.kind == "server"  # it answers HTTP, and consumes no tasks
    assert CeleryFlower.settings_keys == frozenset({"APP"})
    assert (CeleryFlower.program, CeleryFlower.subcommand) == ("celery", "flower")


def test_flower_options_include_tornados_logging_ones() -> None:
    assert {"port", "address", "unix-socket", "basic-auth", "logging"} <= set(flower_options())


@pytest.mark.parametrize(
    ("args", "argv"),
    [
        # Flower's own default would be every interface.
        (None, ["--address=127.0.0.1"]),
        ({"port": 5566}, ["--address=127.0.0.1", "--port=5566"]),
        ({"address": "0.0.0.0", "port": 5566}, ["--address=0.0.0.0", "--port=5566"]),
        ({"unix_socket": "/run/flower.sock"}, ["--unix-socket=/run/flower.sock"]),
        (["--unix_socket=/run/flower.sock"], ["--unix_socket=/run/flower.sock"]),
        ("--port=5566", ["--address=127.0.0.1", "--port=5566"]),
        # A "multiple" option takes one comma-separated value.
        (
            {"basic_auth": ["ann:pw1", "bob:pw2"]},
            ["--address=127.0.0.1", "--basic-auth=ann:pw1,bob:pw2"],
        ),
        # Booleans: True is a bare flag, False is tornado's "=false".
        (
            {"persistent": True, "enable_events": False, "debug": None},
            ["--address=127.0.0.1", "--persistent", "--enable-events=false", "--debug"],
        ),
        # An option that is not a boolean has no False form.
        ({"url_prefix": False}, ["--address=127.0.0.1"]),
        ({"logging": "warning"}, ["--address=127.0.0.1", "--logging=warning"]),
    ],
)
def test_args_become_flower_argv(args: Any, argv: list[str]) -> None:
    assert checked_argv(args) == argv


def test_checking_leaves_flowers_options_untouched() -> None:
    before = {name: option.value() for name, option in flower_options().items()}
    checked_argv({"port": 5566, "debug": True, "basic_auth": ["a:b", "c:d"]})
    assert {name: option.value() for name, option in flower_options().items()} == before


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ({"prot": 1}, "unknown celery flower option 'prot' in ARGS. Did you mean 'port'?"),
        (
            {"zzzzzz": 1},
            "unknown celery flower option 'zzzzzz' in ARGS. See 'celery flower --help' for the "
            "options it accepts.",
        ),
        (
            {"broker": "redis://"},
            "unknown celery flower option 'broker' in ARGS. It is an option of the celery "
            "command, not of celery flower: set it in your Celery application's configuration "
            "instead.",
        ),
        (
            {"app": "other.app"},
            "celery flower option 'app' cannot be set in ARGS: the application comes from the APP "
            "setting.",
        ),
        (
            {"port": "x"},
            "invalid value 'x' for celery flower option 'port' in ARGS: invalid literal for "
            "int() with base 10: 'x'.",
        ),
        (
            {"port": True},
            "invalid value True for celery flower option 'port' in ARGS: Flower takes the value "
            "after an '=', such as '--port=VALUE'.",
        ),
        # Tornado reads a value only after an "=".
        (
            ["--port", "5566"],
            "invalid value '5566' for celery flower option '--port' in ARGS: Flower takes the "
            "value after an '=', such as '--port=VALUE'.",
        ),
        (
            ["stray"],
            "unexpected argument 'stray' in ARGS: ARGS holds options only; celery flower takes "
            "no positional arguments.",
        ),
        # A list for an option that takes one value.
        (
            {"port": [5566, 5567]},
            "invalid value [5566, 5567] for celery flower option 'port' in ARGS: it takes one "
            "value, and repeating it would keep only the last.",
        ),
        (
            {"prot": [1, 2]},
            "unknown celery flower option 'prot' in ARGS. Did you mean 'port'?",
        ),
        (
            {"help": True},
            "celery flower option 'help' cannot be set in ARGS: it makes celery flower print and "
            "exit instead of serving.",
        ),
        (
            {"certfile": "cert.pem"},
            "celery flower rejects ARGS: Both 'certfile' and 'keyfile' are required to enable SSL.",
        ),
        (
            {"auth": "*@*"},
            "invalid value '*@*' for celery flower option 'auth' in ARGS: Flower takes one '*' "
            "at most, only before the '@', and not with '|'.",
        ),
        pytest.param(
            {"broker_api": "ftp://rabbit/api/"},
            "invalid value 'ftp://rabbit/api/' for celery flower option 'broker_api' in ARGS: "
            "invalid scheme 'ftp', expected 'http' or 'https'.",
            marks=pytest.mark.skipif(
                FLOWER < (2, 1), reason="Flower 2.0 does not validate the broker API URL"
            ),
        ),
        (
            {"conf": "/nonexistent/flowerconfig.py"},
            "invalid value '/nonexistent/flowerconfig.py' for celery flower option 'conf' in "
            "ARGS: there is no file '/nonexistent/flowerconfig.py'.",
        ),
        # A secret option's value is never shown.
        (
            {"cookie_secret": True},
            "invalid value '***' for celery flower option 'cookie_secret' in ARGS: Flower takes "
            "the value after an '=', such as '--cookie-secret=VALUE'.",
        ),
    ],
)
def test_check_args_errors(args: Any, message: str) -> None:
    assert error_for(args) == f"Process 'flower': {message}"


def test_valid_combinations_pass(tmp_path: Path, certificate: tuple[Path, Path]) -> None:
    conf = tmp_path / "flowerconfig.py"
    conf.write_text("port = 5567\n")
    assert (
        checked_argv(
            {
                "certfile": str(certificate[0]),
                "keyfile": str(certificate[1]),
                "auth": ".*@example\\.com",
                "broker_api": "http://guest:guest@localhost:15672/api/",
                "conf": str(conf),
            }
        )[0]
        == "--address=127.0.0.1"
    )


def test_a_value_tornado_cannot_read_without_a_message() -> None:
    with mock.patch("tornado.options._Option.parse", side_effect=ValueError):
        assert error_for({"unix_socket": "s"}) == (
            "Process 'flower': invalid value 's' for celery flower option 'unix_socket' in ARGS: "
            "ValueError."
        )


def test_app_is_required() -> None:
    backend = CeleryFlower(alias="celery-flower", process_name="flower", BACKEND="celery-flower")
    with pytest.raises(InvalidBackendArgs) as caught:
        backend.check_args([])
    assert caught.value.message == (
        "Process 'flower': backend 'celery-flower' needs 'APP', the dotted path to your Celery "
        "application, such as 'proj.celery.app'."
    )


def test_describe_start() -> None:
    backend = flower({"port": 5566})
    assert backend.describe_start(backend.prep_server_args()) == (
        "celery --app=testsite.celery_app.app --skip-checks flower --address=127.0.0.1 --port=5566"
    )


@pytest.fixture
def flower_app() -> Iterator[mock.MagicMock]:
    """Flower's web application replaced; Flower's global options put back afterwards. The
    address is checked, not bound (``app_class.addresses_checked``): no test needs a free port."""
    values = {name: option._value for name, option in flower_options().items()}
    try:
        with (
            mock.patch("flower.command.Flower") as app_class,
            mock.patch(
                "django_prodserver.backends.celery_flower.check_start"
            ) as app_class.addresses_checked,
        ):
            app_class.return_value.start_http_server.return_value = 5566
            yield app_class
    finally:
        for name, value in values.items():
            options._options[name]._value = value


def test_start_runs_flower_with_our_arguments(
    flower_app: mock.MagicMock, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sys, "argv", ["manage.py", "prodserver", "--settings=x", "-v", "2"])
    before = {s: signal.getsignal(s) for s in (signal.SIGTERM, signal.SIGINT)}
    backend = flower({"port": 5566, "basic_auth": ["ann:pw1", "bob:pw2"]})

    backend.start_server(*backend.prep_server_args())

    ((_, plan), _) = flower_app.addresses_checked.call_args
    assert (plan.addresses, plan.unix_sockets) == ([("127.0.0.1", 5566)], [])
    (call,) = flower_app.call_args_list
    assert call.kwargs["capp"] is backend.celery_app()
    assert (options.address, options.port, options.basic_auth) == (
        "127.0.0.1",
        5566,
        ["ann:pw1", "bob:pw2"],
    )
    flower_app.return_value.start.assert_called_once_with()
    # Flower's own SIGTERM handler is not left behind.
    assert {s: signal.getsignal(s) for s in before} == before


def test_flower_stopped_by_sigterm_exits_0(flower_app: mock.MagicMock) -> None:
    flower_app.return_value.start.side_effect = lambda: signal.raise_signal(signal.SIGTERM)

    flower().start_server(*flower().prep_server_args())  # Flower's handler: a clean return


def test_a_stop_signal_before_flower_serves_exits_0(flower_app: mock.MagicMock) -> None:
    flower_app.side_effect = lambda **kwargs: signal.raise_signal(signal.SIGTERM)

    with pytest.raises(SystemExit) as exited:
        flower().start_server(*flower().prep_server_args())

    assert exited.value.code == 0


def test_what_flower_would_start_with_and_fail_on_is_refused(
    certificate: tuple[Path, Path], tmp_path: Path
) -> None:
    trustme = pytest.importorskip("trustme")
    other_key = tmp_path / "other-key.pem"
    trustme.CA().issue_cert("127.0.0.1").private_key_pem.write_to_path(str(other_key))
    cert, _ = certificate

    # The value is not shown: without its ':' it may be a password alone.
    assert error_for({"basic_auth": ["ann:pw1", "adminnopassword"]}) == (
        "Process 'flower': invalid value for celery flower option 'basic_auth' in ARGS: each "
        "user is written 'user:password', and Flower answers 401 to every request for an entry "
        "without ':'."
    )
    assert error_for(["--basic-auth=adminnopassword"]) == (
        "Process 'flower': invalid value for celery flower option '--basic-auth' in ARGS: each "
        "user is written 'user:password', and Flower answers 401 to every request for an entry "
        "without ':'."
    )
    assert error_for({"certfile": str(cert), "keyfile": str(other_key)}).startswith(
        f"Process 'flower': invalid value '{other_key}' for celery flower option 'keyfile' in "
        f"ARGS: the certificate '{cert}' and key '{other_key}' cannot be loaded: [X509: "
        "KEY_VALUES_MISMATCH] key values mismatch"
    )
    assert error_for({"port": 70000}) == (
        "Process 'flower': invalid value 70000 for celery flower option 'port' in ARGS: a port "
        "is a number from 0 to 65535, not 70000."
    )


def test_a_unix_socket_is_checked_at_the_start(flower_app: mock.MagicMock) -> None:
    backend = flower({"unix_socket": "/run/flower/f.sock"})

    backend.start_server(*backend.prep_server_args())

    ((_, plan), _) = flower_app.addresses_checked.call_args
    assert (plan.addresses, plan.unix_sockets) == ([], ["/run/flower/f.sock"])


@pytest.mark.parametrize(("key", "value"), [("max_tasks", -1), ("max-tasks", 10**12)])
def test_max_tasks_has_a_sane_range(key: str, value: int) -> None:
    assert error_for({key: value}) == (
        f"Process 'flower': invalid value {value} for celery flower option {key!r} in ARGS: it "
        "must be from 1 to 1000000."
    )
    assert checked_argv({"max_tasks": 50000})
