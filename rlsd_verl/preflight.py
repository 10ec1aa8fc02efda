"""``python -m rlsd_verl.preflight [--params N] OVERRIDES…``: check a run and print its cost before booking GPUs.

Composes the run's config exactly as ``python -m rlsd_verl.main OVERRIDES…`` would (Hydra, the
package's ``rlsd_trainer`` config and its search path), runs every start-up check of
:func:`rlsd_verl.main.prepare` — the plugin and verl seams (:func:`rlsd_verl.plugin.verify`), RLSD's
settings (:func:`rlsd_verl.config_checks.check_trainer_config`), verl's ``validate_config`` and the Ray
CPU count — without starting Ray or touching a GPU, and prints the plan:

* the teacher copy's host memory per node and per rank (parameters × ``teacher_dtype`` bytes, FSDP
  sharded over ``fsdp_size`` ranks) and the bytes each rank streams host → GPU per teacher micro-batch;
* the longest teacher sequence (prompt + hint + response) against the token limits;
* the installed torch / vLLM / flash-attn / transformers against verl's pins;
* the λ schedule and the trainer step from which the teacher pass stops.

The parameter count comes from the model's Hugging Face config (``model.path`` when it is a local
folder or in the local Hugging Face cache; the model is built on the meta device, so nothing is
loaded), else from ``--params``, else from a small table of the models the recipes use (rounded,
said so). Exit status: 0 when every check passes, 1 otherwise (the plan is printed either way).
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import warnings
from dataclasses import dataclass, field

from omegaconf import DictConfig, OmegaConf

#: Parameter counts of the models the recipes use, from their model cards (rounded to 10M).
KNOWN_PARAMS = {
    "Qwen/Qwen3-VL-8B-Instruct": 8.77e9,
    "Qwen/Qwen3-VL-4B-Instruct": 4.44e9,
    "Qwen/Qwen3-VL-2B-Instruct": 2.13e9,
    "Qwen/Qwen2.5-VL-7B-Instruct": 8.29e9,
    "Qwen/Qwen2.5-VL-3B-Instruct": 3.75e9,
}
#: The verl extras whose pins are compared, by rollout engine (``pip install verl[<extra>]``).
PINNED = ("torch", "transformers", "vllm", "sglang", "flash-attn")
GB = 1e9


@dataclass
class Check:
    name: str
    error: str | None = None
    warnings: list[str] = field(default_factory=list)


def compose_config(overrides: list[str]) -> DictConfig:
    """The config ``python -m rlsd_verl.main OVERRIDES…`` runs with (same module, same primary config)."""
    from hydra import compose, initialize_config_module

    with initialize_config_module("rlsd_verl.config", version_base=None):
        return compose("rlsd_trainer", overrides=list(overrides))


def _has_cuda() -> bool:
    import torch

    return torch.cuda.is_available()


def _run(name: str, fn) -> Check:
    check = Check(name)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            fn()
        except Exception as exc:  # reported, not raised: the plan is printed whatever fails
            check.error = f"{type(exc).__name__}: {exc}"
    check.warnings = [str(w.message) for w in caught if issubclass(w.category, UserWarning)]
    return check


def run_checks(config: DictConfig) -> list[Check]:
    """:func:`rlsd_verl.main.prepare`'s checks, one by one, without starting Ray."""
    from rlsd_verl import main, plugin
    from rlsd_verl.trainer.estimators import ESTIMATOR_NAMES

    checks = []
    main._export_plugin_env()
    if str(config.trainer.device) == "cpu":
        from rlsd_verl import cpu

        cpu.enable()
    seams = _run("plugin and verl seams (rlsd_verl.plugin.verify)", plugin.verify)
    seams.warnings = [w for w in seams.warnings if "engine is not available" not in w]  # verl's optional engines
    checks.append(seams)
    estimator = str(config.algorithm.adv_estimator)
    if estimator in ESTIMATOR_NAMES:
        from rlsd_verl.config_checks import check_trainer_config

        def rlsd_checks():
            if not config.trainer.use_v1:
                raise ValueError(f"algorithm.adv_estimator={estimator} runs on verl's V1 trainer: "
                                 "remove trainer.use_v1=False.")
            check_trainer_config(config)

        checks.append(_run("RLSD settings (rlsd_verl.config_checks)", rlsd_checks))

    def verl_checks():
        from verl.trainer.ppo.utils import need_critic, need_reference_policy
        from verl.utils.config import validate_config

        validate_config(config=config, use_reference_policy=need_reference_policy(config),
                        use_critic=need_critic(config))

    checks.append(_run("verl's validate_config", verl_checks))
    ray_check = _run("Ray CPUs on this machine (rlsd_verl.main.check_ray_resources)",
                     lambda: main.check_ray_resources(config))
    if ray_check.error and int(config.trainer.nnodes) > 1:  # a multi-node run joins its cluster's Ray
        ray_check.warnings.append("not an error for a multi-node run, which joins the cluster's Ray: "
                                  + ray_check.error)
        ray_check.error = None
    elif ray_check.error and str(config.trainer.device) != "cpu" and not _has_cuda():
        # preflight on a machine without the run's GPUs (a login node, a laptop): its CPU count says
        # nothing about the node the run gets; rlsd_verl.main repeats this check there
        ray_check.warnings.append("this machine has no GPU, so it is not the run's node (rlsd_verl.main checks "
                                  "again at start-up there): " + ray_check.error)
        ray_check.error = None
    checks.append(ray_check)
    return checks


