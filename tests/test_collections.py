"""One bot, many communities: each place is answered from its own collection and no other,
through the real answer path, the Discord adapter and the command line."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from types import SimpleNamespace

import pytest

from bot.chat.limits import NO_COLLECTION, NO_DM_COLLECTION
from bot.cli import main
from bot.config import Collection, Settings, load_settings
from bot.discord.app import CitebotCog, create_bot
from bot.library import Library, Place, Routing
from bot.watch import affected
from tests.waiting import GUARD_SECONDS
from index.errors import ConfigError

NORTH_GUILD, SOUTH_GUILD, OTHER_GUILD, SOUTH_CHANNEL_IN_NORTH = 111, 222, 333, 444

# Two communities' documents that disagree about the same made-up subject.
NORTH = {
    "lighthouse.md": "# Glimmerfen lighthouse\n\nThe Glimmerfen lighthouse was built in 1871 by the harbour guild.\n"
                     "Its lamp is lit by the keeper, Ada Rusk, every evening at dusk.\n",
    "ferry.md": "# Ferry\n\nThe Glimmerfen ferry leaves the north pier at 8 o'clock.\n",
}
SOUTH = {
    "lighthouse.md": "# Glimmerfen lighthouse\n\nThe Glimmerfen lighthouse was built in 1923 by the railway company.\n"
                     "Its lamp is lit by the keeper, Tomas Vell, every evening at dusk.\n",
    "ferry.md": "# Ferry\n\nThe Glimmerfen ferry leaves the south quay at 10 o'clock.\n",
}
QUESTIONS = ("when was the Glimmerfen lighthouse built?", "who lights the lamp of the lighthouse?",
             "when does the Glimmerfen ferry leave?")


def write(folder: Path, files: dict[str, str]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (folder / name).write_text(text)
    return folder


def two_collections(root: Path, **overrides) -> Settings:
    north, south = write(root / "north", NORTH), write(root / "south", SOUTH)
    return replace(
        Settings(), index_dir=str(root / "index"), cooldown_seconds=0, feedback_file=str(root / "feedback.jsonl"),
        collections=(Collection("north", (str(north),), (NORTH_GUILD,)),
                     Collection("south", (str(south),), (SOUTH_GUILD,), (SOUTH_CHANNEL_IN_NORTH,))),
        **overrides)


@pytest.fixture(scope="module")
def library(tmp_path_factory, embedder):
    root = tmp_path_factory.mktemp("collections")
    built = Library(two_collections(root, dm_collection="south"), embedder)
    for name in built.names:
        built.service(name).reindex()
        built.service(name).close()
    return built


def cited_folders(answer) -> set[str]:
    return {str(Path(e.citation.file).parent) for e in answer.excerpts}


def assert_isolated(library: Library, place: Place, folder: Path, fact: str) -> None:
    """Every answer given in place cites only folder, and the place's own fact is what it quotes."""
    name = library.route(place)
    answers = [library.open(name).ask(q) for q in QUESTIONS]
    assert all(a.answered for a in answers)
    for answer in answers:
        assert cited_folders(answer) == {str(folder)}, (place, answer.question, cited_folders(answer))
    assert fact in answers[0].excerpts[0].text


def test_each_guild_is_answered_only_from_its_collection(library):
    root = Path(library.settings.index_dir).parent
    assert library.opened() == ()  # nothing is opened before it is asked
    assert_isolated(library, Place(NORTH_GUILD, 1), root / "north", "1871")
    assert library.opened() == ("north",)
    assert_isolated(library, Place(SOUTH_GUILD, 2), root / "south", "1923")
    assert_isolated(library, Place(NORTH_GUILD, SOUTH_CHANNEL_IN_NORTH), root / "south", "1923")  # channel wins
    assert_isolated(library, Place(None, 5), root / "south", "1923")  # direct messages: dm_collection
    assert library.route(Place(OTHER_GUILD, 9)) is None
    assert (Path(library.settings.index_dir) / "north" / "CURRENT").exists()


def test_the_isolation_check_fails_when_the_mapping_is_crossed(library, tmp_path):
    """The canary: with the guilds swapped, the same check must fail, so it can."""
    crossed = replace(library.settings, collections=tuple(
        replace(c, guilds=(SOUTH_GUILD,) if c.name == "north" else (NORTH_GUILD,), channels=())
        for c in library.settings.collections))
    crossed_library = Library(crossed, library.embedder, services={n: library.service(n) for n in library.names})
    root = Path(library.settings.index_dir).parent
    with pytest.raises(AssertionError):
        assert_isolated(crossed_library, Place(NORTH_GUILD, 1), root / "north", "1871")


