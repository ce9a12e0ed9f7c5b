"""Hostile-input checker: bad configurations on a fresh ``startproject`` project, every backend.

Not a test and not in CI: a bounded script a reviewer runs to see how every backend answers
configurations a hostile user writes. Each case runs as ``--dry-run`` and as a real start
(15 s at most; a start that serves is killed and counted as started) and is classified:

    good       one line naming the process, non-zero exit, no traceback
    traceback  a Python traceback in the output
    unclear    non-zero exit but more than one line, none, or one that names no process
    silent     accepted: exit 0, or started serving / kept running
    hang       still running at the time limit, never serving
    leaked     a secret of the case appears in some output

Usage: .venv/bin/python scripts/hostile.py [--jobs 2] [--only SUBSTRING] [--json FILE]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

START_LIMIT = 15.0
WORKER_RUNNING = 8.0  # a worker still running after this long has started
SECRETS = ("s3cret", "hunter2", "pa55word", "t0ken")

TRAILER_CELERY = """
import os
from celery import Celery
app = Celery("mysite")
app.config_from_object("django.conf:settings", namespace="CELERY")
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Ctx:
    project: Path
    port: int
    tls: dict[str, str]
    case_dir: Path


Entry = Callable[[Ctx], dict[str, Any]]


@dataclass
class Case:
    name: str
    backend: str
    entry: Entry
    extra: str | Callable[[Ctx], str] = ""
    env: dict[str, str] = field(default_factory=dict)
    expect: str = "fail"  # or "start": a valid configuration (control, or secret masking)
    argv: tuple[str, ...] = ()
    busy: bool = False  # hold ctx.port bound while the case runs
    server: bool = True  # answers HTTP on ctx.port when it starts
    leak_commands: bool = False  # also look for secrets in --list, --list --json and check
    start_only: bool = False  # docs: --dry-run binds nothing and imports no application

    def __post_init__(self) -> None:
        faults = ("busy port", "unresolvable", "app ", "ASGI_APPLICATION is WSGI")
        self.start_only = self.start_only or any(f in self.name for f in faults)


def web(backend: str, **args: Any) -> Entry:
    """An entry whose ARGS may hold callables of the context (port, tls paths)."""

    def build(ctx: Ctx) -> dict[str, Any]:
        resolved = {k.replace("__", "-"): (v(ctx) if callable(v) else v) for k, v in args.items()}
        return {"BACKEND": backend, "ARGS": resolved}

    return build


def raw(entry: dict[str, Any] | Callable[[Ctx], dict[str, Any]]) -> Entry:
    return entry if callable(entry) else (lambda ctx: entry)


PORT = lambda c: c.port  # noqa: E731
CERT = lambda c: c.tls["cert"]  # noqa: E731
KEY = lambda c: c.tls["key"]  # noqa: E731
OTHER_KEY = lambda c: c.tls["other_key"]  # noqa: E731
ENC_KEY = lambda c: c.tls["enc_key"]  # noqa: E731
JUNK = lambda c: c.tls["junk"]  # noqa: E731
MISSING = lambda c: str(c.case_dir / "missing" / "file.pem")  # noqa: E731
BAD_LOG = lambda c: c.tls["bad_log"]  # noqa: E731
NOSOCK = lambda c: str(c.case_dir / "no-such-dir" / "s.sock")  # noqa: E731
GBIND = lambda c: f"127.0.0.1:{c.port}"  # noqa: E731

CELERY = "CELERY_BROKER_URL = 'memory://'\n"
TASKS = (
    "INSTALLED_APPS = [*INSTALLED_APPS, 'django_tasks', 'django_tasks_db']\n"
    "TASKS = {'default': {'BACKEND': 'django_tasks_db.DatabaseBackend'}}\n"
)
Q2 = (
    "INSTALLED_APPS = [*INSTALLED_APPS, 'django_q']\n"
    "Q_CLUSTER = {'name': 'hostile', 'orm': 'default', 'timeout': 30, 'retry': 60}\n"
)


