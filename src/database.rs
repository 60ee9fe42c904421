//! crier's database: what must outlive a process or be shared by
//! replicas (the readers' counts). SQLite in the state folder by default,
//! PostgreSQL when `database_url` names one; one driver for both
//! (`sqlx::Any`), so every statement is written once in SQL both speak
//! (`$1` parameters, `ON CONFLICT`). The schema's versions are in
//! `src/database/`, run at start.

use std::borrow::Cow;
use std::path::{Path, PathBuf};
use std::time::Duration;

type AnyPool = sqlx::Pool<sqlx::Any>;
type AnyPoolOptions = sqlx::pool::PoolOptions<sqlx::Any>;
use sqlx::migrate::{Migration, MigrationType, Migrator};

pub use sqlx::AssertSqlSafe;
pub use sqlx::Row;

/// The SQLite file in the state folder.
pub const SQLITE_FILE: &str = "crier.db";

/// The schema's versions, in order; a new one is added, never changed.
const MIGRATIONS: &[(i64, &str, &str)] = &[
    (1, "readers", include_str!("database/0001_readers.sql")),
    (
        2,
        "reader flushes",
        include_str!("database/0002_reader_flushes.sql"),
    ),
    (3, "hub", include_str!("database/0003_hub.sql")),
];

/// Where the database is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Location {
    /// A SQLite file (made when missing).
    Sqlite(PathBuf),
    /// A PostgreSQL URL.
    Postgres(String),
}

impl Location {
    /// PostgreSQL when a URL is given, else the SQLite file in `state_dir`.
    pub fn of(database_url: Option<&str>, state_dir: &Path) -> Location {
        match database_url {
            Some(url) => Location::Postgres(url.to_string()),
            None => Location::Sqlite(state_dir.join(SQLITE_FILE)),
        }
    }

    /// How it is named in messages: the file, or the URL without its
    /// password.
    pub fn shown(&self) -> String {
        match self {
            Location::Sqlite(path) => path.display().to_string(),
            Location::Postgres(url) => match url::Url::parse(url) {
                Ok(mut u) => {
                    if u.password().is_some() {
                        let _ = u.set_password(Some("***"));
                    }
                    u.to_string()
                }
                Err(_) => "the database_url".into(),
            },
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum DatabaseError {
    #[error("cannot open the database {at}: {source}")]
    Open { at: String, source: sqlx::Error },
    #[error(
        "cannot bring the database {at} to crier's schema: {source} (is it another program's database, or from a newer crier?)"
    )]
    Migrate {
        at: String,
        source: sqlx::migrate::MigrateError,
    },
    #[error("cannot make the state folder {at}: {source}")]
    Folder { at: String, source: std::io::Error },
    #[error("database: {0}")]
    Query(#[from] sqlx::Error),
}

/// An open database at crier's schema.
#[derive(Clone, Debug)]
pub struct Database {
    pool: AnyPool,
    postgres: bool,
    at: String,
}

/// The first `upto` versions of the schema (all with `None`).
pub fn migrator(upto: Option<i64>) -> Migrator {
    use sqlx::SqlSafeStr;
    let migrations = MIGRATIONS
        .iter()
        .filter(|(v, _, _)| upto.is_none_or(|u| *v <= u))
        .map(|(version, description, sql)| {
            Migration::new(
                *version,
                Cow::Borrowed(*description),
                MigrationType::Simple,
                sql.into_sql_str(),
                false,
            )
        })
        .collect();
    Migrator::with_migrations(migrations)
}

impl Database {
    /// Opens the database (making a SQLite file and its folder when
    /// missing) and brings its schema to this crier's.
    pub async fn open(location: &Location) -> Result<Database, DatabaseError> {
        Database::open_at(location, None).await
    }

    /// Opens it at the first `upto` versions of the schema (for the
    /// migration tests).
    pub async fn open_at(
        location: &Location,
        upto: Option<i64>,
    ) -> Result<Database, DatabaseError> {
        sqlx::any::install_default_drivers();
        let at = location.shown();
        let (url, postgres) = match location {
            Location::Sqlite(path) => {
                if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                    std::fs::create_dir_all(dir).map_err(|source| DatabaseError::Folder {
                        at: dir.display().to_string(),
                        source,
                    })?;
                }
                (format!("sqlite://{}?mode=rwc", path.display()), false)
            }
            Location::Postgres(url) => (url.clone(), true),
        };
        let mut options = AnyPoolOptions::new()
            .max_connections(4)
            .acquire_timeout(Duration::from_secs(5));
        if !postgres {
            // With the write-ahead log, NORMAL loses no commit to a crash
            // of crier (only, at worst, the last ones to a power cut), and
            // spares an fsync per commit: one per hub delivery.
            options = options.after_connect(|conn, _| {
                Box::pin(async move {
                    sqlx::Executor::execute(conn, "PRAGMA synchronous = NORMAL").await?;
                    Ok(())
                })
            });
        }
        let pool = options
            .connect(&url)
            .await
            .map_err(|source| DatabaseError::Open {
                at: at.clone(),
                source,
            })?;
        if !postgres {
            // Readers of the file (`crier stats`) do not wait for a flush.
            sqlx::query("PRAGMA journal_mode = WAL")
                .execute(&pool)
                .await
                .map_err(|source| DatabaseError::Open {
                    at: at.clone(),
                    source,
                })?;
        }
        migrator(upto)
            .run(&pool)
            .await
            .map_err(|source| DatabaseError::Migrate {
                at: at.clone(),
                source,
            })?;
        Ok(Database { pool, postgres, at })
    }

    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    /// Whether it is PostgreSQL (shared by replicas) rather than SQLite.
    pub fn is_postgres(&self) -> bool {
        self.postgres
    }

    /// The database as named in messages (no password).
    pub fn shown(&self) -> &str {
        &self.at
    }

    /// Closes every connection (waits for those in use).
    pub async fn close(&self) {
        self.pool.close().await;
    }
}

/// `$first, $first+1, …` for `n` parameters: one row of a multi-row
/// insert, as both databases read it.
pub fn placeholders(first: usize, n: usize) -> String {
    let list: Vec<String> = (first..first + n).map(|i| format!("${i}")).collect();
    format!("({})", list.join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_password_is_not_shown() {
        let at = Location::Postgres("postgres://crier:s3cret@db:5432/crier".into());
        assert_eq!(at.shown(), "postgres://crier:***@db:5432/crier");
        assert_eq!(placeholders(4, 3), "($4, $5, $6)");
    }

    #[tokio::test]
    async fn a_new_file_gets_every_version_and_keeps_them() {
        let dir = tempfile::tempdir().unwrap();
        let at = Location::of(None, &dir.path().join("state"));
        let db = Database::open_at(&at, Some(1)).await.unwrap();
        sqlx::query("INSERT INTO reader_days VALUES (1, '/rss.xml', 'direct', '', 5)")
            .execute(db.pool())
            .await
            .unwrap();
        db.close().await;
        let db = Database::open(&at).await.unwrap();
        let row = sqlx::query("SELECT readers FROM reader_days")
            .fetch_one(db.pool())
            .await
            .unwrap();
        assert_eq!(row.get::<i64, _>(0), 5, "the rows of version 1 are kept");
        sqlx::query("INSERT INTO reader_flushes VALUES ('a', 1)")
            .execute(db.pool())
            .await
            .unwrap();
    }
}
