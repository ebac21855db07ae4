"""``elasticai.creator.explore``: the space, the front, one point's row, failures recorded,
the cache (a repeated sweep runs nothing, an interrupted one resumes), the process pool,
the files, and the errors before anything runs."""

from __future__ import annotations

import csv
import json
import sys

import pytest

from elasticai.creator.examples import explore_digits
from elasticai.creator.explore import explore, pareto_flags
from elasticai.creator.explore.output import csv_text
from elasticai.creator.explore.point import ROW_KEYS, check_metric
from elasticai.creator.explore.space import points
from tests import explore_models

SPACE = {"total_bits": [4, 6], "target_ii": [None, 1]}


def figures(rows):
    """The rows without what differs from run to run (time, where they came from)."""
    return [{k: v for k, v in r.items() if k not in ("seconds", "cached")} for r in rows]


def sweep(space=SPACE, **options):
    options.setdefault("train", explore_models.train)
    options.setdefault("evaluate", explore_models.evaluate)
    return explore(space, build=explore_models.build, progress=False, **options)


@pytest.fixture(autouse=True)
def fresh_models(monkeypatch):
    monkeypatch.setattr(explore_models, "STOP_AFTER", None)
    monkeypatch.setattr(explore_models, "TRAINED", [])


# --- a sweep in this process --------------------------------------------------------------


def test_rows_hold_the_figures_of_each_point_in_the_order_of_the_space():
    rows = sweep()
    assert [r["point"] for r in rows] == points(SPACE)
    for r in rows:
        assert list(r) == list(ROW_KEYS)
        assert r["error"] is None and r["resources_from"] == "estimate"
        assert 0 <= r["accuracy"] <= 1 and r["lut"] > 0 and r["latency_cycles"] > 0
        assert r["fmax_mhz"] is None and r["exact"] is None and r["cached"] is False
    assert [r["initiation_interval"] for r in rows][1::2] == [1, 1]  # target_ii=1
    assert [r["pareto"] for r in rows] == pareto_flags(rows)
    assert any(r["pareto"] for r in rows)
    assert len(explore_models.TRAINED) == 4


def test_an_empty_space_is_refused_before_anything_runs(tmp_path):
    with pytest.raises(ValueError, match=r"^space must have at least one parameter"):
        sweep({}, cache_dir=tmp_path, output=tmp_path)
    assert explore_models.TRAINED == [] and list(tmp_path.iterdir()) == []


def test_a_point_the_builder_rejects_is_recorded_and_the_others_run():
    rows = sweep({"total_bits": [1, 4]})
    assert rows[0]["error"] == "build: ValueError: total_bits must be at least 2, not 1"
    assert rows[0]["accuracy"] is None and rows[0]["pareto"] is False
    assert rows[1]["error"] is None and rows[1]["pareto"] is True


@pytest.mark.parametrize(
    ("evaluate", "shown"),
    [(explore_models.evaluate_text, "'high' (str)"), (explore_models.evaluate_nan, "nan (float)")],
)
def test_a_metric_that_is_not_a_number_fails_its_point(evaluate, shown):
    rows = sweep({"total_bits": [4]}, evaluate=evaluate)
    assert rows[0]["error"] == (
        f"evaluate: ValueError: evaluate must return a finite real number (higher is better), "
        f"not {shown}"
    )
    assert check_metric(0.5) == 0.5
    with pytest.raises(ValueError, match="not True"):
        check_metric(True)


def test_a_failing_synthesis_is_recorded_and_not_cached(tmp_path, monkeypatch):
    monkeypatch.setenv("ELASTICAI_YOSYS", str(tmp_path / "no-yosys"))
    rows = sweep({"total_bits": [4]}, synthesis=True, cache_dir=tmp_path / "cache")
    assert rows[0]["error"].startswith("synthesis: YosysNotFoundError: Yosys was not found.")
    assert rows[0]["lut"] is None and rows[0]["pareto"] is False
    assert not (tmp_path / "cache").exists()


def test_a_builder_that_returns_no_model_fails_its_point():
    rows = explore(
        {"total_bits": [4]}, build=dict, evaluate=explore_models.evaluate, progress=False
    )
    assert rows[0]["error"] == (
        "build: TypeError: build must return the point's model (a torch.nn.Module), not "
        "{'total_bits': 4} (dict)"
    )


# --- the cache ----------------------------------------------------------------------------


def test_a_repeated_sweep_runs_nothing(tmp_path):
    first = sweep(cache_dir=tmp_path)
    assert len(explore_models.TRAINED) == 4
    again = sweep(cache_dir=tmp_path)
    assert len(explore_models.TRAINED) == 4  # nothing trained again
    assert all(r["cached"] for r in again)
    assert figures(again) == figures(first)
    assert len(list(tmp_path.iterdir())) == 4


