"""Does a teacher template make SmolLM2-135M-Instruct's teacher point the right way? (no trainer, ~1 minute)

For 24 addition questions it scores two fixed responses per question — one with the right sum, one with a
wrong one — under the student prompt and under the teacher prompt (the question + a template carrying the
reference answer), in two response styles, and prints the mean Δ = log P_T − log P_S on the answer tokens.
A template RLSD can use raises the right answer (Δ > 0) and lowers the wrong one (Δ < 0).

    python benchmarks/teacher_templates.py [--questions 24]
"""

from __future__ import annotations

import argparse
import random
import statistics

import torch

TEMPLATES = {
    "paper (default)": None,  # rlsd_verl.teacher.templates.DEFAULT_TEACHER_TEMPLATE
    "inline answer": " The correct answer is {hint}.",
}
STYLES = ("{a} + {b} = {c}", "The answer is {c}.")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--questions", type=int, default=24)
    args = parser.parse_args()

    from transformers import AutoModelForCausalLM, AutoTokenizer

    from rlsd_verl.assets.smollm2 import build_smollm2
    from rlsd_verl.teacher.templates import DEFAULT_TEACHER_TEMPLATE, render_teacher_template

    path = build_smollm2(None)
    tok = AutoTokenizer.from_pretrained(path)
    model = AutoModelForCausalLM.from_pretrained(path, torch_dtype=torch.float32).eval()

    def log_probs(user: str, response: str) -> tuple[list[int], list[float]]:
        prompt = tok.apply_chat_template([{"role": "user", "content": user}], tokenize=True, add_generation_prompt=True)
        prompt = prompt if isinstance(prompt, list) else list(prompt["input_ids"])
        resp = tok.encode(response, add_special_tokens=False)
        with torch.no_grad():
            logits = model(torch.tensor([prompt + resp])).logits[0].float().log_softmax(-1)
        return resp, [logits[len(prompt) + k - 1, t].item() for k, t in enumerate(resp)]

    rng = random.Random(0)
    pairs = [(a, b) for a in range(10) for b in range(10)]
    rng.shuffle(pairs)
    print("| template | response style | Δ on the right answer | Δ on a wrong answer |\n|---|---|---:|---:|")
    for name, template in TEMPLATES.items():
        template = DEFAULT_TEACHER_TEMPLATE if template is None else template
        for style in STYLES:
            right, wrong = [], []
            for a, b in pairs[: args.questions]:
                question = f"What is {a} + {b}?"
                teacher_question = question + render_teacher_template(template, str(a + b))
                bad = a + b + rng.choice([1, 2, 3]) if a + b < 3 else a + b + rng.choice([1, 2, -1, -2])
                for c, out in ((a + b, right), (bad, wrong)):
                    ids, student = log_probs(question, style.format(a=a, b=b, c=c))
                    _, teacher = log_probs(teacher_question, style.format(a=a, b=b, c=c))
                    digits = [k for k, t in enumerate(ids) if tok.decode([t]).strip().isdigit()]
                    answer = digits[-len(str(c)):]  # the last number's digit tokens
                    out.extend(teacher[k] - student[k] for k in answer)
            print(f"| {name} | `{style}` | {statistics.fmean(right):+.2f} | {statistics.fmean(wrong):+.2f} |")


if __name__ == "__main__":
    main()
