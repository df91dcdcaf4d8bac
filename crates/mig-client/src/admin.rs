//! The calls mig-console makes beyond those of `mig` (clients.md §1.5, §3):
//! the dashboard, investigators, manifests, loaders and raw queries.

use mig_protocol::agent::AgentsStats;
use mig_protocol::manifest::{LoaderEntry, ManifestRecord};
use mig_protocol::{Action, Investigator, Permissions, gojson};

use crate::client::{Body, Client, ClientError, ClientResult, envelope_of, values_named};

/// `GET dashboard`: the latest fleet statistics (absent before the scheduler
/// computed any) and the latest actions.
#[derive(Debug, Clone, Default)]
pub struct Dashboard {
    pub stats: Option<AgentsStats>,
    pub actions: Vec<Action>,
}

/// The public key sent with a new investigator: file name and armored bytes.
#[derive(Debug, Clone)]
pub struct PublicKeyFile {
    pub file_name: String,
    pub armored: Vec<u8>,
}

fn unexpected(context: &'static str, message: String) -> ClientError {
    ClientError::Context {
        context,
        source: Box::new(ClientError::Unexpected(message)),
    }
}

fn failed(context: &'static str, what: &str, err: ClientError) -> ClientError {
    let message = match err {
        ClientError::Api {
            code,
            message,
            api_code,
            ..
        } => format!("error: HTTP {code}. {what} failed with error '{message}' (code {api_code})"),
        ClientError::NoBody { code, status_text } => {
            format!("error: HTTP {code} {status_text}. {what} failed")
        }
        other => return other.wrap(context),
    };
    unexpected(context, message)
}

impl ClientError {
    fn wrap(self, context: &'static str) -> Self {
        ClientError::Context {
            context,
            source: Box::new(self),
        }
    }
}

/// The first datum of the first item, decoded.
fn first_value<T: serde::de::DeserializeOwned>(
    resource: &mig_protocol::collection::Envelope,
    context: &'static str,
) -> ClientResult<T> {
    resource
        .first_datum()
        .ok_or_else(|| unexpected(context, "the API returned no data".to_owned()))?
        .map_err(|err| unexpected(context, format!("cannot decode the answer: {err}")))
}

impl Client {
    /// `GET dashboard`.
    pub fn dashboard(&self) -> ClientResult<Dashboard> {
        let resource = self
            .get_resource("dashboard")
            .map_err(|err| err.wrap("GetAPIResource()").wrap("GetDashboard()"))?;
        let mut dashboard = Dashboard::default();
        for item in &resource.collection.items {
            let named = |name: &str| {
                item.data
                    .iter()
                    .find(|data| data.name == name)
                    .and_then(|data| data.value.as_ref())
                    .map(|raw| raw.get())
            };
            if let Some(raw) = named("action") {
                let action: Action = gojson::from_str(raw).map_err(|err| {
                    unexpected("GetDashboard()", format!("cannot decode an action: {err}"))
                })?;
                dashboard.actions.push(action);
                continue;
            }
            if named("online agents").is_some() {
                let number = |name: &str| -> f64 {
                    named(name)
                        .and_then(|raw| raw.trim().parse().ok())
                        .unwrap_or(0.0)
                };
                let versions = |name: &str| {
                    named(name)
                        .and_then(|raw| gojson::from_str(raw).ok())
                        .flatten()
                };
                dashboard.stats = Some(AgentsStats {
                    onlineagents: number("online agents"),
                    onlineagentsbyversion: versions("online agents by version"),
                    onlineendpoints: number("online endpoints"),
                    idleagents: number("idle agents"),
                    idleagentsbyversion: versions("idle agents by version"),
                    idleendpoints: number("idle endpoints"),
                    newendpoints: number("new endpoints"),
                    multiagentsendpoints: number("endpoints running 2 or more agents"),
                    disappearedendpoints: number("disappeared endpoints"),
                    flappingendpoints: number("flapping endpoints"),
                    ..AgentsStats::default()
                });
            }
        }
        Ok(dashboard)
    }

