"""Signals during training: prompt, but never in the middle of writing a checkpoint."""

from __future__ import annotations

import os
import signal
import time

import pytest

from kerazoo.interrupts import critical_section, signals_as_interrupt


@pytest.mark.parametrize("signal_number", [signal.SIGINT, signal.SIGTERM])
def test_a_signal_outside_a_critical_section_interrupts_at_once(signal_number):
    with signals_as_interrupt(), pytest.raises(KeyboardInterrupt, match=signal_number.name):
        os.kill(os.getpid(), signal_number)
        time.sleep(5)  # the handler raises before this returns
        pytest.fail("not interrupted")


@pytest.mark.parametrize("signal_number", [signal.SIGINT, signal.SIGTERM])
def test_a_signal_inside_a_critical_section_waits_for_its_end(signal_number):
    finished = []
    with signals_as_interrupt(), pytest.raises(KeyboardInterrupt, match=signal_number.name):
        with critical_section():
            os.kill(os.getpid(), signal_number)
            time.sleep(0.2)  # the handler has run by now, and only took note
            finished.append("the whole section")
    assert finished == ["the whole section"]


def test_handlers_are_restored_afterwards():
    before = signal.getsignal(signal.SIGTERM), signal.getsignal(signal.SIGINT)
    with signals_as_interrupt():
        pass
    assert (signal.getsignal(signal.SIGTERM), signal.getsignal(signal.SIGINT)) == before
