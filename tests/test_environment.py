"""PORT and WEB_CONCURRENCY (environment.py): one rule for every web backend, applied to ARGS in
the conf layer, with ARGS (``--set`` included) always winning, and every bad value one line.

What each server then binds and how many workers it runs is observed on real servers in
tests/integration/test_platform_variables.py; here, the argv each backend is given.
"""

from __future__ import annotations

import io
from typing import Any

import pytest

from django_prodserver import conf, environment
from django_prodserver.environment import AssignedPort, PlatformOptions
from django_prodserver.exceptions import InvalidEnvironment

from .backends.test_gunicorn import CTL  # [] on a gunicorn without a control socket

SettingsWrapper = Any


def argv_for(
    settings: SettingsWrapper,
    entry: dict[str, Any],
    environ: dict[str, str],
    overrides: tuple[str, ...] = (),
) -> tuple[list[str], tuple[str, ...]]:
    """The checked argv the process would start with, and where its values came from."""
    settings.PRODUCTION_PROCESSES = {"web": entry}
    config = conf.with_overrides(conf.get_process("web"), list(overrides))
    config = conf.with_environment(config, environ)
    _, args = conf.prepare(config)
    return args, config.sources


# Every web backend, with ARGS that set neither the port nor the workers, and what PORT=8080
# WEB_CONCURRENCY=3 add to its argv.
WEB_BACKENDS = {
    "gunicorn": (
        {"BACKEND": "gunicorn"},
        [*CTL, "--bind=0.0.0.0:8080", "--workers=3"],
    ),
    "uvicorn": ({"BACKEND": "uvicorn"}, ["--port=8080", "--host=0.0.0.0", "--workers=3"]),
    "uvicorn-wsgi": (
        {"BACKEND": "uvicorn-wsgi", "ARGS": ["--log-level", "info"]},
        ["--interface=wsgi", "--log-level", "info", "--port=8080", "--host=0.0.0.0", "--workers=3"],
    ),
    "granian-wsgi": ({"BACKEND": "granian-wsgi"}, ["--port=8080", "--host=0.0.0.0", "--workers=3"]),
    "granian-asgi": (
        {"BACKEND": "granian-asgi", "ARGS": "--log-level info"},
        ["--log-level", "info", "--port=8080", "--host=0.0.0.0", "--workers=3"],
    ),
    "hypercorn": ({"BACKEND": "hypercorn"}, ["--bind=0.0.0.0:8080", "--workers=3"]),
    "daphne": ({"BACKEND": "daphne"}, ["--port=8080", "--bind=0.0.0.0"]),
    "waitress": ({"BACKEND": "waitress"}, ["--port=8080", "--host=0.0.0.0"]),
    "celery-flower": (
        {"BACKEND": "celery-flower", "APP": "testsite.celery_app.app"},
        ["--port=8080", "--address=0.0.0.0"],
    ),
}
PLATFORM = {"PORT": "8080", "WEB_CONCURRENCY": "3"}


@pytest.mark.parametrize("alias", list(WEB_BACKENDS))
def test_port_and_web_concurrency_apply_where_args_leave_them_unset(
    settings: SettingsWrapper, alias: str
) -> None:
    entry, expected = WEB_BACKENDS[alias]
    argv, sources = argv_for(settings, entry, PLATFORM)
    assert argv == expected
    assert sources[0] == "Port: 8080 on 0.0.0.0, from the environment variable PORT."


@pytest.mark.parametrize("alias", list(WEB_BACKENDS))
def test_without_the_variables_nothing_changes(settings: SettingsWrapper, alias: str) -> None:
    entry, _ = WEB_BACKENDS[alias]
    settings.PRODUCTION_PROCESSES = {"web": entry}
    _, unchanged = conf.prepare(conf.get_process("web"))
    argv, sources = argv_for(settings, entry, {})
    assert argv == unchanged
    assert sources[0] == "Port: the server's default; PORT is not set."


def test_the_sources_of_a_server_with_workers(settings: SettingsWrapper) -> None:
    _, sources = argv_for(settings, {"BACKEND": "gunicorn"}, PLATFORM)
    assert sources == (
        "Port: 8080 on 0.0.0.0, from the environment variable PORT.",
        "Workers: 3, from the environment variable WEB_CONCURRENCY.",
    )
    _, sources = argv_for(settings, {"BACKEND": "gunicorn"}, {})
    assert sources == (
        "Port: the server's default; PORT is not set.",
        "Workers: the server's default; WEB_CONCURRENCY is not set.",
    )


