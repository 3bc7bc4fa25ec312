"""Each lesson at full size holds what its text claims (the `claims:` of its YAML file): the
comparison it is about comes out the way the lesson says, e.g. the MLP beats logistic
regression on moons by a clear margin, the GRU and LSTM solve a length where the SimpleRNN
fails. Minutes per lesson on a CPU, hence slow (`make test-slow`)."""

from __future__ import annotations

import pytest

from kerazoo.course import lessons
from kerazoo.course.teach import run_lesson

CLAIMED = [lesson for lesson in lessons() if lesson.claims]


def test_every_lesson_claims_something():
    assert [lesson.name for lesson in CLAIMED] == [lesson.name for lesson in lessons()]


@pytest.mark.slow
@pytest.mark.parametrize("lesson", CLAIMED, ids=[lesson.name for lesson in CLAIMED])
def test_lesson_holds_its_claims_at_full_size(lesson, tracking_uri):
    result = run_lesson(lesson, tracking_uri=tracking_uri)
    checked = [claim.holds(result.numbers) for claim in lesson.claims]
    failed = [text for held, text in checked if not held]
    assert not failed, f"{lesson.name}: {failed}; what to look at: {result.text}"
