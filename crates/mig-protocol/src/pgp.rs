//! OpenPGP for MIG (placeholder until the pgp branch lands).
#[derive(Debug, thiserror::Error)]
#[error("pgp")]
pub struct PgpError;
#[derive(Default, Clone)]
pub struct Keyring;
impl Keyring {
    pub fn verify(&self, _data: &[u8], _sig: &str) -> Result<String, PgpError> {
        Err(PgpError)
    }
}
pub trait Signer {
    fn sign(&self, data: &[u8]) -> Result<String, PgpError>;
    fn fingerprint(&self) -> String;
}
