"""Streamlit parts of Einstellungen: Firmendaten, Logo, Besteuerung, Mailserver, Sicherheit."""

from __future__ import annotations

from datetime import date
from typing import cast

import pandas as pd
import streamlit as st

from kms.db import session_scope
from kms.formatting import format_date, format_money
from kms.modules.settings import service, taxation
from kms.onboarding import onboarding_done
from kms.types import today
from kms.ui import auth as ui_auth
from kms.ui import forms
from kms.ui.forms import CHOOSE, labels_of, saving
from kms.ui.page import PageContext
from kms.validation import parse_money

LABELS = {
    "company_name": "Firmenname",
    "legal_form": "Rechtsform",
    "representative": "Inhaber/in bzw. Geschäftsführer/in",
    "register_court": "Registergericht",
    "register_number": "Handelsregisternummer",
    "street": "Straße und Hausnummer",
    "postcode": "PLZ",
    "city": "Ort",
    "country": "Land",
    "contact_name": "Ansprechperson",
    "phone": "Telefon",
    "email": "E-Mail",
    "website": "Website",
    "tax_number": "Steuernummer",
    "vat_id": "USt-IdNr.",
    "bank_name": "Bank",
    "iban": "IBAN",
    "bic": "BIC",
    "creditor_id": "Gläubiger-ID",
    "payment_term_days": "Zahlungsziel (Tage)",
    "business_start": "Geschäftsbeginn",
    "host": "Mailserver",
    "port": "Port",
    "security": "Verschlüsselung",
    "sender_address": "Absenderadresse",
    "amount": "Umsatz",
}


def company_form(profile) -> dict | None:  # type: ignore[no-untyped-def]
    """The master data form; returns the values when submitted."""
    forms = service.LEGAL_FORM_NAMES
    with st.form("company"):
        st.subheader("Firmendaten")
        c1, c2 = st.columns([2, 1])
        v = {"company_name": c1.text_input(LABELS["company_name"], profile.company_name)}
        v["legal_form"] = c2.selectbox(
            LABELS["legal_form"],
            forms,
            index=forms.index(profile.legal_form) if profile.legal_form in forms else 0,
            placeholder=CHOOSE,
        )
        v["representative"] = st.text_input(LABELS["representative"], profile.representative)
        c1, c2 = st.columns(2)
        v["register_court"] = c1.text_input(
            LABELS["register_court"],
            profile.register_court,
            placeholder="Amtsgericht Musterstadt",
            help="Pflicht für e.K., OHG, KG, GmbH, UG, AG, eG, PartG (§ 37a HGB, § 35a GmbHG).",
        )
        v["register_number"] = c2.text_input(
            LABELS["register_number"], profile.register_number, placeholder="HRB 12345"
        )
        v["street"] = st.text_input(LABELS["street"], profile.street)
        c1, c2, c3 = st.columns([1, 3, 1])
        v["postcode"] = c1.text_input(LABELS["postcode"], profile.postcode)
        v["city"] = c2.text_input(LABELS["city"], profile.city)
        v["country"] = c3.text_input(LABELS["country"], profile.country or "DE", max_chars=2)
        st.markdown("**Kontakt** (für XRechnung Pflicht)")
        c1, c2, c3 = st.columns(3)
        v["contact_name"] = c1.text_input(LABELS["contact_name"], profile.contact_name)
        v["phone"] = c2.text_input(LABELS["phone"], profile.phone)
        v["email"] = c3.text_input(LABELS["email"], profile.email)
        v["website"] = st.text_input(LABELS["website"], profile.website)
        st.markdown("**Steuer und Bank**")
        c1, c2 = st.columns(2)
        v["tax_number"] = c1.text_input(LABELS["tax_number"], profile.tax_number)
        v["vat_id"] = c2.text_input(LABELS["vat_id"], profile.vat_id, placeholder="DE123456789")
        c1, c2, c3 = st.columns([2, 3, 2])
        v["bank_name"] = c1.text_input(LABELS["bank_name"], profile.bank_name)
        v["iban"] = c2.text_input(LABELS["iban"], profile.iban)
        v["bic"] = c3.text_input(LABELS["bic"], profile.bic)
        c1, c2, c3 = st.columns(3)
        v["payment_term_days"] = c1.number_input(
            LABELS["payment_term_days"], 0, 365, int(profile.payment_term_days or 14)
        )
        v["creditor_id"] = c3.text_input(
            LABELS["creditor_id"],
            profile.creditor_id or "",
            placeholder="DE98ZZZ09999999999",
            help="Gläubiger-Identifikationsnummer der Deutschen Bundesbank; nur für "
            "SEPA-Lastschriften nötig.",
        )
        v["business_start"] = c2.date_input(
            LABELS["business_start"],
            profile.business_start,
            format="DD.MM.YYYY",
            min_value=date(1950, 1, 1),
        )
        submitted = st.form_submit_button("Firmendaten speichern", type="primary")
    return v if submitted else None


