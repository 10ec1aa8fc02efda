"""``rlsd_verl.eval.aggregate`` on fixture validation dumps.

The fixture responses are scored by the real ``compute_score`` and written with verl's own
``PPOTrainer._write_generations`` (the function behind ``trainer.validation_data_dir``), so the
aggregator is tested on the exact dump format; expected accuracies are computed from the fixture's
"correct" flags, independently of the aggregator.
"""

from __future__ import annotations

import json
import os
import random
from collections import defaultdict

import numpy as np
import pytest

from rlsd_verl.eval import aggregate as agg
from rlsd_verl.rewards import compute_score

MMMU_SUBJECTS = ["Accounting", "Art", "Math", "Physics"]
MV_SUBJECTS = ["algebra", "metric geometry - area", "counting"]


def _fixture_rows(seed: int = 0, n_mmmu: int = 24, n_mv: int = 18, n_vista: int = 7, responses_per_q=(1,)):
    """(data_source, response, gold, extra_info, correct) for several benchmarks and subjects."""
    rng = random.Random(seed)
    rows = []
    for i in range(n_mmmu):
        subject = MMMU_SUBJECTS[i % len(MMMU_SUBJECTS)]
        gold = "ABCD"[rng.randrange(4)]
        extra = {"id": f"validation_{subject}_{i}", "index": i, "subject": subject, "question_type": "multiple_choice",
                 "options": ["w", "x", "y", "z"]}
        for _ in range(rng.choice(responses_per_q)):
            correct = rng.random() < 0.6
            letter = gold if correct else "ABCD"[("ABCD".index(gold) + 1) % 4]
            rows.append(("MMMU/MMMU", f"<think>hm</think> <answer>{letter}</answer>", gold, extra, correct))
    for i in range(n_mv):
        subject = MV_SUBJECTS[i % len(MV_SUBJECTS)]
        extra = {"id": str(i + 1), "index": i, "subject": subject, "question_type": "free_form", "options": []}
        for _ in range(rng.choice(responses_per_q)):
            correct = rng.random() < 0.4
            rows.append(("MathLLMs/MathVision", "\\boxed{\\frac{1}{2}}" if correct else "\\boxed{3}", "0.5", extra, correct))
    for i in range(n_vista):
        extra = {"id": f"v{i}", "index": i, "subject": "", "question_type": "free_form", "options": []}
        correct = i % 2 == 0
        rows.append(("AI4Math/MathVista", f"<answer>{'1.5' if correct else '2'}</answer>", "1.5", extra, correct))
    return rows


def _write_dump(rows, path, step=0):
    """Score ``rows`` and write them with verl's ``_write_generations``; return the score dicts."""
    from verl.trainer.ppo.v1.trainer_base import PPOTrainer

    outs = [compute_score(ds, resp, gold, extra, format_weight=0.0) for ds, resp, gold, extra, _ in rows]
    for out, (*_, correct) in zip(outs, rows):
        assert out["acc"] == (1.0 if correct else 0.0)  # the fixture means what it says
    # one uid per question (sample_id within data source), session index per response
    uids, sessions = {}, defaultdict(int)
    keys = []
    for (ds, _, _, extra, _) in rows:
        q = (ds, extra["id"])
        uids.setdefault(q, f"uid{len(uids):04d}")
        keys.append(f"{uids[q]}_{sessions[q]}_0")
        sessions[q] += 1
    infos = {k: [o[k] for o in outs] for k in outs[0]}
    infos["reward"] = [o["score"] for o in outs]
    infos["uid"] = keys
    PPOTrainer._write_generations(
        inputs=[f"prompt {i}" for i in range(len(rows))],
        outputs=[r[1] for r in rows],
        gts=[r[2] for r in rows],
        scores=[o["score"] for o in outs],
        reward_extra_infos_dict=infos,
        dump_path=str(path),
        global_steps=step,
    )
    return outs


def _expected(rows, key):
    """Question-averaged accuracy grouped by ``key(row)`` (verl's mean@N)."""
    per_q = defaultdict(list)
    for ds, _, _, extra, correct in rows:
        per_q[(key((ds, extra)), ds, extra["id"])].append(1.0 if correct else 0.0)
    groups = defaultdict(list)
    for (k, _, _), vals in per_q.items():
        groups[k].append(sum(vals) / len(vals))
    return {k: sum(v) / len(v) for k, v in groups.items()}


