"""``rollout.name=hf``: a Hugging Face ``generate`` rollout backend for verl 0.9.1.

verl 0.9.1 only ships server-mode rollouts for vLLM, SGLang and TensorRT-LLM, none of
which runs without CUDA. This backend plugs the same three seams those use, so the
whole V1 trainer (agent loop, load balancer, weight sync, validation) runs unchanged:

* :class:`HFRolloutServer` — a Ray actor that owns a ``transformers`` model and answers
  the token-in/token-out ``generate`` call of verl's ``LLMServerClient`` with a
  :class:`~verl.workers.rollout.replica.TokenOutput` (response ids, their log-probs, stop
  reason). Multimodal prompts arrive as already-expanded ids plus the images; the server
  runs the model's image processor on them, like vLLM does.
* :class:`HFReplica` — a :class:`~verl.workers.rollout.replica.RolloutReplica` that
  launches one server per replica (registered in ``RolloutReplicaRegistry`` as ``hf``).
* :class:`HFServerAdapter` — the :class:`~verl.workers.rollout.base.BaseRollout` living
  in the FSDP actor process (registered in ``_ROLLOUT_REGISTRY`` as ``("hf", "async")``):
  ``update_weights`` ships the actor's full weights to the server every step.

Responses never contain multimodal placeholder tokens (``<|image_pad|>``, ``<|vision_start|>``, …):
they are suppressed while sampling, because verl recomputes M-RoPE positions over prompt +
response and a stray placeholder breaks them (a real VL model practically never emits them; a
tiny random one does). Their probability mass is left out of sampling only; the reported
log-probs stay those of the unconstrained model, as the trainer recomputes them.

Log-probs are those of the sampling distribution, ``log_softmax(logits / T)`` (T = 1 for
greedy), i.e. the same quantity verl's training engine computes for ``old_log_probs``
(vLLM's ``logprobs_mode=processed_logprobs``).

It is meant for CPU runs and tests (tiny models); on GPUs use vLLM.
"""

from __future__ import annotations

import asyncio
import logging
import os
from typing import Any, Generator, Optional

import ray
import torch

from verl.utils.tokenizer.tokenizer import normalize_token_ids
from verl.workers.rollout.base import BaseRollout
from verl.workers.rollout.replica import RolloutReplica, TokenOutput

logger = logging.getLogger(__name__)

BACKEND_NAME = "hf"

# Text-only requests that arrive together (the n samples of a step's prompts) are generated as one
# left-padded batch: on CPU a batch of 32 costs a few times one request, not 32 times.
# RLSD_VERL_HF_BATCH=0 serves them one at a time.
BATCH_TEXT_REQUESTS = os.environ.get("RLSD_VERL_HF_BATCH", "1") != "0"
MAX_BATCH = 64
BATCH_WAIT_S = 0.02


def server_actor_name(replica_rank: int, node_rank: int = 0) -> str:
    return f"rlsd_verl_hf_server_{replica_rank}_{node_rank}"


def _load_model_and_processor(local_path: str, trust_remote_code: bool, dtype: torch.dtype):
    from transformers import AutoConfig, AutoModelForCausalLM, AutoModelForImageTextToText

    from verl.utils import hf_processor, hf_tokenizer

    config = AutoConfig.from_pretrained(local_path, trust_remote_code=trust_remote_code)
    tokenizer = hf_tokenizer(local_path, trust_remote_code=trust_remote_code)
    processor = hf_processor(local_path, trust_remote_code=trust_remote_code)
    is_vlm = hasattr(config, "vision_config")
    auto_cls = AutoModelForImageTextToText if is_vlm else AutoModelForCausalLM
    model = auto_cls.from_pretrained(
        local_path, dtype=dtype, trust_remote_code=trust_remote_code, attn_implementation="sdpa"
    )
    model.eval()
    return model, tokenizer, processor


