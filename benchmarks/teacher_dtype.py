"""What a bf16 teacher copy does to Δ with an empty hint (SmolLM2-135M-Instruct on CPU, no trainer, minutes)

With an empty hint the teacher prompt is the student prompt, so ideally Δ_t = log P_T(y_t) − log P_S(y_t) ≡ 0
and w_t = exp(sign(A)·Δ_t) ≡ 1. This scores the model's own sampled responses to addition questions twice
and prints the distribution of |Δ_t| and of |w_t − 1| over the response tokens, next to the paper's clip band
ε_w = 0.2 (RLSD clips w_t to [0.8, 1.2]):

* ``fp32 / fp32, other micro-batching``: the CPU preset (both passes fp32) — the exactness baseline;
* ``bf16 teacher / fp32 student``: a bf16 copy against an fp32 ``old_log_probs`` pass;
* ``bf16 / bf16, other micro-batching``: GPU defaults — both passes compute in bf16 but group the
  responses into micro-batches differently (padded to different lengths), as the teacher pass and the
  ``old_log_probs`` pass do; bf16 kernels are not batch-invariant.

    python benchmarks/teacher_dtype.py [--questions 32] [--tokens 32]
"""

from __future__ import annotations

import argparse

import torch


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--questions", type=int, default=32)
    parser.add_argument("--tokens", type=int, default=32, help="sampled response length")
    args = parser.parse_args()

    from transformers import AutoModelForCausalLM, AutoTokenizer

    from rlsd_verl.assets.smollm2 import build_smollm2

    torch.manual_seed(0)
    path = build_smollm2(None, verbose=False)
    tok = AutoTokenizer.from_pretrained(path)
    tok.padding_side = "left"
    fp32 = AutoModelForCausalLM.from_pretrained(path, dtype=torch.float32).eval()
    bf16 = AutoModelForCausalLM.from_pretrained(path, dtype=torch.float32).to(torch.bfloat16).eval()

    prompts = []
    for i in range(args.questions):
        a, b = (7 * i + 3) % 50, (11 * i + 5) % 50
        ids = tok.apply_chat_template([{"role": "user", "content": f"What is {a} + {b}? Explain briefly."}],
                                      tokenize=True, add_generation_prompt=True)
        prompts.append(ids if isinstance(ids, list) else list(ids["input_ids"]))
    with torch.no_grad():  # the student's own samples (fp32, temperature 1)
        batch = tok.pad({"input_ids": prompts}, return_tensors="pt")
        out = fp32.generate(**batch, max_new_tokens=args.tokens, do_sample=True, temperature=1.0,
                            pad_token_id=tok.pad_token_id or tok.eos_token_id)
    responses = []
    for row in out[:, batch["input_ids"].shape[1]:].tolist():
        cut = row.index(tok.eos_token_id) + 1 if tok.eos_token_id in row else len(row)
        responses.append(row[:cut])

    def log_probs(model, micro: int) -> list[torch.Tensor]:
        """Per-response token log-probs, rows scored in micro-batches of ``micro`` (right-padded)."""
        out = []
        pad = tok.pad_token_id or 0
        for s in range(0, len(prompts), micro):
            seqs = [p + r for p, r in zip(prompts[s : s + micro], responses[s : s + micro])]
            width = max(map(len, seqs))
            ids = torch.tensor([q + [pad] * (width - len(q)) for q in seqs])
            mask = torch.tensor([[1] * len(q) + [0] * (width - len(q)) for q in seqs])
            with torch.no_grad():
                logits = model(input_ids=ids, attention_mask=mask).logits.float().log_softmax(-1)
            for k, (p, r) in enumerate(zip(prompts[s : s + micro], responses[s : s + micro])):
                pos = torch.arange(len(p) - 1, len(p) + len(r) - 1)
                out.append(logits[k, pos, torch.tensor(r)])
        return out

    student_fp32 = log_probs(fp32, len(prompts))
    student_bf16 = log_probs(bf16, len(prompts))
    cases = {
        "fp32 / fp32, other micro-batching": (log_probs(fp32, 3), student_fp32),
        "bf16 teacher / fp32 student": (log_probs(bf16, 3), student_fp32),
        "bf16 / bf16, other micro-batching": (log_probs(bf16, 3), student_bf16),
    }
    n_tokens = sum(map(len, responses))
    print(f"{len(responses)} responses, {n_tokens} tokens; paper clip band: |w − 1| ≤ ε_w = 0.2\n")
    print("| teacher / student | mean abs Δ | p99 abs Δ | max abs Δ | max abs(w − 1) | tokens outside 1 ± 0.2 |")
    print("|---|---:|---:|---:|---:|---:|")
    for name, (teacher, student) in cases.items():
        delta = torch.cat([t - s for t, s in zip(teacher, student)]).double().abs()
        w_dev = delta.exp() - 1  # the larger of |exp(±Δ) − 1|
        outside = int((w_dev > 0.2).sum())
        print(f"| {name} | {delta.mean():.2e} | {delta.quantile(0.99):.2e} | {delta.max():.2e} | {w_dev.max():.2e} | "
              f"{outside} ({100 * outside / n_tokens:.2f}%) |")


if __name__ == "__main__":
    main()
