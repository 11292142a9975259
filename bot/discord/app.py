"""The Discord adapter: thin. It turns slash commands, mentions and DMs into one call of the
chat layer (bot/chat/) and sends what bot/discord/payload.py builds.

Resources are made in run_bot() and passed in; one-time async setup is in setup_hook.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import time
from typing import Protocol

import aiohttp
import discord
from discord import app_commands
from discord.ext import commands

from bot.chat.feedback import FeedbackLog
from bot.chat.feedback import hash_user
from bot.chat.question_log import DAY, QuestionLog
from bot.chat.limits import FAILURE, FIRST_PAGE, NO_COLLECTION, NO_DM_COLLECTION, UNAVAILABLE, Responder
from bot.chat.reports import describe_report
from bot.config import Settings
from bot.discord.payload import Payload, answer_payload, escaped_within, gaps_payload, sources_payload
from bot.gaps import collection_report
from bot.library import Library, Place
from bot.watch import off_loop_abandonable
from bot.types import Answer
from index.errors import CitebotError, ConfigError, NetworkError, StoreUnavailable

log = logging.getLogger(__name__)

REPLY_MAX = 1900  # a plain reply's length, under Discord's 2,000
STOP_SECONDS = 4.0  # after a stop signal: time for the gateway to close and answers in flight to end

# This bot never joins voice: discord.py's warnings about voice libraries mean nothing here.
discord.VoiceClient.warn_nacl = False
discord.VoiceClient.warn_dave = False


def to_embed(payload: Payload) -> discord.Embed:
    return discord.Embed.from_dict(payload.embed)


class Reply(Protocol):
    """Where an answer goes: a slash command's interaction or the message that asked."""

    async def refuse(self, text: str) -> None: ...

    async def working(self) -> None: ...

    async def send(self, *, content: str | None = None, embed: discord.Embed | None = None,
                   view: discord.ui.View | None = None, private: bool = False) -> None: ...


class InteractionReply:
    """Refusals are private; the answer follows a deferral (Discord wants a response within 3 s)."""

    def __init__(self, interaction: discord.Interaction):
        self.interaction = interaction

    async def refuse(self, text: str) -> None:
        await self.interaction.response.send_message(text, ephemeral=True)

    async def working(self) -> None:
        await self.interaction.response.defer(thinking=True)

    async def send(self, *, content=None, embed=None, view=None, private=False) -> None:
        kwargs = {"embed": embed} if embed is not None else {}
        if view is not None:
            kwargs["view"] = view
        await self.interaction.followup.send(content, ephemeral=private, **kwargs)


class MessageReply:
    """Replies to the asking message, without pinging its author."""

    def __init__(self, message: discord.Message):
        self.message = message

    async def refuse(self, text: str) -> None:
        await self.message.reply(text, mention_author=False)

    async def working(self) -> None:
        pass  # a message has no 3-second deadline

    async def send(self, *, content=None, embed=None, view=None, private=False) -> None:
        kwargs = {"embed": embed} if embed is not None else {}
        if view is not None:
            kwargs["view"] = view
        await self.message.reply(content, mention_author=False, **kwargs)


class AnswerView(discord.ui.View):
    """More sources, 👍, 👎 under an answer."""

    def __init__(self, answer: Answer, feedback: FeedbackLog, collection: str = "", timeout: float = 3600,
                 questions: QuestionLog | None = None, logged_id: str | None = None):
        super().__init__(timeout=timeout)
        self.answer = answer
        self.feedback = feedback
        self.collection = collection
        self.questions, self.logged_id = questions, logged_id  # votes also go to the question log
        self.next_start = FIRST_PAGE
        if len(answer.excerpts) <= FIRST_PAGE:
            self.remove_item(self.more_sources)

    @discord.ui.button(label="More sources", style=discord.ButtonStyle.secondary)
    async def more_sources(self, interaction: discord.Interaction, button: discord.ui.Button):
        if self.next_start >= len(self.answer.excerpts):
            await interaction.response.send_message("No more excerpts for this question.", ephemeral=True)
            return
        payload = answer_payload(self.answer, start=self.next_start, count=FIRST_PAGE)
        self.next_start += FIRST_PAGE
        await interaction.response.send_message(embed=to_embed(payload), ephemeral=True)

    @discord.ui.button(emoji="👍", style=discord.ButtonStyle.secondary)
    async def vote_up(self, interaction: discord.Interaction, button: discord.ui.Button):
        await self._vote(interaction, "up")

    @discord.ui.button(emoji="👎", style=discord.ButtonStyle.secondary)
    async def vote_down(self, interaction: discord.Interaction, button: discord.ui.Button):
        await self._vote(interaction, "down")

    async def _vote(self, interaction: discord.Interaction, vote: str) -> None:
        await asyncio.to_thread(self.feedback.record, self.answer, vote, interaction.user.id, self.collection)
        if self.questions is not None and self.logged_id is not None:
            self.questions.vote(self.logged_id, interaction.user.id, vote)  # queued: returns at once
        await interaction.response.send_message("Thanks — your feedback was recorded.", ephemeral=True)


