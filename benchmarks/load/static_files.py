"""Static files served by Granian itself (``STATIC``) against the same files served by Django.

    python -m benchmarks.load.static_files [--rounds 4] [--duration 3]

Both servers are granian-wsgi with one worker, started by prodserver side by side; the file is
the example's stylesheet after ``collectstatic``. Django serves it through
``django.views.static.serve`` (what ``runserver`` does), the only static-file view Django ships.
Prints a Markdown table and writes it to benchmarks/results/static_files.md.
"""

from __future__ import annotations

import argparse
import statistics
import sys
from pathlib import Path

from ..harness.processes import Launch, free_port, install_cleanup, run_bounded, running
from ..harness.project import EXAMPLE_DIR, REPO_DIR, ExampleProject
from ..harness.wrk import require_wrk, run_wrk, wrk_command

FILE = "/static/pages/site.css"
RESULTS = REPO_DIR / "benchmarks" / "results" / "static_files.md"


def _settings(
    project: ExampleProject, static_root: Path, port: int, *, granian_serves: bool
) -> str:
    """A settings module for one side: Granian's STATIC, or Django's view for /static/."""
    name = "bench_static_granian" if granian_serves else "bench_static_django"
    urls = f"{name}_urls"
    (project.root / f"{urls}.py").write_text(
        "from django.conf import settings\n"
        "from django.urls import re_path\n"
        "from django.views.static import serve\n"
        "from exampleproject.urls import urlpatterns as site\n\n"
        "urlpatterns = [\n"
        "    *site,\n"
        "    re_path(r'^static/(?P<path>.*)$', serve, {'document_root': settings.STATIC_ROOT}),\n"
        "]\n"
    )
    processes = {
        "web": {
            "BACKEND": "granian-wsgi",
            "STATIC": granian_serves,
            "ARGS": {"host": "127.0.0.1", "port": port, "workers": 1},
        }
    }
    (project.root / f"{name}.py").write_text(
        "from bench_settings import *  # noqa: F403\n\n"
        f"STATIC_ROOT = {str(static_root)!r}\n"
        f"ROOT_URLCONF = {urls!r}\n"
        f"PRODUCTION_PROCESSES = {processes!r}\n"
    )
    return name


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--duration", type=float, default=3.0)
    parser.add_argument("--connections", type=int, default=32)
    options = parser.parse_args()
    require_wrk()
    install_cleanup()
    project = ExampleProject()
    try:
        project.migrate()
        static_root = project.root / "staticfiles"
        ports = {"granian": free_port(), "django": free_port()}
        granian_settings = _settings(project, static_root, ports["granian"], granian_serves=True)
        django_settings = _settings(project, static_root, ports["django"], granian_serves=False)
        collected = run_bounded(
            project.manage("collectstatic", "--noinput", "--verbosity=0"),
            120,
            EXAMPLE_DIR,
            project.env(django_settings),
        )
        if collected.returncode != 0:
            sys.exit(f"collectstatic failed:\n{collected.stderr}")
        sides = {
            "Granian (STATIC)": (granian_settings, ports["granian"]),
            "Django (django.views.static.serve)": (django_settings, ports["django"]),
        }
        servers = [
            (
                label,
                Launch(project.manage("prodserver", "web"), EXAMPLE_DIR, project.env(name)),
                port,
            )
            for label, (name, port) in sides.items()
        ]
        rates: dict[str, list[float]] = {label: [] for label in sides}
        p99: dict[str, list[float]] = {label: [] for label in sides}
        with running(servers, project.logs, path=FILE) as started:
            for round_index in range(options.rounds):
                # Alternate the order each round: the machine is shared and noisy.
                order = started if round_index % 2 == 0 else list(reversed(started))
                for server in order:
                    url = f"http://127.0.0.1:{server.port}{FILE}"
                    result = run_wrk(
                        wrk_command(url, options.duration, options.connections), options.duration
                    )
                    if result.failed:
                        sys.exit(f"{server.label}: {result.failed} failed requests")
                    rates[server.label].append(result.requests_per_s)
                    p99[server.label].append(result.p99_ms)
        granian, django = (statistics.median(rates[label]) for label in sides)
        size = (static_root / "pages" / "site.css").stat().st_size
        lines = [
            f"`GET {FILE}` ({size:,} bytes), granian-wsgi with 1 worker, wrk with "
            f"{options.connections} connections, {options.rounds} rounds of "
            f"{options.duration:g} s in alternating order; medians.",
            "",
            "| served by | req/s | p99 latency (ms) |",
            "|---|---|---|",
            *(
                f"| {label} | {statistics.median(rates[label]):,.0f} | "
                f"{statistics.median(p99[label]):.1f} |"
                for label in sides
            ),
            "",
            f"Granian serves the file {granian / django:.1f} times as fast as Django.",
        ]
        text = "\n".join(lines) + "\n"
        RESULTS.parent.mkdir(exist_ok=True)
        RESULTS.write_text(text)
        print(text)
        return 0
    finally:
        project.cleanup()


if __name__ == "__main__":
    sys.exit(main())
