//! Evaluation of a validated document: objects are prepared (facts gathered
//! from the host), import chains fired, then tests run in document order with
//! their `if` dependencies first (spec modules.md §4.3).

use std::cell::OnceCell;
use std::collections::HashMap;

use super::document::{Document, Object, Source, Test, Variable};
use super::evr::{self, Scheme};
use super::{TestResult, TestSubResult};
use crate::pkg;

/// One fact of an object: an identifier (file path, package name…) and the
/// value tests evaluate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Criterion {
    pub identifier: String,
    pub value: String,
    /// The version ordering EVR tests use on this value.
    pub scheme: Scheme,
}

impl Criterion {
    fn new(identifier: impl Into<String>, value: impl Into<String>) -> Self {
        Self {
            identifier: identifier.into(),
            value: value.into(),
            scheme: Scheme::Rpm,
        }
    }
}

/// Where facts come from: the file system (through the file module) and the
/// package inventory of the pkg module, read once per run.
#[derive(Debug, Default)]
pub struct Host {
    /// The package databases.
    pub packages: pkg::Config,
    inventory: OnceCell<Vec<pkg::Package>>,
}

impl Host {
    /// A host reading packages as `packages` says.
    pub fn new(packages: pkg::Config) -> Self {
        Self {
            packages,
            inventory: OnceCell::new(),
        }
    }

    fn inventory(&self) -> &[pkg::Package] {
        self.inventory
            .get_or_init(|| pkg::inventory(&self.packages))
    }
}

/// Depth at which import chains stop (the original recursed until the stack
/// overflowed on a cycle).
const MAX_CHAIN_DEPTH: usize = 16;

/// Files under `root` whose base name matches `pattern`, up to 10 levels
/// deep, through the file module in-process (§2.7). The file module's empty
/// placeholder is dropped [MAY IMPROVE, fixed].
pub fn locate(root: &str, pattern: &str) -> Result<Vec<String>, String> {
    let parameters = serde_json::json!({"searches": {"s1": {
        "paths": [root],
        "names": [pattern],
        "options": {"matchall": true, "maxdepth": 10, "maxerrors": 30, "matchlimit": 1000},
    }}});
    let parameters: crate::file::Parameters =
        mig_protocol::gojson::from_value(&parameters).map_err(|err| err.to_string())?;
    let result = crate::file::run_parameters(&parameters);
    if !result.success {
        return Err(result.errors.unwrap_or_default().join("; "));
    }
    Ok(result
        .elements
        .unwrap_or_default()
        .remove("s1")
        .unwrap_or_default()
        .into_iter()
        .map(|hit| hit.file)
        .filter(|file| !file.is_empty())
        .collect())
}

/// The lines of a file as Go's `bufio.Reader.ReadLine` returns them: without
/// the line ending, lines longer than the 4096-byte buffer split in pieces.
fn read_lines(path: &str) -> std::io::Result<Vec<String>> {
    const BUFFER: usize = 4096;
    let data = std::fs::read(path)?;
    let mut lines = Vec::new();
    let mut rest = data.as_slice();
    while !rest.is_empty() {
        let (line, next) = match memchr::memchr(b'\n', rest) {
            Some(end) => (&rest[..end], &rest[end + 1..]),
            None => (rest, &rest[rest.len()..]),
        };
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if line.is_empty() {
            lines.push(String::new());
        }
        for piece in line.chunks(BUFFER) {
            lines.push(String::from_utf8_lossy(piece).into_owned());
        }
        rest = next;
    }
    Ok(lines)
}

/// What preparing an object produced.
#[derive(Debug, Default, Clone)]
struct Prepared {
    /// The criteria before `concat`.
    criteria: Vec<Criterion>,
    /// filecontent: the files with at least one matching line, in order (the
    /// import chains fire once per file).
    paths: Vec<String>,
}

