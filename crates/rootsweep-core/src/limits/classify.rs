//! Turning AWS SDK errors into decisions: [`classify`] maps an `SdkError` to an [`ErrorClass`]
//! and keeps its code, message and HTTP status as a [`FailureDetail`].
//!
//! Codes are matched as they arrive on the wire, which for IAM means without the `Exception`
//! suffix (`NoSuchEntity`, `LimitExceeded`), and for the IAM organization-feature errors in both
//! spellings, since which one AWS sends is unverified.

use std::error::Error;
use std::fmt;

use aws_sdk_sts::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use serde::{Deserialize, Serialize};

/// What kind of failure an AWS error is, which decides what rootsweep does next.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorClass {
    /// The service's rate limit: slow down and retry.
    Throttled,
    /// 5xx, timeouts, dropped connections, `EntityTemporarilyUnmodifiable`: retry.
    Transient,
    /// The session's credentials expired: assume again, then retry.
    ExpiredSession,
    /// The thing does not exist (`NoSuchEntity`, `NoSuchBucketPolicy`, ...); a delete treats it
    /// as already done.
    NotFound,
    /// Explicitly denied by a service control policy.
    DeniedByScp,
    /// Not authorized for another reason (missing permission, a session policy, ...).
    Denied,
    /// Centralized root access, trusted access or all-features mode is not enabled, or the
    /// caller is not the management account or delegated administrator.
    FeatureNotEnabled,
    /// The caller's own credentials are unknown or invalid.
    InvalidCredentials,
    /// The request conflicts with current state (`EntityAlreadyExists`, `DeleteConflict`).
    Conflict,
    /// AWS rejected the request as malformed: a bug or bad input.
    InvalidRequest,
    /// A change reported done did not show in fresh reads.
    VerificationFailed,
    /// Anything else.
    Fatal,
}

impl ErrorClass {
    /// Whether the engine retries the call (after a backoff) without changing anything.
    pub fn is_retryable(self) -> bool {
        matches!(self, Self::Throttled | Self::Transient)
    }

    /// Whether the failure is an authorization denial (the outcome is `denied`, not `failed`).
    pub fn is_denial(self) -> bool {
        matches!(
            self,
            Self::DeniedByScp | Self::Denied | Self::FeatureNotEnabled
        )
    }

    /// The snake_case name used in records.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Throttled => "throttled",
            Self::Transient => "transient",
            Self::ExpiredSession => "expired_session",
            Self::NotFound => "not_found",
            Self::DeniedByScp => "denied_by_scp",
            Self::Denied => "denied",
            Self::FeatureNotEnabled => "feature_not_enabled",
            Self::InvalidCredentials => "invalid_credentials",
            Self::Conflict => "conflict",
            Self::InvalidRequest => "invalid_request",
            Self::VerificationFailed => "verification_failed",
            Self::Fatal => "fatal",
        }
    }
}

impl fmt::Display for ErrorClass {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(self.as_str())
    }
}

/// A classified failure of one AWS call.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FailureDetail {
    /// What kind of failure it is.
    pub class: ErrorClass,
    /// The AWS error code, when the service sent one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    /// The AWS message, or a description of the transport failure.
    pub message: String,
    /// The HTTP status, when a response arrived.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub http_status: Option<u16>,
}

impl fmt::Display for FailureDetail {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.code {
            Some(code) => write!(formatter, "{code}: {}", self.message),
            None => formatter.write_str(&self.message),
        }
    }
}

const THROTTLING_CODES: &[&str] = &[
    "Throttling",
    "ThrottlingException",
    "ThrottledException",
    "RequestThrottledException",
    "TooManyRequestsException",
    "RequestThrottled",
    "SlowDown",
    "RequestLimitExceeded",
    "BandwidthLimitExceeded",
    "PriorRequestNotComplete",
    "ProvisionedThroughputExceededException",
    // IAM's rate error; the SDK's own list only has the suffixed spelling.
    "LimitExceeded",
    "LimitExceededException",
];

