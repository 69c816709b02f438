"""Kontoauszüge: bank statements imported into the ledger (work in progress)."""
