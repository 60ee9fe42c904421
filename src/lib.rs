//! crier: turns a folder of article files into RSS, Atom and JSON feeds.
#![forbid(unsafe_code)]

pub mod compress;
pub mod config;
pub mod content;
pub mod hub;
pub mod import;
pub mod library;
pub mod live;
pub mod logging;
pub mod metrics;
pub mod publish;
pub mod render;
pub mod server;
pub mod site;
pub mod watch;
pub mod websub;
