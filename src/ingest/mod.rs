//! Source formats: bytes in, job events out, with line-numbered errors.
//! One file per format; no SQL here, so adding a tool is one file.

pub mod bacula;
pub mod borg;
pub mod borgmatic;
pub mod json_map;
pub mod mail;
pub mod neutral;
pub mod restic;

/// Why one input line (or item) was refused.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Rejection {
    pub line: usize,
    pub field: String,
    pub message: String,
}

impl Rejection {
    pub fn new(line: usize, field: &str, message: impl Into<String>) -> Rejection {
        Rejection {
            line,
            field: field.to_string(),
            message: message.into(),
        }
    }

    /// `file:line: field: message`
    pub fn describe(&self, file: &str) -> String {
        format!("{file}:{}: {}: {}", self.line, self.field, self.message)
    }
}

/// One run as a backup tool reported it, before it is mapped to a policy.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ToolRun {
    pub host: Option<String>,
    pub tags: Vec<String>,
    /// borg's archive name.
    pub name: Option<String>,
    pub started_at: Option<i64>,
    pub ended_at: Option<i64>,
    pub status: Option<crate::domain::event::Status>,
    pub bytes: Option<i64>,
    pub files: Option<i64>,
    pub id: Option<String>,
    pub message: Option<String>,
    /// The tool's own name of the job (Bacula, a JSON source, a mail).
    pub job: Option<String>,
    /// A Bacula Director's name: with `job`, the key of a Bacula job.
    pub director: Option<String>,
    pub level: Option<crate::domain::automation::judge::Level>,
    /// Still going: a start record, no status yet.
    pub running: bool,
    /// An integrity check (Bacula Verify, a PBS verify) rather than a backup.
    pub check: bool,
}

/// Keep the first lines of tool messages, at most `MAX` bytes.
pub(crate) fn clip(lines: &[String]) -> Option<String> {
    const MAX: usize = 2000;
    if lines.is_empty() {
        return None;
    }
    let mut out = String::new();
    for l in lines {
        if out.len() + l.len() + 1 > MAX {
            out.push_str(" …");
            break;
        }
        if !out.is_empty() {
            out.push_str("; ");
        }
        // a tool's own escape sequences (colours, progress) are not kept
        out.extend(l.trim().chars().filter(|c| !c.is_control()));
    }
    Some(out)
}
