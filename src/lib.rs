//! crier: turns a folder of article files into RSS, Atom and JSON feeds.
//!
//! Layers, each importing only those below it (see docs/architecture.md):
//! app (`live`, `watch`, `intake`, the commands) → `server` / `store` / `hub`,
//! `websub` and `readers` → build (`site`, `render`, `output`, `compress`) → core
//! (`config`, `templates`, `content`, `library`, `index`, `import`) → leaves (`metrics`,
//! `atomic`, `fingerprint`, `logging`, `table`).
#![forbid(unsafe_code)]

pub mod atomic;
pub mod compress;
pub mod config;
pub mod content;
pub mod database;
pub mod fingerprint;
pub mod full;
pub mod hub;
pub mod import;
pub mod index;
pub mod intake;
pub mod library;
pub mod live;
pub mod logging;
pub mod metrics;
pub mod output;
pub mod readers;
pub mod render;
pub mod server;
pub mod site;
pub mod sitemaps;
pub mod store;
pub mod table;
pub mod templates;
pub mod watch;
pub mod websub;
