//! The API's search (spec api.md §5.2) compiled to one SQL statement per dialect
//! whose every filter value is a bound parameter; the statement returns the ids
//! of the matching rows in the original's order, with LIMIT and OFFSET bound too.
//! Agent target searches do not come here: they go through [`crate::target`].

use chrono::{DateTime, Utc};
use mig_protocol::Id;

use crate::target::Dialect;

/// What is searched.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SearchType {
    Action,
    Agent,
    Command,
    Investigator,
    /// `manifests`: by `manifest_id`, `manifest_name`, `status`, before/after on `timestamp`.
    Manifest,
    /// `loaders`: by `loader_id`, `loader_name`, `agent_name` (the loader's host name,
    /// `loaders.name`), before/after on `lastseen`.
    Loader,
}

/// The filters of a search; `None` is "no filter". Patterns are ILIKE patterns.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SearchFilter {
    pub before: Option<DateTime<Utc>>,
    pub after: Option<DateTime<Utc>>,
    pub action_id: Option<Id>,
    pub action_name: Option<String>,
    pub agent_id: Option<Id>,
    pub agent_name: Option<String>,
    pub agent_version: Option<String>,
    pub command_id: Option<Id>,
    pub investigator_id: Option<Id>,
    pub investigator_name: Option<String>,
    pub status: Option<String>,
    pub threat_family: Option<String>,
    /// Commands only: successful commands with a result whose `foundanything` is this.
    pub found_anything: Option<bool>,
    pub manifest_id: Option<Id>,
    pub manifest_name: Option<String>,
    pub loader_id: Option<Id>,
    pub loader_name: Option<String>,
    pub limit: u64,
    pub offset: u64,
}

/// A value bound to a placeholder.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Bind {
    Int(i64),
    Text(String),
    Time(DateTime<Utc>),
}

struct Builder {
    dialect: Dialect,
    conditions: Vec<String>,
    binds: Vec<Bind>,
}

impl Builder {
    fn placeholder(&mut self, bind: Bind) -> String {
        self.binds.push(bind);
        match self.dialect {
            Dialect::Postgres => format!("${}", self.binds.len()),
            Dialect::Sqlite => format!("?{}", self.binds.len()),
        }
    }

    fn id(&mut self, column: &str, id: Option<Id>) {
        if let Some(id) = id {
            let p = self.placeholder(Bind::Int(id.as_i64()));
            self.conditions.push(format!("{column} = {p}"));
        }
    }

    fn pattern(&mut self, column: &str, pattern: &Option<String>) {
        if let Some(pattern) = pattern {
            let p = self.placeholder(Bind::Text(pattern.clone()));
            let op = match self.dialect {
                Dialect::Postgres => "ILIKE",
                Dialect::Sqlite => "LIKE",
            };
            self.conditions.push(format!("{column} {op} {p}"));
        }
    }

    fn time(&mut self, column: &str, op: &str, time: Option<DateTime<Utc>>) {
        if let Some(time) = time {
            let p = self.placeholder(Bind::Time(time));
            self.conditions.push(format!("{column} {op} {p}"));
        }
    }

    fn threat_family(&self) -> &'static str {
        match self.dialect {
            Dialect::Postgres => "actions.threat#>>'{family}'",
            Dialect::Sqlite => "json_extract(actions.threat, '$.family')",
        }
    }
}

