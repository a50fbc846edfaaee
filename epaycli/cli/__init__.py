"""The ``epay`` command line: thin typer commands over the library."""
