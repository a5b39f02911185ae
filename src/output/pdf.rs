//! A review's HTML printed to PDF by headless Chromium: the browser finds
//! the layout, bmctl stays free of a PDF library.

use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};

/// The browsers tried, in order, when `--chromium` is not given.
pub const BROWSERS: [&str; 3] = ["chromium", "chromium-browser", "google-chrome"];

const TIMEOUT: Duration = Duration::from_secs(60);

/// The browser to print with: `explicit`, else the first of [`BROWSERS`] on
/// `PATH`.
pub fn find(explicit: Option<&Path>) -> Result<PathBuf> {
    if let Some(p) = explicit {
        if p.is_file() {
            return Ok(p.to_path_buf());
        }
        bail!("--chromium {}: no such file", p.display());
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    for name in BROWSERS {
        for dir in std::env::split_paths(&path) {
            let candidate = dir.join(name);
            if candidate.is_file() {
                return Ok(candidate);
            }
        }
    }
    bail!(
        "--formats pdf needs headless Chromium: none of {} is on PATH (install chromium, or give --chromium PATH)",
        BROWSERS.join(", ")
    )
}

/// Print `html` (a file) to `pdf` with `browser`, in a throw-away profile;
/// killed after 60 s.
pub fn print(browser: &Path, html: &Path, pdf: &Path) -> Result<()> {
    let profile = tempfile::tempdir().context("a profile folder for chromium")?;
    let html = std::fs::canonicalize(html)?;
    let mut c = Command::new(browser);
    c.args([
        "--headless",
        "--disable-gpu",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-pdf-header-footer",
    ])
    .arg(format!("--user-data-dir={}", profile.path().display()))
    .arg(format!("--print-to-pdf={}", pdf.display()));
    // Chromium's sandbox refuses to run as root
    if nix::unistd::geteuid().is_root() {
        c.arg("--no-sandbox");
    }
    c.arg(format!("file://{}", html.display()))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(profile.path().join("stderr.log"))?)
        .process_group(0);
    let mut child = c
        .spawn()
        .with_context(|| format!("starting {}", browser.display()))?;
    let start = Instant::now();
    loop {
        if let Some(status) = child.try_wait()? {
            if !status.success() {
                let err =
                    std::fs::read_to_string(profile.path().join("stderr.log")).unwrap_or_default();
                bail!(
                    "{} could not print {}: {}",
                    browser.display(),
                    html.display(),
                    err.lines().last().unwrap_or("it failed")
                );
            }
            break;
        }
        if start.elapsed() > TIMEOUT {
            crate::process::kill_group(&mut child);
            bail!(
                "{} did not print {} within 60 s",
                browser.display(),
                html.display()
            );
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    if !pdf.is_file() {
        bail!("{} wrote no PDF for {}", browser.display(), html.display());
    }
    Ok(())
}
