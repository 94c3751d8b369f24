//! Amazon S3 (REST-XML, path-style): `ListBuckets`, `GetBucketPolicy`, `PutBucketPolicy`,
//! `DeleteBucketPolicy` (aws-facts.md §4).
//!
//! A request for a bucket must be signed for the bucket's region, as S3 demands; otherwise the
//! answer is `AuthorizationHeaderMalformed` naming the expected region. Only the bucket owner's
//! root may touch its policy (others get `MethodNotAllowed`, as the model documents).

use crate::load::Service;
use crate::policy::authorize_root_session;
use crate::protocol::{ApiError, HttpResponse, Xml, decode_token, encode_token, iso8601, respond};
use crate::services::{Call, QueryParams};
use crate::world::World;

/// A parsed S3 request line.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct S3Request {
    pub(crate) operation: &'static str,
    pub(crate) bucket: Option<String>,
}

/// Names the operation of a path-style request, or `None` if the emulator does not serve it.
pub(crate) fn operation(
    method: &http::Method,
    path: &str,
    query: &QueryParams,
) -> Option<S3Request> {
    let trimmed = path.trim_start_matches('/');
    let (bucket, key) = trimmed.split_once('/').unwrap_or((trimmed, ""));
    if bucket.is_empty() {
        return (method == http::Method::GET).then_some(S3Request {
            operation: "ListBuckets",
            bucket: None,
        });
    }
    if !key.is_empty() || !query.contains_key("policy") {
        return None;
    }
    let operation = match *method {
        http::Method::GET => "GetBucketPolicy",
        http::Method::PUT => "PutBucketPolicy",
        http::Method::DELETE => "DeleteBucketPolicy",
        _ => return None,
    };
    Some(S3Request {
        operation,
        bucket: Some(bucket.to_string()),
    })
}

pub(crate) fn handle(
    world: &mut World,
    call: &Call<'_>,
    request: &S3Request,
    query: &QueryParams,
    headers: &http::HeaderMap,
    body: &[u8],
) -> Result<HttpResponse, ApiError> {
    match &request.bucket {
        None => list_buckets(world, call, query),
        Some(bucket) => bucket_policy(world, call, request.operation, bucket, headers, body),
    }
}

fn list_buckets(
    world: &World,
    call: &Call<'_>,
    query: &QueryParams,
) -> Result<HttpResponse, ApiError> {
    authorize_root_session(
        world,
        call.caller,
        Service::S3,
        "s3:ListAllMyBuckets",
        "*",
        false,
    )?;
    let account_id = call.caller.account_id();
    let owned = world
        .account(account_id)
        .map(|account| account.buckets.clone())
        .unwrap_or_default();
    let prefix = query.get("prefix").cloned().unwrap_or_default();
    let region_filter = query.get("bucket-region").cloned();
    let mut buckets: Vec<_> = owned
        .into_iter()
        .filter(|bucket| bucket.name.starts_with(&prefix))
        .filter(|bucket| {
            region_filter
                .as_ref()
                .is_none_or(|region| *region == bucket.region)
        })
        .collect();
    buckets.sort_by(|a, b| a.name.cmp(&b.name));
    let max_buckets = match query.get("max-buckets") {
        None => 10_000,
        Some(text) => text
            .parse::<usize>()
            .ok()
            .filter(|n| (1..=10_000).contains(n))
            .ok_or_else(|| {
                ApiError::new(
                    400,
                    "InvalidArgument",
                    "max-buckets must be between 1 and 10000",
                )
            })?,
    };
    let start = match query.get("continuation-token") {
        None => 0,
        Some(token) => decode_token("s3", token)
            .filter(|offset| *offset <= buckets.len())
            .ok_or_else(|| {
                ApiError::new(
                    400,
                    "InvalidArgument",
                    "The continuation token provided is incorrect",
                )
            })?,
    };
    let end = (start + max_buckets).min(buckets.len());
    // BucketRegion is returned only when the request carries at least one valid parameter.
    let with_regions = [
        "max-buckets",
        "continuation-token",
        "prefix",
        "bucket-region",
    ]
    .iter()
    .any(|name| query.contains_key(*name));
    let mut xml = Xml::document();
    xml.open_with_namespace(
        "ListAllMyBucketsResult",
        "http://s3.amazonaws.com/doc/2006-03-01/",
    );
    xml.open("Owner");
    xml.leaf("ID", &format!("{account_id:0>64}"));
    xml.close("Owner");
    xml.open("Buckets");
    for bucket in &buckets[start..end] {
        xml.open("Bucket");
        xml.leaf("Name", &bucket.name);
        xml.leaf("CreationDate", &iso8601(bucket.created as f64));
        if with_regions {
            xml.leaf("BucketRegion", &bucket.region);
            xml.leaf("BucketArn", &format!("arn:aws:s3:::{}", bucket.name));
        }
        xml.close("Bucket");
    }
    xml.close("Buckets");
    if end < buckets.len() {
        xml.leaf("ContinuationToken", &encode_token("s3", end));
    }
    if !prefix.is_empty() {
        xml.leaf("Prefix", &prefix);
    }
    xml.close("ListAllMyBucketsResult");
    Ok(respond(
        200,
        "application/xml",
        xml.finish(),
        call.request_id,
    ))
}

