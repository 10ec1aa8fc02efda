"""The real SmolLM2-135M-Instruct through verl's trainer on the CPU backend, and what its teacher means.

One RLSD run on the addition task (llama architecture, ``hf`` rollout, verl's remove-padding path,
validation before training, a checkpoint at step 2, token-credit records every step), then a resume from
that checkpoint with the hint removed from the teacher prompt. The teacher-meaning test checks the
records of the real run against a plain Hugging Face forward (``tests/e2e/reference_log_probs.py``):

* on step 1, the recorded student log-probs are the model's after the student prompt and the recorded
  teacher log-probs the model's after the same prompt with ``" The correct answer is {hint}."`` and the
  reference answer appended to the user message, to float32 precision; the same check fails by nats for a
  teacher without the hint and for a teacher one token off either way;
* the model, so prompted, raises a response's answer tokens when the hint is that answer against another
  number, in > 75 % of the responses where the hint moves them by > 0.1 nats (paired per response and
  counted by sign, so the verdict does not hang on which responses were sampled);
* the resumed run, whose teacher prompt has no hint, records Δ ≡ 0.

The mean Δ_t on the answer tokens of correct and wrong responses is printed, not asserted: with 80 sampled
responses it moved from +0.02 to +0.24 (correct) and from −0.42 to −0.06 (wrong) between runs and CPUs.
"""

from __future__ import annotations

import math
import statistics

import pytest

from rlsd_verl.algos.rlsd import rlsd_lambda
from rlsd_verl.cpu.smollm2_run import smollm2_assets, smollm2_run_overrides
from rlsd_verl.trainer.token_dump import read_records
from tests.conftest import assert_ok, run_trainer
from tests.e2e.reference_log_probs import ReferenceModel, max_gap, shifted

pytestmark = pytest.mark.e2e

EMPTY_HINT = ["algorithm.rlsd.hint_key=extra_info.subfield", "algorithm.rlsd.teacher_template='{hint}'"]
TEMPLATE = " The correct answer is {hint}."
#: float32 HF forward vs the trainer's actor (student) and teacher copy on the same weights; the records keep 6
#: decimals. Measured: 2.6e-5 / 3.4e-5 (student / teacher, hf rollout), 3.1e-5 / 3.1e-5 (vLLM rollout).
REFERENCE_TOL = 1e-3
#: the controls (no hint, one token off) must miss by at least this (they miss by nats)
CONTROL_GAP = 0.1
#: The hint's meaning, paired per response: the teacher's log-prob of the answer tokens when the hint is that
#: answer minus when it is another number. Where the student is already sure the margin is ~0 (Δ_t ≤ −log P_S),
#: and its mean rides on a few large ones (+1.18 and +0.78 nats in two runs), so the check counts signs among
#: the responses where it is over DECISIVE nats: positive in 26 of 26 (hf rollout) and 29 of 30 (vLLM rollout);
#: a hint the model ignored would give about half.
DECISIVE = 0.1
MIN_DECISIVE = 10
COPY_SHARE = 0.75
PROMPTS = 10


def teacher_meaning(records: list[dict]) -> dict[str, float]:
    """Mean Δ_t on answer / other tokens of correct responses and on answer tokens of wrong ones."""
    ans_ok, other_ok, ans_bad = [], [], []
    for rec in records:
        if rec["delta"] is None or not rec["answer_tokens"]:
            continue
        answer = set(rec["answer_tokens"])
        for t, d in enumerate(rec["delta"]):
            if rec["correct"]:
                (ans_ok if t in answer else other_ok).append(d)
            elif t in answer:
                ans_bad.append(d)
    mean = lambda xs: statistics.fmean(xs) if xs else math.nan  # noqa: E731
    return {
        "answer_correct": mean(ans_ok), "other_correct": mean(other_ok), "answer_wrong": mean(ans_bad),
        "n_answer_correct": len(ans_ok), "n_answer_wrong": len(ans_bad),
    }


