"""JUnit XML for CI dashboards: one test suite per site (plus platforms), one test case per device;
a device with faults is a failure whose message lists them."""

from __future__ import annotations

from collections import defaultdict
from xml.etree import ElementTree as ET

from safecity.health.models import DeviceResult, fault_label
from safecity.health.report_data import HealthReport


def render_junit(report: HealthReport) -> str:
    by_site: dict[str, list[DeviceResult]] = defaultdict(list)
    for r in report.night.results:
        by_site[r.site or f"region-{r.region_code}"].append(r)
    root = ET.Element("testsuites", name=f"safecity health {report.night.night}")
    total = failures = skipped = 0
    for site, results in sorted(by_site.items()):
        suite = ET.SubElement(root, "testsuite", name=site)
        s_fail = s_skip = 0
        for r in results:
            case = ET.SubElement(suite, "testcase", classname=f"{site}.{r.kind}", name=r.name, time="0")
            if r.status == "skipped":
                ET.SubElement(case, "skipped", message=r.skip_reason or "not checked")
                s_skip += 1
            elif r.faults:
                fail = ET.SubElement(case, "failure", message=", ".join(r.faults), type="health")
                fail.text = "\n".join(f"{f}: {fault_label(f)}: {r.detail.get(f, '')}" for f in r.faults)
                s_fail += 1
        suite.set("tests", str(len(results)))
        suite.set("failures", str(s_fail))
        suite.set("errors", "0")
        suite.set("skipped", str(s_skip))
        total, failures, skipped = total + len(results), failures + s_fail, skipped + s_skip
    root.set("tests", str(total))
    root.set("failures", str(failures))
    root.set("errors", "0")
    root.set("skipped", str(skipped))
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"
