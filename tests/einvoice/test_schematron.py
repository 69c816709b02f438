"""The Schematron-to-XSLT step follows ISO Schematron where the KoSIT rules need it."""

from __future__ import annotations

from pathlib import Path

from lxml import etree
from saxonche import PySaxonProcessor

from kms.einvoice.schematron import SVRL, compile_schematron

SCHEMA = """<?xml version="1.0" encoding="UTF-8"?>
<schema xmlns="http://purl.oclc.org/dsdl/schematron" queryBinding="xslt2">
  <ns prefix="x" uri="urn:example"/>
  <include href="lets.sch"/>
  <pattern id="p">
    <rule context="x:item[@special]">
      <assert test="@price" id="R-SPECIAL" flag="fatal">special <name/> needs a price</assert>
    </rule>
    <rule context="x:item">
      <let name="limit" value="$max"/>
      <assert test="number(@price) le $limit" id="R-MAX" flag="warning"
        >price <value-of select="@price"/> above {<value-of select="$limit"/>}</assert>
      <report test="matches(@code, '^[A-Z]{2}$')" id="R-CODE"
        >code <value-of select="@code"/></report>
    </rule>
  </pattern>
</schema>
"""
LETS = """<pattern xmlns="http://purl.oclc.org/dsdl/schematron" id="lets">
  <let name="max" value="100"/>
</pattern>
"""
DOC = """<list xmlns="urn:example">
  <item price="50" code="AB"/>
  <item price="150" code="abc"/>
  <item special="yes"/>
  <item special="yes" price="500"/>
</list>"""


def test_rules_lets_includes_asserts_and_reports(tmp_path: Path) -> None:
    """First matching rule per node wins, lets (global and rule) and includes resolve,
    asserts fire when false and reports when true, with id, flag, location and text."""
    (tmp_path / "lets.sch").write_text(LETS, encoding="utf-8")
    (tmp_path / "rules.sch").write_text(SCHEMA, encoding="utf-8")
    xslt = compile_schematron(tmp_path / "rules.sch").decode("utf-8")
    processor = PySaxonProcessor(license=False)
    executable = processor.new_xslt30_processor().compile_stylesheet(stylesheet_text=xslt)
    out = executable.transform_to_string(xdm_node=processor.parse_xml(xml_text=DOC))
    found = [
        (el.get("id"), el.get("flag"), " ".join("".join(el.itertext()).split()), el.get("location"))
        for el in etree.fromstring(out.encode()).iter(
            f"{{{SVRL}}}failed-assert", f"{{{SVRL}}}successful-report"
        )
    ]
    assert [f[:3] for f in found] == [
        ("R-CODE", None, "code AB"),
        ("R-MAX", "warning", "price 150 above {100}"),
        ("R-SPECIAL", "fatal", "special item needs a price"),
    ]
    # the fourth item (special, with price) matches only the first rule, so R-MAX is silent
    assert found[2][3].endswith("[3]")
