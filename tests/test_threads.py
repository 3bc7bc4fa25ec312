"""train.intra_op_threads: applied before TensorFlow starts, said once when it is too late."""

from __future__ import annotations

import subprocess
import sys

import keras
import pytest

from kerazoo.config.recipe import load_recipe
from kerazoo.training.threads import apply_intra_op_threads

pytestmark = pytest.mark.skipif(keras.backend.backend() != "tensorflow",
                                reason="a TensorFlow setting")

# A process of its own: this one started TensorFlow long ago.
FRESH = """
import warnings
import tensorflow as tf
from kerazoo.training.threads import apply_intra_op_threads
assert apply_intra_op_threads(1) == 1
tf.constant(1.0) + 1.0  # TensorFlow starts
assert tf.config.threading.get_intra_op_parallelism_threads() == 1
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    assert apply_intra_op_threads(2) == 1
    assert apply_intra_op_threads(2) == 1
assert [str(w.message) for w in caught] == [
    "kerazoo: train.intra_op_threads=2 not applied: TensorFlow already runs in this process "
    "with 1; it applies in a fresh process (`kerazoo run`)"], caught
print("ok")
"""


def test_a_fresh_process_takes_the_count_and_a_started_one_says_so_once():
    done = subprocess.run([sys.executable, "-c", FRESH], capture_output=True, text=True,
                          timeout=600)
    assert done.stdout.strip() == "ok", done.stderr[-2000:]


def test_auto_leaves_tensorflow_as_it_is():
    import tensorflow as tf

    assert apply_intra_op_threads("auto") == tf.config.threading.get_intra_op_parallelism_threads()


@pytest.mark.parametrize("value", ["0", "two", "1.5"])
def test_a_count_that_is_no_count_is_refused(value):
    with pytest.raises(Exception, match=rf"train\.intra_op_threads.*Received: "
                                        rf"train\.intra_op_threads='?{value}"):
        load_recipe("lstm_text", [f"train.intra_op_threads={value}"])
