"""The course in headless Chromium driven by Selenium: sign in with a link, upload through the form, see the score."""
from __future__ import annotations

import csv
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from test_course_server import BEFORE_DUE, COURSE_TOML, SOLUTIONS, Served, add_accounts, nnlab

webdriver = pytest.importorskip("selenium.webdriver")

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
pytestmark = [
    pytest.mark.skipif(not (CHROMIUM.exists() and CHROMEDRIVER.exists()),
                       reason="Debian's chromium and chromium-driver are not installed (.ci/run installs them)"),
    pytest.mark.slow,
]


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    root = tmp_path_factory.mktemp("web-browser")
    (root / "course.toml").write_text(COURSE_TOML, encoding="utf-8")
    tokens = add_accounts(root / "data")
    served = Served(root / "course.toml", root / "data", BEFORE_DUE)
    made = nnlab("roster", str(root / "course.toml"), "--data", str(root / "data"),
                 "--links", str(root / "links.csv"), "--url", served.url)
    assert made.returncode == 0, made.stderr
    links = {row["student"]: row["link"] for row in csv.DictReader((root / "links.csv").open())}
    yield {"root": root, "tokens": tokens, "url": served.url, "links": links}
    served.stop()


@pytest.fixture(scope="module")
def driver() -> Iterator[Any]:
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--no-first-run", "--window-size=1280,900"):
        options.add_argument(arg)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    browser = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
    browser.set_page_load_timeout(60)
    yield browser
    browser.quit()


def _too_wide(driver: Any) -> list[str]:
    """Elements reaching past the window (wide tables must scroll inside their own box)."""
    return list(driver.execute_script("""
        if (document.documentElement.scrollWidth <= window.innerWidth + 1) return [];
        return Array.from(document.querySelectorAll('body *'))
          .filter(e => e.getBoundingClientRect().right > window.innerWidth + 1
                       && !(e.closest('.table-wrap') && e.closest('.table-wrap') !== e))
          .map(e => e.tagName + '.' + e.className + ' ' + Math.round(e.getBoundingClientRect().right))
          .slice(0, 10);"""))


def _bar_is_whole(driver: Any) -> None:
    """The bar on top of every page shows the course, the way home and Sign out, none clipped.
    (It once shared its class with the reports' 120 x 8 px progress bars: a grey sliver.)"""
    from selenium.webdriver.common.by import By

    bar = driver.find_element(By.CSS_SELECTOR, "header.topbar")
    box = driver.execute_script("const b = arguments[0].getBoundingClientRect(); return [b.width, b.height];", bar)
    assert box[0] > 300 and box[1] > 20, box
    sign_out = bar.find_element(By.CSS_SELECTOR, "form button[type=submit]")
    home = bar.find_element(By.CSS_SELECTOR, "nav a")
    assert sign_out.is_displayed() and home.is_displayed()
    assert driver.execute_script("""const b = arguments[0].getBoundingClientRect();
        return document.elementFromPoint(b.left + b.width / 2, b.top + b.height / 2) === arguments[0];""", sign_out)


def test_sign_in_with_a_link_upload_and_see_the_score(site: dict[str, Any], driver: Any,
                                                      tmp_path: Path) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    shots = tmp_path / "screenshots"
    shots.mkdir()
    driver.get(site["links"]["ada"])
    driver.find_element(By.ID, "use-link").click()
    WebDriverWait(driver, 60).until(lambda d: d.find_elements(By.ID, "assignments"))
    assert driver.current_url.rstrip("/") == site["url"]
    assert driver.find_element(By.ID, "assignments").is_displayed()
    _bar_is_whole(driver)
    driver.find_element(By.CSS_SELECTOR, 'a[href="/assignments/hw1"]').click()
    WebDriverWait(driver, 60).until(lambda d: d.find_elements(By.ID, "files"))
    files = tmp_path / "upload"
    files.mkdir()
    (files / "leaky_relu.py").write_bytes((SOLUTIONS / "leaky_relu.py").read_bytes())
    driver.find_element(By.ID, "files").send_keys(str(files / "leaky_relu.py"))
    driver.find_element(By.ID, "upload").click()
    WebDriverWait(driver, 60).until(lambda d: "/submissions/" in d.current_url or d.find_elements(
        By.CSS_SELECTOR, "p.error"))
    assert "/submissions/" in driver.current_url, driver.find_element(By.TAG_NAME, "body").text
    deadline = time.monotonic() + 240
    while not driver.find_elements(By.CSS_SELECTOR, "p.big"):
        assert time.monotonic() < deadline, "no score arrived"
        time.sleep(1)
        driver.refresh()
    score = driver.find_element(By.CSS_SELECTOR, "p.big").text
    assert "/" in score and driver.find_elements(By.CSS_SELECTOR, "table.checks")
    driver.save_screenshot(str(shots / "feedback-1280.png"))
    driver.set_window_size(390, 844)
    assert not _too_wide(driver), _too_wide(driver)
    driver.save_screenshot(str(shots / "feedback-390.png"))
    driver.get(site["url"] + "/")
    assert not _too_wide(driver), _too_wide(driver)
    driver.set_window_size(1280, 900)
    errors = [entry for entry in driver.get_log("browser") if entry["level"] == "SEVERE"]
    assert not errors, errors


