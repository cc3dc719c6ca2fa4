"""Everything a link carries is data: Markdown and HTML in any link parameter show as text, never as a link or
an element, and a value that cannot be restored is named in the warning, never silently replaced.

Replays issue #27's probe: ``?q=[Click to verify your account](http://evil.example/login)`` showed a
working link in the search heading.
"""

from __future__ import annotations

import re
from urllib.parse import urlencode

import pytest

from pages._lib.links import PAGE_PARAMS, page_params, restore_link

PAYLOAD = ("[Click to verify](http://evil.example/login) <img src=x id=injected> **boldpayload** "
           ":red[redpayload] :material/warning: $x^2$ www.evil.example")
#: a page's URL path -> a real element to wait for once it has drawn
PAGES = {"": "Nearest documents to", "bandit": "could not restore", "ctar_generator": "could not restore",
         "debiasing_lab": "could not restore", "tour": "could not restore"}
#: values that looked valid to a careless parser: each must be refused and named
TAMPERED = {"tour": {"step": ["99999999999999999999", "-1", "1.5"]},
            "ctar_generator": {"noise_sigma": ["nan", "inf", "-1e400"], "n_users": ["-5", "1e3"]},
            "debiasing_lab": {"strength": ["nan"]}}


def test_every_link_parameter_is_known_to_the_payload_test() -> None:
    assert set(PAGE_PARAMS) - {"corpus_map"} == set(PAGES), "a page with link parameters needs a payload run here"


@pytest.mark.parametrize("page, name, text", [(p, n, t) for p, by in TAMPERED.items() for n, ts in by.items()
                                              for t in ts])
def test_a_tampered_value_is_named_not_replaced(page, name, text) -> None:
    values, problems = restore_link(page, {name: text})
    assert values == {}, f"{name}={text!r} was restored as {values}"
    assert any(p.startswith(f"{name} {text!r}") for p in problems), problems


def _url(base: str, page: str) -> str:
    return f"{base}/{page}?" + urlencode({p.name: PAYLOAD for p in page_params(page)})


@pytest.mark.browser
@pytest.mark.parametrize("page", sorted(PAGES))
def test_payloads_in_every_parameter_show_as_text(page, app_url, _browser, output_dir) -> None:
    ctx = _browser.new_context(viewport={"width": 1440, "height": 900})
    tab = ctx.new_page()
    try:
        tab.goto(_url(app_url, page))
        tab.get_by_text(PAGES[page]).first.wait_for(timeout=180_000)
        tab.wait_for_timeout(1500)  # late fragments
        tab.screenshot(path=str(output_dir / f"link_payload_{page or 'corpus_map'}.png"))
        main = tab.locator("[data-testid='stMain']")
        links = main.locator("a[href*='evil.example'], a[href^='javascript']")
        assert links.count() == 0, "a link's text became a link"
        assert tab.locator("#injected, img[src='x']").count() == 0, "a link's text became an element"
        assert main.locator("strong", has_text=re.compile("^boldpayload$")).count() == 0, "a link's text became bold"
        assert main.locator("span", has_text=re.compile("^redpayload$")).count() == 0, "a link's text became red"
        assert main.locator(".katex").count() == 0, "a link's text became a formula"
        assert "Click to verify" in main.inner_text(), "the payload should show, as text"
        warning = tab.locator("[data-testid='stAlert']").filter(has_text="could not restore")
        # q is free text (it is searched); color names a column, checked against the corpus by the page itself
        refused = [p.name for p in page_params(page) if p.name not in ("q", "color")]
        if refused:
            text = warning.first.inner_text()
            missing = [n for n in refused if f"{n} '" not in text]
            assert missing == [], f"not named in the warning: {missing}"
    finally:
        ctx.close()
