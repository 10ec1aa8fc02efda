"""Data preparation for rlsd-verl: the shared parquet schema and the benchmark / training-set builders.

``rlsd_verl.data.schema`` holds :data:`FEATURES` (the one schema of every parquet the project writes),
``make_row`` / ``validate_row`` and the atomic ``write_parquet``. The builders live in their own
modules (``mmmu``, ``mathvision``, ...) and are driven by the thin CLIs under ``data_prep/``.
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
