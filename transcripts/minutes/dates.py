"""Turn spoken due dates ("by next Wednesday", "before the next meeting") into calendar dates, in code.

Language models cannot do date arithmetic, so the minutes never take a date from the model: the supporting transcript
text is searched for a date expression and resolved here, from the meeting date, by fixed rules:

- a bare weekday ("Friday", "by Friday", "on Friday", "this Friday") is the first such day *after* the meeting date;
- "next <weekday>" (and "<weekday> next week") is that day in the calendar week (Monday to Sunday) after the meeting's
  week — said on a Thursday, "next Friday" is eight days later, not tomorrow;
- "by X" / "until X" / "on X" mean X; "before X" means the day before X (strictly before) for a single day;
- "this week" / "end of the week" is the Friday of the meeting's week; "next week" the Friday of the next week, but
  "by next week" its Monday; "end of the month" the month's last day;
- "the next meeting" / "next call" / "by next time" / "before we meet again" is the next meeting date (default: one
  week after this one);
- "in three days", "in two weeks", "a week from now": simple offsets; "December 5th", "the 5th of December":
  that day's occurrence nearest the meeting, if not in the past; "the 15th": the next 15th; "2026-12-05" as it is.
- a date before the meeting is history ("merged on November 2nd"), never a due date.
"""

from __future__ import annotations

import calendar
import datetime as dt
import re
from dataclasses import dataclass

WEEKDAYS = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]
MONTHS = [m.lower() for m in calendar.month_name[1:]]
_MONTH_ABBR = {m[:3]: i + 1 for i, m in enumerate(MONTHS)} | {"sept": 9}
_NUMBER_WORDS = {
    "a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8,
    "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "fourteen": 14, "couple of": 2, "a couple of": 2,
    "few": 3, "a few": 3,
}  # fmt: skip
_ORDINAL_WORDS = {
    "first": 1, "second": 2, "third": 3, "fourth": 4, "fifth": 5, "sixth": 6, "seventh": 7, "eighth": 8,
    "ninth": 9, "tenth": 10, "eleventh": 11, "twelfth": 12, "thirteenth": 13, "fourteenth": 14, "fifteenth": 15,
    "sixteenth": 16, "seventeenth": 17, "eighteenth": 18, "nineteenth": 19, "twentieth": 20,
    "twenty-first": 21, "twenty first": 21, "twenty-second": 22, "twenty second": 22, "twenty-third": 23,
    "twenty third": 23, "twenty-fourth": 24, "twenty fourth": 24, "twenty-fifth": 25, "twenty fifth": 25,
    "twenty-sixth": 26, "twenty sixth": 26, "twenty-seventh": 27, "twenty seventh": 27, "twenty-eighth": 28,
    "twenty eighth": 28, "twenty-ninth": 29, "twenty ninth": 29, "thirtieth": 30, "thirty-first": 31,
    "thirty first": 31,
}  # fmt: skip

_WD = "|".join(WEEKDAYS)
_MON = "|".join(MONTHS + sorted(_MONTH_ABBR, key=len, reverse=True))
_NUM = r"\d{1,3}|" + "|".join(sorted((re.escape(k) for k in _NUMBER_WORDS), key=len, reverse=True))
_ORD_WORDS = "|".join(sorted((re.escape(k) for k in _ORDINAL_WORDS), key=len, reverse=True))
_DAY = rf"(?:\d{{1,2}}(?:st|nd|rd|th)?|{_ORD_WORDS})"
# The preposition decides "by X" (X) against "before X" (the day before X); it is optional.
_PREP = (
    r"(?:(?P<prep>by|before|until|till|til|on|for|due|no later than|not later than|prior to|ahead of|in time for)"
    r"\s+)?"
)
_THE = r"(?:the\s+|our\s+|this\s+coming\s+|the\s+coming\s+|coming\s+|this\s+)?"


@dataclass(frozen=True, slots=True)
class DueDate:
    date: dt.date
    phrase: str  # the words that said it, as found in the text
    start: int  # character offsets of `phrase` in the searched text
    end: int
    explicit: bool  # introduced by by/before/until/due...: a deadline, not just a mentioned day


