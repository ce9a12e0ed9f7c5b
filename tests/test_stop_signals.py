"""SIGTERM and SIGINT handled while a server runs, and the previous handlers put back after."""

from __future__ import annotations

import signal

import pytest

from django_prodserver.stop_signals import exit_zero_on_stop_signals


def test_exit_zero_on_stop_signals_restores_the_handlers() -> None:
    before = signal.getsignal(signal.SIGTERM)
    with pytest.raises(SystemExit) as exited, exit_zero_on_stop_signals():
        signal.raise_signal(signal.SIGTERM)
    assert exited.value.code == 0
    assert signal.getsignal(signal.SIGTERM) == before
