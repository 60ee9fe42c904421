-- When each crier last wrote its counts: how fresh the figures are, and
-- how many replicas count together.
CREATE TABLE reader_flushes (
    replica TEXT NOT NULL PRIMARY KEY,
    flushed_at BIGINT NOT NULL
);