/// Gathers the facts of an object whose variables are expanded.
fn prepare(object: &Object, host: &Host) -> Result<Prepared, String> {
    let mut prepared = Prepared::default();
    match object.source() {
        Some(Source::Package) => prepared.criteria = packages(object, host)?,
        Some(Source::FileContent) => {
            let content = &object.filecontent;
            let expression = super::document::regex(&content.expression)?;
            for file in locate(&content.path, &content.file)? {
                let Ok(lines) = read_lines(&file) else {
                    continue;
                };
                let mut matched = false;
                for line in &lines {
                    let Some(captures) = expression.captures(line) else {
                        continue;
                    };
                    matched = true;
                    for group in captures.iter().skip(1) {
                        let value = group.map(|m| m.as_str()).unwrap_or_default();
                        prepared.criteria.push(Criterion::new(&file, value));
                    }
                }
                if matched {
                    prepared.paths.push(file);
                }
            }
        }
        Some(Source::FileName) => {
            let name = super::document::regex(&object.filename.file)?;
            for file in locate(&object.filename.path, &object.filename.file)? {
                let base = file.rsplit('/').next().unwrap_or(&file);
                if let Some(captures) = name.captures(base)
                    && captures.len() >= 2
                {
                    let value = captures.get(1).map(|m| m.as_str()).unwrap_or_default();
                    prepared.criteria.push(Criterion::new(&file, value));
                }
            }
        }
        Some(Source::HasLine) => {
            let expression = super::document::regex(&object.hasline.expression)?;
            for file in locate(&object.hasline.path, &object.hasline.file)? {
                let Ok(lines) = read_lines(&file) else {
                    continue;
                };
                let found = lines.iter().any(|line| expression.is_match(line));
                prepared
                    .criteria
                    .push(Criterion::new(&file, found.to_string()));
            }
        }
        Some(Source::Raw) => {
            prepared.criteria = object
                .raw
                .identifiers
                .iter()
                .map(|raw| Criterion::new(&raw.identifier, &raw.value))
                .collect();
        }
        None => return Err("object has no valid interface".to_owned()),
    }
    Ok(prepared)
}

/// The installed packages an object selects: by exact name (a dpkg name also
/// matches without its `:<arch>` qualifier, which `dpkg -l` adds to
/// multi-arch packages and which made the original miss them) or by
/// `collectmatch`; with `onlynewest`, the newest of them.
fn packages(object: &Object, host: &Host) -> Result<Vec<Criterion>, String> {
    let wanted = &object.package;
    let collect = if wanted.collectmatch.is_empty() {
        None
    } else {
        Some(super::document::regex(&wanted.collectmatch)?)
    };
    let selected: Vec<&pkg::Package> = host
        .inventory()
        .iter()
        .filter(|package| match &collect {
            Some(regex) => regex.is_match(&package.name),
            None => {
                package.name == wanted.name
                    || (package.kind == "dpkg"
                        && package.name.split_once(':').map(|(base, _)| base)
                            == Some(wanted.name.as_str()))
            }
        })
        .collect();
    let scheme = |package: &pkg::Package| {
        if package.kind == "dpkg" {
            Scheme::Dpkg
        } else {
            Scheme::Rpm
        }
    };
    let criterion = |package: &pkg::Package| Criterion {
        identifier: package.name.clone(),
        value: package.version.clone(),
        scheme: scheme(package),
    };
    if wanted.onlynewest {
        let mut newest: Option<&pkg::Package> = None;
        for package in selected {
            match newest {
                None => newest = Some(package),
                Some(current) => {
                    if evr::compare(
                        scheme(current),
                        evr::Operation::Less,
                        &current.version,
                        &package.version,
                    )? {
                        newest = Some(package);
                    }
                }
            }
        }
        return Ok(newest.map(criterion).into_iter().collect());
    }
    Ok(selected.into_iter().map(criterion).collect())
}

/// The criteria tests see: with `concat`, the values of one identifier joined
/// (in first-occurrence order of the identifiers; the original's was random).
fn visible(object: &Object, criteria: &[Criterion]) -> Vec<Criterion> {
    let concat = &object.filecontent.concat;
    if object.source() != Some(Source::FileContent) || concat.is_empty() {
        return criteria.to_vec();
    }
    let mut joined: Vec<Criterion> = Vec::new();
    let mut index: HashMap<&str, usize> = HashMap::new();
    for criterion in criteria {
        match index.get(criterion.identifier.as_str()) {
            Some(&at) => {
                let entry = &mut joined[at];
                if entry.value.is_empty() {
                    entry.value.clone_from(&criterion.value);
                } else {
                    entry.value.push_str(concat);
                    entry.value.push_str(&criterion.value);
                }
            }
            None => {
                index.insert(&criterion.identifier, joined.len());
                joined.push(criterion.clone());
            }
        }
    }
    joined
}

