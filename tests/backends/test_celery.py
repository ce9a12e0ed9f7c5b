"""The Celery worker and beat backends: APP, ARGS, their checks and how Celery is started.

Celery really runs in tests/integration/test_workers.py; here ``start_server`` is observed at
the point where it hands its arguments to Celery's command line.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from typing import Any

import click
import pytest
from celery import Celery
from celery.bin.beat import beat as beat_command
from celery.bin.celery import celery as celery_command
from celery.bin.worker import worker as worker_command

from django_prodserver.backends.base import BaseServerBackend, BaseWorkerBackend
from django_prodserver.backends.celery import CeleryBeat, CeleryWorker
from django_prodserver.exceptions import InvalidBackendArgs
from testsite.celery_app import app as testsite_app

from ..not_installed import hide_packages

APP = "testsite.celery_app.app"
NO_APP = object()
# celery 5.7 added beat's --enable-remote-control/--no-enable-remote-control; celery 5.6 (on
# Python 3.9) has neither, nor any other --no- form of a worker or beat option.
BEAT_HAS_NO_ENABLE_REMOTE_CONTROL = any(
    "--no-enable-remote-control" in param.secondary_opts
    for param in beat_command.params
    if isinstance(param, click.Option)
)


def _concurrency_takes_auto() -> bool:
    """celery 5.7 added --concurrency=auto; celery 5.6 (on Python 3.9) takes an integer only."""
    (concurrency,) = (param for param in worker_command.params if param.name == "concurrency")
    try:
        concurrency.type.convert("auto", concurrency, None)
    except click.BadParameter:
        return False
    return True


CONCURRENCY_TAKES_AUTO = _concurrency_takes_auto()


def worker(args: Any = None, app: Any = APP, cls: type[Any] = CeleryWorker) -> Any:
    alias = "celery-beat" if cls is CeleryBeat else "celery-worker"
    entry: dict[str, Any] = {"BACKEND": alias}
    if app is not NO_APP:
        entry["APP"] = app
    if args is not None:
        entry["ARGS"] = args
    return cls(alias=alias, process_name="worker", **entry)


def beat(args: Any = None, app: Any = APP) -> Any:
    return worker(args, app, cls=CeleryBeat)


def checked_argv(backend: Any) -> list[str]:
    """What ``prodserver`` would start the backend with, after the same checks."""
    argv: list[str] = backend.prep_server_args()
    backend.check_args(argv)
    return argv


def error_of(backend: Any) -> str:
    with pytest.raises(InvalidBackendArgs) as caught:
        checked_argv(backend)
    return caught.value.message


# Pools that need a package of their own


@pytest.mark.parametrize(
    ("args", "option"),
    [({"pool": "gevent"}, "pool"), (["-P", "eventlet"], "-P"), (["--pool=gevent"], "--pool")],
)
def test_a_pool_whose_package_is_missing(
    monkeypatch: pytest.MonkeyPatch, args: Any, option: str
) -> None:
    hide_packages(monkeypatch, ["gevent", "eventlet", "greenlet"])
    pool = "eventlet" if "eventlet" in args else "gevent"
    assert error_of(worker(args)) == (
        f"Process 'worker': invalid value {pool!r} for celery worker option {option!r} in ARGS: "
        f"it needs the {pool!r} package, which is not installed. Install it with: "
        f"pip install {pool}."
    )


def test_a_pool_that_needs_no_package_is_not_looked_up() -> None:
    assert checked_argv(worker({"pool": "solo"})) == ["--pool=solo"]


# What the backends are


@pytest.mark.parametrize("cls", [CeleryWorker, CeleryBeat])
def test_both_are_workers_reading_app(cls: type[Any]) -> None:
    assert issubclass(cls, BaseWorkerBackend)
    assert not issubclass(cls, BaseServerBackend)
    assert cls.kind == "worker"
    assert cls.settings_keys == frozenset({"APP"})
    assert cls.program == "celery"


def test_subcommands() -> None:
    assert CeleryWorker.subcommand == "worker"
    assert CeleryBeat.subcommand == "beat"


# ARGS to argv


def test_dict_args_become_celery_options() -> None:
    argv = checked_argv(worker({"concurrency": 2, "loglevel": "INFO", "max_tasks_per_child": 10}))

    assert argv == ["--concurrency=2", "--loglevel=INFO", "--max-tasks-per-child=10"]


def test_true_and_none_give_bare_flags_and_false_omits_a_flag_without_negation() -> None:
    argv = checked_argv(worker({"without_gossip": True, "purge": None, "without_mingle": False}))

    assert argv == ["--without-gossip", "--purge"]


def test_false_gives_the_negated_flag_where_celery_has_one() -> None:
    app = Celery("with_switch")
    app.user_options["worker"].add(click.Option(["--greeting/--no-greeting"], default=True))
    backend = worker({"greeting": False})
    backend._app = app

    assert checked_argv(backend) == ["--no-greeting"]


def test_beat_remote_control_false_follows_the_installed_celery() -> None:
    if BEAT_HAS_NO_ENABLE_REMOTE_CONTROL:
        assert checked_argv(beat({"enable_remote_control": False})) == [
            "--no-enable-remote-control"
        ]
    else:  # celery < 5.7: beat has no such option, so the key is not silently dropped
        with pytest.raises(InvalidBackendArgs) as caught:
            checked_argv(beat({"enable_remote_control": False}))
        assert caught.value.message == (
            "Process 'worker': unknown celery beat option 'enable_remote_control' in ARGS. "
            "See 'celery beat --help' for the options it accepts."
        )


def test_a_list_of_queues_is_one_comma_separated_option() -> None:
    # -Q keeps only the last of repeated options: both queues must be in one value.
    argv = checked_argv(worker({"queues": ["a", "b"], "exclude_queues": ("c", "d")}))

    assert argv == ["--queues=a,b", "--exclude-queues=c,d"]


def test_the_joined_queues_parse_as_both_queues() -> None:
    context = worker_command_context(worker({"queues": ["a", "b"]}))

    assert context.params["queues"] == ["a", "b"]


def worker_command_context(backend: Any) -> click.Context:
    from celery.bin.base import CLIContext
    from celery.bin.worker import worker as worker_command

    obj = CLIContext(app=testsite_app, no_color=True, workdir=None)
    context: click.Context = worker_command.make_context(
        "worker", backend.prep_server_args(), obj=obj
    )
    return context


def test_a_one_item_list_is_accepted_for_a_single_valued_option() -> None:
    assert checked_argv(worker({"concurrency": [3]})) == ["--concurrency=3"]


def test_a_longer_list_for_a_single_valued_option_is_refused() -> None:
    assert error_of(worker({"concurrency": [1, 2]})) == (
        "Process 'worker': invalid value [1, 2] for celery worker option 'concurrency' in "
        "ARGS: it takes one value, and repeating it would keep only the last."
    )


def test_a_string_is_one_argument_and_a_list_is_used_as_written() -> None:
    assert checked_argv(worker("--concurrency=2")) == ["--concurrency=2"]
    assert checked_argv(worker(["-c", "2", "-Q", "a,b", "-O", "fair"])) == [
        "-c",
        "2",
        "-Q",
        "a,b",
        "-O",
        "fair",
    ]


def test_no_args_give_no_arguments() -> None:
    assert checked_argv(worker()) == []


def test_a_list_for_an_unknown_key_is_left_for_the_check_to_report() -> None:
    assert error_of(worker({"queuez": ["a", "b"]})) == (
        "Process 'worker': unknown celery worker option 'queuez' in ARGS. Did you mean 'queues'?"
    )


def test_the_application_s_own_options_are_known() -> None:
    app = Celery("with_options")
    app.user_options["worker"].add(click.Option(["--greeting"]))
    backend = worker({"greeting": "hi"})
    backend._app = app

    assert checked_argv(backend) == ["--greeting=hi"]


def test_the_application_s_positional_arguments_are_not_options() -> None:
    app = Celery("with_argument")
    app.user_options["worker"].add(click.Argument(["target"], required=False))
    backend = worker({"target": "x"})
    backend._app = app

    assert error_of(backend) == (
        "Process 'worker': unknown celery worker option 'target' in ARGS. Did you mean 'purge'?"
    )


# check_args


def test_an_unknown_option_is_named_with_a_suggestion() -> None:
    assert error_of(worker({"concurency": 2})) == (
        "Process 'worker': unknown celery worker option 'concurency' in ARGS. "
        "Did you mean 'concurrency'?"
    )


def test_an_unknown_flag_is_named_as_written() -> None:
    assert error_of(worker(["--concurency=2"])) == (
        "Process 'worker': unknown celery worker option '--concurency' in ARGS. "
        "Did you mean '--concurrency'?"
    )


def test_an_unknown_option_without_a_close_match_points_to_the_help() -> None:
    assert error_of(beat({"zzz": 1})) == (
        "Process 'worker': unknown celery beat option 'zzz' in ARGS. "
        "See 'celery beat --help' for the options it accepts."
    )


def test_a_bad_value_is_named_with_what_celery_accepts() -> None:
    if CONCURRENCY_TAKES_AUTO:
        reason = "must be a non-negative integer or 'auto', got 'abc'."
    else:  # celery < 5.7
        reason = "'abc' is not a valid integer."
    assert error_of(worker({"concurrency": "abc"})) == (
        "Process 'worker': invalid value 'abc' for celery worker option 'concurrency' in ARGS: "
        + reason
    )


def test_a_bad_choice_lists_the_choices() -> None:
    assert error_of(worker(["--loglevel=LOUD"])) == (
        "Process 'worker': invalid value 'LOUD' for celery worker option '--loglevel' in ARGS: "
        "'LOUD' is not one of 'DEBUG', 'INFO', 'WARNING', 'ERROR', 'CRITICAL', 'FATAL'."
    )


def test_a_short_flag_with_its_value_attached_is_traced() -> None:
    assert error_of(worker(["-Ox"])) == (
        "Process 'worker': invalid use of celery worker option '-Ox' in ARGS: "
        "'x' is not one of 'default', 'fair'."
    )


def test_a_value_given_to_a_flag_is_refused() -> None:
    assert error_of(worker({"purge": "yes"})) == (
        "Process 'worker': invalid value 'yes' for celery worker option 'purge' in ARGS: "
        "Option '--purge' does not take a value."
    )


def test_a_missing_value_is_refused() -> None:
    assert error_of(worker(["--concurrency"])) == (
        "Process 'worker': invalid use of celery worker option '--concurrency' in ARGS: "
        "Option '--concurrency' requires an argument."
    )


def test_a_bad_value_for_beat() -> None:
    assert error_of(beat({"max_interval": "x"})) == (
        "Process 'worker': invalid value 'x' for celery beat option 'max_interval' in ARGS: "
        "'x' is not a valid integer."
    )


def test_an_error_that_names_no_option_of_args_says_celery_cannot_start() -> None:
    backend = worker()
    backend._app = testsite_app
    error = click.BadParameter("is wrong.", param=click.Option(["--hidden"]))

    assert backend.args_errors([]).from_click(error).message == (
        "Process 'worker': celery worker cannot start: invalid value for celery worker option "
        "'--hidden': is wrong."
    )


def test_a_usage_error_that_names_no_option_rejects_args() -> None:
    backend = worker()
    backend._app = testsite_app
    error = click.UsageError("Got unexpected extra argument.")

    assert backend.args_errors([]).from_click(error).message == (
        "Process 'worker': celery worker rejects ARGS: Got unexpected extra argument."
    )


def test_the_app_option_points_to_app() -> None:
    assert error_of(worker({"app": "proj"})) == (
        "Process 'worker': celery worker option 'app' cannot be set in ARGS: the application "
        "comes from the APP setting."
    )


def test_a_global_celery_option_points_to_the_configuration() -> None:
    assert error_of(worker({"broker": "redis://"})) == (
        "Process 'worker': unknown celery worker option 'broker' in ARGS. It is an option of "
        "the celery command, not of celery worker: set it in your Celery application's "
        "configuration instead."
    )


@pytest.mark.parametrize(("args", "name"), [({"detach": True}, "detach"), (["-D"], "-D")])
def test_detach_is_refused(args: Any, name: str) -> None:
    assert error_of(worker(args)) == (
        f"Process 'worker': celery worker option {name!r} cannot be set in ARGS: prodserver "
        f"runs celery worker in the foreground, where a process manager can supervise it and "
        f"stop it."
    )


@pytest.mark.parametrize(
    ("cls", "key", "flag"),
    [
        (CeleryWorker, "logfile", "logfile"),
        (CeleryWorker, "pidfile", "pidfile"),
        (CeleryBeat, "schedule", "schedule"),
        (CeleryBeat, ["-f"], "-f"),
    ],
)
def test_a_file_in_a_missing_directory_is_named(
    cls: type[Any], key: Any, flag: str, tmp_path: Path
) -> None:
    def args(path: Path) -> Any:
        return [*key, str(path)] if isinstance(key, list) else {key: str(path)}

    path = tmp_path / "missing" / "file"
    assert error_of(worker(args(path), cls=cls)) == (
        f"Process 'worker': invalid value {str(path)!r} for celery {cls.subcommand} option "
        f"{flag!r} in ARGS: the directory {str(path.parent)!r} does not exist. Create it, or "
        "choose a path in an existing directory."
    )
    # A name Celery fills in per node ('%n') is left to it; an existing directory passes.
    assert checked_argv(worker(args(tmp_path / "missing" / "%n.log"), cls=cls))
    assert checked_argv(worker(args(tmp_path / "file"), cls=cls))


def test_help_is_refused_without_printing(capsys: pytest.CaptureFixture[str]) -> None:
    assert error_of(worker({"help": True})) == (
        "Process 'worker': celery worker option 'help' cannot be set in ARGS: it makes celery "
        "worker print and exit instead of starting the worker."
    )
    assert capsys.readouterr() == ("", "")


# Secret values


def secret_option_worker(args: Any) -> Any:
    app = Celery("with_secret")
    app.user_options["worker"].add(click.Option(["--api-token"], type=int))
    backend = worker(args)
    backend._app = app
    return backend


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            {"api_token": "hunter2"},
            "invalid value '***' for celery worker option 'api_token' in ARGS: "
            "'***' is not a valid integer.",
        ),
        # Written as a flag: the value is the next item.
        (
            ["--api-token", "hunter2"],
            "invalid value '***' for celery worker option '--api-token' in ARGS: "
            "'***' is not a valid integer.",
        ),
        (
            {"api_token": ["hunter2", "hunter3"]},
            "invalid value '***' for celery worker option 'api_token' in ARGS: "
            "it takes one value, and repeating it would keep only the last.",
        ),
        (
            {"api_token": ""},
            "invalid value '***' for celery worker option 'api_token' in ARGS: "
            "'' is not a valid integer.",
        ),
        (
            ["--api-token hunter2"],
            "the argument '--api-token ***' in ARGS contains a space, but each item of ARGS is "
            "passed as one argument. Write it as separate items, ['--api-token', '***'], or as "
            "a dict.",
        ),
    ],
)
def test_a_secret_value_is_never_shown(args: Any, message: str) -> None:
    assert error_of(secret_option_worker(args)) == f"Process 'worker': {message}"


def test_an_option_written_with_its_value_in_one_string_is_refused() -> None:
    assert error_of(worker("--concurrency 2")) == (
        "Process 'worker': the argument '--concurrency 2' in ARGS contains a space, but each "
        "item of ARGS is passed as one argument. Write it as separate items, "
        "['--concurrency', '2'], or as a dict."
    )


def test_a_failure_inside_celery_s_parsing_is_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    # eventlet passes for installed, but Celery's eventlet pool imports greenlet, which is not.
    hide_packages(monkeypatch, ["greenlet"])
    real_find_spec = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util,
        "find_spec",
        lambda name, *args: object() if name == "eventlet" else real_find_spec(name, *args),
    )
    message = error_of(worker({"pool": "eventlet"}))

    assert message.startswith(
        "Process 'worker': celery worker rejects ARGS: ModuleNotFoundError: No module named "
    )
    assert "\n" not in message


def test_check_args_starts_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(celery_command, "main", pytest.fail)

    checked_argv(worker({"concurrency": 1}))


# APP


@pytest.mark.parametrize("app", [NO_APP, None, ""])
def test_a_missing_app_says_what_to_set(app: Any) -> None:
    assert error_of(worker(app=app)) == (
        "Process 'worker': backend 'celery-worker' needs 'APP', the dotted path to your Celery "
        "application, such as 'proj.celery.app'."
    )


def test_a_missing_app_names_beat_for_beat() -> None:
    assert error_of(beat(app=NO_APP)) == (
        "Process 'worker': backend 'celery-beat' needs 'APP', the dotted path to your Celery "
        "application, such as 'proj.celery.app'."
    )


def test_app_must_be_a_string() -> None:
    assert error_of(worker(app=3)) == (
        "Process 'worker': 'APP' must be the dotted path to your Celery application, such as "
        "'proj.celery.app', not a value of type int."
    )


@pytest.mark.parametrize("app", ["celeryapp", "module:", ".app"])
def test_app_must_be_a_dotted_path(app: str) -> None:
    assert error_of(worker(app=app)) == (
        f"Process 'worker': APP {app!r} is not a dotted path to a Celery application, such as "
        f"'proj.celery.app' or 'proj.celery:app'."
    )


@pytest.mark.parametrize("app", ["testsite.celery_app.app", "testsite.celery_app:app"])
def test_app_in_either_form_is_the_application(app: str) -> None:
    assert worker(app=app).celery_app() is testsite_app


def test_a_missing_module_is_named() -> None:
    assert error_of(worker(app="nope.celery.app")) == (
        "Process 'worker': APP 'nope.celery.app': there is no module named 'nope'."
    )


@pytest.fixture
def modules(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A folder on sys.path for modules written by the test."""
    monkeypatch.syspath_prepend(str(tmp_path))
    for name in ("broken_app", "needs_missing", "other_app"):
        monkeypatch.delitem(sys.modules, name, raising=False)
    return tmp_path


