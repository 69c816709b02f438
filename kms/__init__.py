"""KMS, the Kunden-Management-System: back office for self-employed people in Germany."""

__version__ = "0.1.0"
