"""The `idnode` command."""