def section_company() -> None:
    with session_scope(write=False) as session:
        profile = service.get_profile(session)
        version = profile.version or 0
    st.session_state.setdefault("company_version", version)
    values = company_form(profile)
    if values is not None:
        with saving(LABELS) as result, session_scope() as session:
            saved = service.save_profile(
                session, version=st.session_state["company_version"], **values
            )
            new_version = saved.version
        if result["ok"]:
            st.session_state["company_version"] = new_version
            st.success("Firmendaten gespeichert.")
            back_to_tutorial()
    st.subheader("Logo")
    # No type=: service.save_logo checks the image itself and answers in German.
    upload = st.file_uploader("Logo (PNG oder JPEG, höchstens 1 MB)")
    if upload is not None and st.button("Logo übernehmen"):
        with saving() as result, session_scope() as session:
            service.save_logo(session, upload.getvalue())
        if result["ok"]:
            st.success("Logo gespeichert.")
    with session_scope(write=False) as session:
        logo = service.logo_bytes(service.get_profile(session))
    if logo:
        st.image(logo, width=200, caption="Aktuelles Logo")


TAX_FLASH = "settings_tax_flash"


def regime_form(key: str) -> bool:
    """The Besteuerung form (Regelbesteuerung or Kleinunternehmer from a date); True once
    saved. Einstellungen, the Ersteinrichtung and the invoice editor's dialog all use it."""
    with st.form(key):
        c1, c2 = st.columns(2)
        valid_from = c1.date_input("Gültig ab", date(today().year, 1, 1), format="DD.MM.YYYY")
        kind = c2.radio("Besteuerung", list(taxation.REGIMES), format_func=taxation.REGIMES.get)
        c1, c2 = st.columns(2)
        cash = (
            c1.radio(
                "Versteuerung (nur Regelbesteuerung)",
                ["Soll", "Ist"],
                help="Ist-Versteuerung (Umsatzsteuer erst mit der Zahlung) nur mit Genehmigung "
                "des Finanzamts nach § 20 UStG.",
            )
            == "Ist"
        )
        period = c2.selectbox(
            "Voranmeldungszeitraum",
            list(taxation.FILING_PERIODS),
            format_func=labels_of(taxation.FILING_PERIODS),
            index=1,
            placeholder=CHOOSE,
            help="Auch Kleinunternehmer brauchen ihn: Bezüge nach § 13b UStG (z. B. Software "
            "aus dem EU-Ausland) sind je Zeitraum anzumelden (§ 18 Abs. 4a UStG).",
        )
        if st.form_submit_button("Besteuerung speichern", type="primary"):
            with saving(LABELS) as result, session_scope() as session:
                taxation.set_regime(
                    session,
                    valid_from=valid_from,
                    kind=kind,
                    cash_basis=cash,
                    filing_period=cast(str, period),  # never None: it has a default
                )
            return result["ok"]
    return False


def section_taxation() -> None:
    st.subheader("Besteuerung")
    forms.show_flash(TAX_FLASH)
    st.caption(
        "Die Besteuerung gilt ab einem Datum. Rechnungen richten sich nach der Besteuerung an "
        "ihrem Rechnungsdatum."
    )
    with session_scope(write=False) as session:
        rows = taxation.regimes(session)
        status = taxation.limit_status(session, today())
        declared = taxation.declared_turnover(session)
    if rows:
        st.dataframe(
            pd.DataFrame(
                [
                    {
                        "Gültig ab": format_date(r.valid_from),
                        "Besteuerung": taxation.REGIMES[r.kind],
                        "Versteuerung": ""
                        if r.kind == "klein"
                        else ("Ist" if r.cash_basis else "Soll"),
                        "Voranmeldung": taxation.FILING_PERIODS[r.filing_period],
                    }
                    for r in rows
                ]
            ),
            hide_index=True,
        )
    else:
        st.warning("Noch keine Besteuerung hinterlegt.")
    if regime_form("regime"):
        # Rerun so that the table above shows the new row (and no "noch keine" warning).
        st.session_state[TAX_FLASH] = "Besteuerung gespeichert."
        st.rerun()
    st.markdown("**Umsatz nach § 19 Abs. 2 UStG** (vereinnahmte Entgelte, netto)")
    c1, c2, c3 = st.columns(3)
    c1.metric(f"Vorjahr {status.year - 1}", format_money(status.previous_year))
    c2.metric(f"Laufendes Jahr {status.year}", format_money(status.current_year))
    c3.metric("Grenze laufendes Jahr", format_money(status.current_limit))
    with st.form("declared"):
        st.caption("Umsätze aus Jahren vor KMS hier eintragen (z. B. das Vorjahr).")
        c1, c2 = st.columns(2)
        year = c1.number_input("Jahr", 2000, 2100, today().year - 1)
        amount = c2.text_input(
            "Umsatz in €", str(declared.get(int(year), "")), placeholder="12.345,67"
        )
        if st.form_submit_button("Umsatz speichern"):
            with saving(LABELS) as result, session_scope() as session:
                value = parse_money(amount) if amount.strip() else None
                taxation.set_declared_turnover(session, int(year), value)
            if result["ok"]:
                st.success("Umsatz gespeichert.")


