//! Commands and module results (spec protocol.md §2.3–2.5).
//!
//! A [`Command`] is one action addressed to one agent; it is the AMQP message body
//! in both directions. The agent sends the received command back with `status`,
//! `results` and `agent.queueloc` changed.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::action::Action;
use crate::agent::Agent;
use crate::gojson;
use crate::gotime::GoTime;
use crate::id::Id;
use crate::status::CommandStatus;

/// One action for one agent.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Command {
    pub id: Id,
    pub action: Action,
    pub agent: Agent,
    pub status: CommandStatus,
    /// One per operation, in order; `None` is JSON `null`.
    pub results: Option<Vec<ModuleResult>>,
    pub starttime: GoTime,
    pub finishtime: GoTime,
}

/// Why a returned command is refused by the scheduler (`checkCmd`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CommandError {
    #[error("command {0} has no agent name")]
    NoAgentName(Id),
    #[error("command {0} has no agent queueloc")]
    NoQueueLoc(Id),
    #[error("command {0} has no status")]
    NoStatus(Id),
}

impl Command {
    /// Decodes a command with Go's leniency.
    pub fn from_json(bytes: &[u8]) -> Result<Self, gojson::DecodeError> {
        gojson::from_slice(bytes)
    }

    /// Encodes the command as the original's `json.Marshal`.
    pub fn to_json(&self) -> String {
        gojson::to_string(self)
    }

    /// The scheduler's sanity check of a returned command.
    pub fn check_returned(&self) -> Result<(), CommandError> {
        if self.agent.name.is_empty() {
            return Err(CommandError::NoAgentName(self.id));
        }
        if self.agent.queueloc.is_empty() {
            return Err(CommandError::NoQueueLoc(self.id));
        }
        if self.status.is_empty() {
            return Err(CommandError::NoStatus(self.id));
        }
        Ok(())
    }
}

/// What one module returns (§2.4).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ModuleResult {
    pub foundanything: bool,
    pub success: bool,
    pub elements: Value,
    pub statistics: Value,
    /// Soft errors; `None` is JSON `null`.
    pub errors: Option<Vec<String>>,
}

impl ModuleResult {
    /// A result carrying only an error, as the agent returns for a refused
    /// command or a failed module.
    pub fn error(message: impl Into<String>) -> Self {
        Self {
            errors: Some(vec![message.into()]),
            ..Self::default()
        }
    }
}

/// A message between the agent and a module process (§2.5).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ModuleMessage {
    /// `parameters`, `stop`, `ping`, `log`, `register`, `config` or `alert`.
    pub class: String,
    #[serde(skip_serializing_if = "Value::is_null")]
    pub parameters: Value,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub persistsock: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_result_is_the_original_form() {
        assert_eq!(
            gojson::to_string(&ModuleResult::default()),
            r#"{"foundanything":false,"success":false,"elements":null,"statistics":null,"errors":null}"#
        );
    }

    #[test]
    fn module_message_omits_empty_fields() {
        let message = ModuleMessage {
            class: "parameters".into(),
            ..ModuleMessage::default()
        };
        assert_eq!(gojson::to_string(&message), r#"{"class":"parameters"}"#);
    }
}
