"""The figure painter: a real helper process drawing real PNGs, and drawing here whenever the
helper cannot."""

from __future__ import annotations

import os

import numpy as np
import pytest

from kerazoo import plots
from kerazoo.errors import KerazooError
from kerazoo.tracking import painter as painter_module
from kerazoo.tracking.painter import Painter

HISTORY = {"loss": [1.0, 0.5, 0.25], "val_loss": [1.1, 0.6, 0.4]}
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@pytest.fixture
def painter():
    painter = Painter()
    yield painter
    painter.close()


def is_png(path) -> bool:
    return path.is_file() and path.read_bytes()[:8] == PNG_SIGNATURE


def test_the_helper_draws_in_another_process_and_wait_returns_once_written(painter, tmp_path):
    assert painter.uses_helper and painter._process.pid != os.getpid()
    painter.draw(tmp_path / "plots" / "curves.png", plots.learning_curves, HISTORY)
    painter.draw(tmp_path / "matrix.png", plots.confusion_matrix, np.eye(3, dtype=int) * 5,
                 ["a", "b", "c"])
    assert painter.wait() == []
    assert is_png(tmp_path / "plots" / "curves.png") and is_png(tmp_path / "matrix.png")


def test_a_failing_figure_is_reported_not_raised(painter, tmp_path):
    painter.draw(tmp_path / "bad.png", plots.confusion_matrix, np.eye(3), ["only one name"])
    painter.draw(tmp_path / "good.png", plots.learning_curves, HISTORY)
    (error,) = painter.wait()
    assert error.startswith("bad.png: IndexError") or error.startswith("bad.png: ValueError")
    assert is_png(tmp_path / "good.png") and painter.uses_helper


def test_figures_the_helper_did_not_draw_are_drawn_here(painter, tmp_path):
    painter._process.kill()
    painter._process.wait()
    painter.draw(tmp_path / "curves.png", plots.learning_curves, HISTORY)
    assert painter.wait() == []
    assert is_png(tmp_path / "curves.png") and not painter.uses_helper


def test_ctrl_c_in_a_terminal_does_not_reach_the_helper(painter):
    # A terminal sends SIGINT to its foreground process group; the helper is not in it.
    assert os.getpgid(painter._process.pid) != os.getpgid(0)


def test_the_helper_ends_when_the_run_closes_its_pipe(painter):
    process = painter._process
    painter.close()
    assert process.returncode == 0


def test_inline_drawing_when_asked(monkeypatch, tmp_path):
    monkeypatch.setenv("KERAZOO_PAINTER", "inline")
    painter = Painter()
    assert not painter.uses_helper
    painter.draw(tmp_path / "curves.png", plots.learning_curves, HISTORY)
    assert is_png(tmp_path / "curves.png")  # drawn before wait()
    assert painter.wait() == []


def test_only_kerazoo_figures_are_accepted(tmp_path):
    with pytest.raises(ValueError, match="kerazoo.plots' figures. Received: function=numpy"):
        Painter(helper=False).draw(tmp_path / "x.png", np.ones, 3)


def test_abandoning_stops_a_helper_with_figures_still_to_draw(painter, tmp_path):
    process = painter._process
    painter.draw(tmp_path / "a.png", plots.learning_curves, HISTORY)
    painter.abandon()
    assert process.poll() is not None and painter.wait() == []


def test_the_mode_is_checked_and_followed(monkeypatch):
    monkeypatch.setenv("KERAZOO_PAINTER", "off")
    with pytest.raises(KerazooError, match="one of helper, inline. Received: "
                                           "KERAZOO_PAINTER='off'"):
        painter_module.shared_painter()
    monkeypatch.setenv("KERAZOO_PAINTER", "helper")
    assert painter_module.shared_painter().uses_helper
    monkeypatch.setenv("KERAZOO_PAINTER", "inline")  # a later run asks otherwise
    assert not painter_module.shared_painter().uses_helper
