"""The working group's home on the web: meetings, minutes, transcripts, items, wishes, projects and stats, served
live by aiohttp beside the calendar feed (`server.py`) and exported as a static site (`export.py`)."""
