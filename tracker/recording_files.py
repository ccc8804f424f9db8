"""The names of the files wgbot keeps in a recording folder beside the audio (one place for every module that
writes, reads or deletes them)."""

LIVE_SEGMENTS = "transcript.live.jsonl"  # the live transcriber's final segments, a line each, as they come
LIVE_TRANSCRIPT = "transcript.live.json"  # written by the live transcriber when the call ends (tracker/live.py)
# The summary model's answers (transcripts/answer_cache.py): read ahead during the call, and kept by the summarize
# step itself, so that a summarize step resumed after a crash does not ask again what it had asked.
MINUTES_CACHE = "minutes.cache.jsonl"
OPTED_OUT = "opted_out.json"  # who opted out during the meeting (tracker/optout.py)
DELETED_MARKER = "audio_deleted.json"  # when and which files retention deleted (tracker/retention.py)
