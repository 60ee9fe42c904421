-- Who reads each feed (docs/readers.md).

-- Each aggregator's latest count of a feed's readers; feed_id is the
-- aggregator's own id of the feed, '' when it sends none.
CREATE TABLE reader_reports (
    feed TEXT NOT NULL,
    aggregator TEXT NOT NULL,
    feed_id TEXT NOT NULL,
    readers BIGINT NOT NULL,
    seen_at BIGINT NOT NULL,
    PRIMARY KEY (feed, aggregator, feed_id)
);

-- The direct readers of today and yesterday: one keyed hash each (of the
-- client's address and User-Agent, with a key of that day that is never
-- stored). Older days are deleted; their counts are in reader_days.
CREATE TABLE direct_readers (
    day BIGINT NOT NULL,
    feed TEXT NOT NULL,
    reader BIGINT NOT NULL,
    PRIMARY KEY (day, feed, reader)
);

-- The daily figures: one row per day (since 1970-01-01, UTC), feed,
-- source (reported, hub, direct) and aggregator ('' but for reported).
CREATE TABLE reader_days (
    day BIGINT NOT NULL,
    feed TEXT NOT NULL,
    source TEXT NOT NULL,
    aggregator TEXT NOT NULL,
    readers BIGINT NOT NULL,
    PRIMARY KEY (day, feed, source, aggregator)
);
