"""Turn an ISO Schematron schema (queryBinding xslt2) into an XSLT 3.0 stylesheet.

KoSIT publishes the XRechnung rules as Schematron sources (kms/einvoice/kosit/); the
compiled XSLT is only in release archives. This is the small part of a Schematron
compiler those files need: namespaces, includes, global/pattern/rule `let`s, foreign
`xsl:function`s, rules (first matching rule per pattern wins, as ISO Schematron says),
asserts and reports with `name` and `value-of` in their text. The output writes SVRL
(`failed-assert` / `successful-report` with id, flag and location), which
`kms.einvoice.validate` reads the same way as the pre-compiled CEN stylesheets.
"""

from __future__ import annotations

from pathlib import Path

from lxml import etree

SCH = "http://purl.oclc.org/dsdl/schematron"
XSL = "http://www.w3.org/1999/XSL/Transform"
SVRL = "http://purl.oclc.org/dsdl/svrl"


def _s(tag: str) -> str:
    return f"{{{SCH}}}{tag}"


def _x(parent: etree._Element, tag: str, **attrs: str) -> etree._Element:
    return etree.SubElement(parent, f"{{{XSL}}}{tag}", attrs)


def load(path: Path) -> etree._Element:
    """The schema with every `include` replaced by the element it points to."""
    root = etree.parse(str(path), etree.XMLParser(no_network=True)).getroot()
    for include in list(root.iter(_s("include"))):
        target = (path.parent / include.get("href", "")).resolve()
        included = load(target)
        parent = include.getparent()
        if parent is None:
            raise ValueError(f"{path}: an include cannot be the root element")
        parent.replace(include, included)
    return root


def compile_schematron(path: Path) -> bytes:
    """XSLT 3.0 text that validates a document against the schema at `path`."""
    schema = load(path)
    namespaces = {p: u for p, u in schema.nsmap.items() if p and u not in (SCH, XSL)}
    for ns in schema.iter(_s("ns")):
        namespaces[ns.get("prefix", "")] = ns.get("uri", "")
    xslt = etree.Element(
        f"{{{XSL}}}stylesheet",
        {"version": "3.0"},
        nsmap={"xsl": XSL, "svrl": SVRL, "xs": "http://www.w3.org/2001/XMLSchema", **namespaces},
    )
    _x(xslt, "output", method="xml", indent="no")
    for function in schema.iter(f"{{{XSL}}}function"):
        xslt.append(_copy(function))
    patterns = list(schema.iter(_s("pattern")))
    # ISO Schematron: lets of the schema and of patterns are global variables.
    for let in [*schema.findall(_s("let")), *(lt for p in patterns for lt in p.findall(_s("let")))]:
        _variable(xslt, let)
    root_template = _x(xslt, "template", match="/")
    output = etree.SubElement(root_template, f"{{{SVRL}}}schematron-output")
    for index, pattern in enumerate(patterns):
        mode = f"P{index}"
        _x(output, "apply-templates", select="/", mode=mode)
        _pattern(xslt, pattern, mode)
    return etree.tostring(xslt, encoding="UTF-8", xml_declaration=True)


def _copy(el: etree._Element) -> etree._Element:
    return etree.fromstring(etree.tostring(el))


def _variable(parent: etree._Element, let: etree._Element) -> None:
    _x(parent, "variable", name=let.get("name", ""), select=let.get("value", "()"))


def _pattern(xslt: etree._Element, pattern: etree._Element, mode: str) -> None:
    """One mode per pattern; rules in document order get descending priorities."""
    rules = pattern.findall(_s("rule"))
    for order, rule in enumerate(rules):
        template = _x(
            xslt, "template", match=rule.get("context", ""), mode=mode, priority=str(1000 - order)
        )
        for let in rule.findall(_s("let")):
            _variable(template, let)
        for check in rule:
            if check.tag in (_s("assert"), _s("report")):
                _check(template, check)
        _x(template, "apply-templates", select="@*|*", mode=mode)
    fallback = _x(xslt, "template", match="@*|node()", mode=mode, priority="-2")
    _x(fallback, "apply-templates", select="@*|*", mode=mode)


def _check(template: etree._Element, check: etree._Element) -> None:
    """An assert reports when its test is false, a report when it is true."""
    is_assert = check.tag == _s("assert")
    test = check.get("test", "true()")
    condition = _x(template, "if", test=f"not({test})" if is_assert else f"({test})")
    kind = "failed-assert" if is_assert else "successful-report"
    # Literal result attributes are value templates: braces (in regexes) must be doubled.
    literal = test.replace("{", "{{").replace("}", "}}")
    found = etree.SubElement(condition, f"{{{SVRL}}}{kind}", {"test": literal})
    for name in ("id", "flag"):
        if check.get(name):
            found.set(name, check.get(name, ""))
    location = _x(found, "attribute", name="location")
    _x(location, "value-of", select="path(.)")
    text = etree.SubElement(found, f"{{{SVRL}}}text")
    _message(text, check)


def _message(target: etree._Element, source: etree._Element) -> None:
    """Copy the message: text stays text, `name` and `value-of` become xsl:value-of."""
    _append_text(target, source.text)
    for child in source:
        if child.tag == _s("name"):
            _x(target, "value-of", select=f"name({child.get('path', '.')})")
        elif child.tag == _s("value-of"):
            _x(target, "value-of", select=child.get("select", "''"))
        elif isinstance(child.tag, str):
            _append_text(target, "".join(child.itertext()))
        _append_text(target, child.tail)


def _append_text(target: etree._Element, text: str | None) -> None:
    if not text:
        return
    if len(target):
        last = target[-1]
        last.tail = (last.tail or "") + text
    else:
        target.text = (target.text or "") + text