def may_reindex(member, settings: Settings) -> bool:
    permissions = getattr(member, "guild_permissions", None)
    if permissions is not None and permissions.manage_guild:
        return True
    return any(role.id in settings.admin_roles for role in getattr(member, "roles", []))


class CitebotCog(commands.Cog):
    def __init__(self, bot: "CitebotBot"):
        self.bot = bot

    async def answer_to(self, reply: Reply, user_id: int, question: str, place: Place) -> None:
        """The one path from a question to a reply, for /ask, mentions and DMs alike: answered
        from the collection of the place it was asked in, and from no other."""
        collection = self.bot.library.route(place)
        if collection is None:
            await reply.refuse(NO_DM_COLLECTION if place.guild_id is None else NO_COLLECTION)
            return
        refusal = self.bot.responder.check(user_id, question)
        if refusal:
            await reply.refuse(refusal.message)
            return
        await reply.working()
        try:
            asked = await self.bot.responder.answer(self.bot.library, collection, user_id, question, place.channel_id,
                                                    place.guild_id)
        except StoreUnavailable as err:  # the index's server is down or unreachable: this question fails, not the bot
            log.warning("answering from %s: %s", collection, err)
            await reply.send(content=UNAVAILABLE, private=True)
            return
        except Exception:
            log.exception("answering %r failed", question[:80])
            await reply.send(content=FAILURE, private=True)
            return
        questions = self.bot.responder.question_log(self.bot.library, collection)
        await reply.send(embed=to_embed(answer_payload(asked.answer, count=FIRST_PAGE)),
                         view=AnswerView(asked.answer, self.bot.feedback, collection, questions=questions,
                                         logged_id=asked.logged_id))

    @app_commands.command(name="ask", description="Ask a question; the answer quotes the documents.")
    @app_commands.describe(question="What do you want to know?")
    async def ask(self, interaction: discord.Interaction, question: str):
        await self.answer_to(InteractionReply(interaction), interaction.user.id, question, place_of(interaction))

    @commands.Cog.listener()
    async def on_message(self, message: discord.Message) -> None:
        me = self.bot.user
        if message.author.bot or me is None:
            return
        is_dm = message.guild is None
        mentioned = me in message.mentions
        settings = self.bot.settings
        if not ((is_dm and settings.answer_dms) or (mentioned and not is_dm and settings.answer_mentions)):
            return
        question = message.content
        for token in (f"<@{me.id}>", f"<@!{me.id}>"):
            question = question.replace(token, " ")
        await self.answer_to(MessageReply(message), message.author.id, " ".join(question.split()), place_of(message))

    @app_commands.command(name="sources", description="List the indexed documents.")
    async def sources(self, interaction: discord.Interaction):
        collection = self.bot.library.route(place_of(interaction))
        if collection is None:
            await interaction.response.send_message(
                NO_DM_COLLECTION if interaction.guild_id is None else NO_COLLECTION, ephemeral=True)
            return
        await interaction.response.defer(thinking=True, ephemeral=True)
        try:
            documents = await asyncio.to_thread(lambda: self.bot.library.open(collection).documents())
        except StoreUnavailable as err:
            log.warning("listing %s: %s", collection, err)
            await interaction.followup.send(UNAVAILABLE, ephemeral=True)
            return
        await interaction.followup.send(embed=to_embed(sources_payload(documents)), ephemeral=True)

    @app_commands.command(name="reindex", description="Update the index from the docs folder.")
    @app_commands.default_permissions(manage_guild=True)
    @app_commands.guild_only()
    async def reindex(self, interaction: discord.Interaction):
        # Server admins can grant /reindex to other roles in Discord's settings; admin_roles
        # is checked here as well, since default permissions alone would hide it from them.
        if not may_reindex(interaction.user, self.bot.settings):
            await interaction.response.send_message(
                "Sorry, only members with Manage Server (or an admin role from the config) can re-index.",
                ephemeral=True)
            return
        collection = self.bot.library.route(place_of(interaction))
        if collection is None:
            await interaction.response.send_message(NO_COLLECTION, ephemeral=True)
            return
        await interaction.response.defer(thinking=True, ephemeral=True)
        try:  # this place's collection only: another server's documents are not this admin's
            report = await off_loop_abandonable(self.bot.library.service(collection).reindex)
        except CitebotError as err:
            await interaction.followup.send(escaped_within(f"Re-index failed: {err}", REPLY_MAX), ephemeral=True)
            return
        await interaction.followup.send(escaped_within(describe_report(report), REPLY_MAX), ephemeral=True)


    @app_commands.command(name="gaps", description="What the docs don't answer: the largest groups of questions "
                                                   "that were declined, voted down or answered poorly.")
    @app_commands.describe(days="how many days back (default: 30)")
    @app_commands.default_permissions(manage_guild=True)
    @app_commands.guild_only()
    async def gaps(self, interaction: discord.Interaction, days: app_commands.Range[int, 1, 3650] = 30):
        # The questions people typed are shown only to those who may /reindex, and only to them.
        if not may_reindex(interaction.user, self.bot.settings):
            await interaction.response.send_message(
                "Sorry, only members with Manage Server (or an admin role from the config) can see the gaps.",
                ephemeral=True)
            return
        collection = self.bot.library.route(place_of(interaction))
        if collection is None:
            await interaction.response.send_message(NO_COLLECTION, ephemeral=True)
            return
        questions = self.bot.responder.question_log(self.bot.library, collection)
        if questions is None:
            await interaction.response.send_message(
                "The question log is off (question_log: false in the config), so there are no gaps to show.",
                ephemeral=True)
            return
        await interaction.response.defer(thinking=True, ephemeral=True)
        try:  # this server's questions only: another server's, or a direct message, are not this admin's
            payload = await asyncio.to_thread(self.bot.gaps_payload, collection, questions, days, interaction.guild_id)
        except CitebotError as err:
            await interaction.followup.send(escaped_within(f"The gap report failed: {err}", REPLY_MAX), ephemeral=True)
            return
        except Exception:
            log.exception("the gap report of %s failed", collection)
            await interaction.followup.send(FAILURE, ephemeral=True)
            return
        await interaction.followup.send(embed=to_embed(payload), ephemeral=True)


