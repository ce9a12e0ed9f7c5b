"""README's first command, for real: ``scripts/example`` sets up the example project and serves
it where ``PORT`` says, on every interface as on a platform, until SIGTERM stops it."""

from __future__ import annotations

import fcntl
import os
import sys
from pathlib import Path

import pytest

from . import harness

pytestmark = pytest.mark.integration

REPO_DIR = Path(__file__).resolve().parents[2]
# The script migrates the example's SQLite file in the repository; CI's lanes run at once.
LOCK = Path("/tmp/django-prodserver-example.lock")


def test_scripts_example_serves_where_port_says_and_stops_on_sigterm(tmp_path: Path) -> None:
    port = harness.free_port()
    # A newcomer's shell: not the test run's Django settings.
    shell = {
        k: v for k, v in os.environ.items() if k not in ("DJANGO_SETTINGS_MODULE", "PYTHONPATH")
    }
    env = {
        **shell,
        "PORT": str(port),
        # This interpreter's environment, as the script names it: relative to the repository.
        "VENV": os.path.relpath(sys.prefix, REPO_DIR),
    }
    with LOCK.open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        server = harness.ServerProcess.of_command(
            [str(REPO_DIR / "scripts" / "example")],
            cwd=REPO_DIR,
            env=env,
            port=port,
            log_path=tmp_path / "example.log",
        )
        try:
            # The script installs into the environment first.
            response = server.wait_ready("/", timeout=180)
            assert (response.status, response.body) == (
                200,
                "Hello from django-prodserver's example project.\n",
            ), server.output
            assert server.get("/db/").body.strip()  # the script's migrate made the database
            assert harness.listening_addresses(port) == {"0.0.0.0"}
            assert server.stop(timeout=30) == 0, server.output
        finally:
            server.kill()
    assert "Traceback" not in server.output
