#!/usr/bin/env python
"""MMFineReason-123K -> verl parquet. Usage: python data_prep/mmfinereason.py --input PATH --output-dir DIR [--val-fraction F]

Logic and rules: rlsd_verl/data/mmfinereason.py (see data_prep/README.md).
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # run from a checkout

from rlsd_verl.data.mmfinereason import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main())