def test_a_module_that_fails_to_import_is_one_line(modules: Path) -> None:
    (modules / "broken_app.py").write_text("raise RuntimeError('boom\\nsecond line')\n")

    assert error_of(worker(app="broken_app.app")) == (
        "Process 'worker': APP 'broken_app.app' could not be imported: RuntimeError: boom "
        "second line"
    )


def test_a_module_that_exits_failed_to_import(modules: Path) -> None:
    (modules / "exiting_app.py").write_text("import sys\nsys.exit(0)\n")

    assert error_of(worker(app="exiting_app.app")) == (
        "Process 'worker': APP 'exiting_app.app' could not be imported: SystemExit: 0"
    )
    sys.modules.pop("exiting_app", None)


def test_a_stop_while_the_application_imports_stays_a_stop(modules: Path) -> None:
    (modules / "stopped_app.py").write_text("raise KeyboardInterrupt\n")

    with pytest.raises(KeyboardInterrupt):
        checked_argv(worker(app="stopped_app.app"))


def test_a_module_missing_a_dependency_names_the_dependency(modules: Path) -> None:
    (modules / "needs_missing.py").write_text("import not_installed_dependency\n")

    assert error_of(worker(app="needs_missing:app")) == (
        "Process 'worker': APP 'needs_missing:app' could not be imported: ModuleNotFoundError: "
        "No module named 'not_installed_dependency'"
    )


