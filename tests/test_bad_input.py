"""Mistakes users make, table-driven: each gets one line on stderr naming the value and
what is accepted, exit status 2, no traceback, and no MLflow run (so none left RUNNING)."""

from __future__ import annotations

import mlflow
import pytest

from kerazoo.cli import main

GOOD = ["run", "mlp_digits", "--smoke", "--quiet"]

# (case id, CLI arguments, files to write first {name: text}, environment, expected fragments)
CASES = [
    ("unknown recipe", ["run", "mlp_digit"], {}, {},
     ["unknown recipe 'mlp_digit'", "did you mean 'mlp_digits'"]),
    ("missing recipe file", ["run", "nowhere/recipe.yaml"], {}, {},
     ["recipe file 'nowhere/recipe.yaml' does not exist"]),
    ("empty recipe file", ["run", "empty.yaml"], {"empty.yaml": ""}, {},
     ["must hold a mapping of keys"]),
    ("unparseable yaml", ["run", "bad.yaml"], {"bad.yaml": "model: {name: mlp\n"}, {},
     ["is not valid YAML at line"]),
    ("recipe is a list", ["run", "list.yaml"], {"list.yaml": "- mlp\n- digits\n"}, {},
     ["must hold a mapping", "list"]),
    ("misspelled top-level key", ["run", "typo.yaml"],
     {"typo.yaml": "experiment: e\nmodel: {name: mlp}\ndata: {name: digits}\ntrian: {}\n"},
     {}, ["trian: unknown key", "did you mean 'train'"]),
    ("missing required key", ["run", "nomodel.yaml"],
     {"nomodel.yaml": "experiment: e\ndata: {name: digits}\n"}, {},
     ["model: required key is missing"]),
    ("unknown model", [*GOOD, "--set", "model.name=mpl"], {}, {},
     ["unknown model 'mpl'", "did you mean 'mlp'"]),
    ("unknown data loader", [*GOOD, "--set", "data.name=digts"], {}, {},
     ["unknown data loader 'digts'", "did you mean 'digits'"]),
    ("unknown callback", [*GOOD, "--set", "callbacks=[{name: early_stoping}]"], {}, {},
     ["unknown callback 'early_stoping'", "did you mean 'early_stopping'"]),
    ("misspelled train key", [*GOOD, "--set", "train.epochz=3"], {}, {},
     ["train.epochz: unknown key", "did you mean 'epochs'"]),
    ("misspelled model keyword", [*GOOD, "--set", "model.unitz=[8]"], {}, {},
     ["no argument 'unitz'", "did you mean 'units'"]),
    ("misspelled data keyword", [*GOOD, "--set", "data.test_fractoin=0.2"], {}, {},
     ["no argument 'test_fractoin'", "did you mean 'test_fraction'"]),
    ("misspelled callback keyword",
     [*GOOD, "--set", "callbacks=[{name: early_stopping, patiense: 3}]"], {}, {},
     ["no argument 'patiense'", "did you mean 'patience'"]),
    ("seed given to the data loader", [*GOOD, "--set", "data.seed=3"], {}, {},
     ["takes the recipe's top-level `seed`", "Received: seed=3"]),
    ("non-numeric epochs", [*GOOD, "--set", "train.epochs=many"], {}, {},
     ["train.epochs", "'many'"]),
    ("non-numeric learning rate", [*GOOD, "--set", "train.learning_rate=fast"], {}, {},
     ["train.learning_rate", "'fast'"]),
    ("non-integer seed", [*GOOD, "--set", "seed=abc"], {}, {}, ["seed", "'abc'"]),
    ("zero epochs", [*GOOD, "--set", "train.epochs=0"], {}, {},
     ["train.epochs", "greater than or equal to 1", "Received: train.epochs=0"]),
    ("negative batch size", [*GOOD, "--set", "train.batch_size=-8"], {}, {},
     ["train.batch_size", "Received: train.batch_size=-8"]),
    ("zero units", [*GOOD, "--set", "model.units=[0]"], {}, {},
     ["`units` must be a list of positive integers", "Received: units=[0]"]),
    ("negative units", [*GOOD, "--set", "model.units=[-64]"], {}, {},
     ["`units`", "Received: units=[-64]"]),
    ("units of wrong type", [*GOOD, "--set", "model.units=wide"], {}, {},
     ["`units`", "Received: units='wide'"]),
    ("dropout above one", [*GOOD, "--set", "model.dropout=1.5"], {}, {},
     ["`dropout` must be a number in [0, 1)", "Received: dropout=1.5"]),
    ("negative dropout", [*GOOD, "--set", "model.dropout=-0.1"], {}, {},
     ["`dropout`", "Received: dropout=-0.1"]),
    ("negative l2", [*GOOD, "--set", "model.l2=-1"], {}, {},
     ["`l2` must be a non-negative number", "Received: l2=-1"]),
    ("one class", [*GOOD, "--set", "model.num_classes=1"], {}, {},
     ["`num_classes` must be an integer of at least 2", "Received: num_classes=1"]),
    ("unknown activation", [*GOOD, "--set", "model.activation=rleu"], {}, {},
     ["`activation` must be the name of a Keras activation", "did you mean 'relu'"]),
    ("impossible input shape", [*GOOD, "--set", "model.input_shape=[0]"], {}, {},
     ["`input_shape`", "Received: input_shape=[0]"]),
    ("validation fraction of one", [*GOOD, "--set", "data.validation_fraction=1.0"], {}, {},
     ["`validation_fraction` must be a number in [0, 1)"]),
    ("unknown optimizer", [*GOOD, "--set", "train.optimizer=adamm"], {}, {},
     ["unknown optimizer 'adamm'", "did you mean 'adam'"]),
    ("unknown optimizer keyword", [*GOOD, "--set", "train.optimizer_kwargs={momentm: 0.9}"],
     {}, {}, ["optimizer 'adam' has no argument 'momentm'"]),
    ("unknown loss", [*GOOD, "--set", "train.loss=cross_entropy"], {}, {},
     ["unknown Keras loss 'cross_entropy'"]),
    ("unknown metric", [*GOOD, "--set", "train.metrics=[acuracy]"], {}, {},
     ["unknown Keras metric 'acuracy'"]),
    ("negative learning rate", [*GOOD, "--set", "train.learning_rate=-0.1"], {}, {},
     ["train.learning_rate", "greater than 0", "Received: train.learning_rate=-0.1"]),
    ("seed out of range", [*GOOD, "--set", "seed=-1"], {}, {},
     ["seed", "greater than or equal to 0", "Received: seed=-1"]),
    ("empty experiment name", [*GOOD, "--set", "experiment="], {}, {},
     ["experiment", "at least 1 character"]),
    ("non-numeric optimizer keyword", [*GOOD, "--set", "train.optimizer_kwargs={beta_1: abc}"],
     {}, {}, ["`beta_1` must be a number", "Received: beta_1='abc'"]),
    ("union-typed value", [*GOOD, "--set", "train.jit_compile=maybe"], {}, {},
     ["train.jit_compile: Input should be a valid boolean", "or Input should be 'auto'"]),
    ("loss that does not fit the labels", [*GOOD, "--set", "train.loss=binary_crossentropy"],
     {}, {}, ["train.loss: 'binary_crossentropy' does not fit model 'mlp'"]),
    ("scheduler with nothing to schedule",
     [*GOOD, "--set", "callbacks=[{name: dropout_scheduler, schedule: {name: constant, "
                      "value: 0.1}}]"], {}, {},
     ["callbacks.0", "found no ScheduledDropout layer", "mlp(schedulable=True)"]),
    ("monitor of a metric the run does not log",
     [*GOOD, "--set", "callbacks=[{name: early_stopping, monitor: val_losss}]"], {}, {},
     ["callbacks.0", "`monitor`", "did you mean 'val_loss'", "Received: monitor='val_losss'"]),
    ("lr_finder as a training callback", [*GOOD, "--set", "callbacks.0.name=lr_finder"], {}, {},
     ["'lr_finder': the LR range test is not a training callback"]),
    ("sweep range of invalid values",
     ["sweep", "mlp_digits", "--smoke", "--trials", "2", "--param",
      "model.dropout=uniform(1, 1.5)"], {}, {},
     ["--param model.dropout=uniform(1, 1.5)", "`dropout` must be a number in [0, 1)"]),
    ("launch of an unknown recipe", ["launch", "mlp_digit"], {}, {},
     ["unknown recipe 'mlp_digit'"]),
    ("set without equals", [*GOOD, "--set", "train.epochs"], {}, {},
     ["--set takes KEY=VALUE", "Received: 'train.epochs'"]),
    ("set of unknown section", [*GOOD, "--set", "trainer.epochs=3"], {}, {},
     ["trainer: unknown key", "did you mean 'train'"]),
    ("set index out of range", [*GOOD, "--set", "callbacks.2.patience=1"], {}, {},
     ["callbacks.2", "not an index of a list of 0 items (or the next one, 0)"]),
    ("set into a value", [*GOOD, "--set", "seed.value=1"], {}, {},
     ["'seed' is a value, not a section"]),
    ("output path escaping the run directory",
     [*GOOD, "--set", "outputs.model_file=../../escape.keras"], {}, {},
     ["outputs.model_file", "inside the run's directory", "'../../escape.keras'"]),
    ("absolute output path", [*GOOD, "--set", "outputs.model_file=/tmp/escape.keras"], {}, {},
     ["outputs.model_file", "not absolute"]),
    ("unknown option", [*GOOD, "--epochs", "3"], {}, {}, ["No such option '--epochs'"]),
    ("classic dataset absent", ["run", "mnist.yaml", "--smoke"],
     {"mnist.yaml": "experiment: e\nmodel: {name: mlp}\ndata: {name: mnist}\n"},
     {"KERAS_HOME": "/nonexistent/keras-home"},
     ["MNIST not found locally", "/nonexistent/keras-home/datasets/mnist.npz", "--download"]),
    ("missing text file", ["run", "text.yaml", "--smoke"],
     {"text.yaml": "experiment: e\nmodel: {name: char_rnn}\n"
                   "data: {name: text_file, path: nowhere.txt}\n"}, {},
     ["text file 'nowhere.txt' does not exist"]),
    ("empty text file", ["run", "text.yaml", "--smoke"],
     {"text.yaml": "experiment: e\nmodel: {name: char_rnn}\n"
                   "data: {name: text_file, path: empty.txt}\n", "empty.txt": ""}, {},
     ["text file 'empty.txt' is empty"]),
    ("input too small for the network", ["run", "alex.yaml", "--smoke"],
     {"alex.yaml": "experiment: e\nmodel: {name: alexnet}\ndata: {name: digits, image: true}\n"},
     {}, ["`input_shape`", "Received: input_shape=(8, 8, 1)"]),
    ("unreachable tracking server", GOOD, {},
     {"MLFLOW_TRACKING_URI": "http://127.0.0.1:9"},
     ["cannot reach the MLflow tracking server at 'http://127.0.0.1:9'"]),
    ("unusable tracking store", GOOD, {},
     {"MLFLOW_TRACKING_URI": "sqlite:////proc/no/such/dir/mlflow.db"},
     ["tracking store", "sqlite:////proc/no/such/dir/mlflow.db"]),
    ("resume of an unknown run", [*GOOD, "--resume", "0123abcd"], {}, {},
     ["no run '0123abcd'"]),
    ("compare unknown experiment", ["compare", "--experiment", "digitz"], {}, {},
     ["unknown experiment 'digitz'"]),
    ("compare bad filter", ["compare", "--filter", "metrics.x >>> 1"], {}, {},
     ["--filter 'metrics.x >>> 1' is not a valid MLflow search filter"]),
]


@pytest.mark.parametrize("arguments, files, environment, fragments",
                         [case[1:] for case in CASES], ids=[case[0] for case in CASES])
def test_mistake_gets_one_clear_line_and_exit_2(arguments, files, environment, fragments,
                                                tmp_path, tracking_uri, monkeypatch, capsys):
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    for key, value in environment.items():
        monkeypatch.setenv(key, value)
    with pytest.raises(SystemExit) as exit_info:
        main(arguments)
    assert exit_info.value.code == 2
    stderr = capsys.readouterr().err
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, stderr
    assert lines[0].startswith("kerazoo: error: ") and "Traceback" not in stderr
    for fragment in fragments:
        assert fragment in lines[0]
    client = mlflow.MlflowClient(tracking_uri)
    assert client.search_runs([e.experiment_id for e in client.search_experiments()]) == []


def test_the_table_covers_at_least_thirty_mistakes():
    assert len(CASES) >= 30
