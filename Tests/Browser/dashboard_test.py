#!/usr/bin/env python3
"""The dashboard in a real browser: headless Chromium driven by Selenium.

Started by scripts/browser-test.sh with two controller processes (the real built executable) on one database:

  FAC_A_URL, FAC_B_URL   the two controllers
  FAC_API_KEY            their CONTROLLER_API_KEY
  FAC_SCREENSHOTS        folder for dashboard-empty.png and dashboard-busy.png (optional)

Checks, in one browser page opened on controller A and never reloaded:
  1. / without a session shows the sign-in form and nothing of the farm;
  2. signing in with the API key shows the (empty) dashboard and its live stream connects;
  3. a build submitted through controller B (another process) appears on the page without a reload;
  4. workers, assignments, a completed and a failed build appear the same way (the busy state);
  5. no token or key is in the page, and the browser reported no CSP violation or script error;
  6. signing out returns to the sign-in page.
"""

import io
import json
import os
import sys
import time
import urllib.error
import urllib.request
import uuid
import zipfile

from selenium import webdriver
from selenium.webdriver.chrome.options import Options
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import WebDriverWait

A = os.environ["FAC_A_URL"].rstrip("/")
B = os.environ["FAC_B_URL"].rstrip("/")
KEY = os.environ["FAC_API_KEY"]
SHOTS = os.environ.get("FAC_SCREENSHOTS")
SECRETS = [KEY]


def step(message):
    print(f"  - {message}", flush=True)


# ---------------------------------------------------------------- API client (what the CLI and workers do)

def call(base, method, path, headers=None, body=None, content_type=None):
    request = urllib.request.Request(base + path, method=method, data=body, headers=dict(headers or {}))
    if content_type:
        request.add_header("Content-Type", content_type)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def call_json(base, method, path, headers=None, payload=None):
    body = None if payload is None else json.dumps(payload).encode()
    status, data = call(base, method, path, headers, body, "application/json" if body is not None else None)
    assert 200 <= status < 300, f"{method} {path} answered {status}: {data[:200]!r}"
    return json.loads(data) if data else None


def multipart(fields, files):
    boundary = "----fac-browser-" + uuid.uuid4().hex
    out = io.BytesIO()
    for name, value in fields.items():
        out.write(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode())
    for name, (filename, data) in files.items():
        out.write(
            f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; filename="{filename}"\r\n'
            f"Content-Type: application/zip\r\n\r\n".encode())
        out.write(data)
        out.write(b"\r\n")
    out.write(f"--{boundary}--\r\n".encode())
    return out.getvalue(), f"multipart/form-data; boundary={boundary}"


def zip_of(files):
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, text in files.items():
            archive.writestr(name, text)
    return out.getvalue()


def submit(base, platform="ios"):
    source = zip_of({"package.json": '{"name":"browser-test"}', "App.js": "export default () => null\n"})
    body, content_type = multipart({"platform": platform}, {"source": ("project.tar.gz", source)})
    status, data = call(base, "POST", "/api/builds/submit", {"X-API-Key": KEY}, body, content_type)
    assert status == 200, f"submit answered {status}: {data[:200]!r}"
    reply = json.loads(data)
    SECRETS.append(reply["access_token"])
    return reply["id"]


def register(base, name):
    reply = call_json(base, "POST", "/api/workers/register", {"X-API-Key": KEY},
                      {"name": name, "capabilities": {"platforms": ["ios", "android"]}})
    SECRETS.append(reply["access_token"])
    return reply["id"], reply["access_token"]


def poll(base, token):
    reply = call_json(base, "GET", "/api/workers/poll", {"X-Worker-Token": token})
    SECRETS.append(reply["access_token"])
    if reply["job"]:
        SECRETS.append(reply["job"]["otp"])
    return reply["job"]


# ---------------------------------------------------------------- browser

def browser():
    options = Options()
    options.binary_location = os.environ.get("CHROMIUM_BINARY", "/usr/bin/chromium")
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1280,1000",
                     "--force-device-scale-factor=1", "--disable-gpu"):
        options.add_argument(argument)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    service = Service(os.environ.get("CHROMEDRIVER", "/usr/bin/chromedriver"))
    return webdriver.Chrome(service=service, options=options)


def wait_for(driver, predicate, what, timeout=15):
    try:
        WebDriverWait(driver, timeout, poll_frequency=0.1).until(lambda d: predicate(d))
    except Exception:
        raise AssertionError(f"timed out after {timeout}s waiting for: {what}")


def live_text(driver):
    return driver.find_element(By.ID, "live").text


