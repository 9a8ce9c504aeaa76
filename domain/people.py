"""How a person is named on pages, emails and documents."""


def full_name(first_name: str, last_name: str) -> str:
    return f"{first_name} {last_name}"
