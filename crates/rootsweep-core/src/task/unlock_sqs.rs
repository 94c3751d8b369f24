//! `unlock-sqs-queue-policy`: find the account's queues (SQS is regional: `ListQueues` in each
//! region asked for, or one queue by name or URL), read each `Policy` attribute, keep it whole
//! in the record, then remove it (`SetQueueAttributes` with `Policy` = ""): a named queue's
//! policy whatever it says, or in find mode every policy that denies every principal.

use aws_sdk_sqs::Client as SqsClient;
use aws_sdk_sqs::types::QueueAttributeName;

use crate::limits::ErrorClass;
use crate::outcome::{PolicyUnlock, UnlockDetails, UnlockResult};
use crate::session::{AccountContext, CallFailure, PageTokens};
use crate::task::policy_document::denies_everyone;
use crate::task::{PlannedPolicy, TaskReport, UnlockSqsOptions};

/// The region in an AWS queue URL (`https://sqs.eu-west-1.amazonaws.com/...`), if it has one.
fn region_of(url: &str) -> Option<&str> {
    url.split("://")
        .nth(1)?
        .split('/')
        .next()?
        .strip_prefix("sqs.")?
        .split('.')
        .next()
}

/// Whether a failure means the region cannot be used by this account (not enabled, opt-in).
fn region_unavailable(failure: &CallFailure) -> bool {
    failure.class() == ErrorClass::InvalidCredentials
        || matches!(
            failure.detail.code.as_deref(),
            Some("OptInRequired" | "InvalidClientTokenId" | "UnrecognizedClientException")
        )
}

async fn list_queues(
    context: &mut AccountContext,
    region: &str,
) -> Result<Vec<String>, CallFailure> {
    let mut urls = Vec::new();
    let mut tokens = PageTokens::default();
    let mut token: Option<String> = None;
    loop {
        let page = context
            .call::<SqsClient, _, _, _, _>(region, "sqs:ListQueues", |sqs| {
                let token = token.clone();
                // NextToken only comes back when MaxResults is set.
                async move {
                    sqs.list_queues()
                        .max_results(1_000)
                        .set_next_token(token)
                        .send()
                        .await
                }
            })
            .await?;
        urls.extend(page.queue_urls().iter().cloned());
        token = tokens.next("sqs:ListQueues", page.next_token())?;
        if token.is_none() {
            return Ok(urls);
        }
    }
}

