"""Wiederkehrende Rechnungen: templates that the ⊕ automatism turns into invoices, once per period."""
