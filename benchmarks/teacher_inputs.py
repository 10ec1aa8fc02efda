"""What the teacher pass costs the driver at the paper's shape: the old per-response path vs the new one.

Two measurements, one invocation each:

``--mode shape`` (default; no Ray, seconds to minutes): B prompts × 8 rollouts, one ~1-megapixel image
per prompt under the real Qwen3-VL image-processor settings (patch 16, merge 2, min 262,144 / max
1,048,576 pixels as the recipes), responses of 512–4096 tokens. It times the real library functions
each path runs and counts the bytes each moves through the driver:

* **old** (what ``RLSDTrainer._teacher_batch`` did before, serially on the driver, per response): read
  the row (ids, ``raw_prompt`` and its ``multi_modal_inputs``), re-render the teacher prompt with the
  processor (decodes, resizes and processes the image again), compute M-RoPE positions over the whole
  sequence, write the teacher row (a second copy of the pixels) back. Timed on ``--old-sample``
  responses and scaled to B × 8 (the work is per response and serial).
* **new**: the agent loop builds one teacher prompt per prompt (fast path: no image touched) — worker
  time, spread over ``rollout.agent.num_workers`` processes; the driver reads one 4-float info row per
  response, balances the rows over ``--dp`` ranks by teacher length and aggregates the workers' per-row
  metric sums; each training worker assembles its shard's teacher sequences (positions included).

``--mode e2e`` (Ray, ~5–10 minutes): the real trainer on the tiny Qwen2.5-VL whose processor is allowed
~1 MP (so a prompt is ~1300 tokens), 2 prompts × 8 rollouts, and prints the teacher pass's cost beyond
one forward over its tokens, per response:
``(timing_s/teacher − timing_s/old_log_prob × token ratio) / responses`` with token ratio
= (teacher prompt + response) / (student prompt + response).

Prints a table and writes ``--out`` (JSON). It does not assert: targets live here, not in the tests.

    python benchmarks/teacher_inputs.py --prompts 256 --rollouts 8 --dp 32
    python benchmarks/teacher_inputs.py --mode e2e --steps 3
"""

from __future__ import annotations

import argparse
import copy
import io
import json
import random
import statistics
import tempfile
import time
from pathlib import Path

import torch

PAPER_MIN_PIXELS, PAPER_MAX_PIXELS = 262_144, 1_048_576
HINT = "The answer is 42, because the marked angle is twice the inscribed angle."


def _image_bytes(rng: random.Random, size: int = 1024) -> bytes:
    from PIL import Image, ImageDraw

    img = Image.new("RGB", (size, size), tuple(rng.randrange(256) for _ in range(3)))
    draw = ImageDraw.Draw(img)
    for _ in range(40):
        x0, y0 = rng.randrange(size), rng.randrange(size)
        draw.rectangle([x0, y0, x0 + rng.randrange(200), y0 + rng.randrange(200)], fill=tuple(rng.randrange(256) for _ in range(3)))
    buf = io.BytesIO()
    img.save(buf, format="JPEG", quality=90)
    return buf.getvalue()


def _set_pixels(processor, min_pixels: int, max_pixels: int) -> None:
    ip = processor.image_processor
    ip.size = {"shortest_edge": min_pixels, "longest_edge": max_pixels}
    for attr, value in (("min_pixels", min_pixels), ("max_pixels", max_pixels)):
        if hasattr(ip, attr):
            setattr(ip, attr, value)


def _nbytes(obj) -> int:
    if isinstance(obj, torch.Tensor):
        return obj.numel() * obj.element_size()
    if isinstance(obj, dict):
        return sum(_nbytes(v) for v in obj.values())
    if isinstance(obj, (list, tuple)):
        return sum(_nbytes(v) for v in obj)
    if isinstance(obj, (bytes, bytearray)):
        return len(obj)
    return 0


