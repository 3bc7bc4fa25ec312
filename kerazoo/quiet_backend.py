"""Importing Keras and its backend without their start-up chatter on stderr.

Shared by the command line and the processes it starts (HOGWILD! workers), which import it
rather than the command line itself, so that dependencies run one way.
"""

from __future__ import annotations

import os
import re
import sys
import tempfile

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
# Lines TensorFlow's C++ runtime prints on import whatever TF_CPP_MIN_LOG_LEVEL says
# (tensorflow/tensorflow#100442): absl's preamble, info/warning records, CPU feature notes.
BACKEND_CHATTER = re.compile(
    r"^(WARNING: All log messages before absl::InitializeLog|[IW]\d{4} |"
    r"To enable the following instructions|This TensorFlow binary is optimized)"
)


def import_keras_quietly() -> None:
    """Import Keras (and its backend) with that chatter filtered out of stderr.

    The chatter comes from C++ straight to file descriptor 2, so Python-level redirection
    cannot catch it; the descriptor is pointed at a temporary file for the import and
    everything that is not chatter is replayed.
    """
    if "keras" in sys.modules:
        return
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile(mode="w+b") as captured:
        os.dup2(captured.fileno(), 2)
        try:
            import keras  # noqa: F401

            # The data pipeline imports TensorFlow on every backend; on JAX that is later,
            # so import it here too while the chatter is filtered.
            import tensorflow  # noqa: F401
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
            captured.seek(0)
            for line in captured.read().decode(errors="replace").splitlines(keepends=True):
                if not BACKEND_CHATTER.match(line):
                    sys.stderr.write(line)
