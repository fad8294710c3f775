"""Open a gridkit map page in headless Chromium with the network off and report what it drew.

Used by tests/test_browser.py and scripts/bench_incidents.py. A copy of the page gets a probe
script at the top of <head> that records every error (uncaught exceptions, rejected promises,
console.error, resources that fail to load) and, once the map has drawn, counts the grid polygons
(SVG paths), the heat canvas, the layer control and the legend, and the time from navigation
start to the first frame after ``load``; it reads the fill of every grid polygon, moves the time
slider to the first period (heat pixels, grid fills and legend again; hovers the first grid for
its tooltip and its fill after the mouse leaves), back to all (fills again)
and to the first period once more, so that a screenshot shows the first period.
Chromium runs with ``--headless --no-sandbox --disable-gpu
--disable-background-networking --no-first-run``, a dead proxy and a host resolver that finds no
host, so any request to the network fails (and is reported).
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

PROBE = r"""<script>
(function () {
  var errors = [];
  window.__gridkitErrors = errors;
  window.addEventListener("error", function (e) {
    var t = e.target;
    if (t && t !== window && (t.src || t.href)) { errors.push("failed to load " + (t.src || t.href)); }
    else { errors.push(String(e.message || e)); }
  }, true);
  window.addEventListener("unhandledrejection", function (e) { errors.push("rejection: " + e.reason); });
  var origError = console.error;
  console.error = function () {
    errors.push("console.error: " + Array.prototype.join.call(arguments, " "));
    origError.apply(console, arguments);
  };
  window.addEventListener("load", function () {
    setTimeout(function () {
      var drawn = performance.now();
      var heat = document.querySelectorAll("canvas.leaflet-heatmap-layer");
      function paintedSamples() {
        var painted = 0;
        heat.forEach(function (c) {
          try {
            var d = c.getContext("2d").getImageData(0, 0, c.width, c.height).data;
            for (var i = 3; i < d.length; i += 4 * 7) { if (d[i] > 0) { painted++; } }
          } catch (err) { errors.push("heat canvas unreadable: " + err); }
        });
        return painted;
      }
      function gridFills() {  // the fill of every grid polygon, in the order of the grids
        return Array.prototype.map.call(document.querySelectorAll("path.gridkit-grid"),
                                        function (p) { return p.getAttribute("fill"); });
      }
      function labelTexts() {
        return Array.prototype.filter.call(document.querySelectorAll(".gridkit-label span"),
                                           function (s) { return s.textContent; }).length;
      }
      var painted = paintedSamples();
      var fillsAll = gridFills();
      var slider = document.querySelector(".gridkit-time-slider input[type=range]");
      var sliderPainted = null, sliderCaption = null, fillsPeriod = null, fillsBack = null, legendPeriod = null;
      var hoverTooltip = null, hoverFill = null;
      if (slider) {  // show the first period only: the heat canvas and the grid colours must follow
        slider.value = 1;
        slider.dispatchEvent(new Event("input"));
        sliderPainted = paintedSamples();
        sliderCaption = slider.parentNode.firstChild.textContent;
        fillsPeriod = gridFills();
        var first = document.querySelector("path.gridkit-grid");
        if (first) {  // hover a grid: its tooltip shows the period; leaving it keeps the period's colour
          first.dispatchEvent(new MouseEvent("mouseover", {bubbles: true, clientX: 1, clientY: 1}));
          var tip = document.querySelector(".leaflet-tooltip");
          hoverTooltip = tip ? tip.textContent : null;
          first.dispatchEvent(new MouseEvent("mouseout", {bubbles: true, clientX: 1, clientY: 1}));
          hoverFill = first.getAttribute("fill");
        }
        var block = document.querySelector(".gridkit-legend-grids");
        legendPeriod = block ? block.textContent : null;
        slider.value = 0;
        slider.dispatchEvent(new Event("input"));
        fillsBack = gridFills();
        slider.value = 1;  // leave the first period on screen (the screenshot shows it)
        slider.dispatchEvent(new Event("input"));
      }
      var title = document.querySelector(".gridkit-title");
      var report = {
        paths: document.querySelectorAll(".leaflet-overlay-pane svg path.leaflet-interactive").length,
        heat_canvases: heat.length,
        heat_painted_samples: painted,
        slider_painted_samples: sliderPainted,
        slider_caption: sliderCaption,
        grid_fills: fillsAll,
        grid_fills_period: fillsPeriod,
        grid_fills_back: fillsBack,
        legend_period: legendPeriod,
        hover_tooltip: hoverTooltip,
        hover_fill: hoverFill,
        labels_shown: labelTexts(),
        title: title ? title.textContent : null,
        layer_control: document.querySelectorAll(".leaflet-control-layers").length,
        layer_entries: document.querySelectorAll(".leaflet-control-layers-overlays label").length,
        legend: document.querySelectorAll(".gridkit-legend").length,
        time_slider: document.querySelectorAll(".gridkit-time-slider input[type=range]").length,
        markers: document.querySelectorAll(".leaflet-marker-pane img").length,
        tiles: document.querySelectorAll(".leaflet-tile").length,
        context_canvases: Array.prototype.filter.call(document.querySelectorAll(
            ".leaflet-gridkit-buildings-pane canvas, .leaflet-gridkit-streets-pane canvas, "
            + ".leaflet-gridkit-communities-pane canvas, .leaflet-gridkit-office-pane canvas"),
            function (c) { return c.width > 0; }).length,
        context_labels: Array.prototype.filter.call(document.querySelectorAll(".gridkit-ctx-label span"),
                                                    function (s) { return s.textContent; }).length,
        label_texts: Array.prototype.map.call(document.querySelectorAll(".gridkit-label span"),
                                              function (s) { return s.textContent; }).filter(Boolean).slice(0, 400),
        legend_text: (document.querySelector(".gridkit-legend") || {textContent: null}).textContent,
        notice: (document.querySelector(".gridkit-notice") || {textContent: null}).textContent,
        north_arrow: document.querySelectorAll(".gridkit-north svg").length,
        scale: document.querySelectorAll(".leaflet-control-scale").length,
        images_drawn: Array.prototype.filter.call(document.images,
                                                  function (i) { return i.complete && i.naturalWidth > 0; }).length,
        images: document.images.length,
        body_text: document.body ? document.body.innerText.slice(0, 20000) : "",
        draw_ms: drawn,
        errors: errors
      };
      var pre = document.createElement("pre");
      pre.id = "gridkit-probe";
      pre.style.display = "none";
      pre.textContent = JSON.stringify(report);
      document.body.appendChild(pre);
    }, 0);
  });
})();
</script>"""

OFFLINE_FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run",
    "--disable-extensions", "--disable-sync", "--disable-default-apps", "--mute-audio",
    "--proxy-server=127.0.0.1:9", "--proxy-bypass-list=<-loopback>", "--host-resolver-rules=MAP * ~NOTFOUND",
    "--allow-file-access-from-files", "--enable-logging=stderr", "--v=0",
]


def chromium() -> str | None:
    """The Chromium executable, or None."""
    for name in ("chromium", "chromium-browser", "google-chrome", "chrome"):
        found = shutil.which(name)
        if found:
            return found
    return None


def probe_page(page: str | Path, *, screenshot: str | Path | None = None, size: tuple[int, int] = (1200, 900),
               budget_ms: int = 20000, timeout_s: float = 120.0) -> dict:
    """Open ``page`` offline in headless Chromium; return the probe report.

    The report holds the counts above, ``errors`` (from the page and Chromium's console log),
    ``wall_s`` (the Chromium run) and, with ``screenshot``, writes a PNG there.
    """
    exe = chromium()
    if exe is None:
        raise FileNotFoundError("chromium is not installed (bash .ci/browser.sh)")
    html = Path(page).read_text(encoding="utf-8")
    probed = re.sub(r"<head>", "<head>" + PROBE.replace("\\", "\\\\"), html, count=1)
    with tempfile.TemporaryDirectory(prefix="gridkit-browser-") as tmp:
        copy = Path(tmp) / "page.html"
        copy.write_text(probed, encoding="utf-8")
        profile = Path(tmp) / "profile"
        common = [exe, *OFFLINE_FLAGS, f"--user-data-dir={profile}", f"--window-size={size[0]},{size[1]}",
                  f"--virtual-time-budget={budget_ms}"]
        start = time.perf_counter()
        done = subprocess.run([*common, "--dump-dom", copy.as_uri()], capture_output=True, text=True,
                              timeout=timeout_s, check=False)
        wall = time.perf_counter() - start
        if screenshot is not None:
            shot = Path(screenshot)
            shot.parent.mkdir(parents=True, exist_ok=True)
            subprocess.run([*common, f"--screenshot={shot}", copy.as_uri()], capture_output=True, text=True,
                           timeout=timeout_s, check=False)
    found = re.search(r'<pre id="gridkit-probe"[^>]*>(.*?)</pre>', done.stdout, re.S)
    if not found:
        raise RuntimeError(f"the page did not finish drawing; chromium said: {done.stderr[-2000:]}")
    report = json.loads(found.group(1).replace("&quot;", '"').replace("&lt;", "<").replace("&gt;", ">")
                        .replace("&amp;", "&"))
    console = [line for line in done.stderr.splitlines() if ":CONSOLE" in line
               and re.search(r"Uncaught|Error|Failed to load", line)]
    report["errors"] = list(report["errors"]) + console
    report["wall_s"] = wall
    return report