    /// `PostInvestigator`: POST `investigator/create/` as a multipart form
    /// (`name`, `permissions`, optional file `publickey`); 201 and the new
    /// investigator.
    pub fn post_investigator(
        &self,
        name: &str,
        permissions: Permissions,
        public_key: Option<&PublicKeyFile>,
    ) -> ClientResult<Investigator> {
        const CONTEXT: &str = "PostInvestigator()";
        let boundary = format!("migrsboundary{:016x}", mig_protocol::gen_id().0);
        let mut body = Vec::new();
        let mut field = |disposition: String, value: &[u8]| {
            body.extend_from_slice(format!("--{boundary}\r\n{disposition}\r\n\r\n").as_bytes());
            body.extend_from_slice(value);
            body.extend_from_slice(b"\r\n");
        };
        field(
            "Content-Disposition: form-data; name=\"name\"".to_owned(),
            name.as_bytes(),
        );
        field(
            "Content-Disposition: form-data; name=\"permissions\"".to_owned(),
            gojson::to_string(&permissions).as_bytes(),
        );
        if let Some(key) = public_key {
            let file_name = key.file_name.replace(['"', '\r', '\n'], "_");
            field(
                format!(
                    "Content-Disposition: form-data; name=\"publickey\"; filename=\"{file_name}\"\r\nContent-Type: application/octet-stream"
                ),
                &key.armored,
            );
        }
        body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
        let content_type = format!("multipart/form-data; boundary={boundary}");
        let url = format!("{}investigator/create/", self.base());
        let answer = self
            .send_url(
                "POST",
                &url,
                Some(Body::Raw {
                    content_type: &content_type,
                    bytes: &body,
                }),
            )
            .map_err(|err| err.wrap(CONTEXT))?;
        let resource = envelope_of(answer, 201)
            .map_err(|err| failed(CONTEXT, "investigator creation", err))?;
        first_value(&resource, CONTEXT)
    }

    /// POST `investigator/update/` with `id` and one more field (`status`,
    /// `permissions` or `apikey`); 200 and the API's echo.
    pub fn post_investigator_update(
        &self,
        id: u64,
        field: &str,
        value: &str,
    ) -> ClientResult<Investigator> {
        const CONTEXT: &str = "PostInvestigatorUpdate()";
        let id = id.to_string();
        let answer = self
            .send(
                "POST",
                "investigator/update/",
                Some(&[("id", id.as_str()), (field, value)]),
            )
            .map_err(|err| err.wrap(CONTEXT))?;
        let resource =
            envelope_of(answer, 200).map_err(|err| failed(CONTEXT, "investigator update", err))?;
        first_value(&resource, CONTEXT)
    }

    /// A form POST expecting `success`; the answer's envelope.
    pub fn post_form(
        &self,
        path: &str,
        fields: &[(&str, &str)],
        success: u16,
        context: &'static str,
        what: &str,
    ) -> ClientResult<mig_protocol::collection::Envelope> {
        let answer = self
            .send("POST", path, Some(fields))
            .map_err(|err| err.wrap(context))?;
        envelope_of(answer, success).map_err(|err| failed(context, what, err))
    }

    /// `GET manifest?manifestid=<id>`.
    pub fn get_manifest_record(&self, id: u64) -> ClientResult<ManifestRecord> {
        self.get_typed(
            &format!("manifest?manifestid={id}"),
            "manifest",
            "a manifest",
            "GetManifestRecord()",
        )
    }

    /// `GET manifest/loaders/?manifestid=<id>`: the loaders a manifest targets.
    pub fn get_manifest_loaders(&self, id: u64) -> ClientResult<Vec<LoaderEntry>> {
        let resource = match self.get_resource(&format!("manifest/loaders/?manifestid={id}")) {
            Ok(resource) => resource,
            Err(err) if err.is_no_results() => return Ok(Vec::new()),
            Err(err) => return Err(err.wrap("GetAPIResource()").wrap("GetManifestLoaders()")),
        };
        values_named(&resource, "loader").map_err(|err| err.wrap("GetManifestLoaders()"))
    }

