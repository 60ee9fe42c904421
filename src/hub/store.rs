//! The hub's tables (`src/database/0003_hub.sql`): subscriptions, the
//! latest content of each topic, and one pending delivery per
//! subscription, claimed by one server at a time. Every function takes
//! the time, so that tests can move it.

use std::collections::BTreeMap;

use super::Subscription;
use crate::database::{AssertSqlSafe, Database, Row};

/// The first retry waits this long; each next one twice as long.
pub const FIRST_RETRY: i64 = 15;
/// The longest wait between two tries.
pub const LONGEST_WAIT: i64 = 86_400;
/// A callback that has failed this long is dropped.
pub const GIVE_UP_AFTER: i64 = 3 * 86_400;

/// The wait after the `attempts`-th failed try: 15 s doubling, up to a day.
pub fn backoff(attempts: i64) -> i64 {
    let doublings = attempts.saturating_sub(1).clamp(0, 20) as u32;
    (FIRST_RETRY << doublings).min(LONGEST_WAIT)
}

/// A delivery claimed by this server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Claimed {
    pub topic: String,
    pub callback: String,
    pub host: String,
    pub version: i64,
    pub attempts: i64,
}

/// A topic's latest content.
#[derive(Debug, Clone)]
pub struct Content {
    pub version: i64,
    pub content_type: String,
    pub body: bytes::Bytes,
}

/// What a failed try led to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failed {
    /// Tried again at this time.
    Retry(i64),
    /// The callback has failed for 3 days: its subscription is dropped.
    Dropped,
}

/// The host of a callback URL ('' when it has none).
pub fn host_of(callback: &str) -> String {
    url::Url::parse(callback)
        .ok()
        .and_then(|u| u.host_str().map(str::to_ascii_lowercase))
        .unwrap_or_default()
}

/// Adds or renews a verified subscription.
pub async fn subscribe(db: &Database, sub: &Subscription) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO hub_subscriptions (topic, callback, host, secret, expires_at, failing_since) \
         VALUES ($1, $2, $5, $3, $4, NULL) ON CONFLICT (topic, callback) DO UPDATE \
         SET secret = excluded.secret, expires_at = excluded.expires_at",
    )
    .bind(sub.topic.clone())
    .bind(sub.callback.clone())
    .bind(sub.secret.clone())
    .bind(sub.expires as i64)
    .bind(host_of(&sub.callback))
    .execute(db.pool())
    .await?;
    Ok(())
}

/// Ends a subscription and its pending delivery.
pub async fn unsubscribe(db: &Database, topic: &str, callback: &str) -> Result<(), sqlx::Error> {
    let mut tx = db.pool().begin().await?;
    for table in ["hub_deliveries", "hub_subscriptions"] {
        sqlx::query(AssertSqlSafe(format!(
            "DELETE FROM {table} WHERE topic = $1 AND callback = $2"
        )))
        .bind(topic.to_string())
        .bind(callback.to_string())
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await
}

/// Active subscriptions by topic.
pub async fn active(db: &Database, now: i64) -> Result<BTreeMap<String, u64>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT topic, COUNT(*) FROM hub_subscriptions WHERE expires_at > $1 GROUP BY topic",
    )
    .bind(now)
    .fetch_all(db.pool())
    .await?;
    let mut out = BTreeMap::new();
    for row in rows {
        out.insert(row.try_get(0)?, row.try_get::<i64, _>(1)?.max(0) as u64);
    }
    Ok(out)
}

/// Drops expired subscriptions and their deliveries.
pub async fn expire(db: &Database, now: i64) -> Result<(), sqlx::Error> {
    let mut tx = db.pool().begin().await?;
    sqlx::query(
        "DELETE FROM hub_deliveries WHERE (topic, callback) IN \
         (SELECT topic, callback FROM hub_subscriptions WHERE expires_at <= $1)",
    )
    .bind(now)
    .execute(&mut *tx)
    .await?;
    sqlx::query("DELETE FROM hub_subscriptions WHERE expires_at <= $1")
        .bind(now)
        .execute(&mut *tx)
        .await?;
    tx.commit().await
}

