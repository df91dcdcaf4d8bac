//! Line input: rustyline with per-mode prefix completion and a history kept
//! in `~/.mig_history` (one line per entry, as the original). When stdin is
//! not a terminal, rustyline reads plain lines, so a dialogue can be piped in.

use std::borrow::Cow;
use std::cell::Cell;
use std::io::Write;
use std::path::PathBuf;

use rustyline::completion::Completer;
use rustyline::error::ReadlineError;
use rustyline::highlight::Highlighter;
use rustyline::hint::Hinter;
use rustyline::history::MemHistory;
use rustyline::validate::Validator;
use rustyline::{Context, Editor, Helper};

/// What a read returned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Line {
    Text(String),
    /// Ctrl+D or the end of piped input.
    Eof,
}

/// Completes the whole line so far against the mode's keywords.
struct Keywords {
    words: Cell<&'static [&'static str]>,
}

impl Completer for Keywords {
    type Candidate = String;

    fn complete(
        &self,
        line: &str,
        pos: usize,
        _ctx: &Context<'_>,
    ) -> rustyline::Result<(usize, Vec<String>)> {
        let typed = line.get(..pos).unwrap_or(line);
        let candidates = self
            .words
            .get()
            .iter()
            .filter(|word| word.starts_with(typed))
            .map(|word| (*word).to_owned())
            .collect();
        Ok((0, candidates))
    }
}

impl Hinter for Keywords {
    type Hint = String;
}

impl Highlighter for Keywords {
    fn highlight_prompt<'b, 's: 'b, 'p: 'b>(
        &'s self,
        prompt: &'p str,
        _default: bool,
    ) -> Cow<'b, str> {
        Cow::Borrowed(prompt)
    }
}

impl Validator for Keywords {}
impl Helper for Keywords {}

/// The console's input.
pub struct Input {
    editor: Option<Editor<Keywords, MemHistory>>,
    history: Vec<String>,
    history_path: Option<PathBuf>,
    /// Lines of a non-terminal stdin are echoed after their prompt.
    echo: bool,
}

/// At most this many history lines are kept in the file.
const HISTORY_MAX: usize = 1000;

impl Input {
    /// An input reading the terminal (or stdin), with the history of
    /// `history_path` loaded.
    pub fn new(history_path: Option<PathBuf>) -> Self {
        let config = rustyline::Config::builder()
            .auto_add_history(false)
            .completion_type(rustyline::CompletionType::List)
            .max_history_size(HISTORY_MAX)
            .map(|builder| builder.build())
            .unwrap_or_default();
        let echo = !stdin_is_terminal();
        // Not a terminal: plain lines, read here (rustyline would print no
        // prompt, or print it twice on a dumb terminal).
        let editor = (!echo)
            .then(|| Editor::<Keywords, MemHistory>::with_history(config, MemHistory::new()).ok())
            .flatten()
            .map(|mut editor| {
                editor.set_helper(Some(Keywords {
                    words: Cell::new(&[]),
                }));
                editor
            });
        let history: Vec<String> = history_path
            .as_ref()
            .and_then(|path| std::fs::read_to_string(path).ok())
            .map(|text| {
                text.lines()
                    .filter(|line| !line.is_empty())
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default();
        let mut input = Self {
            editor,
            history: Vec::new(),
            history_path,
            echo,
        };
        for line in history {
            input.remember(&line);
        }
        input
    }

    /// Reads one line after `prompt`, completing against `words`.
    pub fn read(&mut self, prompt: &str, words: &'static [&'static str]) -> Line {
        let Some(editor) = self.editor.as_mut() else {
            let line = read_plain(prompt);
            if self.echo {
                // The transcript of a piped dialogue reads like a session.
                match &line {
                    Line::Text(text) => println!("{text}"),
                    Line::Eof => println!(),
                }
            }
            return line;
        };
        if let Some(helper) = editor.helper_mut() {
            helper.words.set(words);
        }
        loop {
            match editor.readline(prompt) {
                Ok(line) => return Line::Text(line),
                // Ctrl+C abandons the line being typed.
                Err(ReadlineError::Interrupted) => continue,
                Err(_) => return Line::Eof,
            }
        }
    }

    /// Adds a line to the history (not when it repeats the last one).
    pub fn remember(&mut self, line: &str) {
        if line.is_empty() || self.history.last().is_some_and(|last| last == line) {
            return;
        }
        self.history.push(line.to_owned());
        if let Some(editor) = self.editor.as_mut() {
            let _ = editor.add_history_entry(line);
        }
    }

    /// The history, oldest first.
    pub fn history(&self) -> &[String] {
        &self.history
    }

    /// Writes the history file.
    pub fn save(&self) {
        let Some(path) = &self.history_path else {
            return;
        };
        let start = self.history.len().saturating_sub(HISTORY_MAX);
        let mut text = self.history[start..].join("\n");
        text.push('\n');
        let _ = std::fs::write(path, text);
    }
}

fn read_plain(prompt: &str) -> Line {
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(strip_colours(prompt).as_bytes());
    let _ = out.flush();
    drop(out);
    let mut line = String::new();
    match std::io::stdin().read_line(&mut line) {
        Ok(0) | Err(_) => Line::Eof,
        Ok(_) => Line::Text(line.trim_end_matches(['\n', '\r']).to_owned()),
    }
}

/// Whether stdin is a terminal.
pub fn stdin_is_terminal() -> bool {
    use std::io::IsTerminal;
    std::io::stdin().is_terminal()
}

/// `text` without its `ESC [ … m` colour sequences.
fn strip_colours(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c == '\x1b' {
            for c in chars.by_ref() {
                if c == 'm' {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn colours_are_stripped() {
        assert_eq!(super::strip_colours("\x1b[1m\x1b[32mmig>\x1b[0m "), "mig> ");
    }
}
