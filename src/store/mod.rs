//! The tables and their queries, and the only SQL of bmctl: `Store` opens
//! the file with the pragmas every connection needs (`bulk` the settings of
//! a bulk import); one file per table (or concern) holds its queries, as
//! functions of a [`Db`], the connection that is opaque outside this module.

pub mod audit;
pub mod bacula;
pub mod breaches;
pub mod bulk;
pub mod changes;
pub mod cis;
pub mod clients;
pub mod digests;
pub mod event_writer;
pub mod events;
pub mod exclusions;
pub mod health;
pub mod ingest_cache;
pub mod intake;
pub mod kpi;
pub mod meta;
pub mod outbox;
pub mod pauses;
pub mod people;
pub mod pg;
pub mod plans;
pub mod policies;
#[cfg(test)]
pub mod probe;
pub mod recovery;
pub mod running;
pub mod schema;
pub mod templates;
pub mod ticket_writer;
pub mod tickets;

use std::fs::{self, OpenOptions};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{bail, Context, Result};
use rusqlite::{Connection, OpenFlags};

/// The page cache of every read-write connection, as SQLite's negative KiB.
pub const CACHE_KIB: i64 = -65_536;

/// Prepared statements kept per connection.
const STATEMENT_CACHE: usize = 64;

/// A word of a column (a kind, a status) as its enum; another word is a
/// damaged row, named.
fn word<T>(r: &rusqlite::Row<'_>, i: usize, parse: fn(&str) -> Option<T>) -> rusqlite::Result<T> {
    let text: String = r.get(i)?;
    as_word(i, &text, parse)
}

/// [`word`] of a column that may be null.
fn word_opt<T>(
    r: &rusqlite::Row<'_>,
    i: usize,
    parse: fn(&str) -> Option<T>,
) -> rusqlite::Result<Option<T>> {
    let text: Option<String> = r.get(i)?;
    text.map(|t| as_word(i, &t, parse)).transpose()
}

fn as_word<T>(i: usize, text: &str, parse: fn(&str) -> Option<T>) -> rusqlite::Result<T> {
    parse(text).ok_or_else(|| {
        rusqlite::Error::FromSqlConversionFailure(
            i,
            rusqlite::types::Type::Text,
            format!("'{text}' is not a word of this column").into(),
        )
    })
}

/// A connection to the database: outside `store` it only passes to the
/// store's functions, so every SQL statement of bmctl is written here.
pub struct Db(Connection);

impl Db {
    /// A connection opened elsewhere, for the store's functions (tests that
    /// play an attacker with the file).
    pub fn wrap(conn: Connection) -> Db {
        Db(conn)
    }
}

/// The one write transaction of a command: it derefs to the [`Db`] the
/// store's functions take, commits with [`Tx::commit`] and rolls back when
/// dropped uncommitted.
pub struct Tx<'a> {
    db: &'a Db,
    open: bool,
}

impl<'a> Tx<'a> {
    /// Take the write lock now (IMMEDIATE), so the transaction never fails
    /// half-way with "database is locked".
    pub(super) fn begin(db: &'a Db) -> Result<Tx<'a>> {
        db.0.execute_batch("BEGIN IMMEDIATE")?;
        Ok(Tx { db, open: true })
    }

    pub fn commit(mut self) -> Result<()> {
        self.db.0.execute_batch("COMMIT")?;
        self.open = false;
        Ok(())
    }
}

impl std::ops::Deref for Tx<'_> {
    type Target = Db;
    fn deref(&self) -> &Db {
        self.db
    }
}

impl Drop for Tx<'_> {
    fn drop(&mut self) {
        if self.open {
            let _ = self.db.0.execute_batch("ROLLBACK");
        }
    }
}

/// An open bmctl database.
pub struct Store {
    conn: Db,
    pub path: PathBuf,
    /// Opened read-only (the file is not writable by this user).
    pub read_only: bool,
    /// The database was made to allow `--now` on writes (tests, replays, the demo).
    pub time_travel: bool,
    /// This command runs at a `--now` other than the wall clock.
    pub now_overridden: bool,
}

