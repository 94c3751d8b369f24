//! Wire formats: [`ApiError`] and how each AWS protocol renders it and its responses (AWS Query
//! XML for STS and IAM, JSON 1.1 for Organizations, REST-XML for S3, JSON 1.0 with
//! query-compatible error codes for SQS), plus the small XML writer they share.

use bytes::Bytes;
use http::{Response, StatusCode};
use http_body_util::Full;

use crate::load::Service;

/// The HTTP response type the emulator sends.
pub(crate) type HttpResponse = Response<Full<Bytes>>;

/// An AWS error answer.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ApiError {
    pub(crate) status: u16,
    pub(crate) code: String,
    pub(crate) message: String,
    /// Extra elements S3 puts in its error documents (`Region`, `BucketName`).
    pub(crate) extra: Vec<(&'static str, String)>,
}

impl ApiError {
    pub(crate) fn new(status: u16, code: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            status,
            code: code.into(),
            message: message.into(),
            extra: Vec::new(),
        }
    }

    pub(crate) fn with(mut self, name: &'static str, value: impl Into<String>) -> Self {
        self.extra.push((name, value.into()));
        self
    }

    fn is_sender_fault(&self) -> bool {
        self.status < 500
    }

    /// The service's own throttling error.
    pub(crate) fn throttling(service: Service) -> Self {
        match service {
            Service::Sts | Service::Iam => ApiError::new(400, "Throttling", "Rate exceeded"),
            Service::Organizations => ApiError::new(
                400,
                "TooManyRequestsException",
                "AWS Organizations can't complete your request because another request is already in progress. Try again later.",
            ),
            Service::S3 => ApiError::new(503, "SlowDown", "Please reduce your request rate."),
            Service::Sqs => ApiError::new(400, "RequestThrottled", "Request is throttled."),
        }
    }

    /// The service's internal error (500) or unavailable error (503).
    pub(crate) fn server_fault(service: Service, status: u16) -> Self {
        let code = match (service, status) {
            (Service::Iam, 500) => "ServiceFailure",
            (Service::Organizations, 500) => "ServiceException",
            (Service::Organizations, _) => "ServiceException",
            (Service::S3, 500) => "InternalError",
            (_, 500) => "InternalFailure",
            (_, _) => "ServiceUnavailable",
        };
        let message = if status == 500 {
            "We encountered an internal error. Please try again."
        } else {
            "Service is unable to handle request."
        };
        ApiError::new(status, code, message)
    }

    /// An explicit or implicit authorization failure, worded as AWS words it.
    pub(crate) fn access_denied(service: Service, message: impl Into<String>) -> Self {
        let code = match service {
            Service::Organizations => "AccessDeniedException",
            _ => "AccessDenied",
        };
        ApiError::new(403, code, message)
    }

    /// Renders the error in the service's protocol.
    pub(crate) fn render(&self, service: Service, request_id: &str) -> HttpResponse {
        match service {
            Service::Sts | Service::Iam => {
                let namespace = query_namespace(service);
                let mut xml = Xml::document();
                xml.open_with_namespace("ErrorResponse", namespace);
                xml.open("Error");
                xml.leaf(
                    "Type",
                    if self.is_sender_fault() {
                        "Sender"
                    } else {
                        "Receiver"
                    },
                );
                xml.leaf("Code", &self.code);
                xml.leaf("Message", &self.message);
                xml.close("Error");
                xml.leaf("RequestId", request_id);
                xml.close("ErrorResponse");
                respond(self.status, "text/xml", xml.finish(), request_id)
            }
            Service::S3 => {
                let mut xml = Xml::document();
                xml.open("Error");
                xml.leaf("Code", &self.code);
                xml.leaf("Message", &self.message);
                for (name, value) in &self.extra {
                    xml.leaf(name, value);
                }
                xml.leaf("RequestId", request_id);
                xml.leaf("HostId", "emulator");
                xml.close("Error");
                let mut response =
                    respond(self.status, "application/xml", xml.finish(), request_id);
                insert_header(&mut response, "x-amz-request-id", request_id);
                response
            }
            Service::Organizations => {
                let body = serde_json::json!({ "__type": self.code, "Message": self.message });
                let mut response = respond(
                    self.status,
                    "application/x-amz-json-1.1",
                    body.to_string(),
                    request_id,
                );
                insert_header(&mut response, "x-amzn-ErrorType", &self.code);
                response
            }
            Service::Sqs => {
                // SQS is awsQueryCompatible: the JSON __type carries the modeled shape name and
                // the x-amzn-query-error header carries the legacy Query code the SDK reports.
                let shape = match self.code.as_str() {
                    "AWS.SimpleQueueService.NonExistentQueue" => "QueueDoesNotExist",
                    other => other,
                };
                let body = serde_json::json!({
                    "__type": format!("com.amazonaws.sqs#{shape}"),
                    "message": self.message,
                });
                let mut response = respond(
                    self.status,
                    "application/x-amz-json-1.0",
                    body.to_string(),
                    request_id,
                );
                let fault = if self.is_sender_fault() {
                    "Sender"
                } else {
                    "Receiver"
                };
                insert_header(
                    &mut response,
                    "x-amzn-query-error",
                    &format!("{};{fault}", self.code),
                );
                response
            }
        }
    }
}