def check_against_reference(model_dir: str, records: list[dict], temperature: float = 1.0) -> dict[str, float]:
    """The records' log-probs equal a plain HF forward's, and the hint means what it should to the model.

    * Step 1's records (student and teacher are both the initial weights) against
      :class:`~tests.e2e.reference_log_probs.ReferenceModel`: ``student_log_prob`` is the log-prob of the
      response after the student prompt, ``teacher_log_prob`` after the same prompt with the rendered
      reference answer, to float32 precision. Controls that must miss by far more: the recorded teacher
      against the hint-less prompt (a hint that never reached the teacher), and the teacher read one token
      off either way (a misaligned teacher).
    * Every record's response with a final answer: the model's teacher raises those answer tokens when the
      hint is that answer, against another number, in most responses where the hint moves them at all
      (paired per response and counted by sign, so it does not hang on which responses were sampled, as
      the earlier means of Δ by correctness did: they flipped on another CPU).
    """
    first = [r for r in records if r["step"] == 1 and r["teacher_log_prob"] is not None]
    assert first, "no step-1 records with a teacher pass"
    ref = ReferenceModel(model_dir, TEMPLATE, temperature)
    expected = ref.student_and_teacher(first)
    teacher = [r["teacher_log_prob"] for r in first]
    stats = {
        "records": len(first),
        "student_gap": max_gap([r["student_log_prob"] for r in first], [e["student"] for e in expected]),
        "teacher_gap": max_gap(teacher, [e["teacher"] for e in expected]),
        "teacher_vs_no_hint": max_gap(teacher, [e["student"] for e in expected]),
        "teacher_off_by_one": min(max_gap([shifted(t, by) for t in teacher], [e["teacher"] for e in expected])
                                  for by in (1, -1)),
    }
    assert stats["student_gap"] < REFERENCE_TOL, f"the student's log-probs are not the model's: {stats}"
    assert stats["teacher_gap"] < REFERENCE_TOL, f"the teacher's log-probs are not the hinted model's: {stats}"
    assert stats["teacher_vs_no_hint"] > CONTROL_GAP and stats["teacher_off_by_one"] > CONTROL_GAP, stats
    margins = ref.copy_margins(records)
    decisive = [m for m in margins if abs(m) > DECISIVE]
    stats.update(answered=len(margins), decisive=len(decisive),
                 copy_share=sum(m > 0 for m in decisive) / len(decisive) if decisive else math.nan,
                 copy_margin_mean=statistics.fmean(margins) if margins else math.nan)
    assert len(decisive) >= MIN_DECISIVE, f"too few responses to read the hint's meaning: {stats}"
    assert stats["copy_share"] > COPY_SHARE, f"the model's teacher does not follow the hint: {stats}"
    stats.update(teacher_meaning(records))
    return stats


@pytest.fixture(scope="module")
def smollm2_runs(tmp_path_factory):
    out = tmp_path_factory.mktemp("smollm2")
    model, train, val = smollm2_assets(out / "data", n_train=64, n_val=8)
    # 10 prompts x 4 rollouts, every response dumped on both steps: 80 responses, about twice the answer
    # tokens the check first rested on (~11 answer tokens of correct responses made its margins brittle)
    base = smollm2_run_overrides(model, train, val, out, "rlsd_smollm2", prompts_per_step=PROMPTS, rollout_n=4) + [
        "algorithm.adv_estimator=rlsd",
        "algorithm.rlsd.decay_steps=4",
        "algorithm.rlsd.sync_interval=1",
        # a template this 135M model reads the right way round (benchmarks/teacher_templates.py: with the
        # paper's template its teacher *raises* wrong sums); the hint is the reference answer, as in the paper
        f"algorithm.rlsd.teacher_template='{TEMPLATE}'",
        f"algorithm.rlsd.dump_tokens={PROMPTS * 4}",
        "algorithm.rlsd.dump_every=1",
        "trainer.save_freq=2",
    ]
    first = run_trainer(out, "rlsd_smollm2", base + ["trainer.total_training_steps=2", "trainer.val_before_train=True"])
    assert_ok(first)
    first_metrics = first.metrics
    dump = out / "logs" / "tiny" / "rlsd_smollm2.tokens.jsonl"
    first_records = read_records(dump)
    resumed = run_trainer(out, "rlsd_smollm2", base + EMPTY_HINT + ["trainer.total_training_steps=3"])
    assert_ok(resumed)
    resumed_records = [r for r in read_records(dump) if r["step"] == 3]
    return first_metrics, first_records, resumed, resumed_records, model


