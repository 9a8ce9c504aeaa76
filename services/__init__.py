"""Business operations shared by every front (the REST API, the hosted pages, the activities, the dashboard).

Each operation takes a database session, the tenant and typed input, applies the rules of ``domain``, writes
rows and outbox records, and raises ``domain.errors.DomainError`` when it refuses. None knows HTTP."""
