//! SigV4: parsing the `Authorization` header ([`SigV4Header`]), which names the service the
//! request is for (the emulator routes on it), and verifying the signature by signing the same
//! canonical request again with the caller's secret key.

use std::time::SystemTime;

use aws_credential_types::Credentials;
use aws_sigv4::http_request::{
    PercentEncodingMode, SignableBody, SignableRequest, SigningSettings, UriPathNormalizationMode,
    sign,
};
use aws_sigv4::sign::v4;

use crate::load::Service;

/// The parts of a SigV4 `Authorization` header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SigV4Header {
    pub(crate) access_key_id: String,
    pub(crate) date: String,
    pub(crate) region: String,
    pub(crate) service_name: String,
    pub(crate) signed_headers: Vec<String>,
    pub(crate) signature: String,
}

/// Parses `AWS4-HMAC-SHA256 Credential=AKID/20240101/us-east-1/iam/aws4_request,
/// SignedHeaders=host;x-amz-date, Signature=abcd`.
pub(crate) fn parse_authorization(value: &str) -> Option<SigV4Header> {
    let rest = value.strip_prefix("AWS4-HMAC-SHA256")?.trim();
    let mut credential = None;
    let mut signed_headers = None;
    let mut signature = None;
    for part in rest.split(',') {
        let (key, value) = part.trim().split_once('=')?;
        match key {
            "Credential" => credential = Some(value),
            "SignedHeaders" => signed_headers = Some(value),
            "Signature" => signature = Some(value),
            _ => {}
        }
    }
    let mut scope = credential?.split('/');
    let access_key_id = scope.next()?.to_string();
    let date = scope.next()?.to_string();
    let region = scope.next()?.to_string();
    let service_name = scope.next()?.to_string();
    if scope.next()? != "aws4_request" {
        return None;
    }
    Some(SigV4Header {
        access_key_id,
        date,
        region,
        service_name,
        signed_headers: signed_headers?.split(';').map(str::to_string).collect(),
        signature: signature?.to_string(),
    })
}

/// True for names shaped like AWS regions (`us-east-1`, `us-gov-west-1`, `cn-north-1`);
/// `aws-global` and the like are not regions and cannot scope a credential.
pub(crate) fn is_valid_region(region: &str) -> bool {
    let parts: Vec<&str> = region.split('-').collect();
    parts.len() >= 3
        && parts[0].len() == 2
        && parts[0].bytes().all(|b| b.is_ascii_lowercase())
        && parts[parts.len() - 1].bytes().all(|b| b.is_ascii_digit())
        && parts[1..parts.len() - 1]
            .iter()
            .all(|part| !part.is_empty() && part.bytes().all(|b| b.is_ascii_lowercase()))
}

/// Parses `x-amz-date` (`20240101T120000Z`).
fn parse_amz_date(value: &str) -> Option<SystemTime> {
    if value.len() != 16 {
        return None;
    }
    let iso = format!(
        "{}-{}-{}T{}:{}:{}Z",
        &value[0..4],
        &value[4..6],
        &value[6..8],
        &value[9..11],
        &value[11..13],
        &value[13..15]
    );
    let date =
        aws_smithy_types::DateTime::from_str(&iso, aws_smithy_types::date_time::Format::DateTime)
            .ok()?;
    SystemTime::try_from(date).ok()
}

/// Recomputes the request's signature with `secret_access_key` and compares it.
pub(crate) fn signature_matches(
    header: &SigV4Header,
    secret_access_key: &str,
    service: Service,
    request: &http::request::Parts,
    body: &[u8],
) -> bool {
    let Some(amz_date) = request
        .headers
        .get("x-amz-date")
        .and_then(|value| value.to_str().ok())
        .and_then(parse_amz_date)
    else {
        return false;
    };
    let mut settings = SigningSettings::default();
    // Sign exactly the headers the client signed: nothing is excluded by default rules.
    settings.excluded_headers = Some(Vec::new());
    if service == Service::S3 {
        settings.percent_encoding_mode = PercentEncodingMode::Single;
        settings.uri_path_normalization_mode = UriPathNormalizationMode::Disabled;
    }
    // The session token, when present, is among the signed headers already; the identity is
    // built without it so that the signer does not add it a second time.
    let identity = Credentials::new(
        &header.access_key_id,
        secret_access_key,
        None,
        None,
        "emulator",
    )
    .into();
    let Ok(params) = v4::SigningParams::builder()
        .identity(&identity)
        .region(&header.region)
        .name(&header.service_name)
        .time(amz_date)
        .settings(settings)
        .build()
    else {
        return false;
    };
    let params = params.into();
    let headers: Vec<(&str, &str)> = header
        .signed_headers
        .iter()
        .filter_map(|name| {
            request
                .headers
                .get(name.as_str())
                .and_then(|value| value.to_str().ok())
                .map(|value| (name.as_str(), value))
        })
        .collect();
    if headers.len() != header.signed_headers.len() {
        return false;
    }
    let content_sha256 = request
        .headers
        .get("x-amz-content-sha256")
        .and_then(|value| value.to_str().ok());
    let signable_body = match (service, content_sha256) {
        (Service::S3, Some(hash)) => SignableBody::Precomputed(hash.to_string()),
        _ => SignableBody::Bytes(body),
    };
    let uri = format!(
        "http://emulator{}",
        request.uri.path_and_query().map_or("/", |pq| pq.as_str())
    );
    let Ok(signable) = SignableRequest::new(
        request.method.as_str(),
        uri,
        headers.into_iter(),
        signable_body,
    ) else {
        return false;
    };
    match sign(signable, &params) {
        Ok(output) => output.signature() == header.signature,
        Err(_) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn authorization_header_parses() {
        let header = parse_authorization(
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20240101/us-east-1/iam/aws4_request, SignedHeaders=host;x-amz-date, Signature=abc123",
        )
        .expect("parses");
        assert_eq!(header.access_key_id, "AKIDEXAMPLE");
        assert_eq!(header.region, "us-east-1");
        assert_eq!(header.service_name, "iam");
        assert_eq!(header.signed_headers, vec!["host", "x-amz-date"]);
        assert_eq!(header.signature, "abc123");
        assert!(parse_authorization("Bearer x").is_none());
        assert!(parse_authorization("AWS4-HMAC-SHA256 Credential=A/B/C").is_none());
    }

    #[test]
    fn regions_are_recognized() {
        for region in [
            "us-east-1",
            "eu-west-1",
            "us-gov-west-1",
            "ap-southeast-2",
            "cn-north-1",
        ] {
            assert!(is_valid_region(region), "{region}");
        }
        for region in ["aws-global", "global", "", "us-east", "US-EAST-1"] {
            assert!(!is_valid_region(region), "{region}");
        }
    }

    #[test]
    fn amz_dates_parse() {
        let time = parse_amz_date("20200913T122640Z").expect("parses");
        assert_eq!(
            time.duration_since(SystemTime::UNIX_EPOCH)
                .expect("after epoch")
                .as_secs(),
            1_600_000_000
        );
        assert!(parse_amz_date("2020-09-13").is_none());
    }
}