def place_of(source: discord.Interaction | discord.Message) -> Place:
    """An interaction knows its guild's id even when the guild is not cached; a message, its guild."""
    channel = getattr(source, "channel", None)
    if hasattr(source, "guild_id"):  # an interaction
        guild_id, channel_id = source.guild_id, source.channel_id
    else:
        guild_id = source.guild.id if source.guild is not None else None
        channel_id = getattr(channel, "id", None)
    return Place(guild_id, channel_id, getattr(channel, "parent_id", None))


class CitebotBot(commands.Bot):
    def __init__(self, settings: Settings, library: Library, sync_commands: bool = True):
        intents = discord.Intents.default()
        intents.message_content = settings.answer_mentions or settings.answer_dms
        super().__init__(command_prefix=commands.when_mentioned, intents=intents, help_command=None,
                         allowed_mentions=discord.AllowedMentions.none(),
                         shard_id=settings.shard_id, shard_count=settings.shard_count)
        self.settings = settings
        self.library = library
        self.responder = Responder(settings)
        self.feedback = FeedbackLog(settings.feedback_file)
        self.sync_commands = sync_commands
        self.watchers: list[asyncio.Task] = []
        self.warm_up: asyncio.Task | None = None
        self.idle_closer: asyncio.Task | None = None
        self.log_keeper: asyncio.Task | None = None

    def gaps_payload(self, collection: str, questions: QuestionLog, days: float, guild_id: int) -> Payload:
        """The top gaps of a collection over the last days, of the questions asked in one server
        (run off the event loop)."""
        now = time.time()
        report = collection_report(questions, self.library.open(collection), collection, now - days * DAY, now,
                                   self.settings.gaps_low_score, limit=5, place=hash_user(guild_id))
        return gaps_payload(report)

    async def setup_hook(self) -> None:
        library = self.library
        # run_bot built every index before logging in; a single collection is opened now, several
        # each at its first question (open() builds one that is still missing).
        if len(library.names) == 1:
            try:
                await asyncio.to_thread(library.open, library.names[0])
            except StoreUnavailable:
                pass  # logged by run_bot; each question tries again
        # Loading the question encoder (and, the first time, exporting the model to ONNX)
        # takes from a fraction of a second to ~10 s; do it while the gateway connects, so the
        # first question is answered as fast as the rest.
        self.warm_up = asyncio.create_task(asyncio.to_thread(library.service(library.names[0]).warm_up),
                                           name="citebot-warm-up")
        self.idle_closer = asyncio.create_task(self._close_idle_collections(), name="citebot-idle")
        if self.settings.question_log:
            self.log_keeper = asyncio.create_task(self._keep_question_logs(), name="citebot-question-log")
        await self.add_cog(CitebotCog(self))
        if self.settings.watch:
            from bot.watch import watch_in_background

            self.watchers = [asyncio.create_task(watch_in_background(library.service(name)), name=f"citebot-watch-{name}")
                             for name in library.names]
        if not self.sync_commands:
            return
        if self.settings.guild_ids:
            for guild_id in self.settings.guild_ids:
                guild = discord.Object(id=guild_id)
                self.tree.copy_global_to(guild=guild)
                await self.tree.sync(guild=guild)
        else:
            await self.tree.sync()

    async def _close_idle_collections(self) -> None:
        while True:
            await asyncio.sleep(60)
            for name in self.library.close_idle():
                log.info("closed collection %s: not asked for %g minutes", name, self.settings.collection_idle_minutes)

    async def _keep_question_logs(self) -> None:
        """Forget logged questions past their retention, and post the weekly gaps summary
        (gaps_channel), checked every hour; a failure is logged and the next hour tries again."""
        while True:
            for name in self.library.names:
                questions = self.responder.question_log(self.library, name)
                try:
                    await asyncio.to_thread(questions.forget)
                except Exception as err:  # a damaged or unwritable log file: answers go on
                    log.warning("question log of %s: could not forget old questions (%s)", name, err)
            if self.settings.gaps_channel is not None:
                try:
                    await self._post_weekly_gaps(self.settings.gaps_channel)
                except Exception:
                    log.exception("posting the weekly gaps summary failed")
            await asyncio.sleep(3600)

    async def _post_weekly_gaps(self, channel_id: int) -> None:
        channel = self.get_channel(channel_id)
        if channel is None or getattr(channel, "guild", None) is None:
            return  # not visible to this shard, or not a server channel
        collection = self.library.route(Place(channel.guild.id, channel.id, getattr(channel, "parent_id", None)))
        if collection is None:
            return
        questions = self.responder.question_log(self.library, collection)
        last = await asyncio.to_thread(questions.state, "weekly_gaps_posted_at")
        now = time.time()
        if last is not None and now - last < 7 * DAY:
            return
        payload = await asyncio.to_thread(self.gaps_payload, collection, questions, 7, channel.guild.id)
        await channel.send(embed=to_embed(payload), allowed_mentions=discord.AllowedMentions.none())
        questions.set_state("weekly_gaps_posted_at", now)

    async def on_ready(self) -> None:
        try:
            statuses = await asyncio.to_thread(self.library.statuses)
        except StoreUnavailable as err:  # answers will say so too; the bot stays up and retries per question
            log.warning("ready as %s, but %s", self.user, err)
            return
        for c in statuses:
            if c.status is not None:
                log.info("ready as %s: collection %s: %d documents, %d passages, generation %d", self.user, c.name,
                         c.status.documents, c.status.passages, c.status.generation)

    async def on_message(self, message: discord.Message) -> None:
        """No prefix commands: questions in messages are answered by the cog's listener."""


