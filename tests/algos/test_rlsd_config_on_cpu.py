"""``RLSDConfig`` (``algorithm.rlsd.*``): paper defaults, validation messages, loading, trainer cross-checks."""

import importlib.util
import os
import warnings

import pytest
from omegaconf import OmegaConf

from rlsd_verl.algos.config import (
    DEFAULT_TEACHER_TEMPLATE,
    TEACHER_MODES,
    RLSDConfig,
    load_teacher_template,
    render_teacher_template,
)


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
    assert cfg.teacher_template == DEFAULT_TEACHER_TEMPLATE
    assert TEACHER_MODES == ("sync", "frozen", "live")


def test_default_template_is_the_authors_wording():
    text = render_teacher_template(RLSDConfig().load_teacher_template(), "42")
    assert text == (
        "\n\nHere is a reference solution:\n42\n\nAfter understanding the reference solution, please try to "
        "solve this problem using your own approach below."
    )


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
        ("hint_key", "", ValueError),
        ("hint_key", "reward_model..ground_truth", ValueError),
        ("teacher_template", "no placeholder here", ValueError),
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


# -- teacher template ----------------------------------------------------------------------------


def test_template_from_at_path_and_plain_path(tmp_path):
    f = tmp_path / "teacher.txt"
    f.write_text("\n\nReference: {hint}\nNow solve it.\n", encoding="utf-8")
    assert load_teacher_template(f"@{f}") == "\n\nReference: {hint}\nNow solve it."
    assert load_teacher_template(str(f)) == "\n\nReference: {hint}\nNow solve it."
    assert RLSDConfig(teacher_template=f"@{f}").load_teacher_template().startswith("\n\nReference:")


def test_template_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="algorithm.rlsd.teacher_template"):
        load_teacher_template(f"@{tmp_path / 'missing.txt'}")
    no_hint = tmp_path / "no_hint.txt"
    no_hint.write_text("nothing to see", encoding="utf-8")
    with pytest.raises(ValueError, match=r"\{hint\}"):
        RLSDConfig(teacher_template=f"@{no_hint}")
    with pytest.raises(TypeError, match="algorithm.rlsd.teacher_template"):
        load_teacher_template(42)


def test_render_keeps_other_braces_literal():
    template = "Answer: $\\boxed{{hint}}$ and {not_a_field} {hint}"
    assert render_teacher_template(template, "x^{2}") == "Answer: $\\boxed{x^{2}}$ and {not_a_field} x^{2}"


# -- derived quantities ----------------------------------------------------------------------------


def test_lambda_at_and_needs_teacher():
    cfg = RLSDConfig()
    assert cfg.lambda_at(0) == 0.5 and cfg.lambda_at(25) == pytest.approx(0.25) and cfg.lambda_at(50) == 0.0
    assert cfg.needs_teacher(49) and not cfg.needs_teacher(50)
    assert RLSDConfig(skip_teacher_when_lambda_zero=False).needs_teacher(500)


# -- validate_against_trainer_config ---------------------------------------------------------------


def _trainer_cfg(**overrides):
    cfg = OmegaConf.create(
        {
            "algorithm": {"adv_estimator": "grpo", "use_kl_in_reward": False},
            "actor_rollout_ref": {"rollout": {"n": 8}, "actor": {"use_kl_loss": False, "entropy_coeff": 0}},
            "trainer": {"use_v1": True, "v1": {"trainer_mode": "sync"}, "total_training_steps": 200},
        }
    )
    for key, value in overrides.items():
        OmegaConf.update(cfg, key, value, force_add=True)
    return cfg


def test_paper_like_trainer_config_passes_silently():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert RLSDConfig().validate_against_trainer_config(_trainer_cfg()) == []


@pytest.mark.parametrize("n", [1, 0])
def test_single_rollout_per_prompt_is_an_error(n):
    with pytest.raises(ValueError, match="actor_rollout_ref.rollout.n"):
        RLSDConfig().validate_against_trainer_config(_trainer_cfg(**{"actor_rollout_ref.rollout.n": n}))


