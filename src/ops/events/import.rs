//! `events import` and `events ingest`: files in batches, checked while written.

use super::*;

/// Import a neutral file (JSON lines or CSV) in batches. By default one bad
/// line rejects the file and nothing is written: up to
/// [`CHECK_WHILE_WRITING`] bytes a checker thread reads the whole file while
/// the writer works, and the writer commits nothing until the checker has
/// passed it (the first transaction stays open till then, under a second at
/// that size); a larger file is checked before anything is written, so that
/// no transaction holds the write lock for long. With `skip_invalid` the
/// valid lines land and each rejected one is reported.
pub fn import(
    store: &mut Store,
    ctx: &Ctx,
    input_file: &Input<'_>,
    progress: impl FnMut(usize),
) -> Result<Summary> {
    import_checked(store, ctx, input_file, progress, CHECK_WHILE_WRITING)
}

/// [`import`], checking files of up to `check_while_writing` bytes while
/// they are written.
pub(super) fn import_checked(
    store: &mut Store,
    ctx: &Ctx,
    input_file: &Input<'_>,
    mut progress: impl FnMut(usize),
    check_while_writing: u64,
) -> Result<Summary> {
    let Input {
        path: file,
        name,
        format,
        skip_invalid,
        history,
        history_from,
        dry_run,
    } = *input_file;
    let known: HashSet<String> = clients::list(store.db())?
        .into_iter()
        .map(|c| c.code)
        .collect();
    let size = std::fs::File::open(file)
        .and_then(|f| f.metadata())
        .with_context(|| format!("opening {name}"))?
        .len();
    let check_while_writing = !skip_invalid && size <= check_while_writing;
    let db_path = store.path.clone();
    let db_file = db_path.as_path();
    if !skip_invalid && !check_while_writing {
        if let Some(p) = problems(file, format, &known, &AtomicBool::new(false))? {
            return Err(refusal(&p, name));
        }
    }

    // Off again below whatever happens.
    store.begin_bulk()?;
    let mut ing = if history {
        Ingestor::for_history().from(history_from)
    } else {
        Ingestor::new()
    }
    .holding_future(ctx);
    let stop = AtomicBool::new(false);
    let outcome =
        std::thread::scope(|scope| -> Result<Rejected> {
            // Each commit's pages are copied into the database by a second
            // connection on the other core while the writer goes on; the
            // import's own last checkpoint has only the last batch left.
            let (committed, commits) = std::sync::mpsc::channel::<()>();
            if db_file.is_file() {
                scope.spawn(move || bulk::checkpoint_on_commit(db_file, commits));
            }
            // Strict (the default): a checker reads the whole file ahead of the
            // writer, and nothing is committed until it has passed. The writer
            // starts at once and keeps its first transaction open meanwhile.
            let checker =
                check_while_writing.then(|| scope.spawn(|| problems(file, format, &known, &stop)));
            let (send, receive) = std::sync::mpsc::sync_channel::<Vec<neutral::Item>>(2);
            // Used chunks go back to the reader, which frees them: freeing in the
            // thread that allocated keeps the writer off the allocator's locks.
            let (recycle, used) = std::sync::mpsc::channel::<Vec<neutral::Item>>();
            let known = &known;
            let reader = scope.spawn(move || -> Result<Rejected> {
                let input = std::fs::File::open(file)?;
                let mut lines = neutral::read(BufReader::with_capacity(1 << 20, input), format);
                let mut rejected = Rejected {
                    name: name.to_string(),
                    ..Rejected::default()
                };
                let mut window: Vec<neutral::Item> = Vec::with_capacity(WINDOW);
                loop {
                    for (line, mut item) in lines.by_ref().take(WINDOW) {
                        if let Ok(ev) = &item {
                            if !known.contains(&ev.client) {
                                item = Err(unknown_client(line, &ev.client));
                            }
                        }
                        if let Err(r) = &item {
                            rejected.note(r);
                        }
                        window.push((line, item));
                    }
                    if window.is_empty() {
                        break;
                    }
                    let last = window.len() < WINDOW;
                    // In place (no scratch copy); the line number keeps lines of
                    // one client at the same instant in file order.
                    window.sort_unstable_by(|a, b| window_order(a).cmp(&window_order(b)));
                    let mut sorted = window.drain(..);
                    loop {
                        let mut chunk = used
                            .try_recv()
                            .map(|mut v| {
                                v.clear();
                                v
                            })
                            .unwrap_or_else(|_| Vec::with_capacity(CHUNK));
                        chunk.extend(sorted.by_ref().take(CHUNK));
                        if chunk.is_empty() {
                            break;
                        }
                        if send.send(chunk).is_err() {
                            return Ok(rejected);
                        }
                    }
                    drop(sorted);
                    if last {
                        break;
                    }
                }
                drop(send);
                while used.recv().is_ok() {}
                Ok(rejected)
            });
            let mut checker = checker;
            // The strict check's verdict: its problems, if any, are the error.
            let settle = |checker: &mut Option<ScopedJoinHandle<'_, Result<Option<Problems>>>>| {
                match checker.take().map(|c| c.join()) {
                    None => Ok(()),
                    Some(Err(_)) => Err(anyhow::anyhow!("the checking thread failed")),
                    Some(Ok(found)) => match found? {
                        None => Ok(()),
                        Some(r) => Err(refusal(&r, name)),
                    },
                }
            };
            let written = (|| -> Result<()> {
                let mut chunks = receive.into_iter();
                let mut tx = store.write()?;
                ing.begin(&tx)?;
                loop {
                    // One batch: whole chunks up to about BATCH events, the
                    // insert prepared once, each chunk handed back when done.
                    let mut n = 0;
                    {
                        let mut insert = bulk::event_insert(&tx)?;
                        while n < BATCH {
                            let Some(chunk) = chunks.next() else { break };
                            n += chunk.len();
                            // rejected lines: reported by the checker or the reader
                            let valid = chunk.iter().filter_map(|(_, item)| item.as_ref().ok());
                            ing.add_all(&tx, &mut insert, valid)?;
                            let _ = recycle.send(chunk);
                        }
                    }
                    if n == 0 {
                        break;
                    }
                    ing.flush(&tx, ctx)?;
                    if dry_run || checker.as_ref().is_some_and(|c| !c.is_finished()) {
                        continue; // not known good yet, or a dry run: nothing is committed
                    }
                    settle(&mut checker)?;
                    tx.commit()?;
                    let _ = committed.send(()); // a checkpointer gone: the last one does it all
                    progress(ing.summary.read);
                    tx = store.write()?;
                    ing.begin(&tx)?;
                }
                ing.finish_history(&tx, ctx)?;
                settle(&mut checker)?;
                if !dry_run {
                    tx.commit()?;
                }
                Ok(())
            })();
            drop(recycle);
            drop(committed);
            if let Err(e) = written {
                // Not a bad line (the writer skips those): stop the checker, but
                // a bad line it has found already is the error to report.
                stop.store(true, Ordering::Relaxed);
                settle(&mut checker)?;
                return Err(e);
            }
            reader
                .join()
                .map_err(|_| anyhow::anyhow!("the reader thread failed"))?
        });
    store.end_bulk()?;
    let rejected = outcome?;
    store.checkpoint()?;
    progress(ing.summary.read);
    let mut summary = ing.summary;
    summary.rejected = rejected.count;
    summary.rejections = rejected.reported;
    if rejected.count > MAX_REPORTED {
        summary.rejections.push(format!(
            "… and {} more rejected lines",
            rejected.count - MAX_REPORTED
        ));
    }
    Ok(summary)
}

