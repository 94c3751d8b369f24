//! The admin endpoint: counters, account state, load changes, the clock and reset, over plain
//! HTTP (no signature), as the emulator binary exposes them.

use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::fixture::Fixture;

/// A minimal HTTP/1.1 client: one request per connection.
async fn request(fixture: &Fixture, method: &str, path: &str, body: &str) -> (u16, Value) {
    let mut stream = tokio::net::TcpStream::connect(fixture.emulator.address())
        .await
        .expect("connects");
    let text = format!(
        "{method} {path} HTTP/1.1\r\nHost: emulator\r\nConnection: close\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(text.as_bytes()).await.expect("writes");
    let mut response = String::new();
    stream.read_to_string(&mut response).await.expect("reads");
    let status = response[9..12].parse().expect("status");
    let payload = response
        .split_once("\r\n\r\n")
        .map(|(_, body)| body)
        .unwrap_or("");
    (status, serde_json::from_str(payload).unwrap_or(Value::Null))
}

#[tokio::test]
async fn stats_and_account_state_are_readable_and_reset_restores_everything() {
    let fixture = Fixture::new().await;
    let member = fixture.member(|account| account.root.login_profile.is_some());
    let iam = fixture
        .iam_session(&member.id, "IAMDeleteRootUserCredentials")
        .await;
    iam.delete_login_profile().send().await.expect("deletes");

    let (status, stats) = request(&fixture, "GET", "/_emulator/stats", "").await;
    assert_eq!(status, 200);
    assert_eq!(stats["operations"]["sts:AssumeRoot"]["calls"], 1);
    assert_eq!(stats["operations"]["iam:DeleteLoginProfile"]["ok"], 1);
    assert_eq!(stats["mutating_requests_by_account"][&member.id], 1);
    assert_eq!(stats["mutations"][0]["operation"], "iam:DeleteLoginProfile");

    let (status, account) = request(
        &fixture,
        "GET",
        &format!("/_emulator/accounts/{}", member.id),
        "",
    )
    .await;
    assert_eq!(status, 200);
    assert!(account["root"]["login_profile"].is_null());
    let (status, _) = request(&fixture, "GET", "/_emulator/accounts/000000000000", "").await;
    assert_eq!(status, 404);

    let (status, _) = request(&fixture, "POST", "/_emulator/reset", "").await;
    assert_eq!(status, 200);
    let (_, account) = request(
        &fixture,
        "GET",
        &format!("/_emulator/accounts/{}", member.id),
        "",
    )
    .await;
    assert!(!account["root"]["login_profile"].is_null());
    let (_, stats) = request(&fixture, "GET", "/_emulator/stats", "").await;
    assert_eq!(stats["requests"], 0);
    // Sessions issued before the reset are gone.
    let error = iam
        .list_access_keys()
        .send()
        .await
        .expect_err("session forgotten");
    assert_eq!(
        crate::fixture::code(&error).as_deref(),
        Some("InvalidClientTokenId")
    );
}

#[tokio::test]
async fn load_and_clock_are_adjustable_while_running() {
    let fixture = Fixture::new().await;
    let member = fixture.member(|_| true);
    let iam = fixture
        .iam_session(&member.id, "IAMAuditRootUserCredentials")
        .await;

    let profile = r#"{"faults":[{"kind":"throttle","rate":1.0,"services":["iam"]}]}"#;
    let (status, _) = request(&fixture, "PUT", "/_emulator/load", profile).await;
    assert_eq!(status, 200);
    let error = iam
        .get_account_summary()
        .send()
        .await
        .expect_err("throttled");
    assert_eq!(crate::fixture::code(&error).as_deref(), Some("Throttling"));
    let (status, body) = request(&fixture, "PUT", "/_emulator/load", r#"{"faults": 3}"#).await;
    assert_eq!(status, 400);
    assert!(
        body["error"]
            .as_str()
            .is_some_and(|e| e.contains("invalid load profile"))
    );
    request(&fixture, "PUT", "/_emulator/load", "{}").await;
    iam.get_account_summary()
        .send()
        .await
        .expect("back to normal");

    let (status, _) = request(
        &fixture,
        "POST",
        "/_emulator/clock/advance?seconds=1000",
        "",
    )
    .await;
    assert_eq!(status, 200);
    let error = iam.get_account_summary().send().await.expect_err("expired");
    assert_eq!(
        crate::fixture::code(&error).as_deref(),
        Some("ExpiredToken")
    );
    let (status, _) = request(&fixture, "POST", "/_emulator/clock/advance?seconds=-5", "").await;
    assert_eq!(status, 400);
    let (status, _) = request(&fixture, "GET", "/_emulator/nothing", "").await;
    assert_eq!(status, 404);
}
