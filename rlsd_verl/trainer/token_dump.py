"""Token-credit records: per response token, the teacher's evidence Δ_t, the weight w_t and the advantage Â_t.

With ``algorithm.rlsd.dump_tokens=N`` the RLSD trainer appends, every ``algorithm.rlsd.dump_every`` steps,
``N`` of the step's responses to a JSONL file beside verl's ``file``-logger metrics
(``<VERL_FILE_LOGGER_ROOT>/<project>/<experiment>.tokens.jsonl``, or ``algorithm.rlsd.dump_path``).
``python -m rlsd_verl.viz FILE --out DIR`` renders them as token heatmaps (the paper's Fig. 6).

One JSON object per response (one line)::

    step, method, lambda, row          trainer step, estimator, λ of this update, row in the batch
    uid, prompt, ground_truth          the prompt's group id, its text (chat template included), the gold answer
    score, acc, correct                the verifier's reward, its ``acc`` (when the reward reports one), the verdict
    response, token_ids, tokens        the response text and its token ids / token strings (special tokens kept)
    offsets                            [start, end) of each token in ``response``
    answer_span, answer_tokens         the final answer's character span (rlsd_verl.rewards.final_number) and
                                       the indices of the tokens that overlap it
    advantage                          the sequence-level advantage A (GRPO's, before RLSD)
    delta, weight                      Δ_t = log P_T − log P_S and w_t = exp(sign(A)·Δ_t) (null: no teacher pass)
    teacher_log_prob, student_log_prob log P_T(y_t | x, r, y_<t) and log P_S(y_t | x, y_<t) (null: no teacher pass)
    token_advantage                    Â_t, what enters the PPO loss

Which responses: real (non-padding) rows, alternating between correct and wrong ones while both remain, in
batch order, so a small ``N`` still shows credit and blame. The records of one step are written with one
``write`` on a file opened with ``O_APPEND``: a reader never sees half a step, and a crash loses at most
the step being written.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from typing import Any

SUFFIX = ".tokens.jsonl"


def default_dump_path(project: str, experiment: str) -> str:
    """Where verl's ``file`` logger writes the metrics, with ``.tokens.jsonl`` instead of ``.jsonl``."""
    path = os.environ.get("VERL_FILE_LOGGER_PATH")
    if path:
        return (path[: -len(".jsonl")] if path.endswith(".jsonl") else path) + SUFFIX
    root = os.path.expanduser(os.environ.get("VERL_FILE_LOGGER_ROOT", "."))
    return os.path.join(root, str(project), f"{experiment}{SUFFIX}")


def should_dump(step: int, dump_tokens: int, dump_every: int) -> bool:
    """True on steps 1, 1 + dump_every, 1 + 2·dump_every, … when dumping is on."""
    return dump_tokens > 0 and dump_every > 0 and (step - 1) % dump_every == 0


def select_rows(correct: Sequence[bool], real: Sequence[bool], n: int) -> list[int]:
    """Up to ``n`` real rows, alternating correct / wrong while both remain (batch order within each)."""
    right = [i for i, (c, r) in enumerate(zip(correct, real)) if r and c]
    wrong = [i for i, (c, r) in enumerate(zip(correct, real)) if r and not c]
    chosen: list[int] = []
    while len(chosen) < n and (right or wrong):
        for pool in (right, wrong):
            if pool and len(chosen) < n:
                chosen.append(pool.pop(0))
    return sorted(chosen)


def token_offsets(tokenizer, token_ids: Sequence[int]) -> tuple[str, list[str], list[list[int]]]:
    """``(text, tokens, offsets)``: the decoded response, each token's string and its ``[start, end)``.

    Offsets come from decoding growing prefixes, so multi-token characters and merged spaces stay
    consistent with the full decoded text; a token that adds no character gets an empty span.
    """
    ids = [int(t) for t in token_ids]
    text = tokenizer.decode(ids, skip_special_tokens=False)
    tokens = [tokenizer.decode([t], skip_special_tokens=False) for t in ids]
    offsets, prev = [], 0
    for k in range(len(ids)):
        end = len(tokenizer.decode(ids[: k + 1], skip_special_tokens=False)) if k + 1 < len(ids) else len(text)
        end = max(prev, min(end, len(text)))
        offsets.append([prev, end])
        prev = end
    return text, tokens, offsets


