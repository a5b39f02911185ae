//! The user's input files, read once and bounded. A regular file is read in
//! place; anything else — stdin, a pipe, a FIFO, process substitution, a
//! device — is copied once into a private temporary file (0600) while its
//! limits are checked, and then read like a file, so that a reader that
//! looks twice never waits on a pipe that has gone dry. Exceeding a limit is
//! bad input (exit 3) naming it, never an out-of-memory kill.

use std::io::{Read, Write};
use std::os::unix::fs::FileTypeExt;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use anyhow::{Context, Result};

use crate::error::rejected;

/// The longest line of a line-by-line input (DESIGN: Bad input).
pub const MAX_LINE: usize = 1024 * 1024;
/// The largest whole-document input: a plan, a CMDB CSV, a tool's JSON.
pub const MAX_DOCUMENT: u64 = 256 << 20;

/// How an input is read, and so which limit applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    /// Streamed line by line: no limit on the whole, each line at most [`MAX_LINE`].
    Lines,
    /// Read whole: at most [`MAX_DOCUMENT`]; `what` names it in messages.
    Document(&'static str),
}

/// An input ready to be read as a file.
pub struct Input {
    path: PathBuf,
    /// What messages call it: the path as given, or `stdin`.
    pub name: String,
    /// The file's modification time (none for stdin and pipes).
    pub mtime: Option<SystemTime>,
    _spooled: Option<tempfile::TempPath>,
}

impl Input {
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The whole input as UTF-8 text (a document, already within its limit).
    pub fn text(&self) -> Result<String> {
        let bytes = std::fs::read(&self.path).with_context(|| format!("reading {}", self.name))?;
        String::from_utf8(bytes).map_err(|e| {
            let at = e.utf8_error().valid_up_to();
            let line = e.as_bytes()[..at].iter().filter(|b| **b == b'\n').count() + 1;
            rejected(format!(
                "{}:{line}: is not valid UTF-8 (at byte {at})",
                self.name
            ))
        })
    }
}

/// Take `arg` (a path, or `-` for stdin) as an input of `shape`.
/// Under sudo on a shared host, the one folder input files may come from
/// (else stdin): the service account must not read what a technician names.
static SPOOL_ONLY: std::sync::OnceLock<std::path::PathBuf> = std::sync::OnceLock::new();

/// The spool folder inputs are limited to, set once at start under sudo.
pub fn restrict_to_spool(dir: &Path) {
    let _ = SPOOL_ONLY.set(dir.to_path_buf());
}

/// The folder under sudo that input files must come from.
pub const SPOOL: &str = "/var/spool/bmctl/incoming";

pub fn take(arg: &Path, shape: Shape) -> Result<Input> {
    if arg.as_os_str() == "-" {
        return spool(std::io::stdin().lock(), "stdin".into(), shape);
    }
    if let Some(dir) = SPOOL_ONLY.get() {
        // resolved, so `..` or a symlink cannot leave the spool folder
        let inside = std::fs::canonicalize(arg)
            .ok()
            .zip(std::fs::canonicalize(dir).ok())
            .is_some_and(|(f, d)| f.starts_with(d));
        if !inside {
            return Err(crate::error::refused(format!(
                "{}: under sudo, give a file on stdin (`-`) or put it in {}",
                arg.display(),
                dir.display()
            )));
        }
    }
    let name = arg.display().to_string();
    let meta = std::fs::metadata(arg).with_context(|| format!("reading {name}"))?;
    let kind = meta.file_type();
    if kind.is_dir() {
        return Err(rejected(format!("{name}: is a folder, not a file")));
    }
    if kind.is_file() {
        if let Shape::Document(what) = shape {
            if meta.len() > MAX_DOCUMENT {
                return Err(too_large(&name, what));
            }
        }
        return Ok(Input {
            path: arg.to_path_buf(),
            name,
            mtime: meta.modified().ok(),
            _spooled: None,
        });
    }
    // a FIFO, process substitution, a character device: opened once
    let _ = kind.is_fifo() || kind.is_char_device();
    let file = std::fs::File::open(arg).with_context(|| format!("reading {name}"))?;
    spool(file, name, shape)
}

