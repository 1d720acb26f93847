"""The web console in a real headless Chromium (Debian's, driven by selenium with its driver),
against the real stack: the embedded broker and Postgres, every agent and the projector in
one background thread, the API served by uvicorn on a free port. Nothing leaves the machine.

It signs in (a wrong token refused first), generates a lesson and watches its phases
complete, improves it, follows a drill series to "Generated 10/10 drills (Batch 2/2)" and
its boards, requests a course, opens a dead letter and replays it, opens a workflow; a page
without a session goes to sign-in and a form without its CSRF token is refused. Every form
control has a label, the skip link comes first, and pages fit a phone's width. A screenshot
of each page goes to test-artifacts/console/ (the README shows copies from docs/console/).
"""

from __future__ import annotations

import asyncio
import re
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from selenium import webdriver
from selenium.common.exceptions import (
    NoSuchElementException,
    StaleElementReferenceException,
    WebDriverException,
)
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support.ui import Select, WebDriverWait

from events import Context
from projections.db import make_engine
from services.api.app import create_app
from services.bus.admin import ensure_topics
from services.bus.producer import EventPublisher
from services.settings import Settings
from tests.conftest import ROOT, make_settings
from tests.integration.test_console_pages import IMPROVE_LINE, console_library
from tests.support.helpers import answer_event, background, query_rows, wait_until
from tests.support.jit import ccna
from tests.support.platform import agent, projector
from tools.devstack.provision import BrokerInfo, DatabaseInfo

pytestmark = pytest.mark.e2e

SHOTS = ROOT / "test-artifacts" / "console"  # copies of them are shown in the README
CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)
TOKEN = "test-token"
AGENTS = (
    "diagnoser",
    "remediation",
    "jit",
    "drill-orchestrator",
    "drill-batches",
    "drill-series",
    "course-orchestrator",
    "course-candidates",
    "course-reviews",
    "course-selection",
    "lesson-phases",
    "lesson-scorer",
    "lesson-rewriter",
    "lesson-pipeline",
)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def _stack(settings: Settings, port: int, up: threading.Event, stop: asyncio.Event) -> None:
    """Seed the data, run every agent, the projector and the API until ``stop``."""
    await ensure_topics(settings)
    library = await console_library()
    pack = ccna()
    poison = b'{"event_type": "answer-submitted", "learner_id": "grace"}'
    async with EventPublisher(settings) as pub:
        await pub.publish([*library, *pack.events()])
        await pub.send_raw(settings.topics().domain(Context.LEARNING), b"grace", poison, [])
    engine = make_engine(settings)
    server = uvicorn.Server(
        uvicorn.Config(create_app(settings), host="127.0.0.1", port=port, log_level="warning")
    )
    try:
        async with background(projector(settings), *(agent(settings, n) for n in AGENTS)):
            for table, count in (("positions", len(library)), ("concepts", len(pack.concepts))):
                await wait_until(
                    lambda t=table: query_rows(engine, f"SELECT count(*) FROM {t}"),  # type: ignore[misc]
                    lambda r, n=count: bool(r) and r[0][0] == n,  # type: ignore[misc]
                    # every agent and read model joins its group on this one thread: 14 s
                    # here beside the dev-stack test, over 60 s once in CI on a slow VM
                    timeout=180,
                    what=f"{table} in the read models",
                )
            concepts = [c for c in pack.concepts if c.facts][:2]
            first, second = (c.concept_id for c in concepts)
            answers = [
                answer_event("ada", concept=first, question_id="q1", answer_given="no idea"),
                answer_event(
                    "ada", concept=second, question_id="q2", correct=True, answer_given="yes"
                ),
                answer_event("ada", concept=second, question_id="q3", rt=900, answer_given="B"),
            ]
            async with EventPublisher(settings) as pub:
                await pub.publish(answers)
            serving = asyncio.create_task(server.serve())
            while not server.started:
                if serving.done():
                    serving.result()  # raises what stopped it
                await asyncio.sleep(0.05)
            up.set()
            await stop.wait()
            server.should_exit = True
            await serving
    finally:
        await engine.dispose()


