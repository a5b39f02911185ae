//! The words of DESIGN.md as types and pure rules: no SQL, no I/O, no clock.

pub mod automation;
pub mod change;
pub mod ci;
pub mod client;
pub mod event;
pub mod kpi;
pub mod plan;
pub mod policy;
pub mod risks;
pub mod task;
pub mod ticket;
pub mod time;
