"""Notification emails: what each one says (templates) and what it needs to say it (typed contexts)."""
