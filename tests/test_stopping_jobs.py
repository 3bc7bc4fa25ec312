"""Jobs of several processes stop as one: a sweep or a launch signalled, a worker or a rank
killed outright. Real `kerazoo` processes, real signals, real stores; every wait is on a line
printed or a state stored, never on the clock."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
from pathlib import Path

import mlflow
import optuna
import pytest

from kerazoo.config.recipe import load_recipe
from kerazoo.scale import sweep
from tests.conftest import run_cli
from tests.test_distributed import needs_jax

KERAZOO = str(Path(sys.executable).parent / "kerazoo")
ENDED = {"COMPLETE": {"FINISHED"}, "PRUNED": {"FINISHED"}, "FAIL": {"KILLED", "FAILED"}}


def start(*args: str) -> subprocess.Popen:
    return subprocess.Popen([KERAZOO, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env={**os.environ, "PYTHONUNBUFFERED": "1"})


def wait_for_line(process: subprocess.Popen, fragment: str) -> list[str]:
    """Lines of the process's stdout up to the first holding `fragment`."""
    seen = []
    for line in process.stdout:
        seen.append(line)
        if fragment in line:
            return seen
    raise AssertionError(f"the process ended without printing {fragment!r}:\n"
                         + "".join(seen) + process.stderr.read())


def children_of(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rpartition(")")[2].split()[1]) == pid:
                found.append(int(entry.name))
    return found


def alive(pid: int) -> bool:
    try:
        state = (Path("/proc") / str(pid) / "stat").read_text().rpartition(")")[2].split()[0]
    except OSError:
        return False
    return state != "Z"


def pause_unless_ended(process: subprocess.Popen) -> bool:
    """Pace a polling loop (a tenth of a second); whether `process` has ended."""
    try:
        process.wait(timeout=0.1)
    except subprocess.TimeoutExpired:
        return False
    return True


def trial_runs(client, study: str) -> dict[int, mlflow.entities.Run]:
    experiment = client.get_experiment_by_name("digits-smoke")
    if experiment is None:  # no run yet
        return {}
    runs = client.search_runs([experiment.experiment_id], max_results=1000,
                              filter_string=f"tags.`kerazoo.sweep.study` = '{study}'")
    return {int(run.data.tags["kerazoo.sweep.trial"]): run for run in runs
            if "kerazoo.sweep.trial" in run.data.tags}


def parent_run(client, study: str):
    experiment = client.get_experiment_by_name("digits-smoke")
    (parent,) = client.search_runs([experiment.experiment_id], filter_string=(
        f"tags.`kerazoo.sweep.study` = '{study}' and tags.`kerazoo.sweep.role` = 'parent'"))
    return parent


def assert_trials_agree(client, study_name: str) -> optuna.Study:
    study = optuna.load_study(study_name=study_name, storage=sweep.DEFAULT_STORAGE)
    runs = trial_runs(client, study_name)
    for trial in study.trials:
        assert trial.state.name in ENDED, f"trial {trial.number} is {trial.state.name}"
        if trial.number in runs:
            assert runs[trial.number].info.status in ENDED[trial.state.name], (
                trial.number, trial.state.name, runs[trial.number].info.status)
    return study


@pytest.mark.slow
def test_sigterm_stops_the_sweep_its_workers_and_trials_agree(client):
    sweeping = start("sweep", "mlp_digits", "--smoke", "--param",
                     "model.dropout=uniform(0, 0.5)", "--trials", "12", "--workers", "2",
                     "--study", "stopped")
    wait_for_line(sweeping, "finished with value")  # Optuna's line for a trial done
    workers = children_of(sweeping.pid)
    assert len(workers) == 2
    sweeping.send_signal(signal.SIGTERM)
    stdout, stderr = sweeping.communicate(timeout=300)

    assert sweeping.returncode == 130, stderr
    # Optuna's line about the new study, then one line for the interruption
    assert stderr.splitlines()[1:] == ["kerazoo: interrupted"], stderr
    # one line per worker at most (besides a trial that finished as the signal came), and no
    # traceback anywhere
    for label in ("[worker 0]", "[worker 1]"):
        assert sum(line.startswith(label) and "finished with value" not in line
                   for line in stdout.splitlines()) <= 1, stdout
    assert "Traceback" not in stdout + stderr
    assert not any(alive(pid) for pid in workers)
    assert parent_run(client, "stopped").info.status == "KILLED"
    study = assert_trials_agree(client, "stopped")
    assert any(trial.state.name == "FAIL" for trial in study.trials)

    # a joiner finishes one more trial and brings the parent's summary up to date
    joined = run_cli("sweep", "--join", "stopped", "--trials", "1")
    assert joined.returncode == 0, joined.stderr + joined.stdout
    study = assert_trials_agree(client, "stopped")
    parent = parent_run(client, "stopped")
    statuses = [run.info.status for run in trial_runs(client, "stopped").values()]
    states = [trial.state.name for trial in study.trials]
    assert parent.data.metrics["trials_complete"] + parent.data.metrics["trials_pruned"] \
        == statuses.count("FINISHED") == states.count("COMPLETE") + states.count("PRUNED")
    assert parent.data.metrics["trials_fail"] == states.count("FAIL")


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore::optuna.exceptions.ExperimentalWarning")
def test_a_hard_killed_worker_s_trial_fails_by_heartbeat_and_its_run_ends_killed(client):
    # A study as `kerazoo sweep` leaves it, with trials long enough to be caught running.
    recipe = load_recipe("mlp_digits", ["train.epochs=500"], smoke=True)
    storage = sweep.open_storage(sweep.DEFAULT_STORAGE, create=True)
    study = optuna.create_study(storage=storage, study_name="lost")
    parent = client.create_run(client.create_experiment("digits"))
    plan = sweep.Plan(recipe.resolved(), ("model.dropout=uniform(0, 0.5)",), "val_loss", True,
                      mlflow.get_tracking_uri(), parent.info.run_id)
    study.set_user_attr(sweep.ATTRIBUTE, plan.to_json())
    worker = start("sweep", "--join", "lost", "--trials", "1", "--helper")
    running = []
    for _ in range(3000):  # bounded polling until the trial's run exists and runs
        running = [run for run in trial_runs(client, "lost").values()
                   if run.info.status == "RUNNING"]
        if running or pause_unless_ended(worker):
            break
    assert running, worker.communicate()
    worker.kill()
    worker.communicate()
    assert study.trials[0].state.name == "RUNNING"

    # the next worker to start a trial fails it once its heartbeat is older than the grace
    # period (1 s here); Optuna then calls kerazoo's callback, which ends the run KILLED
    checking = optuna.load_study(study_name="lost", storage=sweep.open_storage(
        sweep.DEFAULT_STORAGE, grace_seconds=1))
    for _ in range(3000):
        threading.Event().wait(0.1)  # paces the polling
        optuna.storages.fail_stale_trials(checking)
        if checking.trials[0].state.name != "RUNNING":
            break
    assert checking.trials[0].state.name == "FAIL"
    run = client.get_run(running[0].info.run_id)
    assert run.info.status == "KILLED" and run.data.tags["kerazoo.interrupted"] == "true"


