"""Data preparation for rlsd-verl: the shared parquet schema and the benchmark / training-set builders.

``rlsd_verl.data.schema`` holds :data:`FEATURES` (the one schema of every parquet the project writes),
``make_row`` / ``validate_row``, the atomic ``write_parquet`` / ``ParquetSink`` and ``check_parquet``.

Builders (each ``build_<name>(...) -> summary dict`` plus ``main()`` for ``data_prep/<name>.py``):
``mmmu``, ``mathvision``, ``mathvista``, ``wemath``, ``zerobench`` (evaluation), ``mmfinereason``,
``geometry3k`` (training); ``paper_benchmarks`` runs the five Table 2 sets. Shared parts:
``sources`` (input layouts, ``--from-hub``), ``images`` (decode/verify/RGB/pixel cap), ``answers``
(option and gold parsing, rule-verifiability), ``prompts`` (``--prompt-style``), ``columns`` (the
per-row column checks and the output row of a converted benchmark row), ``build`` (the conversion
loop, count checks, summaries), ``catalog`` (``data_source`` values).
"""

from rlsd_verl.data.schema import (
    FEATURES,
    FREE_FORM,
    IMAGE_TOKEN,
    MULTIPLE_CHOICE,
    SchemaError,
    check_parquet,
    load_parquet,
    make_row,
    validate_row,
    write_parquet,
)

__all__ = [
    "FEATURES",
    "FREE_FORM",
    "IMAGE_TOKEN",
    "MULTIPLE_CHOICE",
    "SchemaError",
    "check_parquet",
    "load_parquet",
    "make_row",
    "validate_row",
    "write_parquet",
]
