//! Search parameters as the API echoes them and as clients build search URLs
//! (spec api.md §5.1, §5.4, §5.5): the `search parameters` item and
//! `Parameters.String()`.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::gotime::GoTime;

/// The "no id filter" sentinel.
pub const INFINITY: &str = "∞";
/// The default window around now: 39600 hours.
pub const WINDOW_HOURS: i64 = 39600;

/// The search parameters as the original prints them (keys in Go's order).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SearchParameters {
    pub actionid: String,
    pub actionname: String,
    pub after: GoTime,
    pub agentid: String,
    pub agentname: String,
    pub agentversion: String,
    pub before: GoTime,
    pub commandid: String,
    pub foundanything: bool,
    pub investigatorid: String,
    pub investigatorname: String,
    pub limit: f64,
    pub loaderid: String,
    pub loadername: String,
    pub manifestid: String,
    pub manifestname: String,
    pub offset: f64,
    pub report: String,
    pub status: String,
    pub target: String,
    pub threatfamily: String,
    #[serde(rename = "type")]
    pub kind: String,
}

impl SearchParameters {
    /// The defaults of the original: every filter open, a window of 39,600
    /// hours around `now`, 100 results, type `action`.
    pub fn defaults(now: DateTime<Utc>) -> Self {
        let window = chrono::Duration::hours(WINDOW_HOURS);
        Self {
            actionid: INFINITY.to_owned(),
            actionname: "%".to_owned(),
            after: GoTime((now - window).fixed_offset()),
            agentid: INFINITY.to_owned(),
            agentname: "%".to_owned(),
            agentversion: "%".to_owned(),
            before: GoTime((now + window).fixed_offset()),
            commandid: INFINITY.to_owned(),
            foundanything: false,
            investigatorid: INFINITY.to_owned(),
            investigatorname: "%".to_owned(),
            limit: 100.0,
            loaderid: INFINITY.to_owned(),
            loadername: "%".to_owned(),
            manifestid: INFINITY.to_owned(),
            manifestname: "%".to_owned(),
            offset: 0.0,
            report: String::new(),
            status: "%".to_owned(),
            target: String::new(),
            threatfamily: "%".to_owned(),
            kind: "action".to_owned(),
        }
    }

    /// `Parameters.String()` (§5.5), for the pagination link.
    pub fn query_string(&self) -> String {
        let mut out = format!(
            "type={}&after={}&before={}",
            self.kind, self.after, self.before
        );
        let ids_and_names = [
            ("actionid", &self.actionid, INFINITY),
            ("actionname", &self.actionname, "%"),
            ("agentid", &self.agentid, INFINITY),
            ("agentname", &self.agentname, "%"),
            ("agentversion", &self.agentversion, "%"),
            ("commandid", &self.commandid, INFINITY),
            ("investigatorid", &self.investigatorid, INFINITY),
            ("investigatorname", &self.investigatorname, "%"),
            ("loaderid", &self.loaderid, INFINITY),
            ("loadername", &self.loadername, "%"),
            ("manifestname", &self.manifestname, "%"),
            ("manifestid", &self.manifestid, INFINITY),
        ];
        for (name, value, default) in ids_and_names {
            if value != default {
                out.push_str(&format!("&{name}={value}"));
            }
        }
        out.push_str(&format!("&limit={:.0}", self.limit));
        if self.offset != 0.0 {
            out.push_str(&format!("&offset={:.0}", self.offset));
        }
        if self.status != "%" {
            out.push_str(&format!("&status={}", self.status));
        }
        if self.threatfamily != "%" {
            out.push_str(&format!("&threatfamily={}", self.threatfamily));
        }
        out.replace(['%', '*', '+'], "%25")
    }
}

/// The `pagination` item of a search answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Pagination {
    pub limit: f64,
    pub offset: f64,
    /// The URL of the next page.
    pub next: String,
}
