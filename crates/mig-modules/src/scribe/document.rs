//! The scribe policy document (scribe library 0.5): variables, objects that
//! gather facts, tests that evaluate them (spec modules.md §4.3).
//!
//! Field names, order and `omitempty` rules are the original's, so a document
//! serialised here is the one `mig scribe` embeds in the action (every object
//! carries all five source objects, empty ones as `{}`; every test its three
//! evaluators).

use serde::{Deserialize, Serialize};

/// A whole document.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Document {
    /// `${key}` substitutions.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub variables: Vec<Variable>,
    /// The fact gatherers.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub objects: Vec<Object>,
    /// The tests, run in this order.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub tests: Vec<Test>,
}

/// A variable: `${key}` is replaced by `value`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Variable {
    pub key: String,
    pub value: String,
}

/// An object: an identifier and one source (the first filled one in the
/// order package, filecontent, filename, raw, hasline wins).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Object {
    /// The identifier tests refer to.
    pub object: String,
    pub filecontent: FileContent,
    pub filename: FileName,
    pub package: Package,
    pub raw: Raw,
    pub hasline: HasLine,
}

/// Lines of files matching a regex; one criterion per capture group.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct FileContent {
    /// Root of the search (variables expanded).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub path: String,
    /// Regex on the base name (variables expanded).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub file: String,
    /// Regex on each line.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub expression: String,
    /// Joins the values of one file with this string.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub concat: String,
    /// Objects evaluated once per matched file, with `${chain_root}` its directory.
    #[serde(rename = "import-chain", skip_serializing_if = "Vec::is_empty")]
    pub import_chain: Vec<String>,
}

/// File names: path → first capture group of the base name.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct FileName {
    #[serde(skip_serializing_if = "String::is_empty")]
    pub path: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub file: String,
}

/// Installed packages: name → version.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Package {
    /// The package name (exact match unless `collectmatch` is set).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub name: String,
    /// Regex selecting the packages instead of the name.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub collectmatch: String,
    /// Keep only the newest of the matched packages.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub onlynewest: bool,
}

/// Values given in the document.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Raw {
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub identifiers: Vec<RawIdentifier>,
}

/// One raw value.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct RawIdentifier {
    #[serde(skip_serializing_if = "String::is_empty")]
    pub identifier: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub value: String,
}

/// Whether files contain a line matching a regex: path → `"true"`/`"false"`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct HasLine {
    #[serde(skip_serializing_if = "String::is_empty")]
    pub path: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub file: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub expression: String,
}

/// A test of an object's criteria.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Test {
    /// The identifier.
    #[serde(rename = "test")]
    pub id: String,
    /// Display name.
    pub name: String,
    /// The object evaluated.
    pub object: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub description: String,
    /// EVR comparison (used when `value` is set).
    pub evr: EvrTest,
    /// Regex (used when `value` is set and no EVR).
    pub regexp: ValueTest,
    /// String equality (used when `value` is set and neither above).
    pub exactmatch: ValueTest,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<Tag>,
    /// Tests that must be true for this one to be true.
    #[serde(rename = "if", skip_serializing_if = "Vec::is_empty")]
    pub if_tests: Vec<String>,
    /// Only for scribe's own test harness (unused by MIG).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub expectedresult: bool,
    /// Only for scribe's own test harness (unused by MIG).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub expecterror: bool,
}

/// An EVR comparison.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct EvrTest {
    /// `<`, `>` or `=`.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub operation: String,
    /// The reference version.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub value: String,
}

/// A regex or exact-match evaluator.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ValueTest {
    #[serde(skip_serializing_if = "String::is_empty")]
    pub value: String,
}

/// A key/value tag of a test.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Tag {
    #[serde(skip_serializing_if = "String::is_empty")]
    pub key: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub value: String,
}

/// The source an object uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    Package,
    FileContent,
    FileName,
    Raw,
    HasLine,
}

/// Variables of an import chain (`${chain_root}`).
pub const CHAIN_ROOT: &str = "${chain_root}";

impl Object {
    /// The source in the original's precedence, if any is filled.
    pub fn source(&self) -> Option<Source> {
        if !self.package.name.is_empty() {
            Some(Source::Package)
        } else if !self.filecontent.path.is_empty() {
            Some(Source::FileContent)
        } else if !self.filename.path.is_empty() {
            Some(Source::FileName)
        } else if !self.raw.identifiers.is_empty() {
            Some(Source::Raw)
        } else if !self.hasline.path.is_empty() {
            Some(Source::HasLine)
        } else {
            None
        }
    }

    /// A chain object (its filecontent path uses `${chain_root}`) is only
    /// evaluated through the import chain of another object.
    pub fn is_chain(&self) -> bool {
        self.source() == Some(Source::FileContent) && self.filecontent.path.contains(CHAIN_ROOT)
    }

    /// Replaces `${key}` in the fields the original expands.
    pub fn expand(&mut self, variables: &[Variable]) {
        let expand = |text: &mut String| *text = expand(variables, text);
        match self.source() {
            Some(Source::Package) => expand(&mut self.package.name),
            Some(Source::FileContent) => {
                expand(&mut self.filecontent.path);
                expand(&mut self.filecontent.file);
            }
            Some(Source::FileName) => expand(&mut self.filename.path),
            Some(Source::HasLine) => {
                expand(&mut self.hasline.path);
                expand(&mut self.hasline.file);
            }
            Some(Source::Raw) | None => {}
        }
    }
}

