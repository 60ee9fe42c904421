//! The readers' tables (`src/database/0001_readers.sql`): what a flush
//! writes, in one transaction (on PostgreSQL one replica's at a time),
//! and the rows the figures are made from.

use std::collections::HashMap;
use std::sync::Arc;

use sqlx::Any;
use sqlx::any::AnyArguments;
use sqlx::query::Query;

use super::figures::{DayRow, Figures};
use super::{Pending, REPORT_HOLDS, day_of};
use crate::database::{AssertSqlSafe, Database, Row, placeholders};

/// Rows per multi-row insert: well under both databases' parameter limits.
const ROWS: usize = 300;

/// Days of figures read: the chart's 90 and the 30-day change, with room.
const DAYS_READ: i64 = 100;

/// Serializes the replicas' flushes on PostgreSQL (each rewrites today's
/// figures from the shared tables).
const FLUSH_LOCK: i64 = 0x6372_6965_7201;

fn statement(sql: String) -> Query<'static, Any, AnyArguments> {
    sqlx::query(AssertSqlSafe(sql))
}

/// Writes what was counted, `hub` (the built-in hub's subscriptions per
/// feed, when there is one) and this replica's flush, and makes today's
/// figures (and those of any earlier day counted) from the shared tables.
pub async fn write(
    db: &Database,
    pending: &Pending,
    hub: Option<&HashMap<Arc<str>, u64>>,
    replica: &str,
    now: i64,
) -> Result<(), sqlx::Error> {
    let today = day_of(now);
    let mut tx = db.pool().begin().await?;
    if db.is_postgres() {
        sqlx::query("SELECT pg_advisory_xact_lock($1)")
            .bind(FLUSH_LOCK)
            .execute(&mut *tx)
            .await?;
    }
    write_counts(&mut tx, pending).await?;
    let mut days: Vec<i64> = pending.direct.iter().map(|d| d.day).collect();
    days.push(today);
    days.sort_unstable();
    days.dedup();
    write_days(&mut tx, &days, today, now).await?;
    if let Some(hub) = hub {
        write_hub(&mut tx, hub, today).await?;
    }
    sqlx::query(
        "INSERT INTO reader_flushes (replica, flushed_at) VALUES ($1, $2) \
         ON CONFLICT (replica) DO UPDATE SET flushed_at = excluded.flushed_at",
    )
    .bind(replica.to_string())
    .bind(now)
    .execute(&mut *tx)
    .await?;
    sqlx::query("DELETE FROM reader_flushes WHERE flushed_at < $1")
        .bind(now - REPORT_HOLDS)
        .execute(&mut *tx)
        .await?;
    tx.commit().await
}

type Tx = sqlx::Transaction<'static, Any>;

/// The reports (the latest of each stands) and the direct readers'
/// hashes (each once a day).
async fn write_counts(tx: &mut Tx, pending: &Pending) -> Result<(), sqlx::Error> {
    for chunk in pending.reports.chunks(ROWS) {
        let rows: Vec<String> = (0..chunk.len())
            .map(|i| placeholders(i * 5 + 1, 5))
            .collect();
        let mut q = statement(format!(
            "INSERT INTO reader_reports (feed, aggregator, feed_id, readers, seen_at) VALUES {} \
             ON CONFLICT (feed, aggregator, feed_id) DO UPDATE \
             SET readers = excluded.readers, seen_at = excluded.seen_at \
             WHERE excluded.seen_at >= reader_reports.seen_at",
            rows.join(", ")
        ));
        for r in chunk {
            q = q
                .bind(r.feed.to_string())
                .bind(r.aggregator.as_str())
                .bind(r.feed_id.clone())
                .bind(r.readers as i64)
                .bind(r.at);
        }
        q.execute(&mut **tx).await?;
    }
    for chunk in pending.direct.chunks(ROWS) {
        let rows: Vec<String> = (0..chunk.len())
            .map(|i| placeholders(i * 3 + 1, 3))
            .collect();
        let mut q = statement(format!(
            "INSERT INTO direct_readers (day, feed, reader) VALUES {} ON CONFLICT DO NOTHING",
            rows.join(", ")
        ));
        for d in chunk {
            // The hash's 64 bits as the column's signed ones.
            q = q.bind(d.day).bind(d.feed.to_string()).bind(d.reader as i64);
        }
        q.execute(&mut **tx).await?;
    }
    Ok(())
}

