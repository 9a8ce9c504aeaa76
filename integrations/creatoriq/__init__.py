"""CreatorIQ: its API client, its webhook signatures, and the shapes of what it sends."""
