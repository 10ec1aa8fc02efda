"""``RLSDConfig`` (``algorithm.rlsd.*``): paper defaults, validation messages, loading, derived values."""

import pytest
from omegaconf import OmegaConf

from rlsd_verl.algos.config import TEACHER_MODES, RLSDConfig
from rlsd_verl.teacher.templates import DEFAULT_TEACHER_TEMPLATE


def test_defaults_are_the_paper_values():
    cfg = RLSDConfig()
    assert cfg.lambda_init == 0.5  # §5.1: λ initialised at 0.5 ...
    assert cfg.decay_steps == 50  # ... decayed linearly to 0 over the first 50 steps
    assert cfg.warmup_steps == 0
    assert cfg.clip_eps == 0.2  # ε_w
    assert cfg.teacher == "sync" and cfg.sync_interval == 10  # synced every 10 steps, frozen in between
    assert cfg.hint_key == "reward_model.ground_truth"  # RLSD needs only the final answer
    assert cfg.skip_teacher_when_lambda_zero is True
    assert cfg.opsd_clip is None
    assert cfg.teacher_template == DEFAULT_TEACHER_TEMPLATE and cfg.teacher_prompt == "paper"
    assert cfg.lambda_step_offset == 0  # λ = 0.5 at the first update
    assert cfg.teacher_dtype is None  # the actor's compute dtype (not a paper setting)
    assert RLSDConfig(teacher_dtype="bfloat16").teacher_dtype == "bf16"
    assert TEACHER_MODES == ("sync", "frozen", "live")


def test_every_field_is_documented_in_the_class_docstring():
    doc = RLSDConfig.__doc__
    for name in RLSDConfig.field_names():
        assert f"{name} (`" in doc, name


@pytest.mark.parametrize(
    "key, value, exc",
    [
        ("lambda_init", 1.5, ValueError),
        ("lambda_init", -0.1, ValueError),
        ("lambda_init", "0.5", TypeError),
        ("decay_steps", -1, ValueError),
        ("decay_steps", 2.5, TypeError),
        ("warmup_steps", -3, ValueError),
        ("clip_eps", 1.5, ValueError),
        ("clip_eps", 1.0, ValueError),
        ("clip_eps", float("nan"), ValueError),
        ("teacher", "ema", ValueError),
        ("sync_interval", 0, ValueError),
        ("sync_interval", True, TypeError),
        ("teacher_dtype", "int8", ValueError),
        ("hint_key", "", ValueError),
        ("hint_key", "reward_model..ground_truth", ValueError),
        ("teacher_template", "no placeholder here", ValueError),
        ("teacher_prompt", "released", ValueError),
        ("lambda_step_offset", -1, ValueError),
        ("max_hint_tokens", 0, ValueError),
        ("skip_teacher_when_lambda_zero", "yes", TypeError),
        ("beta", -1.0, ValueError),
        ("opsd_clip", 0.0, ValueError),
        ("opsd_clip", -2.0, ValueError),
    ],
)
def test_bad_values_raise_naming_the_key(key, value, exc):
    with pytest.raises(exc, match=f"algorithm.rlsd.{key}"):
        RLSDConfig(**{key: value})


def test_range_error_says_what_to_change():
    with pytest.raises(ValueError) as info:
        RLSDConfig(clip_eps=1.5)
    message = str(info.value)
    assert "algorithm.rlsd.clip_eps=1.5 is outside [0.0, 1.0)" in message
    assert "paper: 0.2" in message and "set it to a value in" in message


def test_integers_are_accepted_for_float_fields():
    cfg = RLSDConfig(lambda_init=1, clip_eps=0, beta=2, opsd_clip=3)
    assert (cfg.lambda_init, cfg.clip_eps, cfg.beta, cfg.opsd_clip) == (1.0, 0.0, 2.0, 3.0)
    assert all(isinstance(v, float) for v in (cfg.lambda_init, cfg.clip_eps, cfg.beta, cfg.opsd_clip))


# -- from_config ---------------------------------------------------------------------------------


def test_from_config_missing_section_gives_defaults():
    assert RLSDConfig.from_config(OmegaConf.create({"adv_estimator": "grpo"})) == RLSDConfig()
    assert RLSDConfig.from_config({"rlsd": None}) == RLSDConfig()
    assert RLSDConfig.from_config(None) == RLSDConfig()


def test_from_config_partial_section_dictconfig_and_dict():
    algo = OmegaConf.create({"adv_estimator": "grpo", "rlsd": {"decay_steps": 60, "teacher": "frozen"}})
    cfg = RLSDConfig.from_config(algo)
    assert cfg.decay_steps == 60 and cfg.teacher == "frozen" and cfg.lambda_init == 0.5
    assert RLSDConfig.from_config({"rlsd": {"decay_steps": 60, "teacher": "frozen"}}) == cfg


def test_from_config_resolves_interpolations_and_ignores_target():
    algo = OmegaConf.create({"steps": 70, "rlsd": {"_target_": "x.Y", "decay_steps": "${steps}"}})
    assert RLSDConfig.from_config(algo).decay_steps == 70


def test_from_config_unknown_key_lists_valid_keys():
    with pytest.raises(ValueError) as info:
        RLSDConfig.from_config(OmegaConf.create({"rlsd": {"lamda_init": 0.3, "clip": 0.1}}))
    message = str(info.value)
    assert "clip, lamda_init" in message
    for name in RLSDConfig.field_names():
        assert name in message


def test_from_config_rejects_the_whole_trainer_config():
    with pytest.raises(ValueError, match=r"cfg\.algorithm"):
        RLSDConfig.from_config(OmegaConf.create({"algorithm": {"rlsd": {}}, "trainer": {}}))


def test_from_config_bad_value_names_the_key():
    with pytest.raises(ValueError, match="algorithm.rlsd.sync_interval"):
        RLSDConfig.from_config({"rlsd": {"sync_interval": 0}})


def test_from_config_rejects_non_mapping_section():
    with pytest.raises(TypeError, match="algorithm.rlsd"):
        RLSDConfig.from_config({"rlsd": [1, 2]})


# -- derived quantities ----------------------------------------------------------------------------


def test_lambda_at_and_needs_teacher():
    cfg = RLSDConfig()
    assert cfg.lambda_at(0) == 0.5 and cfg.lambda_at(25) == pytest.approx(0.25) and cfg.lambda_at(50) == 0.0
    assert cfg.needs_teacher(49) and not cfg.needs_teacher(50)
    assert RLSDConfig(skip_teacher_when_lambda_zero=False).needs_teacher(500)


def test_lambda_step_offset_is_the_released_codes_count_from_one():
    """Released code: global_step starts at 1, λ_eff = λ·max(1 − step/D, 0) (our notes §2.7)."""
    released = RLSDConfig(decay_steps=60, lambda_step_offset=1)
    for global_step in (1, 2, 30, 59, 60, 61):
        expected = 0.5 * max(1 - global_step / 60, 0.0)
        assert released.lambda_at(global_step - 1) == pytest.approx(expected), global_step
    assert released.needs_teacher(58) and not released.needs_teacher(59)  # zero one update earlier