/// The SQL and its bound values for a search of `kind`.
pub(crate) fn build(
    kind: SearchType,
    filter: &SearchFilter,
    dialect: Dialect,
) -> (String, Vec<Bind>) {
    let mut b = Builder {
        dialect,
        conditions: Vec::new(),
        binds: Vec::new(),
    };
    let f = filter;
    let wants_investigators = f.investigator_id.is_some() || f.investigator_name.is_some();
    let wants_agents = f.agent_id.is_some() || f.agent_name.is_some() || f.agent_version.is_some();
    let wants_actions =
        f.action_id.is_some() || f.action_name.is_some() || f.threat_family.is_some();
    const SIGNERS: &str = " INNER JOIN signatures ON actions.id = signatures.actionid \
        INNER JOIN investigators ON signatures.investigatorid = investigators.id";
    let (table, order, from) = match kind {
        SearchType::Manifest | SearchType::Loader => return build_manifest_or_loader(kind, b, f),
        SearchType::Action => {
            let mut from = String::from("actions");
            if wants_investigators {
                from.push_str(SIGNERS);
            }
            if wants_agents || f.command_id.is_some() {
                from.push_str(" INNER JOIN commands ON commands.actionid = actions.id");
            }
            if wants_agents {
                from.push_str(" INNER JOIN agents ON commands.agentid = agents.id");
            }
            b.time("actions.expireafter", "<=", f.before);
            b.time("actions.validfrom", ">=", f.after);
            b.pattern("actions.status", &f.status);
            ("actions", "actions.validfrom DESC", from)
        }
        SearchType::Command => {
            let from = format!(
                "commands INNER JOIN actions ON commands.actionid = actions.id{SIGNERS} \
                 INNER JOIN agents ON commands.agentid = agents.id"
            );
            b.time("commands.starttime", "<=", f.before);
            b.time("commands.starttime", ">=", f.after);
            b.pattern("commands.status", &f.status);
            if let Some(found) = f.found_anything {
                let (elements, test) = match dialect {
                    Dialect::Postgres => (
                        "json_array_elements(CASE WHEN json_typeof(commands.results) = 'array' \
                         THEN commands.results ELSE '[]'::json END) AS r",
                        "r#>>'{foundanything}'",
                    ),
                    Dialect::Sqlite => (
                        "json_each(CASE WHEN json_valid(commands.results) THEN commands.results ELSE '[]' END) AS r",
                        "CASE json_extract(r.value, '$.foundanything') WHEN 1 THEN 'true' WHEN 0 THEN 'false' END",
                    ),
                };
                let p = b.placeholder(Bind::Text(found.to_string()));
                b.conditions.push(format!(
                    "commands.status = 'success' AND EXISTS (SELECT 1 FROM {elements} WHERE {test} = {p})"
                ));
            }
            ("commands", "commands.starttime DESC", from)
        }
        SearchType::Agent => {
            let mut from = String::from("agents");
            if wants_actions || wants_investigators || f.command_id.is_some() {
                from.push_str(" INNER JOIN commands ON commands.agentid = agents.id");
            }
            if wants_actions || wants_investigators {
                from.push_str(" INNER JOIN actions ON commands.actionid = actions.id");
            }
            if wants_investigators {
                from.push_str(SIGNERS);
            }
            b.time("agents.heartbeattime", "<=", f.before);
            b.time("agents.heartbeattime", ">=", f.after);
            b.pattern("agents.status", &f.status);
            ("agents", "agents.heartbeattime DESC", from)
        }
        SearchType::Investigator => {
            let mut from = String::from("investigators");
            if wants_actions || wants_agents || f.command_id.is_some() {
                from.push_str(
                    " INNER JOIN signatures ON signatures.investigatorid = investigators.id \
                     INNER JOIN actions ON signatures.actionid = actions.id",
                );
            }
            if wants_agents || f.command_id.is_some() {
                from.push_str(" INNER JOIN commands ON commands.actionid = actions.id");
            }
            if wants_agents {
                from.push_str(" INNER JOIN agents ON commands.agentid = agents.id");
            }
            b.time("investigators.lastmodified", "<=", f.before);
            b.time("investigators.lastmodified", ">=", f.after);
            b.pattern("investigators.status", &f.status);
            ("investigators", "investigators.id ASC", from)
        }
    };
    b.id("actions.id", f.action_id);
    b.pattern("actions.name", &f.action_name);
    if f.threat_family.is_some() {
        let column = b.threat_family();
        b.pattern(column, &f.threat_family);
    }
    b.id("agents.id", f.agent_id);
    b.pattern("agents.name", &f.agent_name);
    b.pattern("agents.version", &f.agent_version);
    b.id("commands.id", f.command_id);
    b.id("investigators.id", f.investigator_id);
    b.pattern("investigators.name", &f.investigator_name);
    let where_clause = if b.conditions.is_empty() {
        "TRUE".to_owned()
    } else {
        b.conditions.join(" AND ")
    };
    let id = match dialect {
        Dialect::Postgres => format!("{table}.id::int8"),
        Dialect::Sqlite => format!("{table}.id"),
    };
    let order_column = order.trim_end_matches(" DESC").trim_end_matches(" ASC");
    let limit = b.placeholder(Bind::Int(i64::try_from(f.limit).unwrap_or(i64::MAX)));
    let offset = b.placeholder(Bind::Int(i64::try_from(f.offset).unwrap_or(i64::MAX)));
    let sql = format!(
        "SELECT {id} AS id FROM {from} WHERE {where_clause} \
         GROUP BY {table}.id, {order_column} ORDER BY {order} LIMIT {limit} OFFSET {offset}"
    );
    (sql, b.binds)
}

/// Manifests (newest first) and loaders (by name), limited and offset like the others.
fn build_manifest_or_loader(
    kind: SearchType,
    mut b: Builder,
    f: &SearchFilter,
) -> (String, Vec<Bind>) {
    let (table, time, order) = if kind == SearchType::Manifest {
        b.id("manifests.id", f.manifest_id);
        b.pattern("manifests.name", &f.manifest_name);
        b.pattern("manifests.status", &f.status);
        (
            "manifests",
            "manifests.\"timestamp\"",
            "manifests.\"timestamp\" DESC, manifests.id DESC",
        )
    } else {
        b.id("loaders.id", f.loader_id);
        b.pattern("loaders.loadername", &f.loader_name);
        b.pattern("loaders.name", &f.agent_name);
        ("loaders", "loaders.lastseen", "loaders.loadername ASC")
    };
    b.time(time, "<=", f.before);
    b.time(time, ">=", f.after);
    let where_clause = if b.conditions.is_empty() {
        "TRUE".to_owned()
    } else {
        b.conditions.join(" AND ")
    };
    let limit = b.placeholder(Bind::Int(i64::try_from(f.limit).unwrap_or(i64::MAX)));
    let offset = b.placeholder(Bind::Int(i64::try_from(f.offset).unwrap_or(i64::MAX)));
    let sql = format!(
        "SELECT CAST({table}.id AS BIGINT) AS id FROM {table} WHERE {where_clause} \
         ORDER BY {order} LIMIT {limit} OFFSET {offset}"
    );
    (sql, b.binds)
}
