"""Getting things out reliably: events fanned out to webhook endpoints, and emails.

Rows are written in the caller's own transaction (``records``); once it commits, each row gets its own
durable Temporal workflow (``dispatch``). A scheduled sweep starts the workflow of any row a crash left
behind, so nothing written is ever lost.
"""
