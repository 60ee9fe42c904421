#!/usr/bin/env python3
"""Writes a corpus of N articles for benchmarks: crier.toml (the sample's
twelve districts) and content/<district>/<n>.md with TOML front matter and
Chinese bodies, from a fixed seed, so every run gets the same corpus. The
same tree builds with Hugo (content/<section>/<file>.md).

With PHOTOS=1 in the environment, one article in five has a photo beside
it (`image = "<n>.png"`, with a caption and a credit): a small real PNG
of its own size (64 to 1024 pixels a side, a few KB), so that reading
its header and publishing it cost what they cost.

usage: [PHOTOS=1] bench/corpus.py N DIR
"""
import os
import struct
import zlib
import datetime as dt
import pathlib
import random
import shutil
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent
DISTRICTS = ["xiaodian", "jiancaoping", "gujiao", "loufan", "yingze", "wanbailin",
             "qingxu", "zonggai", "xinghualing", "jinyuan", "yangqu", "zhongbei"]


def sentences():
    """Sentences of the seed page, as raw material for bodies."""
    seed = (ROOT / "content").rglob("*.md")
    text = "".join(p.read_text("utf-8").split("+++")[-1] for p in sorted(seed))
    parts = [s.strip() + "。" for s in text.replace("\n", "").split("。") if len(s.strip()) > 8]
    return parts


def topics(rng):
    """300 topic names: a few common ones and a long tail."""
    common = ["民生", "经济", "教育", "交通", "环保", "文化", "医疗", "就业", "乡村振兴", "安全生产"]
    return common + [f"话题{i:03d}" for i in range(290)]


def tags_for(rng, names):
    """One to three tags, drawn with weights 1/rank (Zipf): the common
    topics hold thousands of articles, the tail a handful each."""
    weights = [1 / (r + 1) for r in range(len(names))]
    return sorted(set(rng.choices(names, weights, k=rng.randint(1, 3))))


def png(width, height, shade):
    """A real PNG of one colour: signature, IHDR, one IDAT, IEND."""
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    row = b"\x00" + bytes([shade, 255 - shade, 128]) * width
    return (b"\x89PNG\r\n\x1a\n"
            + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(row * height, 9))
            + chunk(b"IEND", b""))


def main(n, out):
    photos = os.environ.get("PHOTOS") == "1"
    out = pathlib.Path(out)
    if out.exists():
        shutil.rmtree(out)
    (out / "content").mkdir(parents=True)
    shutil.copy(ROOT / "crier.toml", out / "crier.toml")
    rng = random.Random(20230115)
    pool = sentences()
    names = topics(rng)
    start = dt.datetime(2015, 1, 1, 8, 0)
    for d in DISTRICTS:
        (out / "content" / d).mkdir()
    for i in range(n):
        d = DISTRICTS[i % len(DISTRICTS)]
        when = start + dt.timedelta(minutes=37 * i)
        body = "\n\n".join("".join(rng.sample(pool, 3)) for _ in range(rng.randint(2, 5)))
        title = rng.choice(pool)[:24].rstrip("，。、")
        tags = ", ".join(f"\"{t}\"" for t in tags_for(rng, names))
        image = ""
        if photos and i % 5 == 0:
            side = 64 * (1 + i % 16)
            (out / "content" / d / f"{i:06d}.png").write_bytes(png(side, side * 3 // 4, i % 256))
            image = (f"image = \"{i:06d}.png\"\nimage_caption = \"{title}\"\n"
                     f"image_credit = \"记者{i % 40 + 1}\"\n")
        (out / "content" / d / f"{i:06d}.md").write_text(
            f"+++\ntitle = \"{title}（{i}）\"\ndate = {when.isoformat()}+08:00\n"
            f"author = \"记者{rng.randint(1, 40)}\"\ntags = [{tags}]\n{image}+++\n\n{body}\n",
            "utf-8",
        )


if __name__ == "__main__":
    main(int(sys.argv[1]), sys.argv[2])
