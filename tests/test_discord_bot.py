"""The Discord layer without a network: dpytest for messages, a recording fake for interactions."""

import asyncio
import json
import threading
from dataclasses import replace
from types import SimpleNamespace

import discord
import discord.ext.test as dpytest
import pytest
import pytest_asyncio

from bot.cli import main
from bot.chat.limits import FIRST_PAGE
from bot.discord.app import AnswerView, CitebotCog, create_bot
from bot.config import load_settings
from bot.discord.payload import answer_payload, unescape
from bot.library import SHORTHAND, Library
from index.errors import ConfigError
from tests.waiting import GUARD_SECONDS, eventually_async


class Recorder:
    """Stands in for discord.Interaction: records what the handler sends, in order."""

    def __init__(self, user_id=1, manage_guild=False, roles=(), guild_id=1000, channel_id=2000):
        self.guild_id, self.channel_id, self.channel = guild_id, channel_id, SimpleNamespace(id=channel_id)
        self.user = SimpleNamespace(id=user_id, guild_permissions=SimpleNamespace(manage_guild=manage_guild),
                                    roles=[SimpleNamespace(id=r) for r in roles])
        self.sent = []
        outer = self

        class Response:
            async def defer(self, thinking=False, ephemeral=False):
                outer.sent.append(("defer", None, {"ephemeral": ephemeral}))

            async def send_message(self, content=None, embed=None, ephemeral=False, view=None):
                outer.sent.append(("response", content, {"embed": embed, "ephemeral": ephemeral}))

        class Followup:
            async def send(self, content=None, embed=None, ephemeral=False, view=None):
                outer.sent.append(("followup", content, {"embed": embed, "ephemeral": ephemeral, "view": view}))

        self.response = Response()
        self.followup = Followup()


def settings_for(service, tmp_path, **overrides):
    values = {"cooldown_seconds": 0, "feedback_file": str(tmp_path / "feedback.jsonl"), **overrides}
    return replace(service.settings, **values)


def bot_over(service, settings, **kwargs):
    """A bot whose one collection is an already indexed service."""
    return create_bot(settings, Library(settings, service.embedder, services={SHORTHAND: service}), **kwargs)


@pytest_asyncio.fixture
async def bot(seeds_service, tmp_path):
    b = bot_over(seeds_service, settings_for(seeds_service, tmp_path), sync_commands=False)
    await b._async_setup_hook()
    await b.setup_hook()
    await asyncio.wait_for(b.warm_up, GUARD_SECONDS)  # the model warm-up started at setup finishes cleanly
    # dpytest finds mentioned users in the member cache, which the bot's real intents leave off.
    b._connection._intents.members = True
    b._connection.member_cache_flags = discord.MemberCacheFlags.from_intents(b._connection._intents)
    dpytest.configure(b, members=2)
    yield b
    await dpytest.empty_queue()


async def reply_to(content):
    """Send a message and wait for the bot's reply (answers run in a worker thread)."""
    await dpytest.message(content)
    return await next_reply()


async def next_reply():
    """The bot's next message; answers run in a worker thread, however long a loaded machine takes."""
    assert await eventually_async(_queued), "no reply (waited the test guard)"
    return dpytest.get_message()


def _queued() -> bool:
    return not dpytest.runner.sent_queue.empty()


async def test_mention_gets_a_cited_answer(bot):
    reply = await reply_to(f"<@{bot.user.id}> when was Izium recaptured?")
    embed = reply.embeds[0]
    text = unescape(embed.description)
    assert "10 September 2022" in text
    assert "000\\_75998707e5f25e0c.txt" in embed.fields[0].value
    assert "[1]" in embed.description


async def test_plain_channel_message_is_ignored(bot):
    await dpytest.message("when was Izium recaptured?")
    await asyncio.sleep(0.3)
    with pytest.raises(asyncio.QueueEmpty):
        dpytest.get_message()


async def test_direct_message_gets_an_answer(bot):
    member = dpytest.get_config().members[0]
    dm = await member.create_dm()
    await dpytest.message("Who is the deputy mayor of Izium?", channel=dm, member=member)
    reply = await next_reply()
    assert "Volodymyr Matsokin" in unescape(reply.embeds[0].description)


async def test_unanswerable_question_says_so(bot):
    reply = await reply_to(f"<@{bot.user.id}> How do I reset my router password?")
    assert "couldn't find" in reply.embeds[0].description


