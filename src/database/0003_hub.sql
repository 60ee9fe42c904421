-- The built-in WebSub hub (docs/websub-and-archives.md).

-- Verified subscriptions. failing_since: when deliveries to the callback
-- began to fail (none while they succeed); after 3 days it is dropped.
CREATE TABLE hub_subscriptions (
    topic TEXT NOT NULL,
    callback TEXT NOT NULL,
    host TEXT NOT NULL,
    secret TEXT,
    expires_at BIGINT NOT NULL,
    failing_since BIGINT,
    PRIMARY KEY (topic, callback)
);

-- The latest content of each topic: what every pending delivery of it
-- sends (a subscriber gets the newest version, not each one between).
CREATE TABLE hub_contents (
    topic TEXT NOT NULL PRIMARY KEY,
    version BIGINT NOT NULL,
    digest TEXT NOT NULL,
    content_type TEXT NOT NULL,
    body TEXT NOT NULL
);

-- One pending delivery per subscription (host: its callback's, for the
-- per-host limit). A replica claims it until
-- claimed_until (another takes it after that, if that replica died);
-- since: when it first became due, for the oldest pending one's age.
CREATE TABLE hub_deliveries (
    topic TEXT NOT NULL,
    callback TEXT NOT NULL,
    host TEXT NOT NULL,
    version BIGINT NOT NULL,
    attempts BIGINT NOT NULL,
    next_try BIGINT NOT NULL,
    claimed_until BIGINT NOT NULL,
    since BIGINT NOT NULL,
    PRIMARY KEY (topic, callback)
);

CREATE INDEX hub_deliveries_due ON hub_deliveries (next_try);
