"""What the workflows and their callers agree on: each workflow's type name, id, inputs and outputs, and the
names of its Updates, Queries and signals (contracts/calls.py). Pure data: it imports only pydantic,
the standard library and domain/, so every layer may import it and no caller imports a workflow class.

The names here are the wire names of recorded histories (tests/histories): never rename one."""