async def test_empty_mention_gets_help(bot):
    reply = await reply_to(f"<@{bot.user.id}>")
    assert "Ask me a question" in reply.content


async def test_slash_ask_defers_then_follows_up(bot, monkeypatch):
    cog = bot.get_cog("CitebotCog")
    interaction = Recorder()
    real_answer = bot.library.service(SHORTHAND).answer

    def answer(*args, **kwargs):  # recorded in the interaction's own order of events
        interaction.sent.append(("ask", None, None))
        return real_answer(*args, **kwargs)

    monkeypatch.setattr(bot.library.service(SHORTHAND), "answer", answer)
    await cog.ask.callback(cog, interaction, "Who is the deputy mayor of Izium?")
    # Acknowledged before the answer is worked out (Discord allows 3 s), then followed up.
    assert [kind for kind, _, _ in interaction.sent[:2]] == ["defer", "ask"]
    interaction.sent.remove(("ask", None, None))
    kind, _, extra = interaction.sent[1]
    assert kind == "followup" and "Volodymyr Matsokin" in unescape(extra["embed"].description)
    assert isinstance(extra["view"], AnswerView)


async def test_cooldown_and_busy_replies(seeds_service, tmp_path):
    b = bot_over(seeds_service, settings_for(seeds_service, tmp_path, cooldown_seconds=30, max_in_flight=1),
                   sync_commands=False)
    cog = CitebotCog(b)
    first, second = Recorder(user_id=7), Recorder(user_id=7)
    await cog.ask.callback(cog, first, "Who is the deputy mayor of Izium?")
    await cog.ask.callback(cog, second, "And again?")
    assert second.sent == [("response", second.sent[0][1], {"embed": None, "ephemeral": True})]
    assert "try again in" in second.sent[0][1]
    b.responder._in_flight = 1
    busy = Recorder(user_id=8)
    await cog.ask.callback(cog, busy, "Anything?")
    assert "busy" in busy.sent[0][1]


async def test_too_long_question_is_refused(bot):
    cog = bot.get_cog("CitebotCog")
    interaction = Recorder()
    await cog.ask.callback(cog, interaction, "why " * 400)
    assert "characters long" in interaction.sent[0][1] and interaction.sent[0][2]["ephemeral"]


async def test_reindex_needs_permission(bot):
    cog = bot.get_cog("CitebotCog")
    member = Recorder(manage_guild=False)
    await cog.reindex.callback(cog, member)
    assert member.sent[0][0] == "response" and "only members" in member.sent[0][1] and member.sent[0][2]["ephemeral"]
    admin = Recorder(manage_guild=True)
    await cog.reindex.callback(cog, admin)
    assert admin.sent[0][0] == "defer" and "up to date" in admin.sent[1][1]
    role_admin = Recorder(roles=[*bot.settings.admin_roles, 42])
    object.__setattr__(bot, "settings", replace(bot.settings, admin_roles=(42,)))
    await cog.reindex.callback(cog, role_admin)
    assert role_admin.sent[0][0] == "defer"


def test_reindex_is_hidden_from_members_without_manage_server(seeds_service, tmp_path):
    cog = CitebotCog(bot_over(seeds_service, settings_for(seeds_service, tmp_path), sync_commands=False))
    assert cog.reindex.default_permissions.manage_guild
    assert cog.ask.default_permissions is None


async def test_mentions_dms_and_slash_commands_share_one_reply_path(bot):
    cog = bot.get_cog("CitebotCog")
    calls = []
    original = cog.answer_to

    async def recording(reply, user_id, question, place):
        calls.append((type(reply).__name__, question))
        await original(reply, user_id, question, place)

    cog.answer_to = recording
    await cog.ask.callback(cog, Recorder(user_id=5), "Who is the deputy mayor of Izium?")
    await reply_to(f"<@{bot.user.id}> when was Izium recaptured?")
    member = dpytest.get_config().members[0]
    await dpytest.message("Who is the deputy mayor of Izium?", channel=await member.create_dm(), member=member)
    await next_reply()
    assert calls == [("InteractionReply", "Who is the deputy mayor of Izium?"),
                     ("MessageReply", "when was Izium recaptured?"),
                     ("MessageReply", "Who is the deputy mayor of Izium?")]


