"""Lists stay inside Discord's embed limits and say what they left out."""

from __future__ import annotations

from bot import embeds
from tracker.models import ActionItem


def test_long_lists_are_cut_at_whole_lines_with_a_count():
    lines = [f"line {i:03d} " + "x" * 40 for i in range(200)]
    text = embeds.lines_within(lines, 1024)
    kept = text.splitlines()
    assert len(text) <= 1024
    assert kept[-1] == f"…and {200 - (len(kept) - 1)} more"
    assert kept[:-1] == lines[: len(kept) - 1]


def test_short_lists_are_kept_whole():
    assert embeds.lines_within(["a", "b"], 10) == "a\nb"
    assert embeds.lines_within(["x" * 20], 10) == "…and 1 more"


def test_a_hundred_action_items_fit_one_embed():
    items = [ActionItem(id=i, owner_name=f"Owner {i}", task="Do the thing " * 20) for i in range(100)]
    embed = embeds.actions(items, "Open action items")
    assert len(embed.description) <= embeds.DESCRIPTION_LIMIT
    assert embed.description.endswith("more")
    assert len(embed) <= 6000  # Discord's limit for all of an embed's text