def cases() -> list[Case]:  # noqa: PLR0915 - one flat table of cases reads best
    out: list[Case] = []

    def add(*a: Any, **k: Any) -> None:
        out.append(Case(*a, **k))

    # ---------------------------------------------------------------- per-server address cases
    hostport = {
        "granian-wsgi": ("host", "port"),
        "granian-asgi": ("host", "port"),
        "uvicorn": ("host", "port"),
        "uvicorn-wsgi": ("host", "port"),
        "waitress": ("host", "port"),
    }
    for b, (h, p) in hostport.items():
        add(f"{b}: control", b, web(b, **{h: "127.0.0.1", p: PORT}), expect="start")
        add(f"{b}: busy port", b, web(b, **{h: "127.0.0.1", p: PORT}), busy=True)
        add(f"{b}: port 70000", b, web(b, **{h: "127.0.0.1", p: 70000}))
        add(f"{b}: port '80x'", b, web(b, **{h: "127.0.0.1", p: "80x"}))
        add(f"{b}: port -1", b, web(b, **{h: "127.0.0.1", p: -1}))
        add(f"{b}: host unresolvable", b, web(b, **{h: "no-such-host.invalid", p: PORT}))
        add(f"{b}: NUL in host", b, web(b, **{h: "127.0.0.1\x00x", p: PORT}))
        add(f"{b}: workers 10**6", b, web(b, **{h: "127.0.0.1", p: PORT, "workers": 10**6}))
        add(f"{b}: workers -1", b, web(b, **{h: "127.0.0.1", p: PORT, "workers": -1}))
        add(f"{b}: workers 'two'", b, web(b, **{h: "127.0.0.1", p: PORT, "workers": "two"}))
        add(f"{b}: workers [2]", b, web(b, **{h: "127.0.0.1", p: PORT, "workers": [2]}))
        add(f"{b}: PORT=junk", b, web(b, **{h: "127.0.0.1"}), env={"PORT": "junk"})
        add(
            f"{b}: PORT=20 digits",
            b,
            web(b, **{h: "127.0.0.1"}),
            env={"PORT": "12345678901234567890"},
        )
        add(
            f"{b}: WEB_CONCURRENCY=-3",
            b,
            web(b, **{h: "127.0.0.1", p: PORT}),
            env={"WEB_CONCURRENCY": "-3"},
        )
        add(
            f"{b}: WEB_CONCURRENCY=abc",
            b,
            web(b, **{h: "127.0.0.1", p: PORT}),
            env={"WEB_CONCURRENCY": "abc"},
        )
    # waitress has 'workers'? it does not: refuse as unknown. Fine either way: one line.

    # ------------------------------------------------------------------------ granian
    for b in ("granian-wsgi", "granian-asgi"):
        base = {"host": "127.0.0.1", "port": PORT}
        add(f"{b}: uds missing dir", b, web(b, uds=NOSOCK))
        add(
            f"{b}: tls mismatched", b, web(b, **base, ssl__certificate=CERT, ssl__keyfile=OTHER_KEY)
        )
        add(f"{b}: tls junk cert", b, web(b, **base, ssl__certificate=JUNK, ssl__keyfile=KEY))
        add(
            f"{b}: tls missing files",
            b,
            web(b, **base, ssl__certificate=MISSING, ssl__keyfile=MISSING),
        )
        add(
            f"{b}: tls enc key no password",
            b,
            web(b, **base, ssl__certificate=CERT, ssl__keyfile=ENC_KEY),
        )
        add(
            f"{b}: tls enc key wrong password",
            b,
            web(
                b,
                **base,
                ssl__certificate=CERT,
                ssl__keyfile=ENC_KEY,
                ssl__keyfile__password="hunter2",
            ),
        )
        add(f"{b}: backlog 10**12", b, web(b, **base, backlog=10**12))
        add(f"{b}: threads 10**20", b, web(b, **base, blocking__threads=10**20))
        add(f"{b}: GRANIAN_PORT=junk", b, web(b, **base), env={"GRANIAN_PORT": "junk"})
        add(f"{b}: GRANIAN_WORKERS=-1", b, web(b, **base), env={"GRANIAN_WORKERS": "-1"})
        add(f"{b}: abbreviation 'work'", b, web(b, **base, work=2))
        add(
            f"{b}: list item with password",
            b,
            raw(
                lambda c, b=b: {
                    "BACKEND": b,
                    "ARGS": ["--port", str(c.port), "--ssl-keyfile-password s3cret"],
                }
            ),
        )
        add(f"{b}: NUL in static path", b, web(b, **base, static__path__mount="/tmp/\x00x"))
    add(
        "granian-wsgi: ASGI app via interface",
        "granian-wsgi",
        web("granian-wsgi", host="127.0.0.1", port=PORT, interface="asgi"),
    )

    # ------------------------------------------------------------------------ gunicorn
    g = "gunicorn"
    gb = {"bind": GBIND}
    add("gunicorn: control", g, web(g, **gb), expect="start")
    add("gunicorn: busy port", g, web(g, **gb), busy=True)
    add("gunicorn: bind port 70000", g, web(g, bind="127.0.0.1:70000"))
    add("gunicorn: bind unresolvable", g, web(g, bind="no-such-host.invalid:8000"))
    add("gunicorn: bind NUL", g, web(g, bind="127.0.0.1\x00:8000"))
    add("gunicorn: unix missing dir", g, web(g, bind=lambda c: f"unix:{NOSOCK(c)}"))
    add("gunicorn: workers 0", g, web(g, **gb, workers=0))
    add("gunicorn: workers 10**6", g, web(g, **gb, workers=10**6))
    add("gunicorn: timeout 10**20", g, web(g, **gb, timeout=10**20))
    add("gunicorn: backlog 10**12", g, web(g, **gb, backlog=10**12))
    add("gunicorn: timeout 'soon'", g, web(g, **gb, timeout="soon"))
    add("gunicorn: daemon", g, web(g, **gb, daemon=True))
    add("gunicorn: check-config", g, web(g, **gb, check__config=True))
    add("gunicorn: print-config", g, web(g, **gb, print__config=True))
    add("gunicorn: version", g, web(g, **gb, version=True))
    add("gunicorn: abbreviation 'work'", g, web(g, **gb, work=2))
    add("gunicorn: missing config", g, web(g, **gb, config=MISSING))
    add("gunicorn: log-config unparsable", g, web(g, **gb, log__config=BAD_LOG))
    add("gunicorn: log-config missing", g, web(g, **gb, log__config=MISSING))
    add("gunicorn: access-logfile missing dir", g, web(g, **gb, access__logfile=MISSING))
    add("gunicorn: tls mismatched", g, web(g, **gb, certfile=CERT, keyfile=OTHER_KEY))
    add("gunicorn: tls missing", g, web(g, **gb, certfile=MISSING, keyfile=MISSING))
    add("gunicorn: tls encrypted key", g, web(g, **gb, certfile=CERT, keyfile=ENC_KEY))
    add(
        "gunicorn: GUNICORN_CMD_ARGS workers=0",
        g,
        web(g, **gb),
        env={"GUNICORN_CMD_ARGS": "--workers=0"},
    )
    add(
        "gunicorn: GUNICORN_CMD_ARGS junk",
        g,
        web(g, **gb),
        env={"GUNICORN_CMD_ARGS": "--bogus-flag 'x"},
    )
    add(
        "gunicorn: GUNICORN_CMD_ARGS daemon", g, web(g, **gb), env={"GUNICORN_CMD_ARGS": "--daemon"}
    )
    add(
        "gunicorn: env DB_PASSWORD (valid, masked)",
        g,
        web(g, **gb, env=["DB_PASSWORD=s3cret", "API_TOKEN=t0ken"]),
        expect="start",
        leak_commands=True,
    )
    add("gunicorn: env not KEY=VALUE", g, web(g, **gb, env=["JUSTAWORD"]))
    add(
        "gunicorn: list item --x-password s3cret",
        g,
        raw(lambda c: {"BACKEND": g, "ARGS": ["--bind", GBIND(c), "--x-password s3cret"]}),
    )
    add("gunicorn: pid missing dir", g, web(g, **gb, pid=MISSING))
    add("gunicorn: worker-class bogus", g, web(g, **gb, worker__class="nosuch.Worker"))

    # ------------------------------------------------------------------------ uvicorn
    for b in ("uvicorn", "uvicorn-wsgi"):
        ub = {"host": "127.0.0.1", "port": PORT}
        add(f"{b}: uds missing dir", b, web(b, uds=NOSOCK))
        add(f"{b}: tls mismatched", b, web(b, **ub, ssl__certfile=CERT, ssl__keyfile=OTHER_KEY))
        add(
            f"{b}: tls enc key wrong pw",
            b,
            web(
                b, **ub, ssl__certfile=CERT, ssl__keyfile=ENC_KEY, ssl__keyfile__password="hunter2"
            ),
        )
        add(f"{b}: log-config unparsable", b, web(b, **ub, log__config=BAD_LOG))
        add(f"{b}: log-config missing", b, web(b, **ub, log__config=MISSING))
        add(f"{b}: backlog 10**12", b, web(b, **ub, backlog=10**12))
        add(f"{b}: timeout-keep-alive 10**20", b, web(b, **ub, timeout__keep__alive=10**20))
        add(f"{b}: version", b, web(b, **ub, version=True))
        add(
            f"{b}: list item password",
            b,
            raw(
                lambda c, b=b: {
                    "BACKEND": b,
                    "ARGS": ["--port", str(c.port), "--ssl-keyfile-password s3cret"],
                }
            ),
        )
        add(f"{b}: abbreviation 'work'", b, web(b, **ub, work=2))
    add(
        "uvicorn: tls enc key right pw (valid, masked)",
        "uvicorn",
        web(
            "uvicorn",
            host="127.0.0.1",
            port=PORT,
            ssl__certfile=CERT,
            ssl__keyfile=ENC_KEY,
            ssl__keyfile__password="pa55word",
        ),
        expect="start",
        server=False,
        leak_commands=True,
    )

    # ------------------------------------------------------------------------ waitress
    w = "waitress"
    wb = {"host": "127.0.0.1", "port": PORT}
    add("waitress: unix_socket missing dir", w, web(w, unix_socket=NOSOCK))
    add("waitress: threads 0", w, web(w, **wb, threads=0))
    add("waitress: threads 10**6", w, web(w, **wb, threads=10**6))
    add("waitress: backlog 10**12", w, web(w, **wb, backlog=10**12))
    add("waitress: channel_timeout 'x'", w, web(w, **wb, channel_timeout="x"))
    add("waitress: listen NUL", w, web(w, listen="127.0.0.1\x00:80"))
    add("waitress: listen port 70000", w, web(w, listen="127.0.0.1:70000"))
    add("waitress: abbreviation 'thr'", w, web(w, **wb, thr=2))

    # ------------------------------------------------------------------------ hypercorn
    h = "hypercorn"
    hb = {"bind": GBIND}
    add("hypercorn: control", h, web(h, **hb), expect="start")
    add("hypercorn: busy port", h, web(h, **hb), busy=True)
    add("hypercorn: bind port 70000", h, web(h, bind="127.0.0.1:70000"))
    add("hypercorn: bind unresolvable", h, web(h, bind="no-such-host.invalid:8000"))
    add("hypercorn: bind NUL", h, web(h, bind="127.0.0.1\x00:8000"))
    add("hypercorn: unix missing dir", h, web(h, bind=lambda c: f"unix:{NOSOCK(c)}"))
    add("hypercorn: workers -1", h, web(h, **hb, workers=-1))
    add("hypercorn: workers 10**6", h, web(h, **hb, workers=10**6))
    add("hypercorn: backlog 10**12", h, web(h, **hb, backlog=10**12))
    add("hypercorn: graceful_timeout 10**20", h, web(h, **hb, graceful_timeout=10**20))
    add("hypercorn: tls mismatched", h, web(h, **hb, certfile=CERT, keyfile=OTHER_KEY))
    add("hypercorn: tls junk cert", h, web(h, **hb, certfile=JUNK, keyfile=KEY))
    add("hypercorn: log-config unparsable", h, web(h, **hb, log__config=BAD_LOG))
    add("hypercorn: log-config missing", h, web(h, **hb, log__config=MISSING))
    add("hypercorn: config missing", h, web(h, **hb, config=MISSING))
    add("hypercorn: abbreviation 'work'", h, web(h, **hb, work=2))
    add(
        "hypercorn: list item password",
        h,
        raw(lambda c: {"BACKEND": h, "ARGS": ["--bind", GBIND(c), "--x-password s3cret"]}),
    )
    add(
        "hypercorn: WEB_CONCURRENCY=20 digits",
        h,
        web(h, **hb),
        env={"WEB_CONCURRENCY": "12345678901234567890"},
    )

    # ------------------------------------------------------------------------ daphne
    d = "daphne"
    db = {"bind": "127.0.0.1", "port": PORT}
    add("daphne: control", d, web(d, **db), expect="start")
    add("daphne: busy port", d, web(d, **db), busy=True)
    add("daphne: port 70000", d, web(d, bind="127.0.0.1", port=70000))
    add("daphne: bind unresolvable", d, web(d, bind="no-such-host.invalid", port=PORT))
    add("daphne: bind NUL", d, web(d, bind="127.0.0.1\x00", port=PORT))
    add("daphne: unix socket missing dir", d, web(d, u=NOSOCK))
    add(
        "daphne: endpoint tls missing files",
        d,
        web(d, endpoint=lambda c: f"ssl:{c.port}:privateKey={MISSING(c)}:certKey={MISSING(c)}"),
    )
    add(
        "daphne: endpoint tls mismatched",
        d,
        web(
            d,
            endpoint=lambda c: (
                f"ssl:{c.port}:interface=127.0.0.1:privateKey={OTHER_KEY(c)}:certKey={CERT(c)}"
            ),
        ),
    )
    add("daphne: endpoint junk", d, web(d, endpoint="nonsense:::"))
    add("daphne: http_timeout 10**20", d, web(d, **db, http_timeout=10**20))
    add("daphne: websocket_timeout -5", d, web(d, **db, websocket_timeout=-5))
    add("daphne: access-log missing dir", d, web(d, **db, access__log=MISSING))
    add("daphne: abbreviation 'por'", d, web(d, bind="127.0.0.1", por=8000))
    add(
        "daphne: ASGI_APPLICATION is WSGI handler",
        d,
        web(d, **db),
        extra="ASGI_APPLICATION = 'mysite.wsgi.application'\n",
    )

    # ------------------------------------------------------------------------ flower
    f = "celery-flower"

    def fl(**args: Any) -> Entry:
        inner = web(f, **args)
        return lambda c: {**inner(c), "APP": "mysite.celery.app"}

    fb = {"address": "127.0.0.1", "port": PORT}
    add("flower: control", f, fl(**fb), extra=CELERY, expect="start")
    add("flower: busy port", f, fl(**fb), extra=CELERY, busy=True)
    add("flower: port 70000", f, fl(address="127.0.0.1", port=70000), extra=CELERY)
    add(
        "flower: address unresolvable",
        f,
        fl(address="no-such-host.invalid", port=PORT),
        extra=CELERY,
    )
    add("flower: unix socket missing dir", f, fl(unix_socket=NOSOCK), extra=CELERY)
    add("flower: basic_auth no colon", f, fl(**fb, basic_auth="adminnopassword"), extra=CELERY)
    add(
        "flower: basic_auth (valid, masked)",
        f,
        fl(**fb, basic_auth="admin:s3cret"),
        extra=CELERY,
        expect="start",
        leak_commands=True,
    )
    add(
        "flower: broker_api with password (valid, masked)",
        f,
        fl(**fb, broker_api="http://guest:s3cret@localhost:15672/api/"),
        extra=CELERY,
        expect="start",
        leak_commands=True,
    )
    add("flower: tls mismatched", f, fl(**fb, certfile=CERT, keyfile=OTHER_KEY), extra=CELERY)
    add("flower: max_tasks -1", f, fl(**fb, max_tasks=-1), extra=CELERY)
    add("flower: port 'x'", f, fl(address="127.0.0.1", port="x"), extra=CELERY)
    add("flower: no APP", f, raw({"BACKEND": f}), extra=CELERY)

    # ------------------------------------------------------------------------ celery worker/beat
    cw, cb = "celery-worker", "celery-beat"

    def cel(backend: str, app: str = "mysite.celery.app", **args: Any) -> Entry:
        inner = web(backend, **args)
        return lambda c: {**inner(c), "APP": app}

    add(
        "celery-worker: control",
        cw,
        cel(cw, pool="solo"),
        extra=CELERY,
        expect="start",
        server=False,
    )
    add("celery-worker: concurrency -1", cw, cel(cw, concurrency=-1), extra=CELERY, server=False)
    add(
        "celery-worker: concurrency 10**6",
        cw,
        cel(cw, concurrency=10**6),
        extra=CELERY,
        server=False,
    )
    add(
        "celery-worker: concurrency 'many'",
        cw,
        cel(cw, concurrency="many"),
        extra=CELERY,
        server=False,
    )
    add("celery-worker: loglevel bogus", cw, cel(cw, loglevel="LOUD"), extra=CELERY, server=False)
    add("celery-worker: detach", cw, cel(cw, detach=True), extra=CELERY, server=False)
    add(
        "celery-worker: logfile missing dir",
        cw,
        cel(cw, pool="solo", logfile=MISSING),
        extra=CELERY,
        server=False,
    )
    add(
        "celery-worker: pidfile missing dir",
        cw,
        cel(cw, pool="solo", pidfile=MISSING),
        extra=CELERY,
        server=False,
    )
    add(
        "celery-worker: APP missing module",
        cw,
        cel(cw, app="nosuch.celery.app"),
        extra=CELERY,
        server=False,
    )
    add(
        "celery-worker: APP not a Celery",
        cw,
        cel(cw, app="mysite.settings.DEBUG"),
        extra=CELERY,
        server=False,
    )
    add("celery-worker: abbreviation 'conc'", cw, cel(cw, conc=2), extra=CELERY, server=False)
    add(
        "celery-worker: broker URL with password",
        cw,
        cel(cw, pool="solo"),
        extra="CELERY_BROKER_URL = 'redis://user:s3cret@no-such-host.invalid:6379/0'\n",
        server=False,
        leak_commands=True,
    )
    add("celery-worker: NUL in queue", cw, cel(cw, queues="a\x00b"), extra=CELERY, server=False)
    add(
        "celery-beat: control",
        cb,
        cel(cb, schedule=lambda c: str(c.case_dir / "sched")),
        extra=CELERY,
        expect="start",
        server=False,
    )
    add(
        "celery-beat: schedule missing dir",
        cb,
        cel(cb, schedule=MISSING),
        extra=CELERY,
        server=False,
    )
    add("celery-beat: max-interval -1", cb, cel(cb, max__interval=-1), extra=CELERY, server=False)
    add("celery-beat: detach", cb, cel(cb, detach=True), extra=CELERY, server=False)
    add("celery-beat: pidfile NUL", cb, cel(cb, pidfile="/tmp/a\x00b"), extra=CELERY, server=False)

    # ------------------------------------------------------------------------ django-tasks / q2
    t, q = "django-tasks", "django-q2"
    add("django-tasks: control", t, web(t), extra=TASKS, expect="start", server=False)
    add("django-tasks: interval -1", t, web(t, interval=-1), extra=TASKS, server=False)
    add("django-tasks: interval 'soon'", t, web(t, interval="soon"), extra=TASKS, server=False)
    add("django-tasks: interval 10**20", t, web(t, interval=10**20), extra=TASKS, server=False)
    add("django-tasks: batch (print-and-exit)", t, web(t, batch=True), extra=TASKS, server=False)
    add("django-tasks: abbreviation 'inter'", t, web(t, inter=1), extra=TASKS, server=False)
    add("django-tasks: queue-name NUL", t, web(t, queue__name="a\x00b"), extra=TASKS, server=False)
    add("django-tasks: not installed app", t, web(t), server=False)
    add("django-q2: control", q, web(q), extra=Q2, expect="start", server=False)
    add("django-q2: abbreviation 'ru'", q, web(q, ru=True), extra=Q2, server=False)
    add("django-q2: run-once", q, web(q, run__once=True), extra=Q2, server=False)
    add("django-q2: unknown option", q, web(q, workers=2), extra=Q2, server=False)
    add(
        "django-q2: no Q_CLUSTER",
        q,
        web(q),
        extra="INSTALLED_APPS = [*INSTALLED_APPS, 'django_q']\n",
        server=False,
    )

    # ------------------------------------------------------------------------ dev servers
    for b in ("runserver", "runserver-plus", "daphne-runserver"):
        add(f"{b}: control", b, web(b, addrport=lambda c: f"127.0.0.1:{c.port}"), expect="start")
        add(f"{b}: busy port", b, web(b, addrport=lambda c: f"127.0.0.1:{c.port}"), busy=True)
        add(f"{b}: addrport 70000", b, web(b, addrport="127.0.0.1:70000"))
        add(f"{b}: addrport NUL", b, web(b, addrport="127.0.0.1\x00:8000"))
        add(f"{b}: addrport unresolvable", b, web(b, addrport="no-such-host.invalid:8000"))
        add(
            f"{b}: abbreviation 'nor'",
            b,
            web(b, addrport=lambda c: f"127.0.0.1:{c.port}", nor=True),
        )
    add(
        "runserver-plus: cert missing",
        "runserver-plus",
        web("runserver-plus", addrport=lambda c: f"127.0.0.1:{c.port}", cert__file=MISSING),
    )

    # ------------------------------------------------------------------------ application faults
    for b, extra_args in (
        ("granian-wsgi", {"host": "127.0.0.1", "port": PORT}),
        ("gunicorn", gb),
        ("uvicorn", {"host": "127.0.0.1", "port": PORT}),
        ("waitress", {"host": "127.0.0.1", "port": PORT}),
        ("hypercorn", hb),
        ("daphne", db),
        ("granian-asgi", {"host": "127.0.0.1", "port": PORT}),
    ):
        asgi = b in ("uvicorn", "hypercorn", "daphne", "granian-asgi")
        mod = "asgi" if asgi else "wsgi"
        setting = "ASGI_APPLICATION" if asgi else "WSGI_APPLICATION"
        for fault, module in (
            ("app sys.exit(0) on import", "exit0"),
            ("app not callable", "notcallable"),
            ("app raises on import", "raises"),
            ("app module missing", f"nosuch_{mod}"),
        ):
            extra = f"{setting} = 'mysite.{module}.application'\n"
            add(f"{b}: {fault}", b, web(b, **extra_args), extra=extra)
    for b in ("granian-asgi", "uvicorn", "hypercorn"):
        args = {"host": "127.0.0.1", "port": PORT} if b != "hypercorn" else hb
        add(
            f"{b}: ASGI_APPLICATION is WSGI handler",
            b,
            web(b, **args),
            extra="ASGI_APPLICATION = 'mysite.wsgi.application'\n",
        )

    # ------------------------------------------------------------------------ shapes, backends, CLI
    add(
        "abstract BaseServerBackend",
        "base",
        raw({"BACKEND": "django_prodserver.backends.base.BaseServerBackend"}),
        server=False,
    )
    add(
        "abstract celery base",
        "base",
        raw(
            {"BACKEND": "django_prodserver.backends.celery.CeleryBase", "APP": "mysite.celery.app"}
        ),
        extra=CELERY,
        server=False,
    )
    add(
        "abstract management-command base",
        "base",
        raw({"BACKEND": "django_prodserver.backends._management_command.ManagementCommandBackend"}),
        server=False,
    )
    add(
        "abstract command-line base",
        "base",
        raw({"BACKEND": "django_prodserver.backends.command_line.CommandLineBackend"}),
        server=False,
    )
    add(
        "BACKEND sys.exit(0) on import",
        "base",
        raw({"BACKEND": "mysite.exit0.Backend"}),
        server=False,
    )
    add("BACKEND not a class", "base", raw({"BACKEND": "mysite.settings.DEBUG"}), server=False)
    add("BACKEND NUL", "base", raw({"BACKEND": "gunicorn\x00"}), server=False)
    add("BACKEND 42", "base", raw({"BACKEND": 42}), server=False)
    add("ARGS 42", "base", raw({"BACKEND": "gunicorn", "ARGS": 42}), server=False)
    add("ARGS key 1", "base", raw({"BACKEND": "gunicorn", "ARGS": {1: 2}}), server=False)
    add(
        "ARGS value object",
        "base",
        raw({"BACKEND": "gunicorn", "ARGS": {"workers": {"two": 2}}}),
        server=False,
    )
    add(
        "ARGS list with NUL",
        "base",
        raw({"BACKEND": "gunicorn", "ARGS": ["--bind", "127.0.0.1\x00:1"]}),
        server=False,
    )
    add("gunicorn: --json on start", g, web(g, **gb), argv=("--json",))
    add("gunicorn: --set workers=abc", g, web(g, **gb), argv=("--set", "workers=abc"))
    add(
        "gunicorn: DB URL with password in error",
        g,
        web(g, bind="postgres://u:s3cret@h/db"),
        leak_commands=True,
    )
    return out