def answer_token_indices(offsets: Sequence[Sequence[int]], span: tuple[int, int] | None) -> list[int]:
    """Indices of the tokens whose ``[start, end)`` overlaps the answer's character span."""
    if span is None:
        return []
    start, end = span
    return [k for k, (s, e) in enumerate(offsets) if s < end and e > start]


def _floats(values) -> list[float]:
    return [round(float(v), 6) for v in values]


def build_records(
    *,
    tokenizer,
    step: int,
    method: str,
    lam: float,
    rows: Sequence[int],
    response_ids: Sequence[Sequence[int]],
    base_advantages: Sequence[float],
    token_advantages: Sequence[Sequence[float]],
    delta: Sequence[Sequence[float]] | None,
    weight: Sequence[Sequence[float]] | None,
    scores: Sequence[float],
    accs: Sequence[float | None],
    correct: Sequence[bool],
    uids: Sequence[str],
    prompts: Sequence[str],
    ground_truths: Sequence[str],
    teacher_log_probs: Sequence[Sequence[float]] | None = None,
    student_log_probs: Sequence[Sequence[float]] | None = None,
) -> list[dict[str, Any]]:
    """One record per chosen row (see the module docstring); per-token lists are cut to the response length.

    ``response_ids[i]`` holds only row ``i``'s real response tokens; ``token_advantages`` / ``delta`` /
    ``weight`` rows may be longer (padded) and are cut to the same length.
    """
    from rlsd_verl.rewards.final_number import answer_char_span

    records = []
    for i in rows:
        ids = [int(t) for t in response_ids[i]]
        n = len(ids)
        text, tokens, offsets = token_offsets(tokenizer, ids)
        span = answer_char_span(text)
        records.append(
            {
                "step": int(step),
                "method": method,
                "lambda": float(lam),
                "row": int(i),
                "uid": str(uids[i]),
                "prompt": prompts[i],
                "ground_truth": ground_truths[i],
                "score": float(scores[i]),
                "acc": None if accs[i] is None else float(accs[i]),
                "correct": bool(correct[i]),
                "response": text,
                "token_ids": ids,
                "tokens": tokens,
                "offsets": offsets,
                "answer_span": list(span) if span is not None else None,
                "answer_tokens": answer_token_indices(offsets, span),
                "advantage": float(base_advantages[i]),
                "delta": None if delta is None else _floats(delta[i][:n]),
                "weight": None if weight is None else _floats(weight[i][:n]),
                "teacher_log_prob": None if teacher_log_probs is None else _floats(teacher_log_probs[i][:n]),
                "student_log_prob": None if student_log_probs is None else _floats(student_log_probs[i][:n]),
                "token_advantage": _floats(token_advantages[i][:n]),
            }
        )
    return records


def append_records(path: str | os.PathLike, records: Sequence[dict]) -> int:
    """Append ``records`` as JSONL with a single ``write`` (O_APPEND); return the number of bytes written."""
    if not records:
        return 0
    path = os.fspath(path)
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    payload = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records).encode("utf-8")
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    try:
        written = 0
        view = memoryview(payload)
        while written < len(payload):  # a regular file takes it in one call; loop for safety
            written += os.write(fd, view[written:])
    finally:
        os.close(fd)
    return len(payload)


def read_records(path: str | os.PathLike) -> list[dict]:
    """All records of a ``.tokens.jsonl`` file (the package's JSONL reader: a bad line names its number)."""
    from rlsd_verl.utils.io import read_jsonl

    return [record for _, record in read_jsonl(path)]


