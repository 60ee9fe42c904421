"""Parses every feed crier wrote with third-party parsers and checks them
against what the content files say.

feedparser (the reference Python parser) reads RSS and Atom; it cannot read
JSON Feed, so feedparser-rs (a feedparser-compatible parser that can) reads
that. (feedparser-rs 0.7 is not used for RSS and Atom: it loses Atom link
hrefs.) Expected ids, titles, dates and counts come from crier.toml and
content/ directly, not from crier.

usage: check_feeds.py CONFIG CONTENT_DIR FEEDS_DIR
"""
import datetime as dt
import html
import json
import pathlib
import sys
import tomllib
import urllib.parse
import zoneinfo

import feedparser
import feedparser_rs


def front_matter(path):
    text = path.read_text("utf-8")
    assert text.startswith("+++\n"), f"{path}: sample content uses TOML front matter"
    return tomllib.loads(text.split("+++\n")[1])


def published(content):
    """(path, path relative to content/, district or None, front matter)
    of every article that is not a draft."""
    for path in sorted(pathlib.Path(content).rglob("*.md")):
        fm = front_matter(path)
        if fm.get("draft"):
            continue
        rel = path.relative_to(content)
        yield path, rel, (rel.parts[0] if len(rel.parts) == 2 else None), fm


def shown(s):
    """A text as crier shows it (body::normalise_space): control
    characters and U+FFFE/U+FFFF dropped, white space runs one space,
    ends trimmed."""
    kept = "".join(c for c in s if c in "\t\n\r" or not (
        ord(c) < 0x20 or 0x7F <= ord(c) <= 0x9F or c in "\ufffe\uffff"))
    return " ".join(kept.split())


def text_of(detail, where, problems):
    """What a reader shows of a feedparser value: one it took for HTML
    (it guesses so in RSS when a value holds a reference or an end tag)
    as the text it renders to, which must hold no element."""
    if detail.type == "text/html":
        if "<" in detail.value:
            problems.append(f"{where}: markup in a text value: {detail.value!r}")
        return html.unescape(detail.value)
    return detail.value


def to_datetime(value, tz):
    if isinstance(value, dt.datetime):
        return value if value.tzinfo else value.replace(tzinfo=tz)
    if isinstance(value, dt.date):
        return dt.datetime(value.year, value.month, value.day, tzinfo=tz)
    raise AssertionError(f"unexpected date {value!r}")


def expected_id(config, rel, fm):
    """The tag URI of the article at `rel` (relative to content/)."""
    if fm.get("id"):
        return fm["id"]
    tz = zoneinfo.ZoneInfo(config.get("timezone", "Asia/Shanghai"))
    date = to_datetime(fm["date"], tz)
    local = f"{rel.parts[0]}/" if len(rel.parts) == 2 else ""
    return "tag:{},{}:{}{}".format(
        config["id_authority"], date.strftime("%Y-%m-%d"), local, urllib.parse.quote(rel.stem, safe="-._~")
    )


def expected(config_path, content):
    config = tomllib.loads(pathlib.Path(config_path).read_text("utf-8"))
    tz = zoneinfo.ZoneInfo(config.get("timezone", "Asia/Shanghai"))
    scopes = {"": []}
    scopes.update({slug: [] for slug in config["districts"]})
    for _, rel, district, fm in published(content):
        date = to_datetime(fm["date"], tz)
        ident = expected_id(config, rel, fm)
        item = {"id": ident, "title": shown(fm["title"]), "date": date}
        scopes[""].append(item)
        if district:
            scopes[district].append(item)
    limit = config.get("feed_limit", 50)
    for items in scopes.values():
        items.sort(key=lambda i: i["id"])
        items.sort(key=lambda i: i["date"], reverse=True)
        del items[limit:]
    return config, scopes


def entry_date(entry):
    parsed = entry.get("published_parsed")
    assert parsed, f"entry {entry.get('id')} has no readable date"
    return dt.datetime(*parsed[:6], tzinfo=dt.timezone.utc)


def check(config_path, content, feeds):
    config, scopes = expected(config_path, content)
    base = config["base_url"].rstrip("/") + "/"
    checked = 0
    for scope, items in scopes.items():
        prefix = f"{scope}/" if scope else ""
        for name, parsers, version in [
            ("rss.xml", [feedparser.parse], "rss20"),
            ("atom.xml", [feedparser.parse], "atom10"),
            ("feed.json", [feedparser_rs.parse], "json11"),
        ]:
            data = (pathlib.Path(feeds) / prefix / name).read_bytes()
            for parse in parsers:
                where = f"{prefix}{name} ({parse.__module__})"
                d = parse(data)
                assert not d.bozo, f"{where}: parse error {d.get('bozo_exception')}"
                assert d.version == version, f"{where}: version {d.version}"
                assert d.feed.get("language") == config.get("language", "zh-CN"), f"{where}: language"
                if name != "feed.json":
                    selfs = [l.href for l in d.feed.get("links", []) if l.get("rel") == "self"]
                    assert selfs == [base + prefix + name], f"{where}: self link {selfs}"
                # feedparser-rs escapes `&` in titles; undo that, and check the
                # exact JSON titles with the json module below.
                problems = []
                if parse is feedparser_rs.parse:
                    got = [(e.id, html.unescape(e.title), entry_date(e)) for e in d.entries]
                else:
                    got = [(e.id, text_of(e.title_detail, where, problems), entry_date(e)) for e in d.entries]
                assert not problems, problems
                want = [(i["id"], i["title"], i["date"].astimezone(dt.timezone.utc)) for i in items]
                assert len(got) == len(want), f"{where}: {len(got)} items, expected {len(want)}"
                for g, w in zip(got, want):
                    assert g == w, f"{where}: got {g}, expected {w}"
                checked += 1
            if name == "feed.json":
                titles = [i["title"] for i in json.loads(data)["items"]]
                assert titles == [i["title"] for i in items], f"{prefix}{name}: titles {titles}"
    print(f"{checked} feed parses OK across {len(scopes)} scopes")


if __name__ == "__main__":
    check(*sys.argv[1:4])