# ---------------------------------------------------------------------------- project


def make_project(root: Path) -> Path:
    root.mkdir(parents=True)
    subprocess.run(
        [sys.executable, "-m", "django", "startproject", "mysite", str(root)], check=True
    )
    settings = root / "mysite" / "settings.py"
    settings.write_text(
        settings.read_text().replace(
            "'django.contrib.staticfiles',",
            "'django.contrib.staticfiles',\n    'django_prodserver',",
        )
        + "\nALLOWED_HOSTS = ['*']\n"
    )
    pkg = root / "mysite"
    (pkg / "celery.py").write_text(TRAILER_CELERY)
    (pkg / "exit0.py").write_text("import sys\nsys.exit(0)\n")
    (pkg / "notcallable.py").write_text("application = 42\n")
    (pkg / "raises.py").write_text("raise RuntimeError('boom while importing')\n")
    (root / "hostile_migrate.py").write_text(
        "from mysite.settings import *  # noqa\n"
        + TASKS
        + Q2.replace(
            "INSTALLED_APPS = [*INSTALLED_APPS, 'django_q']", "INSTALLED_APPS += ['django_q']"
        )
    )
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "-v0", "--settings=hostile_migrate"],
        cwd=root,
        check=True,
    )
    return root


def make_tls(directory: Path) -> dict[str, str]:
    import trustme
    from cryptography.hazmat.primitives import serialization

    ca = trustme.CA()
    leaf = ca.issue_cert("127.0.0.1", "localhost")
    other = ca.issue_cert("localhost")
    files = {
        "cert": leaf.cert_chain_pems[0].bytes(),
        "key": leaf.private_key_pem.bytes(),
        "other_key": other.private_key_pem.bytes(),
        "junk": b"-----BEGIN CERTIFICATE-----\nnot base64 at all\n-----END CERTIFICATE-----\n",
        "bad_log": b"[loggers\nkeys=root\n%%%\n",
    }
    key = serialization.load_pem_private_key(files["key"], password=None)
    files["enc_key"] = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(b"pa55word"),
    )
    paths = {}
    for name, data in files.items():
        path = directory / f"{name}.pem"
        path.write_bytes(data)
        paths[name] = str(path)
    return paths