const TRANSIENT_CODES: &[&str] = &[
    "ServiceFailure",
    "InternalFailure",
    "InternalError",
    "InternalServerError",
    "ServiceUnavailable",
    "ServiceUnavailableException",
    "ServiceException",
    "RequestTimeout",
    "RequestTimeoutException",
    "EntityTemporarilyUnmodifiable",
    "ConcurrentModification",
    "ConcurrentModificationException",
    "IDPCommunicationError",
];

const EXPIRED_CODES: &[&str] = &["ExpiredToken", "ExpiredTokenException", "RequestExpired"];

const NOT_FOUND_CODES: &[&str] = &[
    "NoSuchEntity",
    "NoSuchEntityException",
    "NoSuchBucketPolicy",
    "NoSuchBucket",
    "AWS.SimpleQueueService.NonExistentQueue",
    "QueueDoesNotExist",
    "AccountNotFoundException",
    "ParentNotFoundException",
    "ChildNotFoundException",
    "TargetNotFoundException",
];

const DENIED_CODES: &[&str] = &[
    "AccessDenied",
    "AccessDeniedException",
    "UnauthorizedOperation",
    "AuthorizationError",
    "MethodNotAllowed",
    "InvalidSecurity",
];

const FEATURE_CODES: &[&str] = &[
    "ServiceAccessNotEnabled",
    "ServiceAccessNotEnabledException",
    "AccountNotManagementOrDelegatedAdministrator",
    "AccountNotManagementOrDelegatedAdministratorException",
    "OrganizationNotInAllFeaturesMode",
    "OrganizationNotInAllFeaturesModeException",
    "CallerIsNotManagementAccount",
    "CallerIsNotManagementAccountException",
    "OrganizationNotFound",
    "OrganizationNotFoundException",
    "AWSOrganizationsNotInUseException",
];

const CREDENTIAL_CODES: &[&str] = &[
    "InvalidClientTokenId",
    "InvalidAccessKeyId",
    "UnrecognizedClientException",
    "SignatureDoesNotMatch",
    "InvalidSignatureException",
    "InvalidToken",
    "MissingAuthenticationToken",
];

const CONFLICT_CODES: &[&str] = &[
    "EntityAlreadyExists",
    "DeleteConflict",
    "AccountAlreadyRegisteredException",
];

const INVALID_CODES: &[&str] = &[
    "ValidationError",
    "ValidationException",
    "InvalidInput",
    "InvalidInputException",
    "InvalidParameterValue",
    "InvalidParameterCombination",
    "InvalidAttributeName",
    "InvalidAttributeValue",
    "MalformedPolicy",
    "InvalidArgument",
    "AuthorizationHeaderMalformed",
    "InvalidAction",
    "ConstraintViolationException",
    "RegionDisabledException",
];

/// Classifies an error code and message (the part shared by every SDK error).
pub fn classify_code(code: &str, message: &str, http_status: Option<u16>) -> ErrorClass {
    let matches = |list: &[&str]| list.contains(&code);
    if matches(THROTTLING_CODES) {
        ErrorClass::Throttled
    } else if matches(EXPIRED_CODES) {
        ErrorClass::ExpiredSession
    } else if matches(NOT_FOUND_CODES) {
        ErrorClass::NotFound
    } else if matches(DENIED_CODES) {
        if message.contains("explicit deny in a service control policy") {
            ErrorClass::DeniedByScp
        } else {
            ErrorClass::Denied
        }
    } else if matches(FEATURE_CODES) {
        ErrorClass::FeatureNotEnabled
    } else if matches(CREDENTIAL_CODES) {
        ErrorClass::InvalidCredentials
    } else if matches(CONFLICT_CODES) {
        ErrorClass::Conflict
    } else if matches(TRANSIENT_CODES) || http_status.is_some_and(|status| status >= 500) {
        ErrorClass::Transient
    } else if matches(INVALID_CODES) {
        ErrorClass::InvalidRequest
    } else {
        ErrorClass::Fatal
    }
}

