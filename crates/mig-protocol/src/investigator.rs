//! Investigators and their permissions (spec protocol.md §2.9).

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::gotime::GoTime;
use crate::id::Id;
use crate::status::InvestigatorStatus;

/// A person (or the scheduler) who signs actions and uses the API.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Investigator {
    #[serde(skip_serializing_if = "Id::is_zero")]
    pub id: Id,
    pub name: String,
    /// 40 hex digits, as stored by the API (upper case).
    pub pgpfingerprint: String,
    /// The armored public key, base64-encoded on the wire (Go `[]byte`).
    #[serde(skip_serializing_if = "Vec::is_empty", with = "base64_bytes")]
    pub publickey: Vec<u8>,
    /// Only the scheduler's own row carries one.
    #[serde(skip_serializing_if = "Vec::is_empty", with = "base64_bytes")]
    pub privatekey: Vec<u8>,
    pub status: InvestigatorStatus,
    pub createdat: GoTime,
    pub lastmodified: GoTime,
    /// The plaintext key once at creation, `"set"` when a hash is stored.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub apikey: String,
    pub permissions: Permissions,
}

/// Go's `[]byte` JSON form: standard base64 with padding; `null` is empty.
mod base64_bytes {
    use base64::Engine;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(bytes: &[u8], serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&base64::engine::general_purpose::STANDARD.encode(bytes))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<u8>, D::Error> {
        let text = Option::<String>::deserialize(deserializer)?.unwrap_or_default();
        base64::engine::general_purpose::STANDARD
            .decode(text.as_bytes())
            .map_err(|err| serde::de::Error::custom(format!("invalid base64: {err}")))
    }
}

/// One permission bit (§2.9); the discriminant is the bit's value.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u64)]
pub enum Permission {
    Search = 1 << 0,
    Action = 1 << 1,
    ActionCreate = 1 << 2,
    Command = 1 << 3,
    Agent = 1 << 4,
    Dashboard = 1 << 5,
    Loader = 1 << 6,
    LoaderStatus = 1 << 7,
    LoaderExpect = 1 << 8,
    LoaderKey = 1 << 9,
    LoaderNew = 1 << 10,
    Manifest = 1 << 11,
    ManifestSign = 1 << 12,
    ManifestNew = 1 << 13,
    ManifestStatus = 1 << 14,
    ManifestLoaders = 1 << 15,
    Investigator = 1 << 16,
    InvestigatorCreate = 1 << 17,
    InvestigatorUpdate = 1 << 18,
}

impl Permission {
    /// The permissions in JSON field order (`manifest_status` before `manifest_new`).
    pub const JSON_ORDER: [(Permission, &'static str); 19] = [
        (Permission::Search, "search"),
        (Permission::Action, "action"),
        (Permission::ActionCreate, "action_create"),
        (Permission::Command, "command"),
        (Permission::Agent, "agent"),
        (Permission::Dashboard, "dashboard"),
        (Permission::Loader, "loader"),
        (Permission::LoaderStatus, "loader_status"),
        (Permission::LoaderExpect, "loader_expect"),
        (Permission::LoaderKey, "loader_key"),
        (Permission::LoaderNew, "loader_new"),
        (Permission::Manifest, "manifest"),
        (Permission::ManifestSign, "manifest_sign"),
        (Permission::ManifestStatus, "manifest_status"),
        (Permission::ManifestNew, "manifest_new"),
        (Permission::ManifestLoaders, "manifest_loaders"),
        (Permission::Investigator, "investigator"),
        (Permission::InvestigatorCreate, "investigator_create"),
        (Permission::InvestigatorUpdate, "investigator_update"),
    ];

    /// The bit's value in the `investigators.permissions` mask.
    pub fn bit(self) -> u64 {
        self as u64
    }
}

/// The permission bitmask of an investigator (DB column `permissions`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Permissions(pub u64);

impl Permissions {
    /// Bits 0–5: what mig-console grants every investigator it creates.
    pub const DEFAULT: Permissions = Permissions(63);
    /// Bits 6–10.
    pub const LOADER: Permissions = Permissions(1984);
    /// Bits 11–15.
    pub const MANIFEST: Permissions = Permissions(63488);
    /// Bits 16–18.
    pub const ADMIN: Permissions = Permissions(458752);
    /// Every bit.
    pub const ALL: Permissions = Permissions((1 << 19) - 1);