def rank_pids(launcher: subprocess.Popen) -> dict[int, int]:
    """The launcher's ranks by rank number (from their command lines)."""
    ranks = {}
    for pid in children_of(launcher.pid):
        arguments = (Path("/proc") / str(pid) / "cmdline").read_text().split("\0")
        ranks[int(arguments[arguments.index("--process-id") + 1])] = pid
    return ranks


def launch_in_training(client) -> tuple[subprocess.Popen, dict[int, int]]:
    """A two-rank job, returned once rank 0 has finished an epoch of its (long) training."""
    launcher = start("launch", "mlp_digits", "--processes", "2", "--smoke", "--set",
                     "train.epochs=1000")
    wait_for_line(launcher, "[rank 0] Epoch 2/")
    ranks = rank_pids(launcher)
    assert sorted(ranks) == [0, 1]
    return launcher, ranks


def job_run(client):
    (run,) = client.search_runs([client.get_experiment_by_name("digits-smoke").experiment_id])
    return run


@needs_jax
@pytest.mark.slow
def test_sigterm_to_launch_reaches_every_rank_and_the_run_ends_killed(client):
    launcher, ranks = launch_in_training(client)
    launcher.send_signal(signal.SIGTERM)
    stdout, stderr = launcher.communicate(timeout=300)
    assert launcher.returncode == 130, stderr
    assert stderr.strip().splitlines() == ["kerazoo: interrupted"], stderr
    assert "Traceback" not in stdout
    assert not any(alive(pid) for pid in ranks.values())
    assert job_run(client).info.status == "KILLED"


@needs_jax
@pytest.mark.slow
def test_a_rank_killed_stops_the_job_at_once_and_the_run_fails(client):
    launcher, ranks = launch_in_training(client)
    os.kill(ranks[1], signal.SIGKILL)
    stdout, stderr = launcher.communicate(timeout=300)
    assert launcher.returncode == 128 + signal.SIGKILL, stderr
    assert stderr.strip().splitlines() == [
        "kerazoo: error: rank 1 was killed by SIGKILL; the other ranks were stopped"], stderr
    # Nothing but progress printed before the kill: not rank 0's view of its lost peer (a
    # Gloo "Connection reset by peer" traceback), nor its "interrupted" as it is stopped.
    assert all(re.match(r"\[rank [01]\] Epoch \d+/", line) for line in stdout.splitlines()), \
        stdout
    assert not alive(ranks[0])
    run = job_run(client)
    assert run.info.status == "FAILED"
    assert run.data.tags["kerazoo.job.failure"] == "rank 1 was killed by SIGKILL"


@pytest.mark.slow
def test_a_worker_killed_outright_fails_its_trial_at_once(client):
    sweeping = start("sweep", "mlp_digits", "--smoke", "--set", "train.epochs=500", "--param",
                     "model.dropout=uniform(0, 0.5)", "--trials", "2", "--study", "cut")
    running = []
    for _ in range(3000):  # bounded polling until a trial's run exists and runs
        running = [run for run in trial_runs(client, "cut").values()
                   if run.info.status == "RUNNING"]
        if running or pause_unless_ended(sweeping):
            break
    assert running, sweeping.communicate()
    os.kill(int(running[0].data.tags["kerazoo.pid"]), signal.SIGKILL)
    stdout, stderr = sweeping.communicate(timeout=300)

    assert sweeping.returncode == 2, stderr
    assert stderr.splitlines()[1:] == [
        "kerazoo: error: sweep worker 0 was killed by SIGKILL; the finished trials are in "
        "study 'cut' (continue with --join cut)"], stderr
    assert parent_run(client, "cut").info.status == "FAILED"
    study = assert_trials_agree(client, "cut")
    assert [trial.state.name for trial in study.trials] == ["FAIL"]
    assert client.get_run(running[0].info.run_id).info.status == "KILLED"
