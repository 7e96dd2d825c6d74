"""Ready data templates shipped with idnode (`idnode template load`)."""