def test_missing_rollout_n_is_an_error():
    with pytest.raises(ValueError, match="actor_rollout_ref.rollout.n"):
        RLSDConfig().validate_against_trainer_config(OmegaConf.create({"trainer": {}}))


def test_async_v1_trainer_is_an_error_but_legacy_trainer_is_not_checked():
    with pytest.raises(ValueError, match="trainer.v1.trainer_mode"):
        RLSDConfig().validate_against_trainer_config(_trainer_cfg(**{"trainer.v1.trainer_mode": "colocate_async"}))
    cfg = _trainer_cfg(**{"trainer.use_v1": False, "trainer.v1.trainer_mode": "colocate_async"})
    assert RLSDConfig().validate_against_trainer_config(cfg) == []


@pytest.mark.parametrize(
    "key, value, flag",
    [
        ("algorithm.use_kl_in_reward", True, "algorithm.use_kl_in_reward"),
        ("actor_rollout_ref.actor.use_kl_loss", True, "actor_rollout_ref.actor.use_kl_loss"),
        ("actor_rollout_ref.actor.entropy_coeff", 0.001, "actor_rollout_ref.actor.entropy_coeff"),
    ],
)
def test_departures_from_the_paper_warn(key, value, flag):
    with pytest.warns(UserWarning, match=flag):
        messages = RLSDConfig().validate_against_trainer_config(_trainer_cfg(**{key: value}))
    assert len(messages) == 1 and flag in messages[0]


@pytest.mark.parametrize("estimator", ["rlsd", "opsd", "grpo_opsd", "sdpo"])
def test_our_estimator_names_are_not_departures(estimator):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert RLSDConfig().validate_against_trainer_config(_trainer_cfg(**{"algorithm.adv_estimator": estimator})) == []


def test_teacher_sync_consistency_warnings():
    with pytest.warns(UserWarning, match="teacher=live"):
        RLSDConfig(sync_interval=1).validate_against_trainer_config(_trainer_cfg())
    with pytest.warns(UserWarning, match="teacher=frozen"):
        cfg = _trainer_cfg(**{"trainer.total_training_steps": 10})
        RLSDConfig(sync_interval=10).validate_against_trainer_config(cfg)
    # sync_interval does not apply to the other teachers
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        RLSDConfig(teacher="frozen", sync_interval=1).validate_against_trainer_config(_trainer_cfg())


def test_plain_dict_trainer_config_is_accepted():
    assert RLSDConfig().validate_against_trainer_config(OmegaConf.to_container(_trainer_cfg())) == []


def _verl_generated_config_path():
    spec = importlib.util.find_spec("verl")  # locates the package without importing it
    if spec is None or not spec.submodule_search_locations:
        return None
    path = os.path.join(spec.submodule_search_locations[0], "trainer", "config", "_generated_ppo_trainer.yaml")
    return path if os.path.isfile(path) else None


@pytest.mark.skipif(_verl_generated_config_path() is None, reason="verl is not installed")
def test_keys_exist_in_verls_real_ppo_trainer_config():
    """The flags we check are the ones verl 0.9.1's generated ppo_trainer config really has."""
    cfg = OmegaConf.load(_verl_generated_config_path())
    for key in (
        "actor_rollout_ref.rollout.n",
        "algorithm.use_kl_in_reward",
        "algorithm.adv_estimator",
        "actor_rollout_ref.actor.use_kl_loss",
        "actor_rollout_ref.actor.entropy_coeff",
        "trainer.use_v1",
        "trainer.v1.trainer_mode",
        "trainer.total_training_steps",
    ):
        assert OmegaConf.select(cfg, key, default="<missing>") != "<missing>", key
    OmegaConf.update(cfg, "actor_rollout_ref.rollout.n", 8)
    OmegaConf.update(cfg, "algorithm.adv_estimator", "grpo")
    messages = RLSDConfig().validate_against_trainer_config(cfg)
    assert all("adv_estimator" not in m and "rollout.n" not in m for m in messages)
    OmegaConf.update(cfg, "actor_rollout_ref.rollout.n", 1)
    with pytest.raises(ValueError, match="actor_rollout_ref.rollout.n"):
        RLSDConfig().validate_against_trainer_config(cfg)
