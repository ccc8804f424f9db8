"""Escaping what people said or typed before wgbot publishes it: one place for GitHub, Discourse and Discord.

Names, topics, tasks, transcript lines and the minutes written from them are the users' text. Published raw, they
could format the page, link or ping people (`@login`, `@everyone`, `<@id>`), or carry wgbot's hidden marker and make
the publisher adopt someone else's post. Escaped, they render as the same characters and do none of that:

- `markdown` (GitHub, Discourse; CommonMark): `& < >` become entities (so no HTML and no `<!-- … -->` can appear in
  the raw text), the inline markup characters get a backslash, so do block markers at the start of a line.
- `discord` (Discord's Markdown, no HTML entities): backslashes only.
- Both put a zero-width space after every `@`, so no mention is recognized; it is invisible when rendered.
"""

from __future__ import annotations

import re

__all__ = ["ZERO_WIDTH_SPACE", "discord", "markdown", "no_mentions"]

ZERO_WIDTH_SPACE = "\u200b"

_INLINE = re.compile(r"([\\`*_\[\]|~])")
_BLOCK_START = re.compile(r"(?m)^(\s*)(#|[-+=](?=\s|$))")
_NUMBERED = re.compile(r"(?m)^(\s*\d+)([.)])(?=\s|$)")  # "1. " starts a list: the dot is escaped
_DISCORD_INLINE = re.compile(r"([\\`*_\[\]|~<>])")
_DISCORD_BLOCK_START = re.compile(r"(?m)^(\s*)(#|[-+](?=\s))")


def no_mentions(text: str) -> str:
    """`@` followed by anything but a space gets a zero-width space: no @user, @everyone, @here, <@id> mention."""
    return re.sub(r"@(?=[^\s\u200b])", "@" + ZERO_WIDTH_SPACE, text)


def markdown(text: str) -> str:
    """User text for a GitHub or Discourse body (CommonMark with HTML)."""
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    text = _INLINE.sub(r"\\\1", text)
    text = _BLOCK_START.sub(r"\1\\\2", text)
    text = _NUMBERED.sub(r"\1\\\2", text)
    return no_mentions(text)


def discord(text: str) -> str:
    """User text for a Discord message (its Markdown; mentions are also off through `allowed_mentions`)."""
    text = _DISCORD_INLINE.sub(r"\\\1", text)
    text = _DISCORD_BLOCK_START.sub(r"\1\\\2", text)
    text = _NUMBERED.sub(r"\1\\\2", text)
    return no_mentions(text)
