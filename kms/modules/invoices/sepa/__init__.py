"""SEPA-Lastschrift: mandates, pain.008 runs (service) and the Lastschriften page (ui)."""
