"""Who an operation acts for: an organization, in one environment (sandbox or production)."""

from dataclasses import dataclass

from db.models import Organization


@dataclass(frozen=True)
class Tenant:
    organization: Organization
    environment: str

    @property
    def organization_id(self) -> str:
        return self.organization.id

    @property
    def withhold_premium(self) -> bool:
        """The organization's default payer in this environment (services.organization)."""
        return self.organization.withholds_premium(self.environment)
