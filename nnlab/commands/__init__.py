"""One module per CLI command; each exposes one function that cli.py calls."""
