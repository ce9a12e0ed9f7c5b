"""``manage.py ARGS... --dry-run``, then ``manage.py check``, in one process; prints both as JSON.

The bad-input table runs this once per row beside the real start: one interpreter and one Django
set-up for the two commands instead of two. Each command goes through Django's own
``execute_from_command_line``, as ``manage.py`` does, so a ``CommandError`` is printed and turned
into an exit status by Django, and an exception nothing catches is printed as a traceback.

    (in the project folder) python dry_run_then_check.py ARGS... [--check] --settings=S ...
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import sys
import traceback
from typing import Any


def run(argv: list[str]) -> dict[str, Any]:
    from django.core.management import execute_from_command_line

    stdout, stderr = io.StringIO(), io.StringIO()
    status = 0
    with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
        try:
            execute_from_command_line(["manage.py", *argv])
        except SystemExit as e:
            status = e.code if isinstance(e.code, int) else 1
        except BaseException:  # what the interpreter would print, and its exit status
            traceback.print_exc()
            status = 1
    return {"returncode": status, "stdout": stdout.getvalue(), "stderr": stderr.getvalue()}


def main() -> None:
    sys.path.insert(0, os.getcwd())  # the project, as for manage.py run from its folder
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "testsite.settings")
    argv = sys.argv[1:]
    check = "--check" in argv
    if check:
        argv.remove("--check")
    django_options = [arg for arg in argv if arg.startswith(("--settings=", "--pythonpath="))]
    results = {"dry_run": run([*argv, "--dry-run"])}
    if check:
        results["check"] = run(["check", *django_options])
    sys.__stdout__.write(json.dumps(results))


if __name__ == "__main__":
    main()
