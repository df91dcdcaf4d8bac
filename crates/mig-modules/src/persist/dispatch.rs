//! `dispatch`: forwards the alerts of other persistent modules to an HTTP
//! collector (spec modules.md §5.4).
//!
//! Deviations: plain `http://` collectors only (the module has no TLS
//! stack; an `https://` URL logs an error per alert), and no SNS (a
//! `snstopic` is a fatal configuration error, logged). A non-JSON alert is
//! embedded as a JSON string (the original re-sent the previous event).

use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use mig_protocol::gojson;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::{PersistContext, Persistent, ok_answer};

/// The `[dispatch]` section.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Settings {
    /// Wrap events as MozDef events.
    pub outputmozdef: bool,
    /// The collector's URL.
    pub httpurl: String,
    /// An AWS SNS topic (unsupported).
    pub snstopic: String,
    /// Alerts queued before dropping.
    pub channelsize: i64,
}

/// The configuration JSON: `{"dispatch":{…}}`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Config {
    /// The settings.
    pub dispatch: Settings,
}

/// How often a full queue is reported.
const DROP_WARNING_PERIOD: Duration = Duration::from_secs(300);

/// The module.
pub struct Dispatch;

/// One forwarded record.
#[derive(Debug, Serialize)]
struct Record<'a> {
    hostname: &'a str,
    environment: &'a Value,
    tags: &'a std::collections::BTreeMap<String, String>,
    event: Value,
}

/// The host, port and path of an `http://` URL.
fn parse_http_url(url: &str) -> Result<(String, String), String> {
    let rest = url
        .strip_prefix("http://")
        .ok_or_else(|| format!("unsupported url {url:?}: only http:// collectors are supported"))?;
    let (authority, path) = match rest.find('/') {
        Some(index) => (&rest[..index], &rest[index..]),
        None => (rest, "/"),
    };
    let address = if authority.contains(':') {
        authority.to_owned()
    } else {
        format!("{authority}:80")
    };
    Ok((address, path.to_owned()))
}

/// POSTs a JSON body; the status code is ignored as in the original.
pub fn http_post(url: &str, body: &str) -> Result<(), String> {
    let (address, path) = parse_http_url(url)?;
    let host = address.clone();
    let mut stream = TcpStream::connect(&address).map_err(|err| err.to_string())?;
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .map_err(|err| err.to_string())?;
    let request = format!(
        "POST {path} HTTP/1.1\r\nHost: {host}\r\nUser-Agent: mig-dispatch\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    stream
        .write_all(request.as_bytes())
        .map_err(|err| err.to_string())?;
    let mut response = Vec::new();
    let _ = stream.read_to_end(&mut response);
    Ok(())
}

fn mozdef(record: Value) -> Value {
    json!({
        "timestamp": mig_protocol::GoTime::now().to_string(),
        "category": "mig",
        "hostname": crate::persist::os_hostname(),
        "processid": std::process::id(),
        "processname": std::env::args().next().unwrap_or_default(),
        "severity": "INFO",
        "source": "",
        "summary": "mig dispatch event",
        "tags": ["mig-dispatch"],
        "details": record,
    })
}

impl Persistent for Dispatch {
    const NAME: &'static str = "dispatch";

    fn config_from_gcfg(document: Option<&mig_protocol::gcfg::Document>) -> String {
        let mut settings = Settings::default();
        if let Some(section) = document.and_then(|document| document.section("dispatch")) {
            settings.outputmozdef = section.bool("outputmozdef").ok().flatten().unwrap_or(false);
            settings.httpurl = section.string("httpurl").ok().flatten().unwrap_or_default();
            settings.snstopic = section
                .string("snstopic")
                .ok()
                .flatten()
                .unwrap_or_default();
            settings.channelsize = section.int("channelsize").ok().flatten().unwrap_or(0);
        }
        gojson::to_string(&Config { dispatch: settings })
    }

    fn persist(context: PersistContext) -> Result<(), String> {
        let outbox = context.outbox;
        let settings = gojson::from_value::<Config>(&context.config.config)
            .unwrap_or_default()
            .dispatch;
        if !settings.snstopic.is_empty() {
            return Err(
                "sns dispatch: SNS topics are not supported by this build, use httpurl".to_owned(),
            );
        }
        let size = if settings.channelsize <= 0 {
            outbox.log("channel size not specified, defaulting to 1024");
            1024
        } else {
            usize::try_from(settings.channelsize).unwrap_or(1024)
        };
        let (queue, work) = mpsc::sync_channel::<String>(size);
        let worker_outbox = outbox.clone();
        let config = context.config;
        std::thread::spawn(move || {
            for alert in work {
                let event = serde_json::from_str::<Value>(&alert).unwrap_or(Value::String(alert));
                let record = Record {
                    hostname: &config.hostname,
                    environment: &config.environment,
                    tags: &config.tags,
                    event,
                };
                let mut body = gojson::to_string(&record);
                if settings.outputmozdef {
                    body = gojson::to_string(&mozdef(
                        serde_json::from_str(&body).unwrap_or(Value::Null),
                    ));
                }
                if let Err(err) = http_post(&settings.httpurl, &body) {
                    worker_outbox.log(format!("http post: {err}"));
                }
            }
        });
        let mut dropped = 0u64;
        let mut last_warning: Option<Instant> = None;
        for alert in context.alerts {
            if queue.try_send(alert).is_err() {
                dropped += 1;
                if last_warning.is_none_or(|at| at.elapsed() >= DROP_WARNING_PERIOD) {
                    outbox.log(format!(
                        "warning, dispatch module dropping messages (buffer full, {dropped} dropped since last warning)"
                    ));
                    dropped = 0;
                    last_warning = Some(Instant::now());
                }
            }
        }
        Err("the alert channel closed".to_owned())
    }

    fn handle(_parameters: &Value) -> String {
        ok_answer()
    }
}

super::ok_query_module!(Dispatch, "dispatch");
