"""Hydra configs of rlsd_verl.main (rlsd_trainer.yaml, preset/)."""