/// The daily figures of `days` from the shared tables, and what no
/// longer counts deleted.
async fn write_days(tx: &mut Tx, days: &[i64], today: i64, now: i64) -> Result<(), sqlx::Error> {
    for day in days {
        // A day's distinct readers only grow: an earlier day's hashes may
        // be gone, its figure stays.
        sqlx::query(
            "INSERT INTO reader_days (day, feed, source, aggregator, readers) \
             SELECT day, feed, 'direct', '', COUNT(*) FROM direct_readers WHERE day = $1 GROUP BY day, feed \
             ON CONFLICT (day, feed, source, aggregator) DO UPDATE SET readers = \
             CASE WHEN excluded.readers > reader_days.readers THEN excluded.readers ELSE reader_days.readers END",
        )
        .bind(*day)
        .execute(&mut **tx)
        .await?;
    }
    sqlx::query("DELETE FROM reader_reports WHERE seen_at <= $1")
        .bind(now - REPORT_HOLDS)
        .execute(&mut **tx)
        .await?;
    sqlx::query("DELETE FROM direct_readers WHERE day < $1")
        .bind(today - 1)
        .execute(&mut **tx)
        .await?;
    sqlx::query("DELETE FROM reader_days WHERE day = $1 AND source = 'reported'")
        .bind(today)
        .execute(&mut **tx)
        .await?;
    sqlx::query(
        "INSERT INTO reader_days (day, feed, source, aggregator, readers) \
         SELECT $1, feed, 'reported', aggregator, CAST(SUM(readers) AS BIGINT) \
         FROM reader_reports GROUP BY feed, aggregator",
    )
    .bind(today)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Today's hub figures: the subscriptions now.
async fn write_hub(
    tx: &mut Tx,
    hub: &HashMap<Arc<str>, u64>,
    today: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM reader_days WHERE day = $1 AND source = 'hub'")
        .bind(today)
        .execute(&mut **tx)
        .await?;
    let hub: Vec<_> = hub.iter().filter(|(_, n)| **n > 0).collect();
    for chunk in hub.chunks(ROWS) {
        let rows: Vec<String> = (0..chunk.len())
            .map(|i| {
                format!(
                    "(${}, ${}, 'hub', '', ${})",
                    i * 3 + 1,
                    i * 3 + 2,
                    i * 3 + 3
                )
            })
            .collect();
        let mut q = statement(format!(
            "INSERT INTO reader_days (day, feed, source, aggregator, readers) VALUES {}",
            rows.join(", ")
        ));
        for (feed, n) in chunk {
            q = q.bind(today).bind(feed.to_string()).bind(**n as i64);
        }
        q.execute(&mut **tx).await?;
    }
    Ok(())
}

/// The figures as of `now`: the daily rows of the last 100 days and the
/// replicas' flushes.
pub async fn read_figures(db: &Database, now: i64) -> Result<Figures, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT day, feed, source, aggregator, readers FROM reader_days WHERE day > $1",
    )
    .bind(day_of(now) - DAYS_READ)
    .fetch_all(db.pool())
    .await?;
    let mut days = Vec::with_capacity(rows.len());
    for row in rows {
        days.push(DayRow {
            day: row.try_get(0)?,
            feed: row.try_get(1)?,
            source: row.try_get(2)?,
            aggregator: row.try_get(3)?,
            readers: row.try_get(4)?,
        });
    }
    let flushes = sqlx::query("SELECT flushed_at FROM reader_flushes")
        .fetch_all(db.pool())
        .await?;
    let mut flushed = Vec::with_capacity(flushes.len());
    for row in flushes {
        flushed.push(row.try_get::<i64, _>(0)?);
    }
    Ok(Figures::from_rows(days, &flushed, now))
}

#[cfg(test)]
mod tests {
    use super::super::{Counts, Secret};
    use super::*;
    use crate::database::Location;

    const DAY: i64 = 86_400;
    const FEEDLY: &str = "Feedly/1.0 (poller; 131 subscribers;)";

    async fn sqlite() -> (tempfile::TempDir, Database) {
        let dir = tempfile::tempdir().unwrap();
        let db = Database::open(&Location::of(None, dir.path()))
            .await
            .unwrap();
        (dir, db)
    }

    /// Writes what `counts` holds at `now` and reads the figures of `feed`.
    async fn flush(db: &Database, counts: &mut Counts, now: i64) -> Figures {
        write(db, &counts.take(), None, "test", now).await.unwrap();
        read_figures(db, now).await.unwrap()
    }