def test_routing_prefers_channel_then_thread_parent_then_guild_then_default():
    settings = replace(Settings(), collections=(Collection("a", ("x",), (1,), (10,)), Collection("b", ("y",), (2,))),
                       default_collection="b")
    routing = Routing.of(settings)
    assert routing.route(Place(2, 10)) == "a"
    assert routing.route(Place(2, 99, parent_id=10)) == "a"  # a thread under a mapped channel
    assert routing.route(Place(1, 99)) == "a"
    assert routing.route(Place(7, 99)) == "b"  # unmapped guild: the default
    assert routing.route(Place(None, 99)) is None  # no dm_collection
    assert Routing.of(Settings()).route(Place(None)) == Routing.of(Settings()).route(Place(5, 6)) == "default"


def test_idle_collections_close_and_reopen_on_the_next_question(library):
    library.open("north")
    assert "north" in library.opened()
    assert library.close_idle(now=10 ** 9) and "north" not in library.opened()
    assert "1871" in library.open("north").ask(QUESTIONS[0]).excerpts[0].text


class Interaction:
    """A recording stand-in for discord.Interaction, asked from a guild and channel."""

    def __init__(self, guild_id, channel_id=1, manage_guild=True):
        self.guild_id, self.channel_id, self.channel = guild_id, channel_id, SimpleNamespace(id=channel_id)
        self.user = SimpleNamespace(id=42, guild_permissions=SimpleNamespace(manage_guild=manage_guild), roles=[])
        self.sent = []
        outer = self

        class Response:
            async def defer(self, thinking=False, ephemeral=False):
                outer.sent.append(("defer", None, None))

            async def send_message(self, content=None, embed=None, ephemeral=False, view=None):
                outer.sent.append(("response", content, embed))

        class Followup:
            async def send(self, content=None, embed=None, ephemeral=False, view=None):
                outer.sent.append(("followup", content, embed))

        self.response, self.followup = Response(), Followup()


async def test_discord_answers_sources_and_reindex_stay_in_the_place_collection(library):
    cog = CitebotCog(create_bot(library.settings, library, sync_commands=False))
    for guild, channel, fact, wrong in ((NORTH_GUILD, 1, "1871", "1923"), (SOUTH_GUILD, 1, "1923", "1871"),
                                        (NORTH_GUILD, SOUTH_CHANNEL_IN_NORTH, "1923", "1871")):
        asked = Interaction(guild, channel)
        await cog.ask.callback(cog, asked, QUESTIONS[0])
        embed = asked.sent[-1][2]
        text = embed.description + " ".join(f.value for f in embed.fields)
        assert fact in text and wrong not in text
    elsewhere = Interaction(OTHER_GUILD)
    await cog.ask.callback(cog, elsewhere, QUESTIONS[0])
    assert elsewhere.sent == [("response", NO_COLLECTION, None)]

    listed = Interaction(SOUTH_GUILD)
    await cog.sources.callback(cog, listed)
    assert "south/ferry.md" in listed.sent[-1][2].description and "north" not in listed.sent[-1][2].description

    north_generation = library.service("north").status().generation
    south_generation = library.service("south").status().generation
    root = Path(library.settings.index_dir).parent
    (root / "south" / "tide.md").write_text("High tide at the south quay is at noon.\n")
    try:
        admin = Interaction(SOUTH_GUILD)
        await cog.reindex.callback(cog, admin)
        assert "Added 1, changed 0" in admin.sent[-1][1], admin.sent
        assert library.service("south").status().generation == south_generation + 1
        assert library.service("north").status().generation == north_generation  # another server's: untouched
    finally:
        (root / "south" / "tide.md").unlink()
        library.service("south").reindex()


async def test_direct_messages_without_a_dm_collection_get_a_short_reply(library):
    settings = replace(library.settings, dm_collection=None)
    bot = create_bot(settings, Library(settings, library.embedder), sync_commands=False)
    cog = CitebotCog(bot)
    asked = Interaction(None)
    await cog.ask.callback(cog, asked, QUESTIONS[0])
    assert asked.sent == [("response", NO_DM_COLLECTION, None)]


