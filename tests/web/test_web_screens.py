"""The UI on every screen (390 px phones, 768 px tablets, wide monitors), the waiting
question where a person looks first, numbers that lead to their list, the run tree, the
transcript, and tab titles that name the page's subject."""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect
from web_seed import Seed
from web_support import screenshot

from conftest import PageProblems, new_page

pytestmark = pytest.mark.browser

PHONE = {"width": 390, "height": 844}
TABLET = {"width": 768, "height": 1024}
WIDE = {"width": 1440, "height": 900}

# Any element wider than the viewport or reaching past its right edge, unless it sits in a
# box of its own that scrolls sideways (a wide table in .table-scroll).
TOO_WIDE = """() => {
  const width = window.innerWidth;
  const scrollsInOwnBox = (el) => {
    for (let p = el.parentElement; p && p !== document.documentElement; p = p.parentElement) {
      const overflow = getComputedStyle(p).overflowX;
      if (overflow === "auto" || overflow === "scroll") return true;
    }
    return false;
  };
  const name = (el) => {
    const cls = typeof el.className === "string" ? el.className.trim() : "";
    return el.tagName.toLowerCase() + (cls ? "." + cls.split(/\\s+/).join(".") : "");
  };
  const wide = [];
  for (const el of document.body.querySelectorAll("*")) {
    const box = el.getBoundingClientRect();
    if (box.width === 0 || box.height === 0) continue;
    if ((box.right > width + 1 || box.width > width + 1) && !scrollsInOwnBox(el)) {
      wide.push(`${name(el)} ${Math.round(box.left)}..${Math.round(box.right)}`);
    }
  }
  return {scrollWidth: document.documentElement.scrollWidth, innerWidth: width, wide};
}"""


def views(seed: Seed) -> list[tuple[str, str, str]]:
    """(name, path, a selector that shows the view has its data) for every view."""
    run = seed.sid("foxtrot-run1")
    return [
        ("dashboard", "/", ".attention-card"),
        ("sessions", "/sessions", "tbody tr"),
        (
            "session",
            f"/sessions/{seed.main_session}?run={seed.main_run}&span={seed.main_run}-span2",
            ".span-detail",
        ),
        ("session-tree", f"/sessions/{seed.sid('foxtrot')}?run={run}", ".wf-row"),
        ("session-waiting", f"/sessions/{seed.sid('bravo')}", ".waiting-question"),
        ("transcript", f"/sessions/{seed.main_session}?tab=transcript", ".turn-steps"),
        ("agents", "/agents", ".roster .agent-card"),
        ("errors", "/errors", ".error-group"),
        ("openclaw", "/openclaw", "article.vm-card"),
        ("alerts", "/alerts", ".alert-item"),
    ]


def assert_fits(page: Page, what: str) -> None:
    found = page.evaluate(TOO_WIDE)
    assert found["scrollWidth"] <= found["innerWidth"], f"{what} scrolls sideways: {found}"
    assert found["wide"] == [], f"{what}: elements wider than the screen: {found['wide']}"


# a frame for what a change of colour scheme redraws (the charts rebuild on its event)
NEXT_FRAME = "() => new Promise(done => requestAnimationFrame(() => requestAnimationFrame(done)))"


@pytest.mark.parametrize(
    ("viewport", "schemes"),
    [
        (PHONE, {"light": "390", "dark": "390-dark"}),
        (TABLET, {"light": None}),
        (WIDE, {"light": "1440", "dark": "1440-dark"}),
    ],
    ids=["390px", "768px", "1440px"],
)
def test_every_view_fits_the_screen(
    browser: Browser,
    problems: PageProblems,
    embedded_server: Any,
    seeded: Seed,
    viewport: dict[str, int],
    schemes: dict[str, str | None],
) -> None:
    """No view is wider than the screen, in either colour scheme; screenshots of each for a
    person to look at. Each view is loaded once per width, then seen in each scheme."""
    page = new_page(browser, problems, "light", viewport)
    try:
        for name, path, ready in views(seeded):
            page.emulate_media(color_scheme="light")
            page.goto(embedded_server.ui_url + path)
            expect(page.locator(ready).first).to_be_visible()
            page.wait_for_load_state("networkidle")
            for scheme, suffix in schemes.items():
                page.emulate_media(color_scheme=scheme)
                page.evaluate(NEXT_FRAME)
                assert_fits(page, f"{name} at {viewport['width']} px ({scheme})")
                if suffix:
                    screenshot(page, f"{name}-{suffix}")
    finally:
        page.context.close()
    problems.check()


