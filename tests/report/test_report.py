"""``rlsd_verl.report`` built from fixture runs.

Metric logs are written by verl's own ``FileLogger`` (``trainer.logger=file``) and evaluation JSONs by
the aggregator, so the report reads the real formats. Expected table cells are computed here from the
fixture numbers, not hard-coded.
"""

from __future__ import annotations

import json
import math
import os
import re

import pytest
from PIL import Image

from rlsd_verl import report
from rlsd_verl.utils.io import atomic_write_json
from rlsd_verl.eval.aggregate import SCHEMA, aggregate_rows

STEPS = list(range(0, 25, 5))
DS = {
    "MMMU": "MMMU/MMMU",
    "MathVista": "AI4Math/MathVista",
    "MathVision": "MathLLMs/MathVision",
    "ZeroBench": "jonathan-roberts1/zerobench_subquestions",
    "WeMath": "We-Math/We-Math",
}


def _val_acc(run_idx: int, col_idx: int, step: int) -> float:
    return round(0.3 + 0.05 * run_idx + 0.04 * col_idx + 0.01 * step / 5, 6)


def _write_metric_log(root, project, experiment, run_idx, columns):
    """A training run's metrics through verl's FileLogger: validation every 5 steps, train metrics each step."""
    from verl.utils.tracking import FileLogger

    os.environ["VERL_FILE_LOGGER_ROOT"] = str(root)
    logger = FileLogger(project, experiment)
    try:
        for step in range(0, STEPS[-1] + 1):
            data = {}
            if step > 0:
                data.update({
                    "actor/entropy": 1.0 - 0.02 * step + 0.1 * run_idx,
                    "response_length/mean": 300.0 + 5 * step,
                    "critic/score/mean": 0.1 * step,
                })
                if experiment.startswith("rlsd"):
                    data.update({"rlsd/lambda": max(0.0, 0.5 - 0.01 * step), "rlsd/clip_frac": 0.04,
                                 "rlsd/weight_mean": 1.0 + 0.001 * step,
                                 "failure/correct_frac": 0.02 * step, "failure/truncated_frac": 0.01 * step,
                                 "failure/response_length_correct": 200.0 - step,
                                 "failure/response_length_wrong": 400.0 + step})
            if step in STEPS:
                for ci, col in enumerate(report.COLUMNS):
                    if col in columns:
                        data[f"val-core/{DS[col]}/acc/mean@1"] = _val_acc(run_idx, ci, step)
                data["val-aux/num_turns/mean"] = 2.0
            data["training/bad"] = float("nan")  # non-finite values are skipped
            logger.log(data=data, step=step)
    finally:
        logger.finish()
    return os.path.join(str(root), project, f"{experiment}.jsonl")


def _eval_json(path, name, accs: dict[str, float], step=0):
    """An aggregator JSON whose benchmark accuracies are exactly ``accs`` (10 questions each)."""
    rows, n = [], 0
    for bench, acc in accs.items():
        k = round(acc * 10)
        for i in range(10):
            n += 1
            rows.append((n, {"acc": 1.0 if i < k else 0.0, "benchmark": bench, "data_source": f"src/{bench}",
                             "uid": f"{bench}-{i}_0_0", "pred": "x"}))
    summary = {"schema": SCHEMA, "name": name, "model": "m", "dump": "d", "step": step, **aggregate_rows(rows)}
    atomic_write_json(str(path), summary)
    return {b: round(a * 10) / 10 for b, a in accs.items()}


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    base = tmp_path_factory.mktemp("runs")
    # GRPO: training log (all five) + evaluation JSON (all five, overriding the log; ZeroBench-sub preferred)
    grpo = base / "grpo_run"
    _write_metric_log(grpo / "metrics", "rlsd", "grpo_qwen", 0, report.COLUMNS)
    grpo_eval = _eval_json(grpo / "eval.json", "GRPO", {"MMMU": 0.6, "MathVista": 0.8, "MathVision": 0.5,
                                                         "ZeroBench": 0.9, "ZeroBench-sub": 0.2, "WeMath": 0.6})
    # an evaluation at a lower step: the step-0 one above must win (the higher step wins)
    _eval_json(grpo / "old" / "eval_step_neg.json", "GRPO", {"MMMU": 0.1}, step=-5)
    # RLSD: training log only, without WeMath -> values from the log, average over four (flagged)
    rlsd = base / "rlsd_run"
    _write_metric_log(rlsd, "rlsd", "rlsd_qwen", 1, [c for c in report.COLUMNS if c != "WeMath"])
    # Base: evaluation JSON only, three benchmarks
    base_eval_path = base / "base_eval.json"
    base_eval = _eval_json(base_eval_path, "qwen3-vl-8b", {"MMMU": 0.6, "MathVista": 0.7, "MathVision": 0.5})
    # a validation dump in the run folder must be ignored
    (grpo / "generations").mkdir()
    (grpo / "generations" / "0.jsonl").write_text(json.dumps({"input": "q", "output": "a", "score": 1.0}) + "\n")
    return {"base": base, "grpo": grpo, "grpo_eval": grpo_eval, "rlsd": rlsd, "base_eval_path": base_eval_path,
            "base_eval": base_eval}