def _after_weekday(day: dt.date, weekday: int) -> dt.date:
    """The first `weekday` strictly after `day`."""
    return day + dt.timedelta(days=(weekday - day.weekday() - 1) % 7 + 1)


def _week_monday(day: dt.date) -> dt.date:
    return day - dt.timedelta(days=day.weekday())


def _next_week_day(day: dt.date, weekday: int) -> dt.date:
    return _week_monday(day) + dt.timedelta(days=7 + weekday)


def _end_of_week(day: dt.date) -> dt.date:
    """The Friday of `day`'s week; on a weekend, that weekend's Sunday (the week is already over)."""
    friday = _week_monday(day) + dt.timedelta(days=4)
    return friday if day <= friday else _week_monday(day) + dt.timedelta(days=6)


def _month_end(year: int, month: int) -> dt.date:
    return dt.date(year, month, calendar.monthrange(year, month)[1])


def _add_months(day: dt.date, months: int) -> tuple[int, int]:
    index = day.year * 12 + day.month - 1 + months
    return index // 12, index % 12 + 1


def _number(text: str) -> int | None:
    text = text.strip().lower()
    if text.isdigit():
        return int(text)
    return _NUMBER_WORDS.get(text)


def _day_number(text: str) -> int | None:
    text = text.strip().lower()
    digits = re.match(r"(\d{1,2})", text)
    if digits:
        return int(digits.group(1))
    return _ORDINAL_WORDS.get(text)


def _month_number(text: str) -> int:
    text = text.lower().rstrip(".")
    if text in MONTHS:
        return MONTHS.index(text) + 1
    return _MONTH_ABBR[text[:4] if text.startswith("sept") else text[:3]]


def _next_month_day(meeting: dt.date, month: int, day: int) -> dt.date | None:
    """The occurrence of `month`/`day` closest to the meeting; None when that is in the past (history, not a due
    date: "merged on November 2nd" said on November 26) or no such date exists."""
    candidates = []
    for year in (meeting.year - 1, meeting.year, meeting.year + 1):
        try:
            candidates.append(dt.date(year, month, day))
        except ValueError:
            continue
    if not candidates:
        return None
    closest = min(candidates, key=lambda d: abs((d - meeting).days))
    return closest if closest >= meeting else None


def _next_day_of_month(meeting: dt.date, day: int) -> dt.date | None:
    for months in (0, 1, 2):
        year, month = _add_months(meeting, months)
        try:
            candidate = dt.date(year, month, day)
        except ValueError:
            continue
        if candidate >= meeting:
            return candidate
    return None


# Each rule: (compiled pattern, resolver(match, meeting, next_meeting) -> date | None, is_point_in_time).
# "before" moves a point in time one day earlier; periods ("end of the month") are deadlines already.
_Rule = tuple[re.Pattern[str], object, bool]


def _rx(body: str) -> re.Pattern[str]:
    return re.compile(rf"\b{_PREP}{body}\b", re.IGNORECASE)


