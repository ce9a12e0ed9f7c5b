"""daphne, hypercorn and celery-flower started for real by ``manage.py prodserver``.

Each runs in a subprocess on a free loopback port. The ASGI servers must answer with the view's
body, let a request in flight at SIGTERM (and SIGINT) finish, and exit 0; Flower must answer
HTTP and exit 0 on SIGTERM.
"""

from __future__ import annotations

import re
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, NamedTuple

import pytest

from .conftest import StartServer
from .harness import Response, ServerProcess, free_port, run_manage, write_settings
from .test_web_servers import HELLO, SLOW_BODY, request_in_thread, stop_during_slow_request
from .test_workers import celery_settings

pytestmark = pytest.mark.integration

ASGI_SERVERS: dict[str, dict[str, Any]] = {
    # No address: each server's own loopback default is what the request reaches.
    "daphne": {"BACKEND": "daphne", "ARGS": {"port": "{port}"}},
    "hypercorn": {"BACKEND": "hypercorn", "ARGS": {"bind": "127.0.0.1:{port}"}},
}
LIFESPAN_NOISE = ("lifespan error", "lifespan errored", "lifespan support")


def start_asgi(start_server: StartServer, backend: str, **kwargs: Any) -> ServerProcess:
    server = start_server({"web": ASGI_SERVERS[backend]}, **kwargs)
    first = server.wait_ready()
    assert (first.status, first.body) == (200, HELLO), server.output
    return server


@pytest.mark.parametrize("backend", list(ASGI_SERVERS))
def test_serves_the_view_and_exits_0_on_sigterm(start_server: StartServer, backend: str) -> None:
    server = start_asgi(start_server, backend, extra_args=("-v", "2", "--traceback"))

    response = server.get("/")

    assert (response.status, response.body) == (200, HELLO)
    assert server.stop(signal.SIGTERM) == 0, server.output
    output = server.output
    assert "Traceback" not in output
    assert not [noise for noise in LIFESPAN_NOISE if noise in output.lower()], output


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
@pytest.mark.parametrize("backend", list(ASGI_SERVERS))
def test_a_stop_signal_lets_the_request_in_flight_finish(
    start_server: StartServer, backend: str, sig: int
) -> None:
    server = start_asgi(start_server, backend)

    status, elapsed, response = stop_during_slow_request(server, sig)

    assert (response.status, response.body) == (200, SLOW_BODY), server.output
    assert status == 0, server.output
    assert elapsed < 10


def test_daphne_binds_loopback_by_default(start_server: StartServer) -> None:
    server = start_asgi(start_server, "daphne")

    assert f"Listening on TCP address 127.0.0.1:{server.port}" in server.output
    assert server.stop(signal.SIGTERM) == 0, server.output


def test_daphne_second_signal_does_not_wait_for_the_request(start_server: StartServer) -> None:
    server = start_asgi(start_server, "daphne")
    thread, outcome = request_in_thread(lambda: server.get("/slow/?seconds=3", timeout=20))
    time.sleep(0.7)  # the request has reached the view
    server.proc.send_signal(signal.SIGTERM)
    time.sleep(0.5)
    assert server.proc.poll() is None, "the first signal did not wait for the request"

    assert server.stop(signal.SIGTERM) == 0, server.output
    thread.join(timeout=10)
    assert outcome and not isinstance(outcome[0], Response), outcome


FLOWER = {
    "BACKEND": "celery-flower",
    "APP": "testsite.celery_app.app",
    # No address: the backend's loopback default is what the request reaches.
    "ARGS": {"port": "{port}", "inspect_timeout": 100},
}


def test_celery_flower_answers_http_and_exits_0_on_sigterm(
    start_server: StartServer, tmp_path: Path
) -> None:
    server = start_server({"flower": FLOWER}, "flower", celery_settings(tmp_path))

    response = server.wait_ready("/healthcheck")

    assert (response.status, response.body) == (200, "OK"), server.output
    assert f"Visit me at http://127.0.0.1:{server.port}" in server.output
    assert server.stop(signal.SIGTERM) == 0, server.output
    assert "Traceback" not in without_inspector_race(server.output), server.output


