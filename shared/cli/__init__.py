"""The administrators' command line (`python -m shared`): see `main.py` for the commands and exit codes."""