pub(crate) async fn run(context: &mut AccountContext, options: &UnlockSqsOptions) -> TaskReport {
    let regions = if options.regions.is_empty() {
        vec![context.home_region()]
    } else {
        options.regions.clone()
    };
    let mut details = UnlockDetails::default();
    let mut candidates: Vec<(String, String)> = Vec::new();
    // With a plan: exactly the planned queues, each with the policy text it must still have.
    let planned: Option<Vec<PlannedPolicy>> = options
        .plan
        .as_ref()
        .map(|plan| plan.get(&context.account_id).cloned().unwrap_or_default());
    match (&planned, &options.queue) {
        (Some(planned), _) => {
            for entry in planned {
                let region = entry
                    .region
                    .clone()
                    .or_else(|| region_of(&entry.resource).map(str::to_string))
                    .unwrap_or_else(|| regions[0].clone());
                candidates.push((entry.resource.clone(), region));
            }
        }
        (None, Some(queue)) if queue.contains("://") => {
            let region = region_of(queue).map_or_else(|| regions[0].clone(), str::to_string);
            candidates.push((queue.clone(), region));
        }
        (None, Some(name)) => {
            for region in &regions {
                let found = context
                    .call::<SqsClient, _, _, _, _>(region, "sqs:GetQueueUrl", |sqs| {
                        let name = name.clone();
                        async move { sqs.get_queue_url().queue_name(name).send().await }
                    })
                    .await;
                match found {
                    Ok(output) => {
                        if let Some(url) = output.queue_url() {
                            candidates.push((url.to_string(), region.clone()));
                        }
                    }
                    Err(failure) if failure.class() == ErrorClass::NotFound => {}
                    Err(failure) if region_unavailable(&failure) => {
                        details.regions_unavailable.push(region.clone())
                    }
                    Err(failure) => {
                        return TaskReport::from_failure(
                            &failure,
                            Some(crate::outcome::Details::Unlock(details)),
                        );
                    }
                }
            }
            if candidates.is_empty() {
                details.resources.push(PolicyUnlock {
                    resource: name.clone(),
                    region: None,
                    previous_policy: None,
                    denies_everyone: false,
                    result: UnlockResult::NotFound,
                    error: None,
                });
            }
        }
        (None, None) => {
            for region in &regions {
                match list_queues(context, region).await {
                    Ok(urls) => {
                        candidates.extend(urls.into_iter().map(|url| (url, region.clone())))
                    }
                    Err(failure) if region_unavailable(&failure) => {
                        details.regions_unavailable.push(region.clone())
                    }
                    Err(failure) => {
                        return TaskReport::from_failure(
                            &failure,
                            Some(crate::outcome::Details::Unlock(details)),
                        );
                    }
                }
            }
        }
    }

    let mut first_failure = None;
    for (url, region) in candidates {
        let read = context
            .call::<SqsClient, _, _, _, _>(&region, "sqs:GetQueueAttributes", |sqs| {
                let url = url.clone();
                async move {
                    sqs.get_queue_attributes()
                        .queue_url(url)
                        .attribute_names(QueueAttributeName::Policy)
                        .send()
                        .await
                }
            })
            .await;
        let mut record = PolicyUnlock {
            resource: url.clone(),
            region: Some(region.clone()),
            previous_policy: None,
            denies_everyone: false,
            result: UnlockResult::NoPolicy,
            error: None,
        };
        let policy = match read {
            Ok(output) => output
                .attributes()
                .and_then(|attributes| attributes.get(&QueueAttributeName::Policy))
                .filter(|policy| !policy.is_empty())
                .cloned(),
            Err(failure) if failure.class() == ErrorClass::NotFound => {
                record.result = UnlockResult::NotFound;
                details.resources.push(record);
                continue;
            }
            Err(failure) => {
                super::record_failure(&mut record, failure, &mut first_failure);
                details.resources.push(record);
                continue;
            }
        };
        let Some(policy) = policy else {
            details.resources.push(record);
            continue;
        };
        record.denies_everyone = denies_everyone(&policy, "sqs");
        let planned_text = planned.as_ref().map(|planned| {
            planned
                .iter()
                .find(|entry| entry.resource == url)
                .map(|entry| entry.policy.clone())
        });
        let unchanged = planned_text
            .as_ref()
            .is_none_or(|expected| expected.as_deref() == Some(policy.as_str()));
        record.previous_policy = Some(policy);
        if !unchanged {
            record.result = UnlockResult::ChangedSincePlan;
            details.resources.push(record);
            continue;
        }
        if planned.is_none() && options.queue.is_none() && !record.denies_everyone {
            record.result = UnlockResult::LeftAlone;
            details.resources.push(record);
            continue;
        }
        if options.dry_run {
            record.result = UnlockResult::Planned;
            details.resources.push(record);
            continue;
        }
        let removed = context
            .call::<SqsClient, _, _, _, _>(&region, "sqs:SetQueueAttributes", |sqs| {
                let url = url.clone();
                async move {
                    sqs.set_queue_attributes()
                        .queue_url(url)
                        .attributes(QueueAttributeName::Policy, "")
                        .send()
                        .await
                }
            })
            .await;
        record.result = UnlockResult::Removed;
        if let Err(failure) = removed {
            super::record_failure(&mut record, failure, &mut first_failure);
        }
        details.resources.push(record);
    }
    super::unlock_report(details, first_failure, options.dry_run, "queue")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn regions_come_from_aws_queue_urls_only() {
        assert_eq!(
            region_of("https://sqs.eu-west-1.amazonaws.com/123456789012/q"),
            Some("eu-west-1")
        );
        assert_eq!(region_of("http://127.0.0.1:4566/123456789012/q"), None);
    }
}
