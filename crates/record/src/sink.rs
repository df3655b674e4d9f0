//! The byte sink under a track's muxer. The muxing library owns its writer (a boxed `Write + Seek`),
//! so the writer hands it one end of a shared sink and keeps the other, to push buffered bytes to the
//! operating system (what survives a kill -9) and to the disk (what survives a power cut) at moments
//! of its choosing, and to count the file's bytes.

use std::fs::File;
use std::io::{self, BufWriter, Seek, SeekFrom, Write};
use std::sync::{Arc, Mutex, MutexGuard};

/// Anything a track file can be written to.
pub trait TrackOutput: Write + Seek + Send {}
impl<T: Write + Seek + Send> TrackOutput for T {}

struct Inner {
    out: BufWriter<Box<dyn TrackOutput>>,
    /// The position the muxer sees, kept here so that asking for it costs no flush (the library
    /// asks before every block).
    pos: u64,
    len: u64,
    /// A handle to fsync, when the output is a file.
    file: Option<File>,
    /// A copy of the bytes written since `start_capture` (the file's header).
    capture: Option<Vec<u8>>,
}

/// One end of the shared sink. Cloning gives another end to the same bytes.
#[derive(Clone)]
pub(crate) struct SharedSink(Arc<Mutex<Inner>>);

/// Buffered bytes per track before they go to the operating system on their own.
const BUFFER: usize = 64 * 1024;

impl SharedSink {
    pub(crate) fn new(out: Box<dyn TrackOutput>, file: Option<File>) -> Self {
        Self(Arc::new(Mutex::new(Inner {
            out: BufWriter::with_capacity(BUFFER, out),
            pos: 0,
            len: 0,
            file,
            capture: None,
        })))
    }

    fn lock(&self) -> io::Result<MutexGuard<'_, Inner>> {
        // A poisoned lock means a write panicked half-way; the file's state is then unknown, so
        // every later use fails rather than writing after a possible hole.
        self.0
            .lock()
            .map_err(|_| io::Error::other("track sink poisoned by a panic"))
    }

    /// Hands buffered bytes to the operating system: after this, a killed process loses nothing.
    pub(crate) fn flush_to_os(&self) -> io::Result<()> {
        self.lock()?.out.flush()
    }

    /// Flushes and asks the disk to keep the data (fsync of the file's data), when it is a file.
    pub(crate) fn sync(&self) -> io::Result<()> {
        let mut inner = self.lock()?;
        inner.out.flush()?;
        match &inner.file {
            Some(f) => f.sync_data(),
            None => Ok(()),
        }
    }

    /// Starts keeping a copy of what is written, from the current position on.
    pub(crate) fn start_capture(&self) -> io::Result<()> {
        self.lock()?.capture = Some(Vec::new());
        Ok(())
    }

    /// Stops the copy and returns it.
    pub(crate) fn take_capture(&self) -> io::Result<Vec<u8>> {
        Ok(self.lock()?.capture.take().unwrap_or_default())
    }

    /// Writes `bytes` at `at` and returns to where writing was.
    pub(crate) fn patch(&self, at: u64, bytes: &[u8]) -> io::Result<()> {
        let mut this = self.clone();
        let resume = this.stream_position()?;
        this.seek(SeekFrom::Start(at))?;
        this.write_all(bytes)?;
        this.seek(SeekFrom::Start(resume))?;
        Ok(())
    }

    /// The file's length so far (written, whether or not flushed yet).
    pub(crate) fn len(&self) -> u64 {
        self.lock().map(|i| i.len).unwrap_or(0)
    }
}

impl Write for SharedSink {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let mut inner = self.lock()?;
        let n = inner.out.write(buf)?;
        if let Some(copy) = &mut inner.capture {
            copy.extend_from_slice(&buf[..n]);
        }
        inner.pos += n as u64;
        inner.len = inner.len.max(inner.pos);
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.lock()?.out.flush()
    }
}

impl Seek for SharedSink {
    fn seek(&mut self, to: SeekFrom) -> io::Result<u64> {
        let mut inner = self.lock()?;
        let target = match to {
            SeekFrom::Start(n) => Some(n),
            SeekFrom::Current(d) => inner.pos.checked_add_signed(d),
            SeekFrom::End(d) => inner.len.checked_add_signed(d),
        }
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "seek before the start"))?;
        if target != inner.pos {
            // BufWriter flushes before it seeks, so buffered bytes land where they belong.
            inner.out.seek(SeekFrom::Start(target))?;
            inner.pos = target;
        }
        Ok(target)
    }

    fn stream_position(&mut self) -> io::Result<u64> {
        Ok(self.lock()?.pos)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Cursor;

    /// A cursor whose bytes stay readable after the sink took it.
    #[derive(Clone, Default)]
    struct Shared(Arc<Mutex<Cursor<Vec<u8>>>>);
    impl Write for Shared {
        fn write(&mut self, b: &[u8]) -> io::Result<usize> {
            self.0.lock().expect("test lock").write(b)
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }
    impl Seek for Shared {
        fn seek(&mut self, to: SeekFrom) -> io::Result<u64> {
            self.0.lock().expect("test lock").seek(to)
        }
    }

    #[test]
    fn buffers_until_flushed_and_patches_in_place() {
        let bytes = Shared::default();
        let mut sink = SharedSink::new(Box::new(bytes.clone()), None);
        sink.write_all(b"hello world").expect("write");
        assert_eq!(sink.stream_position().expect("pos"), 11);
        assert!(bytes.0.lock().expect("lock").get_ref().is_empty());
        sink.seek(SeekFrom::Start(0)).expect("seek");
        sink.write_all(b"J").expect("patch");
        sink.seek(SeekFrom::End(0)).expect("seek end");
        sink.write_all(b"!").expect("append");
        sink.flush_to_os().expect("flush");
        assert_eq!(bytes.0.lock().expect("lock").get_ref(), b"Jello world!");
        assert_eq!(sink.len(), 12);
    }
}
