//! CLI tests through the real binary, one integration-test binary with modules.

mod adversarial;
mod changes;
mod env;
mod events;
mod foundation;
mod operations;
mod planning;
mod reliability;
mod tasks;
mod tools;
mod truth;

/// The silver-tier second client of the operations tests.
pub fn operations_silver() -> String {
    operations::SILVER.to_string()
}