def test_an_interrupted_sweep_resumes_where_it_stopped(tmp_path, monkeypatch):
    (tmp_path / "notes.txt").write_text("mine")
    monkeypatch.setattr(explore_models, "STOP_AFTER", 3)
    with pytest.raises(KeyboardInterrupt):
        sweep(cache_dir=tmp_path)
    entries = sorted(p.name for p in tmp_path.iterdir())
    assert len(entries) == 3 and "notes.txt" in entries  # two points done, nothing half-written
    monkeypatch.setattr(explore_models, "STOP_AFTER", None)
    explore_models.TRAINED.clear()
    rows = sweep(cache_dir=tmp_path)
    assert [r["cached"] for r in rows] == [True, True, False, False]
    assert len(explore_models.TRAINED) == 2
    assert figures(rows) == figures(sweep())
    assert (tmp_path / "notes.txt").read_text() == "mine"


def test_an_unreadable_entry_is_computed_again_and_failures_are_not_kept(tmp_path):
    sweep({"total_bits": [4]}, cache_dir=tmp_path)
    (entry,) = tmp_path.iterdir()
    entry.write_text("{ half")
    rows = sweep({"total_bits": [4]}, cache_dir=tmp_path)
    assert rows[0]["cached"] is False and rows[0]["error"] is None
    assert json.loads(entry.read_text())["row"]["accuracy"] == rows[0]["accuracy"]
    failed = sweep({"total_bits": [6]}, cache_dir=tmp_path, evaluate=explore_models.evaluate_nan)
    assert failed[0]["error"] is not None
    assert len(list(tmp_path.iterdir())) == 1


def test_the_key_sees_the_options_and_the_functions(tmp_path):
    sweep({"total_bits": [4]}, cache_dir=tmp_path)
    sweep({"total_bits": [4]}, cache_dir=tmp_path, seed=1)
    sweep({"total_bits": [4]}, cache_dir=tmp_path, train=None)
    assert len(list(tmp_path.iterdir())) == 3


# --- processes, files, options ------------------------------------------------------------


def test_two_worker_processes_give_the_rows_of_one(tmp_path):
    rows = sweep(workers=2, output=tmp_path / "out")
    assert figures(rows) == figures(sweep())
    out = tmp_path / "out"
    assert sorted(p.name for p in out.iterdir()) == [
        "front.png",
        "results.csv",
        "results.html",
        "results.json",
    ]
    assert json.loads((out / "results.json").read_text()) == rows
    table = list(csv.reader((out / "results.csv").open()))
    assert table[0][:4] == ["total_bits", "target_ii", "accuracy", "latency_cycles"]
    assert [line[:2] for line in table[1:]] == [["4", ""], ["4", "1"], ["6", ""], ["6", "1"]]
    assert "<svg" in (out / "results.html").read_text()


def test_the_csv_writes_lists_as_json_and_none_as_empty():
    rows = [{"point": {"input_shape": [1, 8]}, "accuracy": 0.5, "error": None}]
    assert csv_text(rows).splitlines()[1].startswith('"[1, 8]",0.5,,')


def test_without_matplotlib_the_picture_is_skipped_and_said(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    with pytest.warns(UserWarning, match=r"front.png and results.html skipped .* matplotlib"):
        sweep({"total_bits": [4]}, output=tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["results.csv", "results.json"]


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (dict(executor="dask"), "executor must be 'local' or 'ray', not 'dask'"),
        (dict(workers=0), "workers must be a positive integer, not 0"),
        (dict(threads=1.5), "threads must be a positive integer, not 1.5"),
        (
            dict(address="127.0.0.1:6379"),
            "address is a Ray cluster's: give it with executor='ray', not 'local'",
        ),
        (dict(check_samples=-1), "check_samples must be a non-negative integer, not -1"),
        (dict(evaluate=None), "evaluate must be a function, not None"),
    ],
)
def test_bad_options_are_refused_before_anything_runs(options, message):
    with pytest.raises(ValueError) as error:
        sweep(**options)
    assert str(error.value) == message
    assert explore_models.TRAINED == []


def test_worker_processes_need_functions_they_can_import():
    with pytest.raises(ValueError, match=r"^with workers > 1, train, evaluate and inputs go to"):
        sweep(workers=2, evaluate=lambda model: 1.0)
    assert explore_models.TRAINED == []


def test_a_missing_ray_says_how_to_install_it(monkeypatch):
    monkeypatch.setitem(sys.modules, "ray", None)
    with pytest.raises(ImportError) as error:
        sweep(executor="ray")
    assert str(error.value) == (
        "executor='ray' needs Ray, which is not installed: pip install 'elasticai.creator[ray]'"
    )


def test_the_digits_example_prints_its_front(tmp_path, capsys):
    argv = ["--bits", "4", "8", "--epochs", "1", "--hidden", "4", "--workers", "1"]
    assert explore_digits.main([*argv, "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("the front (") and out[0].endswith(" of 6 points):")
    assert out[1].split()[:3] == ["total_bits", "target_ii", "accuracy"]
    assert out[-1].startswith("swept in ")
    assert (tmp_path / "front.png").is_file() and len(list((tmp_path / "cache").iterdir())) == 6
