"""Deterministic workflow code only: no I/O, no SQLAlchemy, no Stripe (see activities/)."""