/// The state of one object after preparation.
#[derive(Debug, Default)]
struct ObjectState {
    prepared: bool,
    error: Option<String>,
    criteria: Vec<Criterion>,
}

/// The state of one test.
#[derive(Debug, Default, Clone)]
struct TestState {
    evaluated: bool,
    error: Option<String>,
    master: bool,
    has_true: bool,
    results: Vec<(bool, String)>,
}

/// A document being evaluated.
struct Run<'a> {
    document: &'a Document,
    host: &'a Host,
    objects: Vec<ObjectState>,
    tests: Vec<TestState>,
}

impl Run<'_> {
    /// Criteria of the import chains of `object` (prepared with `prepared`).
    fn fire_chains(
        &self,
        object: &Object,
        prepared: &Prepared,
        depth: usize,
    ) -> Result<Vec<Criterion>, String> {
        if object.source() != Some(Source::FileContent)
            || object.filecontent.import_chain.is_empty()
        {
            return Ok(Vec::new());
        }
        if depth > MAX_CHAIN_DEPTH {
            return Err(format!(
                "import chain of \"{}\" is deeper than {MAX_CHAIN_DEPTH} objects",
                object.object
            ));
        }
        let mut roots: Vec<&str> = Vec::new();
        for path in &prepared.paths {
            if !roots.contains(&path.as_str()) {
                roots.push(path);
            }
        }
        let mut out = Vec::new();
        for root in roots {
            let directory = match root.rfind('/') {
                Some(slash) => &root[..=slash],
                None => "",
            };
            let variables = [Variable {
                key: "chain_root".to_owned(),
                value: directory.to_owned(),
            }];
            for id in &object.filecontent.import_chain {
                let mut chained = self.document.objects[self.document.object(id)?].clone();
                chained.expand(&variables);
                let mut gathered = prepare(&chained, self.host)?;
                let more = self.fire_chains(&chained, &gathered, depth + 1)?;
                gathered.criteria.extend(more);
                out.extend(
                    visible(&chained, &gathered.criteria)
                        .into_iter()
                        .map(|criterion| Criterion {
                            identifier: root.to_owned(),
                            ..criterion
                        }),
                );
            }
        }
        Ok(out)
    }

    fn prepare_objects(&mut self) {
        let document = self.document;
        let mut gathered: Vec<Option<Prepared>> = Vec::with_capacity(document.objects.len());
        for (index, object) in document.objects.iter().enumerate() {
            if object.is_chain() {
                gathered.push(None);
                continue;
            }
            self.objects[index].prepared = true;
            let mut expanded = object.clone();
            expanded.expand(&document.variables);
            match prepare(&expanded, self.host) {
                Ok(prepared) => gathered.push(Some(prepared)),
                Err(err) => {
                    self.objects[index].error = Some(err);
                    gathered.push(None);
                }
            }
        }
        for (index, object) in document.objects.iter().enumerate() {
            let Some(mut prepared) = gathered[index].take() else {
                continue;
            };
            let mut expanded = object.clone();
            expanded.expand(&document.variables);
            match self.fire_chains(&expanded, &prepared, 0) {
                Ok(more) => {
                    prepared.criteria.extend(more);
                    self.objects[index].criteria = visible(&expanded, &prepared.criteria);
                }
                Err(err) => self.objects[index].error = Some(err),
            }
        }
    }

    fn run_test(&mut self, index: usize) -> Result<(), String> {
        if self.tests[index].evaluated {
            return Ok(());
        }
        if let Some(err) = &self.tests[index].error {
            return Err(err.clone());
        }
        self.tests[index].evaluated = true;
        let outcome = self.evaluate(index);
        if let Err(err) = &outcome {
            self.tests[index].error = Some(err.clone());
        }
        outcome
    }

    fn evaluate(&mut self, index: usize) -> Result<(), String> {
        let document = self.document;
        let test = &document.tests[index];
        let mut dependencies = Vec::with_capacity(test.if_tests.len());
        for id in &test.if_tests {
            let dependency = document.test(id)?;
            if self.run_test(dependency).is_err() {
                return Err(format!("a test dependency failed (\"{id}\")"));
            }
            dependencies.push(dependency);
        }
        let object = document.object(&test.object)?;
        let state = &self.objects[object];
        if let Some(err) = &state.error {
            return Err(err.clone());
        }
        if !state.prepared {
            return Err("object not prepared".to_owned());
        }
        let evaluator = Evaluator::of(test);
        let mut results = Vec::with_capacity(state.criteria.len());
        for criterion in &state.criteria {
            results.push((evaluator.evaluate(criterion)?, criterion.identifier.clone()));
        }
        let has_true = results.iter().any(|(result, _)| *result);
        let master = has_true && dependencies.iter().all(|&d| self.tests[d].master);
        let state = &mut self.tests[index];
        state.results = results;
        state.has_true = has_true;
        state.master = master;
        Ok(())
    }
}

