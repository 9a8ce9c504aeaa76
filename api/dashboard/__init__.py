"""The platform dashboard: server-rendered pages for the organization's operations, finance and agency
staff, calling the same service operations as the REST API."""