/// Classifies any AWS SDK error.
pub fn classify<E>(error: &SdkError<E, HttpResponse>) -> FailureDetail
where
    E: ProvideErrorMetadata + Error + 'static,
{
    let http_status = error
        .raw_response()
        .map(|response| response.status().as_u16());
    match error {
        SdkError::ServiceError(_) => {
            let code = error.code().map(str::to_string);
            let message = error
                .message()
                .map(str::to_string)
                .unwrap_or_else(|| DisplayErrorContext(error).to_string());
            let class = match &code {
                Some(code) => classify_code(code, &message, http_status),
                // A service error without a code: an unparseable or empty body. After a success
                // status it is most likely a transfer cut short, so it is worth another try.
                None if http_status
                    .is_some_and(|status| status >= 500 || (200..300).contains(&status)) =>
                {
                    ErrorClass::Transient
                }
                None if http_status == Some(403) => ErrorClass::Denied,
                None => ErrorClass::Fatal,
            };
            FailureDetail {
                class,
                code,
                message,
                http_status,
            }
        }
        // Timeouts, connection failures and responses cut short are all worth another try.
        SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) | SdkError::ResponseError(_) => {
            FailureDetail {
                class: ErrorClass::Transient,
                code: None,
                message: DisplayErrorContext(error).to_string(),
                http_status,
            }
        }
        _ => FailureDetail {
            class: ErrorClass::Fatal,
            code: None,
            message: DisplayErrorContext(error).to_string(),
            http_status,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_map_to_classes() {
        let cases = [
            ("Throttling", "Rate exceeded", ErrorClass::Throttled),
            ("TooManyRequestsException", "", ErrorClass::Throttled),
            ("SlowDown", "", ErrorClass::Throttled),
            ("RequestThrottled", "", ErrorClass::Throttled),
            ("LimitExceeded", "", ErrorClass::Throttled),
            ("ServiceFailure", "", ErrorClass::Transient),
            ("EntityTemporarilyUnmodifiable", "", ErrorClass::Transient),
            ("ExpiredToken", "", ErrorClass::ExpiredSession),
            ("NoSuchEntity", "", ErrorClass::NotFound),
            ("NoSuchBucketPolicy", "", ErrorClass::NotFound),
            (
                "AWS.SimpleQueueService.NonExistentQueue",
                "",
                ErrorClass::NotFound,
            ),
            (
                "AccessDenied",
                "User: arn:aws:iam::1:root is not authorized to perform: iam:X on resource: Y with an explicit deny in a service control policy",
                ErrorClass::DeniedByScp,
            ),
            (
                "AccessDenied",
                "with an explicit deny in a session policy",
                ErrorClass::Denied,
            ),
            ("AccessDeniedException", "", ErrorClass::Denied),
            ("ServiceAccessNotEnabled", "", ErrorClass::FeatureNotEnabled),
            (
                "ServiceAccessNotEnabledException",
                "",
                ErrorClass::FeatureNotEnabled,
            ),
            ("InvalidClientTokenId", "", ErrorClass::InvalidCredentials),
            ("EntityAlreadyExists", "", ErrorClass::Conflict),
            ("ValidationError", "", ErrorClass::InvalidRequest),
            ("SomethingNew", "", ErrorClass::Fatal),
        ];
        for (code, message, expected) in cases {
            assert_eq!(classify_code(code, message, Some(400)), expected, "{code}");
        }
        assert_eq!(
            classify_code("SomethingNew", "", Some(503)),
            ErrorClass::Transient
        );
    }

    #[test]
    fn classes_say_what_to_do() {
        assert!(ErrorClass::Throttled.is_retryable());
        assert!(ErrorClass::Transient.is_retryable());
        assert!(!ErrorClass::NotFound.is_retryable());
        assert!(ErrorClass::DeniedByScp.is_denial());
        assert!(!ErrorClass::Fatal.is_denial());
        assert_eq!(
            serde_json::to_string(&ErrorClass::DeniedByScp).expect("serializes"),
            "\"denied_by_scp\""
        );
    }
}
