//! Why a fact could not be fetched.

use std::fmt;

/// A failed fetch. It names what was asked and where the credential came from, never a
/// credential: error text reaches CI logs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FetchError {
    /// What was asked, with its server: `registry 127.0.0.1:5000: image
    /// amdenterpriseai/aim-x:0.8.5`, `s3 bucket models (endpoint http://…): prefix llama`,
    /// `Hugging Face Hub https://huggingface.co: repo amd/x`.
    pub subject: String,
    /// What went wrong, and how to fix it when aimc can tell.
    pub reason: String,
    /// Where the credential that was used came from (`/home/u/.docker/config.json`,
    /// `credential helper docker-credential-pass`, `HF_TOKEN`), or `None` when none was.
    pub credential: Option<String>,
    /// Whether a later try may succeed (connection, timeout, 429, 5xx), as opposed to a
    /// definite answer (401, 404, a malformed response).
    pub transient: bool,
}

impl FetchError {
    pub fn new(subject: impl Into<String>, reason: impl Into<String>) -> Self {
        FetchError {
            subject: subject.into(),
            reason: reason.into(),
            credential: None,
            transient: false,
        }
    }
    pub fn credential(mut self, source: Option<String>) -> Self {
        self.credential = source;
        self
    }
    pub fn transient(mut self, transient: bool) -> Self {
        self.transient = transient;
        self
    }
}

impl fmt::Display for FetchError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.subject, self.reason)?;
        // Only a request that carried a credential says where it came from; a missing
        // credential is the reason's to explain.
        match &self.credential {
            Some(src) => write!(f, " (credentials from {src})"),
            None => Ok(()),
        }
    }
}

impl std::error::Error for FetchError {}
