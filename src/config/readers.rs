//! The readers' settings (docs/readers.md): where the counts are kept,
//! the token of `/stats/`, the secret of the daily keys.

/// The readers' settings (docs/readers.md); secrets not shown by `Debug`.
#[derive(Clone, Default)]
pub struct ReaderSettings {
    /// A PostgreSQL URL; none: SQLite in the state folder.
    pub database_url: Option<String>,
    pub stats_token: Option<String>,
    pub secret: Option<String>,
}

impl std::fmt::Debug for ReaderSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let set = |o: &Option<String>| if o.is_some() { "set" } else { "none" };
        f.debug_struct("ReaderSettings")
            .field("database_url", &set(&self.database_url))
            .field("stats_token", &set(&self.stats_token))
            .field("secret", &set(&self.secret))
            .finish()
    }
}

/// The settings of `file` with `o` over them.
pub(super) fn of(
    file: &super::FileConfig,
    o: &super::Overrides,
) -> Result<ReaderSettings, (&'static str, String)> {
    use super::pick;
    ReaderSettings::new(
        pick(&o.database_url, &file.database_url),
        pick(&o.stats_token, &file.stats_token),
        pick(&o.readers_secret, &file.readers_secret),
    )
}

impl ReaderSettings {
    /// From the values given (flags over the file; empty is none): a bad
    /// one is its key and what is wrong.
    pub fn new(
        database_url: Option<String>,
        stats_token: Option<String>,
        secret: Option<String>,
    ) -> Result<ReaderSettings, (&'static str, String)> {
        let database_url = database_url.filter(|u| !u.is_empty());
        if let Some(url) = &database_url
            && !(url.starts_with("postgres://") || url.starts_with("postgresql://"))
        {
            return Err((
                "database_url",
                "must be a PostgreSQL URL, postgres://user:password@host/database (leave it out for SQLite in the state folder)".into(),
            ));
        }
        let stats_token = stats_token.filter(|t| !t.is_empty());
        if let Some(token) = &stats_token
            && (token.chars().count() < 16 || !token.chars().all(|c| c.is_ascii_graphic()))
        {
            return Err((
                "stats_token",
                "must be at least 16 visible ASCII characters (e.g. `openssl rand -hex 16`)".into(),
            ));
        }
        Ok(ReaderSettings {
            database_url,
            stats_token,
            secret: secret.filter(|s| !s.is_empty()),
        })
    }
}
