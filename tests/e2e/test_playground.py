"""The playground page (`GET /`) and the eval-report routes.

Fast tests drive the ingress' FastAPI app in-process with no model behind it (static files, the
API-key exemption, report listing and path rejection). The slow test loads the page in a real
headless Chromium against a real `fpps serve --reports DIR` and saves a screenshot to
`tests/output/playground.png`.
"""

from __future__ import annotations

import json
import random
import shutil
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]
OUTPUT = REPO / "tests" / "output"
KEY = "playground-test-key"
# A 1x1 PNG, enough for the routes (the browser test uses real plots from build_report).
PNG = bytes.fromhex("89504e470d0a1a0a0000000d4948445200000001000000010806000000"
                    "1f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082")


def _fake_report(folder: Path) -> Path:
    folder.mkdir(parents=True)
    (folder / "report.json").write_text(json.dumps({
        "modes": {"off": {"P": 50.0}}, "sweep": [], "n_users": 2,
        "provenance": {"created": "2026-01-01T00:00:00Z", "artifact_id": "a1"}}))
    (folder / "report.md").write_text("# PFQABench report\n")
    (folder / "pareto.png").write_bytes(PNG)
    (folder / "answers.jsonl").write_text("{}\n")  # present in real reports, never served
    return folder


@pytest.fixture(scope="module")
def client(tmp_path_factory):
    """The ingress app with API keys on and a reports folder, without Ray or a model."""
    from fastapi.testclient import TestClient

    from fpps.server.http.config import ServerArgs
    from fpps.server.http.ingress import FppsIngress, _create_api

    reports = tmp_path_factory.mktemp("reports")
    _fake_report(reports / "run-1")
    (reports / "not-a-report").mkdir()
    args = ServerArgs(reports=str(reports), api_keys=[KEY],
                      database_url=f"sqlite:///{tmp_path_factory.mktemp('db') / 'memory.db'}")
    # The ingress' own __init__ (not Serve's replica wrapper) with no model handle behind it.
    cls = FppsIngress.func_or_class
    init = next(c.__dict__["__init__"] for c in cls.__mro__
                if "__init__" in c.__dict__ and c.__dict__["__init__"].__module__ == "fpps.server.http.ingress")
    ing = object.__new__(cls)
    init(ing, None, args)
    with TestClient(_create_api(ing)) as c:
        yield c


AUTH = {"Authorization": f"Bearer {KEY}"}


def test_page_and_static_files_need_no_api_key(client):
    page = client.get("/")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "/static/app.js" in page.text and "/static/style.css" in page.text
    for name, kind in [("app.js", "javascript"), ("style.css", "text/css"), ("sydney-history.json", "json")]:
        r = client.get(f"/static/{name}")
        assert r.status_code == 200 and kind in r.headers["content-type"], name
    assert client.get("/v1/reports").status_code == 401  # the data routes still need the key
    assert client.get("/static/..%2Fplayground.py").status_code in (401, 404)


def test_bundled_demo_history_matches_the_example_file(client):
    served = client.get("/static/sydney-history.json").json()
    assert served == json.loads((REPO / "examples" / "sydney-history.json").read_text())


def test_reports_are_listed_and_served_by_name(client):
    listing = client.get("/v1/reports", headers=AUTH).json()
    assert [r["name"] for r in listing["data"]] == ["run-1"] and listing["configured"] is True
    assert listing["data"][0]["plots"] == ["pareto.png"]
    one = client.get("/v1/reports/run-1", headers=AUTH).json()
    assert one["report"]["n_users"] == 2 and one["markdown"].startswith("# PFQABench")
    png = client.get("/v1/reports/run-1/plots/pareto.png", headers=AUTH)
    assert png.status_code == 200 and png.headers["content-type"] == "image/png" and png.content == PNG


@pytest.mark.parametrize("url,param", [
    ("/v1/reports/%2E%2E", "name"),
    ("/v1/reports/%2Fetc%2Fpasswd", "name"),
    ("/v1/reports//etc/passwd", "name"),
    ("/v1/reports/run-1%2F..", "name"),
    ("/v1/reports/run-1/plots/%2E%2E", "plot"),
    ("/v1/reports/run-1/plots/..%2F..%2Freport.json", "plot"),
    ("/v1/reports/run-1/plots/%2Fetc%2Fpasswd", "plot"),
])
def test_path_like_report_names_are_rejected_naming_the_field(client, url, param):
    r = client.get(url, headers=AUTH)
    assert r.status_code == 400, r.text
    assert r.json()["error"]["param"] == param