def test_smollm2_trains_validates_and_dumps(smollm2_runs):
    metrics, records, _, _, _ = smollm2_runs
    assert any(k.startswith("val-core/") for k in metrics.get(0, {})), sorted(metrics.get(0, {}))[:20]
    for step in (1, 2):
        m = metrics[step]
        assert m["rlsd/lambda"] == pytest.approx(rlsd_lambda(step - 1, 0.5, 4))
        assert m["rlsd/teacher_skipped"] == 0.0 and m["rlsd/teacher_extra_prompt_len_mean"] > 0
        assert m["actor/grad_norm"] > 0
    assert {r["step"] for r in records} == {1, 2}
    for rec in records:
        n = len(rec["token_ids"])
        assert n > 0 and len(rec["delta"]) == len(rec["weight"]) == len(rec["token_advantage"]) == n
        assert "".join(rec["tokens"]).strip() and rec["response"]
        assert rec["correct"] == (rec["score"] == 1.0)
        # the recorded advantage is Â = A·((1−λ) + λ·clip(w, 1±0.2)) with w = exp(sign(A)·Δ)
        a, lam = rec["advantage"], rec["lambda"]
        for d, w, adv in zip(rec["delta"], rec["weight"], rec["token_advantage"]):
            assert w == pytest.approx(math.exp(math.copysign(1, a) * d) if a else 1.0, rel=1e-4, abs=1e-5)
            assert adv == pytest.approx(a * (1 - lam + lam * min(max(w, 0.8), 1.2)), rel=1e-4, abs=1e-5)


def test_teacher_meaning_on_the_real_model(smollm2_runs):
    _, records, _, _, model = smollm2_runs
    # the records hold what Δ is made of
    for rec in records:
        assert [round(a - b, 4) for a, b in zip(rec["teacher_log_prob"], rec["student_log_prob"])] == pytest.approx(
            rec["delta"], abs=2e-4
        )
    print("teacher against the reference:", check_against_reference(model, records))


def test_resume_without_hint_records_zero_delta(smollm2_runs):
    _, _, resumed, records, _ = smollm2_runs
    assert "Resuming from" in resumed.log or "global_step_2" in resumed.log
    m = resumed.metrics[3]
    assert m["rlsd/lambda"] == pytest.approx(rlsd_lambda(2, 0.5, 4))  # the schedule went on from step 2
    assert m["rlsd/teacher_extra_prompt_len_mean"] == 0.0
    assert records, "the resumed run wrote no token records"
    assert max(abs(d) for r in records for d in r["delta"]) < 1e-4  # teacher input == student input: Δ = 0


@pytest.mark.parametrize("method", ["grpo", "opsd", "grpo_opsd", "sdpo"])
def test_smollm2_grpo_and_baselines_run(tmp_path, method):
    """GRPO (verl's own trainer) and the paper's self-distillation baselines take a step on the real model."""
    model, train, val = smollm2_assets(tmp_path / "data", n_train=16, n_val=4)
    overrides = smollm2_run_overrides(model, train, val, tmp_path, method, prompts_per_step=2, rollout_n=4) + [
        f"algorithm.adv_estimator={method}",
        "trainer.total_training_steps=1",
    ]
    run = run_trainer(tmp_path, method, overrides)
    assert_ok(run)
    m = run.metrics[1]
    assert "actor/pg_loss" in m and math.isfinite(m["actor/grad_norm"])
    if method in ("opsd", "grpo_opsd"):  # Â contains Δ, never all zero on a real model
        assert m["actor/grad_norm"] > 0
        assert m[f"{method}/teacher_extra_prompt_len_mean"] > 0
    if method == "sdpo":
        assert f"{method}/teacher_skipped" in m
