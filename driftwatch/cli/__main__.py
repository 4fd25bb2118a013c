"""``python -m driftwatch.cli``: the ``driftwatch`` command."""

import sys

from . import main

sys.exit(main())