@pytest.mark.parametrize("alias", ["daphne", "waitress"])
def test_a_server_without_worker_processes_says_web_concurrency_does_not_apply(
    settings: SettingsWrapper, alias: str
) -> None:
    argv, sources = argv_for(settings, {"BACKEND": alias}, {"WEB_CONCURRENCY": "3"})
    assert not any("3" in token for token in argv)
    assert (
        sources[1] == f"Workers: {alias!r} runs no worker processes; WEB_CONCURRENCY is not used."
    )
    # Not set, it is not mentioned.
    assert len(argv_for(settings, {"BACKEND": alias}, {})[1]) == 1


@pytest.mark.parametrize(
    ("entry", "expected", "source"),
    [
        (
            {"BACKEND": "gunicorn", "ARGS": {"bind": "127.0.0.1:9000", "workers": 2}},
            [*CTL, "--bind=127.0.0.1:9000", "--workers=2"],
            (
                "Port: set by ARGS['bind']; PORT is not used.",
                "Workers: set by ARGS['workers']; WEB_CONCURRENCY is not used.",
            ),
        ),
        (
            {"BACKEND": "gunicorn", "ARGS": ["-b", "127.0.0.1:9000", "-w4"]},
            [*CTL, "-b", "127.0.0.1:9000", "-w4"],
            (
                "Port: set by ARGS option '-b'; PORT is not used.",
                "Workers: set by ARGS option '-w'; WEB_CONCURRENCY is not used.",
            ),
        ),
        (
            {"BACKEND": "uvicorn", "ARGS": {"uds": "/tmp/web.sock"}},
            ["--uds=/tmp/web.sock", "--workers=3"],
            (
                "Port: set by ARGS['uds']; PORT is not used.",
                "Workers: 3, from the environment variable WEB_CONCURRENCY.",
            ),
        ),
        (
            {"BACKEND": "granian-wsgi", "ARGS": "--port 9000 --workers 2"},
            ["--port", "9000", "--workers", "2"],
            (
                "Port: set by ARGS option '--port'; PORT is not used.",
                "Workers: set by ARGS option '--workers'; WEB_CONCURRENCY is not used.",
            ),
        ),
        (
            {"BACKEND": "waitress", "ARGS": {"listen": "127.0.0.1:9000"}},
            ["--listen=127.0.0.1:9000"],
            (
                "Port: set by ARGS['listen']; PORT is not used.",
                "Workers: 'waitress' runs no worker processes; WEB_CONCURRENCY is not used.",
            ),
        ),
        (
            {"BACKEND": "daphne", "ARGS": {"unix_socket": "/tmp/web.sock"}},
            ["--unix-socket=/tmp/web.sock"],
            (
                "Port: set by ARGS['unix_socket']; PORT is not used.",
                "Workers: 'daphne' runs no worker processes; WEB_CONCURRENCY is not used.",
            ),
        ),
    ],
)
def test_args_always_win(
    settings: SettingsWrapper, entry: dict[str, Any], expected: list[str], source: tuple[str, ...]
) -> None:
    assert argv_for(settings, entry, PLATFORM) == (expected, source)


@pytest.mark.parametrize(
    ("alias", "host_key", "expected"),
    [
        ("uvicorn", "host", ["--host=127.0.0.1", "--port=8080", "--workers=3"]),
        ("granian-wsgi", "host", ["--host=127.0.0.1", "--port=8080", "--workers=3"]),
        ("waitress", "host", ["--host=127.0.0.1", "--port=8080"]),
        ("daphne", "bind", ["--bind=127.0.0.1", "--port=8080"]),
    ],
)
def test_a_host_in_args_keeps_its_host_and_takes_the_port(
    settings: SettingsWrapper, alias: str, host_key: str, expected: list[str]
) -> None:
    argv, sources = argv_for(
        settings, {"BACKEND": alias, "ARGS": {host_key: "127.0.0.1"}}, PLATFORM
    )
    assert argv == expected
    assert sources[0] == (
        f"Port: 8080, from the environment variable PORT; the host is set by ARGS[{host_key!r}]."
    )


def test_set_counts_as_args(settings: SettingsWrapper) -> None:
    argv, sources = argv_for(
        settings, {"BACKEND": "gunicorn"}, PLATFORM, ("bind=127.0.0.1:9000", "workers=5")
    )
    assert argv == [*CTL, "--bind=127.0.0.1:9000", "--workers=5"]
    assert sources[0] == "Port: set by ARGS['bind']; PORT is not used."