    /// Whether the permission is granted.
    pub fn has(self, permission: Permission) -> bool {
        self.0 & permission.bit() != 0
    }

    /// The union of two masks.
    pub fn union(self, other: Permissions) -> Permissions {
        Permissions(self.0 | other.0)
    }

    /// A permission set by the name accepted on input (`PermManifest`, `PermLoader`, `PermAdmin`, `Default`).
    pub fn from_set_name(name: &str) -> Option<Permissions> {
        match name {
            "Default" | "PermDefault" => Some(Self::DEFAULT),
            "PermLoader" => Some(Self::LOADER),
            "PermManifest" => Some(Self::MANIFEST),
            "PermAdmin" => Some(Self::ADMIN),
            _ => None,
        }
    }
}

/// The JSON object form: 19 booleans in the original's field order.
#[derive(Default, Serialize, Deserialize)]
#[serde(default)]
struct PermissionsJson {
    search: bool,
    action: bool,
    action_create: bool,
    command: bool,
    agent: bool,
    dashboard: bool,
    loader: bool,
    loader_status: bool,
    loader_expect: bool,
    loader_key: bool,
    loader_new: bool,
    manifest: bool,
    manifest_sign: bool,
    manifest_status: bool,
    manifest_new: bool,
    manifest_loaders: bool,
    investigator: bool,
    investigator_create: bool,
    investigator_update: bool,
}

impl PermissionsJson {
    fn flags_mut(&mut self) -> [&mut bool; 19] {
        [
            &mut self.search,
            &mut self.action,
            &mut self.action_create,
            &mut self.command,
            &mut self.agent,
            &mut self.dashboard,
            &mut self.loader,
            &mut self.loader_status,
            &mut self.loader_expect,
            &mut self.loader_key,
            &mut self.loader_new,
            &mut self.manifest,
            &mut self.manifest_sign,
            &mut self.manifest_status,
            &mut self.manifest_new,
            &mut self.manifest_loaders,
            &mut self.investigator,
            &mut self.investigator_create,
            &mut self.investigator_update,
        ]
    }
}

impl Serialize for Permissions {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut json = PermissionsJson::default();
        for (flag, (permission, _)) in json.flags_mut().into_iter().zip(Permission::JSON_ORDER) {
            *flag = self.has(permission);
        }
        json.serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for Permissions {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let mut json = PermissionsJson::deserialize(deserializer)?;
        let mut mask = 0;
        for (flag, (permission, _)) in json.flags_mut().into_iter().zip(Permission::JSON_ORDER) {
            if *flag {
                mask |= permission.bit();
            }
        }
        Ok(Permissions(mask))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gojson;

    #[test]
    fn permission_sets_match_the_original() {
        let default = [
            Permission::Search,
            Permission::Action,
            Permission::ActionCreate,
            Permission::Command,
            Permission::Agent,
            Permission::Dashboard,
        ];
        assert_eq!(
            default.iter().map(|p| p.bit()).sum::<u64>(),
            Permissions::DEFAULT.0
        );
        assert_eq!(Permission::ManifestStatus.bit(), 16384);
        assert_eq!(Permission::ManifestNew.bit(), 8192);
        assert_eq!(
            Permissions::DEFAULT
                .union(Permissions::LOADER)
                .union(Permissions::MANIFEST)
                .union(Permissions::ADMIN),
            Permissions::ALL
        );
    }

    #[test]
    fn json_order_and_round_trip() {
        let json = gojson::to_string(&Permissions(
            Permission::ManifestStatus.bit() | Permission::Search.bit(),
        ));
        assert!(json.starts_with(r#"{"search":true,"action":false"#));
        assert!(
            json.contains(r#""manifest_sign":false,"manifest_status":true,"manifest_new":false"#)
        );
        let back: Permissions = gojson::from_str(&json).unwrap();
        assert_eq!(back, Permissions(16385));
        let folded: Permissions =
            gojson::from_str(r#"{"Search":true,"INVESTIGATOR_UPDATE":true}"#).unwrap();
        assert_eq!(folded, Permissions(1 | 262144));
    }
}
