"""Drives the operator page in headless Chromium (Selenium + Debian's chromedriver).

Usage: operator_page.py URL SCREENSHOT.png
Checks the page loads and shows the processes, that both live previews show pictures that
change, clicks "Wide", waits, clicks "Auto". Prints one JSON line with what it saw and the
Unix times of the clicks; exits non-zero with the reason when something is not there.
"""
import hashlib
import json
import sys
import time

from selenium import webdriver
from selenium.webdriver.chrome.options import Options
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

url, screenshot = sys.argv[1], sys.argv[2]
opts = Options()
opts.binary_location = "/usr/bin/chromium"
for a in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1400,1100"):
    opts.add_argument(a)
driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=opts)
seen = {}


def wait(what, cond, timeout=20):
    try:
        return WebDriverWait(driver, timeout, poll_frequency=0.1).until(lambda d: cond())
    except Exception:
        raise SystemExit(f"timed out waiting for {what}; page text: {driver.find_element(By.TAG_NAME, 'body').text[:800]}")


def text(el_id):
    return driver.find_element(By.ID, el_id).text


def picture(el_id):
    """A hash of the image as drawn (same origin, so the canvas can be read), or None."""
    return driver.execute_script(
        """
        const img = document.getElementById(arguments[0]);
        if (!img.complete || img.naturalWidth === 0) return null;
        const c = document.createElement('canvas');
        c.width = img.naturalWidth; c.height = img.naturalHeight;
        const g = c.getContext('2d'); g.drawImage(img, 0, 0);
        return Array.from(g.getImageData(0, 0, c.width, c.height).data.filter((_, i) => i % 97 == 0)).join(',');
        """,
        el_id,
    )


try:
    driver.get(url)
    wait("the first status", lambda: text("updated").startswith("updated"))
    wait("three processes", lambda: len(driver.find_elements(By.CSS_SELECTOR, "#processes tr")) == 4)
    seen["processes"] = [r.text for r in driver.find_elements(By.CSS_SELECTOR, "#processes tr")][1:]
    for el in ("preview-programme", "preview-panorama"):
        first = wait(f"a picture in #{el}", lambda: picture(el))
        changed = wait(f"#{el} to change", lambda: (p := picture(el)) is not None and p != first)
        seen[el] = {
            "width": driver.execute_script("return document.getElementById(arguments[0]).naturalWidth", el),
            "changed": bool(changed),
            "hash": hashlib.sha1(first.encode()).hexdigest()[:12],
        }
    seen["recording"] = text("recording")
    driver.find_element(By.ID, "mode-wide").click()
    seen["wide_clicked_unix"] = time.time()
    wait("the camera mode to read wide", lambda: text("camera-mode") == "wide")
    seen["wide_shown"] = "active" in driver.find_element(By.ID, "mode-wide").get_attribute("class")
    time.sleep(12)
    driver.save_screenshot(screenshot)
    driver.find_element(By.ID, "mode-auto").click()
    seen["auto_clicked_unix"] = time.time()
    wait("the camera mode to read auto", lambda: text("camera-mode") == "auto")
    # A refused manual pose is shown on the page and changes nothing.
    for el_id, v in (("manual-yaw", "170"), ("manual-pitch", "-10"), ("manual-fov", "30")):
        box = driver.find_element(By.ID, el_id)
        box.clear()
        box.send_keys(v)
    driver.find_element(By.ID, "mode-manual").click()
    wait("the refusal on the page", lambda: "refused" in text("message"))
    seen["refusal"] = text("message")
    seen["mode_after_refusal"] = text("camera-mode")
finally:
    driver.quit()
print(json.dumps(seen))
