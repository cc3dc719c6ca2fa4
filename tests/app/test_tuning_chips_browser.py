"""The Tuning lab at 1440x900: every chip of "Settings to vary" is readable whole (the second chip showed "Doc",
the rest scrolled out of the box, so the user could not tell which setting it was)."""

from __future__ import annotations

import pytest

# per chip of the multiselect: its text, whether it is cut (partly outside the box's visible part, or its text
# ellipsised), its width and the visible width
CHIPS_JS = """(label) => {
  const box = Array.from(document.querySelectorAll('[data-testid="stMultiSelect"]'))
    .find(b => b.innerText.includes(label));
  const shown = box.querySelector('[data-testid="stMultiSelectTagsContainer"]').getBoundingClientRect();
  return Array.from(box.querySelectorAll('[data-tag]')).map(tag => {
    const r = tag.getBoundingClientRect(), text = tag.querySelector('span');
    const cut = r.left < shown.left - 0.5 || r.right > shown.right + 0.5 || text.scrollWidth > text.clientWidth + 1;
    return [text.textContent.trim(), cut, Math.round(r.width), Math.round(shown.width)];
  });
}"""


@pytest.mark.browser
def test_every_setting_chip_is_readable_whole(app_url, page, output_dir):
    page.goto(f"{app_url}/tuning_lab")
    page.get_by_text("Settings to vary", exact=False).first.wait_for(timeout=240_000)
    page.locator('[data-testid="stMultiSelect"] [data-tag]').first.wait_for(timeout=120_000)
    page.wait_for_timeout(1000)
    page.screenshot(path=str(output_dir / "tuning_lab_chips.png"))
    chips = page.evaluate(CHIPS_JS, "Settings to vary")
    assert len(chips) == 2, chips  # the lab opens varying two settings
    assert not [text for text, cut, *_ in chips if cut], chips  # each chip whole inside the box, no ellipsis
    assert {text for text, *_ in chips} == {"Arms per round", "Documents per pull"}, chips
