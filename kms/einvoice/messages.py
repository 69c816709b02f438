"""German explanations for validation rule ids, shown to the user instead of English text.

Keys are rule ids as the validators report them. Rules not listed fall back to the
validator's own (English) message, so the list only needs the rules users actually hit.
"""

from __future__ import annotations

# Why XRechnung needs BT-10: shown next to the field, in refusals and in the CLI.
BUYER_REFERENCE_EXPLANATION = (
    "XRechnung verlangt eine Käuferreferenz (BT-10, Regel BR-DE-15): Öffentliche "
    "Auftraggeber leiten eingehende E-Rechnungen anhand der Leitweg-ID an die zuständige "
    "Stelle weiter, Unternehmen anhand einer vereinbarten Referenz (z. B. Bestell- oder "
    "Kostenstellennummer). Ohne sie weist das Eingangsportal die Rechnung ab. Die Leitweg-ID "
    "(z. B. 04011000-12345-03) bzw. die Referenz nennt Ihnen der Auftraggeber."
)

GERMAN_MESSAGES: dict[str, str] = {
    # Layer XSD / syntax
    "XML": "Die Datei ist kein wohlgeformtes XML.",
    "XSD": "Die XML-Struktur entspricht nicht dem Schema (Factur-X EN 16931 XSD).",
    "XSD-UBL": "Die XML-Struktur entspricht nicht dem Schema (OASIS UBL 2.1).",
    # EN 16931 core rules
    "BR-01": "Die Spezifikationskennung (BT-24) fehlt.",
    "BR-02": "Die Rechnungsnummer (BT-1) fehlt.",
    "BR-03": "Das Rechnungsdatum (BT-2) fehlt.",
    "BR-04": "Der Rechnungstyp (BT-3) fehlt.",
    "BR-05": "Der Währungscode (BT-5) fehlt.",
    "BR-06": "Der Name des Verkäufers (BT-27) fehlt.",
    "BR-07": "Der Name des Käufers (BT-44) fehlt.",
    "BR-08": "Die Anschrift des Verkäufers (BG-5) fehlt.",
    "BR-09": "Das Land des Verkäufers (BT-40) fehlt.",
    "BR-10": "Die Anschrift des Käufers (BG-8) fehlt.",
    "BR-11": "Das Land des Käufers (BT-55) fehlt.",
    "BR-16": "Die Rechnung muss mindestens eine Position enthalten.",
    "BR-21": "Jede Position braucht eine Positionsnummer (BT-126).",
    "BR-25": "Jede Position braucht eine Bezeichnung (BT-153).",
    "BR-27": "Der Nettopreis einer Position (BT-146) darf nicht negativ sein.",
    "BR-29": "Das Ende des Leistungszeitraums liegt vor dem Beginn.",
    "BR-42": "Ein Positionsrabatt braucht einen Grund (BT-139).",
    "BR-48": "Jede Umsatzsteueraufschlüsselung braucht einen Steuersatz (BT-119).",
    "BR-50": "Für eine Überweisung fehlt die IBAN des Zahlungsempfängers (BT-84).",
    "BR-61": "Für eine Überweisung fehlt die IBAN des Zahlungsempfängers (BT-84).",
    "CII-SR-470": "Für die Überweisung fehlt die IBAN (BT-84).",
    "BR-62": "Die elektronische Adresse des Verkäufers (BT-34) braucht ein Schema (z. B. EM).",
    "BR-63": "Die elektronische Adresse des Käufers (BT-49) braucht ein Schema (z. B. EM).",
    "BR-CO-04": "Jede Position braucht eine Umsatzsteuerkategorie (BT-151).",
    "BR-CO-09": "Die USt-IdNr. muss mit dem Ländercode beginnen (z. B. DE…).",
    "BR-CO-10": "Die Summe der Positionsbeträge (BT-106) stimmt nicht mit den Positionen überein.",
    "BR-CO-13": "Der Nettobetrag der Rechnung (BT-109) ist falsch berechnet.",
    "BR-CO-14": "Die Umsatzsteuer gesamt (BT-110) ist nicht die Summe der Steuerbeträge.",
    "BR-CO-15": "Bruttobetrag (BT-112) ist nicht Nettobetrag (BT-109) plus Umsatzsteuer (BT-110).",
    "BR-CO-16": "Der Zahlbetrag (BT-115) ist nicht Bruttobetrag minus Anzahlungen.",
    "BR-CO-17": "Ein Steuerbetrag (BT-117) ist nicht Bemessungsgrundlage × Steuersatz.",
    "BR-CO-18": "Die Rechnung braucht mindestens eine Umsatzsteueraufschlüsselung (BG-23).",
    "BR-CO-25": "Bei offenem Zahlbetrag muss ein Fälligkeitsdatum oder eine Zahlungsbedingung "
    "angegeben sein.",
    "BR-CO-26": "Der Verkäufer braucht eine Kennung: USt-IdNr., Registernummer (z. B. HRB) "
    "oder Verkäufer-ID (BT-29/30/31).",
    "BR-S-02": "Bei Regelbesteuerung fehlt die USt-IdNr. oder Steuernummer des Verkäufers.",
    "BR-S-08": "Die Bemessungsgrundlage zum Regelsteuersatz passt nicht zu den Positionen.",
    "BR-S-09": "Der Steuerbetrag zum Regelsteuersatz ist falsch berechnet.",
    "BR-S-10": "Bei Regelbesteuerung darf kein Befreiungsgrund angegeben werden.",
    "BR-E-02": "Bei steuerfreien Umsätzen fehlt die USt-IdNr. oder Steuernummer des Verkäufers.",
    "BR-E-10": "Bei steuerfreien Umsätzen fehlt der Befreiungsgrund (z. B. § 19 UStG).",
    "BR-AE-02": "Bei Steuerschuldnerschaft des Leistungsempfängers (§ 13b UStG) fehlen die "
    "USt-IdNr. des Verkäufers und die USt-IdNr. oder Registernummer des Käufers.",
    "BR-AE-10": "Bei § 13b UStG fehlt der Hinweis auf die Steuerschuldnerschaft.",
    "BR-IC-02": "Bei innergemeinschaftlicher Lieferung fehlen die USt-IdNr. von Verkäufer "
    "und Käufer.",
    "BR-IC-10": "Bei innergemeinschaftlicher Lieferung fehlt der Befreiungsgrund.",
    "BR-IC-11": "Bei innergemeinschaftlicher Lieferung fehlt das Liefer- oder Leistungsdatum.",
    "BR-IC-12": "Bei innergemeinschaftlicher Lieferung fehlt das Lieferland (BT-80).",
    "BR-G-02": "Bei Ausfuhrlieferung fehlt die USt-IdNr. des Verkäufers.",
    "BR-G-10": "Bei Ausfuhrlieferung fehlt der Befreiungsgrund.",
    "BR-O-02": "Bei nicht steuerbaren Umsätzen dürfen keine USt-IdNr. angegeben werden.",
    "BR-O-10": "Bei nicht steuerbaren Umsätzen fehlt der Hinweis „Nicht steuerbar“.",
    "BR-O-11": "Nicht steuerbare Umsätze dürfen nicht mit anderen Steuerkategorien "
    "gemischt werden.",
    "FX-SCH-A-000556": "Die Spezifikationskennung (BT-24) gehört nicht zum Profil "
    "Factur-X EN 16931.",
    # XRechnung (KoSIT CIUS 3.0): our own checks, see kms.einvoice.validate
    "BR-DE-1": "Für XRechnung müssen Zahlungsinformationen (BG-16) angegeben sein.",
    "BR-DE-2": "Für XRechnung muss ein Ansprechpartner des Verkäufers (BG-6) angegeben sein.",
    "BR-DE-3": "Für XRechnung fehlt der Ort des Verkäufers (BT-37).",
    "BR-DE-4": "Für XRechnung fehlt die Postleitzahl des Verkäufers (BT-38).",
    "BR-DE-5": "Für XRechnung fehlt der Name des Ansprechpartners (BT-41).",
    "BR-DE-6": "Für XRechnung fehlt die Telefonnummer des Ansprechpartners (BT-42).",
    "BR-DE-7": "Für XRechnung fehlt die E-Mail-Adresse des Ansprechpartners (BT-43).",
    "BR-DE-8": "Für XRechnung fehlt der Ort des Käufers (BT-52).",
    "BR-DE-9": "Für XRechnung fehlt die Postleitzahl des Käufers (BT-53).",
    "BR-DE-10": "Für XRechnung fehlt der Ort der Lieferanschrift (BT-77).",
    "BR-DE-11": "Für XRechnung fehlt die Postleitzahl der Lieferanschrift (BT-78).",
    "BR-DE-14": "Für XRechnung muss jede Steueraufschlüsselung einen Steuersatz (BT-119) haben.",
    "BR-DE-15": "Für XRechnung fehlt die Käuferreferenz (BT-10), bei Behörden die Leitweg-ID.",
    "BR-DE-16": "Für XRechnung fehlt die USt-IdNr. oder Steuernummer des Verkäufers.",
    "BR-DE-17": "Der Rechnungstyp (BT-3) ist für XRechnung nicht vorgesehen.",
    "BR-DE-18": "Die Skonto-Angabe in den Zahlungsbedingungen (BT-20) hat nicht das Format "
    "#SKONTO#TAGE=n#PROZENT=n.nn# mit Zeilenumbruch am Ende.",
    "BR-DE-19": "Die IBAN (BT-84) ist ungültig (Prüfziffer).",
    "BR-DE-21": "Die Spezifikationskennung (BT-24) ist nicht die der XRechnung 3.0.",
    "BR-DE-23-a": "Bei Überweisung (Code 30/58) fehlen die Kontodaten (BG-17).",
    "BR-DE-23-b": "Bei Überweisung dürfen keine Karten- oder Lastschriftdaten angegeben sein.",
    "BR-DE-26": "Eine korrigierte Rechnung (384) soll die ursprüngliche Rechnung (BG-3) nennen.",
    "BR-DE-27": "Die Telefonnummer (BT-42) soll mindestens drei Ziffern enthalten.",
    "BR-DE-28": "Die E-Mail-Adresse des Ansprechpartners (BT-43) ist ungültig.",
    "BR-DE-29": "Bei Lastschrift (Code 59) fehlt die Mandatsreferenz (BT-89).",
    "PEPPOL-EN16931-R010": "Für XRechnung fehlt die elektronische Adresse des Käufers (BT-49).",
    "PEPPOL-EN16931-R020": "Für XRechnung fehlt die elektronische Adresse des Verkäufers (BT-34).",
}


def german(rule: str, fallback: str) -> str:
    """German explanation for `rule`, or the validator's own text if we have none."""
    return GERMAN_MESSAGES.get(rule, fallback)