def test_an_empty_store_fits_and_says_so(
    browser: Browser, problems: PageProblems, empty_server: Any
) -> None:
    server = empty_server
    for scheme, viewport, suffix in (("light", WIDE, "1440"), ("dark", PHONE, "390-dark")):
        page = new_page(browser, problems, scheme, viewport)
        try:
            for name, path, text in (
                ("dashboard", "/", "Nothing needs you: in the last 24h"),
                ("sessions", "/sessions", "No sessions yet."),
                ("agents", "/agents", "No agent has reported in this window."),
                ("errors", "/errors", "No error in the last 24h."),
                ("openclaw", "/openclaw", "No OpenClaw VM has reported yet"),
                ("alerts", "/alerts", "No alert yet."),
            ):
                page.goto(server.ui_url + path)
                expect(page.get_by_text(text).first).to_be_visible()
                if name == "dashboard":
                    expect(page.locator(".activity")).to_contain_text("Nothing in the last 24h")
                if name in ("dashboard", "agents"):  # how to make agents report
                    hint = page.locator(".setup-hint")
                    expect(hint).to_contain_text("agentmon hooks install claude-code")
                    expect(hint).to_contain_text("port 4318")
                page.wait_for_load_state("networkidle")
                assert_fits(page, f"empty {name} at {viewport['width']} px")
                screenshot(page, f"empty-{name}-{suffix}")
        finally:
            page.context.close()
    problems.check()


def test_the_waiting_question_is_shown(page: Page, embedded_server: Any, seeded: Seed) -> None:
    page.goto(embedded_server.ui_url + "/")
    card = page.locator(".attention-card", has_text="Migrate the build to uv")
    expect(card.locator(".attention-question")).to_have_text("Allow `rm -rf build/`?")
    expect(card).to_contain_text("permission prompt · waiting since")
    expect(page.locator(".attention-card", has_text="Nightly dependency bumps")).to_contain_text(
        "Merge 4 pull requests?"
    )
    card.click()
    expect(page).to_have_url(re.compile(rf"/sessions/{seeded.sid('bravo')}$"))
    expect(page.locator(".callout.warn .waiting-question")).to_contain_text(
        "It asks: Allow `rm -rf build/`?"
    )
    expect(page.locator(".tabs-meta")).to_have_text("1 run · updating live")


@pytest.mark.parametrize(
    ("name", "badge"), [("charlie", "failed"), ("foxtrot", "ended"), ("alpha", "active")]
)
def test_only_a_working_session_says_it_updates_live(
    page: Page, embedded_server: Any, seeded: Seed, name: str, badge: str
) -> None:
    page.goto(f"{embedded_server.ui_url}/sessions/{seeded.sid(name)}")
    expect(page.locator(".session-head h1 .badge")).to_have_text(badge)
    meta = page.locator(".tabs-meta")
    if badge == "active":
        expect(meta).to_contain_text("updating live")
    else:
        expect(meta).not_to_contain_text("live")


def test_numbers_lead_to_their_list(page: Page, embedded_server: Any, seeded: Seed) -> None:
    page.goto(embedded_server.ui_url + "/")
    page.locator(".stat-cards").get_by_role("link", name=re.compile(r"^Sessions \d")).click()
    expect(page).to_have_url(re.compile(r"/sessions\?from=\d{4}-\d\d-\d\dT00%3A00%3A00"))
    expect(page.locator("input[name=from]")).not_to_have_value("")
    page.go_back()

    page.locator(".bars").get_by_role("link", name="codex", exact=True).click()
    expect(page).to_have_url(re.compile(r"/sessions\?framework=codex&from="))
    expect(page.locator("tbody tr", has_text=seeded.sid("bravo"))).to_have_count(1)
    page.go_back()

    page.locator(".stat-card").get_by_role("link", name=re.compile(r"waiting for a human")).click()
    expect(page).to_have_url(re.compile(r"/sessions\?status=waiting$"))
    page.go_back()

    page.locator(".attention-head").get_by_role("link", name=re.compile(r"failed$")).click()
    expect(page).to_have_url(re.compile(r"/sessions\?status=error$"))
    expect(page.locator("select[name=status]")).to_have_value("error")
    expect(page.locator("select[name=status] option:checked")).to_have_text("failed")
    expect(page).to_have_title(re.compile(r"Sessions: failed · agentmon$"))


def test_charts_keep_errors_apart_and_mark_the_current_bucket(
    page: Page, embedded_server: Any, seeded: Seed
) -> None:
    page.goto(embedded_server.ui_url + "/?range=1h")
    activity = page.locator(".activity")
    expect(activity.locator(".chart")).to_have_count(2)
    expect(activity.locator(".chart").first.locator(".u-legend")).not_to_contain_text("errors")
    expect(activity.locator(".chart-below .u-legend")).to_contain_text("errors")
    expect(activity.locator(".partial-note")).to_contain_text("The current 1 min (since")
    expect(activity.locator(".partial-note")).to_contain_text("is still filling and not drawn")
    expect(page.locator(".panel", has_text="By framework")).to_contain_text("today (UTC)")


