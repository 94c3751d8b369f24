//! Accounts as rootsweep sees them: [`AccountId`] (a validated 12-digit newtype), [`Account`]
//! (what Organizations says about one) and [`AccountState`].

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// A 12-digit AWS account ID. Construction validates, so every `AccountId` in the program is
/// well formed and no AWS call is ever made with a malformed one.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct AccountId(String);

/// Why a string is not an account ID.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{input:?} is not an AWS account ID: expected exactly 12 digits")]
pub struct InvalidAccountId {
    input: String,
}

impl AccountId {
    /// Validates `input` (surrounding whitespace is ignored).
    pub fn parse(input: &str) -> Result<Self, InvalidAccountId> {
        let trimmed = input.trim();
        if trimmed.len() == 12 && trimmed.bytes().all(|byte| byte.is_ascii_digit()) {
            Ok(Self(trimmed.to_string()))
        } else {
            Err(InvalidAccountId {
                input: input.to_string(),
            })
        }
    }

    /// The 12 digits.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// `arn:aws:iam::<id>:root`, the principal an AssumeRoot session acts as.
    pub fn root_arn(&self) -> String {
        format!("arn:aws:iam::{}:root", self.0)
    }
}

impl fmt::Display for AccountId {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(&self.0)
    }
}

impl FromStr for AccountId {
    type Err = InvalidAccountId;

    fn from_str(input: &str) -> Result<Self, Self::Err> {
        Self::parse(input)
    }
}

impl<'de> Deserialize<'de> for AccountId {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Self::parse(&text).map_err(serde::de::Error::custom)
    }
}

impl AsRef<str> for AccountId {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

/// An account's lifecycle state in Organizations.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum AccountState {
    /// Usable: the only state AssumeRoot reaches.
    Active,
    /// Suspended by AWS or the customer.
    Suspended,
    /// Closing.
    PendingClosure,
    /// Still being created.
    PendingActivation,
    /// Closed.
    Closed,
    /// A state this version does not know.
    #[serde(untagged)]
    Other(String),
}

impl AccountState {
    /// Parses Organizations' `State` (or the retired `Status`) value.
    pub fn from_aws(value: &str) -> Self {
        match value {
            "ACTIVE" => Self::Active,
            "SUSPENDED" => Self::Suspended,
            "PENDING_CLOSURE" => Self::PendingClosure,
            "PENDING_ACTIVATION" => Self::PendingActivation,
            "CLOSED" => Self::Closed,
            other => Self::Other(other.to_string()),
        }
    }

    /// The AWS spelling.
    pub fn as_str(&self) -> &str {
        match self {
            Self::Active => "ACTIVE",
            Self::Suspended => "SUSPENDED",
            Self::PendingClosure => "PENDING_CLOSURE",
            Self::PendingActivation => "PENDING_ACTIVATION",
            Self::Closed => "CLOSED",
            Self::Other(other) => other,
        }
    }
}

impl fmt::Display for AccountState {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(self.as_str())
    }
}

/// A member account as discovered in Organizations.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Account {
    /// The account ID.
    pub id: AccountId,
    /// Its display name.
    pub name: String,
    /// Its lifecycle state.
    pub state: AccountState,
    /// The OU path from the root, as names (`/Workloads/Team01/Prod`); `/` for accounts directly
    /// under the root.
    pub ou_path: String,
    /// The ID of its parent (`r-...` or `ou-...`).
    pub parent_id: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn account_ids_are_exactly_twelve_digits() {
        assert_eq!(
            AccountId::parse(" 123456789012\n").map(|id| id.to_string()),
            Ok("123456789012".to_string())
        );
        for bad in [
            "12345678901",
            "1234567890123",
            "12345678901a",
            "",
            "arn:aws:iam::123456789012:root",
        ] {
            let error = AccountId::parse(bad).expect_err("invalid");
            assert!(error.to_string().contains("12 digits"), "{error}");
        }
        assert_eq!(
            AccountId::parse("123456789012").map(|id| id.root_arn()),
            Ok("arn:aws:iam::123456789012:root".to_string())
        );
    }

    #[test]
    fn account_ids_validate_when_deserialized() {
        let id: AccountId = serde_json::from_str("\"000000000001\"").expect("valid");
        assert_eq!(id.as_str(), "000000000001");
        assert!(serde_json::from_str::<AccountId>("\"1\"").is_err());
    }

    proptest::proptest! {
        #[test]
        fn parsing_any_text_never_panics(text in ".{0,40}") {
            match AccountId::parse(&text) {
                Ok(id) => proptest::prop_assert_eq!(id.as_str().len(), 12),
                Err(error) => proptest::prop_assert!(error.to_string().contains("12 digits")),
            }
        }
    }

    #[test]
    fn states_round_trip_through_their_aws_spelling() {
        for value in [
            "ACTIVE",
            "SUSPENDED",
            "PENDING_CLOSURE",
            "PENDING_ACTIVATION",
            "CLOSED",
            "NEW_THING",
        ] {
            assert_eq!(AccountState::from_aws(value).as_str(), value);
        }
    }
}
