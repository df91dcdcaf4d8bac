//! The status vocabularies of actions, commands, agents and investigators
//! (spec protocol.md §3).
//!
//! Each is an enum with the values the original uses plus `Other`, which keeps
//! any other string (an empty status, or a value written by a newer peer) so that
//! decoding never fails on a status and re-encoding gives the same bytes.

macro_rules! string_enum {
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident = $text:literal,)* }) => {
        $(#[$meta])*
        #[derive(Clone, Debug, PartialEq, Eq, Hash)]
        pub enum $name {
            $($(#[$vmeta])* $variant,)*
            /// Any other value, kept verbatim (the empty string when unset).
            Other(String),
        }

        impl $name {
            /// Every named value, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant,)*];

            /// The wire spelling.
            pub fn as_str(&self) -> &str {
                match self {
                    $($name::$variant => $text,)*
                    $name::Other(text) => text,
                }
            }

            /// Whether the status is unset (the empty string, omitted by `omitempty`).
            pub fn is_empty(&self) -> bool {
                self.as_str().is_empty()
            }
        }

        impl Default for $name {
            fn default() -> Self {
                $name::Other(String::new())
            }
        }

        impl From<&str> for $name {
            fn from(text: &str) -> Self {
                match text {
                    $($text => $name::$variant,)*
                    other => $name::Other(other.to_owned()),
                }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(self.as_str())
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let text = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
                Ok($name::from(text.as_ref()))
            }
        }
    };
}

string_enum! {
    /// Where an action is in its life (§3.1).
    ActionStatus {
        /// Accepted by the API, waiting for the scheduler.
        Pending = "pending",
        /// Claimed by a scheduler.
        Scheduled = "scheduled",
        /// Target expanded, commands being created.
        Preparing = "preparing",
        /// Commands created and queued.
        Inflight = "inflight",
        /// Every command reached a terminal status.
        Completed = "completed",
        /// The spool's word for `completed` [QUIRK].
        Done = "done",
        /// Expired before scheduling (mig-rs also marks actions left `pending`
        /// past `expireafter`, which the original left forever), no target, or
        /// no command could be created.
        Invalid = "invalid",
    }
}

impl ActionStatus {
    /// Whether clients should keep following the action (§3.1 notes).
    pub fn is_running(&self) -> bool {
        matches!(
            self,
            Self::Pending | Self::Scheduled | Self::Preparing | Self::Inflight
        )
    }
}

string_enum! {
    /// Where a command is in its life (§3.2).
    CommandStatus {
        /// Created and published to the agent's queue.
        Sent = "sent",
        /// All operations executed.
        Success = "success",
        /// Reserved.
        Cancelled = "cancelled",
        /// The action expired while the command was in flight.
        Expired = "expired",
        /// Parse, verification, module or output failure.
        Failed = "failed",
        /// A module was killed at its deadline.
        Timeout = "timeout",
    }
}

impl CommandStatus {
    /// Whether the status is final (everything but `sent` and unset).
    pub fn is_terminal(&self) -> bool {
        matches!(
            self,
            Self::Success | Self::Cancelled | Self::Expired | Self::Failed | Self::Timeout
        )
    }
}

string_enum! {
    /// Where an agent process is in its life (§3.3).
    AgentStatus {
        /// Heartbeating.
        Online = "online",
        /// Silent for more than 5 heartbeat periods.
        Idle = "idle",
        /// Idle for longer than the scheduler's timeout; never reused.
        Offline = "offline",
        /// Killed by the scheduler as a duplicate.
        Destroyed = "destroyed",
        /// Legacy value of old databases; inactive.
        Upgraded = "upgraded",
    }
}

string_enum! {
    /// Investigator account state (§3.4).
    InvestigatorStatus {
        /// May authenticate and sign.
        Active = "active",
        /// Refused everywhere.
        Disabled = "disabled",
    }
}

string_enum! {
    /// Manifest state (§3.4).
    ManifestStatus {
        /// Being signed.
        Staged = "staged",
        /// Served to loaders.
        Active = "active",
        /// Retired.
        Disabled = "disabled",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_round_trip() {
        for status in CommandStatus::ALL {
            let json = serde_json::to_string(status).unwrap();
            assert_eq!(
                serde_json::from_str::<CommandStatus>(&json).unwrap(),
                *status
            );
        }
        assert_eq!(
            ActionStatus::from("weird"),
            ActionStatus::Other("weird".into())
        );
        assert!(ActionStatus::default().is_empty());
        assert_eq!(AgentStatus::from("online").as_str(), "online");
    }
}