def without_inspector_race(output: str) -> str:
    """The log without records of a race in the test's broker, not in prodserver or Flower.

    Flower inspects the workers from several threads at once, and kombu's filesystem transport
    rewrites its exchange table without a lock, so one thread can read half a file and log a
    JSONDecodeError traceback from flower/inspector.py (seen with the kombu of Python 3.9).
    """
    records = re.split(r"\n(?=\[[A-Z] \d{6} )", output)  # Tornado's "[E 261130 ..." records
    race = ("flower/inspector.py", "kombu/transport/filesystem.py")
    return "\n".join(record for record in records if not all(part in record for part in race))


DRY_RUNS = {
    "daphne": (
        {"BACKEND": "daphne", "ARGS": {"port": 8123, "websocket_timeout": 60}},
        "Would start process 'web' with backend 'daphne' (DaphneServer):\n"
        "daphne testsite.asgi:application --port=8123 --websocket_timeout=60\n"
        "Port: set by ARGS['port'].\n",
    ),
    "hypercorn": (
        {"BACKEND": "hypercorn", "ARGS": {"bind": "127.0.0.1:8123", "workers": 2}},
        "Would start process 'web' with backend 'hypercorn' (HypercornServer):\n"
        "hypercorn django_prodserver.backends.hypercorn_asgi:application "
        "--bind=127.0.0.1:8123 --workers=2\n"
        "Port: set by ARGS['bind'].\nWorkers: set by ARGS['workers'].\n",
    ),
    "celery-flower": (
        {"BACKEND": "celery-flower", "APP": "testsite.celery_app.app", "ARGS": {"port": 5566}},
        "Would start process 'web' with backend 'celery-flower' (CeleryFlower):\n"
        "celery --app=testsite.celery_app.app --skip-checks flower --address=127.0.0.1 "
        "--port=5566\n"
        "Port: set by ARGS['port'].\n",
    ),
}


@pytest.mark.parametrize("backend", list(DRY_RUNS))
def test_dry_run_prints_the_invocation(tmp_path: Path, backend: str) -> None:
    entry, expected = DRY_RUNS[backend]
    write_settings(tmp_path, {"web": entry})

    result = run_manage(tmp_path, "prodserver", "web", "--dry-run")

    assert (result.returncode, result.stdout, result.stderr) == (0, expected, "")


BAD_OPTIONS = {
    "daphne": (
        {"BACKEND": "daphne", "ARGS": {"prot": 8000}},
        "Process 'web': unknown daphne option 'prot' in ARGS. Did you mean 'port'?",
    ),
    "hypercorn": (
        {"BACKEND": "hypercorn", "ARGS": {"workers": "many"}},
        "Process 'web': invalid value 'many' for hypercorn option 'workers' in ARGS: "
        "invalid int value: 'many'.",
    ),
    "celery-flower": (
        {"BACKEND": "celery-flower", "APP": "testsite.celery_app.app", "ARGS": {"prot": 1}},
        "Process 'web': unknown celery flower option 'prot' in ARGS. Did you mean 'port'?",
    ),
}


@pytest.mark.parametrize("backend", list(BAD_OPTIONS))
def test_bad_option_is_one_line_without_traceback(tmp_path: Path, backend: str) -> None:
    entry, message = BAD_OPTIONS[backend]
    write_settings(tmp_path, {"web": entry})

    result = run_manage(tmp_path, "prodserver", "web")

    assert (result.returncode, result.stderr) == (1, f"CommandError: {message}\n")


# Bad configurations of these three servers, each run as --dry-run and as a real start.


class Refused(NamedTuple):
    """A configuration the start refuses with ``message``; ``in_dry_run``: --dry-run refuses
    it too (False for what only a start can see: a busy port, a host, a socket's directory)."""

    entry: dict[str, Any]
    message: str
    in_dry_run: bool = True
    extra_settings: str = ""
    #: Whether a start meets it in its pre-flight checks, after its "Starting process" line (as
    #: it meets everything --dry-run cannot see).
    at_start: bool = False


HYPERCORN = "hypercorn"
FLOWER_APP = {"BACKEND": "celery-flower", "APP": "testsite.celery_app.app"}
CELERY_BROKER = "CELERY_BROKER_URL = 'memory://'\n"
BROKEN_ASGI = "ASGI_APPLICATION = 'broken_app.application'\n"
IMPORT_FAILED = (
    "the application 'broken_app:application' failed to import: RuntimeError: boom at import"
)
PORT_BUSY = "cannot listen on 127.0.0.1:{busy}: Address already in use. Is another server using it?"
UNRESOLVABLE = (
    "cannot listen on no-such-host.invalid:{port}: the host 'no-such-host.invalid' cannot be "
    "resolved (Name or service not known). Use an IP address, or a name this machine resolves."
)
NO_DIRECTORY = (
    "cannot listen on the Unix socket '/nonexistent-dir/s.sock': the directory "
    "'/nonexistent-dir' does not exist. Create it, or choose a path in an existing directory."
)
MISMATCH = (
    "the certificate '{dir}/cert.pem' and key '{dir}/other.pem' cannot be loaded: "
    "[X509: KEY_VALUES_MISMATCH] key values mismatch"
)

