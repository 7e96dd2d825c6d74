"""`python -m cli` is `idnode`."""

from .main import main

main()
