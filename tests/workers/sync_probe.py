"""Run the self-distillation worker in-process (no Ray) and report teacher/actor weights as JSON.

Used by test_self_distillation_worker_on_cpu.py in a subprocess: the CPU backend changes
process-wide verl state (platform, process group).
"""

from __future__ import annotations

import json
import os
import sys


def main(model_dir: str, mode: str, dtype: str | None = None) -> None:
    os.environ.update(RANK="0", WORLD_SIZE="1", LOCAL_RANK="0", MASTER_ADDR="127.0.0.1", MASTER_PORT=os.environ.get("PROBE_PORT", "29633"))
    from rlsd_verl import cpu

    cpu.enable()
    import torch
    from hydra import compose, initialize_config_module

    from rlsd_verl.workers.self_distillation_worker import SelfDistillationWorker

    with initialize_config_module("rlsd_verl.config", version_base=None):
        cfg = compose(
            "rlsd_trainer",
            overrides=[
                "preset=cpu",
                f"actor_rollout_ref.model.path={model_dir}",
                "actor_rollout_ref.actor.ppo_mini_batch_size=2",
                "actor_rollout_ref.actor.ppo_micro_batch_size_per_gpu=2",
                "actor_rollout_ref.rollout.log_prob_micro_batch_size_per_gpu=2",
                "actor_rollout_ref.actor.use_kl_loss=False",
            ],
        )
    worker = SelfDistillationWorker(config=cfg.actor_rollout_ref, role="actor")
    worker.init_model()
    info = worker.init_teacher(mode, dtype)

    def sums(module):
        local = lambda t: t._local_tensor if hasattr(t, "_local_tensor") else t  # noqa: E731
        return {n: float(local(p.data).double().sum()) for n, p in module.named_parameters()}

    def snapshot():
        out = {"actor": sums(worker.actor.engine.module)}
        if worker.teacher is not None:
            out["teacher"] = sums(worker.teacher.engine.module)
        return out

    before = snapshot()
    # move the actor away from θ₀, as an optimizer step would
    with torch.no_grad():
        for p in worker.actor.engine.module.parameters():
            local = p._local_tensor if hasattr(p, "_local_tensor") else p
            local.add_(0.01)
    moved = snapshot()
    synced = None
    if mode == "sync":
        synced = worker.sync_teacher(version=7)
        after = snapshot()
        actor_params = dict(worker.actor.engine.module.named_parameters())
        local = lambda t: t._local_tensor if hasattr(t, "_local_tensor") else t  # noqa: E731
        # the synced copy is the actor's weights cast to the copy's dtype, element for element
        synced["max_diff_to_cast_actor"] = max(
            float((local(p.data).double() - local(actor_params[n].data).to(local(p.data).dtype).double()).abs().max())
            for n, p in worker.teacher.engine.module.named_parameters()
        )
    else:
        after = moved
    mismatch = None
    if worker.teacher is not None:  # a copy built differently from the actor is caught with the flag to change
        name, param = next(iter(worker.teacher.engine.module.named_parameters()))
        local = param._local_tensor if hasattr(param, "_local_tensor") else param
        local.data = local.data.double()
        try:
            worker._check_teacher_matches_actor()
        except RuntimeError as exc:
            mismatch = str(exc)
    print("RESULT " + json.dumps({"info": info, "before": before, "moved": moved, "after": after, "synced": synced,
                                  "mismatch": mismatch}))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], sys.argv[3] if len(sys.argv) > 3 else None)
