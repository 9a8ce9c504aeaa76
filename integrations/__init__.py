"""Adapters to the outside world's APIs (Stripe)."""