REFUSED = {
    "hypercorn-port-busy": Refused(
        {"BACKEND": HYPERCORN, "ARGS": {"bind": "127.0.0.1:{busy}"}}, PORT_BUSY, False
    ),
    "hypercorn-port-70000": Refused(
        {"BACKEND": HYPERCORN, "ARGS": {"bind": "127.0.0.1:70000"}},
        "invalid value '127.0.0.1:70000' for hypercorn option 'bind' in ARGS: a port is a "
        "number from 0 to 65535, not 70000.",
    ),
    "hypercorn-host-unresolvable": Refused(
        {"BACKEND": HYPERCORN, "ARGS": {"bind": "no-such-host.invalid:{port}"}},
        UNRESOLVABLE,
        False,
    ),
    "hypercorn-unix-socket-directory-missing": Refused(
        {"BACKEND": HYPERCORN, "ARGS": {"bind": "unix:/nonexistent-dir/s.sock"}},
        NO_DIRECTORY,
        False,
    ),
    "hypercorn-workers-negative": Refused(
        {"BACKEND": HYPERCORN, "ARGS": {"bind": "127.0.0.1:{port}", "workers": -1}},
        "invalid value -1 for hypercorn option 'workers' in ARGS: it must be 0 (serve in this "
        "process) or more; Hypercorn starts no worker for a negative count and waits forever.",
    ),
    "hypercorn-workers-a-million": Refused(
        {"BACKEND": HYPERCORN, "ARGS": {"bind": "127.0.0.1:{port}", "workers": 10**6}},
        "invalid value 1000000 for hypercorn option 'workers' in ARGS: it must be from 0 to 10000.",
    ),
    "hypercorn-certificate-with-another-key": Refused(
        {
            "BACKEND": HYPERCORN,
            "ARGS": {
                "bind": "127.0.0.1:{port}",
                "certfile": "{dir}/cert.pem",
                "keyfile": "{dir}/other.pem",
            },
        },
        f"invalid value '{{dir}}/other.pem' for hypercorn option 'keyfile' in ARGS: {MISMATCH}",
    ),
    "hypercorn-log-config-missing": Refused(
        {"BACKEND": HYPERCORN, "ARGS": {"bind": "127.0.0.1:{port}", "log_config": "{dir}/no.ini"}},
        "invalid value '{dir}/no.ini' for hypercorn option 'log_config' in ARGS: the log "
        "configuration '{dir}/no.ini' cannot be read: No such file or directory.",
    ),
    "hypercorn-application-raises": Refused(
        {"BACKEND": HYPERCORN, "ARGS": {"bind": "127.0.0.1:{port}", "workers": 2}},
        IMPORT_FAILED,
        True,
        BROKEN_ASGI,
        at_start=True,
    ),
    "daphne-port-busy": Refused(
        {"BACKEND": "daphne", "ARGS": {"port": "{busy}"}}, PORT_BUSY, False
    ),
    "daphne-host-unresolvable": Refused(
        {"BACKEND": "daphne", "ARGS": {"bind": "no-such-host.invalid", "port": "{port}"}},
        UNRESOLVABLE,
        False,
    ),
    "daphne-tls-endpoint-files-missing": Refused(
        {"BACKEND": "daphne", "ARGS": {"endpoint": "ssl:{port}:privateKey={dir}/no.key"}},
        "invalid value 'ssl:{port}:privateKey={dir}/no.key' for daphne option 'endpoint' in "
        "ARGS: Twisted cannot use the endpoint 'ssl:{port}:privateKey={dir}/no.key': No such "
        "file or directory: '{dir}/no.key'.",
    ),
    "daphne-unix-socket-directory-missing": Refused(
        {"BACKEND": "daphne", "ARGS": {"unix_socket": "/nonexistent-dir/s.sock"}},
        NO_DIRECTORY,
        False,
    ),
    "daphne-application-raises": Refused(
        {"BACKEND": "daphne", "ARGS": {"port": "{port}"}},
        IMPORT_FAILED,
        True,
        BROKEN_ASGI,
        at_start=True,
    ),
    "flower-port-busy": Refused({**FLOWER_APP, "ARGS": {"port": "{busy}"}}, PORT_BUSY, False),
    "flower-basic-auth-without-colon": Refused(
        {**FLOWER_APP, "ARGS": {"port": "{port}", "basic_auth": "adminnopassword"}},
        "invalid value for celery flower option 'basic_auth' in ARGS: each user is written "
        "'user:password', and Flower answers 401 to every request for an entry without ':'.",
    ),
    "flower-certificate-with-another-key": Refused(
        {
            **FLOWER_APP,
            "ARGS": {"port": "{port}", "certfile": "{dir}/cert.pem", "keyfile": "{dir}/other.pem"},
        },
        f"invalid value '{{dir}}/other.pem' for celery flower option 'keyfile' in ARGS: {MISMATCH}",
    ),
}


