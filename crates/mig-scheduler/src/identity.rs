//! The scheduler's own signing identity (spec protocol.md §4.6).
//!
//! Stored in `investigators` as `migscheduler` with its private key; generated
//! (RSA-2048, as the original) on the first start when no active row exists.
//! Its public key must be in the agents' `agentkeys` and the ACL must grant it
//! weight for `agentdestroy`, for duplicate agents to be killed.

use mig_protocol::pgp::{KeyAlgo, SecretKeySigner, Signer};
use mig_protocol::status::InvestigatorStatus;
use mig_protocol::{GoTime, Id, Investigator, Permissions};
use mig_store::Store;

/// The name of the scheduler's row in `investigators`.
pub const SCHEDULER_NAME: &str = "migscheduler";

/// The user id of a generated scheduler key.
pub const SCHEDULER_USER_ID: &str =
    "migscheduler (MIG Scheduler action signing key) <scheduler@mig>";

/// Loads the scheduler's key, creating and storing one on first start.
pub async fn ensure_identity<S: Store>(store: &S) -> Result<(SecretKeySigner, Id), String> {
    if let Some(investigator) = store
        .scheduler_identity()
        .await
        .map_err(|err| err.to_string())?
    {
        let armored = String::from_utf8(investigator.privatekey.clone())
            .map_err(|_| "the stored scheduler key is not text".to_owned())?;
        let signer = SecretKeySigner::from_armored(&armored, None)
            .map_err(|err| format!("the stored scheduler key: {err}"))?;
        return Ok((signer, investigator.id));
    }
    let signer = SecretKeySigner::generate(KeyAlgo::Rsa(2048), SCHEDULER_USER_ID)
        .map_err(|err| err.to_string())?;
    let public = signer
        .public_key()
        .to_armored()
        .map_err(|err| err.to_string())?;
    let secret = signer.to_armored_secret().map_err(|err| err.to_string())?;
    let now = GoTime::now();
    let investigator = Investigator {
        name: SCHEDULER_NAME.to_owned(),
        pgpfingerprint: signer.fingerprint(),
        publickey: public.into_bytes(),
        privatekey: secret.into_bytes(),
        status: InvestigatorStatus::Active,
        createdat: now,
        lastmodified: now,
        permissions: Permissions(0),
        ..Investigator::default()
    };
    let id = store
        .insert_investigator(&investigator)
        .await
        .map_err(|err| err.to_string())?;
    tracing::info!(investigator_id = %id, fingerprint = %signer.fingerprint(), "generated the scheduler's signing key");
    Ok((signer, id))
}