def test_an_attribute_that_is_not_an_application_suggests_one(modules: Path) -> None:
    (modules / "other_app.py").write_text(
        "from celery import Celery\nworker_app = Celery('other')\napp = 3\n"
    )

    assert error_of(worker(app="other_app.app")) == (
        "Process 'worker': APP 'other_app.app' is not a Celery application: 'app' in module "
        "'other_app' is of type int. Did you mean 'other_app.worker_app'?"
    )


def test_a_missing_attribute_suggests_the_application() -> None:
    assert error_of(worker(app="testsite.celery_app.missing")) == (
        "Process 'worker': APP 'testsite.celery_app.missing' is not a Celery application: "
        "module 'testsite.celery_app' has no attribute 'missing'. Did you mean "
        "'testsite.celery_app.app'?"
    )


def test_a_missing_attribute_without_an_application_in_the_module() -> None:
    assert error_of(worker(app="testsite.tasks.app")) == (
        "Process 'worker': APP 'testsite.tasks.app' is not a Celery application: module "
        "'testsite.tasks' has no attribute 'app'."
    )


def test_the_dotted_path_of_a_backend_names_it_in_the_error() -> None:
    backend = CeleryWorker(
        alias=None, process_name="worker", BACKEND="django_prodserver.backends.celery.CeleryWorker"
    )

    assert error_of(backend) == (
        "Process 'worker': backend 'django_prodserver.backends.celery.CeleryWorker' needs "
        "'APP', the dotted path to your Celery application, such as 'proj.celery.app'."
    )


