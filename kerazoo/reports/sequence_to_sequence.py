"""Encoder-decoders: exact-match accuracy with greedy decoding, the model feeding back its
own predictions as it would in use (training's per-token accuracy is teacher-forced and
flatters it), and a page of decoded test examples."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from kerazoo.generate import greedy_decode
from kerazoo.reports.context import ReportContext, ReportOutput

NAME = "greedy_decoding"
TASK = "sequence_to_sequence"
REQUIRED_EXTRAS = ("vocabulary", "start_id", "end_id", "target_length")
EXAMPLES = 40  # decoded test questions written out, wrong ones first


def applies(context: ReportContext) -> bool:
    return context.task == TASK and all(key in context.data.extras for key in REQUIRED_EXTRAS)


def text(ids, vocabulary) -> str:
    return "".join(vocabulary[int(i)] for i in ids if int(i))


def write(context: ReportContext, directory: Path) -> ReportOutput:
    extras, test = context.data.extras, context.data.test
    source = test.x[0] if isinstance(test.x, tuple) else test.x
    end_id = extras["end_id"]
    # The whole split in one batch: greedy_decode keeps one input shape throughout, so the
    # model is traced once rather than again for a smaller last batch.
    generated = greedy_decode(context.model, source, extras["start_id"], end_id,
                              max_length=extras["target_length"])
    # Targets are the answer, <end>, then padding; decoding returns the answer then padding.
    expected = np.where(test.y == end_id, 0, test.y)
    correct = (generated == expected).all(axis=1)

    vocabulary = extras["vocabulary"]
    order = np.argsort(correct, kind="stable")[:EXAMPLES]  # the wrong ones first
    # A reversed source (Sutskever et al.'s trick) is turned back for the reader.
    reversed_source = bool(extras.get("reverse_source"))
    note = " (shown as written; the model reads it reversed)" if reversed_source else ""
    lines = [f"exact match {correct.mean():.2%} of {len(correct)} test sequences",
             f"source{note} -> expected | greedy decoding", ""]
    for row in order:
        question = text(source[row], vocabulary)
        lines.append(f"{'ok ' if correct[row] else 'BAD'} "
                     f"{question[::-1] if reversed_source else question} -> "
                     f"{text(expected[row], vocabulary)} | {text(generated[row], vocabulary)}")
    (directory / "decoded_examples.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return ReportOutput(metrics={"exact_match": float(correct.mean())})