/// The largest file checked while it is written (about 1M events; the check
/// ends within a second of the start). A larger file is checked first: the
/// first transaction would hold the write lock while the check runs.
pub const CHECK_WHILE_WRITING: u64 = 256 << 20;

/// The error of a strict import that found bad lines: each of the first
/// [`MAX_PROBLEMS`], then how many more.
pub(super) fn refusal(p: &Problems, name: &str) -> anyhow::Error {
    let tail = "nothing was written; --skip-invalid writes the valid lines";
    if p.count == 1 {
        return rejected(format!("{} ({tail})", p.shown[0].describe(name)));
    }
    let mut text = format!("{} bad lines ({tail}):", p.count);
    for r in &p.shown {
        text.push_str("\n  ");
        text.push_str(&r.describe(name));
    }
    if p.count > p.shown.len() {
        text.push_str(&format!("\n  … and {} more", p.count - p.shown.len()));
    }
    rejected(text)
}

/// Bad lines of a strict import named one by one; the rest are counted.
pub(super) const MAX_PROBLEMS: usize = 50;

/// The bad lines a strict check found.
pub(super) struct Problems {
    shown: Vec<Rejection>,
    count: usize,
}

/// Rejected lines reported one by one; the rest are counted.
pub(super) const MAX_REPORTED: usize = 1000;
/// Lines the reader sorts at a time, by the day the run ended, client and
/// time (the order of the events table's key), before they go to the writer
/// (a multiple of `BATCH`). In file order (typically a day of all clients)
/// every 10,000-event batch adds to the pages of every client, and each
/// batch writes all of those pages to the WAL again; sorted, a batch covers
/// a few hundred clients of a day, appended at the end of that day's range.
/// (By client first, a window of a small MSP's long history — 30 days of
/// 1,000 runs — spread each batch over 30 days' ranges.) Each policy's runs
/// still reach the writer in time order, but for runs across midnight.
pub(super) const WINDOW: usize = 30_000;