def _row_value(td, key: str, i: int):
    value = td[key][i]
    if hasattr(value, "data") and not hasattr(value, "dim"):  # tensordict NonTensorData
        value = value.data
    return value


def dump_batch(trainer, batch, base, teacher_lp, student_lp, token_adv, valid, lam: float) -> str:
    """Glue for :class:`~rlsd_verl.trainer.rlsd_trainer.RLSDTrainer`: record this step's responses.

    ``base`` / ``token_adv`` / ``teacher_lp`` / ``student_lp`` / ``valid`` are the padded
    ``(batch, max_response_len)`` tensors of ``_compute_advantage`` (``teacher_lp`` None when the teacher
    pass was skipped). Reads tokens, scores and ground truths from TransferQueue; returns the file path.
    """
    import transfer_queue as tq

    from rlsd_verl.algos.rlsd import rlsd_token_weights

    cfg = trainer.rlsd
    data = tq.kv_batch_get(
        keys=batch.keys, partition_id=batch.partition_id,
        select_fields=["prompts", "responses", "response_mask", "rm_scores", "uid"],
    )
    try:
        extra = tq.kv_batch_get(
            keys=batch.keys, partition_id=batch.partition_id, select_fields=["reward_model", "extra_fields"]
        )
    except Exception:  # a dataset without reward_model, or a reward without extra info
        extra = None
    n_rows = len(batch)
    real = [not t.get("is_padding", False) for t in batch.tags]
    scores = [float(data["rm_scores"][i].sum()) for i in range(n_rows)]
    accs: list[float | None] = []
    truths: list[str] = []
    for i in range(n_rows):
        acc, truth = None, ""
        if extra is not None:
            fields = _row_value(extra, "extra_fields", i)
            info = fields.get("reward_extra_info", {}) if isinstance(fields, dict) else {}
            if isinstance(info, dict) and info.get("acc") is not None:
                acc = float(info["acc"])
            rm = _row_value(extra, "reward_model", i)
            if isinstance(rm, dict) and rm.get("ground_truth") is not None:
                truth = str(rm["ground_truth"])
        accs.append(acc)
        truths.append(truth)
    correct = [(a >= 0.5) if a is not None else (s >= cfg.sdpo_success_threshold) for a, s in zip(accs, scores)]
    rows = select_rows(correct, real, cfg.dump_tokens)
    lengths = [int(data["response_mask"][i].sum()) for i in range(n_rows)]
    response_ids = [data["responses"][i][: lengths[i]].tolist() if i in rows else [] for i in range(n_rows)]
    prompts = [
        trainer.tokenizer.decode(data["prompts"][i].tolist(), skip_special_tokens=False) if i in rows else ""
        for i in range(n_rows)
    ]
    uids = [str(u) for u in _row_list(data, "uid")]
    valid_mask = valid > 0
    base_seq = [float(base[i][valid_mask[i]][0]) if bool(valid_mask[i].any()) else 0.0 for i in range(n_rows)]
    delta = weight = t_lp = s_lp = None
    if teacher_lp is not None:
        delta, weight = rlsd_token_weights(base, teacher_lp, student_lp, valid)
        delta, weight = delta.tolist(), weight.tolist()
        t_lp, s_lp = teacher_lp.tolist(), student_lp.tolist()
    records = build_records(
        tokenizer=trainer.tokenizer, step=trainer.global_steps, method=trainer.method, lam=lam, rows=rows,
        response_ids=response_ids, base_advantages=base_seq, token_advantages=token_adv.tolist(), delta=delta,
        weight=weight, scores=scores, accs=accs, correct=correct, uids=uids, prompts=prompts, ground_truths=truths,
        teacher_log_probs=t_lp, student_log_probs=s_lp,
    )
    path = cfg.dump_path or default_dump_path(trainer.config.trainer.project_name, trainer.config.trainer.experiment_name)
    append_records(path, records)
    return path


def _row_list(td, key: str) -> list:
    value = td[key]
    if hasattr(value, "tolist"):
        value = value.tolist()
    return list(value)