class HFRolloutServer:
    """Token-in/token-out generation server backed by ``transformers``.

    Implements the subset of ``vLLMHttpServer``'s actor interface that verl's trainer,
    replicas and clients call. Text-only requests that arrive together are generated as
    one left-padded batch (same sampling parameters); multimodal requests one at a time.
    """

    def __init__(self, config, model_config, replica_rank: int = 0, node_rank: int = 0):
        from verl.utils.config import omega_conf_to_dataclass

        self.config = omega_conf_to_dataclass(config)
        self.model_config = model_config
        self.replica_rank = replica_rank
        self.node_rank = node_rank
        self.device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
        dtype = torch.float32 if self.device.type == "cpu" else torch.bfloat16
        local_path = getattr(model_config, "local_path", None) or model_config.path
        self.model, self.tokenizer, self.processor = _load_model_and_processor(
            local_path, bool(getattr(model_config, "trust_remote_code", False)), dtype
        )
        self.model.to(self.device)
        self._lock = asyncio.Lock()
        self._pending: list[tuple[list[int], dict, asyncio.Future]] = []
        self._drain_task: Optional[asyncio.Task] = None
        self.global_steps: Optional[int] = None
        self._eos_ids = self._collect_eos_ids()
        self._suppress_ids = self._collect_placeholder_ids()
        seed = getattr(self.config, "seed", None)
        self._generator_seed = 0 if seed is None else int(seed)
        torch.manual_seed(self._generator_seed + replica_rank)

    def _collect_eos_ids(self) -> list[int]:
        ids: list[int] = []
        for source in (getattr(self.model, "generation_config", None), self.tokenizer):
            eos = getattr(source, "eos_token_id", None)
            if eos is None:
                continue
            ids.extend(eos if isinstance(eos, (list, tuple)) else [eos])
        return sorted(set(int(i) for i in ids))

    def _collect_placeholder_ids(self) -> list[int]:
        """Ids of the multimodal placeholder / boundary tokens a response must not contain."""
        if self.processor is None:
            return []
        names = {getattr(self.processor, a, None) for a in ("image_token", "video_token", "audio_token")}
        names |= {"<|vision_start|>", "<|vision_end|>", "<|vision_pad|>", "<|image_pad|>", "<|video_pad|>"}
        vocab = self.tokenizer.get_vocab()
        return sorted({vocab[n] for n in names if n and n in vocab})

    # ------------------------------------------------------------------ generation
    def _multimodal_kwargs(self, input_ids: torch.Tensor, image_data, video_data) -> dict[str, torch.Tensor]:
        if not image_data and not video_data:
            return {}
        if self.processor is None:
            raise ValueError(
                "hf rollout: the request carries images/videos but the model at "
                f"{self.model_config.path!r} has no processor"
            )
        kwargs: dict[str, torch.Tensor] = {}
        if image_data:
            out = self.processor.image_processor(images=list(image_data), return_tensors="pt")
            kwargs["pixel_values"] = out["pixel_values"].to(self.device, dtype=self.model.dtype)
            kwargs["image_grid_thw"] = out["image_grid_thw"].to(self.device)
        if video_data:
            out = self.processor.video_processor(videos=list(video_data), return_tensors="pt")
            kwargs["pixel_values_videos"] = out["pixel_values_videos"].to(self.device, dtype=self.model.dtype)
            kwargs["video_grid_thw"] = out["video_grid_thw"].to(self.device)
        if hasattr(self.processor, "create_mm_token_type_ids"):
            kwargs["mm_token_type_ids"] = torch.tensor(
                self.processor.create_mm_token_type_ids(input_ids.tolist()), device=self.device
            )
        return kwargs

    def _max_new_tokens(self, prompt_len: int, sampling_params: dict) -> int:
        if "max_tokens" in sampling_params:
            max_tokens = int(sampling_params["max_tokens"])
        elif "max_new_tokens" in sampling_params:
            max_tokens = int(sampling_params["max_new_tokens"])
        else:
            max_tokens = min(
                self.config.response_length, self.config.prompt_length + self.config.response_length - prompt_len
            )
        return max(1, max_tokens)

    def _pad_id(self) -> int:
        return self.tokenizer.pad_token_id if self.tokenizer.pad_token_id is not None else (self._eos_ids or [0])[0]

    def _gen_kwargs(self, sampling_params: dict, max_new_tokens: int) -> tuple[dict, float]:
        """``generate`` keyword arguments for verl's sampling parameters, and the log-prob temperature."""
        temperature = float(sampling_params.get("temperature", 1.0) or 0.0)
        do_sample = temperature > 0
        top_k = int(sampling_params.get("top_k", -1) or -1)
        top_p = float(sampling_params.get("top_p", 1.0) or 1.0)
        gen_kwargs = dict(
            max_new_tokens=max_new_tokens,
            do_sample=do_sample,
            repetition_penalty=float(sampling_params.get("repetition_penalty", 1.0) or 1.0),
            eos_token_id=self._eos_ids or None,
            pad_token_id=self._pad_id(),
            return_dict_in_generate=True,
            output_logits=True,
        )
        if self._suppress_ids:
            gen_kwargs["suppress_tokens"] = self._suppress_ids
        if do_sample:
            gen_kwargs.update(temperature=temperature, top_p=top_p, top_k=top_k if top_k > 0 else 0)
        return gen_kwargs, (temperature if do_sample else 1.0)

    def _token_output(self, response: torch.Tensor, logits: torch.Tensor, scale: float, sampling_params: dict) -> TokenOutput:
        """One row's output: cut after the first EOS (``generate`` pads after it), log-probs of log_softmax(logits/T)."""
        n, stop = response.shape[0], "length"
        for i, tok in enumerate(response.tolist()):
            if tok in self._eos_ids:
                n, stop = i + 1, "completed"
                break
        response, logits = response[:n], logits[:n]
        log_probs = torch.log_softmax(logits / scale, dim=-1).gather(-1, response.unsqueeze(-1)).squeeze(-1)
        return TokenOutput(
            token_ids=response.tolist(),
            log_probs=log_probs.tolist() if sampling_params.get("logprobs", True) is not False else None,
            stop_reason="completed",
            extra_fields={"global_steps": self.global_steps, "finish_reason": stop},
        )

    @torch.no_grad()
    def _generate_sync(self, prompt_ids: list[int], sampling_params: dict, image_data, video_data) -> TokenOutput:
        input_ids = torch.tensor([list(prompt_ids)], dtype=torch.long, device=self.device)
        mm_kwargs = self._multimodal_kwargs(input_ids, image_data, video_data)
        gen_kwargs, scale = self._gen_kwargs(sampling_params, self._max_new_tokens(len(prompt_ids), sampling_params))
        out = self.model.generate(
            input_ids=input_ids, attention_mask=torch.ones_like(input_ids), **mm_kwargs, **gen_kwargs
        )
        logits = torch.stack(out.logits, dim=1)[0].float()  # (new_tokens, vocab): raw, before warpers
        return self._token_output(out.sequences[0, input_ids.shape[1] :], logits, scale, sampling_params)

    @torch.no_grad()
    def _generate_batch_sync(self, prompts: list[list[int]], sampling_params: dict) -> list[TokenOutput]:
        """Text-only requests with the same sampling parameters in one left-padded ``generate`` call.

        Each row's response, log-probs and stop reason are those :meth:`_generate_sync` defines; the
        rows attend only to their own tokens (attention mask), and positions count from each row's first
        real token (``generate`` derives them from the mask).
        """
        if len(prompts) == 1:
            return [self._generate_sync(prompts[0], sampling_params, None, None)]
        width = max(len(p) for p in prompts)
        input_ids = torch.full((len(prompts), width), self._pad_id(), dtype=torch.long, device=self.device)
        attention_mask = torch.zeros_like(input_ids)
        for i, p in enumerate(prompts):
            input_ids[i, width - len(p) :] = torch.tensor(p, dtype=torch.long)
            attention_mask[i, width - len(p) :] = 1
        budget = min(self._max_new_tokens(len(p), sampling_params) for p in prompts)
        gen_kwargs, scale = self._gen_kwargs(sampling_params, budget)
        out = self.model.generate(input_ids=input_ids, attention_mask=attention_mask, **gen_kwargs)
        logits_all = torch.stack(out.logits, dim=1).float()  # (batch, new_tokens, vocab)
        return [
            self._token_output(out.sequences[i, width:], logits_all[i], scale, sampling_params)
            for i in range(len(prompts))
        ]

    async def _drain(self) -> None:
        """Serve queued text requests in batches (same sampling parameters and token budget per batch)."""
        while self._pending:
            await asyncio.sleep(BATCH_WAIT_S)  # let the other requests of this step arrive
            async with self._lock:
                queued, self._pending = self._pending, []
                groups: dict[str, list] = {}
                for prompt_ids, params, fut in queued:
                    budget = self._max_new_tokens(len(prompt_ids), params)
                    key = repr((sorted(params.items(), key=lambda kv: kv[0]), budget))
                    groups.setdefault(key, []).append((prompt_ids, params, fut))
                for group in groups.values():
                    for start in range(0, len(group), MAX_BATCH):
                        chunk = group[start : start + MAX_BATCH]
                        try:
                            outs = await asyncio.to_thread(
                                self._generate_batch_sync, [c[0] for c in chunk], chunk[0][1]
                            )
                        except Exception as e:  # every waiting request gets the error
                            for _, _, fut in chunk:
                                if not fut.done():
                                    fut.set_exception(e)
                            continue
                        for (_, _, fut), result in zip(chunk, outs):
                            if not fut.done():
                                fut.set_result(result)

    async def generate(
        self,
        prompt_ids: list[int],
        sampling_params: dict[str, Any],
        request_id: str,
        image_data: Optional[list[Any]] = None,
        video_data: Optional[list[Any]] = None,
        audio_data: Optional[list[Any]] = None,
        mm_processor_kwargs: Optional[dict[str, Any]] = None,
        priority: int = 0,
        **kwargs: Any,
    ) -> TokenOutput:
        if audio_data:
            raise ValueError("hf rollout: audio inputs are not supported")
        prompt_ids = normalize_token_ids(prompt_ids)
        if image_data or video_data or not BATCH_TEXT_REQUESTS:
            async with self._lock:
                return await asyncio.to_thread(
                    self._generate_sync, prompt_ids, dict(sampling_params), image_data, video_data
                )
        fut = asyncio.get_running_loop().create_future()
        self._pending.append((list(prompt_ids), dict(sampling_params), fut))
        if self._drain_task is None or self._drain_task.done():
            self._drain_task = asyncio.create_task(self._drain())
        return await fut

    # ------------------------------------------------------------------ weights
    async def update_weights(self, named_tensors: dict[str, torch.Tensor], global_steps: Optional[int] = None):
        async with self._lock:
            result = self.model.load_state_dict(named_tensors, strict=False)
            if result.unexpected_keys:
                raise RuntimeError(
                    "hf rollout: weights from the trainer do not match the rollout model: unexpected keys "
                    f"{result.unexpected_keys[:8]} (of {len(result.unexpected_keys)})"
                )
            missing = [k for k in result.missing_keys if not self._is_tied(k)]
            if missing:
                raise RuntimeError(f"hf rollout: the trainer sent no weights for {missing[:8]} (of {len(missing)})")
            if global_steps is not None:
                self.global_steps = global_steps
        return len(named_tensors)

    def _is_tied(self, key: str) -> bool:
        tied = getattr(self.model, "_tied_weights_keys", None) or {}
        keys = tied.keys() if isinstance(tied, dict) else tied
        return key in keys or key.endswith("lm_head.weight")

    # ------------------------------------------------------------------ control plane (no-ops)
    def get_server_address(self):
        return f"hf-replica-{self.replica_rank}", self.node_rank

    async def set_global_steps(self, global_steps: int):
        self.global_steps = global_steps

    async def wake_up(self, tags: Optional[list[str]] = None):
        return None

    async def sleep(self):
        return None

    async def clear_kv_cache(self):
        return None

    async def release_kv_cache(self):
        return None

    async def resume_kv_cache(self):
        return None

    async def wait_for_requests_to_drain(self):
        async with self._lock:
            return None

    async def abort_all_requests(self, reset_prefix_cache: bool = True, reject_request: bool = False):
        return {}

    async def abort_request(self, request_id: str, reset_prefix_cache: bool = True):
        return {}

    async def resume_generation(self):
        return None

    async def start_profile(self, **kwargs):
        return None

    async def stop_profile(self):
        return None


