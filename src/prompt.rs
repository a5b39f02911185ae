//! The only user of dialoguer: questions on a terminal, never elsewhere.

use std::io::IsTerminal;

use anyhow::Result;

/// Whether bmctl may ask: stdin and stderr are a terminal and `--yes` was not given.
pub fn interactive(yes: bool) -> bool {
    !yes && std::io::stdin().is_terminal() && std::io::stderr().is_terminal()
}

/// Ask for a value, with an optional default.
pub fn ask(question: &str, default: Option<&str>) -> Result<String> {
    let mut input = dialoguer::Input::<String>::new().with_prompt(question);
    if let Some(d) = default {
        input = input.default(d.to_string());
    }
    Ok(input.interact_text()?)
}

/// Ask yes or no.
pub fn confirm(question: &str) -> Result<bool> {
    Ok(dialoguer::Confirm::new()
        .with_prompt(question)
        .default(false)
        .interact()?)
}