/// The meta key that lets writes honour `--now`.
const TIME_TRAVEL: &str = "time_travel";

impl Store {
    /// Open an existing bmctl database and migrate it. A missing or empty
    /// file is an error: only `init`, `demo` and `db backup` make one, so a
    /// mistyped `--db` is never silently a new, empty database.
    pub fn open(path: &Path, busy_timeout: Duration) -> Result<Store> {
        let missing = match fs::metadata(path) {
            Ok(m) => m.is_file() && m.len() == 0,
            Err(e) => e.kind() == std::io::ErrorKind::NotFound,
        };
        if missing {
            bail!(
                "no bmctl database at {}; create one with `bmctl init`",
                path.display()
            );
        }
        Self::open_file(path, busy_timeout)
    }

    /// Create the database file (mode 0600) when it is missing, then open and
    /// migrate it. The folder must exist.
    pub fn create(path: &Path, busy_timeout: Duration) -> Result<Store> {
        if !path.exists() {
            if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                if !dir.is_dir() {
                    bail!(
                        "cannot create database {}: folder {} does not exist",
                        path.display(),
                        dir.display()
                    );
                }
            }
            OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .open(path)
                .with_context(|| format!("creating database {}", path.display()))?;
        }
        Self::open_file(path, busy_timeout)
    }

    /// Create the default data folder (0700) for a database in it.
    pub fn make_folder(path: &Path) -> Result<()> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            fs::DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(dir)
                .with_context(|| format!("creating folder {}", dir.display()))?;
        }
        Ok(())
    }

    fn open_file(path: &Path, busy_timeout: Duration) -> Result<Store> {
        // A file we may not write is opened read-only: reads are still served,
        // writes get a clear error.
        let mut read_only = OpenOptions::new()
            .write(true)
            .open(path)
            .is_err_and(|e| e.kind() == std::io::ErrorKind::PermissionDenied);
        let mut conn = if read_only {
            open_read_only(path)?
        } else {
            Connection::open_with_flags(
                path,
                OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
            )
            .with_context(|| format!("opening database {}", path.display()))?
        };
        conn.busy_timeout(busy_timeout)?;
        // Room for every statement of the ingest path (rusqlite keeps 16).
        conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
        // A writable file in a folder this user may not write: SQLite cannot
        // make the WAL's files beside it, so the database is read-only here.
        if !read_only && folder_read_only(&conn) {
            eprintln!(
                "bmctl: warning: the folder of {} is not writable (SQLite keeps {0}-wal and {0}-shm beside it): reads only",
                path.display()
            );
            conn = open_read_only(path)?;
            read_only = true;
        }
        // Refuse a newer database before anything can write to it.
        schema::refuse_newer(&conn, path)?;
        if read_only {
            if schema::user_version(&conn)? < schema::VERSION {
                bail!("database {} is read-only and needs an upgrade to schema version {}: open it once with write access", path.display(), schema::VERSION);
            }
            conn.pragma_update(None, "foreign_keys", "on")?;
            let conn = Db(conn);
            let time_travel = allows_time_travel(&conn);
            return Ok(Store {
                conn,
                path: path.to_path_buf(),
                read_only: true,
                time_travel,
                now_overridden: false,
            });
        }
        conn.pragma_update(None, "journal_mode", "wal")
            .with_context(|| {
                format!("{} is not a bmctl database (or is damaged)", path.display())
            })?;
        conn.pragma_update(None, "synchronous", "normal")?;
        // 64 MiB of page cache: the event indexes of a busy day stay in memory.
        conn.pragma_update(None, "cache_size", CACHE_KIB)?;
        conn.pragma_update(None, "foreign_keys", "on")?;
        let mut store = Store {
            conn: Db(conn),
            path: path.to_path_buf(),
            read_only: false,
            time_travel: false,
            now_overridden: false,
        };
        let found = schema::user_version(&store.conn.0)?;
        if (1..schema::VERSION).contains(&found) {
            store.copy_before_upgrade(found)?;
        }
        schema::migrate(&store.conn)
            .with_context(|| format!("migrating database {}", path.display()))?;
        store.time_travel = allows_time_travel(&store.conn);
        Ok(store)
    }

    /// Keep a copy of a database about to be upgraded, beside it as
    /// `FILE.schema-N.bak` (0600): an upgrade may rebuild the events table,
    /// and a failure half-way must leave a way back. An existing copy is kept.
    fn copy_before_upgrade(&self, version: i64) -> Result<()> {
        let mut name = self.path.as_os_str().to_owned();
        name.push(format!(".schema-{version}.bak"));
        let dest = PathBuf::from(name);
        let created = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&dest);
        match created {
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => return Ok(()),
            other => {
                other.with_context(|| format!("creating {} before the upgrade", dest.display()))?;
            }
        }
        self.copy_into(&dest).with_context(|| {
            format!(
                "copying the database to {} before the upgrade",
                dest.display()
            )
        })?;
        eprintln!(
            "bmctl: upgrading {} from schema version {version} to {}; the old file is kept as {}",
            self.path.display(),
            schema::VERSION,
            dest.display()
        );
        Ok(())
    }

    /// Copy the database into the file `dest` with SQLite's online backup.
    pub fn copy_into(&self, dest: &Path) -> Result<()> {
        let mut target =
            Connection::open(dest).with_context(|| format!("opening {}", dest.display()))?;
        rusqlite::backup::Backup::new(&self.conn.0, &mut target)?.run_to_completion(
            1024,
            Duration::from_millis(0),
            None,
        )?;
        Ok(())
    }

    /// Mark a database being created as one whose writes may honour `--now`.
    /// Only at creation: a working database never learns to travel in time.
    pub fn allow_time_travel(&mut self) -> Result<()> {
        meta::set(&self.conn, TIME_TRAVEL, "allowed")?;
        self.time_travel = true;
        Ok(())
    }

    /// Whether this database holds anything yet (a new file may still be
    /// marked for time travel).
    pub fn is_blank(&self) -> Result<bool> {
        Ok(self.conn.0.query_row(
            "SELECT NOT EXISTS (SELECT 1 FROM clients) AND NOT EXISTS (SELECT 1 FROM audit_log)",
            [],
            |r| r.get(0),
        )?)
    }

    /// An in-memory database with the full schema, for tests.
    pub fn memory() -> Result<Store> {
        let conn = Connection::open_in_memory()?;
        conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
        conn.pragma_update(None, "foreign_keys", "on")?;
        let conn = Db(conn);
        schema::migrate(&conn)?;
        Ok(Store {
            conn,
            path: PathBuf::from(":memory:"),
            read_only: false,
            time_travel: true,
            now_overridden: false,
        })
    }

    /// The file beside a database that marks it damaged: while it is there,
    /// writes are refused (SQLite would write on around a corrupted page).
    pub fn damaged_mark(&self) -> PathBuf {
        let mut p = self.path.clone().into_os_string();
        p.push(".damaged");
        PathBuf::from(p)
    }

    /// Run `PRAGMA quick_check`; a damaged database is marked (see
    /// [`Store::damaged_mark`]) and its findings returned, a sound one is
    /// cleared of an old mark. `full`: `PRAGMA integrity_check` instead.
    pub fn verify_pages(&self, full: bool) -> Result<Vec<String>> {
        let pragma = if full {
            "integrity_check"
        } else {
            "quick_check"
        };
        let found: Result<Vec<String>> = (|| {
            let mut stmt = self.conn.0.prepare(&format!("PRAGMA {pragma}"))?;
            let rows = stmt.query_map([], |r| r.get(0))?;
            Ok(rows.collect::<rusqlite::Result<Vec<String>>>()?)
        })();
        let found = match found {
            Ok(f) => f,
            Err(e) => vec![format!("{e:#}")],
        };
        let mark = self.damaged_mark();
        if found == ["ok"] {
            if mark.exists() && !self.read_only {
                fs::remove_file(&mark).with_context(|| format!("removing {}", mark.display()))?;
            }
        } else {
            let text = format!("PRAGMA {pragma} found:\n{}\n", found.join("\n"));
            fs::write(&mark, text).with_context(|| format!("writing {}", mark.display()))?;
        }
        Ok(found)
    }

    /// Start the one write transaction of a command (see [`Tx::begin`]).
    pub fn write(&mut self) -> Result<Tx<'_>> {
        let mark = self.damaged_mark();
        if mark.exists() {
            bail!(
                "database {} is damaged ({}): writes are refused so that nothing is written around a corrupted page; \
                 restore it from a backup (`bmctl db backup` makes one), then run `bmctl db check`, which clears the mark when the file is sound",
                self.path.display(),
                fs::read_to_string(&mark)
                    .unwrap_or_default()
                    .lines()
                    .nth(1)
                    .unwrap_or("see the .damaged file beside it")
            );
        }
        if self.read_only {
            bail!(
                "database {} is read-only for this user: writes are refused (reads still work)",
                self.path.display()
            );
        }
        if self.now_overridden && !self.time_travel {
            return Err(crate::error::refused(
                "this database does not allow time travel (--now / BMCTL_NOW on a write); \
                 create test databases with `bmctl init --allow-time-travel`",
            ));
        }
        Tx::begin(&self.conn).context("starting a write transaction")
    }

    /// How long a statement waits for another connection's write lock.
    pub fn set_busy_timeout(&self, wait: Duration) -> Result<()> {
        Ok(self.conn.0.busy_timeout(wait)?)
    }

    /// Cap the file at `pages` pages for this connection (a full disk, in tests).
    pub fn limit_pages(&self, pages: i64) -> Result<()> {
        Ok(self.conn.0.pragma_update(None, "max_page_count", pages)?)
    }

    /// The database, for the store's functions.
    pub fn db(&self) -> &Db {
        &self.conn
    }
}

