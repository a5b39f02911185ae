//! The team store on PostgreSQL (#16). Step 1 is under way: the schema
//! of this version, created and checked on a real server; the commands do
//! not run on it yet. The SQLite schema stays the reference: a test
//! compares the two table by table.

use anyhow::{bail, Context, Result};

/// The schema of version [`VERSION`], created at once on an empty database.
pub const BASELINE: &str = include_str!("0031_baseline.sql");

/// The schema version the baseline creates: the SQLite store's.
pub const VERSION: i64 = 31;

/// Whether `--db` (or `BMCTL_DB`) names a PostgreSQL server rather than a file.
pub fn is_url(db: &str) -> bool {
    db.starts_with("postgresql://") || db.starts_with("postgres://")
}

/// The URL without its password, for messages and `config show`.
pub fn redacted(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_string();
    };
    let (auth, host) = match rest.split_once('@') {
        Some((a, h)) => (a, h),
        None => return url.to_string(),
    };
    let user = auth.split(':').next().unwrap_or("");
    if auth.contains(':') {
        format!("{scheme}://{user}:***@{host}")
    } else {
        url.to_string()
    }
}

/// Connect (a URL, or libpq's `key=value` form; no TLS yet: a URL asking
/// for it is refused rather than sent in the clear).
pub fn connect(params: &str) -> Result<postgres::Client> {
    if params.contains("sslmode=require") || params.contains("sslmode=verify") {
        bail!(
            "{}: TLS to PostgreSQL is not built yet (#16 step 1)",
            redacted(params)
        );
    }
    postgres::Client::connect(params, postgres::NoTls)
        .with_context(|| format!("connecting to PostgreSQL at {}", redacted(params)))
}

/// The database's schema version; 0 for an empty database.
pub fn version(c: &mut postgres::Client) -> Result<i64> {
    let exists: bool = c
        .query_one("SELECT to_regclass('bmctl_schema') IS NOT NULL", &[])?
        .get(0);
    if !exists {
        return Ok(0);
    }
    let row = c.query_opt("SELECT max(version) FROM bmctl_schema", &[])?;
    Ok(row.and_then(|r| r.get::<_, Option<i64>>(0)).unwrap_or(0))
}

/// Bring an empty database to [`VERSION`] in one transaction; refuse one
/// written by a newer bmctl, touching nothing, as the SQLite store does.
pub fn migrate(c: &mut postgres::Client, name: &str) -> Result<()> {
    let found = version(c)?;
    if found > VERSION {
        bail!(
            "database {name} has schema version {found}, but this bmctl knows only up to version {VERSION}; upgrade bmctl"
        );
    }
    if found == VERSION {
        return Ok(());
    }
    if found != 0 {
        bail!("database {name} has schema version {found}, which no bmctl wrote on PostgreSQL");
    }
    let mut tx = c.transaction()?;
    tx.batch_execute(BASELINE)
        .with_context(|| format!("creating the bmctl schema in {name}"))?;
    tx.commit()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_told_from_paths_and_passwords_never_shown() {
        assert!(is_url("postgresql://noc@db.msp/bmctl"));
        assert!(!is_url("/var/lib/bmctl/bmctl.db"));
        assert_eq!(
            redacted("postgresql://alice:s3cret@db.msp:5432/bmctl"),
            "postgresql://alice:***@db.msp:5432/bmctl"
        );
        assert_eq!(
            redacted("postgresql://db.msp/bmctl"),
            "postgresql://db.msp/bmctl"
        );
        assert!(connect("postgresql://db/x?sslmode=require").is_err());
    }

    #[test]
    fn the_baseline_is_the_sqlite_schema_version() {
        assert_eq!(VERSION, crate::store::schema::VERSION);
        assert!(BASELINE.contains(&format!("VALUES ({VERSION})")));
    }
}