def settings_module(ctx: Ctx, case: Case, index: int) -> str:
    module = f"hostile_case_{index}"
    extra = case.extra(ctx) if callable(case.extra) else case.extra
    (ctx.project / f"{module}.py").write_text(
        "from mysite.settings import *  # noqa\n"
        f"{extra}\nPRODUCTION_PROCESSES = {{'web': {case.entry(ctx)!r}}}\n"
    )
    return module


# ---------------------------------------------------------------------------- running


def serves(port: int) -> bool:
    for scheme in ("http", "https"):
        try:
            import ssl

            context = ssl._create_unverified_context()
            with urllib.request.urlopen(
                f"{scheme}://127.0.0.1:{port}/", timeout=2, context=context
            ):
                return True
        except urllib.error.HTTPError:
            return True  # answered, even 4xx/5xx
        except Exception:
            continue
    return False


def kill(process: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(5)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(5)


def run_one(ctx: Ctx, case: Case, module: str, mode: str) -> dict[str, Any]:
    env = {**os.environ, "PYTHONUNBUFFERED": "1", **case.env}
    env.pop("DJANGO_SETTINGS_MODULE", None)
    argv = [sys.executable, "manage.py", "prodserver", "web", f"--settings={module}", *case.argv]
    if mode == "dry-run":
        argv.append("--dry-run")
    holder = None
    if case.busy:
        holder = socket.socket()
        holder.bind(("127.0.0.1", ctx.port))
        holder.listen(1)
    log = ctx.case_dir / f"{mode}.log"
    started_at = time.monotonic()
    state = "exited"
    answered = False
    try:
        with log.open("wb") as out:
            process = subprocess.Popen(
                argv,
                cwd=ctx.project,
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        while True:
            if process.poll() is not None:
                break
            elapsed = time.monotonic() - started_at
            if case.server and not case.busy and serves(ctx.port):
                answered = True
                state = "served"
                break
            if not case.server and elapsed > WORKER_RUNNING:
                state = "running"
                break
            if elapsed > START_LIMIT:
                state = "timeout"
                break
            time.sleep(0.3)
        if state != "exited":
            kill(process)
    finally:
        if holder:
            holder.close()
    output = log.read_bytes().decode(errors="replace")
    rc = process.returncode if state == "exited" else None
    extra_out = ""
    if case.leak_commands and mode == "dry-run":
        for more in (["prodserver", "--list"], ["prodserver", "--list", "--json"], ["check"]):
            done = subprocess.run(
                [sys.executable, "manage.py", *more, f"--settings={module}"],
                cwd=ctx.project,
                env=env,
                capture_output=True,
                timeout=60,
                check=False,
            )
            extra_out += (done.stdout + done.stderr).decode(errors="replace")
    return {
        "case": case.name,
        "backend": case.backend,
        "mode": mode,
        "expect": case.expect,
        "state": state,
        "rc": rc,
        "answered": answered,
        "output": output,
        "extra_output": extra_out,
        "start_only": case.start_only,
        "verdict": classify(case.expect, case.start_only, mode, state, rc, output, extra_out),
    }


# Lines the command prints before it starts, whatever follows.
IGNORED_LINES = ("Starting process 'web' with backend",)


def classify(  # noqa: PLR0917 - also called on the fields of a --json file
    expect: str, start_only: bool, mode: str, state: str, rc: int | None, output: str, extra: str
) -> str:
    if any(s in output + extra for s in SECRETS):
        return "leaked"
    if "Traceback (most recent call last)" in output:
        return "traceback"
    lines = [
        line for line in output.splitlines() if line.strip() and not line.startswith(IGNORED_LINES)
    ]
    if expect == "start":
        if mode == "dry-run":
            return "ok" if rc == 0 else "broken-control"
        return "ok" if state in ("served", "running") else "broken-control"
    if state in ("served", "running"):
        return "silent"
    if state == "timeout":
        return "hang"
    if rc == 0:
        return "dry-run-start-only" if mode == "dry-run" and start_only else "silent"
    if len(lines) == 1 and "'web'" in lines[0]:  # one line that names the process
        return "good"
    return "unclear"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument(
        "--only", action="append", default=[], help="cases whose name holds this (repeatable)"
    )
    parser.add_argument("--mode", choices=("dry-run", "start", "both"), default="both")
    parser.add_argument("--json", dest="json_out")
    parser.add_argument("--workdir")
    parser.add_argument("--reclassify", help="a --json file of an earlier run: report it again")
    options = parser.parse_args()
    if options.reclassify:
        results = json.loads(Path(options.reclassify).read_text())
        for r in results:
            r["verdict"] = classify(
                r["expect"],
                r.get("start_only", False),
                r["mode"],
                r["state"],
                r["rc"],
                r["output"],
                r.get("extra_output", SECRETS[0] if r["verdict"] == "leaked" else ""),
            )
        return report(results, options.only)
    root = Path(options.workdir or tempfile.mkdtemp(prefix="hostile-"))
    project = make_project(root / "project")
    tls_dir = root / "tls"
    tls_dir.mkdir()
    tls = make_tls(tls_dir)
    tls["bad_log"] = str(tls_dir / "bad_log.pem")
    selected = [c for c in cases() if selected_case(c.name, options.only)]
    modes = ("dry-run", "start") if options.mode == "both" else (options.mode,)

    def job(item: tuple[int, Case]) -> list[dict[str, Any]]:
        index, case = item
        case_dir = root / "cases" / str(index)
        case_dir.mkdir(parents=True)
        ctx = Ctx(project, free_port(), tls, case_dir)
        module = settings_module(ctx, case, index)
        results = []
        for mode in modes:
            try:
                result = run_one(ctx, case, module, mode)
            except Exception as e:  # a case this script cannot run: say so, go on
                result = {
                    "case": case.name,
                    "backend": case.backend,
                    "mode": mode,
                    "expect": case.expect,
                    "state": "error",
                    "rc": None,
                    "output": repr(e),
                    "verdict": "script-error",
                }
            (case_dir / f"{mode}.json").write_text(json.dumps(result))
            results.append(result)
        return results

    results: list[dict[str, Any]] = []
    with ThreadPoolExecutor(options.jobs) as pool:
        for batch in pool.map(job, enumerate(selected)):
            results.extend(batch)
    if options.json_out:
        Path(options.json_out).write_text(json.dumps(results, indent=1))
    print(f"{len(selected)} cases, {len(results)} runs; work folder {root}")
    return report(results, [])


def selected_case(name: str, only: list[str]) -> bool:
    return not only or any(part in name for part in only)


def report(results: list[dict[str, Any]], only: list[str]) -> int:
    results = [r for r in results if selected_case(r["case"], only)]
    for r in results:
        if r["verdict"] not in ("good", "ok", "dry-run-start-only"):
            last = "\n      ".join(r["output"].strip().splitlines()[-6:])
            print(f"{r['verdict']:10} {r['mode']:8} {r['case']!r}\n      {last}")
    print()
    by = Counter((r["mode"], r["verdict"]) for r in results)
    for key, count in sorted(by.items()):
        print(f"{key[0]:8} {key[1]:15} {count}")
    per_backend = Counter((r["backend"], r["verdict"]) for r in results)
    print()
    for key, count in sorted(per_backend.items()):
        print(f"{key[0]:18} {key[1]:15} {count}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
