//! Log output: tracing's fmt layer writing into one shared buffer on
//! stderr. At tens of thousands of access lines a second, a write(2) per
//! line (or a hand-off to a logging thread per line) costs more than
//! serving the request; so lines are buffered, flushed when the buffer is
//! full, every 200 ms by a flusher thread, and at once for warnings and
//! errors.

use std::cell::RefCell;
use std::fmt;
use std::io::{BufWriter, Stderr, Write};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use tracing::field::{Field, Visit};
use tracing::{Event, Level, Metadata, Subscriber};
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields, MakeWriter};
use tracing_subscriber::registry::LookupSpan;

#[derive(Clone)]
pub struct LogWriter {
    inner: Arc<Mutex<BufWriter<Stderr>>>,
}

impl Default for LogWriter {
    fn default() -> Self {
        Self::new()
    }
}

impl LogWriter {
    pub fn new() -> LogWriter {
        LogWriter {
            inner: Arc::new(Mutex::new(BufWriter::with_capacity(
                64 * 1024,
                std::io::stderr(),
            ))),
        }
    }

    fn lock(&self) -> MutexGuard<'_, BufWriter<Stderr>> {
        // A panic while holding the lock leaves a usable buffer.
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn flush(&self) {
        let _ = self.lock().flush();
    }

    /// Flushes every 200 ms, so a quiet server's last lines still appear.
    pub fn spawn_flusher(&self) {
        let me = self.clone();
        let started = std::thread::Builder::new()
            .name("log-flush".into())
            .spawn(move || {
                loop {
                    std::thread::sleep(Duration::from_millis(200));
                    me.flush();
                }
            });
        if let Err(e) = started {
            // The log still reaches stderr, a buffer at a time.
            eprintln!("warning: cannot start the log flusher ({e}): log lines may come late");
        }
    }
}

pub struct LogLine<'a> {
    guard: MutexGuard<'a, BufWriter<Stderr>>,
    flush: bool,
}

impl Write for LogLine<'_> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.guard.write(buf)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.guard.flush()
    }
}

impl Drop for LogLine<'_> {
    fn drop(&mut self) {
        if self.flush {
            let _ = self.guard.flush();
        }
    }
}

impl<'a> MakeWriter<'a> for LogWriter {
    type Writer = LogLine<'a>;

    fn make_writer(&'a self) -> Self::Writer {
        LogLine {
            guard: self.lock(),
            flush: false,
        }
    }

    fn make_writer_for(&'a self, meta: &Metadata<'_>) -> Self::Writer {
        LogLine {
            guard: self.lock(),
            flush: *meta.level() <= Level::WARN || meta.target() != "crier::access",
        }
    }
}

/// The text log line: `2026-11-28T16:18:04.452Z  INFO crier::access: method=GET path=/rss.xml status=200 …`.
/// tracing-subscriber's default formatter does the same with more general
/// machinery (timestamps formatted from scratch, every value through
/// `Debug`); at one access line per request that was a sixth of the
/// server's throughput.
pub struct TextFormat;

impl<S, N> FormatEvent<S, N> for TextFormat
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        _: &FmtContext<'_, S, N>,
        mut w: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        write_time(&mut w)?;
        let meta = event.metadata();
        write!(w, " {:>5} {}:", meta.level(), meta.target())?;
        let mut fields = Fields {
            w: &mut w,
            result: Ok(()),
        };
        event.record(&mut fields);
        fields.result?;
        w.write_char('\n')
    }
}

struct Fields<'a, 'b> {
    w: &'a mut Writer<'b>,
    result: fmt::Result,
}

impl Visit for Fields<'_, '_> {
    fn record_str(&mut self, field: &Field, value: &str) {
        self.result = self.result.and_then(|_| match field.name() {
            "message" => write!(self.w, " {value}"),
            name => write!(self.w, " {name}={value}"),
        });
    }
    fn record_u64(&mut self, field: &Field, value: u64) {
        self.result = self
            .result
            .and_then(|_| write!(self.w, " {}={value}", field.name()));
    }
    fn record_i64(&mut self, field: &Field, value: i64) {
        self.result = self
            .result
            .and_then(|_| write!(self.w, " {}={value}", field.name()));
    }
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.result = self.result.and_then(|_| match field.name() {
            "message" => write!(self.w, " {value:?}"),
            name => write!(self.w, " {name}={value:?}"),
        });
    }
}

thread_local! {
    /// The current second, formatted once: (unix second, `2026-11-28T16:18:04`).
    static SECOND: RefCell<(i64, String)> = const { RefCell::new((i64::MIN, String::new())) };
}

fn write_time(w: &mut Writer<'_>) -> fmt::Result {
    let now = chrono::Utc::now();
    SECOND.with(|cell| {
        let mut cached = cell.borrow_mut();
        if cached.0 != now.timestamp() {
            *cached = (now.timestamp(), now.format("%Y-%m-%dT%H:%M:%S").to_string());
        }
        write!(w, "{}.{:03}Z", cached.1, now.timestamp_subsec_millis())
    })
}

/// The process's resident memory now and at its peak, in MB (Linux; 0
/// elsewhere), for debug lines at archive scale.
pub fn memory_mb() -> (u64, u64) {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.split_whitespace().next()?.parse::<u64>().ok())
            .map_or(0, |kb| kb / 1024)
    };
    (field("VmRSS:"), field("VmHWM:"))
}
