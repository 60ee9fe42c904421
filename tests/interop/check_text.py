#!/usr/bin/env python3
"""Reads every title, summary, author, tag and name back as readers read
them and checks each is exactly the text of the content files and
crier.toml (white space runs as one space, ends trimmed, control
characters dropped: docs/content.md), and that none of it became an
element or an attribute anywhere.

- RSS and Atom (every feed and archive document): feedparser, which
  tells whether it took a value as text or as HTML; a reader shows an
  HTML value as the text it renders to.
- JSON Feed: the json module (the format is JSON; its text is text).
- HTML pages: html.parser, as a browser tokenises them: the h1, the
  <title>, the description and OpenGraph meta tags, the JSON-LD
  headline and author, and the text of every link to an article.

usage: check_text.py CONFIG CONTENT_DIR FEEDS_DIR
Prints "N documents read back exactly (R RSS, A Atom, J JSON, H HTML)".
"""
import html.parser
import json
import pathlib
import re
import sys
import tomllib
import urllib.parse

import feedparser

from check_feeds import expected_id, published, shown, text_of

# What crier's pages are made of; anything else came out of a text.
PAGE_TAGS = {
    "html", "head", "meta", "title", "link", "style", "script", "body", "header",
    "nav", "main", "footer", "h1", "h2", "p", "a", "ul", "ol", "li", "time", "span",
    "strong", "section", "article", "figure", "figcaption", "img", "svg", "path",
}
PAGE_ATTRS = {
    "lang", "charset", "name", "content", "property", "rel", "type", "title", "href",
    "datetime", "class", "id", "aria-label", "aria-current", "src", "alt", "width",
    "height", "viewbox", "d", "fill", "hreflang", "aria-hidden", "aria-labelledby", "role",
}


def looks_like_html(s):
    """What feedparser (loosened) and the validator take for HTML."""
    return bool(re.search(r"</\w+>", s) or re.search(r"&#?\w+;", s))


def cut(s, n):
    return s if len(s) <= n else s[: n - 1] + "…"


class Problems(list):
    def same(self, where, what, got, want):
        if got != want:
            self.append(f"{where}: {what} reads {got!r}, written {want!r}")


def load(config_path, content):
    config = tomllib.loads(pathlib.Path(config_path).read_text("utf-8"))
    site = shown(config["title"])
    names = {slug: shown(d["name"]) for slug, d in config["districts"].items()}
    base = config["base_url"].rstrip("/") + "/"
    articles = {}
    for _, rel, district, fm in published(content):
        tags = list(dict.fromkeys(shown(t) for t in fm.get("tags", []) if shown(t)))
        categories = tags + [names[district]] if district and names[district] not in tags else tags
        url = base + urllib.parse.quote(str(rel.with_suffix(".html")), safe="/-._~")
        articles[expected_id(config, rel, fm)] = {
            "file": str(rel), "title": shown(fm["title"]), "url": url,
            "summary": shown(fm["summary"]) if fm.get("summary") else None,
            "author": shown(fm["author"]) if fm.get("author") else None,
            "tags": tags, "categories": sorted(categories),
            "district": names.get(district),
        }
    return site, names, articles


def check_feed(doc, path, site, names, articles, problems):
    d = feedparser.parse(path.read_bytes())
    if d.bozo:
        problems.append(f"{doc}: parse error {d.get('bozo_exception')}")
        return
    parts = doc.split("/")
    title = text_of(d.feed.title_detail, doc, problems)
    if parts[0] in names:
        problems.same(doc, "feed title", title, f"{site} · {names[parts[0]]}")
    elif parts[0] == "topics":
        topics = {t for a in articles.values() for t in a["tags"]}
        if not (title.startswith(f"{site} · ") and title[len(site) + 3:] in topics):
            problems.append(f"{doc}: feed title {title!r} names no topic")
    else:
        problems.same(doc, "feed title", title, site)
    for e in d.entries:
        a = articles.get(e.id)
        if a is None:
            problems.append(f"{doc}: entry {e.id} of no article")
            continue
        where = f"{doc} ({a['file']})"
        problems.same(where, "title", text_of(e.title_detail, where, problems), a["title"])
        # Escaped only when it must be: readers that show titles raw
        # (newsboat, rss-parser) then show every other title right.
        if e.title_detail.type == "text/html" and not looks_like_html(a["title"]):
            problems.append(f"{where}: title {a['title']!r} escaped, though nothing takes it for HTML")
        if a["summary"]:
            problems.same(where, "summary", text_of(e.summary_detail, where, problems), a["summary"])
        if a["author"]:
            problems.same(where, "author", e.get("author"), a["author"])
        problems.same(where, "tags", sorted(t.term for t in e.get("tags", [])), a["categories"])


def check_json(doc, path, site, names, articles, problems):
    feed = json.loads(path.read_bytes())
    for item in feed["items"]:
        a = articles[item["id"]]
        where = f"{doc} ({a['file']})"
        problems.same(where, "title", item["title"], a["title"])
        if a["summary"]:
            problems.same(where, "summary", item["summary"], a["summary"])
        if a["author"]:
            problems.same(where, "author", [x["name"] for x in item["authors"]], [a["author"]])
        problems.same(where, "tags", sorted(item.get("tags", [])), a["categories"])


