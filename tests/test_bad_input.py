"""Mistakes users make, table-driven: each gets one line on stderr naming the value and
what is accepted, exit status 2, no traceback, and no MLflow run (so none left RUNNING)."""

from __future__ import annotations

import gzip
import io
import os
import pickle
import subprocess
from pathlib import Path

import mlflow
import numpy as np
import pytest

from kerazoo.cli import main

GOOD = ["run", "mlp_digits", "--smoke", "--quiet"]
MNIST = "experiment: e\nmodel: {name: mlp}\ndata: {name: mnist, path: mnist.npz}\n"
FASHION = "experiment: e\nmodel: {name: mlp}\ndata: {name: fashion_mnist, path: fm}\n"
CIFAR = "experiment: e\nmodel: {name: mlp}\ndata: {name: cifar10, path: cf}\n"
# "Billion laughs": each level nine aliases of the one before, 9**6 values in all.
LAUGHS = "[&a [x,x,x,x,x,x,x,x,x], " + ", ".join(
    f"&{name} [{', '.join([f'*{previous}'] * 9)}]"
    for previous, name in zip("abcde", "bcdef", strict=True)) + "]"
DEEP = "[" * 3000 + "]" * 3000


def npz(**arrays: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    return buffer.getvalue()


def mnist_arrays(image_shape=(28, 28), labels=4) -> dict[str, np.ndarray]:
    return {"x_train": np.zeros((4, *image_shape), np.uint8), "y_train": np.zeros(labels, np.uint8),
            "x_test": np.zeros((4, *image_shape), np.uint8), "y_test": np.zeros(4, np.uint8)}


def truncated(data: bytes) -> bytes:
    return data[: len(data) // 2]


IDX_IMAGES = b"\x00\x00\x08\x03" + b"".join(n.to_bytes(4, "big") for n in (4, 28, 28)) + \
    bytes(4 * 28 * 28)
FASHION_FILES = {f"fm/{stem}.gz": truncated(gzip.compress(IDX_IMAGES)) for stem in (
    "train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte",
    "t10k-labels-idx1-ubyte")}
CIFAR_FILES = {f"cf/{name}": pickle.dumps({b"data": np.zeros((4, 3000), np.uint8),
                                           b"labels": [0] * 4})
               for name in [*(f"data_batch_{n}" for n in range(1, 6)), "test_batch"]}

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
    ("unknown precision", [*GOOD, "--set", "train.precision=bfloat16"], {}, {},
     ["train.precision", "'float32', 'mixed_bfloat16' or 'mixed_float16'", "bfloat16"]),
    ("zero steps per execution", [*GOOD, "--set", "train.steps_per_execution=0"], {}, {},
     ["train.steps_per_execution", "greater than or equal to 1"]),
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
    # issue 19: bad input validated at the edge, one mechanism per class
    ("recipe is a folder", ["run", "folder.yaml"], {"folder.yaml/": ""}, {},
     ["recipe file 'folder.yaml' is a folder"]),
    ("device given as a recipe", ["run", "/dev/zero"], {}, {},
     ["recipe file '/dev/zero' is not a regular file"]),
    ("recipe file of megabytes", ["run", "big.yaml"], {"big.yaml": "#" * (2 << 20)}, {},
     ["recipe file 'big.yaml' is 2,097,152 bytes; a recipe is at most 1,048,576"]),
    ("integer of more digits than Python reads", [*GOOD, "--set", "seed=" + "1" * 5000], {},
     {}, ["--set seed: a value cannot be read", "Exceeds the limit (4300 digits)"]),
    ("generated data too large for memory", [*GOOD, "--set", "data.name=shapes", "--set",
                                             "data.samples=1000000000000"], {}, {},
     ["data loader 'shapes' is too large: it asks for more memory than this machine has",
      "samples=1000000000000"]),
    ("alias bomb in a recipe file", ["run", "laughs.yaml"],
     {"laughs.yaml": f"experiment: e\nmodel: {{name: mlp}}\ndata: {{name: digits}}\n"
                     f"description: {LAUGHS}\n"}, {},
     ["recipe file 'laughs.yaml'", "aliases expand to more than 100,000 values"]),
    ("alias bomb in --set", [*GOOD, "--set", f"description={LAUGHS}"], {}, {},
     ["--set description: aliases expand to more than 100,000 values"]),
    ("alias that contains itself", [*GOOD, "--set", "model.units=&a [*a]"], {}, {},
     ["--set model.units: an alias refers to the value that contains it"]),
    ("alias bomb in a sweep range", ["sweep", "mlp_digits", "--smoke", "--trials", "2",
                                     "--param", f"model.units=choice({LAUGHS})"], {}, {},
     ["--param model.units: aliases expand to more than 100,000 values"]),
    ("values nested thousands deep in a recipe file", ["run", "deep.yaml"],
     {"deep.yaml": f"experiment: e\nmodel: {{name: mlp}}\ndata: {{name: digits}}\n"
                   f"description: {DEEP}\n"}, {},
     ["recipe file 'deep.yaml'", "nested more than 50 levels deep"]),
    ("values nested thousands deep in --set", [*GOOD, "--set", f"model.units={DEEP}"], {}, {},
     ["--set model.units: values are nested more than 50 levels deep"]),
    ("key nested thousands deep in --set", [*GOOD, "--set", "model" + ".x" * 3000 + "=1"],
     {}, {}, ["--set: a key of at most 50 dotted parts"]),
    ("epochs beyond int64", [*GOOD, "--set", "train.epochs=99999999999999999999999"], {}, {},
     ["train.epochs: must be an integer between -2**63 and 2**63-1"]),
    ("units beyond int64", [*GOOD, "--set", "model.units=[99999999999999999999999]"], {}, {},
     ["model.units.0: must be an integer between"]),
    ("batch size beyond int32", [*GOOD, "--set", "train.batch_size=3000000000"], {}, {},
     ["train.batch_size", "less than or equal to 2147483647"]),
    ("model too large for memory", [*GOOD, "--set", "model.units=[10000000000]"], {}, {},
     ["model 'mlp' is too large", "Received: units=[10000000000]"]),
    ("NaN weight penalty", [*GOOD, "--set", "model.l2=.nan"], {}, {},
     ["model.l2: must be a finite number", "Received: model.l2=nan"]),
    ("infinite optimizer keyword", [*GOOD, "--set", "train.optimizer_kwargs={epsilon: .inf}"],
     {}, {}, ["train.optimizer_kwargs.epsilon: must be a finite number"]),
    ("NaN schedule bound", [*GOOD, "--set", "callbacks=[{name: one_cycle, max_lr: .nan}]"],
     {}, {}, ["callbacks.0.max_lr: must be a finite number"]),
    ("NaN data option", [*GOOD, "--set", "data.noise=.nan"], {}, {},
     ["data.noise: must be a finite number"]),
    ("negative infinite learning rate", [*GOOD, "--set", "train.learning_rate=-.inf"], {}, {},
     ["train.learning_rate: must be a finite number"]),
    ("recipe name that is a path", ["lr-find", "mlp_digits", "--smoke", "--set",
                                    "name=/../../../../tmp/x/ESCAPED"], {}, {},
     ["name: Value error, must be a name", "Received: name='/../../../../tmp/x/ESCAPED'"]),
    ("recipe name with a folder", [*GOOD, "--set", "name=a/b"], {}, {},
     ["must be a name of at most 100 letters"]),
    ("recipe name of 300 characters", [*GOOD, "--set", f"name={'n' * 300}"], {}, {},
     ["must be a name of at most 100 letters", "(300 characters)"]),
    ("truncated mnist.npz", ["run", "mnist.yaml", "--smoke"],
     {"mnist.yaml": MNIST, "mnist.npz": truncated(npz(**mnist_arrays()))}, {},
     ["cannot read MNIST file 'mnist.npz' (truncated, or not in its format)"]),
    ("mnist.npz of the wrong shapes", ["run", "mnist.yaml", "--smoke"],
     {"mnist.yaml": MNIST, "mnist.npz": npz(**mnist_arrays(labels=3))}, {},
     ["MNIST in 'mnist.npz': 4 images but labels of shape (3,)"]),
    ("truncated Fashion-MNIST files", ["run", "fm.yaml", "--smoke"],
     {"fm.yaml": FASHION, **FASHION_FILES}, {},
     ["cannot read IDX file 'fm/train-images-idx3-ubyte.gz' (truncated"]),
    ("CIFAR-10 batch of the wrong size", ["run", "cf.yaml", "--smoke"],
     {"cf.yaml": CIFAR, **CIFAR_FILES}, {},
     ["'cf/data_batch_1' is not a CIFAR-10 Python batch: ValueError"]),
    ("unknown lesson", ["course", "gradient_descnt", "--smoke"], {}, {},
     ["unknown lesson 'gradient_descnt'", "did you mean 'gradient_descent'"]),
    ("lesson given as a file", ["course", "lessons/relu.yaml"], {}, {},
     ["unknown lesson 'lessons/relu.yaml'", "accepted: "]),
]


@pytest.mark.parametrize("arguments, files, environment, fragments",
                         [case[1:] for case in CASES], ids=[case[0] for case in CASES])
def test_mistake_gets_one_clear_line_and_exit_2(arguments, files, environment, fragments,
                                                tmp_path, tracking_uri, monkeypatch, capsys):
    for name, content in files.items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if name.endswith("/"):
            path.mkdir()
        elif isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content)
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


