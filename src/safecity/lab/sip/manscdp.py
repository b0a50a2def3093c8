"""MANSCDP XML bodies (GB/T 28181 Application/MANSCDP+xml) as the lab writes and reads them.

Bodies are GB2312 (the standard's charset); characters outside it become XML character
references so a name never breaks encoding.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from xml.sax.saxutils import escape

CONTENT_TYPE = "Application/MANSCDP+xml"
_DECL = '<?xml version="1.0" encoding="GB2312"?>\r\n'
_ENCODING_RE = re.compile(rb"""^\s*<\?xml[^>]*encoding\s*=\s*["']([A-Za-z0-9_.:-]+)["']""")


class ManscdpError(ValueError):
    """A body that is not well-formed MANSCDP."""


@dataclass
class ManscdpDocument:
    kind: str                       # Query | Notify | Response | Control
    cmd_type: str
    sn: int
    device_id: str
    fields: dict[str, str] = field(default_factory=dict)   # other top-level simple elements
    items: list[dict[str, str]] = field(default_factory=list)  # DeviceList/Item children


def _element(tag: str, text: str) -> str:
    return f"<{tag}>{escape(text)}</{tag}>"


def _encode(xml: str) -> bytes:
    return (_DECL + xml + "\r\n").encode("gb2312", errors="xmlcharrefreplace")


def build_keepalive(device_id: str, sn: int) -> bytes:
    return _encode("<Notify>\r\n" + "\r\n".join([
        _element("CmdType", "Keepalive"), _element("SN", str(sn)),
        _element("DeviceID", device_id), _element("Status", "OK")]) + "\r\n</Notify>")


def build_query(cmd_type: str, device_id: str, sn: int) -> bytes:
    return _encode("<Query>\r\n" + "\r\n".join([
        _element("CmdType", cmd_type), _element("SN", str(sn)),
        _element("DeviceID", device_id)]) + "\r\n</Query>")


def build_catalog_response(device_id: str, sn: int, sum_num: int,
                           items: list[dict[str, str]]) -> bytes:
    rendered = []
    for item in items:
        inner = "".join(_element(k, v) for k, v in item.items())
        rendered.append(f"<Item>{inner}</Item>")
    return _encode("<Response>\r\n" + "\r\n".join([
        _element("CmdType", "Catalog"), _element("SN", str(sn)),
        _element("DeviceID", device_id), _element("SumNum", str(sum_num)),
        f'<DeviceList Num="{len(items)}">' + "\r\n".join(rendered) + "</DeviceList>",
    ]) + "\r\n</Response>")


def build_response(cmd_type: str, device_id: str, sn: int, values: dict[str, str]) -> bytes:
    """A flat Response (DeviceStatus, DeviceInfo)."""
    body = [_element("CmdType", cmd_type), _element("SN", str(sn)),
            _element("DeviceID", device_id)]
    body += [_element(k, v) for k, v in values.items()]
    return _encode("<Response>\r\n" + "\r\n".join(body) + "\r\n</Response>")


def parse_manscdp(body: bytes) -> ManscdpDocument:
    """Decode per the XML declaration (GB2312/GBK/UTF-8) and read the command envelope."""
    if b"<!DOCTYPE" in body or b"<!ENTITY" in body:
        raise ManscdpError("DTDs are not accepted")
    match = _ENCODING_RE.match(body)
    charset = match.group(1).decode("ascii").lower() if match else "utf-8"
    if charset in ("gb2312", "gbk"):
        charset = "gb18030"  # superset: devices often declare GB2312 and send GBK
    try:
        text = body.decode(charset)
        root = ET.fromstring(text)
    except (LookupError, UnicodeDecodeError, ET.ParseError) as e:
        raise ManscdpError(f"unreadable MANSCDP body: {e}") from e
    fields: dict[str, str] = {}
    items: list[dict[str, str]] = []
    for child in root:
        if child.tag == "DeviceList":
            for item in child:
                items.append({sub.tag: (sub.text or "").strip() for sub in item})
        elif len(child) == 0:
            fields[child.tag] = (child.text or "").strip()
    cmd_type = fields.pop("CmdType", "")
    sn_text = fields.pop("SN", "")
    device_id = fields.pop("DeviceID", "")
    if not cmd_type or not sn_text.isdigit():
        raise ManscdpError("CmdType and numeric SN are required")
    return ManscdpDocument(root.tag, cmd_type, int(sn_text), device_id, fields, items)