/// A new content of `topic`: kept as its latest, and a delivery of it
/// due now for each active subscriber (replacing one not yet made). The
/// same bytes again (another replica saw the same change) are no new
/// version: none is queued. The version, when it is new.
pub async fn publish(
    db: &Database,
    topic: &str,
    content_type: &str,
    body: &str,
    now: i64,
) -> Result<Option<i64>, sqlx::Error> {
    let digest = crate::fingerprint::hex(&<sha2::Sha256 as sha2::Digest>::digest(body.as_bytes()));
    let mut tx = db.pool().begin().await?;
    let version = sqlx::query(
        "INSERT INTO hub_contents (topic, version, digest, content_type, body) \
         VALUES ($1, 1, $2, $3, $4) ON CONFLICT (topic) DO UPDATE \
         SET version = hub_contents.version + 1, digest = excluded.digest, \
         content_type = excluded.content_type, body = excluded.body \
         WHERE hub_contents.digest <> excluded.digest RETURNING version",
    )
    .bind(topic.to_string())
    .bind(digest)
    .bind(content_type.to_string())
    .bind(body.to_string())
    .fetch_optional(&mut *tx)
    .await?;
    let Some(row) = version else {
        return Ok(None);
    };
    let version: i64 = row.try_get(0)?;
    sqlx::query(
        "INSERT INTO hub_deliveries (topic, callback, host, version, attempts, next_try, claimed_until, since) \
         SELECT topic, callback, host, $2, 0, $3, 0, $3 FROM hub_subscriptions \
         WHERE topic = $1 AND expires_at > $3 \
         ON CONFLICT (topic, callback) DO UPDATE \
         SET version = excluded.version, attempts = 0, next_try = excluded.next_try",
    )
    .bind(topic.to_string())
    .bind(version)
    .bind(now)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(Some(version))
}

/// Claims up to `limit` deliveries due at `now` (none to the hosts in
/// `busy`) until `until`: no other server takes them before then (on
/// PostgreSQL the rows another server is claiming are skipped, not
/// waited for).
pub async fn claim(
    db: &Database,
    now: i64,
    until: i64,
    limit: usize,
    busy: &[String],
) -> Result<Vec<Claimed>, sqlx::Error> {
    let lock = if db.is_postgres() {
        " FOR UPDATE SKIP LOCKED"
    } else {
        ""
    };
    let hosts: Vec<String> = (0..busy.len()).map(|i| format!("${}", i + 4)).collect();
    let but = if busy.is_empty() {
        String::new()
    } else {
        format!(" AND host NOT IN ({})", hosts.join(", "))
    };
    let mut q = sqlx::query(AssertSqlSafe(format!(
        "UPDATE hub_deliveries SET claimed_until = $1 WHERE (topic, callback) IN \
         (SELECT topic, callback FROM hub_deliveries WHERE next_try <= $2 AND claimed_until <= $2{but} \
         ORDER BY next_try LIMIT $3{lock}) RETURNING topic, callback, host, version, attempts"
    )))
    .bind(until)
    .bind(now)
    .bind(limit as i64);
    for host in busy {
        q = q.bind(host.clone());
    }
    let rows = q.fetch_all(db.pool()).await?;
    let mut out = Vec::with_capacity(rows.len());
    for row in rows {
        out.push(Claimed {
            topic: row.try_get(0)?,
            callback: row.try_get(1)?,
            host: row.try_get(2)?,
            version: row.try_get(3)?,
            attempts: row.try_get(4)?,
        });
    }
    Ok(out)
}

/// The secret of a subscription; `None` when it is gone.
pub async fn secret(
    db: &Database,
    topic: &str,
    callback: &str,
) -> Result<Option<Option<String>>, sqlx::Error> {
    let row =
        sqlx::query("SELECT secret FROM hub_subscriptions WHERE topic = $1 AND callback = $2")
            .bind(topic.to_string())
            .bind(callback.to_string())
            .fetch_optional(db.pool())
            .await?;
    row.map(|r| r.try_get(0)).transpose()
}

/// A topic's latest content.
pub async fn content(db: &Database, topic: &str) -> Result<Option<Content>, sqlx::Error> {
    let row = sqlx::query("SELECT version, content_type, body FROM hub_contents WHERE topic = $1")
        .bind(topic.to_string())
        .fetch_optional(db.pool())
        .await?;
    match row {
        Some(r) => Ok(Some(Content {
            version: r.try_get(0)?,
            content_type: r.try_get(1)?,
            body: bytes::Bytes::from(r.try_get::<String, _>(2)?),
        })),
        None => Ok(None),
    }
}

