//! Where log lines go: one shared buffer, written out by a background thread
//! a few times a second, or at once by the thread that fills it.
//!
//! A request thread appends its finished line to the buffer under a short
//! lock and goes on: no system call, no thread to wake. The background thread
//! wakes every [`FLUSH_EVERY`], takes what has gathered and writes it in one
//! call. Nothing is ever dropped: when the buffer reaches [`BUFFER_LIMIT`]
//! the thread that filled it writes it out itself, so a log reader slower
//! than the traffic slows the requests down instead of growing the memory.
//!
//! Why not tracing-appender's non-blocking writer, which the server used
//! before: it sends each line through a channel to its writer thread, which
//! the channel wakes again and again under load. On the two cores of the
//! bench that cost /v1/predict a seventh of its throughput (D-043). What it
//! gave in return, a line on stdout within microseconds rather than within
//! [`FLUSH_EVERY`], matters to nobody reading logs.

use std::io::{self, Write};
use std::mem;
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::thread::{self, JoinHandle};
use std::time::Duration;

use tracing_subscriber::fmt::MakeWriter;

/// How long a line may wait in the buffer when the server is quiet.
pub const FLUSH_EVERY: Duration = Duration::from_millis(50);

/// The most the buffer holds before the thread that filled it writes it out:
/// about a thousand request lines, a few milliseconds of full load.
pub const BUFFER_LIMIT: usize = 256 * 1024;

struct Shared {
    /// Lines not yet written. Locked only to append or to take it all.
    lines: Mutex<Vec<u8>>,
    /// The destination, and the buffer that replaces `lines` when it is
    /// taken (so neither buffer is allocated again). Whoever takes `lines`
    /// holds this lock first, so chunks reach the sink in the order taken.
    sink: Mutex<Sink>,
    stop: Mutex<bool>,
    wake: Condvar,
}

struct Sink {
    out: Box<dyn Write + Send>,
    spare: Vec<u8>,
}

/// A poisoned lock only means another thread panicked while logging; the
/// bytes are still there, so logging goes on.
fn lock<T: ?Sized>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Shared {
    /// Takes every buffered line and writes it. The caller must not hold
    /// `lines`.
    fn write_out(&self) -> io::Result<()> {
        let mut sink = lock(&self.sink);
        let Sink { out, spare } = &mut *sink;
        mem::swap(&mut *lock(&self.lines), spare);
        let result = if spare.is_empty() {
            Ok(())
        } else {
            out.write_all(spare).and_then(|()| out.flush())
        };
        spare.clear();
        result
    }
}

/// The `MakeWriter` given to tracing-subscriber. Cheap to clone.
#[derive(Clone)]
pub struct BatchedWriter {
    shared: Arc<Shared>,
}

/// Stops the background thread and writes what is left when dropped. Keep
/// it alive until the process exits.
pub struct FlushGuard {
    shared: Arc<Shared>,
    thread: Option<JoinHandle<()>>,
}

/// Starts the background thread writing into `sink`.
pub fn batched(sink: impl Write + Send + 'static) -> io::Result<(BatchedWriter, FlushGuard)> {
    let shared = Arc::new(Shared {
        lines: Mutex::new(Vec::with_capacity(BUFFER_LIMIT)),
        sink: Mutex::new(Sink {
            out: Box::new(sink),
            spare: Vec::with_capacity(BUFFER_LIMIT),
        }),
        stop: Mutex::new(false),
        wake: Condvar::new(),
    });

    let background = Arc::clone(&shared);
    let thread = thread::Builder::new()
        .name("log-writer".to_owned())
        .spawn(move || loop {
            let stop = lock(&background.stop);
            let (stop, _) = background
                .wake
                .wait_timeout_while(stop, FLUSH_EVERY, |stop| !*stop)
                .unwrap_or_else(PoisonError::into_inner);
            let stopping = *stop;
            drop(stop);
            // A log line that cannot be written has nowhere to be
            // reported; the next round tries again with new lines.
            let _ = background.write_out();
            if stopping {
                return;
            }
        })?;

    let guard = FlushGuard {
        shared: Arc::clone(&shared),
        thread: Some(thread),
    };
    Ok((BatchedWriter { shared }, guard))
}

