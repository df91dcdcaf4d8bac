//! The agent's authorization of signed actions (spec protocol.md §2.10, §4.4).
//!
//! [`Acl`] is the agent's `acl.cfg`: per module, a minimum weight and the
//! investigators' key fingerprints with their weights. [`verify_action`] is the
//! whole procedure an agent (and `mig-action-verifier`) applies to an action:
//! syntax, validity window, every signature, then the ACL for every operation.
//!
//! Differences from the original, on purpose:
//! - a key counts once per module even if several ACL rows carry its
//!   fingerprint (the original added every row's weight);
//! - the validity window allows a configurable clock skew (the original none);
//! - fingerprints in the file may contain spaces (as `gpg` prints them).

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use crate::action::{Action, ActionError};
use crate::gojson;
use crate::gotime::GoTime;
use crate::pgp::{Keyring, PgpError};

/// Name of the entry used for modules without one of their own.
pub const DEFAULT_ENTRY: &str = "default";

/// The ACL: module name → entry.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Acl(pub BTreeMap<String, AclEntry>);

/// Who may run one module.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct AclEntry {
    pub minimumweight: i64,
    /// Free-form label → signer.
    pub investigators: BTreeMap<String, AclSigner>,
}

/// One investigator's key and weight.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct AclSigner {
    pub fingerprint: String,
    pub weight: i64,
}

/// Why an action is refused by the ACL.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AclError {
    #[error("invalid acl: {0}")]
    Invalid(String),
    #[error("action has no operations to authorize")]
    NoOperations,
    #[error("no acl entry for module {module:?} and no default entry")]
    NoEntry { module: String },
    #[error("invalid acl entry for module {module:?}: minimumweight {minimum} is below 1")]
    BadMinimum { module: String, minimum: i64 },
    #[error("key {fingerprint} used to sign multiple times")]
    DuplicateSigner { fingerprint: String },
    #[error("module {module:?} requires weight {minimum}, signers {signers:?} have {weight}")]
    Underweight {
        module: String,
        minimum: i64,
        weight: i64,
        signers: Vec<String>,
    },
}

impl Default for Acl {
    /// The built-in ACL used when `acl.cfg` is absent: authorises nobody.
    fn default() -> Self {
        let mut entries = BTreeMap::new();
        entries.insert(
            DEFAULT_ENTRY.to_owned(),
            AclEntry {
                minimumweight: 1,
                investigators: BTreeMap::new(),
            },
        );
        Acl(entries)
    }
}

/// A fingerprint in comparable form: upper case, no whitespace.
pub fn normalize_fingerprint(fingerprint: &str) -> String {
    fingerprint
        .chars()
        .filter(|c| !c.is_whitespace())
        .flat_map(char::to_uppercase)
        .collect()
}

impl Acl {
    /// Parses `acl.cfg` (JSON; entry fields are matched case-insensitively, as
    /// the original's untagged Go struct did) and checks every fingerprint.
    pub fn from_json(bytes: &[u8]) -> Result<Self, AclError> {
        let acl: Acl =
            gojson::from_slice(bytes).map_err(|err| AclError::Invalid(err.to_string()))?;
        for (module, entry) in &acl.0 {
            for (label, signer) in &entry.investigators {
                let fingerprint = normalize_fingerprint(&signer.fingerprint);
                if fingerprint.len() != 40 || !fingerprint.bytes().all(|b| b.is_ascii_hexdigit()) {
                    return Err(AclError::Invalid(format!(
                        "module {module:?} investigator {label:?}: fingerprint {:?} is not 40 hex digits",
                        signer.fingerprint
                    )));
                }
            }
        }
        Ok(acl)
    }

    /// The entry that governs `module`: its own, else `default`.
    pub fn entry_for(&self, module: &str) -> Option<&AclEntry> {
        self.0.get(module).or_else(|| self.0.get(DEFAULT_ENTRY))
    }

    /// Authorizes an action whose operations run `modules`, signed by keys with
    /// `signers` (primary fingerprints, one per signature, in signature order).
    pub fn authorize<'a>(
        &self,
        modules: impl IntoIterator<Item = &'a str>,
        signers: &[String],
    ) -> Result<(), AclError> {
        let mut distinct = BTreeSet::new();
        for signer in signers {
            let fingerprint = normalize_fingerprint(signer);
            if !distinct.insert(fingerprint.clone()) {
                return Err(AclError::DuplicateSigner { fingerprint });
            }
        }
        let mut any = false;
        for module in modules {
            any = true;
            let entry = self.entry_for(module).ok_or_else(|| AclError::NoEntry {
                module: module.to_owned(),
            })?;
            if entry.minimumweight < 1 {
                return Err(AclError::BadMinimum {
                    module: module.to_owned(),
                    minimum: entry.minimumweight,
                });
            }
            let mut weight: i64 = 0;
            for fingerprint in &distinct {
                let key_weight = entry
                    .investigators
                    .values()
                    .filter(|signer| normalize_fingerprint(&signer.fingerprint) == *fingerprint)
                    .map(|signer| signer.weight)
                    .max()
                    .unwrap_or(0);
                weight = weight.saturating_add(key_weight);
            }
            if weight < entry.minimumweight {
                return Err(AclError::Underweight {
                    module: module.to_owned(),
                    minimum: entry.minimumweight,
                    weight,
                    signers: distinct.iter().cloned().collect(),
                });
            }
        }
        if !any {
            return Err(AclError::NoOperations);
        }
        Ok(())
    }
}

/// Why an action was refused by [`verify_action`].
#[derive(Debug, thiserror::Error)]
pub enum VerifyError {
    #[error(transparent)]
    Action(#[from] ActionError),
    #[error("signature {index} is invalid: {source}")]
    Signature { index: usize, source: PgpError },
    #[error(transparent)]
    Acl(#[from] AclError),
}

/// How strictly to check an action.
#[derive(Clone, Debug)]
pub struct VerifyPolicy<'a> {
    /// The clock.
    pub now: GoTime,
    /// Clock-skew allowance on both ends of the validity window.
    pub skew: chrono::Duration,
    /// `None` checks signatures only (the agent's `onlyverifypubkey`).
    pub acl: Option<&'a Acl>,
}

/// The agent's verification procedure (§4.4): syntax, window (with skew), every
/// signature against `keyring`, then the ACL for every operation. Returns the
/// signers' primary fingerprints in signature order.
pub fn verify_action(
    action: &Action,
    keyring: &Keyring,
    policy: &VerifyPolicy<'_>,
) -> Result<Vec<String>, VerifyError> {
    action.validate_syntax()?;
    action.check_window(policy.now, policy.skew)?;
    let signers = verify_signatures(action, keyring)?;
    if let Some(acl) = policy.acl {
        acl.authorize(
            action.operations().iter().map(|op| op.module.as_str()),
            &signers,
        )?;
    }
    Ok(signers)
}

/// Verifies every signature of `action` over its signing string; any failure
/// refuses the whole action. Returns the signers' primary fingerprints.
pub fn verify_signatures(action: &Action, keyring: &Keyring) -> Result<Vec<String>, VerifyError> {
    let signatures = action.signatures();
    if signatures.is_empty() {
        return Err(VerifyError::Action(ActionError::NoSignature));
    }
    let data = action.signing_string();
    signatures
        .iter()
        .enumerate()
        .map(|(index, signature)| {
            keyring
                .verify(data.as_bytes(), signature)
                .map_err(|source| VerifyError::Signature { index, source })
        })
        .collect()
}