def _table_rows(md: str, section: str) -> dict[str, list[str]]:
    body = md.split(f"## {section}", 1)[1].split("\n## ", 1)[0]
    rows = {}
    for line in body.splitlines():
        if line.startswith("| ") and not line.startswith("| Method") and not line.startswith("| Run vs"):
            cells = [c.strip() for c in line.strip().strip("|").split("|")]
            rows[cells[0]] = cells[1:]
    return rows


def test_report_tables_and_plots(runs, tmp_path):
    out = tmp_path / "rep" / "report.md"
    rc = report.main([str(runs["grpo"]), str(runs["rlsd"]), str(runs["base_eval_path"]), "--out", str(out),
                      "--label", "base_eval=Base LLM"])
    assert rc == 0
    md = out.read_text()
    rows = _table_rows(md, "This reproduction")
    assert list(rows) == ["GRPO", "rlsd_qwen", "Base LLM"]

    # GRPO: from its evaluation JSON; ZeroBench column = ZeroBench-sub
    g = runs["grpo_eval"]
    want = [g["MMMU"], g["MathVista"], g["MathVision"], g["ZeroBench-sub"], g["WeMath"]]
    assert rows["GRPO"][:5] == [f"{100 * v:.2f}" for v in want]
    assert rows["GRPO"][5] == f"{100 * sum(want) / 5:.2f}"

    # RLSD: from the log's last validation step, marked †; WeMath missing; average over four, flagged *
    last = STEPS[-1]
    vals = [100 * _val_acc(1, ci, last) for ci in range(4)]
    assert rows["rlsd_qwen"][:4] == [f"{v:.2f}†" for v in vals]
    assert rows["rlsd_qwen"][4] == "—"
    assert rows["rlsd_qwen"][5] == f"{sum(vals) / 4:.2f}*"

    # Base: three benchmarks from the JSON
    b = runs["base_eval"]
    assert rows["Base LLM"] == [f"{100 * b['MMMU']:.2f}", f"{100 * b['MathVista']:.2f}", f"{100 * b['MathVision']:.2f}",
                                "—", "—", f"{100 * (b['MMMU'] + b['MathVista'] + b['MathVision']) / 3:.2f}*"]

    # paper numbers beside ours, and each paper Avg. is the mean of its five columns
    paper = _table_rows(md, "Paper")
    assert set(paper) == set(report.PAPER_TABLE2)
    for name, cells in paper.items():
        nums = [float(c) for c in cells]
        assert math.isclose(sum(nums[:5]) / 5, nums[5], abs_tol=0.006), name
    assert "arXiv:2604.03128" in md

    # differences for rows that name a paper method
    delta = md.split("## Difference to the paper", 1)[1].split("\n## ", 1)[0]
    grpo_line = next(x for x in delta.splitlines() if x.startswith("| GRPO vs GRPO"))
    cells = [c.strip() for c in grpo_line.strip("|").split("|")][1:]
    ref = report.PAPER_TABLE2["GRPO"]
    assert cells[0] == f"{100 * g['MMMU'] - ref['MMMU']:+.2f}"
    assert any(x.startswith("| Base LLM vs Base LLM") for x in delta.splitlines())
    assert "rlsd_qwen vs" not in delta  # an unknown label has no paper row

    # plots: real PNGs of non-trivial size, referenced by relative path
    plots = out.parent / "report_plots"
    for name in ("length_vs_accuracy", "val_acc", "entropy", "response_length", "rlsd", "failure"):
        png = plots / f"{name}.png"
        assert f"report_plots/{name}.png" in md
        with Image.open(png) as im:
            assert im.format == "PNG"
            assert im.width >= 400 and im.height >= 300
            lo, hi = im.convert("L").getextrema()
            assert hi - lo > 100  # not a blank canvas
    assert not [p for p in os.listdir(plots) if p.endswith(".tmp")]
    assert "generations/0.jsonl" not in md  # the validation dump is not an input