def section_mail() -> None:
    st.subheader("Mailserver (SMTP)")
    with session_scope(write=False) as session:
        current = service.get_smtp_form(session)
    with st.form("smtp"):
        c1, c2, c3 = st.columns([3, 1, 2])
        host = c1.text_input(LABELS["host"], current.host, placeholder="smtp.example.org")
        port = c2.number_input(LABELS["port"], 1, 65535, current.port)
        security = c3.selectbox(
            LABELS["security"],
            list(service.SECURITY),
            index=list(service.SECURITY).index(current.security),
            format_func=labels_of({"starttls": "STARTTLS", "ssl": "SSL/TLS", "none": "keine"}),
            placeholder=CHOOSE,
        )
        c1, c2 = st.columns(2)
        username = c1.text_input("Benutzername", current.username)
        password = c2.text_input(
            "Passwort",
            type="password",
            placeholder="(gespeichert – leer lassen, um es zu behalten)"
            if current.has_password
            else "",
        )
        c1, c2 = st.columns(2)
        sender = c1.text_input(LABELS["sender_address"], current.sender_address)
        sender_name = c2.text_input("Absendername", current.sender_name)
        if st.form_submit_button("Mailserver speichern"):
            with saving(LABELS) as result, session_scope() as session:
                service.save_smtp(
                    session,
                    host=host,
                    port=int(port),
                    security=cast(str, security),  # never None: it has a default
                    username=username,
                    sender_address=sender,
                    sender_name=sender_name,
                    password=password if password else None,
                )
            if result["ok"]:
                st.success("Mailserver gespeichert. Das Passwort wird verschlüsselt abgelegt.")


def section_security(ctx: PageContext) -> None:
    st.subheader("Sicherheit")
    st.write(
        "„Alle abmelden“ beendet jede Anmeldung auf allen Geräten, auch Ihre eigene, "
        "indem KMS einen neuen Schlüssel für Anmelde-Cookies erzeugt."
    )
    confirm = st.checkbox("Ja, alle Sitzungen beenden", key="logout_all_confirm")
    if st.button("Alle abmelden", disabled=not confirm, icon=":material/logout:"):
        ui_auth.logout_everyone()
        st.rerun()


def section_licences(ctx: PageContext) -> None:
    """Instance id, every add-on's licence state, installing a licence, the retention period."""
    from kms import licensing
    from kms.permissions import Permission

    st.subheader("Lizenzen für Zusatzmodule")
    with session_scope() as session:  # the instance id is made once, on first need
        instance = licensing.instance_id(session)
        states = licensing.states(session)
        retention = licensing.retention_days(session)
    st.caption("Instanz-ID dieser KMS-Installation (für die Lizenzbestellung)")
    st.code(instance, language=None)
    if states:
        st.dataframe(
            pd.DataFrame(
                {
                    "Zusatzmodul": [s.title for s in states],
                    "Status": [s.status for s in states],
                    "Erläuterung": [s.describe() for s in states],
                }
            ),
            hide_index=True,
        )
    else:
        st.write("Diese KMS-Version hat keine Zusatzmodule.")
    if not ctx.may(Permission.LICENCES):
        return
    token = st.text_area("Lizenzschlüssel", key="licence_token")
    if st.button("Lizenz installieren", icon=":material/key:", disabled=ctx.read_only):
        with saving() as result, session_scope() as session:
            licence = licensing.install(session, token)
        if result["ok"]:
            st.success(
                f"Lizenz für „{licence.module}“ installiert, gültig bis "
                f"{format_date(licence.valid_until)}."
            )
    days = st.number_input(
        "Aufbewahrungsfrist nach Ablauf (Tage)", min_value=30, value=retention, step=1
    )
    if st.button("Frist speichern", disabled=ctx.read_only):
        with saving() as result, session_scope() as session:
            licensing.set_retention_days(session, int(days))
        if result["ok"]:
            st.success("Aufbewahrungsfrist gespeichert.")


def back_to_tutorial() -> None:
    """While the Ersteinrichtung is open: the way back to it."""
    if not onboarding_done():
        st.page_link(
            "pages/ersteinrichtung.py",
            label="Zurück zum Tutorial Ersteinrichtung",
            icon=":material/school:",
        )


def render_settings_page(ctx: PageContext) -> None:
    """The Einstellungen page: one tab per section."""
    back_to_tutorial()
    tabs = st.tabs(["Firmendaten", "Besteuerung", "Mailserver", "Sicherheit", "Lizenzen"])
    with tabs[0]:
        section_company()
    with tabs[1]:
        section_taxation()
    with tabs[2]:
        section_mail()
    with tabs[3]:
        section_security(ctx)
    with tabs[4]:
        section_licences(ctx)
