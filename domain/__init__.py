"""Pure business rules: no I/O, no framework imports. Money is integer cents everywhere."""
