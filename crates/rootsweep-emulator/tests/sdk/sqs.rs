//! SQS: regional ListQueues, GetQueueUrl, queue policies read and removed by the owner's root
//! session, with SQS's query-compatible error codes.

use aws_sdk_sqs::types::QueueAttributeName;
use rootsweep_emulator::ScenarioSpec;

use crate::fixture::{Fixture, code};

fn spec() -> ScenarioSpec {
    ScenarioSpec {
        accounts: 200,
        queue_share: 0.8,
        locked_queue_share: 0.5,
        ..ScenarioSpec::default()
    }
}

#[tokio::test]
async fn queues_are_listed_per_region_and_their_policy_removed() {
    let fixture = Fixture::with_spec(spec()).await;
    let member = fixture.member(|account| account.queues.iter().any(|q| q.policy.is_some()));
    let queue = member
        .queues
        .iter()
        .find(|q| q.policy.is_some())
        .expect("queue");
    let sqs = fixture.sqs_session(&member.id, &queue.region).await;

    let listed = sqs.list_queues().send().await.expect("lists");
    let in_region = member
        .queues
        .iter()
        .filter(|q| q.region == queue.region)
        .count();
    assert_eq!(listed.queue_urls().len(), in_region);
    let paged = sqs
        .list_queues()
        .max_results(1)
        .send()
        .await
        .expect("lists");
    assert_eq!(paged.queue_urls().len(), 1);
    assert_eq!(paged.next_token().is_some(), in_region > 1);

    let url = sqs
        .get_queue_url()
        .queue_name(&queue.name)
        .send()
        .await
        .expect("url");
    let url = url.queue_url().expect("url").to_string();
    assert_eq!(url, fixture.emulator.queue_url(&member.id, &queue.name));

    let attributes = sqs
        .get_queue_attributes()
        .queue_url(&url)
        .attribute_names(QueueAttributeName::Policy)
        .send()
        .await
        .expect("reads");
    assert_eq!(
        attributes
            .attributes()
            .and_then(|a| a.get(&QueueAttributeName::Policy))
            .map(String::as_str),
        queue.policy.as_deref()
    );
    sqs.set_queue_attributes()
        .queue_url(&url)
        .attributes(QueueAttributeName::Policy, "")
        .send()
        .await
        .expect("removes");
    let attributes = sqs
        .get_queue_attributes()
        .queue_url(&url)
        .attribute_names(QueueAttributeName::Policy)
        .send()
        .await
        .expect("reads");
    assert!(
        attributes
            .attributes()
            .is_none_or(|a| !a.contains_key(&QueueAttributeName::Policy))
    );
    let state = fixture.emulator.account(&member.id).expect("account");
    assert!(
        state
            .queues
            .iter()
            .find(|q| q.name == queue.name && q.region == queue.region)
            .expect("queue")
            .policy
            .is_none()
    );
}

#[tokio::test]
async fn missing_and_foreign_queues_give_sqs_errors() {
    let fixture = Fixture::with_spec(spec()).await;
    let member = fixture.member(|account| !account.queues.is_empty());
    let queue = &member.queues[0];
    let sqs = fixture.sqs_session(&member.id, &queue.region).await;
    let error = sqs
        .get_queue_url()
        .queue_name("no-such-queue")
        .send()
        .await
        .expect_err("missing");
    assert_eq!(
        code(&error).as_deref(),
        Some("AWS.SimpleQueueService.NonExistentQueue")
    );
    assert!(
        error
            .as_service_error()
            .is_some_and(|e| e.is_queue_does_not_exist())
    );

    let other = fixture.member(|account| account.id != member.id);
    let foreign = fixture.sqs_session(&other.id, &queue.region).await;
    let url = fixture.emulator.queue_url(&member.id, &queue.name);
    let error = foreign
        .set_queue_attributes()
        .queue_url(&url)
        .attributes(QueueAttributeName::Policy, "")
        .send()
        .await
        .expect_err("not own queue");
    assert_eq!(code(&error).as_deref(), Some("AccessDenied"));
    assert_eq!(fixture.emulator.stats().mutations.len(), 0);
}
