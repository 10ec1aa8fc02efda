"""Ray workers: the self-distillation worker (actor + rollout + teacher copy)."""
