"""The page at `/` in a real browser: headless Chromium loads it, fills the form, and gets the
digits the CLI draws for the command the page shows. Skips where Chromium, its driver or
selenium is absent (CI installs them)."""

import base64
import shutil
import shlex
import subprocess
import sys

import pytest

from tests.helpers import server

webdriver = pytest.importorskip("selenium.webdriver", reason="selenium is not installed")
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
CHROMEDRIVER = shutil.which("chromedriver")
pytestmark = pytest.mark.skipif(not (CHROMIUM and CHROMEDRIVER),
                                reason="headless Chromium and chromedriver are not installed "
                                       "(Debian: apt-get install chromium chromium-driver)")


@pytest.fixture(scope="module")
def browser():
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu"):
        options.add_argument(argument)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    yield driver
    driver.quit()


def draw(browser, **fields):
    """Fill the form's fields, press Draw, and return (the shown command, URL, the image's bytes)."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select, WebDriverWait

    for name, value in fields.items():
        element = browser.find_element(By.ID, name)
        if element.tag_name == "select":
            Select(element).select_by_value(str(value))
        else:
            element.clear()
            element.send_keys(str(value))
    old = browser.find_element(By.ID, "image").get_attribute("src")
    browser.find_element(By.ID, "draw").click()
    WebDriverWait(browser, 60).until(lambda b: (b.find_element(By.ID, "image").get_attribute("src") or "") not in ("", old)
                                     and b.execute_script("return document.getElementById('image').naturalWidth") > 0)
    png = browser.execute_async_script("""
        const done = arguments[arguments.length - 1];
        fetch(document.getElementById('image').src).then(r => r.arrayBuffer()).then(buffer => {
            let text = ''; new Uint8Array(buffer).forEach(b => text += String.fromCharCode(b)); done(btoa(text)); });
    """)
    return (browser.find_element(By.ID, "command").text, browser.find_element(By.ID, "url").text,
            base64.b64decode(png))


def cli_png(command, tmp_path):
    """The PNG that the page's command line writes (run here with --out redirected)."""
    arguments = shlex.split(command)[1:]
    arguments[arguments.index("--out") + 1] = str(tmp_path / "cli.png")
    result = subprocess.run([sys.executable, "-m", "digitgen", *arguments, "--force"], capture_output=True,
                            timeout=60)
    assert result.returncode == 0, result.stderr
    return (tmp_path / "cli.png").read_bytes()


def test_the_form_draws_what_its_command_and_url_draw(browser, tmp_path):
    with server() as (port, _):
        browser.get(f"http://127.0.0.1:{port}/")
        assert browser.title == "digitgen"
        command, url, png = draw(browser, digit=7, n=4, seed=5, scale=2)
        assert command == "digitgen --n 4 --digit 7 --seed 5 --scale 2 --out digits.png"
        assert url == f"http://127.0.0.1:{port}/digits?seed=5&n=4&digit=7&scale=2"
        assert png[:8] == b"\x89PNG\r\n\x1a\n" and png == cli_png(command, tmp_path)

        command, url, png = draw(browser, what="number", number=2026, seed=4, scale=3)
        assert command == "digitgen --number 2026 --seed 4 --scale 3 --out number.png"
        assert png == cli_png(command, tmp_path)

        # without a seed, the page shows the one the server drew: the command repeats the digits
        command, url, png = draw(browser, what="digits", digit="", n=3, seed="", scale=1)
        assert " --seed " in command and png == cli_png(command, tmp_path)


def test_a_refused_request_shows_the_servers_one_line_error(browser):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    with server() as (port, _):
        browser.get(f"http://127.0.0.1:{port}/")
        browser.execute_script("document.getElementById('n').removeAttribute('max')")  # past the form's own check
        field = browser.find_element(By.ID, "n")
        field.clear()
        field.send_keys("20000")
        browser.find_element(By.ID, "draw").click()
        WebDriverWait(browser, 30).until(lambda b: b.find_element(By.ID, "error").text)
        assert "n must be an integer from 1 to 10000" in browser.find_element(By.ID, "error").text

