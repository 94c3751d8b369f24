//! Amazon SQS (JSON 1.0, query-compatible errors): `ListQueues`, `GetQueueUrl`,
//! `GetQueueAttributes`, `SetQueueAttributes` (aws-facts.md §4). Queues are regional: a request
//! signed for one region sees only that region's queues.
//!
//! Queue URLs point at the emulator itself (`http://127.0.0.1:PORT/ACCOUNT/NAME`), because
//! clients such as the AWS CLI send a queue's requests to the host in its URL. Like AWS, the
//! request must be signed for the queue's region; AWS-shaped URLs
//! (`https://sqs.REGION.amazonaws.com/ACCOUNT/NAME`) are accepted too.

use serde_json::{Value, json};

use crate::load::Service;
use crate::policy::authorize_root_session;
use crate::protocol::{ApiError, HttpResponse, decode_token, encode_token, respond};
use crate::services::Call;
use crate::world::World;

const NON_EXISTENT_QUEUE: &str = "AWS.SimpleQueueService.NonExistentQueue";

/// The URL the emulator at `endpoint` gives a queue.
pub(crate) fn queue_url(endpoint: &str, account_id: &str, name: &str) -> String {
    format!("{}/{account_id}/{name}", endpoint.trim_end_matches('/'))
}

/// Splits a queue URL into (region, account, name); emulator URLs carry no region, so the
/// request's signing region stands in.
fn parse_queue_url(url: &str, signing_region: &str) -> Option<(String, String, String)> {
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"))?;
    let (host, path) = rest.split_once('/')?;
    let region = host
        .strip_prefix("sqs.")
        .and_then(|host| host.strip_suffix(".amazonaws.com"))
        .unwrap_or(signing_region);
    let (account, name) = path.trim_end_matches('/').split_once('/')?;
    if name.is_empty() || name.contains('/') {
        return None;
    }
    Some((region.to_string(), account.to_string(), name.to_string()))
}

fn no_such_queue() -> ApiError {
    ApiError::new(
        400,
        NON_EXISTENT_QUEUE,
        "The specified queue does not exist.",
    )
}

fn invalid(message: &str) -> ApiError {
    ApiError::new(400, "InvalidParameterValue", message)
}

