"""The HTML pages embed plotly.js once, packed (gzip, base64), and fetch nothing."""

from __future__ import annotations

import base64
import gzip
import re

from plotly.offline import get_plotlyjs

from profitguard.engine import R_LADDER
from profitguard.report.build import build_report
from profitguard.report.html import report_page
from tests.integration.test_report_html import sample_trades


def test_report_page_when_built_then_plotly_embedded_once_packed_and_each_chart_as_json():
    page = report_page(build_report(sample_trades(), R_LADDER, source="test", strategy="S"))
    packed = re.findall(r'<script type="application/gzip" id="pg-plotly-gz">([^<]*)</script>', page)
    assert len(packed) == 1
    assert gzip.decompress(base64.b64decode(packed[0])).decode() == get_plotlyjs()
    assert page.count("Plotly.newPlot") == 1  # one drawing loop, not one plotly per chart
    assert len(re.findall(r'<script type="application/json" class="pg-figure"', page)) == 4
    assert not re.search(r"<(script|link)[^>]+(src|href)=", page)  # nothing fetched
    assert len(page) < len(get_plotlyjs()) / 2  # the point of packing it
