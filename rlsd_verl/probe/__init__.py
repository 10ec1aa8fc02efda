"""``python -m rlsd_verl.probe``: does the teacher's signal point the right way, before training?

See :mod:`rlsd_verl.probe.__main__` for the command and :mod:`rlsd_verl.probe.stats` for the table.
"""

from rlsd_verl.probe.stats import format_table, teacher_signal, verdict

__all__ = ["format_table", "teacher_signal", "verdict"]