fn bucket_policy(
    world: &mut World,
    call: &Call<'_>,
    operation: &'static str,
    bucket_name: &str,
    headers: &http::HeaderMap,
    body: &[u8],
) -> Result<HttpResponse, ApiError> {
    let action = format!("s3:{operation}");
    let resource = format!("arn:aws:s3:::{bucket_name}");
    authorize_root_session(world, call.caller, Service::S3, &action, &resource, false)?;
    let caller_account = call.caller.account_id().to_string();
    let region = call.region.to_string();
    let request_id = call.request_id;
    let Some((owner, bucket)) = world.bucket_mut(bucket_name) else {
        return Err(
            ApiError::new(404, "NoSuchBucket", "The specified bucket does not exist")
                .with("BucketName", bucket_name),
        );
    };
    if bucket.region != region {
        return Err(ApiError::new(
            400,
            "AuthorizationHeaderMalformed",
            format!(
                "The authorization header is malformed; the region '{region}' is wrong; expecting '{}'",
                bucket.region
            ),
        )
        .with("Region", bucket.region.clone()));
    }
    if let Some(expected) = headers.get("x-amz-expected-bucket-owner")
        && expected.as_bytes() != owner.as_bytes()
    {
        return Err(ApiError::new(403, "AccessDenied", "Access Denied"));
    }
    if owner != caller_account {
        return Err(ApiError::new(
            405,
            "MethodNotAllowed",
            "The specified method is not allowed against this resource.",
        )
        .with("Method", operation)
        .with("ResourceType", "BUCKETPOLICY"));
    }
    match operation {
        "GetBucketPolicy" => {
            let policy = bucket.policy.clone().ok_or_else(|| {
                ApiError::new(
                    404,
                    "NoSuchBucketPolicy",
                    "The bucket policy does not exist",
                )
                .with("BucketName", bucket_name)
            })?;
            // The policy document itself is the response body.
            Ok(respond(200, "application/json", policy, request_id))
        }
        "PutBucketPolicy" => {
            let text = std::str::from_utf8(body).unwrap_or("");
            if serde_json::from_str::<serde_json::Value>(text).is_err() {
                return Err(ApiError::new(
                    400,
                    "MalformedPolicy",
                    "Policies must be valid JSON and the first byte must be '{'",
                ));
            }
            bucket.policy = Some(text.to_string());
            world.record_mutation(&owner, "s3:PutBucketPolicy", bucket_name);
            Ok(respond(204, "application/xml", "", request_id))
        }
        _ => {
            // DeleteBucketPolicy succeeds (204) whether or not a policy exists, as S3 does.
            let had_policy = bucket.policy.take().is_some();
            if had_policy {
                world.record_mutation(&owner, "s3:DeleteBucketPolicy", bucket_name);
            }
            Ok(respond(204, "application/xml", "", request_id))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn operations_are_recognized_from_the_request_line() {
        let policy: QueryParams = [("policy".to_string(), String::new())].into();
        let none = QueryParams::new();
        let op = |method, path, query| operation(&method, path, query).map(|r| r.operation);
        assert_eq!(op(http::Method::GET, "/", &none), Some("ListBuckets"));
        assert_eq!(
            op(http::Method::GET, "/b", &policy),
            Some("GetBucketPolicy")
        );
        assert_eq!(
            op(http::Method::DELETE, "/b/", &policy),
            Some("DeleteBucketPolicy")
        );
        assert_eq!(
            op(http::Method::PUT, "/b", &policy),
            Some("PutBucketPolicy")
        );
        assert_eq!(op(http::Method::GET, "/b", &none), None);
        assert_eq!(op(http::Method::GET, "/b/key", &policy), None);
    }
}