/// `${key}` replaced literally by `value`, for every variable in order. (The
/// original built a regex from the key, so keys with metacharacters matched
/// more than themselves or crashed the module.)
pub fn expand(variables: &[Variable], text: &str) -> String {
    let mut out = text.to_owned();
    for variable in variables {
        let pattern = format!("${{{}}}", variable.key);
        if out.contains(&pattern) {
            out = out.replace(&pattern, &variable.value);
        }
    }
    out
}

fn compile(pattern: &str) -> Result<regex::Regex, String> {
    regex::Regex::new(pattern).map_err(|_| crate::file::checks::go_regex_error(pattern))
}

/// A compiled regex, with the original's error text.
pub fn regex(pattern: &str) -> Result<regex::Regex, String> {
    compile(pattern)
}

impl Document {
    /// The first object called `id`.
    pub fn object(&self, id: &str) -> Result<usize, String> {
        self.objects
            .iter()
            .position(|object| object.object == id)
            .ok_or_else(|| format!("unknown object \"{id}\""))
    }

    /// The first test called `id`.
    pub fn test(&self, id: &str) -> Result<usize, String> {
        self.tests
            .iter()
            .position(|test| test.id == id)
            .ok_or_else(|| format!("unknown test \"{id}\""))
    }

    /// The original's validation: objects in order, then tests; the first
    /// problem is the error.
    pub fn validate(&self) -> Result<(), String> {
        for object in &self.objects {
            self.validate_object(object)?;
        }
        for (index, test) in self.tests.iter().enumerate() {
            if test.id.is_empty() {
                return Err("a test in document has no identifier".to_owned());
            }
            for dependency in &test.if_tests {
                let found = self
                    .test(dependency)
                    .map_err(|err| format!("{}: {err}", test.id))?;
                if found == index {
                    return Err(format!("{}: test cannot reference itself", test.id));
                }
            }
            for tag in &test.tags {
                if tag.key.contains('"') {
                    return Err(format!("{}: test tag key cannot contain quote", test.id));
                }
                if tag.value.contains('"') {
                    return Err(format!("{}: test tag value cannot contain quote", test.id));
                }
            }
        }
        Ok(())
    }

    fn validate_object(&self, object: &Object) -> Result<(), String> {
        if object.object.is_empty() {
            return Err("an object in document has no identifier".to_owned());
        }
        let Some(source) = object.source() else {
            return Err(format!("{}: no valid source interface", object.object));
        };
        self.validate_source(object, source)
            .map_err(|err| format!("{}: {err}", object.object))
    }

    /// The source's own checks (the caller prefixes the object id).
    fn validate_source(&self, object: &Object, source: Source) -> Result<(), String> {
        let required = |value: &str, message: &str| {
            if value.is_empty() {
                Err(message.to_owned())
            } else {
                Ok(())
            }
        };
        let regex = |pattern: &str| compile(pattern).map(drop);
        match source {
            Source::Package if object.package.collectmatch.is_empty() => Ok(()),
            Source::Package => regex(&object.package.collectmatch),
            Source::FileContent => {
                let content = &object.filecontent;
                required(&content.file, "filecontent file must be set")?;
                regex(&content.file)?;
                required(&content.expression, "filecontent expression must be set")?;
                regex(&content.expression)?;
                content
                    .import_chain
                    .iter()
                    .try_for_each(|id| self.object(id).map(drop))
            }
            Source::FileName => required(&object.filename.file, "filename file must be set"),
            Source::Raw => {
                if object
                    .raw
                    .identifiers
                    .iter()
                    .any(|raw| raw.identifier.is_empty() || raw.value.is_empty())
                {
                    return Err("identifier must include identifier and value".to_owned());
                }
                Ok(())
            }
            Source::HasLine => {
                let hasline = &object.hasline;
                required(&hasline.file, "hasline file must be set")?;
                regex(&hasline.file)?;
                required(&hasline.expression, "hasline expression must be set")?;
                regex(&hasline.expression)
            }
        }
    }
}

/// Reads a document file as `mig scribe -path` does (spec modules.md §4.3,
/// "Document format"): leading blanks trimmed, at least 10 bytes; a first
/// byte `{` or `[` means JSON (decoded as Go does), anything else YAML with
/// the same key names; then validated.
///
/// In YAML, a plain scalar given where the document wants a string keeps
/// its text (`value: 22.04` is the string `"22.04"`, `value: yes` is
/// `"yes"`), as the original's YAML decoder did. Errors name the field and
/// the line: `tests[1].evr: invalid type: sequence, expected struct EvrTest
/// at line 9 column 7`.
pub fn load_document(data: &[u8]) -> Result<Document, String> {
    let start = data
        .iter()
        .position(|byte| !matches!(byte, b' ' | b'\t' | b'\n' | b'\r'))
        .unwrap_or(data.len());
    let data = &data[start..];
    if data.len() < 10 {
        return Err(format!(
            "the document is too small to be valid ({} bytes)",
            data.len()
        ));
    }
    let document: Document = if data[0] == b'{' || data[0] == b'[' {
        mig_protocol::gojson::from_slice(data).map_err(|err| err.to_string())?
    } else {
        serde_yaml_ng::from_slice(data).map_err(|err| format!("YAML document: {err}"))?
    };
    document.validate()?;
    Ok(document)
}
