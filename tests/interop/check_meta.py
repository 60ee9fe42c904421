"""Reads every article page crier wrote with extruct (the metadata extractor
search engines' tooling is tested against) and checks the OpenGraph
properties and the one JSON-LD NewsArticle against what the content files
and crier.toml say.

usage: check_meta.py CONFIG CONTENT_DIR FEEDS_DIR
"""
import datetime as dt
import pathlib
import sys
import tomllib
import urllib.parse
import zoneinfo

import extruct

from check_feeds import published, shown, to_datetime


def og_props(page):
    """OpenGraph properties as a list of (property, content), in order."""
    found = extruct.extract(page, syntaxes=["opengraph"], uniform=False)["opengraph"]
    assert len(found) == 1, f"one OpenGraph block expected, got {len(found)}"
    return found[0]["properties"]


def check(config_path, content, feeds):
    config = tomllib.loads(pathlib.Path(config_path).read_text("utf-8"))
    tz = zoneinfo.ZoneInfo(config.get("timezone", "Asia/Shanghai"))
    language = config.get("language", "zh-CN")
    base = config["base_url"].rstrip("/") + "/"
    checked = 0
    for _, rel, district, fm in published(content):
        page_file = pathlib.Path(feeds, rel.with_suffix(".html"))
        page = page_file.read_text("utf-8")
        where = str(page_file)
        url = base + urllib.parse.quote(str(rel.with_suffix(".html")), safe="/-._~")
        date = to_datetime(fm["date"], tz)
        updated = to_datetime(fm.get("updated", fm["date"]), tz)

        props = og_props(page)
        one = {}
        for key, value in props:
            one.setdefault(key, value)
        assert one["og:type"] == "article", where
        title = shown(fm["title"])
        assert one["og:title"] == title, (where, one["og:title"])
        assert one["og:url"] == url, (where, one["og:url"], url)
        assert one["og:site_name"] == config["title"], where
        assert one["og:locale"] == language.replace("-", "_"), where
        assert one["og:description"], f"{where}: empty og:description"
        assert dt.datetime.fromisoformat(one["article:published_time"]) == date, where
        assert dt.datetime.fromisoformat(one["article:modified_time"]) == updated, where
        tags = [v for k, v in props if k == "article:tag"]
        assert tags == list(dict.fromkeys(shown(t) for t in fm.get("tags", []))), (where, tags)
        if district:
            assert one["article:section"] == config["districts"][district]["name"], where
        else:
            assert "article:section" not in one, where
        if "image" in fm:
            assert one["og:image"].startswith(base), (where, one["og:image"])

        lds = extruct.extract(page, syntaxes=["json-ld"])["json-ld"]
        assert len(lds) == 1, f"{where}: one JSON-LD object expected, got {len(lds)}"
        ld = lds[0]
        assert ld["@context"] == "https://schema.org" and ld["@type"] == "NewsArticle", where
        # Search engines cut a headline at 110 characters: crier does, with "…".
        headline = title if len(title) <= 110 else title[:109] + "…"
        assert ld["headline"] == headline, (where, ld["headline"])
        assert "description" not in ld, f"{where}: the summary is in the meta tags already"
        assert dt.datetime.fromisoformat(ld["datePublished"]) == date, where
        assert dt.datetime.fromisoformat(ld["dateModified"]) == updated, where
        logo = {"@type": "ImageObject", "url": base + "logo.svg", "width": 512, "height": 512}
        publisher = {"@type": "Organization", "name": config["title"], "url": base, "logo": logo}
        assert ld["publisher"] == publisher, (where, ld["publisher"])
        assert ld["mainEntityOfPage"]["@id"] == url, where
        assert ld["inLanguage"] == language, where
        if shown(fm.get("author", "")):
            assert ld["author"] == {"@type": "Person", "name": shown(fm["author"])}, (where, ld["author"])
        else:
            # The desk: the district's, or the site's.
            desk = config["title"] + (f" · {config['districts'][district]['name']}" if district else "")
            desk_url = base + (f"{district}/" if district else "")
            assert ld["author"] == {"@type": "Organization", "name": desk, "url": desk_url}, (where, ld["author"])
        if district:
            assert ld["articleSection"] == config["districts"][district]["name"], where
        assert ld.get("keywords", []) == tags, where
        if "image" in fm:
            assert ld["image"] == [one["og:image"]], where
        checked += 1
    print(f"{checked} article pages' metadata OK")


if __name__ == "__main__":
    check(*sys.argv[1:])
