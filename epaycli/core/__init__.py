"""The Epay protocol, pure: no network, files, clock or printing.

Everything here takes its inputs as arguments (keys as text, the current time as a number),
so the CLI, the listener and the mock gateway can all share it and tests need no set-up.
"""
