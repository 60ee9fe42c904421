#!/usr/bin/env python3
"""Crawls a running crier from `/` as a reader on the web browses it:
following only `<a href>` links (parsed with the standard library's HTML
parser), staying on the site and fetching only HTML pages (feed, OPML and
sitemap links are not followed). Checks that every published article page
of CONTENT_DIR is reached, that every page fetched answers 200, and that
the archive pages' rel="prev" / rel="next" links agree: the page a page
calls "next" calls it "prev".

usage: crawl.py BASE_URL CONTENT_DIR
Prints "reached N of N articles through M pages".
"""
import collections
import html.parser
import pathlib
import sys
import tomllib
import urllib.parse
import urllib.request

NOT_PAGES = (".xml", ".json", ".opml", ".txt")


class Links(html.parser.HTMLParser):
    def __init__(self):
        super().__init__()
        self.hrefs = []
        self.rel = {}

    def handle_starttag(self, tag, attrs):
        if tag != "a":
            return
        a = dict(attrs)
        href = a.get("href")
        if href is None:
            return
        self.hrefs.append(href)
        for rel in (a.get("rel") or "").split():
            self.rel[rel] = href


def published(content):
    urls = set()
    for md in sorted(content.rglob("*.md")):
        text = md.read_text("utf-8")
        if not text.startswith("+++"):
            raise SystemExit(f"{md}: the crawler reads TOML front matter only")
        if tomllib.loads(text.split("+++")[1]).get("draft"):
            continue
        urls.add(md.relative_to(content).with_suffix(".html").as_posix())
    return urls


def main(base, content):
    expected = published(pathlib.Path(content))
    seen, queue = {base}, collections.deque([base])
    rels, articles, problems = {}, set(), []
    while queue:
        url = queue.popleft()
        try:
            with urllib.request.urlopen(url) as r:
                kind = r.headers.get("content-type", "")
                body = r.read().decode("utf-8")
        except Exception as e:  # an HTTP error or a refused connection
            problems.append(f"{url}: {e}")
            continue
        if not kind.startswith("text/html"):
            problems.append(f"{url}: {kind} linked as a page")
            continue
        rel = urllib.parse.unquote(url[len(base):])
        if rel in expected:
            articles.add(rel)
        parser = Links()
        parser.feed(body)
        rels[url] = {k: urllib.parse.urljoin(url, v) for k, v in parser.rel.items()}
        for href in parser.hrefs:
            target = urllib.parse.urljoin(url, href).split("#")[0]
            if not target.startswith(base) or target in seen:
                continue
            if urllib.parse.urlsplit(target).path.endswith(NOT_PAGES):
                continue
            seen.add(target)
            queue.append(target)
    for url, links in rels.items():
        nxt = links.get("next")
        if "/archive/page-" in url and nxt is None:
            problems.append(f"{url}: an archive page without rel=next")
        if nxt in rels and "/archive/page-" in nxt and rels[nxt].get("prev") != url:
            problems.append(f"{url}: next is {nxt}, whose prev is {rels[nxt].get('prev')}")
    missing = sorted(expected - articles)
    if missing:
        problems.append(f"{len(missing)} articles not reached, e.g. {missing[:5]}")
    if problems:
        raise SystemExit("\n".join(problems[:20]))
    print(f"reached {len(articles)} of {len(expected)} articles through {len(rels)} pages")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