@contextmanager
def running_stack(settings: Settings) -> Iterator[str]:
    """The stack in a thread with its own event loop (selenium blocks); yields the URL."""
    port = free_port()
    up = threading.Event()
    failure: list[BaseException] = []
    loop = asyncio.new_event_loop()
    stop = asyncio.Event()

    def run() -> None:
        try:
            loop.run_until_complete(_stack(settings, port, up, stop))
        except BaseException as exc:
            failure.append(exc)
        finally:
            up.set()

    thread = threading.Thread(target=run, name="console-stack", daemon=True)
    thread.start()
    ready = up.wait(300)
    if failure:
        raise failure[0]
    assert ready, "the stack did not come up in 300 s"
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        loop.call_soon_threadsafe(stop.set)
        thread.join(60)
        if failure:
            raise failure[0]


@contextmanager
def chromium(profile: Path) -> Iterator[WebDriver]:
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in (*FLAGS, f"--user-data-dir={profile}", "--window-size=1280,900"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=options)
    try:
        yield driver
    finally:
        driver.quit()


class Console:
    """The browser, with the waits and checks every page needs."""

    def __init__(self, driver: WebDriver, base: str) -> None:
        self.d = driver
        self.base = base

    def open(self, path: str) -> None:
        self.d.get(self.base + path)

    def wait(self, what: str, probe: Callable[[WebDriver], Any], timeout: float = 90) -> Any:
        def safe(d: WebDriver) -> Any:
            try:
                return probe(d)
            except StaleElementReferenceException:  # a live fragment was redrawn
                return False
            except WebDriverException as e:  # Chrome's word for the same race
                if "does not belong to the document" in str(e.msg):
                    return False
                raise

        return WebDriverWait(self.d, timeout, poll_frequency=0.2).until(safe, what)

    def wait_reloading(
        self, what: str, probe: Callable[[WebDriver], Any], timeout: float = 60
    ) -> None:
        """A page without live parts: reload it every second until ``probe`` holds."""
        deadline = time.monotonic() + timeout

        def holds() -> bool:
            try:
                return bool(probe(self.d))
            except (NoSuchElementException, StaleElementReferenceException):
                return False  # the reload has not drawn the page yet

        while not holds():
            if time.monotonic() > deadline:
                shown = self.d.page_source[:500]
                raise AssertionError(f"timed out waiting for {what} on {self.path()}: {shown}")
            time.sleep(1)
            self.d.refresh()

    def text(self, css: str) -> str:
        return str(self.d.find_element(By.CSS_SELECTOR, css).text)

    def attributes(self, css: str, *names: str) -> list[list[str]]:
        """The attributes ``names`` of every element ``css`` finds, read in one script: a
        live fragment redrawn between two reads cannot leave an element behind."""
        script = (
            "const [css, names] = arguments;"
            "return Array.from(document.querySelectorAll(css),"
            " e => names.map(n => String(e.getAttribute(n))));"
        )
        return list(self.d.execute_script(script, css, list(names)))

    def fill(self, field_id: str, value: str) -> None:
        field = self.d.find_element(By.ID, field_id)
        field.clear()
        field.send_keys(value)

    def path(self) -> str:
        return str(self.d.current_url).removeprefix(self.base)

    def check_page(self) -> None:
        """Every visible control has a label; the skip link is the first stop of the Tab
        key; the page is as wide as the window."""
        unlabelled = self.d.execute_script(
            """return Array.from(document.querySelectorAll('input, select, textarea, button'))
                 .filter(e => e.type !== 'hidden')
                 .filter(e => !(e.labels && e.labels.length) && !e.getAttribute('aria-label')
                              && !(e.tagName === 'BUTTON' && e.textContent.trim()))
                 .map(e => e.outerHTML.slice(0, 80));"""
        )
        assert unlabelled == [], unlabelled
        first = self.d.execute_script(
            "return document.querySelector('a[href], button, input:not([type=hidden]), "
            'select, textarea, [tabindex]:not([tabindex="-1"])\').className;'
        )
        assert first == "skip", first
        overflow = self.d.execute_script(
            "return document.documentElement.scrollWidth - document.documentElement.clientWidth"
        )
        assert overflow <= 1, f"{self.path()} is {overflow}px wider than the window"

    def shot(self, name: str, width: int = 1280, most: int = 3200) -> None:
        height = self.d.execute_script("return document.documentElement.scrollHeight")
        self.d.set_window_size(width, min(max(int(height) + 120, 700), most))
        SHOTS.mkdir(parents=True, exist_ok=True)
        self.d.save_screenshot(str(SHOTS / f"{name}.png"))
        self.d.set_window_size(1280, 900)