# Starting


class CeleryMain:
    """Stands in for Celery's command line, recording the arguments it was given."""

    def __init__(self, result: Any = None, error: Exception | None = None) -> None:
        self.result = result
        self.error = error
        self.calls: list[dict[str, Any]] = []

    def __call__(self, **kwargs: Any) -> Any:
        self.calls.append(kwargs)
        if self.error is not None:
            raise self.error
        return self.result


def started_with(
    monkeypatch: pytest.MonkeyPatch, backend: Any, main: CeleryMain | None = None
) -> CeleryMain:
    main = main or CeleryMain()
    monkeypatch.setattr(celery_command, "main", main)
    # Celery must never read the process's own command line, which holds manage.py's.
    monkeypatch.setattr(sys, "argv", ["manage.py", "prodserver", "worker", "--settings=x"])
    backend.start_server(*checked_argv(backend))
    return main


def test_start_runs_celery_with_our_arguments_only(monkeypatch: pytest.MonkeyPatch) -> None:
    main = started_with(
        monkeypatch, worker({"concurrency": 2, "queues": ["a", "b"]}), CeleryMain(0)
    )

    assert main.calls == [
        {
            "args": [
                "--app=testsite.celery_app.app",
                "--skip-checks",
                "worker",
                "--concurrency=2",
                "--queues=a,b",
            ],
            "prog_name": "celery",
            "standalone_mode": False,
        }
    ]