/// A test's evaluator, in the original's precedence.
enum Evaluator<'a> {
    Evr { operation: &'a str, value: &'a str },
    Regexp(&'a str, OnceCell<Result<regex::Regex, String>>),
    Exact(&'a str),
    Noop,
}

impl<'a> Evaluator<'a> {
    fn of(test: &'a Test) -> Self {
        if !test.evr.value.is_empty() {
            Self::Evr {
                operation: &test.evr.operation,
                value: &test.evr.value,
            }
        } else if !test.regexp.value.is_empty() {
            Self::Regexp(&test.regexp.value, OnceCell::new())
        } else if !test.exactmatch.value.is_empty() {
            Self::Exact(&test.exactmatch.value)
        } else {
            Self::Noop
        }
    }

    fn evaluate(&self, criterion: &Criterion) -> Result<bool, String> {
        match self {
            Self::Evr { operation, value } => {
                let operation = evr::Operation::parse(operation)?;
                evr::compare(criterion.scheme, operation, &criterion.value, value)
            }
            Self::Regexp(pattern, compiled) => {
                let regex = compiled
                    .get_or_init(|| super::document::regex(pattern))
                    .as_ref()
                    .map_err(Clone::clone)?;
                Ok(regex.is_match(&criterion.value))
            }
            Self::Exact(value) => Ok(criterion.value == *value),
            Self::Noop => Ok(true),
        }
    }
}

/// Evaluates a validated document: one result per test, in document order
/// (a test id used twice reports the first test's result twice, as the
/// original's lookup by id did).
pub fn analyze(document: &Document, host: &Host) -> Vec<TestResult> {
    let mut run = Run {
        document,
        host,
        objects: document
            .objects
            .iter()
            .map(|_| ObjectState::default())
            .collect(),
        tests: vec![TestState::default(); document.tests.len()],
    };
    run.prepare_objects();
    for index in 0..document.tests.len() {
        // Errors stay with the test.
        let _ = run.run_test(index);
    }
    document
        .tests
        .iter()
        .map(|test| {
            let first = document.test(&test.id).unwrap_or_default();
            let source = &document.tests[first];
            let state = &run.tests[first];
            let mut result = TestResult {
                testid: source.id.clone(),
                name: source.name.clone(),
                description: source.description.clone(),
                tags: source.tags.clone(),
                ..TestResult::default()
            };
            match &state.error {
                Some(err) => {
                    result.iserror = true;
                    result.error.clone_from(err);
                }
                None => {
                    result.masterresult = state.master;
                    result.hastrueresults = state.has_true;
                    result.results = (!state.results.is_empty()).then(|| {
                        state
                            .results
                            .iter()
                            .map(|(result, identifier)| TestSubResult {
                                result: *result,
                                identifier: identifier.clone(),
                            })
                            .collect()
                    });
                }
            }
            result
        })
        .collect()
}
