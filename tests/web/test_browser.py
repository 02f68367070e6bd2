"""`voicegen serve` in a real browser: headless Chromium (Debian's chromium and chromium-driver,
driven by Selenium) loads the page, uploads a bundled clip, converts it, and gets back audio of the
input's length that differs from the input; a corrupt upload shows its one-line error in the page.

Skipped, with the reason, where no browser is installed (`.ci/run` installs it with apt).
``VOICEGEN_SCREENSHOT=path`` also saves a screenshot of the page after the conversion (how
docs/images/serve.png was made)."""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

SAMPLES = Path(__file__).resolve().parents[2] / "samples" / "audio"
SF1 = SAMPLES / "SF1_200001.wav"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")

webdriver = pytest.importorskip("selenium.webdriver", reason="selenium not installed (pip install -e '.[test]')")
pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(not (CHROMIUM and CHROMEDRIVER),
                                 reason="no chromium/chromedriver on PATH (apt-get install chromium chromium-driver)")]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """A running `voicegen serve` on a free port; its base URL."""
    cwd = tmp_path_factory.mktemp("serve")
    process = subprocess.Popen([sys.executable, "-m", "voicegen", "serve", "--port", "0", "--max-duration", "60"],
                               cwd=cwd, stderr=subprocess.PIPE, text=True)
    line = process.stderr.readline()
    assert line.startswith("voicegen serve: http://"), line
    url = line.split()[2]
    yield url
    process.terminate()
    process.wait(timeout=30)


@pytest.fixture(scope="module")
def browser():
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service

    options = Options()
    options.binary_location = CHROMIUM
    for flag in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1280,1000"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    yield driver
    driver.quit()


def wait_for(check, timeout: float = 60.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError("timed out waiting for the page")


def test_upload_convert_play_and_see_the_error_of_a_corrupt_file(server, browser, tmp_path) -> None:
    from selenium.webdriver.common.by import By

    browser.get(server)
    wait_for(lambda: browser.find_elements(By.CSS_SELECTOR, "#target option"))
    assert browser.find_element(By.ID, "model").get_attribute("value") == "vcc2016_sf1_tm1"
    assert browser.find_element(By.ID, "target").get_attribute("value") == "TM1"
    assert browser.find_element(By.ID, "model-about").text == (
        "vcc2016_sf1_tm1: cyclegan + frame bank + vae16k post-filter + formants SF1 +0.75 (frame bank: 8971 frames "
        "of SF1, 8237 frames of TM1)")
    assert browser.find_element(By.ID, "convert-formant").get_attribute("value") == ""  # empty: the model's
    assert browser.find_element(By.ID, "postfilter").is_selected()
    browser.find_element(By.ID, "convert-file").send_keys(str(SF1))
    browser.find_element(By.ID, "convert").click()
    audio_url = wait_for(lambda: browser.find_element(By.ID, "convert-output").get_attribute("src"))
    status = browser.find_element(By.ID, "convert-status").text
    assert status.startswith("SF1 -> TM1: 3.89 s of audio in") and "error" not in \
        browser.find_element(By.ID, "convert-status").get_attribute("class")
    assert status.endswith("; frame bank: 8237 frames of TM1, each frame 0.7 x the mean of its 8 nearest; "
                           "post-filter: vae16k (decodes as TM1)")
    wait_for(lambda: browser.execute_script("return document.getElementById('convert-plot').complete && "
                                            "document.getElementById('convert-plot').naturalWidth > 0"))
    with urllib.request.urlopen(audio_url) as response:
        converted, rate = sf.read(io.BytesIO(response.read()), dtype="float32")
    source, _ = sf.read(str(SF1), dtype="float32")
    assert rate == 16000 and converted.shape == source.shape
    assert np.abs(converted - source).mean() > 0.01
    screenshot = os.environ.get("VOICEGEN_SCREENSHOT")
    browser.save_screenshot(str(screenshot or tmp_path / "serve.png"))

    # the frame bank's share: sent when set, greyed out with the post-processing left out
    browser.find_element(By.ID, "bank-mix").send_keys("1")
    browser.find_element(By.ID, "convert").click()
    wait_for(lambda: "each frame 1 x the mean" in browser.find_element(By.ID, "convert-status").text)
    browser.find_element(By.ID, "postfilter").click()
    assert not browser.find_element(By.ID, "bank-mix").is_enabled()
    browser.find_element(By.ID, "postfilter").click()
    assert browser.find_element(By.ID, "bank-mix").is_enabled()

    corrupt = tmp_path / "corrupt.wav"
    corrupt.write_bytes(b"RIFF\x24\x00\x00\x00WAVEjunkjunkjunk")
    browser.find_element(By.ID, "convert-file").send_keys(str(corrupt))
    browser.find_element(By.ID, "convert").click()
    status = wait_for(lambda: "error" in browser.find_element(By.ID, "convert-status").get_attribute("class")
                      and browser.find_element(By.ID, "convert-status").text)
    assert status.startswith("corrupt.wav: ") and "\n" not in status
