"""MANSCDP bodies the driver sends (Catalog query) and reads (Catalog response pages)."""

from __future__ import annotations

from dataclasses import dataclass

from lxml import etree

CONTENT_TYPE = "Application/MANSCDP+xml"

# No entities, no network, no DTD: device bodies are untrusted.
_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False,
                          huge_tree=False, remove_blank_text=True)


@dataclass(frozen=True)
class CatalogPage:
    sn: int
    device_id: str
    sum_num: int
    items: tuple[dict[str, str], ...]


def catalog_query(device_id: str, sn: int) -> bytes:
    query = etree.Element("Query")
    for tag, text in (("CmdType", "Catalog"), ("SN", str(sn)), ("DeviceID", device_id)):
        etree.SubElement(query, tag).text = text
    # lxml writes the GB2312 declaration and encodes the body in it.
    return bytes(etree.tostring(query, encoding="GB2312", xml_declaration=True))


def read_catalog_page(body: bytes) -> CatalogPage | None:
    """A Catalog Response page, or None if the body is some other MANSCDP document."""
    try:
        root = etree.fromstring(body, _PARSER)
    except etree.XMLSyntaxError as e:
        raise ValueError(f"malformed MANSCDP: {e}") from e
    if root.tag != "Response" or root.findtext("CmdType") != "Catalog":
        return None
    sn, sum_num = root.findtext("SN", ""), root.findtext("SumNum", "")
    if not sn.strip().isdigit() or not sum_num.strip().isdigit():
        raise ValueError("Catalog response without numeric SN/SumNum")
    items = tuple(
        {str(child.tag): (child.text or "").strip() for child in item
         if isinstance(child.tag, str)}
        for item in root.iterfind("DeviceList/Item"))
    return CatalogPage(int(sn), (root.findtext("DeviceID") or "").strip(), int(sum_num), items)