impl Drop for FlushGuard {
    fn drop(&mut self) {
        *lock(&self.shared.stop) = true;
        self.shared.wake.notify_one();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
        // Lines logged after the thread's last round.
        let _ = self.shared.write_out();
    }
}

/// What one event writes through. tracing-subscriber hands it each whole
/// line in one `write` call, so lines from different threads never mix.
pub struct LineWriter<'a> {
    shared: &'a Shared,
}

impl Write for LineWriter<'_> {
    fn write(&mut self, line: &[u8]) -> io::Result<usize> {
        let full = {
            let mut lines = lock(&self.shared.lines);
            lines.extend_from_slice(line);
            lines.len() >= BUFFER_LIMIT
        };
        if full {
            self.shared.write_out()?;
        }
        Ok(line.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for BatchedWriter {
    type Writer = LineWriter<'a>;

    fn make_writer(&'a self) -> LineWriter<'a> {
        LineWriter {
            shared: &self.shared,
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use proptest::prelude::*;

    use super::*;

    /// A sink the test can read, counting the write calls it receives.
    #[derive(Clone, Default)]
    struct Sink {
        bytes: Arc<Mutex<Vec<u8>>>,
        writes: Arc<AtomicUsize>,
    }

    impl Write for Sink {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            self.writes.fetch_add(1, Ordering::Relaxed);
            lock(&self.bytes).extend_from_slice(buf);
            Ok(buf.len())
        }

        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    fn text(sink: &Sink) -> String {
        String::from_utf8(lock(&sink.bytes).clone()).expect("UTF-8")
    }

    #[test]
    fn a_quiet_line_is_written_within_the_flush_interval() {
        let sink = Sink::default();
        let (writer, _guard) = batched(sink.clone()).unwrap();

        writer.make_writer().write_all(b"one line\n").unwrap();
        thread::sleep(FLUSH_EVERY * 4);

        assert_eq!(text(&sink), "one line\n");
    }

    #[test]
    fn many_lines_are_written_in_few_calls() {
        let sink = Sink::default();
        let (writer, guard) = batched(sink.clone()).unwrap();

        for i in 0..10_000 {
            writeln!(writer.make_writer(), "line {i}").unwrap();
        }
        drop(guard);

        assert_eq!(text(&sink).lines().count(), 10_000);
        let writes = sink.writes.load(Ordering::Relaxed);
        assert!(writes < 100, "{writes} write calls for 10,000 lines");
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(32))]

        /// Whatever several threads log, and however much (past the buffer
        /// limit too), every line arrives once, whole, and each thread's
        /// lines in the order it wrote them.
        #[test]
        fn no_line_is_lost_split_or_reordered(
            threads in 1usize..4,
            lines in 1usize..3000,
            width in 1usize..400,
        ) {
            let sink = Sink::default();
            let (writer, guard) = batched(sink.clone()).unwrap();

            thread::scope(|scope| {
                for t in 0..threads {
                    let writer = writer.clone();
                    scope.spawn(move || {
                        let pad = "x".repeat(width);
                        for i in 0..lines {
                            writer
                                .make_writer()
                                .write_all(format!("{t} {i} {pad}\n").as_bytes())
                                .unwrap();
                        }
                    });
                }
            });
            drop(guard);

            let text = text(&sink);
            let mut next = vec![0usize; threads];
            for line in text.lines() {
                let mut parts = line.split(' ');
                let t: usize = parts.next().unwrap().parse().unwrap();
                let i: usize = parts.next().unwrap().parse().unwrap();
                prop_assert_eq!(i, next[t], "thread {}'s lines out of order", t);
                prop_assert_eq!(parts.next().map(str::len), Some(width));
                next[t] += 1;
            }
            prop_assert_eq!(next, vec![lines; threads]);
        }
    }
}
