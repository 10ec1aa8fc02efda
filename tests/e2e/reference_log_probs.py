"""An independent check of token-credit records: the same log-probs from a plain Hugging Face forward.

The trainer's records (:mod:`rlsd_verl.trainer.token_dump`) hold, per response token, the student's
``log P_S(y_t | x, y_<t)`` (verl's ``old_log_probs``) and the teacher's ``log P_T(y_t | x, r, y_<t)``
(our teacher pass: the agent loop's teacher prompt, the teacher copy in the training engine). This module
recomputes both without any of that code: the chat template applied by ``transformers`` to the question
(read back from the recorded prompt) with and without the rendered hint appended to the user message,
the recorded response tokens appended, one ``AutoModelForCausalLM`` forward each.

For records of step 1 the student and the teacher are both the initial weights, so the recorded values
must equal these to float32 precision. A teacher that did not see the hint, that scored tokens one off
from the student's, or a student scored with the hint, all miss by far more.
"""

from __future__ import annotations

import re

USER = re.compile(r"<\|im_start\|>user\n(.*?)<\|im_end\|>", re.DOTALL)


def _question(tokenizer, prompt: str) -> str:
    found = USER.findall(prompt)
    assert len(found) == 1, f"expected one user message in the recorded prompt: {prompt!r}"
    question = found[0]
    rebuilt = tokenizer.apply_chat_template([{"role": "user", "content": question}], tokenize=False,
                                            add_generation_prompt=True)
    assert rebuilt == prompt, f"the chat template does not rebuild the recorded prompt:\n{rebuilt!r}\n{prompt!r}"
    return question


def _token_log_probs(model, prompt_ids: list[int], response_ids: list[int], temperature: float) -> list[float]:
    import torch

    ids = torch.tensor([prompt_ids + response_ids])
    with torch.no_grad():
        logits = model(input_ids=ids).logits[0].float() / temperature
    logp = torch.log_softmax(logits[len(prompt_ids) - 1 : -1], dim=-1)
    return logp.gather(-1, torch.tensor(response_ids)[:, None])[:, 0].tolist()


class ReferenceModel:
    """A fresh float32 HF model in ``model_dir`` scoring response tokens after a chat prompt.

    ``template`` is the teacher template with ``{hint}``, appended to the user message as
    ``teacher_prompt=paper`` does. ``temperature`` is the rollout's: verl scores tokens with the logits
    divided by it, the student's ``old_log_probs`` and the teacher's alike.
    """

    def __init__(self, model_dir: str, template: str, temperature: float = 1.0):
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer

        self.tokenizer = AutoTokenizer.from_pretrained(model_dir)
        self.model = AutoModelForCausalLM.from_pretrained(model_dir, dtype=torch.float32, attn_implementation="eager")
        self.model.eval()
        self.template, self.temperature = template, temperature

    def log_probs(self, prompt: str, response_ids: list[int], hint: str | None = None) -> list[float]:
        """``log P(y_t | prompt [+ rendered hint], y_<t)`` per response token; ``prompt`` is a recorded prompt."""
        question = _question(self.tokenizer, prompt)
        text = question if hint is None else question + self.template.replace("{hint}", hint)
        rendered = self.tokenizer.apply_chat_template([{"role": "user", "content": text}], tokenize=False,
                                                      add_generation_prompt=True)
        ids = self.tokenizer(rendered, add_special_tokens=False).input_ids
        return _token_log_probs(self.model, list(ids), [int(t) for t in response_ids], self.temperature)

    def student_and_teacher(self, records: list[dict]) -> list[dict]:
        """Per record: ``{"student": [...], "teacher": [...]}``, the hint being the record's ``ground_truth``
        (the reference answer, ``algorithm.rlsd.hint_key``'s default)."""
        return [
            {"student": self.log_probs(r["prompt"], r["token_ids"]),
             "teacher": self.log_probs(r["prompt"], r["token_ids"], hint=r["ground_truth"])}
            for r in records
        ]

    def copy_margins(self, records: list[dict]) -> list[float]:
        """What the hint means to this model, paired per response: for each response with a final answer,
        the teacher's log-prob of the answer tokens when the hint *is* that answer minus when it is another
        number (the reference answer for a wrong response, the reference answer + 1 for a correct one)."""
        margins = []
        for r in records:
            if not r["answer_tokens"] or r["answer_span"] is None:
                continue
            start, end = r["answer_span"]
            answer = r["response"][start:end]
            other = str(int(r["ground_truth"]) + 1) if r["correct"] else r["ground_truth"]
            same = self.log_probs(r["prompt"], r["token_ids"], hint=answer)
            differ = self.log_probs(r["prompt"], r["token_ids"], hint=other)
            margins.append(sum(same[t] - differ[t] for t in r["answer_tokens"]))
        return margins


def max_gap(recorded: list[list[float]], reference: list[list[float]]) -> float:
    """The largest ``|recorded − reference|`` over all tokens of all records (lengths must agree)."""
    gaps = []
    for a, b in zip(recorded, reference, strict=True):
        assert len(a) == len(b), (len(a), len(b))
        gaps.extend(abs(x - y) for x, y in zip(a, b))
    return max(gaps)


def shifted(values: list[float], by: int) -> list[float]:
    """``values`` read ``by`` tokens off (clamped at the ends): what a misaligned teacher would record."""
    n = len(values)
    return [values[min(max(k + by, 0), n - 1)] for k in range(n)]
