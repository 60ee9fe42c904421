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


def main(n, out):
    out = pathlib.Path(out)
    if out.exists():
        shutil.rmtree(out)
    (out / "content").mkdir(parents=True)
    shutil.copy(ROOT / "crier.toml", out / "crier.toml")
    rng = random.Random(20230115)
    pool = sentences()
    start = dt.datetime(2015, 1, 1, 8, 0)
    for d in DISTRICTS:
        (out / "content" / d).mkdir()
    for i in range(n):
        d = DISTRICTS[i % len(DISTRICTS)]
        when = start + dt.timedelta(minutes=37 * i)
        body = "\n\n".join("".join(rng.sample(pool, 3)) for _ in range(rng.randint(2, 5)))
        title = rng.choice(pool)[:24].rstrip("，。、")
        (out / "content" / d / f"{i:06d}.md").write_text(
            f"+++\ntitle = \"{title}（{i}）\"\ndate = {when.isoformat()}+08:00\n"
            f"author = \"记者{rng.randint(1, 40)}\"\ntags = [\"{d}\"]\n+++\n\n{body}\n",
            "utf-8",
        )


if __name__ == "__main__":
    main(int(sys.argv[1]), sys.argv[2])
