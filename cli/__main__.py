"""`python -m cli` is `idnode`."""

from .main import main

# Guarded: importing the module (multiprocessing's spawn does, for one) must not run the command line.
if __name__ == "__main__":
    main()
