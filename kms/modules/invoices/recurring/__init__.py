"""Wiederkehrende Rechnungen: templates the ⊕ automatism turns into invoices once per period."""