# ---------------------------------------------------------------------------------------------- the plan
def count_params(model_path: str, override: float | None) -> tuple[float | None, str]:
    """``(parameters, source)`` of the model at ``model_path`` (see the module docstring)."""
    if override is not None:
        return float(override), "--params"
    try:
        from transformers import AutoConfig

        hf_config = AutoConfig.from_pretrained(model_path, local_files_only=True, trust_remote_code=False)
    except Exception as exc:  # not local: the table or nothing
        if model_path in KNOWN_PARAMS:
            return KNOWN_PARAMS[model_path], (f"built-in table (model card, rounded); {model_path} is not local "
                                              "— pass --params N for the exact count")
        return None, f"unknown: {model_path} is not local ({type(exc).__name__}) — pass --params N"
    import torch
    from transformers import AutoModel, AutoModelForCausalLM, AutoModelForImageTextToText

    for auto in (AutoModelForImageTextToText, AutoModelForCausalLM, AutoModel):
        try:
            with torch.device("meta"), warnings.catch_warnings():
                warnings.simplefilter("ignore")
                model = auto.from_config(hf_config)
        except (ValueError, KeyError):
            continue
        return float(sum(p.numel() for p in model.parameters())), f"{model_path}/config.json ({type(model).__name__})"
    return None, f"{model_path}: no transformers model class for {type(hf_config).__name__} — pass --params N"


def _gb(n: float) -> str:
    return f"{n / GB:.2f} GB"


def _versions(rollout_name: str) -> list[tuple[str, str, str, str]]:
    """``(package, installed, verl's pin, verdict)`` for torch / the rollout engine / flash-attn / transformers."""
    from importlib import metadata

    from packaging.requirements import Requirement

    extras = {rollout_name, "fsdp", "flash-attn-cu130torch211"} if rollout_name in ("vllm", "sglang") else {"cpu"}
    pins: dict[str, list[str]] = {}
    for text in metadata.requires("verl") or []:
        req = Requirement(text)
        marker = str(req.marker or "")
        if req.name in PINNED and str(req.specifier) and any(f'extra == "{e}"' in marker for e in extras):
            pins.setdefault(req.name, [])
            if str(req.specifier) not in pins[req.name]:
                pins[req.name].append(str(req.specifier))
    rows = []
    for name in PINNED:
        if name not in pins:
            continue
        try:
            installed = metadata.version(name)
        except metadata.PackageNotFoundError:
            installed = None
        spec = " and ".join(pins[name])
        if installed is None:
            verdict = "NOT INSTALLED"
        else:
            from packaging.specifiers import SpecifierSet

            ok = all(SpecifierSet(s).contains(installed, prereleases=True) for s in pins[name])
            verdict = "ok" if ok else "DIFFERS"
        rows.append((name, installed or "-", spec, verdict))
    return rows


