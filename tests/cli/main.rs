//! CLI tests through the real binary, one integration-test binary with modules.

mod env;
mod events;
mod foundation;
mod operations;
mod tasks;
mod tools;
