//! Vendor API errors: which vendor, what was being done, and for a refusal
//! of the credentials, the hint werf gives. Tokens never appear.

#[derive(Debug, thiserror::Error)]
pub enum VendorError {
    /// The credentials were refused: every later request would be too.
    #[error("{vendor}: {operation}: {message}\n  hint: {hint}")]
    Refused {
        vendor: &'static str,
        operation: String,
        message: String,
        hint: &'static str,
    },
    #[error("{vendor}: {operation}: HTTP {status}: {message}")]
    Status {
        vendor: &'static str,
        operation: String,
        status: u16,
        message: String,
    },
    #[error("{vendor}: {operation}: {message}")]
    Other {
        vendor: &'static str,
        operation: String,
        message: String,
    },
}

impl VendorError {
    /// No later request with these credentials will succeed.
    pub fn is_refusal(&self) -> bool {
        matches!(self, VendorError::Refused { .. })
    }
}
