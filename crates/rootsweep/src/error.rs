//! Errors at the command-line edge: [`CliError`] carries a one-line message, an optional hint
//! and the exit code, and prints as `error: ...` / `  hint: ...` on stderr.

use std::fmt;

use crate::exit;

/// An error the user can act on.
#[derive(Debug)]
pub(crate) struct CliError {
    message: String,
    hint: Option<String>,
    code: u8,
}

impl CliError {
    /// A usage or setup error (exit 2): nothing was changed.
    pub(crate) fn usage(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            hint: None,
            code: exit::USAGE,
        }
    }

    /// Adds a hint: what to do about it.
    pub(crate) fn hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }

    /// Changes the exit code.
    pub(crate) fn with_code(mut self, code: u8) -> Self {
        self.code = code;
        self
    }

    /// The exit code.
    pub(crate) fn code(&self) -> u8 {
        self.code
    }

    /// The message and hint as printed.
    pub(crate) fn render(&self) -> String {
        match &self.hint {
            Some(hint) => format!("error: {}\n  hint: {hint}", self.message),
            None => format!("error: {}", self.message),
        }
    }
}

impl fmt::Display for CliError {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(&self.message)
    }
}

impl std::error::Error for CliError {}

/// Results at the edge.
pub(crate) type CliResult<T> = Result<T, CliError>;