class Page(html.parser.HTMLParser):
    """The text of a page's h1, title and links, its meta tags, its
    JSON-LD, and every element and attribute it holds."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.tags, self.attrs, self.meta, self.links = [], set(), {}, []
        self.h1, self.title, self.ld, self.canonical = [], [], [], []
        self.open = []  # (tag, attrs) of open text-collecting elements
        # An article's body (after its line of date, author and tags) is
        # Markdown's, sanitised: its elements are not made of a text.
        self.in_article, self.in_body = False, False

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        self.in_article |= tag == "article"
        if not self.in_body:
            self.tags.append(tag)
            self.attrs.update(name for name, _ in attrs)
        if tag == "link" and a.get("rel") == "canonical":
            self.canonical.append(a.get("href"))
        if tag == "meta" and ("property" in a or "name" in a):
            self.meta.setdefault(a.get("property") or a.get("name"), []).append(a.get("content"))
        if tag in ("h1", "title", "a", "script"):
            self.open.append((tag, a, []))

    def handle_endtag(self, tag):
        if tag == "p" and self.in_article and not self.in_body:
            self.in_body = True
        if tag == "article":
            self.in_article = self.in_body = False
        if self.open and self.open[-1][0] == tag:
            tag, a, text = self.open.pop()
            text = "".join(text)
            if tag == "a":
                self.links.append((a.get("href"), " ".join(text.split())))
            elif tag == "script":
                self.ld.append(text)
            else:
                getattr(self, tag).append(text)

    def handle_data(self, data):
        for _, _, text in self.open:
            text.append(data)


def check_page(doc, path, site, names, articles, problems):
    page = Page()
    page.feed(path.read_text("utf-8"))
    page.close()
    strange = set(page.tags) - PAGE_TAGS
    if strange:
        problems.append(f"{doc}: elements made of text: {sorted(strange)}")
    strange = {a for a in page.attrs if a not in PAGE_ATTRS}
    if strange:
        problems.append(f"{doc}: attributes made of text: {sorted(strange)}")
    # Landmarks (one banner, navigation, main content, footer) and the
    # page's own URL as canonical.
    for landmark in ("header", "nav", "main", "footer"):
        if page.tags.count(landmark) != 1:
            problems.append(f"{doc}: {page.tags.count(landmark)} <{landmark}> elements")
    own = doc_url(doc.removesuffix("index.html"), articles)
    problems.same(doc, "rel=canonical", page.canonical, [own])
    if page.tags.count("script") > 1:
        problems.append(f"{doc}: {page.tags.count('script')} script elements")
    by_url = {a["url"]: a for a in articles.values()}
    for href, text in page.links:
        a = by_url.get(href)
        if a is not None and text and text != a["title"]:
            problems.same(doc, f"link to {a['file']}", text, a["title"])
    a = by_url.get(doc_url(doc, articles))
    if a is not None:
        check_article_page(doc, page, a, site, problems)
    elif doc.split("/")[0] in names and doc.endswith("/index.html"):
        problems.same(doc, "h1", page.h1, [names[doc.split("/")[0]]])
    elif doc == "index.html":
        problems.same(doc, "h1", page.h1, [site])


def doc_url(doc, articles):
    any_url = next(iter(articles.values()))["url"]
    base = any_url[: any_url.index("/", len("https://"))] + "/"
    return base + urllib.parse.quote(doc, safe="/-._~")


def check_article_page(doc, page, a, site, problems):
    problems.same(doc, "h1", page.h1, [a["title"]])
    desk = f"{site} · {a['district']}" if a["district"] else site
    problems.same(doc, "<title>", page.title, [f"{a['title']} - {desk}"])
    problems.same(doc, "og:title", page.meta.get("og:title"), [a["title"]])
    if a["summary"]:
        problems.same(doc, "description", page.meta.get("description"), [a["summary"]])
        problems.same(doc, "og:description", page.meta.get("og:description"), [a["summary"]])
    problems.same(doc, "article:tag", page.meta.get("article:tag", []), a["tags"])
    if len(page.ld) != 1:
        problems.append(f"{doc}: {len(page.ld)} JSON-LD scripts")
        return
    ld = json.loads(page.ld[0])
    problems.same(doc, "JSON-LD headline", ld["headline"], cut(a["title"], 110))
    if a["author"]:
        problems.same(doc, "JSON-LD author", ld["author"], {"@type": "Person", "name": a["author"]})
    problems.same(doc, "JSON-LD keywords", ld.get("keywords", []), a["tags"])


def main(config_path, content, feeds):
    site, names, articles = load(config_path, content)
    problems = Problems()
    counts = {"rss": 0, "atom": 0, "json": 0, "html": 0}
    feeds = pathlib.Path(feeds)
    for path in sorted(feeds.rglob("*")):
        doc = path.relative_to(feeds).as_posix()
        if not path.is_file() or doc.startswith("sitemap") or doc.endswith("sitemap.xml"):
            continue
        head = path.read_bytes()[:300]
        if path.suffix == ".xml" and b"<rss" in head:
            counts["rss"] += 1
            check_feed(doc, path, site, names, articles, problems)
        elif path.suffix == ".xml" and b"<feed" in head:
            counts["atom"] += 1
            check_feed(doc, path, site, names, articles, problems)
        elif path.suffix == ".json":
            counts["json"] += 1
            check_json(doc, path, site, names, articles, problems)
        elif path.suffix == ".html":
            counts["html"] += 1
            check_page(doc, path, site, names, articles, problems)
    if problems:
        raise SystemExit("\n".join(problems[:40]) + f"\n({len(problems)} problems)")
    print(f"{sum(counts.values())} documents read back exactly ({counts['rss']} RSS, "
          f"{counts['atom']} Atom, {counts['json']} JSON, {counts['html']} HTML)")


if __name__ == "__main__":
    main(*sys.argv[1:4])
