#!/usr/bin/env python3
"""Crawls a running crier's sitemaps with ultimate-sitemap-parser, as a
search engine does: robots.txt, the sitemap index it names, every sitemap
the index names, and the Google News sitemap. Checks that every article
page is listed exactly once with its `updated` as lastmod, that the index
and district pages are listed, and that the news sitemap lists the
articles given as recent.

usage: check_sitemaps.py BASE_URL CONTENT_DIR [RECENT_PATH ...]
RECENT_PATH: content-relative paths of the articles the news sitemap must
list (and no others).
"""
import collections
import pathlib
import sys
import tomllib
import urllib.parse

from usp.objects.page import SitemapPage
from usp.tree import sitemap_tree_for_homepage


def front(path):
    text = path.read_text("utf-8")
    if text.startswith("+++"):
        return tomllib.loads(text.split("+++")[1])
    raise SystemExit(f"{path}: the checker reads TOML front matter only")


def article_url(base, rel):
    page = rel.with_suffix(".html").as_posix()
    return base + urllib.parse.quote(page)


def main(base, content, recent):
    content = pathlib.Path(content)
    tree = sitemap_tree_for_homepage(base, use_known_paths=False)
    pages = list(tree.all_pages())
    if not pages:
        raise SystemExit("no page found through robots.txt")
    counts = collections.Counter(p.url for p in pages if not p.news_story)
    expected = {}
    for md in sorted(content.rglob("*.md")):
        meta = front(md)
        if meta.get("draft"):
            continue
        expected[article_url(base, md.relative_to(content))] = meta
    problems = []
    for url, meta in expected.items():
        if counts[url] != 1:
            problems.append(f"{url}: listed {counts[url]} times")
    by_url = {p.url: p for p in pages if not p.news_story}
    for url, meta in expected.items():
        page = by_url.get(url)
        want = meta.get("updated", meta["date"])
        if page and page.last_modified is None:
            problems.append(f"{url}: no lastmod")
        elif page and hasattr(want, "tzinfo") and want.tzinfo and page.last_modified != want:
            problems.append(f"{url}: lastmod {page.last_modified}, updated {want}")
    for extra in sorted(set(counts) - set(expected)):
        if extra.endswith(".html"):
            problems.append(f"{extra}: listed but no such article")
    for listing in [base] + [base + d.name + "/" for d in content.iterdir() if d.is_dir()]:
        if counts[listing] != 1:
            problems.append(f"{listing}: index page listed {counts[listing]} times")
    news = [p for p in pages if p.news_story]
    want_news = {article_url(base, pathlib.Path(r)) for r in recent}
    got_news = collections.Counter(p.url for p in news)
    if set(got_news) != want_news or any(n != 1 for n in got_news.values()):
        problems.append(f"news sitemap lists {sorted(got_news)}, expected {sorted(want_news)}")
    for p in news:
        story = p.news_story
        title = expected.get(p.url, {}).get("title")
        if story.title != title:
            problems.append(f"{p.url}: news title {story.title!r}, expected {title!r}")
        if not story.publication_name or story.publication_language != "zh-cn":
            problems.append(f"{p.url}: publication {story.publication_name!r} {story.publication_language!r}")
        if story.publish_date is None:
            problems.append(f"{p.url}: no publication date")
    if problems:
        raise SystemExit("\n".join(problems))
    print(f"{len(expected)} articles listed once each; {len(news)} in the news sitemap")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], sys.argv[3:])