/// `version` was delivered: the delivery is done, unless a newer version
/// came meanwhile (then it is due at once), and the callback is fine.
pub async fn delivered(db: &Database, d: &Claimed, version: i64) -> Result<(), sqlx::Error> {
    let mut tx = db.pool().begin().await?;
    let key = |sql: &'static str| {
        sqlx::query(sql)
            .bind(d.topic.clone())
            .bind(d.callback.clone())
    };
    key("DELETE FROM hub_deliveries WHERE topic = $1 AND callback = $2 AND version <= $3")
        .bind(version)
        .execute(&mut *tx)
        .await?;
    key("UPDATE hub_deliveries SET claimed_until = 0, attempts = 0 WHERE topic = $1 AND callback = $2")
        .execute(&mut *tx)
        .await?;
    key("UPDATE hub_subscriptions SET failing_since = NULL WHERE topic = $1 AND callback = $2")
        .execute(&mut *tx)
        .await?;
    tx.commit().await
}

/// Claimed deliveries given back untried, due again at `at`.
pub async fn release(db: &Database, given: &[Claimed], at: i64) -> Result<(), sqlx::Error> {
    for chunk in given.chunks(500) {
        let keys: Vec<String> = (0..chunk.len())
            .map(|i| format!("(${}, ${})", i * 2 + 2, i * 2 + 3))
            .collect();
        let mut q = sqlx::query(AssertSqlSafe(format!(
            "UPDATE hub_deliveries SET claimed_until = 0, next_try = $1 WHERE (topic, callback) IN ({})",
            keys.join(", ")
        )))
        .bind(at);
        for d in chunk {
            q = q.bind(d.topic.clone()).bind(d.callback.clone());
        }
        q.execute(db.pool()).await?;
    }
    Ok(())
}

/// A try failed at `now`: tried again after the backoff, or, when the
/// callback has failed for 3 days, its subscription dropped.
pub async fn failed(db: &Database, d: &Claimed, now: i64) -> Result<Failed, sqlx::Error> {
    let mut tx = db.pool().begin().await?;
    let since = sqlx::query(
        "UPDATE hub_subscriptions SET failing_since = COALESCE(failing_since, $3) \
         WHERE topic = $1 AND callback = $2 RETURNING failing_since",
    )
    .bind(d.topic.clone())
    .bind(d.callback.clone())
    .bind(now)
    .fetch_optional(&mut *tx)
    .await?;
    let since: i64 = match since {
        Some(row) => row.try_get(0)?,
        None => now,
    };
    if now - since >= GIVE_UP_AFTER {
        tx.commit().await?;
        unsubscribe(db, &d.topic, &d.callback).await?;
        return Ok(Failed::Dropped);
    }
    let next = now + backoff(d.attempts + 1);
    sqlx::query(
        "UPDATE hub_deliveries SET attempts = attempts + 1, next_try = $3, claimed_until = 0 \
         WHERE topic = $1 AND callback = $2",
    )
    .bind(d.topic.clone())
    .bind(d.callback.clone())
    .bind(next)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(Failed::Retry(next))
}

/// Deliveries not yet made, and when the oldest became due.
pub async fn pending(db: &Database) -> Result<(i64, Option<i64>), sqlx::Error> {
    let row = sqlx::query("SELECT COUNT(*), MIN(since) FROM hub_deliveries")
        .fetch_one(db.pool())
        .await?;
    Ok((row.try_get(0)?, row.try_get(1)?))
}

