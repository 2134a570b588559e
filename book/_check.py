"""Open every page of the built book in headless Chromium with the network off: `make check-book`.

    python book/_check.py [_build/html] [--screenshots DIR]

Serves the HTML on 127.0.0.1 and opens each page of the table of contents in Debian's
Chromium (driver /usr/bin/chromedriver) with every host name unresolvable, as on a machine with
no network. A page fails on: a JavaScript error in the console, an image that does not load,
math that MathJax did not typeset, a request for anything not served by the book itself, or an
internal link (page or #anchor) that leads nowhere. On the explorer's page, moving each slider
must change the view and the new view must load; a Markdown table shown as a paragraph of
pipes (a notebook's Markdown output rendered without tables) fails too. A full-page screenshot of every page goes to
the screenshots folder (default _build/screenshots). Exit status 1 lists every failure.
"""
import argparse
import functools
import http.server
import sys
import threading
import time
from pathlib import Path
from urllib.parse import urldefrag, urlparse

import yaml

ROOT = Path(__file__).resolve().parent.parent


def toc_pages(toc_file):
    """The html pages of the toc, in order: root, then chapters (and their sections)."""
    toc = yaml.safe_load(Path(toc_file).read_text())
    names = [toc["root"]]

    def walk(entries):
        for entry in entries or []:
            if "file" in entry:
                names.append(entry["file"])
            walk(entry.get("sections"))
    walk(toc.get("chapters"))
    for part in toc.get("parts", []):
        walk(part.get("chapters"))
    return [f"{Path(name).with_suffix('')}.html" for name in names]


def serve(directory):
    handler = functools.partial(QuietHandler, directory=str(directory))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}/"


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


def browser():
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    options = webdriver.ChromeOptions()
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--disable-background-networking", "--disable-component-update", "--no-first-run",
                 "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1", "--window-size=1400,1000"):
        options.add_argument(flag)
    options.binary_location = "/usr/bin/chromium"
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    return webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)


WAIT_FOR_MATH = """
const done = arguments[arguments.length - 1];
if (!window.MathJax || !MathJax.startup) { done("no MathJax"); return; }
MathJax.startup.promise.then(() => done("ok")).catch(e => done("error " + e));
"""

PAGE_STATE = r"""
const math = [...document.querySelectorAll('.math')];
return {
  images: [...document.images].filter(i => !i.complete || i.naturalWidth === 0).map(i => i.src),
  untypeset: math.filter(m => !m.querySelector('mjx-container')).map(m => m.textContent.slice(0, 60)),
  math: math.length,
  resources: performance.getEntriesByType('resource').map(r => r.name),
  links: [...document.querySelectorAll('a[href]')].map(a => a.href),
  rawTables: [...document.querySelectorAll('p')].filter(p => /\|\s*(---|\u2014|\u2013)/.test(p.textContent))
    .map(p => p.textContent.slice(0, 80)),
  ids: [...document.querySelectorAll('[id]')].map(e => e.id),
};
"""


def check_explorer(driver, failures, page):
    """Move each slider of the static explorer: the view must change and load."""
    sliders = driver.find_elements("css selector", ".qcnn-explorer input[type=range]")
    if len(sliders) != 2:
        failures.append(f"{page}: the explorer has {len(sliders)} sliders, expected 2")
        return
    for slider in sliders:
        before = driver.execute_script("return document.querySelector('.qcnn-view').src")
        driver.execute_script("""
            const s = arguments[0];
            s.value = (Number(s.value) + 1) % (Number(s.max) + 1);
            s.dispatchEvent(new Event('input'));""", slider)
        time.sleep(0.5)
        after, loaded = driver.execute_script(
            "const i = document.querySelector('.qcnn-view'); return [i.src, i.complete && i.naturalWidth > 0];")
        if after == before or not loaded:
            failures.append(f"{page}: moving the {slider.get_attribute('class')} slider did not "
                            f"show a new view ({before} -> {after}, loaded {loaded})")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("html", nargs="?", default=str(ROOT / "_build" / "html"))
    parser.add_argument("--screenshots", default=str(ROOT / "_build" / "screenshots"))
    args = parser.parse_args()
    html, shots = Path(args.html), Path(args.screenshots)
    shots.mkdir(parents=True, exist_ok=True)
    pages = toc_pages(ROOT / "_toc.yml")
    server, base = serve(html)
    driver = browser()
    failures, anchors, links = [], {}, []
    try:
        for page in pages:
            if not (html / page).exists():
                failures.append(f"{page}: not built")
                continue
            driver.get(base + page)
            driver.set_script_timeout(60)
            status = driver.execute_async_script(WAIT_FOR_MATH)
            time.sleep(0.5)
            state = driver.execute_script(PAGE_STATE)
            if status != "ok" and (state["math"] or status != "no MathJax"):
                failures.append(f"{page}: MathJax did not finish ({status})")
            for entry in driver.get_log("browser"):
                if entry["level"] == "SEVERE":
                    failures.append(f"{page}: console error: {entry['message'][:300]}")
            failures += [f"{page}: image did not load: {src}" for src in state["images"]]
            failures += [f"{page}: math not typeset: {text!r}" for text in state["untypeset"]]
            failures += [f"{page}: a Markdown table shown as text: {text!r}"
                         for text in state["rawTables"]]
            failures += [f"{page}: requested from outside the book: {url}"
                         for url in state["resources"] if not url.startswith(base)]
            anchors[page] = set(state["ids"])
            links += [(page, url) for url in state["links"] if url.startswith(base)]
            if driver.find_elements("css selector", ".qcnn-explorer"):
                check_explorer(driver, failures, page)
            height = driver.execute_script("return document.documentElement.scrollHeight")
            driver.set_window_size(1400, min(max(height, 1000), 16000))
            driver.save_screenshot(str(shots / f"{Path(page).stem}.png"))
            driver.set_window_size(1400, 1000)
            print(f"{page}: {state['math']} math elements, {len(state['links'])} links", flush=True)
        for page, url in links:
            target, fragment = urldefrag(url)
            path = urlparse(target).path.lstrip("/") or "index.html"
            if path.endswith("/"):
                path += "index.html"
            if not (html / path).exists():
                failures.append(f"{page}: broken link to {url}")
            elif fragment and path in anchors and fragment not in anchors[path]:
                failures.append(f"{page}: link to a missing anchor {url}")
    finally:
        driver.quit()
        server.shutdown()
    print(f"{len(pages)} pages, screenshots in {shots}")
    if failures:
        print(f"{len(failures)} failure(s):\n  " + "\n  ".join(failures))
        sys.exit(1)
    print("all pages render offline: no errors")


if __name__ == "__main__":
    main()
