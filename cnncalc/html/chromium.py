"""Open pages in a headless Chromium and drive it over the DevTools protocol (no extra package).

The browser tests (tests/test_html_browser.py), the screenshots of the docs
(docs/screenshots.py) and the page benchmark use it to see what a user sees: console errors,
every network request, clicks and the time to first render. Chromium is started with
``--remote-debugging-pipe``: the protocol's JSON messages travel on file descriptors 3 (to the
browser) and 4 (from it), each ended by a NUL byte, so no websocket client is needed. Every start
gets a fresh ``--user-data-dir`` and the flags that keep a headless browser off the network
(no sync, no component updates, no background networking).
"""

from __future__ import annotations

import base64
import fcntl
import json
import os
import select
import shutil
import subprocess
import tempfile
import time

CANDIDATES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--no-default-browser-check",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-extensions",
    "--disable-dev-shm-usage",
    "--mute-audio",
    "--remote-debugging-pipe",
)


def _high(fd: int) -> int:
    """A copy of ``fd`` numbered 10 or more (the original is closed)."""
    copy = fcntl.fcntl(fd, fcntl.F_DUPFD, 10)
    os.close(fd)
    return copy


class BrowserError(RuntimeError):
    """The browser could not start, answer or load a page; the message says which."""


def find() -> str | None:
    """The Chromium binary: ``$CNNCALC_CHROMIUM``, else the first of :data:`CANDIDATES` on PATH."""
    given = os.environ.get("CNNCALC_CHROMIUM")
    if given:
        return given if os.path.exists(given) else None
    for name in CANDIDATES:
        path = shutil.which(name)
        if path:
            return path
    return None


class Page:
    """One tab, attached with its own session; events are collected for the checks."""

    def __init__(self, browser: "Chromium", session: str, target: str):
        self.browser, self.session, self.target = browser, session, target
        self.events: list[dict] = []

    def send(self, method: str, params: dict | None = None, timeout: float = 30.0):
        return self.browser.send(method, params, session=self.session, timeout=timeout)

    # what the checks read ---------------------------------------------------------------
    def console_errors(self) -> list[str]:
        """Uncaught exceptions, ``console.error`` calls and the browser's own error log
        (a blocked request, a CSP violation, a failed load)."""
        found = []
        for e in self.events:
            m, p = e["method"], e.get("params", {})
            if m == "Runtime.exceptionThrown":
                d = p["exceptionDetails"]
                found.append(f"exception: {d.get('exception', {}).get('description') or d.get('text')}")
            elif m == "Runtime.consoleAPICalled" and p.get("type") in ("error", "assert"):
                found.append("console.error: " + " ".join(str(a.get("value", a.get("description", ""))) for a in p.get("args", [])))
            elif m == "Log.entryAdded" and p["entry"].get("level") == "error":
                found.append(f"log: {p['entry'].get('text')} {p['entry'].get('url', '')}".strip())
        return found

    def requests(self) -> list[str]:
        """The URL of every request the page made (its own file included)."""
        return [e["params"]["request"]["url"] for e in self.events if e["method"] == "Network.requestWillBeSent"]

    # actions ----------------------------------------------------------------------------
    def evaluate(self, expression: str, timeout: float = 30.0):
        """The value of a JavaScript expression (awaited if it is a promise)."""
        result = self.send("Runtime.evaluate", {"expression": expression, "returnByValue": True, "awaitPromise": True}, timeout=timeout)
        if "exceptionDetails" in result:
            raise BrowserError(f"JavaScript error in {expression[:80]!r}: {result['exceptionDetails'].get('exception', {}).get('description') or result['exceptionDetails'].get('text')}")
        return result["result"].get("value")

    def wait_for(self, expression: str, timeout: float = 30.0):
        """Poll until the expression is truthy; returns its value."""
        end = time.monotonic() + timeout
        while True:
            value = self.evaluate(expression)
            if value:
                return value
            if time.monotonic() > end:
                raise BrowserError(f"timed out waiting for {expression!r}")
            time.sleep(0.05)

    def click(self, selector: str) -> None:
        """A real mouse click (pressed and released) at the centre of the first match, scrolled into view."""
        box = self.evaluate(
            f"(() => {{ const e = document.querySelector({json.dumps(selector)}); if (!e) return null;"
            " e.scrollIntoView({block: 'center', inline: 'center'}); const r = e.getBoundingClientRect();"
            " return [r.left + r.width / 2, r.top + r.height / 2]; })()"
        )
        if box is None:
            raise BrowserError(f"nothing matches {selector!r}")
        x, y = box
        for kind in ("mouseMoved", "mousePressed", "mouseReleased"):
            self.send("Input.dispatchMouseEvent", {"type": kind, "x": x, "y": y, "button": "left", "clickCount": 1})

    def screenshot(self, path: str | None = None, *, full_page: bool = False, clip: dict | None = None) -> bytes:
        """A PNG of the viewport (or the whole page, or ``clip``); written to ``path`` when given."""
        params: dict = {"format": "png"}
        if full_page:
            size = self.evaluate("[document.documentElement.scrollWidth, document.documentElement.scrollHeight]")
            params["clip"] = {"x": 0, "y": 0, "width": size[0], "height": size[1], "scale": 1}
            params["captureBeyondViewport"] = True
        elif clip:
            params["clip"] = {"scale": 1, **clip}
            params["captureBeyondViewport"] = True
        data = base64.b64decode(self.send("Page.captureScreenshot", params, timeout=60)["data"])
        if path:
            with open(path, "wb") as fh:
                fh.write(data)
        return data


