"""``algorithm.rlsd.*``: the validated configuration of RLSD and of its self-distillation baselines.

Every default is the paper's value (arXiv:2604.03128, §5.1) unless its documentation says
otherwise. ``RLSDConfig.from_config(cfg.algorithm)`` reads the section out of verl's Hydra config
(missing keys take the defaults, unknown keys are an error). This module holds the dataclass
only: the teacher templates and their loading live in :mod:`rlsd_verl.teacher.templates`, and the
checks of the rest of verl's ``ppo_trainer`` config against these settings in
:mod:`rlsd_verl.config_checks` (run by ``python -m rlsd_verl.main`` before Ray starts).

Only the standard library is imported at module level (``omegaconf`` lazily, when a DictConfig is
passed), so this module loads anywhere.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping
from dataclasses import dataclass, field, fields

from rlsd_verl.teacher.templates import (
    DEFAULT_SDPO_TEMPLATE,
    DEFAULT_TEACHER_TEMPLATE,
    TEACHER_PROMPTS,
    load_teacher_template,
)

__all__ = ["RLSDConfig", "SDPO_SELECTIONS", "TEACHER_MODES"]

#: Strategies for choosing SDPO's demonstration among several successful siblings.
SDPO_SELECTIONS = ("first", "random", "shortest")

#: Accepted values of ``algorithm.rlsd.teacher``.
TEACHER_MODES = ("sync", "frozen", "live")

_PREFIX = "algorithm.rlsd"


def _help(text: str) -> dict:
    return {"help": text}


@dataclass
class RLSDConfig:
    r"""Configuration of RLSD (``algorithm.rlsd.*``) and of the self-distillation baselines.

    Parameters that control the λ schedule (paper §4.1, Algorithm 1 line 17, §5.1):

        lambda_init (`float`, *optional*, defaults to `0.5`):
            Peak interpolation weight ``λ`` in ``Â_t = A·((1−λ) + λ·clip(w_t, 1±ε_w))``, in [0, 1].
            Paper: "λ … is initialized at 0.5" to avoid an abrupt switch from uniform credit.
        decay_steps (`int`, *optional*, defaults to `50`):
            ``λ`` decays linearly to 0 over this many **trainer steps** (verl's ``global_steps``: one
            rollout batch each, however many mini-batches or PPO epochs it is split into; paper:
            "over the first 50 training steps"; the released script uses 60). After it, RLSD is
            exactly GRPO. 0 keeps ``λ = lambda_init`` for the whole run.
        warmup_steps (`int`, *optional*, defaults to `0`):
            Linear ramp of ``λ`` from 0 to ``lambda_init`` before the decay, in trainer steps.
            Paper and released script: 0.
        lambda_step_offset (`int`, *optional*, defaults to `0`):
            The schedule's step for the first update. The update of trainer step ``s`` (verl's
            ``global_steps``, from 1) uses ``λ(s − 1 + lambda_step_offset)``. 0: the paper's reading,
            ``λ = lambda_init`` at the first update and 0 from update ``decay_steps + 1`` on. 1: the
            released code, whose step counter starts at 1, so its first update already uses
            ``lambda_init·(1 − 1/decay_steps)`` and ``λ`` reaches 0 one update earlier.

    Parameters that control the reweighting:

        clip_eps (`float`, *optional*, defaults to `0.2`):
            ``ε_w``, half-width of the clip on the evidence ratio ``w_t`` (paper: 0.2), in [0, 1).
            A trust region on credit redistribution: the per-token multiplier stays within
            ``[1 − λε_w, 1 + λε_w]`` and, being positive, never flips the verifier's sign.

    Parameters that control the teacher (paper §3.1–3.3):

        teacher (`str`, *optional*, defaults to `"sync"`):
            Which weights score the privileged prompt. ``"sync"``: a snapshot of the policy, refreshed
            every ``sync_interval`` steps and frozen in between (paper: "synchronized with the student
            model every 10 training steps and kept frozen in between"). ``"frozen"``: the initial
            policy for the whole run. ``"live"``: the current policy (no snapshot).
        sync_interval (`int`, *optional*, defaults to `10`):
            Steps between teacher refreshes for ``teacher="sync"`` (paper: 10; released script: 20).
            Ignored by ``"frozen"`` and ``"live"``.
        teacher_dtype (`str` or `None`, *optional*, defaults to `None`):
            dtype of the ``sync``/``frozen`` teacher copy's weights: ``fp32``, ``bf16`` or ``fp16``.
            ``None``: the actor's compute dtype (``actor.fsdp_config.mixed_precision.param_dtype``,
            verl's default bf16 on GPUs; fp32 in the CPU preset), so the copy computes exactly as the
            actor's forward does while holding half of verl's default fp32 weights in host memory and
            streaming half the bytes per teacher micro-batch. Not a paper setting (the released code
            keeps a bf16 copy). Ignored by ``"live"``. Noise: with an empty hint, bf16 passes give
            Δ ≠ 0 (``benchmarks/teacher_dtype.py``, SmolLM2-135M on CPU: both passes bf16 with other
            micro-batching, mean |Δ| 0.036, p99 0.18, 1.1% of tokens outside the clip band 1 ± ε_w =
            1 ± 0.2; bf16 copy vs fp32 student, p99 0.15; both fp32, max 2e-5). On GPUs the actor
            already computes in bf16, so this floor comes with verl's defaults whatever the copy holds.
        hint_key (`str`, *optional*, defaults to `"reward_model.ground_truth"`):
            Dotted path into the dataset row of the privileged information ``r``. Paper: RLSD needs
            "only the final ground-truth answer", which verl rows keep in
            ``reward_model.ground_truth``; e.g. ``"extra_info.reference_solution"`` for a full
            solution (the OPSD setting).
        teacher_prompt (`str`, *optional*, defaults to `"paper"`):
            How the teacher prompt is made (:mod:`rlsd_verl.teacher.templates`). ``"paper"``: the
            student's own messages with ``teacher_template`` appended to the last user message, so the
            teacher sees exactly the student's context plus ``r``. ``"official"``: the released
            script's prompt, one user message ``question + reference block + format sentence`` built
            from the raw question (``extra_info.question``), the student's header and system message
            dropped (``official_teacher_messages``); ``teacher_template`` is then not used.
        teacher_template (`str`, *optional*, defaults to `DEFAULT_TEACHER_TEMPLATE`):
            Text appended to the student's last user message to make the teacher prompt; must contain
            ``{hint}``. Either the text itself, ``"@path"`` to a file, or an existing file path
            (see :func:`rlsd_verl.teacher.templates.load_teacher_template`). The default is the
            authors' wording. Used with ``teacher_prompt="paper"``.
        max_hint_tokens (`int`, *optional*, defaults to `1024`):
            The hint is truncated to this many tokens before rendering, bounding the teacher prompt.
            Not a paper value (the authors truncate at 12000 tokens, which only matters for long
            reasoning traces; a ground-truth answer is far shorter).
        skip_teacher_when_lambda_zero (`bool`, *optional*, defaults to `True`):
            Skip the teacher forward pass when ``λ = 0`` (every step after ``warmup_steps +
            decay_steps``), where it cannot change ``Â_t``; saves the one extra forward per response.

    Variants of the released code (off by default; not used in the paper's experiments):

        negative_only (`bool`, *optional*, defaults to `False`):
            The multiplier is 1 on responses with ``A ≥ 0``: only responses below their group's mean
            (the wrong ones, with 0/1 rewards) get token credit. Released code: ``rlsd_negative_only``;
            ms-swift: ``--rlsd_negative_only``. The authors' reason: reweighting correct responses
            under-reinforces their reasoning tokens, which they link to response-length collapse.
        thought_only (`bool`, *optional*, defaults to `False`):
            The multiplier is 1 outside the thought span (released code: ``rlsd_thought_only``, span
            ``<thought>…</thought>``). The span is the first ``thought_open`` … ``thought_close`` of a
            response, tags included, found as token sequences in the response ids on the workers
            (:func:`rlsd_verl.algos.rlsd.thought_span_mask`). A response without ``thought_open`` keeps
            ``Â_t = A`` on every token (plain GRPO for it); an unclosed span runs to the end of the
            response. ``rlsd/reweighted_frac`` logs the share of tokens reweighted.
        thought_open (`str`, *optional*, defaults to `"<thought>"`):
            Opening tag of the span (released code: ``<thought>``; e.g. ``<think>`` for Qwen3).
        thought_close (`str`, *optional*, defaults to `"</thought>"`):
            Closing tag of the span.

    Parameters of the baselines (paper §5):

        beta (`float`, *optional*, defaults to `1.0`):
            GRPO+OPSD weight of the distillation term, ``Â_t = A + β·Δ_t``, ``>= 0``. The paper uses "a
            tuned weighting coefficient" and does not report it; 1.0 matches verl's OPD
            ``distillation_loss_coef`` default. A convex mix ``(1−α)·GRPO + α·KL`` is ``β = α/(1−α)``.
        opsd_clip (`float` or `None`, *optional*, defaults to `None`):
            Optional symmetric clamp of ``Δ_t`` for the OPSD, GRPO+OPSD and SDPO baselines, ``> 0``.
            ``None``, the paper's setting, clamps nothing.
        sdpo_success_threshold (`float`, *optional*, defaults to `1.0`):
            SDPO: a sibling rollout whose sequence reward is at least this is a demonstration
            ("a successful previous rollout as privileged context", paper §5). With the
            ``0.9·acc + 0.1·format`` training reward, 0.9 means "correct".
        sdpo_selection (`str`, *optional*, defaults to `"shortest"`):
            SDPO: which success to show when several qualify: ``"shortest"`` (the RLSD authors'
            baseline), ``"first"`` (lasgroup/SDPO) or ``"random"``.
        sdpo_feedback (`bool`, *optional*, defaults to `True`):
            SDPO: also show the shortest unsuccessful sibling as feedback, as the authors' baseline does.
        sdpo_template (`str`, *optional*, defaults to `DEFAULT_SDPO_TEMPLATE`):
            SDPO's block appended to the last user message; ``{hint}`` is the demonstration and
            ``{feedback}`` the optional feedback block; text, ``"@path"`` or a file path.

    Diagnostics (not in the paper; off by default):

        dump_tokens (`int`, *optional*, defaults to `0`):
            Responses per dumped step whose tokens, ``Δ_t``, ``w_t`` and ``Â_t`` are appended to a JSONL
            file (:mod:`rlsd_verl.trainer.token_dump`), alternating correct and wrong ones; render them
            with ``python -m rlsd_verl.viz FILE --out DIR`` (the paper's Fig. 6 heatmaps). 0 = off.
        dump_every (`int`, *optional*, defaults to `10`):
            Dump on steps 1, 1 + k, 1 + 2k, … (``k >= 1``). Steps without a teacher pass (λ = 0) record
            ``Â_t`` with ``Δ_t = w_t = null``.
        dump_path (`str` or `None`, *optional*, defaults to `None`):
            The JSONL file; ``None`` writes beside verl's ``file``-logger metrics:
            ``$VERL_FILE_LOGGER_ROOT/<trainer.project_name>/<trainer.experiment_name>.tokens.jsonl``.
    """

    lambda_init: float = field(default=0.5, metadata=_help("Peak λ, in [0, 1]. Paper: 0.5."))
    decay_steps: int = field(default=50, metadata=_help("Trainer steps of linear λ decay to 0 (0 = constant). Paper: 50."))
    warmup_steps: int = field(default=0, metadata=_help("Trainer steps of linear λ ramp-up from 0. Paper: 0."))
    lambda_step_offset: int = field(
        default=0, metadata=_help("Schedule step of the first update: 0 (paper) or 1 (released code counts from 1).")
    )
    clip_eps: float = field(default=0.2, metadata=_help("ε_w, clip half-width on w_t, in [0, 1). Paper: 0.2."))
    teacher: str = field(default="sync", metadata=_help("'sync' | 'frozen' | 'live'. Paper: sync every 10 steps."))
    sync_interval: int = field(
        default=10, metadata=_help("Steps between teacher refreshes (teacher='sync'). Paper: 10.")
    )
    teacher_dtype: str | None = field(
        default=None,
        metadata=_help("Teacher copy dtype: fp32 | bf16 | fp16; None = the actor's compute dtype (bf16 on GPUs)."),
    )
    hint_key: str = field(
        default="reward_model.ground_truth",
        metadata=_help("Dotted path of the privileged info in the dataset row. Paper: the ground-truth answer."),
    )
    teacher_prompt: str = field(
        default="paper",
        metadata=_help("'paper' (student prompt + block) | 'official' (the released script's prompt)."),
    )
    teacher_template: str = field(
        default=DEFAULT_TEACHER_TEMPLATE,
        metadata=_help("Block appended to the last user message; contains {hint}; or '@path' to a file."),
    )
    max_hint_tokens: int = field(default=1024, metadata=_help("Hint truncation length in tokens (>= 1)."))
    skip_teacher_when_lambda_zero: bool = field(
        default=True, metadata=_help("Skip the teacher forward when λ = 0 (RLSD is then GRPO).")
    )
    negative_only: bool = field(
        default=False,
        metadata=_help("Multiplier 1 for responses with A >= 0. Released code: rlsd_negative_only; ms-swift: --rlsd_negative_only."),
    )
    thought_only: bool = field(
        default=False,
        metadata=_help("Multiplier 1 outside the thought_open…thought_close span. Released code: rlsd_thought_only."),
    )
    thought_open: str = field(default="<thought>", metadata=_help("Opening tag of the thought span (released: <thought>)."))
    thought_close: str = field(default="</thought>", metadata=_help("Closing tag of the thought span (released: </thought>)."))
    beta: float = field(default=1.0, metadata=_help("GRPO+OPSD distillation weight β >= 0 (not given by the paper)."))
    opsd_clip: float | None = field(
        default=None, metadata=_help("Symmetric clamp of Δ_t for the OPSD/GRPO+OPSD/SDPO baselines (None = off).")
    )

    sdpo_success_threshold: float = field(
        default=1.0, metadata=_help("SDPO: minimum sequence reward of a demonstration (sibling success).")
    )
    sdpo_selection: str = field(
        default="shortest", metadata=_help("SDPO: 'shortest' | 'first' | 'random' successful sibling.")
    )
    sdpo_feedback: bool = field(
        default=True, metadata=_help("SDPO: add the shortest unsuccessful sibling as feedback.")
    )
    sdpo_template: str = field(
        default=DEFAULT_SDPO_TEMPLATE,
        metadata=_help("SDPO block appended to the last user message; {hint} = demonstration, {feedback}."),
    )

    dump_tokens: int = field(
        default=0, metadata=_help("Responses per dumped step written with their Δ_t, w_t, Â_t (0 = off).")
    )
    dump_every: int = field(default=10, metadata=_help("Dump on steps 1, 1+k, 1+2k, … (k >= 1)."))
    dump_path: str | None = field(
        default=None, metadata=_help("Token-credit JSONL file (None: <logger root>/<project>/<experiment>.tokens.jsonl).")
    )

    def __post_init__(self):
        self.lambda_init = self._real("lambda_init", 0.0, 1.0, "it is the peak λ of the RLSD/GRPO mix (paper: 0.5)")
        self.decay_steps = self._count(
            "decay_steps", 0, "it is the length of the λ decay (paper: 50; 0 = constant λ)"
        )
        self.warmup_steps = self._count("warmup_steps", 0, "it is the length of the λ ramp-up (paper: 0)")
        self.lambda_step_offset = self._count(
            "lambda_step_offset", 0, "it is the schedule step of the first update (paper: 0; released code: 1)"
        )
        self.clip_eps = self._real(
            "clip_eps",
            0.0,
            1.0,
            "it is ε_w, the clip half-width on w_t (paper: 0.2); ε_w >= 1 would let the multiplier reach 0 and "
            "erase or flip the verifier's sign",
            high_open=True,
        )
        if self.teacher not in TEACHER_MODES:
            raise ValueError(
                f"{_PREFIX}.teacher={self.teacher!r} is not one of {TEACHER_MODES}: 'sync' refreshes a policy snapshot "
                "every sync_interval steps (paper), 'frozen' keeps the initial policy, 'live' uses the current policy"
            )
        self.sync_interval = self._count(
            "sync_interval", 1, "it is the number of steps between teacher refreshes (paper: 10)"
        )
        if self.teacher_dtype is not None:
            from rlsd_verl.workers.teacher_copy import canonical_dtype

            self.teacher_dtype = canonical_dtype(self.teacher_dtype, f"{_PREFIX}.teacher_dtype")
        if not isinstance(self.hint_key, str) or not self.hint_key or any(not p for p in self.hint_key.split(".")):
            raise ValueError(
                f"{_PREFIX}.hint_key={self.hint_key!r} is not a dotted path into the dataset row; "
                "use e.g. 'reward_model.ground_truth' or 'extra_info.reference_solution'"
            )
        if self.teacher_prompt not in TEACHER_PROMPTS:
            raise ValueError(
                f"{_PREFIX}.teacher_prompt={self.teacher_prompt!r} is not one of {TEACHER_PROMPTS}: 'paper' appends "
                "teacher_template to the student's own prompt, 'official' rebuilds the released script's prompt"
            )
        load_teacher_template(self.teacher_template)  # raises with a message naming the key
        self.max_hint_tokens = self._count("max_hint_tokens", 1, "it is the hint truncation length in tokens")
        if not isinstance(self.skip_teacher_when_lambda_zero, bool):
            raise TypeError(
                f"{_PREFIX}.skip_teacher_when_lambda_zero={self.skip_teacher_when_lambda_zero!r} must be true or false"
            )
        for flag in ("negative_only", "thought_only"):
            if not isinstance(getattr(self, flag), bool):
                raise TypeError(f"{_PREFIX}.{flag}={getattr(self, flag)!r} must be true or false")
        for tag in ("thought_open", "thought_close"):
            value = getattr(self, tag)
            if not isinstance(value, str) or not value.strip():
                raise ValueError(
                    f"{_PREFIX}.{tag}={value!r} must be a non-empty tag text (e.g. '<thought>' / '</thought>', "
                    "or '<think>' / '</think>' for Qwen3)"
                )
        self.beta = self._real("beta", 0.0, None, "it is the GRPO+OPSD distillation weight β (0 = plain GRPO)")
        if self.opsd_clip is not None:
            self.opsd_clip = self._real("opsd_clip", 0.0, None, "it clamps Δ_t to [-opsd_clip, opsd_clip]")
            if self.opsd_clip == 0.0:
                raise ValueError(
                    f"{_PREFIX}.opsd_clip=0 would zero every baseline advantage; "
                    "use null (no clamp) or a positive value"
                )

        self.sdpo_success_threshold = self._real(
            "sdpo_success_threshold", -math.inf, None, "it is the reward a sibling needs to count as a success"
        )
        if self.sdpo_selection not in SDPO_SELECTIONS:
            raise ValueError(
                f"{_PREFIX}.sdpo_selection={self.sdpo_selection!r} is not one of {SDPO_SELECTIONS}"
            )
        if not isinstance(self.sdpo_feedback, bool):
            raise TypeError(f"{_PREFIX}.sdpo_feedback={self.sdpo_feedback!r} must be true or false")
        load_teacher_template(self.sdpo_template, key="sdpo_template")
        self.dump_tokens = self._count("dump_tokens", 0, "it is the number of responses per dumped step (0 = off)")
        self.dump_every = self._count("dump_every", 1, "it is the number of steps between token dumps")
        if self.dump_path is not None and (not isinstance(self.dump_path, str) or not self.dump_path):
            raise ValueError(f"{_PREFIX}.dump_path={self.dump_path!r} must be a file path or null (beside the logs)")

    # -- validation helpers -------------------------------------------------------------------

    def _real(self, name: str, low: float, high: float | None, why: str, *, high_open: bool = False) -> float:
        value = getattr(self, name)
        if isinstance(value, bool) or not isinstance(value, numbers.Real):
            raise TypeError(f"{_PREFIX}.{name}={value!r} must be a number: {why}")
        value = float(value)
        interval = f"[{low}, {high})" if high_open else (f"[{low}, {high}]" if high is not None else f"[{low}, inf)")
        too_high = high is not None and (value >= high if high_open else value > high)
        if not math.isfinite(value) or value < low or too_high:
            raise ValueError(f"{_PREFIX}.{name}={value} is outside {interval}: {why}; set it to a value in {interval}")
        return value

    def _count(self, name: str, low: int, why: str) -> int:
        value = getattr(self, name)
        if isinstance(value, bool) or not isinstance(value, numbers.Integral):
            raise TypeError(f"{_PREFIX}.{name}={value!r} must be an integer: {why}")
        if value < low:
            raise ValueError(f"{_PREFIX}.{name}={value} must be >= {low}: {why}")
        return int(value)

    # -- construction -------------------------------------------------------------------------

    @classmethod
    def field_names(cls) -> tuple[str, ...]:
        """The keys accepted under ``algorithm.rlsd``."""
        return tuple(f.name for f in fields(cls))

    @classmethod
    def from_config(cls, algorithm_cfg=None) -> RLSDConfig:
        """Build the config from verl's ``algorithm`` section (an OmegaConf DictConfig or a dict).

        Reads ``algorithm.rlsd``; a missing section or missing keys take the defaults (the paper's
        values). A ``_target_`` key (verl's dataclass-instantiation convention) is ignored.

        Raises:
            TypeError: the section is not a mapping.
            ValueError: unknown keys under ``algorithm.rlsd`` (the message lists the valid ones), the
                whole trainer config was passed instead of its ``algorithm`` section, or a bad value.
        """
        if algorithm_cfg is None:
            return cls()
        algorithm = _to_container(algorithm_cfg)
        if not isinstance(algorithm, Mapping):
            raise TypeError(
                f"from_config expects the 'algorithm' config section (a mapping), got {type(algorithm).__name__}"
            )
        if "rlsd" not in algorithm and "algorithm" in algorithm:
            raise ValueError(
                "from_config got the whole trainer config; pass its 'algorithm' section: "
                "RLSDConfig.from_config(cfg.algorithm)"
            )
        section = algorithm.get("rlsd")
        if section is None:
            return cls()
        if not isinstance(section, Mapping):
            raise TypeError(f"{_PREFIX} must be a mapping of RLSD settings, got {type(section).__name__} ({section!r})")
        section = {k: v for k, v in section.items() if k != "_target_"}
        valid = cls.field_names()
        unknown = sorted(str(k) for k in section if k not in valid)
        if unknown:
            raise ValueError(
                f"unknown key(s) under {_PREFIX}: {', '.join(unknown)}; valid keys are: {', '.join(valid)}"
            )
        return cls(**section)

    # -- derived quantities -------------------------------------------------------------------

    def load_teacher_template(self) -> str:
        """The resolved teacher template text (see the module-level :func:`load_teacher_template`)."""
        return load_teacher_template(self.teacher_template)

    def lambda_at(self, step: int) -> float:
        """``λ`` for the update after ``step`` trainer steps (verl's ``global_steps − 1``).

        ``rlsd_lambda(step + lambda_step_offset, lambda_init, decay_steps, warmup_steps)``.
        """
        from rlsd_verl.algos.rlsd import rlsd_lambda  # lazy: keeps this module free of torch

        return rlsd_lambda(step + self.lambda_step_offset, self.lambda_init, self.decay_steps, self.warmup_steps)

    def needs_teacher(self, step: int) -> bool:
        """Whether the RLSD estimator needs teacher log-probs at ``step`` (False once λ = 0, if skipping)."""
        return not (self.skip_teacher_when_lambda_zero and self.lambda_at(step) == 0.0)


def _to_container(cfg):
    """An OmegaConf node as plain Python containers; anything else unchanged."""
    if type(cfg).__module__.startswith("omegaconf"):
        from omegaconf import OmegaConf

        return OmegaConf.to_container(cfg, resolve=True)
    return cfg