    /// `GET loader?loaderid=<id>`.
    pub fn get_loader_entry(&self, id: u64) -> ClientResult<LoaderEntry> {
        self.get_typed(
            &format!("loader?loaderid={id}"),
            "loader",
            "a loader entry",
            "GetLoaderEntry()",
        )
    }

    /// `PostNewManifest`: POST `manifest/new/` (201).
    pub fn post_new_manifest(&self, manifest: &ManifestRecord) -> ClientResult<()> {
        let json = gojson::to_string(manifest);
        self.post_form(
            "manifest/new/",
            &[("manifest", json.as_str())],
            201,
            "PostNewManifest()",
            "manifest creation",
        )
        .map(drop)
    }

    /// `PostManifestSignature`: POST `manifest/sign/` (200).
    pub fn post_manifest_signature(&self, id: u64, signature: &str) -> ClientResult<()> {
        let id = id.to_string();
        self.post_form(
            "manifest/sign/",
            &[("manifestid", id.as_str()), ("signature", signature)],
            200,
            "PostManifestSignature()",
            "manifest signing",
        )
        .map(drop)
    }

    /// `ManifestRecordStatus`: POST `manifest/status/` (200).
    pub fn manifest_record_status(&self, id: u64, status: &str) -> ClientResult<()> {
        let id = id.to_string();
        self.post_form(
            "manifest/status/",
            &[("manifestid", id.as_str()), ("status", status)],
            200,
            "ManifestRecordStatus()",
            "manifest status change",
        )
        .map(drop)
    }

    /// `PostNewLoader`: POST `loader/new/` (201); the entry with the prefix
    /// and key the API assigned.
    pub fn post_new_loader(&self, entry: &LoaderEntry) -> ClientResult<LoaderEntry> {
        if !entry.prefix.is_empty() || !entry.key.is_empty() {
            return Err(unexpected(
                "PostNewLoader()",
                "loader key and prefix must be empty: the API assigns them".to_owned(),
            ));
        }
        let json = gojson::to_string(entry);
        let resource = self.post_form(
            "loader/new/",
            &[("loader", json.as_str())],
            201,
            "PostNewLoader()",
            "loader creation",
        )?;
        first_value(&resource, "PostNewLoader()")
    }

    /// `LoaderEntryKey`: POST `loader/key/` (200); the entry with its new key.
    pub fn loader_entry_key(&self, id: u64) -> ClientResult<LoaderEntry> {
        let id = id.to_string();
        let resource = self.post_form(
            "loader/key/",
            &[("loaderid", id.as_str())],
            200,
            "LoaderEntryKey()",
            "loader key change",
        )?;
        first_value(&resource, "LoaderEntryKey()")
    }

    /// `LoaderEntryStatus`: POST `loader/status/` (200).
    pub fn loader_entry_status(&self, id: u64, enabled: bool) -> ClientResult<()> {
        let id = id.to_string();
        let status = if enabled { "enabled" } else { "disabled" };
        self.post_form(
            "loader/status/",
            &[("loaderid", id.as_str()), ("status", status)],
            200,
            "LoaderEntryStatus()",
            "loader status change",
        )
        .map(drop)
    }

    /// `LoaderEntryExpect`: POST `loader/expect/` (200).
    pub fn loader_entry_expect(&self, id: u64, expectenv: &str) -> ClientResult<()> {
        let id = id.to_string();
        self.post_form(
            "loader/expect/",
            &[("loaderid", id.as_str()), ("expectenv", expectenv)],
            200,
            "LoaderEntryExpect()",
            "loader expectenv change",
        )
        .map(drop)
    }

    /// An authenticated GET of `uri` (resolved against the API URL when
    /// relative); the status and the raw body.
    pub fn query_raw(&self, uri: &str) -> ClientResult<(u16, Vec<u8>)> {
        let url = if uri.starts_with("http://") || uri.starts_with("https://") {
            uri.to_owned()
        } else {
            format!("{}{}", self.base(), uri.trim_start_matches('/'))
        };
        let answer = self.send_url("GET", &url, None)?;
        Ok((answer.code, answer.body))
    }
}
