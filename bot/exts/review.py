"""Review mode in Discord: the organizers see a meeting's action items and wishes before anything is filed.

When a meeting is held for review (tracker/review.py), a message in the text channel mentions the organizer role and
lists the items, with
- a select "Change an owner or due date…": picking an action item opens a modal (owner, due date);
- a select "Drop an item…": the chosen items are dropped (choosing a dropped item again keeps it after all);
- a button "File all": the items still kept are filed, as edited; the archive, forum post and minutes follow.
If nobody decides by the deadline, the meeting's default applies (file them all as they are, or drop them all).

The components have fixed custom ids and the view is registered with `bot.add_view` at start, so the buttons keep
working after a restart; the message itself says which meeting it is about (`Meeting.review_message_id`). Only
organizers (bot/checks.py) may use them. The message is posted and, once the review is over however it ended,
closed (components removed) from the status watcher's view of the database (bot/pipeline_status.py), so a review
that ends in another process (`wgbot publish`, a worker) is shown too.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from typing import TYPE_CHECKING

import discord
from discord.ext import commands, tasks
from discord.utils import format_dt

from bot.checks import NotOrganizer, is_organizer
from bot.embeds import DESCRIPTION_LIMIT, cut, lines_within
from bot.errors import explain, reply_ephemeral
from bot.pipeline_status import Progress
from tracker import review as reviews
from tracker.models import ReviewDefault, ReviewState
from tracker.publishing.discord_rest import nonce_for
from tracker.review import Review, ReviewError, ReviewItem

if TYPE_CHECKING:
    from bot.app import WgBot

log = logging.getLogger(__name__)

EDIT_ID = "wgbot:review:edit"
DROP_ID = "wgbot:review:drop"
FILE_ID = "wgbot:review:file"
OPTIONS_LIMIT = 25  # Discord: options per select menu
MODAL_TIMEOUT = 15 * 60


# ---- how it looks (pure) ---------------------------------------------------------------------------------------


def _item_line(number: int, item: ReviewItem) -> str:
    if item.kind == "action":
        text = f"**{item.owner}**: {cut(item.text, 150)}" + (f" · due {item.due.isoformat()}" if item.due else "")
    else:
        text = cut(item.text, 150)
    return f"~~{number}. {text}~~ (dropped)" if item.dropped else f"{number}. {text}"


def _numbered(review: Review) -> list[tuple[int, ReviewItem]]:
    return list(enumerate(review.items, start=1))


def review_embed(review: Review, decided_by: str | None = None) -> discord.Embed:
    kept = [i for i in review.items if not i.dropped]
    if review.state == ReviewState.pending:
        then = (
            "every item is dropped (the minutes are still posted)"
            if review.default == ReviewDefault.drop
            else "the items are filed as they are then"
        )
        deadline = (
            (f" If nobody decides by {format_dt(review.deadline, 'f')} ({format_dt(review.deadline, 'R')}), {then}.")
            if review.deadline
            else ""
        )
        head = (
            "Nothing from this meeting is filed until an organizer decides. Change an owner or a due date, drop "
            f"what is not an action item or a wish, then press **File all**.{deadline}"
        )
        colour = discord.Colour.orange()
    elif review.state == ReviewState.approved:
        by = f" by {decided_by}" if decided_by else ""
        head = f"✔ Approved{by}: {len(kept)} item(s) are being filed" + (
            f", {len(review.items) - len(kept)} dropped." if len(kept) < len(review.items) else "."
        )
        colour = discord.Colour.green()
    else:
        when = f" by {format_dt(review.deadline, 'f')}" if review.deadline else ""
        if review.default == ReviewDefault.drop:
            head = f"⏰ Nobody decided{when}: nothing was filed; the minutes are posted without these items."
        else:
            head = f"⏰ Nobody decided{when}: {len(kept)} item(s) were filed as they were."
        colour = discord.Colour.light_grey()
    lines = [head, ""]
    numbered = _numbered(review)
    actions = [_item_line(n, i) for n, i in numbered if i.kind == "action"]
    wishes = [_item_line(n, i) for n, i in numbered if i.kind == "wish"]
    if actions:
        lines += ["**Action items**", *actions]
    if wishes:
        lines += ([""] if actions else []) + ["**Wishes**", *wishes]
    embed = discord.Embed(
        title=cut(f"Review: {review.title}, {review.day.isoformat()}", 256),
        colour=colour,
        description=lines_within(lines, DESCRIPTION_LIMIT),
    )
    embed.set_footer(text=f"meeting {review.meeting_id}")
    return embed


def review_content(review: Review, organizer_role_id: int | None) -> str:
    who = f"<@&{organizer_role_id}>" if organizer_role_id else "Organizers"
    return f"{who}: the items of **{cut(review.title, 100)}** ({review.day.isoformat()}) wait for your review."


def _option_label(number: int, item: ReviewItem, verb: str = "") -> str:
    text = f"{item.owner}: {item.text}" if item.kind == "action" else f"Wish: {item.text}"
    return cut(f"{verb}{number}. {text}", 100)


# ---- the components --------------------------------------------------------------------------------------------


class ReviewView(discord.ui.View):
    """The review message's components. Built with the review's items to send or refresh a message; registered once
    empty (`ReviewView(cog)`) so that a press on any review message reaches it, also after a restart."""

    def __init__(self, cog: ReviewCog, review: Review | None = None) -> None:
        super().__init__(timeout=None)
        self.cog = cog
        numbered = _numbered(review) if review else []
        editable = [(n, i) for n, i in numbered if i.kind == "action" and not i.dropped][:OPTIONS_LIMIT]
        droppable = numbered[:OPTIONS_LIMIT]
        self.edit_select: discord.ui.Select = discord.ui.Select(
            custom_id=EDIT_ID,
            placeholder="Change an owner or due date…",
            min_values=1,
            max_values=1,
            options=[discord.SelectOption(label=_option_label(n, i), value=i.ref) for n, i in editable]
            or [discord.SelectOption(label="(no action item)", value="-")],
            row=0,
        )
        self.drop_select: discord.ui.Select = discord.ui.Select(
            custom_id=DROP_ID,
            placeholder="Drop an item (pick a dropped one to keep it)…",
            min_values=1,
            max_values=max(1, len(droppable)),
            options=[
                discord.SelectOption(label=_option_label(n, i, "Keep " if i.dropped else "Drop "), value=i.ref)
                for n, i in droppable
            ]
            or [discord.SelectOption(label="(no item)", value="-")],
            row=1,
        )
        self.file_button: discord.ui.Button = discord.ui.Button(
            custom_id=FILE_ID, label="File all", style=discord.ButtonStyle.success, emoji="✅", row=2
        )
        # discord.py's documented way to give a component built at run time its callback
        self.edit_select.callback = self.edit  # type: ignore[method-assign]
        self.drop_select.callback = self.drop  # type: ignore[method-assign]
        self.file_button.callback = self.file_all  # type: ignore[method-assign]
        if review is None or editable:
            self.add_item(self.edit_select)
        if review is None or droppable:
            self.add_item(self.drop_select)
        self.add_item(self.file_button)

    async def interaction_check(self, interaction: discord.Interaction) -> bool:
        return await self.cog.organizers_only(interaction)

    async def on_error(self, interaction: discord.Interaction, error: Exception, item: discord.ui.Item) -> None:
        await self.cog.report(interaction, error)

    async def edit(self, interaction: discord.Interaction) -> None:
        ref = self.edit_select.values[0]
        current = await self.cog.bot.db_call(reviews.for_message, _review_message_id(interaction))
        if not current.pending:
            raise ReviewError("the review of this meeting is over")
        item = next((i for i in current.actions if i.ref == ref), None)
        if item is None:
            raise ReviewError("that action item is not in this review any more")
        await interaction.response.send_modal(EditItemModal(self.cog, current.meeting_id, item))

    async def drop(self, interaction: discord.Interaction) -> None:
        refs = [v for v in self.drop_select.values if v != "-"]

        def toggle(session, message_id: int) -> Review:
            return reviews.set_dropped(session, reviews.for_message(session, message_id).meeting_id, refs)

        updated = await self.cog.bot.db_call(toggle, _review_message_id(interaction))
        await interaction.response.edit_message(embed=review_embed(updated), view=ReviewView(self.cog, updated))

    async def file_all(self, interaction: discord.Interaction) -> None:
        settings = self.cog.bot.settings

        def approve(session, message_id: int) -> Review:
            return reviews.approve(session, reviews.for_message(session, message_id).meeting_id, settings)

        approved = await self.cog.bot.db_call(approve, _review_message_id(interaction))
        self.cog.closed.add(approved.meeting_id)
        await interaction.response.edit_message(embed=review_embed(approved, interaction.user.display_name), view=None)
        log.info("meeting %s: review approved by %s", approved.meeting_id, interaction.user.id)
        self.cog.bot.dispatch("review_ended", approved.meeting_id)


def _review_message_id(interaction: discord.Interaction) -> int:
    """The review message a button or menu of it was used on (the message is the review's key)."""
    if interaction.message is None:  # a component interaction always comes with its message
        raise ReviewError("this review message belongs to no meeting any more")
    return interaction.message.id


class EditItemModal(discord.ui.Modal):
    """Owner and due date of one action item."""

    def __init__(self, cog: ReviewCog, meeting_id: int, item: ReviewItem) -> None:
        super().__init__(
            title="Edit an action item", timeout=MODAL_TIMEOUT, custom_id=f"wgbot:review:item:{meeting_id}:{item.id}"
        )
        self.cog = cog
        self.meeting_id = meeting_id
        self.item = item
        self.owner: discord.ui.TextInput[EditItemModal] = discord.ui.TextInput(
            custom_id="owner", default=item.owner, min_length=1, max_length=reviews.OWNER_MAX
        )
        self.due: discord.ui.TextInput[EditItemModal] = discord.ui.TextInput(
            custom_id="due",
            default=item.due.isoformat() if item.due else "",
            placeholder="YYYY-MM-DD (empty: no due date)",
            required=False,
            max_length=10,
        )
        self.add_item(discord.ui.Label(text="Owner", description=cut(item.text, 100), component=self.owner))
        self.add_item(discord.ui.Label(text="Due date", component=self.due))

    async def interaction_check(self, interaction: discord.Interaction) -> bool:
        return await self.cog.organizers_only(interaction)

    # Modal.on_error's own signature (no `item`), which discord.py declares over View's: not an override of ours.
    async def on_error(self, interaction: discord.Interaction, error: Exception) -> None:  # type: ignore[override]
        await self.cog.report(interaction, error)

    async def on_submit(self, interaction: discord.Interaction) -> None:
        owner, due = self.owner.value or "", self.due.value or ""

        def edit(session) -> Review:
            reviews.edit_action(session, self.meeting_id, self.item.id, owner, due)
            return reviews.load(session, self.meeting_id)

        updated = await self.cog.bot.db_call(edit)
        if interaction.message is not None:  # opened from the review message: show the change there
            await interaction.response.edit_message(embed=review_embed(updated), view=ReviewView(self.cog, updated))
        else:
            await interaction.response.send_message("✏️ Saved.", ephemeral=True)


# ---- the cog ---------------------------------------------------------------------------------------------------


CHECK_SECONDS = 60.0  # how often held meetings' deadlines are checked (at most; sooner when one is near)


class ReviewCog(commands.Cog, name="Review"):
    def __init__(self, bot: WgBot) -> None:
        self.bot = bot
        self.closed: set[int] = set()  # meetings whose review message was closed by this process
        self._posting = asyncio.Lock()  # the status watcher and the deadline loop may both want to post

    async def cog_load(self) -> None:
        self.bot.add_view(ReviewView(self))  # presses on any review message, also one posted before a restart
        self.deadlines.start()

    async def cog_unload(self) -> None:
        self.deadlines.cancel()

    # ---- who may, and what went wrong ----

    async def organizers_only(self, interaction: discord.Interaction) -> bool:
        if is_organizer(interaction):
            return True
        refusal = NotOrganizer("review the minutes", self.bot.organizer_role_id)
        log.info("refused a review action by user %s: not an organizer", interaction.user.id)
        await reply_ephemeral(interaction, f"🚫 {refusal}")
        return False

    async def report(self, interaction: discord.Interaction, error: Exception) -> None:
        if isinstance(error, ReviewError):
            log.info("review action by user %s refused: %s", interaction.user.id, error)
            text = str(error)
            await reply_ephemeral(interaction, f"❌ {text[0].upper() + text[1:]}.")
        else:
            await reply_ephemeral(interaction, explain(interaction, error))

    # ---- the message ----

    @commands.Cog.listener()
    async def on_pipeline_progress(self, progress: Progress) -> None:
        """From the status watcher: post the review message when a meeting is held, close it when the review ended."""
        if progress.review_state == ReviewState.pending and progress.review_message_id is None:
            await self.post(progress.meeting_id)
        elif (
            progress.review_state in (ReviewState.approved, ReviewState.expired)
            and progress.review_message_id
            and progress.meeting_id not in self.closed
        ):
            await self.close(progress.meeting_id)

    async def post(self, meeting_id: int) -> discord.Message | None:
        async with self._posting:
            current = await self.bot.db_call(reviews.load, meeting_id)
            if not current.pending or current.message_id is not None:
                return None
            return await self._post(current)

    async def _post(self, current: Review) -> discord.Message:
        meeting_id = current.meeting_id
        channel = await self.bot.text_channel()
        role = self.bot.organizer_role_id
        message = await channel.send(
            content=review_content(current, role),
            embed=review_embed(current),
            view=ReviewView(self, current),
            nonce=nonce_for(f"m{meeting_id}-review"),
            allowed_mentions=discord.AllowedMentions(
                everyone=False, users=False, roles=[discord.Object(role)] if role else False
            ),
        )
        await self.bot.db_call(reviews.set_message, meeting_id, message.id)
        log.info("meeting %s: review message %s posted", meeting_id, message.id)
        return message

    async def close(self, meeting_id: int) -> None:
        """The review is over: the message says how it ended and loses its components."""
        current = await self.bot.db_call(reviews.load, meeting_id)
        if current.message_id is None:
            return
        channel = await self.bot.text_channel()
        try:
            await channel.get_partial_message(current.message_id).edit(embed=review_embed(current), view=None)
        except discord.NotFound:
            log.info("meeting %s: the review message was deleted", meeting_id)
        self.closed.add(meeting_id)

    # ---- deadlines ----

    async def expire_now(self) -> list[int]:
        """Release the held meetings whose deadline passed (their default applies) and let their pipelines go on;
        post the review message of held meetings that have none yet (held by a pipeline the bot did not follow)."""
        expired = await self.bot.db_call(reviews.expire_due, None, self.bot.settings)
        for meeting_id in expired:
            self.bot.dispatch("review_ended", meeting_id)
        if self.bot.text_channel_id:
            for meeting_id in await self.bot.db_call(reviews.unannounced):
                await self.post(meeting_id)
        return expired

    @tasks.loop(seconds=CHECK_SECONDS)
    async def deadlines(self) -> None:
        delay = CHECK_SECONDS
        try:
            await self.expire_now()
            upcoming = await self.bot.db_call(reviews.next_deadline)
            if upcoming is not None:
                delay = min(delay, max(0.5, (upcoming - dt.datetime.now(dt.UTC)).total_seconds()))
        except Exception:  # the database hiccuped: the next round tries again
            log.exception("could not check the review deadlines")
        self.deadlines.change_interval(seconds=delay)


async def setup(bot: WgBot) -> None:
    await bot.add_cog(ReviewCog(bot), guild=bot.guild_object)