pub(crate) fn query_namespace(service: Service) -> &'static str {
    match service {
        Service::Sts => "https://sts.amazonaws.com/doc/2011-06-15/",
        _ => "https://iam.amazonaws.com/doc/2010-05-08/",
    }
}

fn insert_header(response: &mut HttpResponse, name: &'static str, value: &str) {
    if let Ok(value) = http::HeaderValue::from_str(value) {
        response.headers_mut().insert(name, value);
    }
}

/// Builds a response with a body and the usual AWS headers.
pub(crate) fn respond(
    status: u16,
    content_type: &str,
    body: impl Into<Bytes>,
    request_id: &str,
) -> HttpResponse {
    let mut response = Response::new(Full::new(body.into()));
    *response.status_mut() =
        StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    insert_header(&mut response, "content-type", content_type);
    insert_header(&mut response, "x-amzn-RequestId", request_id);
    response
}

/// An AWS Query protocol success document: `<{Action}Response><{Action}Result>…`.
pub(crate) fn query_success(
    service: Service,
    action: &str,
    request_id: &str,
    result: impl FnOnce(&mut Xml),
) -> HttpResponse {
    let mut xml = Xml::document();
    xml.open_with_namespace(&format!("{action}Response"), query_namespace(service));
    let mut inner = Xml::fragment();
    result(&mut inner);
    if !inner.is_empty() {
        xml.open(&format!("{action}Result"));
        xml.raw(&inner.finish());
        xml.close(&format!("{action}Result"));
    }
    xml.open("ResponseMetadata");
    xml.leaf("RequestId", request_id);
    xml.close("ResponseMetadata");
    xml.close(&format!("{action}Response"));
    respond(200, "text/xml", xml.finish(), request_id)
}

/// A tiny XML writer: enough for AWS response documents.
#[derive(Debug, Default)]
pub(crate) struct Xml {
    buffer: String,
}

impl Xml {
    pub(crate) fn document() -> Self {
        Self {
            buffer: String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"),
        }
    }

    pub(crate) fn fragment() -> Self {
        Self::default()
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.buffer.is_empty()
    }

    pub(crate) fn open(&mut self, tag: &str) {
        self.buffer.push('<');
        self.buffer.push_str(tag);
        self.buffer.push('>');
    }

    pub(crate) fn open_with_namespace(&mut self, tag: &str, namespace: &str) {
        self.buffer
            .push_str(&format!("<{tag} xmlns=\"{namespace}\">"));
    }

    pub(crate) fn close(&mut self, tag: &str) {
        self.buffer.push_str("</");
        self.buffer.push_str(tag);
        self.buffer.push('>');
    }

    pub(crate) fn leaf(&mut self, tag: &str, text: &str) {
        self.open(tag);
        escape_into(&mut self.buffer, text);
        self.close(tag);
    }

    pub(crate) fn raw(&mut self, text: &str) {
        self.buffer.push_str(text);
    }

    pub(crate) fn finish(self) -> String {
        self.buffer
    }
}

fn escape_into(buffer: &mut String, text: &str) {
    for character in text.chars() {
        match character {
            '&' => buffer.push_str("&amp;"),
            '<' => buffer.push_str("&lt;"),
            '>' => buffer.push_str("&gt;"),
            '"' => buffer.push_str("&quot;"),
            '\'' => buffer.push_str("&apos;"),
            other => buffer.push(other),
        }
    }
}

/// Formats seconds since the Unix epoch as AWS's ISO 8601 (`2024-11-06T12:00:00Z`).
pub(crate) fn iso8601(epoch_seconds: f64) -> String {
    aws_smithy_types::DateTime::from_secs_f64(epoch_seconds.floor())
        .fmt(aws_smithy_types::date_time::Format::DateTime)
        .unwrap_or_else(|_| "1970-01-01T00:00:00Z".to_string())
}

/// Encodes a list offset as an opaque pagination token. Each token carries a fresh nonce, so an
/// empty page that makes no progress still returns a token different from the one it was given
/// (the SDK's paginators stop on a repeated token, as they should).
pub(crate) fn encode_token(prefix: &str, offset: usize) -> String {
    static NONCE: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
    let nonce = NONCE.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    format!("{prefix}{:x}n{nonce:x}", offset ^ 0x5a5a_5a5a)
}

/// Decodes a pagination token made by [`encode_token`].
pub(crate) fn decode_token(prefix: &str, token: &str) -> Option<usize> {
    let (hex, nonce) = token.strip_prefix(prefix)?.split_once('n')?;
    u64::from_str_radix(nonce, 16).ok()?;
    usize::from_str_radix(hex, 16)
        .ok()
        .map(|value| value ^ 0x5a5a_5a5a)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn xml_escapes_text() {
        let mut xml = Xml::fragment();
        xml.leaf("Message", "a<b & \"c\"");
        assert_eq!(
            xml.finish(),
            "<Message>a&lt;b &amp; &quot;c&quot;</Message>"
        );
    }

    #[test]
    fn tokens_round_trip_and_reject_garbage() {
        assert_eq!(decode_token("ab", &encode_token("ab", 40)), Some(40));
        assert_ne!(encode_token("ab", 40), encode_token("ab", 40));
        assert_eq!(decode_token("ab", "zz"), None);
        assert_eq!(decode_token("ab", "abzz"), None);
    }

    #[test]
    fn timestamps_are_iso8601() {
        assert_eq!(iso8601(1_600_000_000.4), "2020-09-13T12:26:40Z");
    }
}