async def test_sources_lists_documents(bot):
    cog = bot.get_cog("CitebotCog")
    interaction = Recorder()
    await cog.sources.callback(cog, interaction)
    embed = interaction.sent[1][2]["embed"]
    assert "Battle of Izium \\(2022\\)" in embed.description and "passages" in embed.description


async def test_buttons_page_and_record_feedback(seeds_service, tmp_path):
    b = bot_over(seeds_service, settings_for(seeds_service, tmp_path), sync_commands=False)
    answer = seeds_service.ask("when was Izium recaptured?", k=6)
    view = AnswerView(answer, b.feedback, "handbook")
    more = Recorder()
    await view.more_sources.callback(more)
    first_page = answer_payload(answer, count=FIRST_PAGE).embed["description"]
    assert f"[{FIRST_PAGE + 1}]" not in first_page
    assert more.sent[0][2]["ephemeral"] and f"[{FIRST_PAGE + 1}]" in more.sent[0][2]["embed"].description
    up = Recorder(user_id=99)
    await view.vote_up.callback(up)
    record = json.loads((tmp_path / "feedback.jsonl").read_text().splitlines()[-1])
    assert record["vote"] == "up" and record["question"] == "when was Izium recaptured?"
    assert record["collection"] == "handbook"
    assert record["user"] != "99" and len(record["citations"]) == len(answer.excerpts)


async def test_event_loop_runs_while_answers_are_worked_out(seeds_service, tmp_path, monkeypatch):
    b = bot_over(seeds_service, settings_for(seeds_service, tmp_path, max_in_flight=64), sync_commands=False)
    asking, loop_ran, outcomes = threading.Event(), threading.Event(), []
    real_answer = seeds_service.answer

    def answer(*args, **kwargs):
        # Answers only once the event loop has run something else meanwhile. Were the answer
        # worked out on the loop itself, nothing else could run: the wait would run out (a
        # guard, not a speed check) and the outcome would be False.
        asking.set()
        outcomes.append(loop_ran.wait(timeout=GUARD_SECONDS))
        return real_answer(*args, **kwargs)

    monkeypatch.setattr(seeds_service, "answer", answer)

    async def run_while_asking():
        await eventually_async(asking.is_set)
        loop_ran.set()

    beside = asyncio.create_task(run_while_asking())
    asked = await b.responder.answer(b.library, SHORTHAND, 1, "When did Russian rocket strikes on Izium start?")
    await beside
    assert outcomes == [True] and asked.answer.answered


def test_run_without_token_is_one_line(monkeypatch, capsys):
    monkeypatch.delenv("DISCORD_TOKEN", raising=False)
    assert main(["run"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "DISCORD_TOKEN is not set" in err


def test_intents_follow_the_config(seeds_service, tmp_path):
    quiet = bot_over(seeds_service, settings_for(seeds_service, tmp_path, answer_mentions=False, answer_dms=False))
    assert not quiet.intents.message_content
    chatty = bot_over(seeds_service, settings_for(seeds_service, tmp_path))
    assert chatty.intents.message_content
    assert chatty.allowed_mentions.everyone is False and chatty.allowed_mentions.roles is False


async def test_each_answer_logs_one_line_without_text_or_user_id(seeds_service, tmp_path, caplog):
    import logging

    b = bot_over(seeds_service, settings_for(seeds_service, tmp_path), sync_commands=False)
    with caplog.at_level(logging.INFO, logger="bot.chat.limits"):
        await b.responder.answer(b.library, SHORTHAND, 123456789, "Who is the deputy mayor of Izium?")
    lines = [r.getMessage() for r in caplog.records if r.name == "bot.chat.limits"]
    assert len(lines) == 1
    line = lines[0]
    assert "answered=True" in line and "latency_ms=" in line and "top_score=" in line and "user=" in line
    assert "123456789" not in line and "deputy mayor" not in line and "Matsokin" not in line


def test_replicas_run_as_gateway_shards(seeds_service, tmp_path):
    settings = settings_for(seeds_service, tmp_path, shard_count=2, shard_id=1)
    b = bot_over(seeds_service, settings, sync_commands=False)
    assert (b.shard_id, b.shard_count) == (1, 2)
    config = tmp_path / "citebot.yaml"
    for text, message in (("shard_count: 2\n", "set together"), ("shard_count: 2\nshard_id: 2\n", "below shard_count")):
        config.write_text(text, encoding="utf-8")
        with pytest.raises(ConfigError, match=message):
            load_settings(str(config), environ={})