fn too_large(name: &str, what: &str) -> anyhow::Error {
    rejected(format!(
        "{name}: is larger than the {} MiB limit of {what}",
        MAX_DOCUMENT >> 20
    ))
}

/// Copy `from` into a private temporary file, checking the limit of `shape`
/// as the bytes pass.
fn spool(mut from: impl Read, name: String, shape: Shape) -> Result<Input> {
    let mut tmp = tempfile::NamedTempFile::new()
        .with_context(|| format!("creating a temporary file for {name}"))?;
    let mut buf = vec![0u8; 64 * 1024];
    let (mut total, mut line, mut line_len) = (0u64, 1usize, 0usize);
    loop {
        let n = match from.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e).with_context(|| format!("reading {name}")),
        };
        let chunk = &buf[..n];
        total += n as u64;
        match shape {
            Shape::Document(what) if total > MAX_DOCUMENT => return Err(too_large(&name, what)),
            Shape::Document(_) => {}
            Shape::Lines => {
                for part in chunk.split_inclusive(|b| *b == b'\n') {
                    line_len += part.len();
                    if line_len > MAX_LINE + 1 || (line_len > MAX_LINE && !part.ends_with(b"\n")) {
                        return Err(rejected(format!(
                            "{name}:{line}: line: is longer than the {MAX_LINE}-byte limit of a line"
                        )));
                    }
                    if part.ends_with(b"\n") {
                        line += 1;
                        line_len = 0;
                    }
                }
            }
        }
        tmp.write_all(chunk)
            .with_context(|| format!("spooling {name} to a temporary file"))?;
    }
    tmp.flush()?;
    let spooled = tmp.into_temp_path();
    Ok(Input {
        path: spooled.to_path_buf(),
        name,
        mtime: None,
        _spooled: Some(spooled),
    })
}

/// A reader that fails with bad input when a physical line grows past
/// [`MAX_LINE`]: the CSV reader would otherwise hold a 300 MB field whole.
pub struct LineCapped<R> {
    inner: R,
    line_len: usize,
}

impl<R> LineCapped<R> {
    pub fn new(inner: R) -> LineCapped<R> {
        LineCapped { inner, line_len: 0 }
    }
}

impl<R: Read> Read for LineCapped<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        for part in buf[..n].split_inclusive(|b| *b == b'\n') {
            self.line_len += part.len();
            if self.line_len > MAX_LINE + 1 {
                return Err(std::io::Error::new(
                    std::io::ErrorKind::InvalidData,
                    format!("a line is longer than the {MAX_LINE}-byte limit"),
                ));
            }
            if part.ends_with(b"\n") {
                self.line_len = 0;
            }
        }
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pipe_is_spooled_once_within_its_limits() {
        let ok = spool(&b"a\nb\n"[..], "pipe".into(), Shape::Lines).unwrap();
        assert_eq!(std::fs::read(ok.path()).unwrap(), b"a\nb\n");
        let long = vec![b'x'; MAX_LINE + 2];
        let err = spool(&long[..], "pipe".into(), Shape::Lines).err().unwrap();
        assert!(
            format!("{err:#}").contains("pipe:1: line: is longer than"),
            "{err:#}"
        );
        // the limit is the line's content: a line of exactly MAX_LINE bytes passes
        let mut exact = vec![b'y'; MAX_LINE];
        exact.push(b'\n');
        assert!(spool(&exact[..], "pipe".into(), Shape::Lines).is_ok());
    }

    #[test]
    fn a_capped_reader_stops_at_an_endless_line() {
        let mut r = LineCapped::new(std::io::repeat(b'z'));
        let err = std::io::copy(&mut r, &mut std::io::sink()).unwrap_err();
        assert_eq!(err.kind(), std::io::ErrorKind::InvalidData);
    }
}