/// A query built from optional filters, every value bound (never spliced).
pub(crate) struct Query {
    pub sql: String,
    pub args: Vec<rusqlite::types::Value>,
}

impl Query {
    pub fn new(sql: impl Into<String>) -> Query {
        Query {
            sql: sql.into(),
            args: Vec::new(),
        }
    }

    /// Append ` AND {cond} ?N` with `v` bound as parameter N.
    pub fn bind(&mut self, cond: &str, v: rusqlite::types::Value) {
        self.args.push(v);
        self.sql
            .push_str(&format!(" AND {cond} ?{}", self.args.len()));
    }

    /// Append fixed SQL (no user input).
    pub fn raw(&mut self, text: &str) {
        self.sql.push_str(text);
    }
}

/// Rows per statement of [`insert_rows`].
const ROWS_PER_STATEMENT: usize = 16;

/// Insert `rows` into `table` ([`ROWS_PER_STATEMENT`] to a statement, the
/// rest one at a time): `columns` names them, and `bind` binds one row's
/// values from parameter `first` on, in that order. A batch's work-log
/// lines, notifications and audit rows pay a statement's overhead once per
/// 16 rows.
pub(crate) fn insert_rows<T>(
    conn: &Db,
    table: &str,
    columns: &[&str],
    rows: &[T],
    bind: impl Fn(&mut rusqlite::Statement<'_>, usize, &T) -> rusqlite::Result<()>,
) -> Result<()> {
    let one = format!("({})", vec!["?"; columns.len()].join(", "));
    let sql = |n: usize| {
        format!(
            "INSERT INTO {table} ({}) VALUES {}",
            columns.join(", "),
            vec![one.as_str(); n].join(", ")
        )
    };
    let mut chunks = rows.chunks_exact(ROWS_PER_STATEMENT);
    if chunks.len() > 0 {
        let mut stmt = conn.0.prepare_cached(&sql(ROWS_PER_STATEMENT))?;
        for chunk in chunks.by_ref() {
            for (i, row) in chunk.iter().enumerate() {
                bind(&mut stmt, 1 + i * columns.len(), row)?;
            }
            stmt.raw_execute()?;
        }
    }
    let rest = chunks.remainder();
    if !rest.is_empty() {
        let mut stmt = conn.0.prepare_cached(&sql(1))?;
        for row in rest {
            bind(&mut stmt, 1, row)?;
            stmt.raw_execute()?;
        }
    }
    Ok(())
}

/// `file:` URI of a path (percent-encoding what a URI may not hold).
fn file_uri(path: &Path, query: &str) -> String {
    let mut out = String::from("file:");
    for b in path.display().to_string().bytes() {
        if b.is_ascii_alphanumeric() || b"/-_.~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    format!("{out}?{query}")
}

/// Open a database this user may not write. A WAL database needs its shared
/// memory file; when that cannot be created (a folder we may not write), the
/// file is read as immutable: a snapshot without other writers' newest,
/// uncheckpointed transactions.
fn open_read_only(path: &Path) -> Result<Connection> {
    let flags = OpenFlags::SQLITE_OPEN_READ_ONLY
        | OpenFlags::SQLITE_OPEN_URI
        | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let plain = Connection::open_with_flags(file_uri(path, "mode=ro"), flags)?;
    if plain
        .query_row("PRAGMA user_version", [], |r| r.get::<_, i64>(0))
        .is_ok()
    {
        return Ok(plain);
    }
    Connection::open_with_flags(file_uri(path, "mode=ro&immutable=1"), flags)
        .with_context(|| format!("opening database {} read-only", path.display()))
}

/// Whether writes on this database may honour `--now`: made by `init
/// --allow-time-travel` or by `demo`.
fn allows_time_travel(conn: &Db) -> bool {
    let get = |k| meta::get(conn, k).ok().flatten();
    get(TIME_TRAVEL).as_deref() == Some("allowed") || get("demo").as_deref() == Some("true")
}

/// The permission bits of a file (none for a path that is not one).
pub fn file_mode(path: &Path) -> Option<u32> {
    use std::os::unix::fs::PermissionsExt;
    fs::metadata(path)
        .ok()
        .map(|m| m.permissions().mode() & 0o7777)
}

/// Whether a first read fails because the database's folder is read-only.
fn folder_read_only(conn: &Connection) -> bool {
    match conn.query_row("PRAGMA user_version", [], |r| r.get::<_, i64>(0)) {
        Err(rusqlite::Error::SqliteFailure(e, _)) => {
            e.extended_code == rusqlite::ffi::SQLITE_READONLY_DIRECTORY
        }
        _ => false,
    }
}

/// Whether the file at `path` is marked as a bmctl demo, read without
/// writing anything (an unknown file must stay untouched).
pub fn peek_demo_mark(path: &Path) -> Result<bool> {
    let conn = Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_ONLY)
        .with_context(|| format!("opening {}", path.display()))?;
    let has_meta: bool = conn
        .query_row(
            "SELECT count(*) FROM sqlite_schema WHERE type = 'table' AND name = 'meta'",
            [],
            |r| r.get::<_, i64>(0),
        )
        .map(|n| n > 0)
        .unwrap_or(false);
    if !has_meta {
        return Ok(false);
    }
    Ok(meta::get(&Db(conn), "demo").ok().flatten().as_deref() == Some("true"))
}

/// Run a `SELECT policy_id, count(*) … GROUP BY policy_id` taking
/// (client, from, to): the count per policy.
fn counts_by_policy(
    stmt: &mut rusqlite::Statement<'_>,
    client_id: i64,
    from: i64,
    to: i64,
) -> Result<std::collections::HashMap<i64, usize>> {
    let rows = stmt.query_map(rusqlite::params![client_id, from, to], |r| {
        Ok((r.get(0)?, r.get::<_, i64>(1)? as usize))
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

#[cfg(test)]
mod query_plans {
    //! Hot queries must seek: no `SCAN` of the events or tickets tables.

    use super::*;

    fn plan(store: &Store, sql: &str, nargs: usize) -> String {
        let mut stmt = store
            .conn
            .0
            .prepare(&format!("EXPLAIN QUERY PLAN {sql}"))
            .unwrap();
        let args: Vec<rusqlite::types::Value> = (0..nargs)
            .map(|_| rusqlite::types::Value::Integer(1))
            .collect();
        let rows = stmt
            .query_map(rusqlite::params_from_iter(args), |r| r.get::<_, String>(3))
            .unwrap();
        rows.map(|r| r.unwrap()).collect::<Vec<_>>().join("\n")
    }

    /// Fail when the plan scans the events, tickets or rollups table (by
    /// name or by the aliases the queries use).
    fn assert_seeks(store: &Store, what: &str, sql: &str, nargs: usize) {
        let p = plan(store, sql, nargs);
        let scans = [
            "SCAN job_events",
            "SCAN e",
            "SCAN tickets",
            "SCAN t",
            "SCAN daily_rollups",
        ];
        assert!(
            !p.lines().any(|l| scans
                .iter()
                .any(|s| l == *s || l.starts_with(&format!("{s} ")))),
            "{what} scans a hot table:\n{p}"
        );
        assert!(p.contains("USING"), "{what} uses no index:\n{p}");
        eprintln!("{what}:\n{p}\n");
    }

    #[test]
    fn a_scan_is_caught() {
        let store = Store::memory().unwrap();
        let p = plan(&store, "SELECT * FROM job_events e WHERE e.bytes = ?1", 1);
        assert!(p.starts_with("SCAN e"), "{p}");
    }

    #[test]
    fn hot_queries_use_indexes() {
        let store = Store::memory().unwrap();
        // one client's runs of a period: a seek per day; all clients' a range of days
        let key_range = |what: &str, sql: &str, nargs: usize, range: &str| {
            assert_seeks(&store, what, sql, nargs);
            let p = plan(&store, sql, nargs);
            assert!(p.contains(range), "{what} reads no key range:\n{p}");
        };
        let per_day = "SEARCH e USING PRIMARY KEY (day=? AND client_id=?)";
        key_range("missed-run check", events::CLIENT_RUNS, 5, per_day);
        key_range(
            "runs of a client in a period",
            events::POLICY_RUNS,
            5,
            per_day,
        );
        key_range(
            "first success of a policy since",
            events::FIRST_SUCCESS_SINCE,
            4,
            per_day,
        );
        key_range("events to prune", events::PRUNE, 2, "PRIMARY KEY (day<?)");
        for (client_id, range) in [(Some(1), per_day), (None, "PRIMARY KEY (day>?)")] {
            let f = events::Filter {
                client_id,
                since: Some(0),
                limit: 1000,
                ..Default::default()
            };
            let (sql, args) = events::list_sql(&f, Some(1));
            key_range("events list", &sql, args.len(), range);
        }
        for sql in [events::DAY_BOUNDS, events::NEWEST_DAY] {
            assert_seeks(&store, "newest and oldest events", sql, 0);
            assert!(plan(&store, sql, 0).contains("SEARCH job_events"));
        }
        assert_seeks(&store, "open-ticket lookup", &tickets::find_open_sql(), 2);
        assert_seeks(
            &store,
            "a policy's open tickets (ticket automation)",
            tickets::open_for_known_policy_sql(),
            4,
        );
        let f = events::Filter {
            client_id: Some(1),
            limit: 1000,
            ..Default::default()
        };
        let (sql, args) = events::list_sql(&f, None);
        assert_seeks(&store, "per-client event listing", &sql, args.len());
        let f = events::Filter {
            client_id: Some(1),
            policy_id: Some(2),
            since: Some(0),
            limit: 0,
            ..Default::default()
        };
        let (sql, args) = events::list_sql(&f, None);
        assert_seeks(&store, "per-job event listing", &sql, args.len());
        let f = tickets::Filter {
            kind: Some(crate::domain::ticket::TicketKind::Corrective),
            ..Default::default()
        };
        let (sql, args) = tickets::list_sql(&f);
        assert_seeks(&store, "open corrective tickets", &sql, args.len());
        let f = tickets::Filter {
            client_id: Some(1),
            kind: Some(crate::domain::ticket::TicketKind::Corrective),
            ..Default::default()
        };
        let (sql, args) = tickets::list_sql(&f);
        assert_seeks(&store, "one client's open tickets", &sql, args.len());
        let f = tickets::Filter {
            kind: Some(crate::domain::ticket::TicketKind::Task),
            due_before: Some(0),
            ..Default::default()
        };
        let (sql, args) = tickets::list_sql(&f);
        assert_seeks(&store, "tasks due", &sql, args.len());
        assert!(
            plan(&store, &sql, args.len()).contains("tickets_open_due"),
            "tasks due reads open tickets only"
        );
        let f = tickets::Filter {
            kind: Some(crate::domain::ticket::TicketKind::Task),
            client_id: Some(1),
            ..Default::default()
        };
        let (sql, args) = tickets::list_sql(&f);
        assert_seeks(&store, "tasks due for one client", &sql, args.len());
        assert!(
            plan(&store, &sql, args.len()).contains("tickets_client_task_due"),
            "a client's tasks read the index of tasks"
        );
        for client in [None, Some(1)] {
            let q = tickets::tasks_due_sql(client, 0, 1);
            assert_seeks(&store, "task compliance", &q.sql, q.args.len());
        }
        let q = tickets::tasks_due_sql(Some(1), 0, 1);
        assert!(plan(&store, &q.sql, q.args.len()).contains("tickets_client_task_due"));
        // one client's rollups through the (client, day) index; all clients'
        // are a range of the primary key (day, client)
        let q = events::rollup_sum_sql(Some(1), 0, 100);
        assert!(plan(&store, &q.sql, q.args.len()).contains("daily_rollups_client"));
        let q = events::rollup_sum_sql(None, 0, 100);
        assert!(plan(&store, &q.sql, q.args.len()).contains("PRIMARY KEY (day>? AND day<?)"));
        for client in [None, Some(1)] {
            let q = events::rollup_sum_sql(client, 0, 100);
            assert_seeks(&store, "KPI rollup read", &q.sql, q.args.len());
            let q = kpi::open_at_sql(client, 100);
            assert_seeks(
                &store,
                "KPI backlog at the end of a period",
                &q.sql,
                q.args.len(),
            );
        }
        // ingest lookups
        assert_seeks(&store, "event key look-up", events::KEY_EXISTS, 4);
        assert!(plan(&store, events::KEY_EXISTS, 4)
            .contains("(day=? AND client_id=? AND xid=? AND xh=?)"));
        assert_seeks(
            &store,
            "open-ticket set per batch",
            tickets::POLICIES_WITH_OPEN,
            0,
        );
        assert!(plan(&store, tickets::POLICIES_WITH_OPEN, 0).contains("tickets_open_due"));
        assert_seeks(
            &store,
            "policy state per batch",
            "SELECT last_event_at FROM policy_state WHERE policy_id = ?1",
            1,
        );
        // the state upsert reads only its VALUES; its conflict target is
        // the rowid (a seek each, `NotExists` in the bytecode)
        let bulk = policies::set_states_sql(3);
        let p = plan(&store, &bulk, 24);
        assert!(p.contains("SCAN 3-ROW VALUES CLAUSE"), "{p}");
        assert!(!p.contains("policy_state"), "{p}");
        let ops: Vec<String> = store
            .conn
            .0
            .prepare(&format!("EXPLAIN {bulk}"))
            .unwrap()
            .query_map(
                rusqlite::params_from_iter(std::iter::repeat_n(0, 24)),
                |r| r.get(1),
            )
            .unwrap()
            .map(|r| r.unwrap())
            .collect();
        assert!(ops.iter().any(|o| o == "NotExists"), "{ops:?}");
        assert!(!ops.iter().any(|o| o == "OpenEphemeral"), "{ops:?}");
        let p = plan(&store, &policies::states_sql(3), 3);
        assert!(p.contains("SEARCH s USING INTEGER PRIMARY KEY"), "{p}");
        // review and risk reads
        assert_seeks(&store, "RPO tickets of a client", "SELECT policy_id, count(*) FROM tickets WHERE client_id = ?1 AND kind IN ('corrective', 'incident') AND opened_at >= ?2 AND opened_at < ?3 AND class = 'rpo' GROUP BY policy_id", 3);
        assert_seeks(
            &store,
            "PSA sync",
            &tickets::list_sql(&tickets::Filter {
                updated_since: Some(0),
                ..Default::default()
            })
            .0,
            1,
        );
    }
}
