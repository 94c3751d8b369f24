//! One module per AWS service. Each parses its protocol's input, applies the operation to the
//! [`World`](crate::world::World) and renders the answer; [`Call`] is what they all receive.

pub(crate) mod iam;
pub(crate) mod organizations;
pub(crate) mod s3;
pub(crate) mod sqs;
pub(crate) mod sts;

use std::collections::HashMap;

use crate::config::Fidelity;
use crate::load::{LoadShaper, Service};
use crate::protocol::ApiError;
use crate::world::Caller;

/// One authenticated request, as the service handlers see it.
pub(crate) struct Call<'a> {
    pub(crate) operation: &'a str,
    /// The region of the SigV4 credential scope.
    pub(crate) region: &'a str,
    pub(crate) caller: &'a Caller,
    /// Seconds since the Unix epoch (emulator clock).
    pub(crate) now: f64,
    pub(crate) request_id: &'a str,
    /// The emulator's own base URL (queue URLs point at it).
    pub(crate) endpoint: &'a str,
    pub(crate) fidelity: &'a Fidelity,
    pub(crate) shaper: &'a LoadShaper,
}

/// AWS Query parameters (form body and URL query merged).
pub(crate) type QueryParams = HashMap<String, String>;

/// A required Query parameter, or AWS's validation error.
pub(crate) fn required<'p>(params: &'p QueryParams, name: &str) -> Result<&'p str, ApiError> {
    params
        .get(name)
        .map(String::as_str)
        .filter(|value| !value.is_empty())
        .ok_or_else(|| {
            ApiError::new(
                400,
                "ValidationError",
                format!(
                    "1 validation error detected: Value null at '{}' failed to satisfy constraint: Member must not be null",
                    lower_first(name)
                ),
            )
        })
}

fn lower_first(name: &str) -> String {
    let mut characters = name.chars();
    match characters.next() {
        Some(first) => first.to_lowercase().chain(characters).collect(),
        None => String::new(),
    }
}

/// Operations that change state, by `service:Operation`.
pub(crate) fn is_mutating(service: Service, operation: &str) -> bool {
    match service {
        Service::Sts => false,
        Service::Iam => {
            operation.starts_with("Delete")
                || operation.starts_with("Deactivate")
                || operation.starts_with("Create")
                || operation.starts_with("Enable")
                || operation.starts_with("Disable")
        }
        Service::Organizations => {
            operation.starts_with("Enable") || operation.starts_with("Register")
        }
        Service::S3 => operation == "PutBucketPolicy" || operation == "DeleteBucketPolicy",
        Service::Sqs => operation == "SetQueueAttributes",
    }
}