def plan_lines(config: DictConfig, params_override: float | None = None) -> list[str]:
    """The printed plan (see the module docstring)."""
    from rlsd_verl.algos.config import RLSDConfig
    from rlsd_verl.trainer.estimators import ESTIMATOR_NAMES
    from rlsd_verl.workers.teacher_copy import DTYPE_BYTES, resolve_teacher_dtype

    sel = lambda key, default=None: OmegaConf.select(config, key, default=default)  # noqa: E731
    out: list[str] = []
    estimator = str(config.algorithm.adv_estimator)
    nnodes, per_node = int(config.trainer.nnodes), int(config.trainer.n_gpus_per_node)
    world = nnodes * per_node
    model_path = str(config.actor_rollout_ref.model.path)
    out.append(f"run: {sel('trainer.experiment_name', '')} — algorithm.adv_estimator={estimator}, {nnodes} node(s) × "
               f"{per_node} GPU(s), model {model_path}")
    if estimator not in ESTIMATOR_NAMES:
        out.append("no teacher: verl's own trainer runs this estimator (nothing of RLSD's below applies)")
        rlsd = None
    else:
        rlsd = RLSDConfig.from_config(config.algorithm)

    # -- the teacher copy
    if rlsd is not None:
        out.append("")
        out.append("teacher copy")
        params, source = count_params(model_path, params_override)
        out.append(f"  parameters: {params / GB:.2f} B ({source})" if params else f"  parameters: {source}")
        actor = config.actor_rollout_ref.actor
        if rlsd.teacher == "live":
            out.append("  algorithm.rlsd.teacher=live: no copy is held and nothing is streamed (the actor scores)")
        else:
            dtype = resolve_teacher_dtype(rlsd.teacher_dtype, actor)
            how = "algorithm.rlsd.teacher_dtype" if rlsd.teacher_dtype else "the actor's compute dtype (teacher_dtype=null)"
            fsdp_size = int(sel("actor_rollout_ref.actor.fsdp_config.fsdp_size", -1) or -1)
            shard = world if fsdp_size <= 0 else fsdp_size
            out.append(f"  dtype: {dtype} = {how}; actor weights: {sel('actor_rollout_ref.actor.fsdp_config.model_dtype')}")
            out.append(f"  FSDP shards it over {shard} rank(s) (fsdp_size={fsdp_size}); verl keeps a forward-only engine "
                       "CPU-offloaded (pinned host memory)")
            if params:
                total = params * DTYPE_BYTES[dtype]
                per_rank = total / shard
                out.append(f"  host memory: {_gb(total)} in all, {_gb(per_rank * per_node)} per node, {_gb(per_rank)} per rank"
                           + (f" (fp32: {_gb(params * 4 / shard * per_node)} per node)" if dtype != "fp32" else ""))
                out.append(f"  streamed host → GPU per teacher micro-batch: {_gb(per_rank)} per rank (its shards; the "
                           f"forward all-gathers the full {_gb(total)} layer by layer)")

    # -- token limits
    prompt, response = int(config.data.max_prompt_length), int(config.data.max_response_length)
    hint = rlsd.max_hint_tokens if rlsd is not None else 0
    longest = prompt + hint + response
    rollout = config.actor_rollout_ref.rollout
    out.append("")
    out.append("sequences")
    out.append(f"  longest teacher sequence: {longest} tokens = data.max_prompt_length {prompt} + "
               f"algorithm.rlsd.max_hint_tokens {hint} + data.max_response_length {response}")
    rows = int(config.data.train_batch_size) * int(rollout.n)
    sp = int(sel("actor_rollout_ref.actor.ulysses_sequence_parallel_size", 1) or 1)
    dp = max(1, world // sp)
    per_rank_rows = math.ceil(rows / dp)
    for key, dynamic in (("actor_rollout_ref.rollout.log_prob_max_token_len_per_gpu",
                          "actor_rollout_ref.rollout.log_prob_use_dynamic_bsz"),
                         ("actor_rollout_ref.actor.ppo_max_token_len_per_gpu", "actor_rollout_ref.actor.use_dynamic_bsz")):
        budget = sel(key)
        if budget is None:
            continue
        if not sel(dynamic, False):
            out.append(f"  {key} = {budget}: not used ({dynamic}=false)")
            continue
        verdict = "fits" if int(budget) * sp >= longest else "TOO SMALL (a teacher sequence cannot fit one micro-batch)"
        out.append(f"  {key} = {budget}" + (f" × Ulysses {sp}" if sp > 1 else "") + f": {verdict}")
    if rlsd is not None:
        out.append(f"  responses per step: {rows} ({per_rank_rows} per data-parallel rank)")
        if rollout.get("log_prob_use_dynamic_bsz", False):
            budget = int(rollout.log_prob_max_token_len_per_gpu) * sp
            micro = math.ceil(per_rank_rows * longest / budget)
            out.append(f"  teacher micro-batches per rank per step: about {micro} when every sequence is the longest "
                       f"(dynamic batching, {budget} tokens each; fewer for shorter responses)")
        else:
            mb = rollout.get("log_prob_micro_batch_size_per_gpu") or 1
            micro = math.ceil(per_rank_rows / int(mb))
            out.append(f"  teacher micro-batches per rank per step: {micro} (log_prob_micro_batch_size_per_gpu={mb})")
        if rlsd.teacher != "live" and params:
            out.append(f"  streamed host → GPU per rank per teacher pass: up to {_gb(micro * per_rank)}")

    # -- versions
    out.append("")
    out.append(f"versions (verl's pins for rollout '{rollout.name}')")
    for name, installed, spec, verdict in _versions(str(rollout.name)):
        out.append(f"  {name:<13} {installed:<14} pin {spec:<16} {verdict}")

    # -- λ schedule
    if rlsd is not None:
        total_steps = sel("trainer.total_training_steps")
        out.append("")
        out.append("λ schedule and the teacher pass")
        if estimator != "rlsd":
            out.append(f"  {estimator}: no λ; the teacher pass runs every step")
        else:
            marks = sorted({1, 2, 10, 25, 50, rlsd.decay_steps + rlsd.warmup_steps + 1})
            lam = ", ".join(f"step {s}: {rlsd.lambda_at(s - 1):.3f}" for s in marks if total_steps is None or s <= int(total_steps))
            out.append(f"  λ (trainer step s uses λ(s − 1 + lambda_step_offset)): {lam}")
            last = rlsd.warmup_steps + rlsd.decay_steps + 1 - rlsd.lambda_step_offset
            stop = next((s for s in range(max(1, last - 2), last + 3) if not rlsd.needs_teacher(s - 1)), None)
            if rlsd.decay_steps == 0 or not rlsd.skip_teacher_when_lambda_zero or stop is None:
                out.append("  the teacher pass runs every step")
            elif total_steps is not None and stop > int(total_steps):
                out.append(f"  λ = 0 from step {stop}, after the run's {total_steps} steps: the teacher pass runs every step")
            else:
                of = f" of {total_steps}" if total_steps is not None else ""
                out.append(f"  λ = 0 from step {stop}: the teacher pass runs on steps 1–{stop - 1}{of} and then stops "
                           "(skip_teacher_when_lambda_zero)")
        if rlsd.teacher == "sync":
            out.append(f"  teacher re-synced from the actor every {rlsd.sync_interval} steps")
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m rlsd_verl.preflight", description=__doc__.splitlines()[0])
    parser.add_argument("--params", type=float, default=None,
                        help="the model's parameter count (e.g. 8.77e9) when its config is not local")
    parser.add_argument("overrides", nargs="*", help="the Hydra overrides you would give python -m rlsd_verl.main")
    args = parser.parse_args(argv)
    config = compose_config(args.overrides)
    checks = run_checks(config)
    print("checks")
    for c in checks:
        print(f"  {'FAIL' if c.error else 'ok  '} {c.name}" + (f"\n       {c.error}" if c.error else ""))
        for w in c.warnings:
            print(f"       warning: {w}")
    print()
    print("\n".join(plan_lines(config, args.params)))
    failed = [c for c in checks if c.error]
    print()
    print(f"{len(failed)} check(s) failed" if failed else "all checks passed (Ray was not started)")
    return 1 if failed else 0


if __name__ == "__main__":
    os.environ.setdefault("HF_HUB_OFFLINE", "1")  # never download a model to count its parameters
    sys.exit(main())