def test_a_worker_process_is_left_as_it_is(settings: SettingsWrapper) -> None:
    entry = {"BACKEND": "celery-worker", "APP": "testsite.celery_app.app"}
    argv, sources = argv_for(settings, entry, {"PORT": "abc", "WEB_CONCURRENCY": "0"})
    assert (argv, sources) == ([], ())


def test_a_backend_that_declares_nothing_is_left_as_it_is(settings: SettingsWrapper) -> None:
    entry = {"BACKEND": "wsgiref", "ARGS": {"port": 8123}}
    assert argv_for(settings, entry, {"PORT": "8080"}) == (["--port=8123"], ())


@pytest.mark.parametrize(
    "value",
    ["abc", "70000", "0", "-1", "", "80 80", "+80", "8o", "\x00", "80\x00", "٨٠"],
)
def test_a_bad_port_is_one_line_naming_the_variable(settings: SettingsWrapper, value: str) -> None:
    with pytest.raises(InvalidEnvironment) as caught:
        argv_for(settings, {"BACKEND": "gunicorn"}, {"PORT": value})
    assert caught.value.message == (
        f"Process 'web': the environment variable PORT is {value!r}; it must be a port number "
        f"from 1 to 65535, such as PORT=8000. Correct or unset PORT, or set the port in ARGS."
    )


@pytest.mark.parametrize("value", ["0", "-1", "abc", "", "\x00", "2.5", " 2"])
def test_a_bad_web_concurrency_is_one_line_naming_the_variable(
    settings: SettingsWrapper, value: str
) -> None:
    with pytest.raises(InvalidEnvironment) as caught:
        argv_for(settings, {"BACKEND": "uvicorn"}, {"WEB_CONCURRENCY": value})
    assert caught.value.message == (
        f"Process 'web': the environment variable WEB_CONCURRENCY is {value!r}; it must be a "
        f"number of worker processes, 1 or more, such as WEB_CONCURRENCY=4. Correct or unset "
        f"WEB_CONCURRENCY, or set 'workers' in ARGS."
    )


@pytest.mark.parametrize("value", ["1025", "9" * 20, "9" * 5000])
def test_more_workers_than_a_machine_runs_is_one_line(
    settings: SettingsWrapper, value: str
) -> None:
    with pytest.raises(InvalidEnvironment) as caught:
        argv_for(settings, {"BACKEND": "uvicorn"}, {"WEB_CONCURRENCY": value})
    shown = repr(value) if len(value) <= 40 else f"{value[:20]!r}... ({len(value)} characters)"
    assert caught.value.message == (
        f"Process 'web': the environment variable WEB_CONCURRENCY is {shown}; it must be at "
        f"most 1024 worker processes, such as WEB_CONCURRENCY=4. Correct or unset "
        f"WEB_CONCURRENCY, or set 'workers' in ARGS."
    )


@pytest.mark.parametrize("value", ["9" * 20, "9" * 5000])
def test_a_port_of_many_digits_is_one_line(settings: SettingsWrapper, value: str) -> None:
    # int() of more than 4300 digits raises ValueError: the value is never passed to it.
    with pytest.raises(InvalidEnvironment) as caught:
        argv_for(settings, {"BACKEND": "gunicorn"}, {"PORT": value})
    shown = repr(value) if len(value) <= 40 else f"{value[:20]!r}... ({len(value)} characters)"
    assert caught.value.message == (
        f"Process 'web': the environment variable PORT is {shown}; it must be a port number "
        f"from 1 to 65535, such as PORT=8000. Correct or unset PORT, or set the port in ARGS."
    )


def test_the_largest_worker_count_and_leading_zeros_are_taken(settings: SettingsWrapper) -> None:
    argv, _ = argv_for(
        settings, {"BACKEND": "uvicorn"}, {"WEB_CONCURRENCY": "1024", "PORT": "08080"}
    )
    assert argv == ["--port=8080", "--host=0.0.0.0", "--workers=1024"]


@pytest.mark.parametrize("value", ["abc", "9" * 20, "9" * 5000])
@pytest.mark.parametrize("alias", list(WEB_BACKENDS))
def test_a_bad_web_concurrency_is_never_a_traceback(
    settings: SettingsWrapper, monkeypatch: pytest.MonkeyPatch, alias: str, value: str
) -> None:
    from django.core.management import call_command
    from django.core.management.base import CommandError

    # Read by the server itself where it has such a variable (gunicorn, uvicorn): with ARGS
    # setting the workers, WEB_CONCURRENCY is not used, and the start is checked as it is.
    monkeypatch.setenv("WEB_CONCURRENCY", value)
    entry, _ = WEB_BACKENDS[alias]
    settings.PRODUCTION_PROCESSES = {"web": entry}
    try:
        call_command("prodserver", "web", "--dry-run", stdout=io.StringIO())
    except CommandError as e:
        assert "WEB_CONCURRENCY" in str(e) and "\n" not in str(e)


