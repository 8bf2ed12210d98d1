"""Screenshots of JupyterLab (the explorer and a figure notebook, run) and of report.html, with headless Chromium.

    .venv/bin/python docs/img/make_screenshots.py [--experiment full|quick] [--report report.html]

Needs ``chromium`` on PATH (Debian: ``apt-get install chromium``). The notebooks are executed first (against
the full results when present, else the quick ones) into a staging folder that mirrors the repository with
symbolic links, so the repository itself is not written to except for the PNGs in ``docs/img/``. Chromium is
driven over its DevTools protocol (``websocket-client``, a JupyterLab dependency) to click through the report.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import nbformat
from nbclient import NotebookClient

REPO = Path(__file__).resolve().parents[2]
OUT = REPO / "docs" / "img"
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--no-first-run", "--disable-sync", "--hide-scrollbars"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_http(url: str, timeout_s: float = 60) -> None:
    end = time.time() + timeout_s
    while time.time() < end:
        try:
            urllib.request.urlopen(url, timeout=2)
            return
        except OSError:
            time.sleep(0.5)
    raise TimeoutError(f"{url} did not answer within {timeout_s} s")


class Chrome:
    """A headless Chromium page driven over the DevTools protocol."""

    def __init__(self, width: int, height: int):
        import websocket

        self.port = _free_port()
        self.profile = tempfile.mkdtemp(prefix="sail-chromium-")
        self.proc = subprocess.Popen(["chromium", *CHROMIUM_FLAGS, f"--remote-debugging-port={self.port}",
                                      f"--user-data-dir={self.profile}", f"--window-size={width},{height}",
                                      "about:blank"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        _wait_http(f"http://127.0.0.1:{self.port}/json/version")
        pages = json.load(urllib.request.urlopen(f"http://127.0.0.1:{self.port}/json"))
        ws = next(p["webSocketDebuggerUrl"] for p in pages if p["type"] == "page")
        # The full run's report.html is tens of MB of embedded results: Chromium answers nothing
        # while it parses it, for minutes on 2 cores (a 60 s timeout failed here).
        self.ws = websocket.create_connection(ws, timeout=600, suppress_origin=True)
        self.n = 0

    def call(self, method: str, **params):
        self.n += 1
        self.ws.send(json.dumps({"id": self.n, "method": method, "params": params}))
        while True:
            msg = json.loads(self.ws.recv())
            if msg.get("id") == self.n:
                if "error" in msg:
                    raise RuntimeError(f"{method}: {msg['error']}")
                return msg.get("result", {})

    def js(self, expression: str):
        return self.call("Runtime.evaluate", expression=expression, returnByValue=True).get("result", {}).get("value")

    def goto(self, url: str, settle_s: float, load_timeout_s: float = 600) -> None:
        """Navigate, wait until the document has loaded, then ``settle_s`` more for scripts to render."""
        self.call("Page.enable")
        self.call("Page.navigate", url=url)
        end = time.time() + load_timeout_s
        while self.js("document.readyState") != "complete":
            if time.time() > end:
                raise TimeoutError(f"{url} did not load within {load_timeout_s} s")
            time.sleep(1)
        time.sleep(settle_s)

    def click_text(self, text: str) -> bool:
        """Click the innermost visible element whose text is exactly ``text``."""
        return bool(self.js(f"""(() => {{
            const all = [...document.querySelectorAll('a, button, li, span, div, td')]
              .filter(e => e.offsetParent !== null && e.textContent.trim() === {json.dumps(text)});
            const el = all.find(e => ![...e.children].some(c => c.textContent.trim() === {json.dumps(text)})) || all[0];
            if (!el) return false; el.scrollIntoView(); el.click(); return true; }})()"""))

    def mouse_click_text(self, text: str) -> bool:
        """A real mouse click (press, release) on the visible element whose own text is ``text`` (Lumino menus
        react to mouse events, not to element.click())."""
        box = self.js(f"""(() => {{
            const el = [...document.querySelectorAll('div, li, span')].filter(e => e.offsetParent !== null
              && e.textContent.trim() === {json.dumps(text)} && e.children.length === 0)[0];
            if (!el) return null; const r = el.getBoundingClientRect();
            return [r.left + r.width / 2, r.top + r.height / 2]; }})()""")
        if not box:
            return False
        for kind in ("mouseMoved", "mousePressed", "mouseReleased"):
            self.call("Input.dispatchMouseEvent", type=kind, x=box[0], y=box[1], button="left", clickCount=1)
            time.sleep(0.3)
        return True

    def view_result(self, filename: str) -> bool:
        """Click the eye button of the report's result row whose file name ends with ``filename``."""
        return bool(self.js(f"""(() => {{
            const td = [...document.querySelectorAll('td')].find(e => e.textContent.trim().endsWith({json.dumps(filename)}));
            const eye = td && td.parentElement.querySelector('a[iconname="eye"]');
            if (!eye) return false; eye.click(); return true; }})()"""))

    def shot(self, path: Path) -> None:
        data = self.call("Page.captureScreenshot", format="png")["data"]
        path.write_bytes(base64.b64decode(data))
        print("wrote", path.relative_to(REPO))

    def close(self) -> None:
        self.ws.close()
        self.proc.terminate()
        self.proc.wait(timeout=30)
        shutil.rmtree(self.profile, ignore_errors=True)


