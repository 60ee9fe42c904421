#!/usr/bin/env python3
"""Checks every XML document crier wrote (feeds, RFC 5005 archive
documents, topic feeds, OPML, sitemaps, the Google News sitemap) against
the rules of the W3C Feed Validation Service that apply to them (its
errors and its warnings, as ../shared/FEEDS-FIELD-NOTES.md lists them),
and against sitemaps.org 0.9 and Google News' rules. The service itself
is a web site out of reach here, so its rules are checked one by one.

usage: check_w3c.py CONFIG CONTENT_DIR FEEDS_DIR
Prints "N documents clean (R RSS, A Atom, O OPML, S sitemaps)".
"""
import email.utils
import html.entities
import io
import pathlib
import re
import sys
import tomllib
import urllib.parse
import xml.etree.ElementTree as ET
import xml.sax

import html5lib

ATOM_NS = "http://www.w3.org/2005/Atom"
ATOM = "{" + ATOM_NS + "}"
DC = "{http://purl.org/dc/elements/1.1/}"
SM = "{http://www.sitemaps.org/schemas/sitemap/0.9}"
NEWS = "{http://www.google.com/schemas/sitemap-news/0.9}"
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
RFC822 = re.compile(
    r"^(Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d{1,2} (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)"
    r" \d{4} \d{2}:\d{2}:\d{2} [+-]\d{4}$")
RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$")
W3C_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2}))?$")
LANG = re.compile(r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$")
EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")


class Doc:
    def __init__(self, path, url, problems):
        self.path, self.url, self.problems = path, url, problems

    def bad(self, message):
        self.problems.append(f"{self.path}: {message}")

    def ascii_url(self, value, what):
        if not value or not value.isascii() or " " in value:
            self.bad(f"{what} `{value}` is not an ASCII URL")
        elif not urllib.parse.urlsplit(value).scheme:
            self.bad(f"{what} `{value}` is not absolute")

    def plain(self, text, what):
        if text is None or not text.strip():
            self.bad(f"empty {what}")


# The validator's rules for text (feedvalidator's validators.nonhtml,
# safeHtml and content.textConstruct), by element: (parent, name) with
# the namespace of each, "" for none.
CONTENT_NS = "http://purl.org/rss/1.0/modules/content/"
RSS_TEXT = {(("", p), ("", n)) for p, n in [("channel", "title"), ("channel", "description"),
                                            ("item", "title"), ("item", "category"),
                                            ("channel", "category"), ("image", "title")]}
RSS_HTML = {(("", "item"), ("", "description")), (("", "item"), (CONTENT_NS, "encoded"))}
ATOM_CONSTRUCTS = {"title", "subtitle", "summary", "rights"}
ATOM_NAMES = {(ATOM_NS, "author"), (ATOM_NS, "contributor")}
DANGEROUS = {"script", "iframe", "object", "embed", "form", "style", "meta", "link", "base",
             "applet", "frame", "frameset", "noscript"}
END_TAG = re.compile(r"</(\w+)>")
ENTITY = re.compile(r"&(#?\w+)")
HREF = re.compile(r"""<(?:a\s+href|img\s+[^>]*src)=(?:"(.*?)"|'(.*?)'|([\w-]+))[\s>]""", re.I)


def not_html(value, careful):
    """What the validator says of a plain-text value, or None. `careful`:
    the value's lines spell a reference as `&#x`, which the validator
    takes for plain text written after the RSS Best Practices Profile."""
    if END_TAG.search(value):
        return f"`{value}` should not contain HTML (an end tag)"
    for ref in ENTITY.findall(value):
        if (ref in html.entities.name2codepoint or ref == "apos" or not ref.isalpha()) and not careful:
            return f"`{value}` should not contain HTML (a reference `&{ref}`)"
    return None


def safe_html(value):
    """What the validator says of an HTML value, or None."""
    try:
        fragment = html5lib.HTMLParser(strict=True, namespaceHTMLElements=False).parseFragment(value)
    except html5lib.html5parser.ParseError as e:
        return f"Invalid HTML `{value[:80]}`: {e}"
    for el in fragment.iter():
        if not isinstance(el.tag, str) or el.tag == "DOCUMENT_FRAGMENT":
            continue
        if el.tag.lower() in DANGEROUS:
            return f"should not contain {el.tag} tag"
        for name in el.attrib:
            if name.lower().startswith("on"):
                return f"should not contain {name} attribute"
    for ref in HREF.findall(value):
        ref = html.unescape(next(r for r in ref if r)).strip()
        if not re.match(r"\w+:", ref):
            return f"should not contain relative URL references (`{ref}`)"
    return None


class TextRules(xml.sax.ContentHandler):
    """Applies the text rules to each element of an RSS, Atom or OPML
    document, with the lines it spans in the raw bytes."""

    def __init__(self, doc, lines, rss2):
        super().__init__()
        self.doc, self.lines, self.rss2 = doc, lines, rss2
        self.stack = []  # (name, attrs, first line, text)

    def setDocumentLocator(self, locator):
        self.locator = locator

    def startElementNS(self, name, qname, attrs):
        name = (name[0] or "", name[1])
        attrs = {k[1]: v for k, v in attrs.items() if k[0] is None}
        self.stack.append((name, attrs, self.locator.getLineNumber(), []))
        if name == ("", "outline") or (name == ("", "title") and self.parent() == ("", "head")):
            for key in ("text", "title", "description"):
                if key in attrs:
                    self.html(f"outline {key}", attrs[key])

    def characters(self, content):
        self.stack[-1][3].append(content)

    def parent(self):
        return self.stack[-2][0] if len(self.stack) > 1 else None

    def endElementNS(self, _name, qname):
        parent = self.parent()
        name, attrs, first, parts = self.stack.pop()
        value = "".join(parts)
        careful = any("&#x" in line for line in self.lines[first - 1:self.locator.getLineNumber()])
        where = name[1]
        if (parent, name) in RSS_TEXT or (parent in ATOM_NAMES and name == (ATOM_NS, "name")) or (
                name[0] == ATOM_NS and name[1] in ATOM_CONSTRUCTS and attrs.get("type", "text") == "text"):
            said = not_html(value, careful)
            if said is None and self.rss2 and not careful and re.search(r"&#[x0-9]|<[/a-zA-Z]", value):
                said = f"`{value}`: Encode \"&\" and \"<\" in plain text using hexadecimal character references"
            if said:
                self.doc.bad(f"{where}: {said}")
        elif (parent, name) in RSS_HTML or (name == ("", "title") and parent == ("", "head")) or (
                name[0] == ATOM_NS and name[1] in ATOM_CONSTRUCTS | {"content"} and attrs.get("type") == "html"):
            self.html(where, value)

    def html(self, where, value):
        said = safe_html(value)
        if said:
            self.doc.bad(f"{where}: {said}")


def check_text(doc, raw, rss2):
    handler = TextRules(doc, raw.decode("utf-8").split("\n"), rss2)
    parser = xml.sax.make_parser()
    parser.setFeature(xml.sax.handler.feature_namespaces, True)
    parser.setContentHandler(handler)
    parser.parse(io.BytesIO(raw))


def check_bytes(doc, raw):
    text = raw.decode("utf-8")
    if "<!DOCTYPE" in text or "<!ENTITY" in text:
        doc.bad("DOCTYPE or entity declaration")
    if re.search(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]", text):
        doc.bad("control character")
    declared = re.match(r"<\?xml[^>]*encoding=[\"']([^\"']+)", text)
    if declared and declared.group(1).lower() != "utf-8":
        doc.bad(f"declared {declared.group(1)}, written UTF-8")


def check_rss(doc, root):
    if root.get("version") != "2.0":
        doc.bad("rss version is not 2.0")
    channel = root.find("channel")
    for name in ("title", "link", "description"):
        if channel.find(name) is None or not (channel.findtext(name) or "").strip():
            doc.bad(f"channel without {name}")
    doc.plain(channel.findtext("title"), "channel title")
    lang = channel.findtext("language")
    if lang is None or not LANG.match(lang):
        doc.bad(f"language `{lang}`")
    selfs = [l.get("href") for l in channel.findall(f"{ATOM}link") if l.get("rel") == "self"]
    if selfs != [doc.url]:
        doc.bad(f"atom:link self {selfs}, served at {doc.url}")
    for name in ("pubDate", "lastBuildDate"):
        value = channel.findtext(name)
        if value is not None and not RFC822.match(value):
            doc.bad(f"channel {name} `{value}` is not RFC 822")
    for item in channel.findall("item"):
        title = item.findtext("title")
        if title is None and item.findtext("description") is None:
            doc.bad("item without title or description")
        if title is not None:
            doc.plain(title, "item title")
        if item.find("category") is not None and item.find(f"{DC}subject") is not None:
            doc.bad("An item should not include both category and dc:subject")
        guid = item.find("guid")
        if guid is None:
            doc.bad("item without guid")
        elif guid.get("isPermaLink") != "false":
            doc.ascii_url(guid.text, "permalink guid")
        elif not (guid.text or "").isascii():
            doc.bad(f"guid `{guid.text}` is not ASCII")
        date = item.findtext("pubDate")
        if date is None or not RFC822.match(date) or email.utils.parsedate_tz(date) is None:
            doc.bad(f"pubDate `{date}`")
        doc.ascii_url(item.findtext("link"), "item link")
        author = item.findtext("author")
        if author is not None and not EMAIL.search(author):
            doc.bad(f"author `{author}` is not an e-mail address")
        for enc in item.findall("enclosure"):
            if not (enc.get("length") or "").isdigit() or not enc.get("type"):
                doc.bad("enclosure without length or type")
            doc.ascii_url(enc.get("url"), "enclosure url")


def check_atom(doc, root):
    lang = root.get(XML_LANG)
    if lang is None or not LANG.match(lang):
        doc.bad(f"xml:lang `{lang}`")
    for name in ("id", "title", "updated"):
        if not (root.findtext(f"{ATOM}{name}") or "").strip():
            doc.bad(f"feed without {name}")
    doc.plain(root.findtext(f"{ATOM}title"), "feed title")
    feed_author = root.find(f"{ATOM}author") is not None
    selfs = [l.get("href") for l in root.findall(f"{ATOM}link") if l.get("rel") == "self"]
    if selfs != [doc.url]:
        doc.bad(f"link self {selfs}, served at {doc.url}")
    for date in [root.findtext(f"{ATOM}updated")]:
        if not RFC3339.match(date or ""):
            doc.bad(f"feed updated `{date}` is not RFC 3339")
    for entry in root.findall(f"{ATOM}entry"):
        eid = entry.findtext(f"{ATOM}id") or ""
        for name in ("id", "title", "updated"):
            if not (entry.findtext(f"{ATOM}{name}") or "").strip():
                doc.bad(f"entry {eid} without {name}")
        doc.plain(entry.findtext(f"{ATOM}title"), "entry title")
        if not eid.isascii() or ":" not in eid:
            doc.bad(f"entry id `{eid}` is not an ASCII URI")
        for name in ("updated", "published"):
            value = entry.findtext(f"{ATOM}{name}")
            if value is not None and not RFC3339.match(value):
                doc.bad(f"entry {name} `{value}` is not RFC 3339")
        if not feed_author and entry.find(f"{ATOM}author") is None:
            doc.bad(f"entry {eid} without author, and none on the feed")
        content = entry.find(f"{ATOM}content")
        summary = entry.find(f"{ATOM}summary")
        if content is None and (summary is None or not (summary.text or "").strip()):
            doc.bad(f"entry {eid}: Missing textual content")
        for link in entry.findall(f"{ATOM}link"):
            doc.ascii_url(link.get("href"), "entry link")


def check_opml(doc, root):
    if root.get("version") != "2.0":
        doc.bad("opml version is not 2.0")
    if not (root.findtext("head/title") or "").strip():
        doc.bad("opml without title")
    for name in ("dateCreated", "dateModified"):
        value = root.findtext(f"head/{name}")
        if value is not None and not RFC822.match(value):
            doc.bad(f"{name} `{value}` is not RFC 822")
    outlines = root.findall(".//outline")
    if not outlines:
        doc.bad("opml without outlines")
    for o in outlines:
        if not o.get("text"):
            doc.bad("outline without text")
        if o.get("type") == "rss":
            doc.ascii_url(o.get("xmlUrl"), "xmlUrl")


def check_sitemap(doc, root, base, size):
    host = urllib.parse.urlsplit(base).netloc
    if size > 50 * 1024 * 1024:
        doc.bad("over 50 MB")
    entries = list(root)
    if len(entries) > 50000:
        doc.bad(f"{len(entries)} entries, over 50,000")
    news = 0
    for e in entries:
        loc = e.findtext(f"{SM}loc")
        doc.ascii_url(loc, "loc")
        if loc and urllib.parse.urlsplit(loc).netloc != host:
            doc.bad(f"loc `{loc}` on another host")
        lastmod = e.findtext(f"{SM}lastmod")
        if lastmod is not None and not W3C_DATE.match(lastmod):
            doc.bad(f"lastmod `{lastmod}` is not a W3C datetime")
        n = e.find(f"{NEWS}news")
        if n is None:
            continue
        news += 1
        if not (n.findtext(f"{NEWS}publication/{NEWS}name") or "").strip():
            doc.bad("news:publication without name")
        if n.findtext(f"{NEWS}publication/{NEWS}language") != "zh-cn":
            doc.bad("news:language is not zh-cn")
        if not W3C_DATE.match(n.findtext(f"{NEWS}publication_date") or ""):
            doc.bad("news:publication_date is not a W3C datetime")
        if not (n.findtext(f"{NEWS}title") or "").strip():
            doc.bad("news without title")
    if news > 1000:
        doc.bad(f"{news} news entries, over 1,000")


def main(config, content, feeds):
    base = tomllib.loads(pathlib.Path(config).read_text("utf-8"))["base_url"]
    base = base if base.endswith("/") else base + "/"
    feeds = pathlib.Path(feeds)
    problems, counts = [], {"rss": 0, "atom": 0, "opml": 0, "sitemap": 0}
    for path in sorted(feeds.rglob("*")):
        if path.suffix not in (".xml", ".opml") or not path.is_file():
            continue
        rel = path.relative_to(feeds).as_posix()
        doc = Doc(rel, base + urllib.parse.quote(rel), problems)
        raw = path.read_bytes()
        check_bytes(doc, raw)
        try:
            root = ET.fromstring(raw)
        except ET.ParseError as e:
            doc.bad(f"not well-formed: {e}")
            continue
        if root.tag == "rss":
            counts["rss"] += 1
            check_rss(doc, root)
            check_text(doc, raw, rss2=True)
        elif root.tag == f"{ATOM}feed":
            counts["atom"] += 1
            check_atom(doc, root)
            check_text(doc, raw, rss2=False)
        elif root.tag == "opml":
            counts["opml"] += 1
            check_opml(doc, root)
            check_text(doc, raw, rss2=False)
        elif root.tag in (f"{SM}urlset", f"{SM}sitemapindex"):
            counts["sitemap"] += 1
            check_sitemap(doc, root, base, len(raw))
        else:
            doc.bad(f"unknown root {root.tag}")
    if problems:
        raise SystemExit("\n".join(problems[:40]) + f"\n({len(problems)} problems)")
    total = sum(counts.values())
    print(f"{total} documents clean ({counts['rss']} RSS, {counts['atom']} Atom, "
          f"{counts['opml']} OPML, {counts['sitemap']} sitemaps)")


if __name__ == "__main__":
    main(*sys.argv[1:4])
