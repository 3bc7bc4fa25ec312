"""Signals during training: prompt, but never in the middle of writing a checkpoint, and
after a short epoch rather than in it unless the user insists."""

from __future__ import annotations

import os
import signal
import time

import pytest

from kerazoo.training import interrupts
from kerazoo.training.interrupts import critical_section, signals_as_interrupt


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


def test_a_signal_during_a_hold_waits_for_its_release():
    finished = []
    with signals_as_interrupt(), pytest.raises(KeyboardInterrupt, match="SIGTERM"):
        interrupts.hold()
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(0.2)
        assert interrupts.pending()
        finished.append("the held work")
        interrupts.release()
        pytest.fail("not interrupted on release")
    assert finished == ["the held work"] and not interrupts.pending()


def test_a_second_signal_during_a_hold_interrupts_at_once_but_not_a_critical_section():
    with signals_as_interrupt(), pytest.raises(KeyboardInterrupt, match="SIGINT"):
        interrupts.hold()
        os.kill(os.getpid(), signal.SIGINT)
        with critical_section():  # even the insisting signal waits for a checkpoint write
            os.kill(os.getpid(), signal.SIGINT)
            time.sleep(0.2)
            assert interrupts.pending()
        pytest.fail("not interrupted when the critical section closed")
    with signals_as_interrupt(), pytest.raises(KeyboardInterrupt, match="SIGINT"):
        interrupts.hold()
        os.kill(os.getpid(), signal.SIGINT)
        os.kill(os.getpid(), signal.SIGINT)
        time.sleep(5)  # the second signal raises before this returns
        pytest.fail("not interrupted")


def test_a_release_that_must_not_raise_leaves_the_signal_for_the_next_section():
    with signals_as_interrupt(), pytest.raises(KeyboardInterrupt, match="SIGINT"):
        interrupts.hold()
        os.kill(os.getpid(), signal.SIGINT)
        time.sleep(0.2)
        interrupts.release(raise_pending=False)
        with critical_section():
            pass
        pytest.fail("not interrupted")


def test_handlers_are_restored_afterwards():
    before = signal.getsignal(signal.SIGTERM), signal.getsignal(signal.SIGINT)
    with signals_as_interrupt():
        pass
    assert (signal.getsignal(signal.SIGTERM), signal.getsignal(signal.SIGINT)) == before


def test_an_interruptible_block_inside_a_critical_section():
    """A sweep's trial: signals interrupt it, and one noted in the bookkeeping around it is
    raised as the next trial begins; after the block, signals are noted again."""
    with signals_as_interrupt(), pytest.raises(KeyboardInterrupt, match="SIGINT"):
        with critical_section():
            os.kill(os.getpid(), signal.SIGTERM)  # noted: a signal's handler runs before
            assert interrupts.pending()  # the next line does
            with pytest.raises(KeyboardInterrupt, match="SIGTERM"):
                with interrupts.interruptible():
                    pytest.fail("a noted signal did not stop the block on entry")
            with pytest.raises(KeyboardInterrupt, match="SIGTERM"):
                with interrupts.interruptible():
                    os.kill(os.getpid(), signal.SIGTERM)
                    pytest.fail("not interrupted inside the block")
            os.kill(os.getpid(), signal.SIGINT)
            assert interrupts.pending()  # noted again outside the block
        pytest.fail("not interrupted when the critical section closed")
