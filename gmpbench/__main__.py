"""``python -m gmpbench``: the command line (gmpbench.cli); worker processes re-enter here."""
import sys

from .cli import main

if __name__ == "__main__":
    sys.exit(main())
