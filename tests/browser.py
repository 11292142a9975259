"""Headless Chromium and a loopback web server, for the tests that open pages in a real browser
(tests/test_links.py, tests/test_gaps.py) and for bench/links.py."""

from __future__ import annotations

import contextlib
import functools
import shutil
import threading
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

# Where words stand on screen, in the page: [top, bottom, viewport height, inside the element
# whose id is the second argument], or None when the page does not hold them.
ON_SCREEN = (Path(__file__).parent / "on_screen.js").read_text()


def on_screen(box) -> bool:
    """Whether an ON_SCREEN box lies within the viewport."""
    return bool(box) and 0 <= box[0] and box[1] <= box[2]


def missing() -> str:
    """Why a browser cannot be started here ("" when it can)."""
    if not (shutil.which("chromium") and shutil.which("chromedriver")):
        return "Chromium and ChromeDriver are not installed (Debian: apt install chromium chromium-driver)"
    import importlib.util

    if importlib.util.find_spec("selenium") is None:
        return "selenium is not installed (the test extra)"
    return ""


def chromium():
    """Debian's Chromium, headless, driven by Selenium; it reaches nothing but what it is sent to."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = shutil.which("chromium")
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--disable-dev-shm-usage", "--window-size=1200,800"):
        options.add_argument(flag)
    return webdriver.Chrome(service=Service(shutil.which("chromedriver")), options=options)


@contextlib.contextmanager
def served(folder: Path) -> Iterator[str]:
    """A folder served on loopback, quietly; yields its address."""
    class Quiet(SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

    class Server(ThreadingHTTPServer):
        def handle_error(self, request, client_address):
            pass  # a page the browser left before it loaded

    server = Server(("127.0.0.1", 0), functools.partial(Quiet, directory=str(folder)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