def test_start_beat(monkeypatch: pytest.MonkeyPatch) -> None:
    main = started_with(monkeypatch, beat({"schedule": "/tmp/s"}, app="testsite.celery_app:app"))

    assert main.calls[0]["args"] == [
        "--app=testsite.celery_app:app",
        "--skip-checks",
        "beat",
        "--schedule=/tmp/s",
    ]


def test_a_failing_worker_s_status_becomes_the_exit_status(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with pytest.raises(SystemExit) as caught:
        started_with(monkeypatch, worker(), CeleryMain(result=1))

    assert caught.value.code == 1


def test_a_celery_usage_error_at_start_is_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    failing = CeleryMain(error=click.UsageError("Unable to parse extra configuration.\nReason: x"))

    with pytest.raises(InvalidBackendArgs) as caught:
        started_with(monkeypatch, worker(), failing)

    assert caught.value.message == (
        "Process 'worker': celery worker did not start: Unable to parse extra configuration. "
        "Reason: x"
    )


def test_start_without_app_fails_before_celery_runs(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(celery_command, "main", pytest.fail)

    with pytest.raises(InvalidBackendArgs):
        worker(app=NO_APP).start_server()


# --dry-run


def test_describe_start_is_the_exact_invocation() -> None:
    backend = worker({"concurrency": 2, "logfile": "/var/log/celery worker.log"})

    assert backend.describe_start(checked_argv(backend)) == (
        "celery --app=testsite.celery_app.app --skip-checks worker --concurrency=2 "
        "'--logfile=/var/log/celery worker.log'"
    )


def test_describe_start_masks_secret_values() -> None:
    backend = secret_option_worker({"api_token": 7})

    assert backend.describe_start(checked_argv(backend)) == (
        "celery --app=testsite.celery_app.app --skip-checks worker '--api-token=***'"
    )


def test_describe_start_for_beat() -> None:
    assert beat().describe_start([]) == "celery --app=testsite.celery_app.app --skip-checks beat"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["-c", "1000000"],
            "Process 'worker': invalid value '1000000' for celery worker option '-c' in ARGS: it "
            "must be from 1 to 10000.",
        ),
        (
            {"time_limit": 10**20},
            "Process 'worker': invalid value 100000000000000000000 for celery worker option "
            "'time_limit' in ARGS: it must be from 0 to 604800.",
        ),
    ],
)
def test_concurrency_and_time_limits_have_sane_ranges(args: Any, message: str) -> None:
    assert error_of(worker(args)) == message