def read_only(path: Path) -> None:
    """Make a folder refuse new files, or a file refuse writes, even to root (which ignores
    permission bits but not the immutable flag), or skip the test."""
    path.chmod(0o555 if path.is_dir() else 0o444)
    if os.access(path, os.W_OK):
        subprocess.run(["chattr", "+i", str(path)], capture_output=True, check=False)
    probe = path / ".probe" if path.is_dir() else path
    try:
        with open(probe, "ab"):
            pass
    except OSError:
        return
    if path.is_dir():
        probe.unlink()
    writable_again(path)
    pytest.skip("cannot make a file read-only here (root without chattr)")


def writable_again(path: Path) -> None:
    subprocess.run(["chattr", "-i", str(path)], capture_output=True, check=False)
    path.chmod(0o755 if path.is_dir() else 0o644)


@pytest.mark.parametrize("read_only_path, fragment", [
    ("store", "the tracking store folder"),  # the store's lock fails first
    ("store/mlflow.db", "is read-only"),  # the first write would fail, the run left RUNNING
    ("mlruns", "the run folder 'mlruns/runs'"),  # the backup would fail after some epochs
])
def test_read_only_store_is_found_before_training(read_only_path, fragment, tmp_path,
                                                   template_store, monkeypatch, capsys):
    store = tmp_path / "store"
    store.mkdir()
    (store / "mlflow.db").write_bytes(template_store.read_bytes())
    uri = f"sqlite:///{store / 'mlflow.db'}"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    read_only(tmp_path / read_only_path)
    try:
        with pytest.raises(SystemExit) as exit_info:
            main(GOOD)
    finally:
        writable_again(tmp_path / read_only_path)
    stderr = capsys.readouterr().err
    assert exit_info.value.code == 2 and len(stderr.strip().splitlines()) == 1, stderr
    assert fragment in stderr and "Traceback" not in stderr
    client = mlflow.MlflowClient(uri)
    assert client.search_runs([e.experiment_id for e in client.search_experiments()]) == []