@pytest.mark.parametrize("url,param", [
    ("/v1/reports/not-a-report", "name"),
    ("/v1/reports/run-1/plots/report.json", "plot"),
    ("/v1/reports/run-1/plots/answers.jsonl", "plot"),
])
def test_names_outside_the_listing_are_404(client, url, param):
    r = client.get(url, headers=AUTH)
    assert r.status_code == 404 and r.json()["error"]["param"] == param


def test_static_files_are_package_data():
    tomllib = pytest.importorskip("tomllib")  # Python 3.11+
    cfg = tomllib.loads((REPO / "pyproject.toml").read_text())
    assert "static/*" in cfg["tool"]["setuptools"]["package-data"]["fpps.server.http"]
    from fpps.server.http.playground import STATIC_DIR

    assert {"index.html", "app.js", "style.css"} <= {p.name for p in STATIC_DIR.iterdir()}


# ---- the page in a real browser --------------------------------------------------------------

CHROMIUM = next(filter(None, map(shutil.which, ("chromium", "chromium-browser", "google-chrome"))), None)


def _synthetic_answers(users: int = 6) -> tuple[list[dict[str, Any]], list[bool]]:
    """Answers in `fpps eval`'s shape (off without history, four modes with), seeded verdicts."""
    rng = random.Random(0)
    answers, verdicts = [], []
    for u in range(users):
        for kind in ("factual", "personalized"):
            p_hat = round(rng.uniform(0.4, 0.9) if kind == "factual" else rng.uniform(0.0, 0.5), 3)
            rows = [dict(history=False, mode="off")] + [dict(history=True, mode=m)
                                                         for m in ("off", "hard", "soft", "mixed")]
            for row in rows:
                answers.append({"user_id": f"u{u}", "kind": kind, "strength": 1.0, "gamma": None,
                                "tau": None, "p_hat": p_hat if row["history"] else None,
                                "gate": "none" if row["mode"] == "off" else "hard", **row})
                verdicts.append(rng.random() < (0.8 if row["mode"] != "off" else 0.4))
    return answers, verdicts


@pytest.fixture(scope="module")
def playground_server(tmp_path_factory):
    """`fpps serve --reports DIR` (the conftest `Server`), with one real `fpps eval` report."""
    from fpps.eval.reports import build_report
    from tests.e2e.conftest import serve_for_module

    work = tmp_path_factory.mktemp("fpps-playground")
    answers, verdicts = _synthetic_answers()
    build_report(answers, verdicts, work / "reports" / "synthetic-eval", boot=50,
                 provenance={"model": "SmolLM2-135M-Instruct", "judge": "synthetic"})
    args: dict[str, Any] = {"database_url": f"sqlite:///{work / 'memory.db'}", "max_batch_size": 4,
                            "max_queue": 4, "default_max_tokens": 32, "request_timeout_s": 300,
                            "reports": str(work / "reports")}
    yield from serve_for_module(work, args)


@pytest.fixture(scope="module")
def browser():
    """Headless Debian Chromium through its chromedriver (no download: the machine is offline)."""
    if CHROMIUM is None:
        pytest.skip("chromium is not installed (apt-get install chromium chromium-driver)")
    driver_path = shutil.which("chromedriver")
    if driver_path is None:
        pytest.fail("chromium is installed but chromedriver is not (apt-get install chromium-driver)")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--window-size=1440,1000", "--disable-extensions", "--no-first-run"):
        opts.add_argument(arg)
    driver = webdriver.Chrome(service=Service(driver_path), options=opts)
    yield driver
    driver.quit()


def _text(driver: Any, element_id: str) -> str:
    return str(driver.find_element("id", element_id).text).strip()


