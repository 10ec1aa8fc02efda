"""Trainer-side glue: estimator names, the RLSD V1 trainer, the self-distillation worker."""