def stage_notebooks(stage: Path, experiment: str, names: list[str]) -> None:
    """A mirror of the repository (symbolic links) whose notebooks/ holds executed copies."""
    for entry in REPO.iterdir():
        if entry.name not in ("notebooks", ".git", ".snakemake"):
            (stage / entry.name).symlink_to(entry)
    (stage / "notebooks").mkdir()
    env_backend = os.environ.pop("MPLBACKEND", None)
    try:
        for name in names:
            nb = nbformat.read(REPO / "notebooks" / name, as_version=4)
            i = next(k for k, c in enumerate(nb.cells) if "parameters" in c.metadata.get("tags", []))
            nb.cells[i].source = nb.cells[i].source.replace("experiment = None", f'experiment = "{experiment}"', 1)
            NotebookClient(nb, timeout=600, kernel_name="python3",
                           resources={"metadata": {"path": str(stage / "notebooks")}}).execute()
            # Collapse the long code cells (as a reader would) so the outputs fit the screenshot.
            for c in nb.cells:
                if c.cell_type == "code" and c.source.count("\n") > 8:
                    c.metadata.setdefault("jupyter", {})["source_hidden"] = True
            nbformat.write(nb, stage / "notebooks" / name)
    finally:
        if env_backend is not None:
            os.environ["MPLBACKEND"] = env_backend


def jupyterlab_shots(experiment: str) -> None:
    stage = Path(tempfile.mkdtemp(prefix="sail-lab-"))
    settings = stage.parent / f"{stage.name}-settings"
    (settings / "@jupyterlab" / "apputils-extension").mkdir(parents=True)
    (settings / "@jupyterlab" / "apputils-extension" / "notification.jupyterlab-settings").write_text(
        json.dumps({"fetchNews": "false", "checkForUpdates": False}))
    shots = {"explore_sail.py.ipynb": "jupyterlab_explore.png", "fig03_patterns.py.ipynb": "jupyterlab_fig03.png"}
    stage_notebooks(stage, experiment, list(shots))
    port = _free_port()
    env = {**os.environ, "JUPYTERLAB_SETTINGS_DIR": str(settings)}
    lab = subprocess.Popen([str(Path(sys.executable).parent / "jupyter"), "lab", "--no-browser", f"--port={port}",
                            "--ServerApp.ip=127.0.0.1", "--IdentityProvider.token=", "--ServerApp.password=",
                            f"--ServerApp.root_dir={stage}", "--allow-root"], env=env,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        _wait_http(f"http://127.0.0.1:{port}/lab")
        for nb, png in shots.items():
            # A browser per notebook: once the explorer has run, JupyterLab asks "leave the page?"
            # (a beforeunload dialog) on the next navigation, and the blocked page answers nothing.
            chrome = Chrome(1500, 2300)
            try:
                chrome.goto(f"http://127.0.0.1:{port}/lab/tree/notebooks/{nb}", settle_s=20)
                if nb.startswith("explore"):  # run it in the page, so the widgets are live, as a user sees them
                    ok = chrome.mouse_click_text("Run") and (time.sleep(1) or chrome.mouse_click_text("Run All Cells"))
                    print("Run All in JupyterLab:", "clicked" if ok else "menu not found", file=sys.stderr)
                    time.sleep(45)
                chrome.shot(OUT / png)
            finally:
                chrome.close()
    finally:
        lab.terminate()
        lab.wait(timeout=30)
        shutil.rmtree(stage, ignore_errors=True)
        shutil.rmtree(settings, ignore_errors=True)


def report_shots(report: Path) -> None:
    chrome = Chrome(1500, 1100)
    try:
        chrome.goto(report.resolve().as_uri(), settle_s=8)
        chrome.js("window.scrollTo(0, 0); document.querySelectorAll('*').forEach(e => { e.scrollTop = 0; })")
        chrome.shot(OUT / "report_home.png")
        for steps, png in ((["Results", "Tables", "tab04_claims.html"], "report_tab04.png"),
                           (["Results", "Figures", "Simulator", "fig08_pim_compare.png"], "report_fig08.png")):
            chrome.goto(report.resolve().as_uri(), settle_s=6)
            for text in steps:
                done = chrome.view_result(text) if "." in text else chrome.click_text(text)
                if not done:
                    print(f"could not click {text!r} in the report", file=sys.stderr)
                time.sleep(2)
            time.sleep(3)
            chrome.shot(OUT / png)
    finally:
        chrome.close()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--experiment", choices=["full", "quick"],
                    default="full" if (REPO / "results" / "full" / "sim" / "decode.csv").exists() else "quick")
    ap.add_argument("--report", type=Path, default=REPO / "report.html")
    ap.add_argument("--skip-lab", action="store_true")
    args = ap.parse_args()
    if shutil.which("chromium") is None:
        sys.exit("chromium is not on PATH (Debian: apt-get install chromium)")
    OUT.mkdir(parents=True, exist_ok=True)
    print(f"experiment set: {args.experiment}")
    if not args.skip_lab:
        jupyterlab_shots(args.experiment)
    if args.report.exists():
        report_shots(args.report)
    else:
        print(f"{args.report} absent: no report screenshots (snakemake --report {args.report})", file=sys.stderr)


if __name__ == "__main__":
    main()
