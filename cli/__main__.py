"""`python -m cli` is `idnode`."""

from .main import main

# Guarded: a process started with multiprocessing's spawn (the node's write processes) imports the main
# module of its parent again, and must not run the command line a second time.
if __name__ == "__main__":
    main()