pub(crate) fn handle(
    world: &mut World,
    call: &Call<'_>,
    input: &Value,
) -> Result<HttpResponse, ApiError> {
    let account_id = call.caller.account_id().to_string();
    let region = call.region.to_string();
    let output = match call.operation {
        "ListQueues" => {
            authorize_root_session(
                world,
                call.caller,
                Service::Sqs,
                "sqs:ListQueues",
                "*",
                false,
            )?;
            let prefix = input
                .get("QueueNamePrefix")
                .and_then(Value::as_str)
                .unwrap_or("");
            let urls: Vec<String> = world
                .account(&account_id)
                .map(|account| {
                    account
                        .queues
                        .iter()
                        .filter(|queue| queue.region == region && queue.name.starts_with(prefix))
                        .map(|queue| queue_url(call.endpoint, &account_id, &queue.name))
                        .collect()
                })
                .unwrap_or_default();
            // Without MaxResults SQS returns up to 1000 and never a NextToken.
            match input.get("MaxResults") {
                None | Some(Value::Null) => {
                    let urls: Vec<&String> = urls.iter().take(1000).collect();
                    if urls.is_empty() {
                        json!({})
                    } else {
                        json!({ "QueueUrls": urls })
                    }
                }
                Some(value) => {
                    let max = value
                        .as_u64()
                        .and_then(|n| usize::try_from(n).ok())
                        .filter(|n| (1..=1000).contains(n))
                        .ok_or_else(|| invalid("MaxResults must be between 1 and 1000."))?;
                    let start = match input.get("NextToken").and_then(Value::as_str) {
                        None => 0,
                        Some(token) => decode_token("sqs", token)
                            .filter(|offset| *offset <= urls.len())
                            .ok_or_else(|| invalid("Invalid NextToken."))?,
                    };
                    let end = (start + max).min(urls.len());
                    let mut output = json!({ "QueueUrls": urls[start..end] });
                    if end < urls.len() {
                        output["NextToken"] = json!(encode_token("sqs", end));
                    }
                    output
                }
            }
        }
        "GetQueueUrl" => {
            let name = input
                .get("QueueName")
                .and_then(Value::as_str)
                .ok_or_else(|| invalid("QueueName is required."))?;
            let owner = input
                .get("QueueOwnerAWSAccountId")
                .and_then(Value::as_str)
                .unwrap_or(&account_id)
                .to_string();
            let resource = format!("arn:aws:sqs:{region}:{owner}:{name}");
            authorize_root_session(
                world,
                call.caller,
                Service::Sqs,
                "sqs:GetQueueUrl",
                &resource,
                false,
            )?;
            let exists = world.account(&owner).is_some_and(|account| {
                account
                    .queues
                    .iter()
                    .any(|queue| queue.name == name && queue.region == region)
            });
            if !exists || owner != account_id {
                return Err(no_such_queue());
            }
            json!({ "QueueUrl": queue_url(call.endpoint, &owner, name) })
        }
        "GetQueueAttributes" | "SetQueueAttributes" => {
            let url = input
                .get("QueueUrl")
                .and_then(Value::as_str)
                .ok_or_else(|| invalid("QueueUrl is required."))?;
            let (queue_region, owner, name) =
                parse_queue_url(url, &region).ok_or_else(no_such_queue)?;
            let action = format!("sqs:{}", call.operation);
            let resource = format!("arn:aws:sqs:{queue_region}:{owner}:{name}");
            authorize_root_session(world, call.caller, Service::Sqs, &action, &resource, false)?;
            if call.caller.is_root_session() && owner != account_id {
                // SQSUnlockQueuePolicy only reaches the session account's own queues.
                return Err(ApiError::access_denied(
                    Service::Sqs,
                    format!(
                        "User: {} is not authorized to perform: {action} on resource: {resource} with an explicit deny in a session policy",
                        call.caller.arn()
                    ),
                ));
            }
            if queue_region != region {
                return Err(no_such_queue());
            }
            let queue = world
                .account_mut(&owner)
                .and_then(|account| {
                    account
                        .queues
                        .iter_mut()
                        .find(|queue| queue.name == name && queue.region == queue_region)
                })
                .ok_or_else(no_such_queue)?;
            if call.operation == "GetQueueAttributes" {
                let names: Vec<&str> = input
                    .get("AttributeNames")
                    .and_then(Value::as_array)
                    .map(|names| names.iter().filter_map(Value::as_str).collect())
                    .unwrap_or_default();
                let wants_policy = names.iter().any(|n| *n == "Policy" || *n == "All");
                let mut attributes = serde_json::Map::new();
                if wants_policy && let Some(policy) = &queue.policy {
                    attributes.insert("Policy".to_string(), json!(policy));
                }
                if names.contains(&"All") || names.contains(&"QueueArn") {
                    attributes.insert("QueueArn".to_string(), json!(resource));
                }
                if attributes.is_empty() {
                    json!({})
                } else {
                    json!({ "Attributes": attributes })
                }
            } else {
                let attributes = input
                    .get("Attributes")
                    .and_then(Value::as_object)
                    .ok_or_else(|| invalid("Attributes is required."))?;
                for (key, value) in attributes {
                    let value = value.as_str().unwrap_or("");
                    match key.as_str() {
                        "Policy" if value.is_empty() => queue.policy = None,
                        "Policy" => {
                            if serde_json::from_str::<Value>(value).is_err() {
                                return Err(ApiError::new(
                                    400,
                                    "InvalidAttributeValue",
                                    "Invalid value for the parameter Policy.",
                                ));
                            }
                            queue.policy = Some(value.to_string());
                        }
                        other => {
                            return Err(ApiError::new(
                                400,
                                "InvalidAttributeName",
                                format!("Unknown Attribute {other}."),
                            ));
                        }
                    }
                }
                world.record_mutation(&owner, "sqs:SetQueueAttributes", url);
                json!({})
            }
        }
        other => {
            return Err(ApiError::new(
                400,
                "UnsupportedOperation",
                format!("The operation {other} is not supported by the emulator."),
            ));
        }
    };
    Ok(respond(
        200,
        "application/x-amz-json-1.0",
        output.to_string(),
        call.request_id,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queue_urls_round_trip() {
        let url = queue_url("http://127.0.0.1:4566", "123456789012", "events");
        assert_eq!(url, "http://127.0.0.1:4566/123456789012/events");
        let parts = |account: &str, name: &str, region: &str| {
            Some((region.to_string(), account.to_string(), name.to_string()))
        };
        assert_eq!(
            parse_queue_url(&url, "eu-west-1"),
            parts("123456789012", "events", "eu-west-1")
        );
        assert_eq!(
            parse_queue_url(
                "https://sqs.ap-southeast-2.amazonaws.com/123456789012/q",
                "us-east-1"
            ),
            parts("123456789012", "q", "ap-southeast-2")
        );
        assert_eq!(parse_queue_url("https://example.com/x", "us-east-1"), None);
        assert_eq!(parse_queue_url("ftp://example.com/a/b", "us-east-1"), None);
    }
}
