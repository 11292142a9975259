"""The Discord adapter: thin. It defers, calls CitebotService.ask in a worker thread, sends.

Resources are made in run_bot() and passed in; one-time async setup is in setup_hook.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import os
import time
from dataclasses import dataclass
from pathlib import Path

import discord
from discord import app_commands
from discord.ext import commands

from bot.answer import Answer
from bot.config import Settings
from bot.discord_render import Payload, answer_payload, escaped_within, sources_payload
from bot.service import CitebotService
from index.errors import CitebotError, ConfigError

log = logging.getLogger("citebot.discord")

FIRST_PAGE = 3  # excerpts in the first reply; the rest behind "More sources"
FAILURE = "Sorry, something went wrong while answering. The error has been logged."


def hash_user(user_id: int) -> str:
    return hashlib.sha256(f"citebot:{user_id}".encode()).hexdigest()[:16]


def to_embed(payload: Payload) -> discord.Embed:
    return discord.Embed.from_dict(payload.embed)


@dataclass(frozen=True)
class Refusal:
    """A short reply instead of an answer (cooldown, busy, bad question)."""

    message: str


class Responder:
    """Cooldown, in-flight limit and the off-loop call into the answer function."""

    def __init__(self, service: CitebotService, settings: Settings):
        self.service = service
        self.settings = settings
        self._last_asked: dict[int, float] = {}
        self._in_flight = 0

    def check(self, user_id: int, question: str) -> Refusal | None:
        question = question.strip()
        if not question:
            return Refusal("Ask me a question about the documents, e.g. `/ask question: what happened in March?`")
        if len(question) > self.settings.max_question_chars:
            return Refusal(f"That question is {len(question)} characters long; please keep it under "
                           f"{self.settings.max_question_chars}.")
        now = time.monotonic()
        wait = self._last_asked.get(user_id, -1e9) + self.settings.cooldown_seconds - now
        if wait > 0:
            return Refusal(f"Please wait — try again in {max(1, round(wait))} s.")
        if self._in_flight >= self.settings.max_in_flight:
            return Refusal("I'm busy answering other questions — try again in a moment.")
        self._last_asked[user_id] = now
        return None

    async def answer(self, user_id: int, question: str) -> Answer:
        self._in_flight += 1
        started = time.perf_counter()
        try:
            k = max(self.settings.k, FIRST_PAGE * 2)
            answer = await asyncio.to_thread(self.service.ask, question.strip(), k)
        finally:
            self._in_flight -= 1
        top = answer.excerpts[0].score if answer.excerpts else 0.0
        log.info("answered=%s latency_ms=%.0f top_score=%.3f excerpts=%d user=%s",
                 answer.answered, (time.perf_counter() - started) * 1000, top, len(answer.excerpts),
                 hash_user(user_id))
        return answer


class FeedbackLog:
    def __init__(self, path: str):
        self.path = Path(path)

    def record(self, answer: Answer, vote: str, user_id: int) -> None:
        entry = {
            "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "question": answer.question,
            "answered": answer.answered,
            "citations": [f"{e.citation.file}#{e.citation.start}-{e.citation.end}" for e in answer.excerpts],
            "vote": vote,
            "user": hash_user(user_id),
        }
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.path, "a", encoding="utf-8") as f:
            f.write(json.dumps(entry, ensure_ascii=False) + "\n")


class AnswerView(discord.ui.View):
    """More sources, 👍, 👎 under an answer."""

    def __init__(self, answer: Answer, feedback: FeedbackLog, timeout: float = 3600):
        super().__init__(timeout=timeout)
        self.answer = answer
        self.feedback = feedback
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
        await asyncio.to_thread(self.feedback.record, self.answer, vote, interaction.user.id)
        await interaction.response.send_message("Thanks — your feedback was recorded.", ephemeral=True)


def may_reindex(member, settings: Settings) -> bool:
    permissions = getattr(member, "guild_permissions", None)
    if permissions is not None and permissions.manage_guild:
        return True
    return any(role.id in settings.admin_roles for role in getattr(member, "roles", []))


def describe_report(report) -> str:
    if not report.wrote:
        text = f"Already up to date: {report.documents} documents, {report.passages} passages."
    else:
        text = (f"Re-indexed: {report.documents} documents, {report.passages} passages. "
                f"Added {len(report.added)}, changed {len(report.changed)}, removed {len(report.removed)}, "
                f"unchanged {report.unchanged}; {report.embedded} passages embedded in {report.seconds:.1f} s.")
    if report.skipped:
        text += f" Skipped {len(report.skipped)} file(s): " + "; ".join(
            f"{s.path}: {s.reason}" for s in report.skipped[:5])
    return escaped_within(text, 1900)


class CitebotCog(commands.Cog):
    def __init__(self, bot: "CitebotBot"):
        self.bot = bot

    @app_commands.command(name="ask", description="Ask a question; the answer quotes the documents.")
    @app_commands.describe(question="What do you want to know?")
    async def ask(self, interaction: discord.Interaction, question: str):
        refusal = self.bot.responder.check(interaction.user.id, question)
        if refusal:
            await interaction.response.send_message(refusal.message, ephemeral=True)
            return
        await interaction.response.defer(thinking=True)
        try:
            answer = await self.bot.responder.answer(interaction.user.id, question)
        except Exception:
            log.exception("answering %r failed", question[:80])
            await interaction.followup.send(FAILURE, ephemeral=True)
            return
        await interaction.followup.send(embed=to_embed(answer_payload(answer, count=FIRST_PAGE)),
                                        view=AnswerView(answer, self.bot.feedback))

    @app_commands.command(name="sources", description="List the indexed documents.")
    async def sources(self, interaction: discord.Interaction):
        await interaction.response.defer(thinking=True, ephemeral=True)
        documents = await asyncio.to_thread(self.bot.service.documents)
        await interaction.followup.send(embed=to_embed(sources_payload(documents)), ephemeral=True)

    @app_commands.command(name="reindex", description="Update the index from the docs folder.")
    async def reindex(self, interaction: discord.Interaction):
        if not may_reindex(interaction.user, self.bot.settings):
            await interaction.response.send_message(
                "Sorry, only members with Manage Server (or an admin role from the config) can re-index.",
                ephemeral=True)
            return
        await interaction.response.defer(thinking=True, ephemeral=True)
        try:
            report = await asyncio.to_thread(self.bot.service.reindex)
        except CitebotError as err:
            await interaction.followup.send(escaped_within(f"Re-index failed: {err}", 1900), ephemeral=True)
            return
        await interaction.followup.send(describe_report(report), ephemeral=True)


class CitebotBot(commands.Bot):
    def __init__(self, settings: Settings, service: CitebotService, sync_commands: bool = True):
        intents = discord.Intents.default()
        intents.message_content = settings.answer_mentions or settings.answer_dms
        super().__init__(command_prefix=commands.when_mentioned, intents=intents, help_command=None,
                         allowed_mentions=discord.AllowedMentions.none())
        self.settings = settings
        self.service = service
        self.responder = Responder(service, settings)
        self.feedback = FeedbackLog(settings.feedback_file)
        self.sync_commands = sync_commands
        self.watcher: asyncio.Task | None = None
        self.warm_up: asyncio.Task | None = None

    async def setup_hook(self) -> None:
        await asyncio.to_thread(self.service.ensure_index)
        await asyncio.to_thread(lambda: self.service.searcher)
        # Loading the question encoder (and, the first time, exporting the model to ONNX)
        # takes from a fraction of a second to ~10 s; do it while the gateway connects, so the
        # first question is answered as fast as the rest.
        self.warm_up = asyncio.create_task(asyncio.to_thread(self.service.warm_up), name="citebot-warm-up")
        await self.add_cog(CitebotCog(self))
        if self.settings.watch:
            from bot.watch import watch_in_background

            self.watcher = asyncio.create_task(watch_in_background(self.service), name="citebot-watch")
        if not self.sync_commands:
            return
        if self.settings.guild_ids:
            for guild_id in self.settings.guild_ids:
                guild = discord.Object(id=guild_id)
                self.tree.copy_global_to(guild=guild)
                await self.tree.sync(guild=guild)
        else:
            await self.tree.sync()

    async def on_ready(self) -> None:
        status = self.service.status()
        log.info("ready as %s: %d documents, %d passages, generation %d", self.user, status.documents,
                 status.passages, status.generation)

    async def on_message(self, message: discord.Message) -> None:
        if message.author.bot or self.user is None:
            return
        is_dm = message.guild is None
        mentioned = self.user in message.mentions
        if not ((is_dm and self.settings.answer_dms) or (mentioned and not is_dm and self.settings.answer_mentions)):
            return
        question = message.content
        for token in (f"<@{self.user.id}>", f"<@!{self.user.id}>"):
            question = question.replace(token, " ")
        question = " ".join(question.split())
        refusal = self.responder.check(message.author.id, question)
        if refusal:
            await message.reply(refusal.message, mention_author=False)
            return
        try:
            answer = await self.responder.answer(message.author.id, question)
        except Exception:
            log.exception("answering %r failed", question[:80])
            await message.reply(FAILURE, mention_author=False)
            return
        await message.reply(embed=to_embed(answer_payload(answer, count=FIRST_PAGE)),
                            view=AnswerView(answer, self.feedback), mention_author=False)


def create_bot(settings: Settings, service: CitebotService | None = None, sync_commands: bool = True) -> CitebotBot:
    """The configured, not yet started bot."""
    return CitebotBot(settings, service or CitebotService(settings), sync_commands=sync_commands)


def run_bot(settings: Settings) -> int:
    token = os.environ.get("DISCORD_TOKEN", "").strip()
    if not token:
        raise ConfigError("DISCORD_TOKEN is not set; create a bot in the Discord developer portal, "
                          "then: export DISCORD_TOKEN=<bot token> (see README, Discord setup)")
    bot = create_bot(settings)
    try:
        bot.run(token, log_handler=None)
    except discord.PrivilegedIntentsRequired:
        raise ConfigError("the message content intent is not enabled for this bot: enable it in the developer "
                          "portal (Bot → Privileged Gateway Intents) or set answer_mentions and answer_dms "
                          "to false") from None
    except discord.LoginFailure:
        raise ConfigError("Discord rejected DISCORD_TOKEN (login failed); copy the bot token again") from None
    return 0
