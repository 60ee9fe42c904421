#!/usr/bin/env python3
"""Every topic feed in feeds/topics/ read by feedparser (RSS, Atom) and
json (JSON Feed): no parse error, the item ids are those of the same
articles in the combined feeds, and each topic's item count is the
number of content files tagged with it (case and Unicode normalisation
folded).

usage: check_topics.py CRIER_TOML CONTENT_DIR FEEDS_DIR
"""
import json
import pathlib
import sys
import tomllib
import unicodedata

import feedparser


def key(tag):
    return unicodedata.normalize("NFC", unicodedata.normalize("NFC", tag).lower())


def main(_config, content, feeds):
    content, feeds = pathlib.Path(content), pathlib.Path(feeds)
    expected = {}
    for md in content.rglob("*.md"):
        meta = tomllib.loads(md.read_text("utf-8").split("+++")[1])
        for k in {key(t) for t in meta.get("tags", []) if "/" not in t and not t.startswith(".")}:
            expected[k] = expected.get(k, 0) + 1
    everything = {e.id for e in feedparser.parse(str(feeds / "atom.xml")).entries}
    problems, checked = [], 0
    topics = sorted(p for p in (feeds / "topics").iterdir() if p.is_dir())
    if {p.name for p in topics} != set(expected):
        problems.append(f"topics {sorted(p.name for p in topics)}, expected {sorted(expected)}")
    for t in topics:
        want = min(expected.get(t.name, 0), 50)
        for name in ["rss.xml", "atom.xml"]:
            d = feedparser.parse(str(t / name))
            if d.bozo:
                problems.append(f"{t.name}/{name}: {d.bozo_exception}")
            ids = {e.id for e in d.entries}
            if len(d.entries) != want or not ids <= everything:
                problems.append(f"{t.name}/{name}: {len(d.entries)} items, want {want}; ids {ids - everything} not in atom.xml")
            checked += 1
        j = json.loads((t / "feed.json").read_text("utf-8"))
        if {i["id"] for i in j["items"]} - everything or len(j["items"]) != want:
            problems.append(f"{t.name}/feed.json: wrong items")
        checked += 1
    if problems:
        raise SystemExit("\n".join(problems))
    print(f"{checked} topic feed parses OK")


if __name__ == "__main__":
    main(*sys.argv[1:4])