@pytest.mark.parametrize("value", [-1, 10**20])
def test_beats_max_interval_has_a_sane_range(value: int) -> None:
    assert error_of(beat({"max_interval": value})) == (
        f"Process 'worker': invalid value {value} for celery beat option 'max_interval' in ARGS: "
        "it must be from 0 to 604800."
    )
    assert checked_argv(beat({"max_interval": 300})) == ["--max-interval=300"]


@pytest.mark.parametrize(
    ("url", "scheme", "package", "extra"),
    [
        ("redis://user:s3cret@localhost:6379/0", "redis", "redis", "redis"),
        ("rediss://localhost:6380/0", "rediss", "redis", "redis"),
        ("sqs://", "sqs", "boto3", "sqs"),
    ],
)
def test_a_broker_whose_transport_package_is_missing_is_named(
    monkeypatch: pytest.MonkeyPatch, url: str, scheme: str, package: str, extra: str
) -> None:
    # kombu imports the transport's package only when the worker connects: a traceback then.
    hide_packages(monkeypatch, ["redis", "boto3"])
    monkeypatch.setattr(testsite_app.conf, "broker_url", url)
    message = (
        f"Process 'worker': the broker of APP {APP!r} is a {scheme!r} URL, whose transport needs "
        f'the package {package!r}, which is not installed: pip install "celery[{extra}]".'
    )
    assert error_of(worker()) == message
    assert error_of(beat()) == message
    assert "s3cret" not in message
