"""Run wrk against a server and read its summary."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

WRK_INSTALL_HINT = (
    "wrk is not on PATH: install it with `apt-get install wrk` (Debian/Ubuntu) "
    "or `brew install wrk` (macOS)."
)
# A wrk script that cycles through every view: one load for warm-up and soak.
ALL_VIEWS_SCRIPT = """\
local paths = {%s}
local i = 0
request = function()
  i = i %% #paths + 1
  return wrk.format("GET", paths[i])
end
"""
_UNITS = {"us": 1e-3, "ms": 1.0, "s": 1e3, "m": 60e3}


@dataclass
class LoadResult:
    requests_per_s: float
    p50_ms: float
    p99_ms: float
    requests: int
    non_2xx: int  # wrk's "Non-2xx or 3xx responses"
    socket_errors: int  # connect + read + write + timeout

    @property
    def failed(self) -> int:
        return self.non_2xx + self.socket_errors


def require_wrk() -> str:
    """The path of wrk, or exit with one line saying how to install it."""
    path = shutil.which("wrk")
    if path is None:
        sys.exit(WRK_INSTALL_HINT)
    return path


def wrk_version() -> str:
    # wrk has no --version: it prints its banner with the usage, and exits 1.
    done = subprocess.run(
        [require_wrk(), "--version"], capture_output=True, text=True, timeout=10, check=False
    )
    first = (done.stdout or done.stderr).splitlines()
    return first[0].split(" Copyright")[0] if first else "wrk (unknown version)"


def write_all_views_script(directory: Path, paths: list[str]) -> Path:
    script = directory / "all_views.lua"
    script.write_text(ALL_VIEWS_SCRIPT % ", ".join(f'"{path}"' for path in paths))
    return script


def wrk_command(
    url: str,
    duration: float,
    connections: int,
    *,
    threads: int = 1,
    script: Path | None = None,
    timeout: float | None = None,
    new_connections: bool = False,
) -> list[str]:
    argv = [
        "wrk",
        f"--threads={threads}",
        f"--connections={connections}",
        f"--duration={max(round(duration), 1)}s",
        "--latency",
    ]
    if timeout is not None:
        argv.append(f"--timeout={round(timeout)}s")
    if script is not None:
        argv.append(f"--script={script}")
    if new_connections:
        # One request per connection: the kernel hands each to whichever worker accepts first,
        # so every worker gets a share (kept-alive connections stay with one worker).
        argv.append("--header=Connection: close")
    return [*argv, url]


def run_wrk(argv: list[str], duration: float) -> LoadResult:
    done = subprocess.run(
        [require_wrk(), *argv[1:]],
        capture_output=True,
        text=True,
        timeout=duration + 60,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)} failed ({done.returncode}): {done.stderr.strip()}")
    return parse_wrk(done.stdout)


def _milliseconds(text: str) -> float:
    match = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text)
    if match is None:
        raise ValueError(f"not a wrk duration: {text!r}")
    return float(match.group(1)) * _UNITS[match.group(2)]


def parse_wrk(output: str) -> LoadResult:
    """The figures of wrk's summary (``--latency`` for the percentiles)."""

    def number(pattern: str, default: str | None = None) -> str:
        match = re.search(pattern, output)
        if match is None:
            if default is None:
                raise ValueError(f"wrk output has no {pattern!r}:\n{output}")
            return default
        return match.group(1)

    socket_errors = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output
    )
    return LoadResult(
        requests_per_s=float(number(r"Requests/sec:\s+([\d.]+)")),
        p50_ms=_milliseconds(number(r"\n\s+50%\s+(\S+)")),
        p99_ms=_milliseconds(number(r"\n\s+99%\s+(\S+)")),
        requests=int(number(r"(\d+) requests in")),
        non_2xx=int(number(r"Non-2xx or 3xx responses:\s+(\d+)", "0")),
        socket_errors=sum(int(n) for n in socket_errors.groups()) if socket_errors else 0,
    )
