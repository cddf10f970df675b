"""Entry point of ``python -m training.evaluation``."""

import sys

from training.evaluation.cli import main

sys.exit(main())
