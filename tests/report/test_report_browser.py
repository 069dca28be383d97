"""The report in a real browser (headless Chromium from the distribution): it renders every
chart, logs no error, throws nothing and requests nothing from the network."""

from __future__ import annotations

import json
import re
import subprocess
import tempfile
from html import unescape

import pytest

from gammaperp.report import build_report, find_chromium
from gammaperp.report._cdp import Browser
from gammaperp.report.png import chromium_args

CHROMIUM = find_chromium()
pytestmark = pytest.mark.skipif(
    CHROMIUM is None,
    reason="chromium not found (install it: apt-get install chromium; .ci/run does)",
)

# Injected first in <head> of a test copy: collects errors, then on load reports what rendered.
PROBE = """<script>
window.__errors = [];
window.addEventListener("error", function (e) {
  var where = e.target && e.target !== window ? " (" + (e.target.src || e.target.href) + ")" : "";
  __errors.push("error: " + (e.message || e.type) + where);
}, true);
window.addEventListener("unhandledrejection", function (e) {
  __errors.push("unhandled rejection: " + e.reason);
});
document.addEventListener("securitypolicyviolation", function (e) {
  __errors.push("blocked by CSP: " + e.blockedURI + " (" + e.violatedDirective + ")");
});
(function () {
  var orig = console.error;
  console.error = function () {
    __errors.push("console.error: " + Array.prototype.join.call(arguments, " "));
    return orig.apply(console, arguments);
  };
})();
window.addEventListener("load", function () {
  setTimeout(function () {
    var plots = Array.prototype.slice.call(document.querySelectorAll(".js-plotly-plot"));
    var out = {
      errors: __errors,
      expected: (document.body.dataset.charts || "").split(" ").filter(Boolean),
      resources: performance.getEntriesByType("resource").map(function (r) { return r.name; }),
      plots: plots.map(function (p) {
        var r = p.getBoundingClientRect();
        return {
          id: p.id,
          svg: p.querySelectorAll("svg.main-svg").length,
          traces: p.querySelectorAll(".scatterlayer .trace, .barlayer .trace").length,
          width: r.width,
          height: r.height
        };
      })
    };
    var pre = document.createElement("pre");
    pre.id = "__report_test__";
    pre.textContent = JSON.stringify(out);
    document.body.appendChild(pre);
  }, 100);
});
</script>"""


# Zoom into the middle half of each chart, hover, zoom back out, render it to a PNG data URL.
INTERACT = """(async function () {
  var sizes = {};
  for (const gd of document.querySelectorAll(".js-plotly-plot")) {
    var xa = gd._fullLayout.xaxis;
    if (xa.type === "date") {
      var a = xa.r2l(xa.range[0]), b = xa.r2l(xa.range[1]), q = (b - a) / 4;
      await Plotly.relayout(gd, {"xaxis.range": [a + q, b - q]});
      Plotly.Fx.hover(gd, {xval: a + 2 * q});
      await Plotly.relayout(gd, {"xaxis.autorange": true});
    }
    var url = await Plotly.toImage(gd, {format: "png", width: 600, height: 300});
    sizes[gd.id] = url.length;
  }
  return sizes;
})()"""


def probed_copy(report, directory) -> str:
    html = report.read_text()
    assert html.count("<head>") == 1
    path = directory / "probed.html"
    path.write_text(html.replace("<head>", "<head>\n" + PROBE, 1))
    return path.as_uri()


def check(result: dict) -> None:
    assert result["errors"] == []
    assert [r for r in result["resources"] if not r.startswith(("file:", "data:", "blob:"))] == []
    ids = [p["id"] for p in result["plots"]]
    assert ids == [f"chart-{c}" for c in result["expected"]] and ids
    for p in result["plots"]:
        assert p["svg"] >= 1 and p["traces"] >= 1, p
        assert p["width"] > 300 and p["height"] > 200, p


@pytest.fixture(scope="module")
def summary_report(summary_run):
    return build_report(summary_run[1])


@pytest.mark.parametrize("which", ["full_report", "summary_report"])
def test_report_renders_in_chromium_devtools(request, which, tmp_path):
    report = request.getfixturevalue(which)
    url = probed_copy(report, tmp_path)
    with Browser(CHROMIUM, timeout=90) as browser:
        page = browser.new_page(width=1280, height=900)
        page.navigate(url)
        result = page.evaluate(
            "new Promise(function (ok) { (function poll() {"
            " var el = document.getElementById('__report_test__');"
            " if (el) ok(JSON.parse(el.textContent)); else setTimeout(poll, 50); })(); })"
        )
        check(result)
        if which == "full_report":
            assert len(result["plots"]) >= 9
        # zoom, hover and the modebar's "download as PNG" work under the page's CSP
        images = page.evaluate(INTERACT)
        assert len(images) == len(result["plots"])
        assert all(n > 5_000 for n in images.values()), images
        assert page.evaluate("window.__errors") == []
        # what the browser itself saw: no exception, no console error, no error log entry,
        # no request that is not the local file
        events = page.events()
        thrown = [e for e in events if e["method"] == "Runtime.exceptionThrown"]
        console = [
            e["params"]
            for e in events
            if e["method"] == "Runtime.consoleAPICalled"
            and e["params"]["type"] in ("error", "assert")
        ]
        logged = [
            e["params"]["entry"]
            for e in events
            if e["method"] == "Log.entryAdded" and e["params"]["entry"]["level"] == "error"
        ]
        requests = [
            e["params"]["request"]["url"]
            for e in events
            if e["method"] == "Network.requestWillBeSent"
        ]
        assert thrown == [] and console == [] and logged == []
        assert requests and all(u.startswith(("file:", "data:", "blob:")) for u in requests)


def dump_dom_probe(url: str) -> dict:
    with tempfile.TemporaryDirectory() as profile:
        proc = subprocess.run(
            [
                *chromium_args(CHROMIUM, profile),
                "--window-size=1280,900",
                "--virtual-time-budget=20000",
                "--dump-dom",
                url,
            ],
            capture_output=True,
            timeout=120,
            check=False,
        )
    dom = proc.stdout.decode("utf-8", "replace")
    m = re.search(r'<pre id="__report_test__">(.*?)</pre>', dom, re.S)
    assert m, proc.stderr.decode("utf-8", "replace")[-2000:]
    return json.loads(unescape(m.group(1)))


def test_report_renders_in_chromium_dump_dom(full_report, tmp_path):
    """The same check through plain ``chromium --headless --dump-dom`` (no DevTools)."""
    check(dump_dom_probe(probed_copy(full_report, tmp_path)))


def test_the_probe_sees_errors_and_network_requests(summary_report, tmp_path):
    """Negative control: a page that throws, logs an error and fetches a URL fails the check."""
    bad = tmp_path / "bad.html"
    html = summary_report.read_text()
    html = html.replace(
        "</main>",
        '<img src="https://example.invalid/x.png"><script>console.error("boom");'
        "undefinedFunction();</script></main>",
    )
    bad.write_text(html)
    result = dump_dom_probe(probed_copy(bad, tmp_path))
    text = " | ".join(result["errors"])
    assert "console.error: boom" in text
    assert "undefinedFunction" in text
    assert "blocked by CSP: https://example.invalid/x.png" in text
    with pytest.raises(AssertionError):
        check(result)
