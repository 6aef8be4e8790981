//! Where a message waits while the MTA streams it: in memory up to a configured size, then in
//! an unlinked temporary file that is memory-mapped for parsing, so a 50 MB message does not
//! take 50 MB of heap.

use std::fs::File;
use std::io::{self, Write};
use std::ops::Deref;
use std::path::PathBuf;

/// A growing message buffer.
#[derive(Debug)]
pub struct Spool {
    limit: usize,
    dir: Option<PathBuf>,
    len: u64,
    state: State,
}

#[derive(Debug)]
enum State {
    Memory(Vec<u8>),
    File(io::BufWriter<File>),
}

/// The finished message bytes.
#[derive(Debug)]
pub enum SpoolBytes {
    /// Small messages.
    Memory(Vec<u8>),
    /// Large messages: a read-only mapping of the unlinked spool file.
    Mapped(memmap2::Mmap),
    /// An empty message (a zero-length file cannot be mapped).
    Empty,
}

impl Deref for SpoolBytes {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        match self {
            SpoolBytes::Memory(v) => v,
            SpoolBytes::Mapped(m) => m,
            SpoolBytes::Empty => &[],
        }
    }
}

impl Spool {
    /// A spool that keeps up to `limit` bytes in memory; beyond that it moves to a temporary
    /// file in `dir` (the system temporary directory when `None`).
    pub fn new(limit: usize, dir: Option<PathBuf>) -> Spool {
        Spool {
            limit,
            dir,
            len: 0,
            state: State::Memory(Vec::new()),
        }
    }

    /// Bytes written so far.
    pub fn len(&self) -> u64 {
        self.len
    }

    /// Whether nothing was written.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Whether the spool moved to a file.
    pub fn on_disk(&self) -> bool {
        matches!(self.state, State::File(_))
    }

    /// Appends bytes, moving to a file when the memory limit is passed.
    pub fn write(&mut self, bytes: &[u8]) -> io::Result<()> {
        if let State::Memory(buf) = &mut self.state {
            if buf.len() + bytes.len() <= self.limit {
                buf.extend_from_slice(bytes);
                self.len += bytes.len() as u64;
                return Ok(());
            }
            let file = match &self.dir {
                Some(dir) => tempfile::tempfile_in(dir)?,
                None => tempfile::tempfile()?,
            };
            let mut writer = io::BufWriter::with_capacity(64 * 1024, file);
            writer.write_all(buf)?;
            self.state = State::File(writer);
        }
        if let State::File(writer) = &mut self.state {
            writer.write_all(bytes)?;
        }
        self.len += bytes.len() as u64;
        Ok(())
    }

    /// Finishes writing and hands out the bytes.
    pub fn finish(self) -> io::Result<SpoolBytes> {
        match self.state {
            State::Memory(buf) => Ok(SpoolBytes::Memory(buf)),
            State::File(writer) => {
                let file = writer.into_inner().map_err(|e| e.into_error())?;
                if self.len == 0 {
                    return Ok(SpoolBytes::Empty);
                }
                // SAFETY: the file is an unlinked temporary file that only this process holds;
                // nothing truncates or writes it while the mapping lives.
                #[allow(unsafe_code, reason = "memory-mapping our own unlinked spool file")]
                let map = unsafe { memmap2::Mmap::map(&file)? };
                Ok(SpoolBytes::Mapped(map))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_messages_stay_in_memory() {
        let mut s = Spool::new(10, None);
        s.write(b"hello").expect("write");
        assert!(!s.on_disk());
        assert_eq!(&*s.finish().expect("finish"), b"hello");
    }

    #[test]
    fn large_messages_move_to_a_file_and_read_back() {
        let mut s = Spool::new(8, None);
        s.write(b"0123456").expect("write");
        s.write(b"789abcdef").expect("write");
        assert!(s.on_disk());
        assert_eq!(s.len(), 16);
        let bytes = s.finish().expect("finish");
        assert!(matches!(bytes, SpoolBytes::Mapped(_)));
        assert_eq!(&*bytes, b"0123456789abcdef");
    }
}