_RULES: list[_Rule] = [
    (_rx(r"(?P<iso>\d{4}-\d{2}-\d{2})"), lambda m, d, n: dt.date.fromisoformat(m["iso"]), True),
    (
        _rx(rf"{_THE}(?P<day>{_DAY})\s+(?:of\s+)?(?P<month>{_MON})\.?(?:\s*,?\s*(?P<year>\d{{4}}))?"),
        lambda m, d, n: _explicit_date(d, m["month"], m["day"], m["year"]),
        True,
    ),
    (
        _rx(rf"(?P<month>{_MON})\.?\s+(?:the\s+)?(?P<day>{_DAY})(?:\s*,?\s*(?P<year>\d{{4}}))?"),
        lambda m, d, n: _explicit_date(d, m["month"], m["day"], m["year"]),
        True,
    ),
    (
        _rx(r"(?:the\s+)?day\s+after\s+tomorrow"),
        lambda m, d, n: d + dt.timedelta(days=2),
        True,
    ),
    (_rx(r"tomorrow"), lambda m, d, n: d + dt.timedelta(days=1), True),
    (
        _rx(r"(?:today|tonight|(?:the\s+)?end\s+of\s+(?:the\s+)?day|eod|this\s+evening|this\s+afternoon)"),
        lambda m, d, n: d,
        True,
    ),
    (
        _rx(rf"(?:(?:the\s+)?next\s+(?P<wd1>{_WD})|(?P<wd2>{_WD})\s+(?:of\s+)?next\s+week|(?P<wd3>{_WD})\s+week)"),
        lambda m, d, n: _next_week_day(d, WEEKDAYS.index((m["wd1"] or m["wd2"] or m["wd3"]).lower()))
        if not m["wd3"]
        else _after_weekday(d, WEEKDAYS.index(m["wd3"].lower())) + dt.timedelta(days=7),
        True,
    ),
    (
        _rx(rf"{_THE}(?P<wd>{_WD})"),
        lambda m, d, n: _after_weekday(d, WEEKDAYS.index(m["wd"].lower())),
        True,
    ),
    (
        _rx(
            r"(?:the\s+|our\s+)?(?:next|following)\s+"
            r"(?:(?:weekly\s+|team\s+|group\s+)?(?:meeting|call|sync|session|standup|stand-up|check-in))"
        ),
        lambda m, d, n: n or d + dt.timedelta(days=7),
        True,
    ),
    (
        _rx(r"(?:the\s+)?next\s+week'?s\s+(?:meeting|call|sync|session)"),
        lambda m, d, n: n or d + dt.timedelta(days=7),
        True,
    ),
    # "next time" is only a date with a preposition: "next time we should..." is a topic, not a deadline.
    (
        re.compile(r"\b(?P<prep>by|before|until|till|for)\s+(?:the\s+)?next\s+time\b", re.IGNORECASE),
        lambda m, d, n: n or d + dt.timedelta(days=7),
        True,
    ),
    # "before we meet again", "by the time we meet next": the next meeting, like "the next call".
    (
        re.compile(
            r"\b(?P<prep>by|before|until|till)\s+(?:the\s+time\s+)?(?:we|you\s+all|everyone)\s+"
            r"(?:next\s+)?(?:meet|talk|speak)(?:\s+again|\s+next)?\b",
            re.IGNORECASE,
        ),
        lambda m, d, n: n or d + dt.timedelta(days=7),
        True,
    ),
    (
        _rx(r"(?:the\s+)?(?:end\s+of\s+(?:the\s+)?next\s+week|next\s+week'?s\s+end)"),
        lambda m, d, n: _week_monday(d) + dt.timedelta(days=11),
        False,
    ),
    (
        _rx(r"(?:early\s+|the\s+start\s+of\s+|the\s+beginning\s+of\s+)next\s+week"),
        lambda m, d, n: _week_monday(d) + dt.timedelta(days=7),
        False,
    ),
    (
        _rx(r"(?:sometime\s+|some\s+time\s+|later\s+|during\s+)?next\s+week"),
        # "by next week" is when next week starts; "next week" alone is any day of it, so its Friday.
        lambda m, d, n: _week_monday(d) + dt.timedelta(days=7 if (m["prep"] or "").lower() in ("by", "before") else 11),
        False,
    ),
    (
        _rx(r"(?:the\s+)?(?:end\s+of\s+(?:the|this)\s+week|this\s+week|the\s+weekend|this\s+weekend)"),
        lambda m, d, n: _week_monday(d) + dt.timedelta(days=6) if "weekend" in m.group(0).lower() else _end_of_week(d),
        False,
    ),
    (
        _rx(r"(?:the\s+)?end\s+of\s+(?:the\s+)?next\s+month"),
        lambda m, d, n: _month_end(*_add_months(d, 1)),
        False,
    ),
    (
        # "next month" is any day of it (its last day); "by next month" is when it starts
        _rx(r"next\s+month"),
        lambda m, d, n: _month_end(*_add_months(d, 1))
        if (m["prep"] or "").lower() not in ("by", "before")
        else dt.date(*_add_months(d, 1), 1),
        False,
    ),
    (
        _rx(r"(?:the\s+)?end\s+of\s+(?:the|this)\s+month|this\s+month"),
        lambda m, d, n: _month_end(d.year, d.month),
        False,
    ),
    (
        re.compile(
            rf"\b(?:(?P<prep>in|within)\s+(?P<n>{_NUM})\s+(?P<unit>days?|weeks?)|"
            rf"(?P<n2>{_NUM})\s+(?P<unit2>days?|weeks?)\s+from\s+(?:now|today)|"
            rf"(?P<prep3>in|within)\s+a\s+fortnight)\b",
            re.IGNORECASE,
        ),
        lambda m, d, n: _offset(d, m),
        False,
    ),
    (
        # Digits only: "the first" / "the second" are far more often ordinary words than dates.
        _rx(rf"the\s+(?P<day>\d{{1,2}}(?:st|nd|rd|th))(?!\s+(?:of\s+)?(?:{_MON}))"),
        lambda m, d, n: _next_day_of_month(d, _day_number(m["day"]) or 0) if _day_number(m["day"]) else None,
        True,
    ),
]