BENCH = {"MMMU/MMMU": "MMMU", "MathLLMs/MathVision": "MathVision", "AI4Math/MathVista": "MathVista"}


@pytest.fixture(scope="module")
def dump_dir(tmp_path_factory):
    d = tmp_path_factory.mktemp("gen")
    rows = _fixture_rows(seed=1)
    _write_dump(rows, d, step=0)
    rows5 = _fixture_rows(seed=2)
    _write_dump(rows5, d, step=5)
    return d, rows, rows5


def test_per_benchmark_and_subject_accuracy(dump_dir):
    d, _, rows5 = dump_dir
    summary = agg.aggregate(str(d), name="GRPO", model="m")
    assert summary["schema"] == agg.SCHEMA and summary["step"] == 5  # highest step by default
    assert summary["n_rows"] == len(rows5)
    exp_bench = _expected(rows5, lambda r: BENCH[r[0]])
    assert set(summary["benchmarks"]) == set(exp_bench)
    for bench, acc in exp_bench.items():
        assert summary["benchmarks"][bench]["acc"] == pytest.approx(acc)
    exp_subj = _expected(rows5, lambda r: (BENCH[r[0]], r[1]["subject"]))
    for bench in ("MMMU", "MathVision"):
        by_subject = summary["benchmarks"][bench]["by_subject"]
        want = {s: a for (b, s), a in exp_subj.items() if b == bench}
        assert set(by_subject) == set(want)
        for s, a in want.items():
            assert by_subject[s]["acc"] == pytest.approx(a)
    # MMMU domains: instance-weighted over the subjects of each domain
    doms = summary["benchmarks"]["MMMU"]["by_domain"]
    assert set(doms) == {"Business", "Art and Design", "Science"}
    sci = [1.0 if c else 0.0 for ds, _, _, e, c in rows5 if ds == "MMMU/MMMU" and e["subject"] in ("Math", "Physics")]
    assert doms["Science"]["acc"] == pytest.approx(sum(sci) / len(sci))
    assert "by_subject" not in summary["benchmarks"]["MathVista"]  # no subjects in the fixture
    assert summary["data_sources"]["MMMU/MMMU"]["n_questions"] == 24


def test_step_selection(dump_dir):
    d, rows0, _ = dump_dir
    summary = agg.aggregate(str(d), step=0)
    assert summary["step"] == 0
    assert summary["benchmarks"]["MMMU"]["acc"] == pytest.approx(_expected(rows0, lambda r: BENCH[r[0]])["MMMU"])
    with pytest.raises(FileNotFoundError, match="steps present: \\[0, 5\\]"):
        agg.aggregate(str(d), step=3)


def test_several_responses_per_question_is_mean_at_n(tmp_path):
    rows = _fixture_rows(seed=3, responses_per_q=(1, 2, 4))
    _write_dump(rows, tmp_path)
    summary = agg.aggregate(str(tmp_path / "0.jsonl"))
    exp = _expected(rows, lambda r: BENCH[r[0]])
    for bench, acc in exp.items():
        assert summary["benchmarks"][bench]["acc"] == pytest.approx(acc)
    assert summary["benchmarks"]["MMMU"]["n_responses"] > summary["benchmarks"]["MMMU"]["n_questions"]
    # the row mean differs from the question mean here, so the test can tell them apart
    row_mean = np.mean([1.0 if c else 0.0 for ds, *_, c in rows if ds == "MMMU/MMMU"])
    assert abs(row_mean - exp["MMMU"]) > 1e-6


