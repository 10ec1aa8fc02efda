"""Token-credit records: selection, offsets, answer tokens, the atomic append, and the viz CLI."""

from __future__ import annotations

import json
import os

import pytest
import torch

from rlsd_verl.algos.rlsd import compute_rlsd_advantages, rlsd_token_weights
from rlsd_verl.trainer import token_dump


class CharTokenizer:
    """One token per character (ids = code points); enough to check offsets."""

    def decode(self, ids, skip_special_tokens=False):
        return "".join(chr(i) for i in ids)


def test_select_rows_alternates_correct_and_wrong_and_skips_padding():
    correct = [False, False, True, False, True, True]
    real = [True, True, True, True, True, False]
    assert token_dump.select_rows(correct, real, 3) == [0, 2, 4]  # right 2, wrong 0, right 4
    assert token_dump.select_rows(correct, real, 4) == [0, 1, 2, 4]
    assert token_dump.select_rows(correct, real, 100) == [0, 1, 2, 3, 4]
    assert token_dump.select_rows(correct, real, 0) == []


def test_should_dump_schedule():
    assert [s for s in range(1, 12) if token_dump.should_dump(s, 4, 5)] == [1, 6, 11]
    assert not token_dump.should_dump(1, 0, 5)


def test_records_mark_the_answer_tokens_and_cut_padding():
    tok = CharTokenizer()
    text = "2 + 3 = 5"
    ids = [ord(c) for c in text]
    pad = 3
    n = len(ids)
    delta = [[0.1] * n + [9.0] * pad]
    recs = token_dump.build_records(
        tokenizer=tok, step=2, method="rlsd", lam=0.5, rows=[0], response_ids=[ids], base_advantages=[1.0],
        token_advantages=[[1.0] * (n + pad)], delta=delta, weight=delta, scores=[1.0], accs=[1.0], correct=[True],
        uids=["u"], prompts=["p"], ground_truths=["5"],
    )
    (rec,) = recs
    assert rec["response"] == text and rec["tokens"] == list(text)
    assert rec["offsets"][-1] == [n - 1, n]
    assert rec["answer_tokens"] == [n - 1] and rec["answer_span"] == [n - 1, n]
    assert len(rec["delta"]) == len(rec["token_advantage"]) == n  # padding cut


def test_weights_match_the_advantage_formula():
    torch.manual_seed(0)
    adv = torch.tensor([[1.0] * 5, [-0.5] * 5])
    t, s = torch.randn(2, 5), torch.randn(2, 5)
    mask = torch.ones(2, 5)
    mask[1, 3:] = 0
    delta, weight = rlsd_token_weights(adv, t, s, mask)
    assert torch.allclose(delta[mask > 0], (t - s)[mask > 0])
    assert torch.all(weight[mask == 0] == 1) and torch.all(delta[mask == 0] == 0)
    lam, eps = 0.5, 0.2
    expected = adv * (1 - lam + lam * weight.clamp(1 - eps, 1 + eps)) * mask
    got, _ = compute_rlsd_advantages(adv, t, s, mask, lam=lam, clip_eps=eps)
    assert torch.allclose(got, expected)


def test_append_is_whole_lines_and_readable(tmp_path):
    path = tmp_path / "sub" / "x.tokens.jsonl"
    token_dump.append_records(path, [{"a": 1}, {"a": 2}])
    token_dump.append_records(path, [{"a": 3}])
    assert [r["a"] for r in token_dump.read_records(path)] == [1, 2, 3]
    path.write_text(path.read_text() + "{broken\n")
    with pytest.raises(ValueError, match=r"x.tokens.jsonl:4"):
        token_dump.read_records(path)


def test_default_path_is_beside_the_metrics(monkeypatch, tmp_path):
    monkeypatch.delenv("VERL_FILE_LOGGER_PATH", raising=False)
    monkeypatch.setenv("VERL_FILE_LOGGER_ROOT", str(tmp_path))
    assert token_dump.default_dump_path("proj", "exp") == os.path.join(str(tmp_path), "proj", "exp.tokens.jsonl")
    monkeypatch.setenv("VERL_FILE_LOGGER_PATH", str(tmp_path / "m.jsonl"))
    assert token_dump.default_dump_path("proj", "exp") == str(tmp_path / "m.tokens.jsonl")


def _record(correct: bool, delta):
    text = "1 + 1 = 2" if correct else "1 + 1 = 3"
    n = len(text)
    return {
        "step": 1, "method": "rlsd", "lambda": 0.5, "row": 0, "uid": "u", "prompt": "What is 1 + 1?",
        "ground_truth": "2", "score": float(correct), "acc": float(correct), "correct": correct, "response": text,
        "token_ids": [ord(c) for c in text], "tokens": list(text), "offsets": [[i, i + 1] for i in range(n)],
        "answer_span": [n - 1, n], "answer_tokens": [n - 1], "advantage": 1.0 if correct else -1.0,
        "delta": delta(n), "weight": [1.0] * n, "token_advantage": [1.0 if correct else -1.0] * n,
    }


def test_viz_colours_follow_credit_and_blame():
    from rlsd_verl.viz import GREEN, RED, token_intensity

    up = _record(True, lambda n: [0.0] * (n - 1) + [2.0])
    colours = token_intensity(up, "credit", scale=2.0)
    assert colours[-1] == (GREEN, 1.0) and colours[0][1] == 0.0
    down = _record(False, lambda n: [0.0] * (n - 1) + [-1.0])
    colours = token_intensity(down, "credit", scale=2.0)
    assert colours[-1] == (RED, 0.5)  # the teacher dislikes the wrong answer: blame
    # delta mode: raw sign
    assert token_intensity(down, "delta", 2.0)[-1] == (RED, 0.5)
    with pytest.raises(ValueError, match="mode"):
        token_intensity(up, "nope")


def test_viz_cli_writes_html_and_png(tmp_path):
    from rlsd_verl import viz

    log = tmp_path / "run.tokens.jsonl"
    token_dump.append_records(log, [_record(True, lambda n: [0.5] * n), _record(False, lambda n: [-0.5] * n)])
    out = tmp_path / "viz"
    assert viz.main([str(log), "--out", str(out)]) == 0
    page = (out / "index.html").read_text()
    assert "correct" in page and "wrong" in page and "Δ=" in page
    png = (out / "step_1.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 2000
    assert viz.main([str(tmp_path / "missing.jsonl"), "--out", str(out)]) == 2
    bad = tmp_path / "bad.jsonl"
    bad.write_text(json.dumps({"x": 1}) + "\n")
    assert viz.main([str(bad), "--out", str(out)]) == 2
