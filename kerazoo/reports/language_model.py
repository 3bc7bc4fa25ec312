"""Character language models: loss in bits per character, and text sampled at several
temperatures from a prompt taken out of the test text."""

from __future__ import annotations

import math
from pathlib import Path

import keras

from kerazoo.data.char_windows import decode
from kerazoo.generate import sample_texts
from kerazoo.reports.context import ReportContext, ReportOutput

NAME = "text_samples"
TASK = "language_model"
# 0.5 and 1.0 are the two every run shows; 0.2 (nearly greedy: loops of favourite words) and
# 1.5 (flatter than the model: misspellings) bracket them so the effect of temperature is
# plain to see.
TEMPERATURES = (0.2, 0.5, 1.0, 1.5)
SAMPLE_LENGTH = 300  # characters after the prompt: a few lines of text
PROMPT_LENGTH = 40


class BitsPerCharacter(keras.callbacks.Callback):
    """Adds `bits_per_character` and `val_bits_per_character` to `logs` each epoch.

    The loss is the mean cross-entropy in nats per predicted character, so dividing by ln 2
    gives bits, the unit in which text compression and language models are compared (a
    context-free model of the corpus needs its unigram entropy, ~4.7 bits here).
    """

    names = ("bits_per_character",)  # what it adds, besides the val_ twin

    def on_epoch_end(self, epoch, logs=None):
        if logs is None:
            return
        for prefix in ("", "val_"):
            if f"{prefix}loss" in logs:
                logs[f"{prefix}bits_per_character"] = float(logs[f"{prefix}loss"]) / math.log(2)


def applies(context: ReportContext) -> bool:
    return context.task == TASK and "vocabulary" in context.data.extras


def choose_prompt(context: ReportContext) -> str:
    """The start of the first line in the first test window: text the model never trained
    on, beginning where a writer would."""
    text = decode(context.data.test.x[0], context.data.extras["vocabulary"])
    newline = text.find("\n")
    rest = text[newline + 1:].lstrip("\n") if newline >= 0 else ""
    prompt = (rest if len(rest) >= 10 else text)[:PROMPT_LENGTH]
    return prompt or text[:1]


def write(context: ReportContext, directory: Path) -> ReportOutput:
    vocabulary = context.data.extras["vocabulary"]
    prompt = choose_prompt(context)
    sections = [f"prompt ({len(prompt)} characters from the test text): {prompt!r}"]
    texts = sample_texts(context.model, vocabulary, prompt, length=SAMPLE_LENGTH,
                         temperatures=TEMPERATURES,
                         seeds=[context.seed + index for index in range(len(TEMPERATURES))])
    for temperature, text in zip(TEMPERATURES, texts, strict=True):
        sections.append(f"=== temperature {temperature} ===\n{text}")
    (directory / "text_samples.txt").write_text("\n\n".join(sections) + "\n", encoding="utf-8")
    metrics = {}
    if "test_loss" in context.test_metrics:
        metrics["bits_per_character"] = context.test_metrics["test_loss"] / math.log(2)
    return ReportOutput(metrics=metrics, params={"prompt": prompt})
