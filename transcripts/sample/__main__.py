"""Regenerate the sample meeting's tracks: `python -m transcripts.sample`."""

from transcripts.sample import FOLDER, build

meeting = build()
print(f"wrote {len(meeting.tracks)} tracks ({meeting.duration:.0f} s) and {meeting.manifest} into {FOLDER}")