def test_matches_verl_validation_metrics(dump_dir):
    """Per data source, the aggregator's accuracy equals verl's val-core/<ds>/acc/mean@1."""
    from verl.trainer.ppo.metric_utils import process_validation_metrics

    d, _, rows5 = dump_dir
    lines = [json.loads(x) for x in open(d / "5.jsonl", encoding="utf-8")]
    infos = {k: [row[k] for row in lines] for k in ("acc", "score", "format", "timeout", "pred", "subject", "benchmark")}
    metrics = process_validation_metrics([row["data_source"] for row in lines],
                                         [row["uid"].rsplit("_", 2)[0] for row in lines], infos)
    summary = agg.aggregate(str(d))
    for ds, var2metric in metrics.items():
        assert "pred" not in var2metric and "subject" not in var2metric  # strings are skipped, not averaged
        assert summary["data_sources"][ds]["acc"] == pytest.approx(var2metric["acc"]["mean@1"])


def test_subjects_joined_from_parquet(tmp_path):
    """Dumps without a 'subject' field get subjects from the benchmark parquet (join on data_source + id)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    rows = _fixture_rows(seed=4, n_vista=0)
    _write_dump(rows, tmp_path / "gen")
    dump = tmp_path / "gen" / "0.jsonl"
    lines = [json.loads(x) for x in open(dump, encoding="utf-8")]
    with open(dump, "w", encoding="utf-8") as f:
        for row in lines:
            row.pop("subject")
            f.write(json.dumps(row) + "\n")
    seen = {}
    for ds, _, _, extra, _ in rows:
        seen[(ds, extra["id"])] = extra
    table = pa.table({
        "data_source": [ds for ds, _ in seen],
        "extra_info": [{"id": e["id"], "index": e["index"], "subject": e["subject"]} for e in seen.values()],
    })
    pq.write_table(table, tmp_path / "bench.parquet")
    without = agg.aggregate(str(dump))
    assert without["benchmarks"]["MMMU"]["by_subject"] == {}
    summary = agg.aggregate(str(dump), data_files=[str(tmp_path / "bench.parquet")])
    exp_subj = _expected(rows, lambda r: (BENCH[r[0]], r[1]["subject"]))
    for (bench, s), a in exp_subj.items():
        assert summary["benchmarks"][bench]["by_subject"][s]["acc"] == pytest.approx(a)


def test_cli_writes_json_atomically(dump_dir, tmp_path, capsys):
    d, _, rows5 = dump_dir
    out = tmp_path / "sub" / "eval.json"
    assert agg.main([str(d), "--out", str(out), "--name", "RLSD"]) == 0
    data = json.loads(out.read_text())
    assert data["name"] == "RLSD" and set(data["benchmarks"]) == {"MMMU", "MathVision", "MathVista"}
    assert [p for p in os.listdir(out.parent) if p != "eval.json"] == []  # no temp files left
    assert "MMMU" in capsys.readouterr().out


def test_bad_inputs_name_the_file(tmp_path, capsys):
    assert agg.main([str(tmp_path / "missing"), "--out", str(tmp_path / "o.json")]) == 2
    assert "missing" in capsys.readouterr().err
    (tmp_path / "d").mkdir()
    assert agg.main([str(tmp_path / "d"), "--out", str(tmp_path / "o.json")]) == 2
    assert "no <step>.jsonl" in capsys.readouterr().err
    bad = tmp_path / "d" / "0.jsonl"
    bad.write_text('{"acc": 1.0, "data_source": "x"}\n{not json\n')
    assert agg.main([str(tmp_path / "d"), "--out", str(tmp_path / "o.json")]) == 2
    assert f"{bad}:2" in capsys.readouterr().err
    bad.write_text('{"data_source": "x", "pred": "A"}\n')
    assert agg.main([str(bad), "--out", str(tmp_path / "o.json")]) == 2
    assert "neither a numeric 'acc' nor 'score'" in capsys.readouterr().err
    assert not (tmp_path / "o.json").exists()


def test_dump_from_another_reward_uses_score(tmp_path):
    p = tmp_path / "3.jsonl"
    p.write_text("".join(json.dumps({"score": s, "data_source": "hiyouga/geometry3k", "uid": f"u{i}_0_0"}) + "\n"
                         for i, s in enumerate([1.0, 0.0, 1.0, 1.0])))
    summary = agg.aggregate(str(tmp_path))
    e = summary["benchmarks"]["geometry3k"]
    assert e["metric"] == "score" and e["acc"] == pytest.approx(0.75) and summary["step"] == 3
