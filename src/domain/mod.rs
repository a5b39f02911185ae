//! The words of DESIGN.md as types and pure rules: no SQL, no I/O, no clock.

/// An enum of DESIGN's words: `as_str`, `parse`, `WORDS` and `Display`.
macro_rules! words {
    ($t:ty { $($v:ident = $s:literal),* }) => {
        impl $t {
            /// The word DESIGN, the database and JSON use.
            pub fn as_str(self) -> &'static str {
                match self { $(Self::$v => $s),* }
            }
            pub fn parse(word: &str) -> Option<Self> {
                match word { $($s => Some(Self::$v),)* _ => None }
            }
            /// Every word, for messages.
            pub const WORDS: &'static [&'static str] = &[$($s),*];
        }
        impl std::fmt::Display for $t {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

pub mod automation;
pub mod change;
pub mod ci;
pub mod client;
pub mod event;
pub mod plan;
pub mod policy;
pub mod recovery;
pub mod role;
pub mod task;
pub mod ticket;
pub mod time;