def test_a_bad_value_args_overrides_is_not_used_and_not_an_error(
    settings: SettingsWrapper,
) -> None:
    entry = {"BACKEND": "gunicorn", "ARGS": {"bind": "127.0.0.1:9000", "workers": 2}}
    argv, _ = argv_for(settings, entry, {"PORT": "abc", "WEB_CONCURRENCY": "0"})
    assert argv == [*CTL, "--bind=127.0.0.1:9000", "--workers=2"]


def test_the_check_of_the_server_still_applies_to_what_the_environment_gives(
    settings: SettingsWrapper,
) -> None:
    # uvicorn refuses several workers with reload, whichever of ARGS or the environment asks.
    from django_prodserver.exceptions import InvalidBackendArgs

    with pytest.raises(InvalidBackendArgs):
        argv_for(settings, {"BACKEND": "uvicorn", "ARGS": {"reload": True}}, PLATFORM)


# Several servers under --all: foreman's ports.

SERVERS = [("web", False), ("admin", True), ("flower", False)]


def test_each_server_gets_its_own_port_from_the_base_in_setting_order() -> None:
    assert environment.ports_for_several(SERVERS, {"PORT": "8000"}) == {
        "web": AssignedPort(8000, 8000, True),
        "flower": AssignedPort(8200, 8000, True),  # admin sets its own, and keeps its place
    }
    assert environment.ports_for_several(SERVERS, {}) == {
        "web": AssignedPort(5000, 5000, False),
        "flower": AssignedPort(5200, 5000, False),
    }
    assert environment.ports_for_several([("admin", True)], {"PORT": "abc"}) == {}


def test_where_an_assigned_port_comes_from() -> None:
    assert AssignedPort(8000, 8000, True).origin() == "from the environment variable PORT"
    assert AssignedPort(8200, 8000, True).origin() == "assigned by --all: PORT (8000) + 200"
    assert AssignedPort(5000, 5000, False).origin() == ("assigned by --all: 5000, PORT being unset")
    assert AssignedPort(5100, 5000, False).origin() == (
        "assigned by --all: 5000 + 100, PORT being unset"
    )


def test_an_assigned_port_above_65535_is_one_line(settings: SettingsWrapper) -> None:
    settings.PRODUCTION_PROCESSES = {"flower": {"BACKEND": "uvicorn"}}
    [(_, assigned)] = environment.ports_for_several(SERVERS[2:], {"PORT": "65500"}).items()
    assert assigned == AssignedPort(65500, 65500, True)
    with pytest.raises(InvalidEnvironment) as caught:
        conf.with_environment(conf.get_process("flower"), {}, AssignedPort(65700, 65500, True))
    assert caught.value.message == (
        "Process 'flower': --all gives it port 65700 (base port 65500 + 200), above 65535. Set a "
        "lower PORT, or set the port in the process's ARGS."
    )


def test_a_bad_base_port_names_the_first_process_that_needs_it() -> None:
    with pytest.raises(InvalidEnvironment, match=r"^Process 'web': the environment variable PORT"):
        environment.ports_for_several(SERVERS, {"PORT": "0"})


def test_an_assigned_port_applies_to_args(settings: SettingsWrapper) -> None:
    settings.PRODUCTION_PROCESSES = {"web": {"BACKEND": "hypercorn"}}
    config = conf.with_environment(
        conf.get_process("web"), {"PORT": "8000"}, AssignedPort(8100, 8000, True)
    )
    assert config.entry["ARGS"] == {"bind": "0.0.0.0:8100"}
    assert config.sources[0] == "Port: 8100 on 0.0.0.0, assigned by --all: PORT (8000) + 100."


def test_a_string_args_that_cannot_be_split_is_left_for_the_backend_to_report() -> None:
    options = PlatformOptions("port", frozenset({"--port"}), "host", string_is_command_line=True)
    conventions = environment.apply("web", "granian", "--port '8000", options, {"PORT": "1"})
    assert conventions.args == "--port '8000 --port=1 --host=0.0.0.0"