def test_cli_status_index_and_ask_by_collection(library, capsys, tmp_path):
    config = tmp_path / "citebot.yaml"
    settings = library.settings
    config.write_text(json.dumps({
        "index_dir": settings.index_dir,
        "collections": {c.name: {"docs": list(c.docs), "guilds": list(c.guilds)} for c in settings.collections},
    }))
    assert main(["status", "--config", str(config)]) == 0
    out = capsys.readouterr().out
    assert "collection: north" in out and "collection: south" in out and out.count("documents:  2") == 2
    assert main(["ask", "--config", str(config), "--collection", "south", "--json", QUESTIONS[0]]) == 0
    answer = json.loads(capsys.readouterr().out)
    assert "1923" in answer["excerpts"][0]["text"] and all("/south/" in e["citation"]["file"] for e in answer["excerpts"])
    assert main(["ask", "--config", str(config), QUESTIONS[0]]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "choose one with --collection NAME" in err
    assert main(["index", "--config", str(config), "--collection", "north", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["collection"] == "north" and report["documents"] == 2 and not report["wrote"]


@pytest.mark.parametrize("config, message", [
    ("collections:\n  a: {guilds: [1]}\n", "collections.a.docs: a collection needs a docs folder"),
    ("collections:\n  a: {docs: x, guilds: [1]}\n  b: {docs: y, guilds: [1]}\n",
     "collections.b.guilds: guild 1 is already mapped to collection 'a'"),
    ("collections:\n  a: {docs: x, channels: [5]}\n  b: {docs: y, channels: [5]}\n",
     "collections.b.channels: channel 5 is already mapped to collection 'a'"),
    ("collections:\n  a: {docs: x}\ndefault_collection: b\n", "default_collection: no collection named 'b' (configured: a)"),
    ("collections:\n  a: {docs: x}\ndm_collection: nope\n", "dm_collection: no collection named 'nope'"),
    ("collections:\n  ../up: {docs: x}\n", "collections.../up: a collection name is letters, digits, - and _"),
    ("collections:\n  a: {docs: x, guild: [1]}\n", "collections.a: unknown key 'guild'"),
    ("collections:\n  a: {docs: x, guilds: [one]}\n", "collections.a.guilds: ['one'] must be a list of numeric"),
])
def test_bad_collection_config_is_one_line_naming_the_key(tmp_path, config, message):
    path = tmp_path / "citebot.yaml"
    path.write_text(config)
    with pytest.raises(ConfigError) as caught:
        load_settings(str(path), environ={})
    assert message in str(caught.value) and "\n" not in str(caught.value)


def test_a_docs_folder_shared_by_two_collections_is_indexed_for_each(tmp_path, embedder):
    shared = write(tmp_path / "shared", {"a.md": "The shared fact is forty-two.\n"})
    settings = replace(Settings(), index_dir=str(tmp_path / "index"), collections=(
        Collection("one", (str(shared),), (1,)), Collection("two", (str(shared),), (2,))))
    library = Library(settings, embedder)
    for name in library.names:
        assert library.service(name).reindex().documents == 1
    change = [(None, str(shared / "a.md"))]
    assert [s.settings.index_dir for s in affected([library.service(n) for n in library.names], change)] == [
        str(tmp_path / "index" / "one"), str(tmp_path / "index" / "two")]


async def test_mentions_in_a_guild_and_dms_are_answered_from_their_collections(library):
    """Message flow through dpytest: the test guild is mapped to north, DMs go to south."""
    import asyncio

    import discord
    import discord.ext.test as dpytest

    from tests.test_discord_bot import next_reply

    bot = create_bot(library.settings, library, sync_commands=False)
    await bot._async_setup_hook()
    await bot.setup_hook()
    await asyncio.wait_for(bot.warm_up, GUARD_SECONDS)
    bot._connection._intents.members = True
    bot._connection.member_cache_flags = discord.MemberCacheFlags.from_intents(bot._connection._intents)
    dpytest.configure(bot, members=1)
    config = dpytest.get_config()
    library.routing = replace(library.routing, guilds={config.guilds[0].id: "north"})
    try:
        async def reply(content, **where):
            await dpytest.message(content, **where)
            return await next_reply()

        in_guild = await reply(f"<@{bot.user.id}> {QUESTIONS[0]}")
        text = in_guild.embeds[0].description
        assert "1871" in text and "1923" not in text
        member = config.members[0]
        in_dm = await reply(QUESTIONS[0], channel=await member.create_dm(), member=member)
        text = in_dm.embeds[0].description
        assert "1923" in text and "1871" not in text
    finally:
        library.routing = type(library.routing).of(library.settings)
        for task in (bot.idle_closer, *bot.watchers):
            if task is not None:
                task.cancel()
        await dpytest.empty_queue()
