"""Business modules: one package each, with SPEC (its manifest), models and service."""
