"""Sampled pass@1 of the base SmolLM2-135M-Instruct on the addition task (is it hard enough to learn?).

Samples ``--samples`` responses per question with Hugging Face ``generate`` (the chat template verl
uses, temperature ``--temperature``, top-p 1, no top-k: the trainer's rollout defaults) and scores them
with the task's verifier (:mod:`rlsd_verl.rewards.final_number`). Prints pass@1 per split with its
standard error over questions, and the fraction of responses that use the ``a + b = c`` form.

    python benchmarks/base_pass_at_1.py [--samples 8] [--temperature 1.0] [--max-new-tokens 24]

``--engine vllm`` samples with vLLM's offline engine instead (the same chat template and sampling
settings; about 20x faster on CPU); run it with the vLLM environment's Python (``.venv-vllm/bin/python``,
see ``scripts/install_vllm_cpu.sh``).
"""

from __future__ import annotations

import argparse
import json
import statistics
import time

import torch


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=8, help="responses per question (default 8)")
    parser.add_argument("--temperature", type=float, default=1.0)
    parser.add_argument("--max-new-tokens", type=int, default=24)
    parser.add_argument("--n-train", type=int, default=68, help="training questions to sample (default 68)")
    parser.add_argument("--model", default=None, help="converted model folder (default: the cache)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--task", default="single", help="rlsd_verl.assets.addition.TASKS (default single)")
    parser.add_argument("--n-val", type=int, default=None, help="held-out questions (default: the task's held-out set)")
    parser.add_argument("--json", default=None, help="also write the result JSON here")
    parser.add_argument("--engine", default="hf", choices=["hf", "vllm"],
                        help="hf: transformers generate (default); vllm: vLLM's offline engine (.venv-vllm Python)")
    args = parser.parse_args()
    if args.engine == "vllm":
        import importlib.util

        if importlib.util.find_spec("vllm") is None:
            parser.error("--engine vllm needs vLLM: run this with .venv-vllm/bin/python (scripts/install_vllm_cpu.sh)")

    from rlsd_verl.assets.addition import TASKS, make_rows
    from rlsd_verl.assets.smollm2 import build_smollm2
    from rlsd_verl.rewards.final_number import compute_score

    path = build_smollm2(args.model)
    torch.manual_seed(args.seed)
    sample = _vllm_sampler(path, args) if args.engine == "vllm" else _hf_sampler(path, args)
    t0 = time.perf_counter()
    results = {}
    n_val = args.n_val or TASKS[args.task]["n_val"]
    for split, n in (("val", n_val), ("train", args.n_train)):
        if n <= 0:
            continue
        rows = make_rows(split, n, seed=args.seed, task=args.task)
        per_question, with_equals = [], 0
        for row, responses in zip(rows, sample([row["prompt"] for row in rows])):
            gt = row["reward_model"]["ground_truth"]
            per_question.append(statistics.fmean(compute_score("", r, gt)["acc"] for r in responses))
            with_equals += sum("=" in r for r in responses)
        mean = statistics.fmean(per_question)
        sem = statistics.stdev(per_question) / len(per_question) ** 0.5
        results[split] = {"pass@1": mean, "sem": sem, "questions": len(rows), "samples_per_question": args.samples,
                          "equals_form_frac": with_equals / (len(rows) * args.samples)}
        print(f"{split:5s} pass@1 = {mean:.3f} ± {sem:.3f} (SEM over {len(rows)} questions x {args.samples} samples), "
              f"'=' form in {results[split]['equals_form_frac']:.2f} of responses", flush=True)
    seconds = time.perf_counter() - t0
    print(f"temperature {args.temperature}, max {args.max_new_tokens} new tokens, {seconds:.0f} s")
    print(json.dumps(results))
    if args.json:
        import sys
        from pathlib import Path

        out = {"task": args.task, "question": TASKS[args.task]["question"], "engine": args.engine,
               "temperature": args.temperature,
               "max_new_tokens": args.max_new_tokens, "seconds": round(seconds, 1),
               "command": "python benchmarks/base_pass_at_1.py " + " ".join(a for a in sys.argv[1:]), **results}
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps(out, indent=1) + "\n")


def _hf_sampler(path: str, args):
    """``sample(prompts) -> [[response text] * samples]`` with transformers ``generate``, one prompt at a time."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(path)
    tokenizer.padding_side = "left"
    model = AutoModelForCausalLM.from_pretrained(path, dtype=torch.float32).eval()

    def sample(prompts):
        for messages in prompts:
            text = tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
            enc = tokenizer([text] * args.samples, return_tensors="pt", add_special_tokens=False)
            with torch.no_grad():
                out = model.generate(
                    **enc, max_new_tokens=args.max_new_tokens, do_sample=True, temperature=args.temperature,
                    top_p=1.0, top_k=0, pad_token_id=tokenizer.pad_token_id, eos_token_id=tokenizer.eos_token_id,
                )
            yield tokenizer.batch_decode(out[:, enc.input_ids.shape[1]:], skip_special_tokens=True)

    return sample


def _vllm_sampler(path: str, args):
    """The same with vLLM's offline engine, all prompts in one call (seeded engine-wide: a per-request seed
    fails on vLLM's CPU backend, "CPU Generator does not use offset")."""
    import os

    os.environ.setdefault("VLLM_CPU_KVCACHE_SPACE", "2")
    os.environ.setdefault("VLLM_CPU_OMP_THREADS_BIND", "nobind")
    from vllm import LLM, SamplingParams

    llm = LLM(path, dtype="float32", enforce_eager=True, max_model_len=512, seed=args.seed)
    params = SamplingParams(n=args.samples, temperature=args.temperature, top_p=1.0, top_k=0,
                            max_tokens=args.max_new_tokens)

    def sample(prompts):
        outs = llm.chat(list(prompts), params, use_tqdm=True)
        return [[c.text for c in o.outputs] for o in outs]

    return sample


if __name__ == "__main__":
    main()