@pytest.mark.slow
def test_compare_mixed_on_the_sydney_history_in_a_browser(playground_server, browser):
    from selenium.webdriver.support.ui import Select, WebDriverWait

    OUTPUT.mkdir(parents=True, exist_ok=True)
    d = browser
    d.get(playground_server.url + "/")
    wait = WebDriverWait(d, 60)
    wait.until(lambda d: "artifact" in _text(d, "model-info"))
    # The advanced fields are prefilled from the artifact's defaults (GET /v1/models).
    assert d.find_element("id", "gamma").get_attribute("value") != ""
    d.find_element("id", "load-demo").click()
    wait.until(lambda d: "Sydney" in d.find_element("id", "history").get_attribute("value"))
    Select(d.find_element("id", "mode")).select_by_visible_text("mixed")
    if not d.find_element("id", "compare").is_selected():
        d.find_element("id", "compare").click()
    tokens = d.find_element("id", "max-tokens")
    tokens.clear(), tokens.send_keys("32")
    d.find_element("id", "question").send_keys("What is the capital of Australia?")
    d.find_element("id", "ask").click()

    def finished(d: Any) -> bool:
        if d.find_element("id", "error").is_displayed():
            raise AssertionError("the page shows an API error: " + _text(d, "error"))
        return (d.find_element("id", "ask").is_enabled() and bool(_text(d, "answer-off"))
                and bool(_text(d, "answer-steered")) and _text(d, "gauge-value") not in ("", "–"))

    WebDriverWait(d, 600, poll_frequency=1).until(finished)
    d.save_screenshot(str(OUTPUT / "playground.png"))
    float(_text(d, "gauge-value"))  # a number, not "n/a"
    assert "tau" in _text(d, "gauge-detail")
    assert d.find_element("id", "gauge-tau").is_displayed()
    assert "gate" in _text(d, "diag-steered") and "3 session" in _text(d, "diag-steered")

    # An invalid request shows the API's own error message, naming the field.
    d.find_element("css selector", "details summary").click()
    tau = d.find_element("id", "tau")
    tau.clear(), tau.send_keys("2")
    d.find_element("id", "ask").click()
    wait.until(lambda d: d.find_element("id", "error").is_displayed())
    assert _text(d, "error").startswith("400:") and "fpps.tau" in _text(d, "error")
    d.find_element("id", "reset-advanced").click()

    # The token-probability toggle: both answers as tokens shaded by probability, streamed.
    d.find_element("id", "probs").click()
    d.find_element("id", "ask").click()
    WebDriverWait(d, 600, poll_frequency=1).until(
        lambda d: d.find_element("id", "ask").is_enabled() and d.find_elements("css selector", "#answer-off .tok")
        and d.find_elements("css selector", "#answer-steered .tok"))
    assert not d.find_element("id", "error").is_displayed()
    tok = d.find_element("css selector", "#answer-steered .tok")
    assert "%" in tok.get_attribute("title") and len(tok.get_attribute("title").splitlines()) == 4  # + top 3
    d.save_screenshot(str(OUTPUT / "playground-probs.png"))
    d.find_element("id", "probs").click()

    # Without compare and stream: one steered answer from the JSON response, gauge included.
    d.find_element("id", "compare").click(), d.find_element("id", "stream").click()
    d.find_element("id", "ask").click()
    WebDriverWait(d, 600, poll_frequency=1).until(
        lambda d: d.find_element("id", "ask").is_enabled() and bool(_text(d, "answer-steered")))
    assert not d.find_element("id", "pane-off").is_displayed()
    assert not d.find_element("id", "error").is_displayed()
    float(_text(d, "gauge-value"))

    # The results view lists the report folder and renders its tables and plots.
    d.find_element("css selector", ".tab[data-tab='reports']").click()
    wait.until(lambda d: d.find_elements("css selector", "[data-report='synthetic-eval']"))
    d.find_element("css selector", "[data-report='synthetic-eval']").click()
    wait.until(lambda d: len(d.find_elements("css selector", "#modes-table tr")) == 5)  # head + 4 modes
    wait.until(lambda d: len(d.find_elements("css selector", "#plots img")) == 2 and all(
        d.execute_script("return arguments[0].naturalWidth", img) > 0
        for img in d.find_elements("css selector", "#plots img")))
    d.save_screenshot(str(OUTPUT / "playground-reports.png"))
