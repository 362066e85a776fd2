"""Run the command line with ``python -m assaykit``."""

from assaykit.cli import main

if __name__ == "__main__":
    main()
