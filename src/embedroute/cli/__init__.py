"""Command-line interface (``embedroute --help``)."""
