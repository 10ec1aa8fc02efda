"""``rlsd_verl.config_checks``: verl's whole trainer config against the RLSD settings."""

import importlib.util
import os
import warnings

import pytest
from omegaconf import OmegaConf

from rlsd_verl.algos.config import RLSDConfig
from rlsd_verl.config_checks import validate_against_trainer_config


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
        assert validate_against_trainer_config(RLSDConfig(), _trainer_cfg()) == []


@pytest.mark.parametrize("n", [1, 0])
def test_single_rollout_per_prompt_is_an_error(n):
    with pytest.raises(ValueError, match="actor_rollout_ref.rollout.n"):
        validate_against_trainer_config(RLSDConfig(), _trainer_cfg(**{"actor_rollout_ref.rollout.n": n}))


def test_missing_rollout_n_is_an_error():
    with pytest.raises(ValueError, match="actor_rollout_ref.rollout.n"):
        validate_against_trainer_config(RLSDConfig(), OmegaConf.create({"trainer": {}}))


def test_async_v1_trainer_is_an_error_but_legacy_trainer_is_not_checked():
    with pytest.raises(ValueError, match="trainer.v1.trainer_mode"):
        validate_against_trainer_config(RLSDConfig(), _trainer_cfg(**{"trainer.v1.trainer_mode": "colocate_async"}))
    cfg = _trainer_cfg(**{"trainer.use_v1": False, "trainer.v1.trainer_mode": "colocate_async"})
    assert validate_against_trainer_config(RLSDConfig(), cfg) == []


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
        messages = validate_against_trainer_config(RLSDConfig(), _trainer_cfg(**{key: value}))
    assert len(messages) == 1 and flag in messages[0]


@pytest.mark.parametrize("estimator", ["rlsd", "opsd", "grpo_opsd", "sdpo"])
def test_our_estimator_names_are_not_departures(estimator):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert validate_against_trainer_config(RLSDConfig(), _trainer_cfg(**{"algorithm.adv_estimator": estimator})) == []


def test_teacher_sync_consistency_warnings():
    with pytest.warns(UserWarning, match="teacher=live"):
        validate_against_trainer_config(RLSDConfig(sync_interval=1), _trainer_cfg())
    with pytest.warns(UserWarning, match="teacher=frozen"):
        cfg = _trainer_cfg(**{"trainer.total_training_steps": 10})
        validate_against_trainer_config(RLSDConfig(sync_interval=10), cfg)
    # sync_interval does not apply to the other teachers
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        validate_against_trainer_config(RLSDConfig(teacher="frozen", sync_interval=1), _trainer_cfg())


def test_plain_dict_trainer_config_is_accepted():
    assert validate_against_trainer_config(RLSDConfig(), OmegaConf.to_container(_trainer_cfg())) == []


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
        "data.train_batch_size",
        "actor_rollout_ref.actor.ppo_mini_batch_size",
        "actor_rollout_ref.actor.ppo_epochs",
    ):
        assert OmegaConf.select(cfg, key, default="<missing>") != "<missing>", key
    OmegaConf.update(cfg, "actor_rollout_ref.rollout.n", 8)
    OmegaConf.update(cfg, "algorithm.adv_estimator", "grpo")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # verl's defaults: several mini-batches per step (θ_old warning)
        messages = validate_against_trainer_config(RLSDConfig(), cfg)
    assert all("adv_estimator" not in m and "rollout.n" not in m for m in messages)
    OmegaConf.update(cfg, "actor_rollout_ref.rollout.n", 1)
    with pytest.raises(ValueError, match="actor_rollout_ref.rollout.n"):
        validate_against_trainer_config(RLSDConfig(), cfg)


@pytest.mark.parametrize(
    "batch, mini, epochs, warns",
    [(256, 256, 1, False), (256, 64, 1, True), (256, 256, 2, True), (4, 4, 1, False)],
)
def test_several_optimizer_steps_per_trainer_step_warn_about_theta_old(batch, mini, epochs, warns):
    cfg = _trainer_cfg(**{"data.train_batch_size": batch, "actor_rollout_ref.actor.ppo_mini_batch_size": mini,
                          "actor_rollout_ref.actor.ppo_epochs": epochs})
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        messages = validate_against_trainer_config(RLSDConfig(), cfg)
    assert bool(messages) == warns
    if warns:
        assert len(messages) == 1 and "θ_old" in messages[0] and "current θ" in messages[0]
        assert "ppo_mini_batch_size" in messages[0] and "trainer step" in messages[0]
        assert [str(w.message) for w in caught] == messages


def test_official_teacher_prompt_ignores_a_custom_template():
    cfg = _trainer_cfg()
    with pytest.warns(UserWarning, match="ignores algorithm.rlsd.teacher_template"):
        validate_against_trainer_config(RLSDConfig(teacher_prompt="official", teacher_template="R: {hint}"), cfg)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert validate_against_trainer_config(RLSDConfig(teacher_prompt="official"), cfg) == []


def test_teacher_token_budget():
    from rlsd_verl.config_checks import check_teacher_token_budget

    cfg = OmegaConf.create({
        "data": {"max_prompt_length": 100, "max_response_length": 50},
        "actor_rollout_ref": {"rollout": {"log_prob_use_dynamic_bsz": True, "log_prob_max_token_len_per_gpu": 200}},
    })
    check_teacher_token_budget(cfg, 50)  # 100 + 50 + 50 fits
    with pytest.raises(ValueError, match="log_prob_max_token_len_per_gpu=200 .* at least 201"):
        check_teacher_token_budget(cfg, 51)
    cfg.actor_rollout_ref.rollout.log_prob_use_dynamic_bsz = False
    check_teacher_token_budget(cfg, 10_000)  # fixed micro-batches: no token budget to exceed


@pytest.mark.parametrize(
    "key,value",
    [
        ("actor_rollout_ref.rollout.multi_turn.tool_config_path", "tools.yaml"),
        ("actor_rollout_ref.rollout.multi_turn.function_tool_path", "tools.py"),
        ("actor_rollout_ref.rollout.agent.default_agent_loop", "tool_agent"),
    ],
)
def test_tools_are_refused_with_a_clear_error(key, value):
    with pytest.raises(ValueError, match="do not support tool agent loops"):
        validate_against_trainer_config(RLSDConfig(), _trainer_cfg(**{key: value}))
    validate_against_trainer_config(RLSDConfig(), _trainer_cfg(**{key: None}))