def create_bot(settings: Settings, library: Library | None = None, sync_commands: bool = True) -> CitebotBot:
    """The configured, not yet started bot."""
    return CitebotBot(settings, library or Library(settings), sync_commands=sync_commands)


def run_bot(settings: Settings) -> int:
    """Build every collection's index, then log in and serve until SIGTERM or Ctrl-C (exit 0).
    The index is built first so a bad one fails before the bot shows as online."""
    token = os.environ.get("DISCORD_TOKEN", "").strip()
    if not token:
        raise ConfigError("DISCORD_TOKEN is not set; create a bot in the Discord developer portal, "
                          "then: export DISCORD_TOKEN=<bot token> (see README, Discord setup)")
    library = Library(settings)
    for name in library.names:
        service = library.service(name)
        try:
            report = service.ensure_index()
        except StoreUnavailable as err:  # the bot comes up anyway, says so, and answers once it is back
            log.warning("collection %s: %s; until it answers, questions get: %s", name, err, UNAVAILABLE)
            continue
        if report is not None:
            log.info("collection %s: indexed %d documents, %d passages", name, report.documents, report.passages)
    if problem := library.service(library.names[0]).degraded():
        log.warning("running degraded: %s", problem)
    bot = create_bot(settings, library)
    try:
        asyncio.run(serve(bot, token, settings.connect_retry_seconds))
    except discord.PrivilegedIntentsRequired:
        raise ConfigError("the message content intent is not enabled for this bot: enable it in the developer "
                          "portal (Bot → Privileged Gateway Intents) or set answer_mentions and answer_dms "
                          "to false") from None
    except discord.LoginFailure:
        raise ConfigError("Discord rejected DISCORD_TOKEN (login failed); copy the bot token again") from None
    return 0