class HFReplica(RolloutReplica):
    """One :class:`HFRolloutServer` per replica, placed on the node of its first worker."""

    async def launch_servers(self):
        node_id = None
        if self.workers:
            node_id = await self.workers[0].__ray_call__.remote(lambda self: ray.get_runtime_context().get_node_id())
        options: dict[str, Any] = dict(
            name=server_actor_name(self.replica_rank, 0),
            max_concurrency=self.max_concurrency,
            num_cpus=0,
        )
        if node_id is not None:
            options["scheduling_strategy"] = ray.util.scheduling_strategies.NodeAffinitySchedulingStrategy(
                node_id=node_id, soft=False
            )
        server = ray.remote(HFRolloutServer).options(**options).remote(
            config=self.config, model_config=self.model_config, replica_rank=self.replica_rank, node_rank=0
        )
        self.servers = [server]
        address, _ = await server.get_server_address.remote()
        self._server_handle = server
        self._server_address = address

    def rollout_worker_use_gpu(self) -> bool:
        return False


class HFServerAdapter(BaseRollout):
    """Lives in the FSDP actor process; pushes weights to the replica's HF server."""

    def __init__(self, config, model_config, device_mesh, replica_rank: int = -1):
        super().__init__(config, model_config, device_mesh)
        rank = int(os.environ.get("RANK", 0))
        rollout_world_size = (
            self.config.tensor_model_parallel_size
            * self.config.data_parallel_size
            * self.config.pipeline_model_parallel_size
        )
        self.replica_rank = rank // rollout_world_size if replica_rank == -1 else replica_rank
        self.rollout_rank = rank % rollout_world_size
        self.server_handle = None

    def _server(self):
        if self.rollout_rank != 0:
            return None
        if self.server_handle is None:
            self.server_handle = ray.get_actor(server_actor_name(self.replica_rank, 0))
        return self.server_handle

    async def resume(self, tags: list[str]):
        return None

    async def release(self):
        return None

    @torch.no_grad()
    async def update_weights(
        self,
        weights: Generator[tuple[str, torch.Tensor], None, None],
        global_steps: Optional[int] = None,
        wire_format: str = "named_tensors",
        **kwargs,
    ):
        if wire_format != "named_tensors":
            raise ValueError(f"hf rollout supports wire_format='named_tensors' only, got {wire_format!r}")
        server = self._server()
        state: dict[str, torch.Tensor] = {}
        for name, tensor in weights:  # every rank must drain the generator (it gathers shards)
            if server is not None:
                if hasattr(tensor, "full_tensor"):
                    tensor = tensor.full_tensor()
                state[name] = tensor.detach().to("cpu", copy=True)
        if server is not None:
            await server.update_weights.remote(state, global_steps=global_steps)