def test_runs_without_curves_say_so(runs, tmp_path):
    out = tmp_path / "r.md"
    assert report.main([str(runs["base_eval_path"]), "--out", str(out)]) == 0
    md = out.read_text()
    assert "qwen3-vl-8b" in md  # default label: the evaluation JSON's name
    assert md.count("no data in the metric logs") == len(report.PLOTS)
    assert not (tmp_path / "r_plots").exists()


def test_label_mapping_and_default_names(runs):
    run = report.load_run(str(runs["rlsd"]), report._parse_labels(["rlsd_qwen=RLSD"]))
    assert run.label == "RLSD" and report.paper_row_for(run.label) == "RLSD (Ours)"
    run = report.load_run(str(runs["rlsd"]), {})
    assert run.label == "rlsd_qwen"  # the experiment name of its only metric log
    assert report.paper_row_for("grpo_opsd") == "GRPO+OPSD" and report.paper_row_for("mystery") is None


def test_bad_inputs_are_named(tmp_path, capsys):
    assert report.main([str(tmp_path / "nope"), "--out", str(tmp_path / "o.md")]) == 2
    assert "nope" in capsys.readouterr().err
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"step": 0, "data": {"a": 1}}\n{oops\n')
    assert report.main([str(bad), "--out", str(tmp_path / "o.md")]) == 2
    assert f"{bad}:2" in capsys.readouterr().err
    other = tmp_path / "other.json"
    other.write_text('{"hello": 1}')
    assert report.main([str(other), "--out", str(tmp_path / "o.md")]) == 2
    assert "not an rlsd_verl evaluation JSON" in capsys.readouterr().err
    empty = tmp_path / "empty_dir"
    empty.mkdir()
    assert report.main([str(empty), "--out", str(tmp_path / "o.md")]) == 2
    assert "no metric log" in capsys.readouterr().err
    assert report.main([str(other), "--label", "nolabel", "--out", str(tmp_path / "o.md")]) == 2
    assert "KEY=NAME" in capsys.readouterr().err
    assert not (tmp_path / "o.md").exists()


def test_console_script_entry_point():
    """setup.py maps `rlsd-verl-report` to rlsd_verl.report:main."""
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    setup_py = open(os.path.join(root, "setup.py"), encoding="utf-8").read()
    m = re.search(r"rlsd-verl-report\s*=\s*([\w.]+):(\w+)", setup_py)
    assert m and m.group(1) == "rlsd_verl.report" and callable(getattr(report, m.group(2)))


def test_length_vs_accuracy_panels_put_accuracy_first_then_lengths():
    keys = ["failure/truncated_frac", "response_length/mean", "rlsd/lambda", "failure/response_length_wrong",
            "val-core/x/acc/mean@1", "failure/correct_frac", "failure/response_length_correct", "actor/entropy"]
    picked = report.plot_keys("length_vs_accuracy", keys)
    assert picked == ["val-core/x/acc/mean@1", "failure/correct_frac", "response_length/mean",
                      "failure/response_length_correct", "failure/response_length_wrong", "failure/truncated_frac"]