@pytest.mark.timeout(600)  # a whole stack and a browser on two cores
def test_the_console_in_a_browser(
    kafka: BrokerInfo, postgres: DatabaseInfo, tmp_path: Path
) -> None:
    settings = make_settings(kafka, postgres)
    with running_stack(settings) as base, chromium(tmp_path / "profile") as driver:
        c = Console(driver, base)

        # without a session a page goes to sign-in, remembering where it was going
        c.open("/console/drills")
        assert c.path() == "/console/sign-in?next=%2Fconsole%2Fdrills"
        c.check_page()
        c.shot("sign-in")
        # by keyboard: the skip link moves focus to the content; Enter submits the form
        skip = driver.find_element(By.CSS_SELECTOR, "a.skip")
        driver.execute_script("arguments[0].focus()", skip)
        ActionChains(driver).send_keys(Keys.ENTER).perform()
        c.wait(
            "focus on the content",
            lambda d: d.switch_to.active_element.get_attribute("id") == "main",
        )
        c.fill("token", "not-the-token")
        driver.find_element(By.ID, "token").send_keys(Keys.ENTER)
        c.wait("the refusal", lambda d: d.find_elements(By.ID, "signin-error"))
        assert "That is not the API token." in c.text("#signin-error")
        assert TOKEN not in driver.current_url and "token" not in driver.current_url
        c.fill("token", TOKEN)
        driver.find_element(By.ID, "sign-in").click()
        c.wait("the drills page", lambda d: c.path() == "/console/drills")

        # a form whose CSRF token is gone is refused, and does nothing
        driver.execute_script(
            "document.querySelector('#series-form input[name=csrf]').remove();"
            "document.getElementById('series-form').submit();"
        )
        c.wait("the refusal", lambda d: "Form refused" in d.page_source)
        assert "no CSRF token in the form" in c.text("main")
        c.open("/console/drills")
        assert "No series yet" in c.text("main")

        # Drills: a series of bear-offs, its progress rising to the end, a board per drill
        c.fill("drills", "10")
        for box in driver.find_elements(By.CSS_SELECTOR, "input[name=phases]"):
            if box.is_selected() != (box.get_attribute("value") == "BEAROFF"):
                box.click()
        driver.find_element(By.ID, "request-series").click()
        lines: list[str] = []

        def progressed(d: WebDriver) -> bool:
            found = d.find_elements(By.ID, "progress-line")
            if found and (not lines or lines[-1] != found[0].text):
                lines.append(found[0].text)
            return bool(lines) and lines[-1] == "Generated 10/10 drills (Batch 2/2)"

        c.wait("the series to finish", progressed)
        c.wait("the final boards", lambda d: "COMPLETED" in c.text("#series-heading"))
        assert all(re.fullmatch(r"Generated \d+/10 drills \(.+\)", x) for x in lines), lines
        boards = driver.find_elements(By.CSS_SELECTOR, "svg.board")
        assert len(boards) == 10
        described = boards[0].find_element(By.TAG_NAME, "desc").get_attribute("textContent")
        assert "borne off" in str(described)
        assert len(driver.find_elements(By.CSS_SELECTOR, "ol.options li.best")) == 10
        driver.refresh()  # the list of recent series, drawn before the series was projected
        c.wait("the series listed", lambda d: "COMPLETED" in c.text("#recent-heading + div"))
        c.check_page()
        c.shot("drills")
        driver.set_window_size(390, 900)  # a phone
        c.check_page()
        c.shot("drills-phone", width=390, most=1800)

        # Generate: a lesson, its phases completing live, then "Improve Lesson"
        c.open("/console/generate")
        Select(driver.find_element(By.ID, "pack")).select_by_value("cg2365")
        c.fill("topic", "Final circuits")
        Select(driver.find_element(By.ID, "lesson-strategy")).select_by_value("rules")
        driver.find_element(By.ID, "generate-lesson").click()
        c.wait("the lesson's page", lambda d: "lesson=" in c.path())
        seen: set[str] = set()

        def phases_done(d: WebDriver) -> bool:
            for phase, status in c.attributes("#phases li", "data-phase", "data-status"):
                if status in ("completed", "skipped"):
                    seen.add(phase)
            return c.text("#lesson-status") == "completed"

        c.wait("the lesson to complete", phases_done, timeout=120)
        assert {"planning", "vocabulary", "explanation", "assembler"} <= seen, seen
        # the new lesson joins the dropdown of existing lessons, selected (the page reloads
        # itself once the lesson it could not offer yet is done)
        c.wait("the dropdown", lambda d: d.find_elements(By.ID, "improve-lesson"))
        orders = [float(o) for (o,) in c.attributes("article.lesson section.block", "data-order")]
        assert len(orders) >= 5 and orders == sorted(orders)
        lesson = c.path().split("lesson=")[1]
        chosen = Select(driver.find_element(By.ID, "lesson-select")).first_selected_option
        assert chosen.get_attribute("value") == lesson
        c.check_page()
        c.shot("generate")
        pages = [c.path()]
        driver.find_element(By.ID, "improve-lesson").click()
        c.wait(
            "the improve verdict",
            lambda d: IMPROVE_LINE.fullmatch(c.text("#improve-status")),
            timeout=120,
        )
        c.shot("generate-improved")

        # Courses: best of K, the candidates side by side, the selected worksheet
        c.open("/console/courses")
        c.fill("topic", "multiplication")
        c.fill("candidate_count", "3")
        Select(driver.find_element(By.ID, "strategy")).select_by_value("rules")
        driver.find_element(By.ID, "request-course").click()
        c.wait("the course", lambda d: c.text("#course-status") in ("SELECTED", "NEEDS_ATTENTION"))
        assert len(driver.find_elements(By.CSS_SELECTOR, "table.candidates thead th")) == 1 + 3
        assert "Selected worksheet" in c.text("#course") or "Needs attention" in c.text("#course")
        driver.refresh()
        c.wait("the course listed", lambda d: "SELECTED" in c.text("#recent-heading + div"))
        c.check_page()
        c.shot("courses")
        pages.append(c.path())

        # Learners: ada's answers, diagnoses with evidence, plans with atoms
        c.open("/console/learners")
        c.fill("learner", "ada")
        driver.find_element(By.ID, "show-learner").click()
        c.wait_reloading(
            "ada's plans",
            lambda d: "encoding_error" in c.text("main") and "No plans" not in c.text("main"),
        )
        assert "executive_error" in c.text("main")
        c.check_page()
        c.shot("learners")
        pages.append(c.path())

        # Operations: a dead letter opened and replayed; a workflow in causal order
        c.open("/console/operations")
        c.wait("the dead letter", lambda d: d.find_elements(By.CSS_SELECTOR, "#dead-letters a"))
        assert "Projector lag" in c.text("main") and "Model usage" in c.text("main")
        c.check_page()
        c.shot("operations")
        pages.append(c.path())
        driver.find_element(By.CSS_SELECTOR, "#dead-letters a").click()
        assert '"learner_id": "grace"' in c.text("#original")
        driver.find_element(By.ID, "replay").click()
        c.wait("the replay", lambda d: "Replayed: the original went back" in c.text("main"))
        c.wait_reloading("the replay mark", lambda d: c.text("#replayed-at") != "not yet")
        c.check_page()
        c.shot("dead-letter")
        pages.append(c.path().split("?")[0])
        c.open("/console/operations")
        row = driver.find_element(
            By.XPATH, "//table[@id='workflows']//tr[td[2][text()='lesson-requested']]//a"
        )
        row.click()
        steps = [e.text for e in driver.find_elements(By.CSS_SELECTOR, ".event-type")]
        assert steps[0] == "lesson-requested" and "lesson-completed" in steps, steps
        assert "lesson-phase-completed" in steps
        c.check_page()
        c.shot("workflow")

        # every page fits a phone's width (tables scroll inside themselves)
        visited = [c.path(), *pages]
        driver.set_window_size(390, 900)
        for path in visited:
            c.open(path)
            c.check_page()
        driver.set_window_size(1280, 900)

        # signed out (the cookie gone), every page goes back to sign-in
        driver.delete_all_cookies()
        c.open("/console/courses")
        assert c.path().startswith("/console/sign-in?next=%2Fconsole%2Fcourses")