class Chromium:
    """A headless Chromium for the length of a ``with`` block."""

    def __init__(self, binary: str | None = None, *, width: int = 1400, height: int = 1000):
        self.binary = binary or find()
        if not self.binary:
            raise BrowserError("no Chromium found (apt-get install chromium, or set CNNCALC_CHROMIUM)")
        self.width, self.height = width, height
        self._next = 0
        self._buffer = b""
        self._pending: list[dict] = []
        self.pages: dict[str, Page] = {}

    def __enter__(self):
        self.profile = tempfile.mkdtemp(prefix="cnncalc-chromium-")
        to_browser_r, self._to_browser = os.pipe()
        self._from_browser, from_browser_w = os.pipe()
        # The child's ends move above 9 first, so that putting them on 3 and 4 cannot overwrite
        # one with the other (os.pipe may return 3 or 4 itself).
        to_browser_r, from_browser_w = (_high(fd) for fd in (to_browser_r, from_browser_w))
        args = [self.binary, *FLAGS, f"--user-data-dir={self.profile}", f"--window-size={self.width},{self.height}", "about:blank"]

        def on_3_and_4():  # in the child, before exec: the descriptors the protocol expects
            os.dup2(to_browser_r, 3)
            os.dup2(from_browser_w, 4)

        # close_fds=False passes only inheritable descriptors: 3 and 4 (dup2 makes them so);
        # every other descriptor Python opened is close-on-exec.
        self.process = subprocess.Popen(
            args,
            preexec_fn=on_3_and_4,
            close_fds=False,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        os.close(to_browser_r)
        os.close(from_browser_w)
        try:
            self.send("Target.setDiscoverTargets", {"discover": False}, timeout=60)
        except Exception:
            self.__exit__(None, None, None)
            raise
        return self

    def __exit__(self, *exc):
        try:
            if self.process.poll() is None:
                try:
                    self.send("Browser.close", timeout=5)
                except Exception:
                    pass
                try:
                    self.process.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    self.process.kill()
                    self.process.wait()
        finally:
            for fd in (self._to_browser, self._from_browser):
                try:
                    os.close(fd)
                except OSError:
                    pass
            shutil.rmtree(self.profile, ignore_errors=True)
        return False

    # the protocol -------------------------------------------------------------------------
    def send(self, method: str, params: dict | None = None, *, session: str | None = None, timeout: float = 30.0):
        self._next += 1
        message = {"id": self._next, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = session
        os.write(self._to_browser, json.dumps(message).encode() + b"\0")
        end = time.monotonic() + timeout
        while True:
            reply = self._read(end, f"{method}")
            if reply.get("id") == self._next:
                if "error" in reply:
                    raise BrowserError(f"{method}: {reply['error'].get('message')}")
                return reply.get("result", {})
            self._dispatch(reply)

    def _read(self, end: float, what: str) -> dict:
        while b"\0" not in self._buffer:
            left = end - time.monotonic()
            if left <= 0:
                raise BrowserError(f"Chromium did not answer {what} in time")
            ready, _, _ = select.select([self._from_browser], [], [], left)
            if ready:
                chunk = os.read(self._from_browser, 1 << 20)
                if not chunk:
                    raise BrowserError(f"Chromium exited (code {self.process.poll()}) while waiting for {what}")
                self._buffer += chunk
        raw, self._buffer = self._buffer.split(b"\0", 1)
        return json.loads(raw)

    def _dispatch(self, event: dict) -> None:
        page = self.pages.get(event.get("sessionId"))
        if page is not None:
            page.events.append(event)

    def drain(self, seconds: float = 0.2) -> None:
        """Collect the events that arrive within ``seconds``."""
        end = time.monotonic() + seconds
        while True:
            try:
                self._dispatch(self._read(end, "events"))
            except BrowserError:
                return

    def open(self, url: str, *, timeout: float = 60.0) -> Page:
        """A new tab showing ``url`` (a path is turned into a file URL), after its load event."""
        if "://" not in url:
            url = "file://" + os.path.abspath(url)
        target = self.send("Target.createTarget", {"url": "about:blank"})["targetId"]
        session = self.send("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        page = Page(self, session, target)
        self.pages[session] = page
        for domain in ("Page", "Runtime", "Log", "Network"):
            page.send(f"{domain}.enable")
        page.send("Emulation.setDeviceMetricsOverride", {"width": self.width, "height": self.height, "deviceScaleFactor": 1, "mobile": False})
        page.send("Page.navigate", {"url": url})
        end = time.monotonic() + timeout
        while not any(e["method"] == "Page.loadEventFired" for e in page.events):
            self._dispatch(self._read(end, f"the load of {url}"))
        return page
