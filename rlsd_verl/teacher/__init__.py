"""The teacher side of self-distillation: privileged prompts and the teacher batch."""