def _placed(value: Any, places: dict[str, str]) -> Any:
    if isinstance(value, str):
        for name, text in places.items():
            value = value.replace("{" + name + "}", text)
        return value
    if isinstance(value, dict):
        return {key: _placed(item, places) for key, item in value.items()}
    return value


class Answers(NamedTuple):
    places: dict[str, str]
    dry_run: subprocess.CompletedProcess[str]
    start: subprocess.CompletedProcess[str]


def _answers(case: str, directory: Path, busy: int) -> Answers:
    refused = REFUSED[case]
    places = {"dir": str(directory), "port": str(free_port()), "busy": str(busy)}
    write_settings(
        directory, {"web": _placed(refused.entry, places)}, CELERY_BROKER + refused.extra_settings
    )
    dry_run = run_manage(directory, "prodserver", "web", "--dry-run")
    return Answers(places, dry_run, run_manage(directory, "prodserver", "web"))


@pytest.fixture(scope="module")
def answers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Answers]]:
    """Every case of REFUSED run at once (a few at a time), once per module."""
    trustme = pytest.importorskip("trustme")
    authority = trustme.CA()
    issued, other = authority.issue_cert("127.0.0.1"), authority.issue_cert("127.0.0.1")
    directories = {case: tmp_path_factory.mktemp(case) for case in REFUSED}
    for directory in directories.values():
        (directory / "cert.pem").write_bytes(issued.cert_chain_pems[0].bytes())
        (directory / "other.pem").write_bytes(other.private_key_pem.bytes())
        (directory / "broken_app.py").write_text("raise RuntimeError('boom at import')\n")
    with socket.socket() as occupant:
        occupant.bind(("127.0.0.1", 0))
        occupant.listen()
        busy = occupant.getsockname()[1]
        with ThreadPoolExecutor(max_workers=4) as pool:
            futures = {
                case: pool.submit(_answers, case, directories[case], busy) for case in REFUSED
            }
            yield {case: future.result() for case, future in futures.items()}


@pytest.mark.parametrize("case", list(REFUSED))
def test_a_bad_configuration_is_one_line_in_a_start_and_in_dry_run(
    case: str, answers: dict[str, Answers]
) -> None:
    refused, answer = REFUSED[case], answers[case]
    backend = refused.entry["BACKEND"]
    message = "CommandError: Process 'web': " + _placed(refused.message, answer.places)

    start = answer.start
    # Refused by the checks before the start, or by the pre-flight checks after its first line.
    at_start = refused.at_start or not refused.in_dry_run
    starting = f"Starting process 'web' with backend {backend!r}.\n" if at_start else ""
    assert (start.returncode, start.stdout) == (1, starting), start.stderr
    if "KEY_VALUES_MISMATCH" in message:  # OpenSSL adds where it found it: (_ssl.c:NNNN).
        assert start.stderr.startswith(message), start.stderr
        assert start.stderr.count("\n") == 1, start.stderr
    else:
        assert start.stderr == message + "\n"
    dry_run = answer.dry_run
    if refused.in_dry_run:
        assert (dry_run.returncode, dry_run.stdout, dry_run.stderr) == (1, "", start.stderr)
    else:  # what only a start meets: --dry-run describes the start
        assert (dry_run.returncode, dry_run.stderr) == (0, ""), dry_run.stderr
        assert dry_run.stdout.startswith("Would start process 'web' with backend "), dry_run.stdout
