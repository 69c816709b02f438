"""Plain data handed to the renderers: the sending company and postal addresses."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class PostalAddress:
    """A street address; country is an ISO 3166-1 alpha-2 code."""

    street: str
    postcode: str
    town: str
    country: str = "DE"


@dataclass(frozen=True)
class Company:
    """The sender: everything the letterhead and the legal footer print."""

    name: str
    address: PostalAddress
    legal_form: str = ""
    contact_person: str = ""
    phone: str = ""
    email: str = ""
    website: str = ""
    tax_number: str = ""
    vat_id: str = ""
    bank_name: str = ""
    iban: str = ""
    bic: str = ""
    register_court: str = ""
    register_number: str = ""
    managing_director: str = ""
    logo: bytes | None = None

    @property
    def display_name(self) -> str:
        """Name with legal form, e.g. "Muster GmbH"; skips the form if already in the name."""
        if not self.legal_form or self.name.endswith(self.legal_form):
            return self.name
        return f"{self.name} {self.legal_form}"
