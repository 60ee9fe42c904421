#!/usr/bin/env python3
"""Writes a corpus of N articles for benchmarks: crier.toml (the sample's
twelve districts) and content/<district>/<n>.md with TOML front matter and
Chinese bodies, from a fixed seed, so every run gets the same corpus. The
same tree builds with Hugo (content/<section>/<file>.md).

usage: bench/corpus.py N DIR
"""
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


def main(n, out):
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
        (out / "content" / d / f"{i:06d}.md").write_text(
            f"+++\ntitle = \"{title}（{i}）\"\ndate = {when.isoformat()}+08:00\n"
            f"author = \"记者{rng.randint(1, 40)}\"\ntags = [{tags}]\n+++\n\n{body}\n",
            "utf-8",
        )


if __name__ == "__main__":
    main(int(sys.argv[1]), sys.argv[2])