def shape(args) -> dict:
    from omegaconf import OmegaConf
    from verl.utils import hf_processor, hf_tokenizer
    from verl.utils.dataset.rl_dataset import RLHFDataset
    from verl.utils.seqlen_balancing import calculate_workload, get_seqlen_balanced_partitions, log_seqlen_unbalance

    from rlsd_verl.algos.token_advantage import aggregate_row_stats, row_stats
    from rlsd_verl.assets.tiny_models import build_tiny_qwen3_vl
    from rlsd_verl.teacher.inputs import TeacherPromptBuilder, teacher_position_ids
    from rlsd_verl.teacher.fields import TEACHER_PROMPT_FIELD, teacher_info_row
    from rlsd_verl.teacher.sequences import assemble_teacher_batch
    from rlsd_verl.teacher.templates import DEFAULT_TEACHER_TEMPLATE
    from PIL import Image
    from tensordict import NonTensorStack, TensorDict

    rng = random.Random(args.seed)
    work = Path(args.work or tempfile.mkdtemp(prefix="teacher_inputs_"))
    model = build_tiny_qwen3_vl(work / "qwen3_vl")
    tok, proc = hf_tokenizer(model), hf_processor(model)
    _set_pixels(proc, PAPER_MIN_PIXELS, PAPER_MAX_PIXELS)
    data_cfg = OmegaConf.create({"prompt_key": "prompt", "image_key": "images", "max_prompt_length": 8192,
                                 "return_raw_chat": True})
    patch = proc.image_processor.patch_size
    builder = lambda: TeacherPromptBuilder(tok, proc, data_cfg, "qwen3_vl", DEFAULT_TEACHER_TEMPLATE, 1024, 8192 + 1024)  # noqa: E731

    B, N = args.prompts, args.rollouts
    print(f"[shape] {B} prompts x {N} rollouts, ~1 MP images (Qwen3-VL patch {patch}, merge 2), dp={args.dp}")
    # ---- the student side: what verl's agent loop renders anyway (context, not counted as teacher cost)
    prompts = []
    t0 = time.perf_counter()
    for b in range(B):
        data = _image_bytes(rng)  # as verl's dataset puts an image into raw_prompt: bytes + a lazily opened PIL image
        img_part = {"type": "image", "bytes": data, "image": Image.open(io.BytesIO(data))}
        raw = [{"role": "user", "content": [img_part,
                                              {"type": "text", "text": f"Problem {b}: find the measure of angle ABC."}]}]
        images, videos, _ = RLHFDataset._process_multi_modal_info(copy.deepcopy(raw), image_patch_size=patch, config=data_cfg)
        student_ids = builder()._builder.build_initial_tokens(raw, images=images, videos=videos)
        grid_out = proc.image_processor(images=images, return_tensors="pt")
        prompts.append({"raw": raw, "ids": list(student_ids), "grid": grid_out["image_grid_thw"],
                        "pixel_bytes": _nbytes(grid_out["pixel_values"]), "images": images})
        del grid_out
    student_render_s = time.perf_counter() - t0
    resp_lens = [[rng.randint(512, 4096) for _ in range(N)] for _ in range(B)]
    n_resp = B * N
    img_tokens = statistics.fmean(p["ids"].count(proc.image_token_id) for p in prompts)
    print(f"[shape] student prompts rendered by verl's path in {student_render_s:.1f} s "
          f"({statistics.fmean(len(p['ids']) for p in prompts):.0f} tokens, {img_tokens:.0f} image tokens, "
          f"{prompts[0]['pixel_bytes'] / 2**20:.1f} MiB pixel_values each)")

    # ---- old path: per response, on the driver
    sample = min(args.old_sample, n_resp)
    old_b = builder()
    old_bytes, elapsed = 0, 0.0
    for k in range(sample):
        p = prompts[k % B]
        resp = torch.randint(100, 200, (resp_lens[k % B][k // B % N],))
        mm = dict(proc.image_processor(images=p["images"], return_tensors="pt"))  # the row's multi_modal_inputs
        t0 = time.perf_counter()
        # the row read from TransferQueue: ids + raw_prompt + multi_modal_inputs (pixels)
        row_in = _nbytes(mm) + _nbytes(p["images"][0].tobytes()) + 8 * (len(p["ids"]) * 2 + resp.numel() * 2)
        built = old_b.build(copy.deepcopy(p["raw"]), HINT)  # decodes + processes the image again
        ids = torch.cat([torch.tensor(built.prompt_ids), resp])
        teacher_position_ids(proc, ids, mm)
        row_out = _nbytes(mm) + 8 * ids.numel() * 2 + 8 * 4 * ids.numel()  # second pixel copy, ids, positions
        old_bytes += row_in + row_out
        elapsed += time.perf_counter() - t0
    old_per_resp = elapsed / sample
    old = {"driver_s_per_step": old_per_resp * n_resp, "driver_ms_per_response": 1e3 * old_per_resp,
           "driver_bytes_per_step": old_bytes / sample * n_resp, "timed_responses": sample}

    # ---- new path: once per prompt in the agent loop (fast path), scalars on the driver, assembly on workers
    new_b = builder()
    infos, tps = [], []
    t0 = time.perf_counter()
    for p in prompts:
        built = new_b.build(p["raw"], HINT, student_prompt_ids=p["ids"], images=p["images"])
        assert built.fast_path, "the fast path did not apply"
        infos.append(teacher_info_row(built))
        tps.append(torch.tensor(built.prompt_ids))
    agent_s = time.perf_counter() - t0
    info = torch.stack([infos[i // N] for i in range(n_resp)])  # what the driver reads: B×N rows of 4 floats
    stats_keys = None
    # the workers' per-row metric sums, as the driver reads them back
    one_row = torch.randn(1, 8)
    _, stats_keys, one = row_stats("rlsd", one_row, -one_row.abs(), -one_row.abs(), torch.ones(1, 8), lam=0.5, clip_eps=0.2)
    stats = one.repeat(n_resp, 1)
    t0 = time.perf_counter()
    prompt_lens = [int(x) for x in info[:, 0].tolist()]
    seq_lens = [prompt_lens[i] + resp_lens[i // N][i % N] for i in range(n_resp)]
    parts = get_seqlen_balanced_partitions(calculate_workload(torch.tensor(seq_lens)), k_partitions=args.dp, equal_size=True)
    log_seqlen_unbalance(seqlen_list=seq_lens, partitions=parts, prefix="teacher_seqlen")
    order = [j for part in parts for j in part]
    tags = [{"prompt_len": prompt_lens[j], "seq_len": seq_lens[j], "response_len": resp_lens[j // N][j % N]} for j in order]
    metrics = aggregate_row_stats(stats_keys, stats)
    driver_s = time.perf_counter() - t0
    assert len(tags) == n_resp and metrics
    new_bytes = _nbytes(info) + _nbytes(stats) + sum(len(json.dumps(t)) for t in tags)

    # one training worker's shard (dp ranks share the rows): assemble its teacher sequences
    shard = order[: n_resp // args.dp]
    rows = [(j // N, resp_lens[j // N][j % N]) for j in shard]
    td = TensorDict(
        {
            TEACHER_PROMPT_FIELD: torch.nested.as_nested_tensor([tps[b] for b, _ in rows], layout=torch.jagged),
            "responses": torch.nested.as_nested_tensor([torch.randint(100, 200, (r,)) for _, r in rows], layout=torch.jagged),
            "response_mask": torch.nested.as_nested_tensor([torch.ones(r, dtype=torch.int64) for _, r in rows], layout=torch.jagged),
            "multi_modal_inputs": NonTensorStack.from_list([{"image_grid_thw": prompts[b]["grid"]} for b, _ in rows]),
        },
        batch_size=[len(rows)],
    )
    t0 = time.perf_counter()
    assemble_teacher_batch(td, proc)
    worker_s = time.perf_counter() - t0
    new = {
        "driver_s_per_step": driver_s,
        "driver_ms_per_response": 1e3 * driver_s / n_resp,
        "driver_bytes_per_step": new_bytes,
        "driver_pixel_bytes_per_step": 0,
        "agent_loop_s_per_step_total": agent_s,
        "agent_loop_ms_per_prompt": 1e3 * agent_s / B,
        "worker_assembly_s_per_rank": worker_s,
        "worker_assembly_ms_per_response": 1e3 * worker_s / len(rows),
    }
    return {"mode": "shape", "prompts": B, "rollouts": N, "responses": n_resp, "dp": args.dp,
            "prompt_tokens_mean": statistics.fmean(len(p["ids"]) for p in prompts), "image_tokens_mean": img_tokens,
            "pixel_mib_per_prompt": prompts[0]["pixel_bytes"] / 2**20, "student_render_s": student_render_s,
            "old": old, "new": new}


def _print_shape(r: dict) -> None:
    o, n = r["old"], r["new"]
    print(f"\nTeacher inputs at {r['prompts']} prompts x {r['rollouts']} rollouts = {r['responses']} responses, "
          f"~{r['prompt_tokens_mean']:.0f}-token prompts ({r['image_tokens_mean']:.0f} image tokens, "
          f"{r['pixel_mib_per_prompt']:.1f} MiB pixels each), dp={r['dp']}")
    print("| | old (driver, per response) | new |\n|---|---:|---:|")
    print(f"| driver time per step | {o['driver_s_per_step']:.1f} s | {n['driver_s_per_step']:.3f} s |")
    print(f"| driver time per response | {o['driver_ms_per_response']:.1f} ms | {n['driver_ms_per_response']:.4f} ms |")
    print(f"| bytes through the driver per step | {o['driver_bytes_per_step'] / 2**30:.1f} GiB | "
          f"{n['driver_bytes_per_step'] / 2**20:.2f} MiB (0 pixel bytes) |")
    print(f"| teacher prompts built per step | {r['responses']} (one per response) | {r['prompts']} (one per prompt, "
          f"{n['agent_loop_ms_per_prompt']:.1f} ms each in the agent-loop workers) |")
    print(f"| worker-side assembly (one rank, {r['responses'] // r['dp']} rows) | (driver) | "
          f"{n['worker_assembly_s_per_rank']:.2f} s ({n['worker_assembly_ms_per_response']:.1f} ms/response) |")
    print(f"ratio old/new driver time: {o['driver_s_per_step'] / max(n['driver_s_per_step'], 1e-9):.0f}x "
          f"(old timed on {o['timed_responses']} responses and scaled)")


def e2e(args) -> dict:
    import shutil

    from rlsd_verl.assets.synthetic_data import make_rows
    from rlsd_verl.assets.tiny_models import build_tiny_qwen2_5_vl
    from rlsd_verl.cpu.tiny_run import run_main, tiny_run_overrides
    from rlsd_verl.data.schema import write_parquet

    work = Path(args.work or tempfile.mkdtemp(prefix="teacher_e2e_"))
    src = build_tiny_qwen2_5_vl(work / "qwen2_5_vl_src")
    model = work / "qwen2_5_vl_1mp"
    if model.exists():
        shutil.rmtree(model)
    shutil.copytree(src, model)
    cfg_path = model / "processor_config.json"  # let the tiny processor keep ~1 MP (~1300 image tokens)
    cfg = json.loads(cfg_path.read_text())
    cfg["image_processor"]["size"] = {"shortest_edge": 1024 * 1024 // 2, "longest_edge": 1024 * 1024}
    cfg_path.write_text(json.dumps(cfg, indent=2))
    rng = random.Random(args.seed)
    data = {}
    for split, n in (("train", 2 * args.steps), ("val", 2)):
        rows = [r for r in make_rows("vl", split, 4 * n, seed=args.seed) if "value of the expression" in str(r["prompt"])][:n]
        for r in rows:
            r["images"] = [{"bytes": _image_bytes(rng), "path": None}]
        path = work / f"{split}.parquet"
        write_parquet(rows, path)
        data[split] = str(path)
    over = tiny_run_overrides(str(model), data["train"], data["val"], work, "teacher_e2e") + [
        "algorithm.adv_estimator=rlsd", "algorithm.rlsd.decay_steps=0", f"trainer.total_training_steps={args.steps}",
        "data.train_batch_size=2", "actor_rollout_ref.rollout.n=8", "actor_rollout_ref.actor.ppo_mini_batch_size=2",
        "data.max_prompt_length=2048", "data.max_response_length=16",
        "actor_rollout_ref.actor.ppo_micro_batch_size_per_gpu=4", "actor_rollout_ref.rollout.log_prob_micro_batch_size_per_gpu=4",
    ]
    run = run_main(work, "teacher_e2e", over, timeout=3600)
    run.check()
    per_step = []
    for step, m in sorted(run.metrics.items()):
        if step == 1:
            continue  # warm-up
        sp, tp, r = m["prompt_length/mean"], m["rlsd/teacher_prompt_len_mean"], m["response_length/mean"]
        ratio = (tp + r) / (sp + r)
        responses = 2 * 8
        extra = (m["timing_s/teacher"] - m["timing_s/old_log_prob"] * ratio) / responses
        per_step.append({"step": step, "teacher_s": m["timing_s/teacher"], "old_log_prob_s": m["timing_s/old_log_prob"],
                         "token_ratio": ratio, "student_prompt_len": sp, "extra_ms_per_response": 1e3 * extra,
                         "fast_path_frac": m.get("rlsd/teacher_fast_path_frac"),
                         "builds_per_prompt": m.get("rlsd/teacher_prompt_builds_per_prompt")})
    return {"mode": "e2e", "steps": per_step,
            "extra_ms_per_response_mean": statistics.fmean(s["extra_ms_per_response"] for s in per_step)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mode", choices=("shape", "e2e"), default="shape")
    parser.add_argument("--prompts", type=int, default=256)
    parser.add_argument("--rollouts", type=int, default=8)
    parser.add_argument("--dp", type=int, default=32, help="data-parallel ranks (the paper: 4x8 GPUs)")
    parser.add_argument("--old-sample", type=int, default=32, help="responses timed on the old path (then scaled)")
    parser.add_argument("--steps", type=int, default=3, help="e2e: trainer steps (the first is warm-up)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--work", default=None, help="scratch folder (default: a temp dir)")
    parser.add_argument("--out", type=Path, default=None, help="write the result as JSON here")
    args = parser.parse_args()
    result = shape(args) if args.mode == "shape" else e2e(args)
    if args.mode == "shape":
        _print_shape(result)
    else:
        for s in result["steps"]:
            print(f"step {s['step']}: teacher {s['teacher_s']:.2f} s, old_log_prob {s['old_log_prob_s']:.2f} s, "
                  f"token ratio {s['token_ratio']:.3f} (student prompt {s['student_prompt_len']:.0f} tokens) -> "
                  f"{s['extra_ms_per_response']:.1f} ms per response beyond one forward")
        print(f"mean: {result['extra_ms_per_response_mean']:.1f} ms per response beyond one forward over its tokens")
    if args.out:
        from rlsd_verl.utils.io import atomic_write_text

        atomic_write_text(args.out, json.dumps(result, indent=2))
        print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
