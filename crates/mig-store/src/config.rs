//! The `[postgres]` section shared by `scheduler.cfg` and `api.cfg` (spec
//! protocol.md §7.1, api.md §1.2): the store owns its configuration.

use mig_protocol::gcfg::{GcfgError, Section};

/// `[postgres]`: where the database is and how many connections to open.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PostgresSection {
    pub host: String,
    pub port: u16,
    pub dbname: String,
    pub user: String,
    pub password: String,
    pub sslmode: String,
    /// Maximum open connections (`maxconn`); 0 lets the daemon choose.
    pub max_conn: u32,
}

impl PostgresSection {
    /// The keys of the section.
    pub const KEYS: &'static [&'static str] = &[
        "host", "port", "dbname", "user", "password", "sslmode", "maxconn",
    ];

    /// Reads the section; absent keys take the values of `defaults`.
    pub fn read(
        section: Option<Section<'_>>,
        defaults: &PostgresSection,
    ) -> Result<Self, GcfgError> {
        let Some(section) = section else {
            return Ok(defaults.clone());
        };
        let text = |key: &str, default: &str| -> Result<String, GcfgError> {
            Ok(section
                .string(key)?
                .filter(|value| !value.is_empty())
                .unwrap_or_else(|| default.to_owned()))
        };
        Ok(Self {
            host: text("host", &defaults.host)?,
            port: section.int("port")?.unwrap_or(defaults.port),
            dbname: text("dbname", &defaults.dbname)?,
            user: text("user", &defaults.user)?,
            password: text("password", &defaults.password)?,
            sslmode: text("sslmode", &defaults.sslmode)?,
            max_conn: section.int("maxconn")?.unwrap_or(defaults.max_conn),
        })
    }

    /// The connection URL (user, password, database and sslmode percent-encoded,
    /// unlike the original, which broke on a `@` in a password).
    pub fn url(&self) -> String {
        let mut url = format!("postgres://{}", percent_encode(&self.user));
        if !self.password.is_empty() {
            url.push(':');
            url.push_str(&percent_encode(&self.password));
        }
        url.push_str(&format!(
            "@{}:{}/{}",
            self.host,
            self.port,
            percent_encode(&self.dbname)
        ));
        if !self.sslmode.is_empty() {
            url.push_str(&format!("?sslmode={}", percent_encode(&self.sslmode)));
        }
        url
    }
}

fn percent_encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~".contains(&byte) {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use mig_protocol::gcfg::Document;

    use super::*;

    #[test]
    fn reads_with_defaults_and_encodes_the_url() {
        let defaults = PostgresSection {
            host: "127.0.0.1".into(),
            port: 5432,
            dbname: "mig".into(),
            user: "migapi".into(),
            ..PostgresSection::default()
        };
        let document = Document::parse("api.cfg", "[postgres]\nuser = migscheduler\npassword = \"p@ss word\"\nsslmode = disable\nmaxconn = 10\n").unwrap();
        let section = PostgresSection::read(document.section("postgres"), &defaults).unwrap();
        assert_eq!(
            section.url(),
            "postgres://migscheduler:p%40ss%20word@127.0.0.1:5432/mig?sslmode=disable"
        );
        assert_eq!(section.max_conn, 10);
        assert_eq!(PostgresSection::read(None, &defaults).unwrap(), defaults);
        let bad = Document::parse("api.cfg", "[postgres]\nport = many\n").unwrap();
        let err = PostgresSection::read(bad.section("postgres"), &defaults).unwrap_err();
        assert!(
            err.to_string().starts_with("api.cfg:2: [postgres] port:"),
            "{err}"
        );
    }
}
