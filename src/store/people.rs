//! The client's people (`client_contacts`) and the risks a client accepted
//! (`risk_acceptances`).

use anyhow::Result;
use rusqlite::params;
use serde::Serialize;

use crate::domain::time::Ts;
use crate::store::Db;

#[derive(Debug, Clone, Serialize)]
pub struct Contact {
    pub id: i64,
    pub client: String,
    pub name: String,
    pub email: Option<String>,
    /// `decision-maker`, `technical`, `billing` or `other`.
    pub role: String,
}

pub const CONTACT_ROLES: &[&str] = &["decision-maker", "technical", "billing", "other"];

pub fn add_contact(
    conn: &Db,
    client_id: i64,
    name: &str,
    email: Option<&str>,
    role: &str,
    now: i64,
) -> Result<i64> {
    conn.0
        .prepare_cached(
            "INSERT INTO client_contacts (client_id, name, email, role, created_at)
             VALUES (?1, ?2, ?3, ?4, ?5)",
        )?
        .execute(params![client_id, name, email, role, now])?;
    Ok(conn.0.last_insert_rowid())
}

/// Remove a contact by name; false when there is none.
pub fn remove_contact(conn: &Db, client_id: i64, name: &str) -> Result<bool> {
    Ok(conn
        .0
        .prepare_cached("DELETE FROM client_contacts WHERE client_id = ?1 AND name = ?2")?
        .execute(params![client_id, name])?
        > 0)
}

/// A client's contacts (or everyone's), decision-makers first.
pub fn contacts(conn: &Db, client_id: Option<i64>) -> Result<Vec<Contact>> {
    let mut stmt = conn.0.prepare_cached(
        "SELECT k.id, c.code, k.name, k.email, k.role FROM client_contacts k
         JOIN clients c ON c.id = k.client_id
         WHERE ?1 IS NULL OR k.client_id = ?1
         ORDER BY c.code, k.role <> 'decision-maker', k.name",
    )?;
    let rows = stmt.query_map(params![client_id], |r| {
        Ok(Contact {
            id: r.get(0)?,
            client: r.get(1)?,
            name: r.get(2)?,
            email: r.get(3)?,
            role: r.get(4)?,
        })
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// A risk the client accepted.
#[derive(Debug, Clone, Serialize)]
pub struct Acceptance {
    pub id: i64,
    pub client: String,
    pub rule: String,
    pub subject: String,
    pub accepted_by: String,
    pub recorded_by: String,
    pub until: Ts,
    #[serde(rename = "ref")]
    pub reference: String,
    pub note: Option<String>,
    /// The rule's measure when accepted (higher is worse).
    pub measure: Option<f64>,
    pub created_at: Ts,
}

pub struct NewAcceptance<'a> {
    pub client_id: i64,
    pub rule: &'a str,
    pub subject: &'a str,
    pub accepted_by: &'a str,
    pub recorded_by: &'a str,
    pub until: i64,
    pub reference: &'a str,
    pub note: Option<&'a str>,
    pub measure: Option<f64>,
    pub now: i64,
}

pub fn accept(conn: &Db, a: &NewAcceptance<'_>) -> Result<i64> {
    conn.0
        .prepare_cached(
            "INSERT INTO risk_acceptances
                 (client_id, rule, subject, accepted_by, recorded_by, until_at, ref, note, measure, created_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
        )?
        .execute(params![
            a.client_id,
            a.rule,
            a.subject,
            a.accepted_by,
            a.recorded_by,
            a.until,
            a.reference,
            a.note,
            a.measure,
            a.now
        ])?;
    Ok(conn.0.last_insert_rowid())
}

/// A client's acceptances (or everyone's), newest first, recorded by `at`.
pub fn acceptances(conn: &Db, client_id: Option<i64>, at: i64) -> Result<Vec<Acceptance>> {
    let mut stmt = conn.0.prepare_cached(
        "SELECT a.id, c.code, a.rule, a.subject, a.accepted_by, a.recorded_by, a.until_at, a.ref,
                a.note, a.measure, a.created_at
         FROM risk_acceptances a JOIN clients c ON c.id = a.client_id
         WHERE (?1 IS NULL OR a.client_id = ?1) AND a.created_at <= ?2
           AND (a.revoked_at IS NULL OR a.revoked_at > ?2)
         ORDER BY a.created_at DESC, a.id DESC",
    )?;
    let rows = stmt.query_map(params![client_id, at], |r| {
        Ok(Acceptance {
            id: r.get(0)?,
            client: r.get(1)?,
            rule: r.get(2)?,
            subject: r.get(3)?,
            accepted_by: r.get(4)?,
            recorded_by: r.get(5)?,
            until: Ts(r.get(6)?),
            reference: r.get(7)?,
            note: r.get(8)?,
            measure: r.get(9)?,
            created_at: Ts(r.get(10)?),
        })
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// Withdraw an acceptance; the row stays, marked, for the audit.
pub fn revoke(conn: &Db, id: i64, now: i64) -> Result<bool> {
    Ok(conn
        .0
        .prepare_cached(
            "UPDATE risk_acceptances SET revoked_at = ?2 WHERE id = ?1 AND revoked_at IS NULL",
        )?
        .execute(params![id, now])?
        > 0)
}