def _explicit_date(meeting: dt.date, month: str, day: str, year: str | None) -> dt.date | None:
    number = _day_number(day)
    if not number:
        return None
    month_no = _month_number(month)
    if year:
        try:
            return dt.date(int(year), month_no, number)
        except ValueError:
            return None
    return _next_month_day(meeting, month_no, number)


def _offset(meeting: dt.date, m: re.Match[str]) -> dt.date | None:
    if m["prep3"]:
        return meeting + dt.timedelta(days=14)
    count = _number(m["n"] or m["n2"] or "")
    unit = (m["unit"] or m["unit2"] or "").lower()
    if count is None or count > 400:
        return None
    return meeting + dt.timedelta(days=count * (7 if unit.startswith("week") else 1))


def find_due_dates(text: str, meeting: dt.date, next_meeting: dt.date | None = None) -> list[DueDate]:
    """Every date expression in `text`, resolved from the meeting date, in reading order (no overlaps)."""
    found: list[DueDate] = []
    taken: list[tuple[int, int]] = []
    for pattern, resolve, point in _RULES:  # earlier rules are more specific and win overlaps
        for match in pattern.finditer(text):
            start, end = match.span()
            if any(start < e and s < end for s, e in taken):
                continue
            try:
                date = resolve(match, meeting, next_meeting)  # type: ignore[operator]
            except (ValueError, KeyError, OverflowError):
                date = None
            if date is None:
                continue
            groups = match.groupdict()
            prep = (groups.get("prep") or groups.get("prep3") or "").lower()
            if point and prep in ("before", "prior to", "ahead of", "in time for"):
                date -= dt.timedelta(days=1)
            if date < meeting:
                continue  # a "due" date in the past is a mention of history, not a deadline
            explicit = prep not in ("", "on", "in", "for") or point is False
            found.append(DueDate(date, match.group(0).strip(), start, end, explicit))
            taken.append((start, end))
    found.sort(key=lambda due: due.start)
    return found


def resolve_due(phrase: str, meeting: dt.date, next_meeting: dt.date | None = None) -> dt.date | None:
    """The date a single phrase ("by next Wednesday") names, or None."""
    found = find_due_dates(phrase, meeting, next_meeting)
    return found[0].date if found else None


def pick_due(
    texts: list[str], meeting: dt.date, next_meeting: dt.date | None = None, hint: str | None = None
) -> DueDate | None:
    """The due date stated in the supporting lines of an item.

    `hint` is the model's quote of the date words: it only chooses among dates actually present in `texts`
    (a quote that is not in the transcript is ignored). Otherwise a deadline ("by Friday") beats a mere mention
    ("on Friday"), and earlier lines (the commitment itself) beat later ones.
    """
    candidates: list[tuple[int, DueDate]] = []
    for index, text in enumerate(texts):
        candidates.extend((index, due) for due in find_due_dates(text, meeting, next_meeting))
    if not candidates:
        return None
    if hint:
        hinted = resolve_due(hint, meeting, next_meeting)
        for _, due in candidates:
            if hinted is not None and due.date == hinted:
                return due
    candidates.sort(key=lambda item: (not item[1].explicit, item[0], item[1].start))
    return candidates[0][1]
