"""Entry point of ``python -m humangap``; see ``humangap.cli``."""

import sys

from humangap.cli import main

sys.exit(main())
