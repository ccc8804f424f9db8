"""Publishing a meeting to the outside world, exactly once, from the outbox (`publication` rows).

- `outbox`: enqueue rows, the `Publisher` that drains them (retries, backoff, ordering), `status()`
- `handlers`: what each kind of row means (GitHub issue, wish-list issue or comment, archive, forum post, Discord)
- `github`, `forum`, `discord_rest`: the clients; `texts`: what is published; `sync`: issue state flowing back
- `service`: the same publisher in the bot's background
"""

from tracker.publishing.errors import PermanentError, PublishError, RetryLater
from tracker.publishing.lock import PublisherBusy
from tracker.publishing.outbox import DrainReport, Publisher, RetryPolicy, enqueue, republish, retry_failed, status
from tracker.publishing.sync import SyncReport, sync_issue_states

__all__ = [
    "DrainReport",
    "PermanentError",
    "PublishError",
    "Publisher",
    "PublisherBusy",
    "RetryLater",
    "RetryPolicy",
    "SyncReport",
    "enqueue",
    "republish",
    "retry_failed",
    "status",
    "sync_issue_states",
]