/// Subscriptions held (active or not yet dropped).
pub async fn count(db: &Database) -> Result<i64, sqlx::Error> {
    sqlx::query("SELECT COUNT(*) FROM hub_subscriptions")
        .fetch_one(db.pool())
        .await?
        .try_get(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::database::Location;

    const TOPIC: &str = "https://n.example/rss.xml";

    async fn claim_(
        db: &Database,
        now: i64,
        until: i64,
        limit: usize,
    ) -> Result<Vec<Claimed>, sqlx::Error> {
        claim(db, now, until, limit, &[]).await
    }

    async fn db() -> (tempfile::TempDir, Database) {
        let dir = tempfile::tempdir().unwrap();
        let db = Database::open(&Location::of(None, dir.path()))
            .await
            .unwrap();
        (dir, db)
    }

    async fn subscribe_to(db: &Database, callback: &str, expires: u64) {
        let sub = Subscription {
            topic: TOPIC.into(),
            callback: callback.into(),
            secret: None,
            expires,
        };
        subscribe(db, &sub).await.unwrap();
    }

    #[test]
    fn the_backoff_doubles_from_15_seconds_up_to_a_day() {
        let waits: Vec<i64> = (1..=4).map(backoff).collect();
        assert_eq!(waits, [15, 30, 60, 120]);
        assert_eq!(backoff(13), 61_440);
        assert_eq!(backoff(14), 86_400);
        assert_eq!(backoff(1_000), 86_400);
    }

    #[tokio::test]
    async fn the_newest_version_supersedes_one_not_yet_made() {
        let (_dir, db) = db().await;
        let t = 1_000_000;
        subscribe_to(&db, "http://a/1", t as u64 + 600).await;
        subscribe_to(&db, "http://a/gone", t as u64 - 1).await;
        assert_eq!(
            publish(&db, TOPIC, "application/rss+xml", "v1", t)
                .await
                .unwrap(),
            Some(1)
        );
        assert_eq!(
            publish(&db, TOPIC, "application/rss+xml", "v1", t + 1)
                .await
                .unwrap(),
            None,
            "the same bytes from another replica are no new version"
        );
        assert_eq!(
            publish(&db, TOPIC, "application/rss+xml", "v2", t + 2)
                .await
                .unwrap(),
            Some(2)
        );
        let claimed = claim_(&db, t + 2, t + 62, 10).await.unwrap();
        assert_eq!(claimed.len(), 1, "one delivery, to the active subscriber");
        assert_eq!(claimed[0].version, 2);
        assert!(
            claim_(&db, t + 3, t + 63, 10).await.unwrap().is_empty(),
            "claimed"
        );
        // A newer version while it is in flight: due again once made.
        publish(&db, TOPIC, "application/rss+xml", "v3", t + 4)
            .await
            .unwrap();
        delivered(&db, &claimed[0], 2).await.unwrap();
        let again = claim_(&db, t + 5, t + 65, 10).await.unwrap();
        assert_eq!(again[0].version, 3);
        assert_eq!(
            content(&db, TOPIC).await.unwrap().unwrap().body,
            "v3".as_bytes()
        );
        delivered(&db, &again[0], 3).await.unwrap();
        assert_eq!(pending(&db).await.unwrap(), (0, None));
    }

    #[tokio::test]
    async fn a_claim_of_a_dead_server_lapses() {
        let (_dir, db) = db().await;
        let t = 2_000_000;
        subscribe_to(&db, "http://a/1", t as u64 + 600).await;
        publish(&db, TOPIC, "text/xml", "v1", t).await.unwrap();
        assert_eq!(claim_(&db, t, t + 120, 10).await.unwrap().len(), 1);
        assert!(claim_(&db, t + 119, t + 239, 10).await.unwrap().is_empty());
        assert_eq!(claim_(&db, t + 120, t + 240, 10).await.unwrap().len(), 1);
    }

    #[tokio::test]
    async fn failures_back_off_then_drop_the_subscriber_after_3_days() {
        let (_dir, db) = db().await;
        let t = 3_000_000;
        subscribe_to(&db, "http://a/1", (t + 10 * 86_400) as u64).await;
        publish(&db, TOPIC, "text/xml", "v1", t).await.unwrap();
        let mut now = t;
        let mut waits = Vec::new();
        loop {
            let c = claim_(&db, now, now + 120, 10).await.unwrap();
            assert_eq!(c.len(), 1, "due at {now}");
            match failed(&db, &c[0], now).await.unwrap() {
                Failed::Retry(at) => {
                    waits.push(at - now);
                    assert!(claim_(&db, at - 1, at + 119, 10).await.unwrap().is_empty());
                    now = at;
                }
                Failed::Dropped => break,
            }
        }
        assert_eq!(&waits[..4], [15, 30, 60, 120]);
        assert!(now - t >= GIVE_UP_AFTER && now - t < GIVE_UP_AFTER + LONGEST_WAIT);
        assert!(active(&db, now).await.unwrap().is_empty(), "dropped");
        assert_eq!(pending(&db).await.unwrap().0, 0);
    }
}
