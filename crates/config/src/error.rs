//! Config errors that people can act on: each names the file, the line, the
//! document and the key, and says what to do where davit knows.

use std::fmt;

/// One problem in a config file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    /// The file as the user knows it (`werf.yaml`, `werf-giterminism.yaml`).
    pub file: String,
    /// 1-based line in the rendered file; 0 when the problem has no place.
    pub line: usize,
    pub col: usize,
    /// 1-based document number in the rendered file.
    pub doc: Option<usize>,
    /// Key path inside the document (`git[0].to`).
    pub key: Option<String>,
    pub message: String,
    pub hint: Option<String>,
    /// The template line that produced the rendered line, when it differs
    /// (`.werf/images.tmpl:12`).
    pub origin: Option<String>,
}

impl Diagnostic {
    pub fn new(file: impl Into<String>, message: impl Into<String>) -> Diagnostic {
        Diagnostic {
            file: file.into(),
            line: 0,
            col: 0,
            doc: None,
            key: None,
            message: message.into(),
            hint: None,
            origin: None,
        }
    }

    pub fn at(mut self, line: usize, col: usize) -> Self {
        self.line = line;
        self.col = col;
        self
    }

    pub fn in_doc(mut self, doc: usize) -> Self {
        self.doc = Some(doc);
        self
    }

    pub fn key(mut self, key: impl Into<String>) -> Self {
        let k = key.into();
        if !k.is_empty() {
            self.key = Some(k);
        }
        self
    }

    pub fn hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file)?;
        if self.line > 0 {
            write!(f, ":{}", self.line)?;
            if self.col > 0 {
                write!(f, ":{}", self.col)?;
            }
        }
        write!(f, ": {}", self.message)?;
        let mut context = Vec::new();
        if let Some(d) = self.doc {
            context.push(format!("document {d}"));
        }
        if let Some(k) = &self.key {
            context.push(format!("key `{k}`"));
        }
        if let Some(o) = &self.origin {
            context.push(format!("rendered from {o}"));
        }
        if !context.is_empty() {
            write!(f, " ({})", context.join(", "))?;
        }
        if let Some(h) = &self.hint {
            write!(f, "\n  hint: {h}")?;
        }
        Ok(())
    }
}

/// Everything that went wrong, in file order.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct ConfigError {
    pub diagnostics: Vec<Diagnostic>,
}

impl ConfigError {
    pub fn one(d: Diagnostic) -> ConfigError {
        ConfigError {
            diagnostics: vec![d],
        }
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, d) in self.diagnostics.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{d}")?;
        }
        Ok(())
    }
}
