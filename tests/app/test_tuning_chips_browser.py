"""The Tuning lab at 1440x900: every chip of "Settings to vary" is readable whole (two chips were cut to
"Arms per ro…" and "Documents…", so the user could not tell which setting a chip was)."""

from __future__ import annotations

import pytest

# per chip of the multiselect: its text and whether the text is cut (its box narrower than the text)
CHIPS_JS = """(label) => {
  const box = Array.from(document.querySelectorAll('[data-testid="stMultiSelect"]'))
    .find(b => b.innerText.includes(label));
  return Array.from(box.querySelectorAll('[data-baseweb="tag"]')).map(tag => {
    const cut = Array.from(tag.querySelectorAll('*')).concat([tag])
      .some(e => e.scrollWidth > e.clientWidth + 1 && getComputedStyle(e).textOverflow === 'ellipsis');
    return [tag.innerText.trim(), cut];
  });
}"""


@pytest.mark.browser
def test_every_setting_chip_is_readable_whole(app_url, page, output_dir):
    page.goto(f"{app_url}/tuning_lab")
    page.get_by_text("Settings to vary", exact=False).first.wait_for(timeout=240_000)
    page.locator('[data-testid="stMultiSelect"] [data-baseweb="tag"]').first.wait_for(timeout=120_000)
    page.wait_for_timeout(1000)
    page.screenshot(path=str(output_dir / "tuning_lab_chips.png"))
    chips = page.evaluate(CHIPS_JS, "Settings to vary")
    assert len(chips) == 2, chips  # the lab opens varying two settings
    assert not [text for text, cut in chips if cut], chips
    assert {text for text, _ in chips} == {"Arms per round", "Documents per pull"}, chips