/// Where a line goes in its window: rejected lines first (skipped), then by
/// the UTC day the run ended, client and the run's instant, then by line.
pub(super) fn window_order(item: &neutral::Item) -> (Option<(i64, &str, i64)>, usize) {
    (
        item.1
            .as_ref()
            .ok()
            .map(|ev| (ev.ended_at.div_euclid(86_400), ev.client.as_str(), ev.at())),
        item.0,
    )
}

/// Lines handed from the reader thread to the writer at a time; a batch is
/// `BATCH / CHUNK` whole chunks (10,000 lines).
pub(super) const CHUNK: usize = 1000;

/// The rejected lines of an import with `--skip-invalid`: how many, and the
/// first [`MAX_REPORTED`] described (so a file of bad lines uses no more memory).
#[derive(Default)]
pub(super) struct Rejected {
    count: usize,
    reported: Vec<String>,
    name: String,
}

impl Rejected {
    fn note(&mut self, r: &Rejection) {
        self.count += 1;
        if self.reported.len() < MAX_REPORTED {
            self.reported.push(r.describe(&self.name));
        }
    }
}

pub(super) fn unknown_client(line: usize, client: &str) -> Rejection {
    Rejection::new(
        line,
        "client",
        format!("unknown client '{client}'; onboard it with `bmctl plan import` first"),
    )
}

/// The problems of a neutral file (lines that do not parse or name an
/// unknown client), read start to end; stops early when `stop` is set.
pub(super) fn problems(
    file: &Path,
    format: InputFormat,
    known: &HashSet<String>,
    stop: &AtomicBool,
) -> Result<Option<Problems>> {
    let input = BufReader::with_capacity(1 << 20, std::fs::File::open(file)?);
    let mut found = Problems {
        shown: Vec::new(),
        count: 0,
    };
    for (line, item) in neutral::read(input, format) {
        let problem = match item {
            Err(r) => Some(r),
            Ok(ev) if !known.contains(&ev.client) => Some(unknown_client(line, &ev.client)),
            Ok(_) if line % 4096 == 0 && stop.load(Ordering::Relaxed) => break,
            Ok(_) => None,
        };
        if let Some(r) = problem {
            found.count += 1;
            if found.shown.len() < MAX_PROBLEMS {
                found.shown.push(r);
            }
        }
    }
    Ok((found.count > 0).then_some(found))
}

/// Ingest events already in memory (tool output, `run`) in one transaction.
pub fn ingest(store: &mut Store, ctx: &Ctx, evs: &[NewEvent]) -> Result<Summary> {
    let mut ing = Ingestor::new().holding_future(ctx);
    let tx = store.write()?;
    ing.begin(&tx)?;
    ing.add_all(&tx, &mut bulk::event_insert(&tx)?, evs)?;
    ing.flush(&tx, ctx)?;
    tx.commit()?;
    Ok(ing.summary)
}