# What reaching Discord can fail with before the gateway is up: DNS, refused, TLS, timeouts.
NETWORK_ERRORS = (aiohttp.ClientConnectionError, aiohttp.ClientResponseError, OSError, asyncio.TimeoutError)


async def serve(bot: CitebotBot, token: str, retry_seconds: float) -> None:
    """Log in (retrying network failures with backoff for retry_seconds), then run until a stop
    signal: then refuse new questions, close the gateway and return."""
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    async with bot:
        running = asyncio.create_task(_log_in_and_connect(bot, token, retry_seconds), name="citebot-gateway")
        stopping = asyncio.create_task(stop.wait(), name="citebot-stop")
        await asyncio.wait({running, stopping}, return_when=asyncio.FIRST_COMPLETED)
        if stopping.done():
            log.info("stopping: no new questions; closing the gateway")
            bot.responder.closing = True
            running.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await asyncio.wait_for(running, timeout=STOP_SECONDS)
        else:
            stopping.cancel()
            running.result()  # raises what ended it


async def _log_in_and_connect(bot: CitebotBot, token: str, retry_seconds: float) -> None:
    delay, waited = 1.0, 0.0
    while True:
        try:
            await bot.login(token)
            break
        except discord.LoginFailure:
            raise
        except NETWORK_ERRORS as err:
            if waited + delay > retry_seconds:
                raise NetworkError(f"cannot reach Discord ({_network_reason(err)}); gave up after "
                                   f"{waited:.0f} s (connect_retry_seconds)") from None
            log.warning("cannot reach Discord (%s); retrying in %.0f s", _network_reason(err), delay)
            await asyncio.sleep(delay)
            waited += delay
            delay = min(delay * 2, 60.0)
    await bot.connect(reconnect=True)


def _network_reason(err: BaseException) -> str:
    if isinstance(err, asyncio.TimeoutError):
        return "timed out"
    text = str(err).splitlines()[0] if str(err) else type(err).__name__
    return text[:200]
