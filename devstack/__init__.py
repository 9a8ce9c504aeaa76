"""The embedded local stack that `make run` starts: real programs on loopback, no Docker."""