def screenshot(driver, name):
    if not SHOTS:
        return
    os.makedirs(SHOTS, exist_ok=True)
    # The whole page, not only the window.
    height = driver.execute_script("return document.documentElement.scrollHeight")
    driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                           {"width": 1280, "height": max(600, min(height, 3000)), "deviceScaleFactor": 1,
                            "mobile": False})
    path = os.path.join(SHOTS, name)
    driver.save_screenshot(path)
    driver.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})
    step(f"screenshot {path}")


def main():
    driver = browser()
    try:
        # 1. No session: the sign-in form and nothing else.
        driver.get(A + "/")
        form = driver.find_element(By.CSS_SELECTOR, "form[action='/dashboard/sign-in']")
        assert driver.find_elements(By.ID, "live") == [], "the farm is shown before signing in"
        step("the sign-in page shows only the form")
        screenshot(driver, "dashboard-sign-in.png")

        # 2. Sign in.
        driver.find_element(By.ID, "api_key").send_keys(KEY)
        form.submit()
        wait_for(driver, EC.presence_of_element_located((By.ID, "live")), "the dashboard after sign-in")
        wait_for(driver, lambda d: d.find_element(By.ID, "live-status").text == "Live updates: on",
                 "the live stream to connect")
        assert "No builds waiting." in live_text(driver)
        cookie = driver.get_cookie("fac_session")
        assert cookie and cookie["httpOnly"] and cookie.get("sameSite") == "Strict", f"session cookie {cookie}"
        SECRETS.append(cookie["value"])
        step("signed in; the stream is live")
        screenshot(driver, "dashboard-empty.png")

        # A page that reloads loses this marker: proves every later change arrived live.
        driver.execute_script("window.__facNoReload = 'still-here'")

        # 3. A build submitted through the other process shows up.
        build = submit(B, "ios")
        wait_for(driver, lambda d: build in live_text(d), f"build {build} (submitted through B) on A's page")
        assert "Pending (1)" in live_text(driver)
        step(f"build {build}, submitted through controller B, appeared on controller A's page")

        # 4. The busy state: workers, an assignment, a completed and a failed build, and a queue.
        first, first_token = register(B, "mac-studio-1")
        register(A, "mac-mini-2")
        job = poll(B, first_token)
        assert job and job["id"] == build, f"poll gave {job}"
        result = zip_of({"Payload/App.app/Info.plist": "<plist/>"})
        body, content_type = multipart({"build_id": build, "success": "true"}, {"result": ("app.ipa", result)})
        status, data = call(B, "POST", "/api/workers/upload", {"X-Worker-Token": first_token}, body, content_type)
        assert status == 200, f"upload answered {status}: {data[:200]!r}"
        failing = submit(A, "android")
        job = poll(A, first_token)
        call_json(A, "POST", "/api/workers/fail", {"X-Worker-Token": first_token},
                  {"build_id": failing, "error": "Gradle task assembleRelease failed with exit code 1"})
        running = submit(B, "ios")
        job = poll(B, first_token)
        call_json(B, "POST", "/api/workers/heartbeat", {"X-Worker-Token": first_token}, {"build_id": running})
        waiting = [submit(A, "android"), submit(B, "ios")]
        wait_for(driver, lambda d: all(b in live_text(d) for b in [running, failing] + waiting)
                 and "building" in live_text(d) and "Pending (2)" in live_text(d),
                 "the busy state on the page")
        text = live_text(driver)
        for expected in ("completed", "failed", "building", "mac-studio-1", "mac-mini-2", "Gradle task assembleRelease"):
            assert expected in text, f"{expected!r} not on the page"
        assert driver.execute_script("return window.__facNoReload") == "still-here", "the page reloaded"
        step("workers, an active build, a completed and a failed build, and the queue appeared without a reload")
        screenshot(driver, "dashboard-busy.png")

        # 5. No secret in the page; no CSP violation or script error.
        source = driver.page_source
        for secret in SECRETS:
            assert secret not in source, "a token or key is in the page"
        # A CSP violation, a failed request or a script error is SEVERE.
        problems = [entry for entry in driver.get_log("browser") if entry["level"] == "SEVERE"]
        assert not problems, f"browser console: {problems}"
        step(f"none of {len(SECRETS)} secrets in the page; no console errors (CSP held)")

        # 6. Sign out.
        driver.find_element(By.CSS_SELECTOR, "form[action='/dashboard/sign-out'] button").click()
        wait_for(driver, EC.presence_of_element_located((By.CSS_SELECTOR, "form[action='/dashboard/sign-in']")),
                 "the sign-in page after sign-out")
        driver.get(A + "/")
        assert driver.find_elements(By.ID, "live") == [], "still signed in after sign-out"
        step("signed out")
    finally:
        driver.quit()


if __name__ == "__main__":
    started = time.monotonic()
    main()
    print(f"browser test passed in {time.monotonic() - started:.1f}s")
    sys.exit(0)
