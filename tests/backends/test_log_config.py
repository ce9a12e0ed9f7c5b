"""The log-configuration check (backends/log_config.py): read and parsed, logging untouched."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from django_prodserver.backends.log_config import log_config_problem

FILE_CONFIG = """\
[loggers]
keys=root
[handlers]
keys=console
[formatters]
keys=plain
[logger_root]
handlers=console
[handler_console]
class=StreamHandler
formatter=plain
args=(sys.stderr,)
[formatter_plain]
format=%(asctime)s %(message)s
"""


@pytest.mark.parametrize(
    ("name", "text", "file_format"),
    [
        ("log.json", '{"version": 1}', "json"),
        ("log.toml", "version = 1\n", "toml"),
        ("log.ini", FILE_CONFIG, "ini"),
    ],
)
def test_a_log_configuration_that_would_load_passes(
    tmp_path: Path, name: str, text: str, file_format: str
) -> None:
    path = tmp_path / name
    path.write_text(text)
    handlers = list(logging.getLogger().handlers)

    assert log_config_problem(str(path), file_format) is None
    assert logging.getLogger().handlers == handlers  # nothing configured


@pytest.mark.parametrize(
    ("text", "file_format", "problem"),
    [
        (
            "{not json",
            "json",
            "the log configuration '{path}' does not parse: JSONDecodeError: Expecting property "
            "name enclosed in double quotes: line 1 column 2 (char 1)",
        ),
        (
            "version = \n",
            "toml",
            "the log configuration '{path}' does not parse: TOMLDecodeError: Invalid value "
            "(at line 1, column 11)",
        ),
        (
            '["a list"]',
            "json",
            "the log configuration '{path}' is not a logging dictionary: it needs a 'version' key "
            "(1), as logging.config.dictConfig() takes",
        ),
        (
            "[loggers]\nkeys=root\n",
            "ini",
            "the log configuration '{path}' is not a logging configuration file: it needs "
            "[formatters] with 'keys', [handlers] with 'keys', as logging.config.fileConfig() "
            "takes",
        ),
        (
            "no section\n",
            "ini",
            "the log configuration '{path}' does not parse: MissingSectionHeaderError: File "
            "contains no section headers. file: '{path}', line: 1 'no section\\n'",
        ),
    ],
)
def test_a_log_configuration_that_would_fail_is_one_line(
    tmp_path: Path, text: str, file_format: str, problem: str
) -> None:
    path = tmp_path / f"log.{file_format}"
    path.write_text(text)

    assert log_config_problem(str(path), file_format) == problem.format(path=path)


def test_a_file_that_is_not_there_or_not_text(tmp_path: Path) -> None:
    binary = tmp_path / "log.ini"
    binary.write_bytes(b"\xff\xfe")

    assert log_config_problem(str(tmp_path / "missing.ini"), "ini") == (
        f"the log configuration '{tmp_path / 'missing.ini'}' cannot be read: No such file or "
        "directory"
    )
    assert log_config_problem(str(binary), "ini") == (
        f"the log configuration '{binary}' does not parse: UnicodeDecodeError: 'utf-8' codec "
        "can't decode byte 0xff in position 0: invalid start byte"
    )