def test_the_waterfall_nests_sub_agent_spans(
    page: Page, embedded_server: Any, seeded: Seed
) -> None:
    run = seeded.sid("foxtrot-run1")
    page.goto(f"{embedded_server.ui_url}/sessions/{seeded.sid('foxtrot')}?run={run}")
    rows = page.locator(".waterfall .wf-row")
    expect(rows.locator(".wf-name")).to_have_text([name for name, _ in Seed.TREE_SPANS])
    indents = [
        float(
            rows.nth(i)
            .locator(".wf-name")
            .evaluate("(el) => parseFloat(getComputedStyle(el).paddingLeft)")
        )
        for i in range(len(Seed.TREE_SPANS))
    ]
    depths = [depth for _, depth in Seed.TREE_SPANS]
    indent_of = dict(zip(depths, indents, strict=True))
    assert [indent_of[d] for d in depths] == indents, (indents, depths)
    assert indent_of[0] < indent_of[1], indent_of
    # Tokens and cost on the model calls that report them.
    expect(rows.nth(0).locator(".wf-usage")).to_have_text("8.9K tok · $0.19")
    expect(rows.nth(2).locator(".wf-usage")).to_have_text("5.8K tok · not priced")
    expect(rows.nth(3).locator(".wf-usage")).to_have_text("")
    legend = page.locator(".wf-legend")
    for text in ("model call", "tool call", "agent / sub-agent", "failed", "running"):
        expect(legend).to_contain_text(text)
    screenshot(page, "session-tree")

    # The sub-agent's subtree folds away and comes back.
    toggle = page.get_by_role("button", name="Hide the 3 spans called by Task: review the diff")
    toggle.click()
    expect(rows.locator(".wf-name")).to_have_text(
        ["claude-opus-4", re.compile(r"^Task: review the diff\s*\+3$"), "Bash"]
    )
    page.get_by_role("button", name="Show the 3 spans called by Task: review the diff").click()
    expect(rows).to_have_count(len(Seed.TREE_SPANS))
    # And from the keyboard: ← folds the focused span's subtree, → unfolds it.
    rows.nth(1).focus()
    page.keyboard.press("ArrowLeft")
    expect(rows).to_have_count(3)
    expect(rows.nth(1)).to_be_focused()
    page.keyboard.press("ArrowRight")
    expect(rows).to_have_count(len(Seed.TREE_SPANS))

    # A span's detail opens right under its row, before the next row.
    rows.nth(3).click()
    detail = page.locator(".span-detail")
    expect(detail.locator("h3")).to_contain_text("Grep")
    grep = rows.nth(3).bounding_box()
    box = detail.bounding_box()
    following = rows.nth(4).bounding_box()
    assert grep and box and following
    assert grep["y"] + grep["height"] <= box["y"] < following["y"]
    rows.nth(0).click()
    expect(page.locator(".span-detail dl")).to_contain_text("8,900 (8,000 in, 900 out)")
    expect(page.locator(".span-detail dl")).to_contain_text("$0.19")


def test_the_transcript_reads_in_order(page: Page, embedded_server: Any, seeded: Seed) -> None:
    page.goto(f"{embedded_server.ui_url}/sessions/{seeded.sid('foxtrot')}")
    page.get_by_role("tab", name="Transcript").click()
    expect(page).to_have_url(re.compile(r"\?tab=transcript$"))
    turn = page.locator(".turn").first
    expect(turn.locator(".step.user")).to_contain_text("Review the diff for the release.")
    steps = turn.locator(".turn-steps > .step .step-name")
    expect(steps).to_have_text(
        ["claude-opus-4", "Task: review the diff", "claude-haiku-4", "Grep", "Read", "Bash"]
    )
    expect(turn.locator(".step.llm").first).to_contain_text(
        "claude-opus-4 says: the diff looks fine."
    )
    grep = turn.locator(".step.tool", has_text="Grep")
    expect(grep).to_contain_text('{"pattern":"TODO"}')
    expect(grep).to_contain_text('{"matches":3}')
    expect(turn.locator(".step.answer")).to_contain_text("The diff is ready to ship.")
    # Failed steps of another session say so, with the error.
    page.goto(f"{embedded_server.ui_url}/sessions/{seeded.main_session}?tab=transcript")
    edit = page.locator(".step.tool", has_text="Edit")
    expect(edit.locator(".badge")).to_have_text("failed")
    expect(edit).to_contain_text("old_string not found in src/login.py")


def test_tab_titles_name_the_subject(page: Page, embedded_server: Any, seeded: Seed) -> None:
    page.goto(f"{embedded_server.ui_url}/sessions/{seeded.sid('foxtrot')}")
    expect(page).to_have_title(
        re.compile(r"^(\(\d+ waiting\) )?Session Review the release diff · agentmon$")
    )
    page.get_by_role("link", name="Sessions", exact=True).first.click()
    expect(page).to_have_title(re.compile(r"^(\(\d+ waiting\) )?Sessions · agentmon$"))
    page.goto(embedded_server.ui_url + "/sessions?framework=codex&status=waiting")
    expect(page).to_have_title(re.compile(r"Sessions: waiting for a human, codex · agentmon$"))