def _sign_in_with_token(driver: Any, url: str, token: str) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    driver.delete_all_cookies()
    driver.get(url + "/login")
    driver.find_element(By.ID, "token").send_keys(token)
    driver.find_element(By.CSS_SELECTOR, "form.stack button[type=submit]").click()
    WebDriverWait(driver, 60).until(lambda d: not d.current_url.endswith("/login"))


def test_a_regrade_and_an_extension_reach_the_student(site: dict[str, Any], driver: Any,
                                                      tmp_path: Path) -> None:
    """ada asks for a regrade in the browser; the instructor grants her an extension and accepts
    the regrade in the browser; ada sees both. (Follows the upload test: her upload is graded.)"""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select, WebDriverWait

    url = site["url"]
    _sign_in_with_token(driver, url, site["tokens"]["ada"])
    driver.find_element(By.CSS_SELECTOR, 'a[href="/assignments/hw1"]').click()
    WebDriverWait(driver, 60).until(lambda d: d.find_elements(By.ID, "submissions"))
    driver.find_element(By.CSS_SELECTOR, "#submissions a").click()
    WebDriverWait(driver, 60).until(lambda d: d.find_elements(By.ID, "about"))
    feedback = driver.current_url
    Select(driver.find_element(By.ID, "about")).select_by_value("leaky_relu|")
    driver.find_element(By.ID, "reason").send_keys("The negative slope is what the statement asks for")
    driver.find_element(By.ID, "ask-regrade").click()
    WebDriverWait(driver, 60).until(lambda d: "waiting for your instructor" in d.page_source)

    _sign_in_with_token(driver, url, site["tokens"]["instructor"])
    assert driver.current_url == url + "/instructor"
    _bar_is_whole(driver)
    driver.find_element(By.CSS_SELECTOR, 'a[href="/instructor/assignments/hw1"]').click()
    WebDriverWait(driver, 60).until(lambda d: d.find_elements(By.ID, "extension-form"))
    Select(driver.find_element(By.ID, "ext-student")).select_by_visible_text("ada")
    driver.find_element(By.ID, "ext-attempts").clear()
    driver.find_element(By.ID, "ext-attempts").send_keys("7")
    driver.find_element(By.ID, "ext-reason").send_keys("a clash with an exam")
    driver.find_element(By.ID, "grant").click()
    WebDriverWait(driver, 60).until(lambda d: "Extension granted to ada" in d.page_source)
    driver.get(url + "/instructor/regrades")
    form = driver.find_element(By.CSS_SELECTOR, "section.regrade form")
    form.find_element(By.TAG_NAME, "textarea").send_keys("Agreed: one more point")
    form.find_element(By.NAME, "points").send_keys("1")
    form.find_element(By.CSS_SELECTOR, 'button[value="accept"]').click()
    WebDriverWait(driver, 60).until(lambda d: "No open request" in d.page_source)
    driver.save_screenshot(str(tmp_path / "regrade-queue.png"))

    _sign_in_with_token(driver, url, site["tokens"]["ada"])
    hw1 = driver.find_element(By.CSS_SELECTOR, "#assignments tbody tr").text
    assert " 56 " in hw1, hw1  # 50 uploads an hour, 7 more granted, 1 spent
    driver.get(feedback)
    page = driver.find_element(By.TAG_NAME, "body").text
    assert "Agreed: one more point" in page and "accepted" in page
    driver.save_screenshot(str(tmp_path / "answered.png"))
    errors = [entry for entry in driver.get_log("browser") if entry["level"] == "SEVERE"]
    assert not errors, errors
