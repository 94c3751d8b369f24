//! S3: ListBuckets with regions, bucket policies read, replaced and deleted by the owner's root
//! session, region enforcement and error codes.

use rootsweep_emulator::ScenarioSpec;

use crate::fixture::{Fixture, code};

fn spec() -> ScenarioSpec {
    ScenarioSpec {
        accounts: 200,
        bucket_share: 0.8,
        locked_bucket_share: 0.5,
        ..ScenarioSpec::default()
    }
}

#[tokio::test]
async fn list_buckets_returns_regions_only_when_a_parameter_is_sent() {
    let fixture = Fixture::with_spec(spec()).await;
    let member = fixture.member(|account| account.buckets.len() >= 2);
    let s3 = fixture.s3_session(&member.id, "us-east-1").await;
    let plain = s3.list_buckets().send().await.expect("lists");
    assert_eq!(plain.buckets().len(), member.buckets.len());
    assert!(
        plain
            .buckets()
            .iter()
            .all(|bucket| bucket.bucket_region().is_none())
    );
    let with_regions = s3
        .list_buckets()
        .max_buckets(1)
        .send()
        .await
        .expect("lists");
    assert_eq!(with_regions.buckets().len(), 1);
    assert!(with_regions.continuation_token().is_some());
    let all: Vec<_> = s3
        .list_buckets()
        .max_buckets(1)
        .into_paginator()
        .send()
        .try_collect()
        .await
        .expect("paginates");
    let regions: Vec<_> = all
        .iter()
        .flat_map(|page| page.buckets())
        .map(|bucket| bucket.bucket_region().expect("region").to_string())
        .collect();
    assert_eq!(regions.len(), member.buckets.len());
}

#[tokio::test]
async fn the_owner_root_reads_replaces_and_deletes_a_bucket_policy() {
    let fixture = Fixture::with_spec(spec()).await;
    let member = fixture.member(|account| account.buckets.iter().any(|b| b.policy.is_some()));
    let bucket = member
        .buckets
        .iter()
        .find(|b| b.policy.is_some())
        .expect("bucket");
    let s3 = fixture.s3_session(&member.id, &bucket.region).await;
    let policy = s3
        .get_bucket_policy()
        .bucket(&bucket.name)
        .send()
        .await
        .expect("reads");
    assert_eq!(policy.policy(), bucket.policy.as_deref());

    let replacement = rootsweep_emulator::ordinary_bucket_policy(&bucket.name);
    s3.put_bucket_policy()
        .bucket(&bucket.name)
        .policy(&replacement)
        .send()
        .await
        .expect("replaces");
    s3.delete_bucket_policy()
        .bucket(&bucket.name)
        .send()
        .await
        .expect("deletes");
    let error = s3
        .get_bucket_policy()
        .bucket(&bucket.name)
        .send()
        .await
        .expect_err("gone");
    assert_eq!(code(&error).as_deref(), Some("NoSuchBucketPolicy"));
    assert_eq!(error.raw_response().map(|r| r.status().as_u16()), Some(404));
    // Deleting again succeeds (S3 answers 204 either way).
    s3.delete_bucket_policy()
        .bucket(&bucket.name)
        .send()
        .await
        .expect("idempotent");
    let state = fixture.emulator.account(&member.id).expect("account");
    assert!(
        state
            .buckets
            .iter()
            .find(|b| b.name == bucket.name)
            .expect("bucket")
            .policy
            .is_none()
    );
}

#[tokio::test]
async fn requests_must_be_signed_for_the_bucket_region_by_its_owner() {
    let fixture = Fixture::with_spec(spec()).await;
    let member = fixture.member(|account| account.buckets.iter().any(|b| b.region != "us-east-1"));
    let bucket = member
        .buckets
        .iter()
        .find(|b| b.region != "us-east-1")
        .expect("bucket");
    let wrong_region = fixture.s3_session(&member.id, "us-east-1").await;
    let error = wrong_region
        .get_bucket_policy()
        .bucket(&bucket.name)
        .send()
        .await
        .expect_err("wrong region");
    assert_eq!(
        code(&error).as_deref(),
        Some("AuthorizationHeaderMalformed")
    );

    let other = fixture.member(|account| account.id != member.id);
    let stranger = fixture.s3_session(&other.id, &bucket.region).await;
    let error = stranger
        .delete_bucket_policy()
        .bucket(&bucket.name)
        .send()
        .await
        .expect_err("not the owner");
    assert_eq!(code(&error).as_deref(), Some("MethodNotAllowed"));
    let error = stranger
        .get_bucket_policy()
        .bucket("no-such-bucket-anywhere")
        .send()
        .await
        .expect_err("missing");
    assert_eq!(code(&error).as_deref(), Some("NoSuchBucket"));
    assert_eq!(fixture.emulator.stats().mutations.len(), 0);
}

#[tokio::test]
async fn other_task_policies_cannot_touch_buckets() {
    let fixture = Fixture::with_spec(spec()).await;
    let member = fixture.member(|account| !account.buckets.is_empty());
    let config = fixture
        .session_config(&member.id, "IAMAuditRootUserCredentials")
        .await;
    let s3 = aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(&config)
            .force_path_style(true)
            .build(),
    );
    let error = s3.list_buckets().send().await.expect_err("denied");
    assert_eq!(code(&error).as_deref(), Some("AccessDenied"));
}