    fn total(f: &Figures, feed: &str) -> Option<(u64, u64, u64)> {
        let f = f.feeds.iter().find(|x| x.feed == feed)?;
        Some((f.reported.values().sum(), f.direct, f.total))
    }

    #[tokio::test]
    async fn a_report_expires_7_days_after_its_aggregator_last_polled() {
        let (_dir, db) = sqlite().await;
        let t0 = 1_000 * DAY + 3_600;
        let mut c = Counts::new(Secret::from_setting("k"), t0);
        c.fetched("/rss.xml", b"1", FEEDLY, t0);
        c.fetched("/rss.xml", b"2", "newsboat", t0);
        assert_eq!(
            total(&flush(&db, &mut c, t0).await, "/rss.xml"),
            Some((131, 1, 132))
        );
        let held = flush(&db, &mut c, t0 + REPORT_HOLDS - 1).await;
        assert_eq!(
            total(&held, "/rss.xml"),
            Some((131, 0, 131)),
            "held; yesterday's readers gone"
        );
        let gone = flush(&db, &mut c, t0 + REPORT_HOLDS).await;
        assert_eq!(total(&gone, "/rss.xml"), Some((0, 0, 0)));
        let f = gone.feeds.iter().find(|x| x.feed == "/rss.xml").unwrap();
        assert_eq!(f.change_7_days, Some(-132), "a week before it was 132");
    }

    #[tokio::test]
    async fn direct_readers_across_the_day_and_its_rollover() {
        let (_dir, db) = sqlite().await;
        let t0 = 2_000 * DAY + 100;
        let mut c = Counts::new(Secret::from_setting("k"), t0);
        for i in 0..3u8 {
            c.fetched("/rss.xml", &[i], "newsboat", t0 + i64::from(i) * 3_600);
        }
        assert_eq!(
            total(&flush(&db, &mut c, t0 + 10_000).await, "/rss.xml"),
            Some((0, 3, 3))
        );
        // Past midnight: one reader so far today; yesterday's 3 stand.
        let t1 = t0 + DAY;
        c.fetched("/rss.xml", &[0], "newsboat", t1);
        let f = flush(&db, &mut c, t1).await;
        assert_eq!(total(&f, "/rss.xml"), Some((0, 3, 3)));
        let daily: Vec<_> = f.feeds[0].daily.iter().map(|d| d.direct).collect();
        assert_eq!(
            daily,
            [3, 3],
            "the day's own count, the latest the more of two days"
        );
        // A counted reader written late (the database was down at
        // midnight) still counts for its own day.
        c.fetched("/rss.xml", &[9], "newsboat", t1 + 60);
        let late = c.take();
        let f = {
            let mut p = late;
            p.direct[0].day -= 1;
            write(&db, &p, None, "test", t1 + 120).await.unwrap();
            read_figures(&db, t1 + 120).await.unwrap()
        };
        assert_eq!(f.feeds[0].daily[0].direct, 4);
        // Two days on, nothing is left of them.
        let f = flush(&db, &mut c, t1 + 2 * DAY).await;
        assert_eq!(total(&f, "/rss.xml"), Some((0, 0, 0)));
        let stored: i64 = sqlx::query("SELECT COUNT(*) FROM direct_readers")
            .fetch_one(db.pool())
            .await
            .unwrap()
            .get(0);
        assert_eq!(stored, 0, "old hashes are deleted");
    }

    #[tokio::test]
    async fn two_servers_on_one_database_count_together() {
        let (_dir, db) = sqlite().await;
        let t0 = 3_000 * DAY;
        let mut a = Counts::new(Secret::from_setting("shared"), t0);
        let mut b = Counts::new(Secret::from_setting("shared"), t0);
        for c in [&mut a, &mut b] {
            c.fetched("/rss.xml", b"reader", "newsboat", t0);
            c.fetched("/rss.xml", b"x", FEEDLY, t0);
        }
        b.fetched("/rss.xml", b"other", "newsboat", t0);
        write(&db, &a.take(), None, "a", t0).await.unwrap();
        write(&db, &b.take(), None, "b", t0 + 1).await.unwrap();
        let f = read_figures(&db, t0 + 2).await.unwrap();
        assert_eq!(total(&f, "/rss.xml"), Some((131, 2, 133)));
        assert_eq!(f.replicas, 2);
    }
}