def test_the_table_covers_at_least_thirty_mistakes():
    assert len(CASES) >= 30


def test_store_damaged_in_its_middle_pages_is_found_before_training(tracking_uri, client,
                                                                     tmp_path, capsys):
    """MLflow's first query reads only the pages it needs, so the pre-flight checks them all
    (kerazoo/tracking/store_health.py): one line naming the file, and nothing written."""
    experiment = client.create_experiment("earlier")
    for _ in range(20):  # pages enough that the middle ones hold metric rows
        run = client.create_run(experiment)
        client.log_batch(run.info.run_id, metrics=[
            mlflow.entities.Metric(f"metric_{key}", 0.5, 0, step)
            for key in range(10) for step in range(1, 31)])
        client.set_terminated(run.info.run_id)
    store = tmp_path / "mlruns" / "mlflow.db"
    page = 4096
    middle = store.stat().st_size // 2 // page * page
    with open(store, "r+b") as file:
        file.seek(middle)
        file.write(b"\xff" * 4 * page)
    damaged = store.read_bytes()

    with pytest.raises(SystemExit) as exit_info:
        main(GOOD)
    stderr = capsys.readouterr().err
    assert exit_info.value.code == 2 and len(stderr.strip().splitlines()) == 1, stderr
    assert f"the tracking store {str(store)!r} is damaged" in stderr, stderr
    assert "Traceback" not in stderr
    assert store.read_bytes() == damaged  # no run created, none left RUNNING
