//! The HTTP front: [`Emulator`] binds 127.0.0.1, and every request goes through one pipeline:
//! parse the SigV4 credential scope (which names the service), resolve and verify the caller,
//! ask the [`LoadShaper`] for faults, quotas and latency, apply the operation to the
//! [`World`], and render the answer in the service's protocol. Paths under `/_emulator/` are
//! the admin endpoint and need no signature.

use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use http_body_util::BodyExt;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use serde_json::{Value, json};
use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::auth::{is_valid_region, parse_authorization, signature_matches};
use crate::config::{EmulatorConfig, Fidelity};
use crate::load::{LoadProfile, LoadShaper, Service, Verdict, lock};
use crate::protocol::{ApiError, HttpResponse, respond};
use crate::scenario::{AccountSpec, Scenario};
use crate::services::{self, Call, QueryParams, is_mutating};
use crate::world::{CredentialProblem, Stats, World};

/// Everything the request handlers share.
struct Shared {
    /// `http://127.0.0.1:PORT`.
    endpoint: String,
    world: Mutex<World>,
    initial_scenario: Scenario,
    shaper: LoadShaper,
    fidelity: Mutex<Fidelity>,
    /// Seconds added to the wall clock (the admin endpoint moves time forward to expire sessions).
    clock_offset_seconds: AtomicI64,
    request_counter: AtomicU64,
}

impl Shared {
    fn now(&self) -> f64 {
        let wall = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .map_or(0.0, |duration| duration.as_secs_f64());
        wall + self.clock_offset_seconds.load(Ordering::Relaxed) as f64
    }

    fn next_request_id(&self) -> String {
        let n = self.request_counter.fetch_add(1, Ordering::Relaxed);
        format!("e{n:07x}-0000-4000-8000-{n:012x}")
    }
}

/// Why the emulator could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The scenario is not usable.
    #[error(transparent)]
    Scenario(#[from] crate::scenario::ScenarioError),
    /// The listening socket could not be bound.
    #[error("failed to listen on {address}")]
    Bind {
        /// The address asked for.
        address: SocketAddr,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
}

/// A running emulator. Dropping it stops the server.
pub struct Emulator {
    address: SocketAddr,
    shared: Arc<Shared>,
    shutdown: watch::Sender<bool>,
}

impl std::fmt::Debug for Emulator {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("Emulator")
            .field("address", &self.address)
            .finish_non_exhaustive()
    }
}

impl Emulator {
    /// Starts an emulator on `127.0.0.1:0` (an ephemeral port), on the current Tokio runtime.
    pub async fn start(config: EmulatorConfig) -> Result<Self, StartError> {
        Self::start_on(config, SocketAddr::from(([127, 0, 0, 1], 0))).await
    }

    /// Starts an emulator on `address`. Only loopback addresses make sense: the emulator has no
    /// real authentication beyond the scenario's keys.
    pub async fn start_on(config: EmulatorConfig, address: SocketAddr) -> Result<Self, StartError> {
        config.scenario.validate()?;
        let listener = TcpListener::bind(address)
            .await
            .map_err(|source| StartError::Bind { address, source })?;
        let address = listener
            .local_addr()
            .map_err(|source| StartError::Bind { address, source })?;
        let shared = Arc::new(Shared {
            endpoint: format!("http://{address}"),
            world: Mutex::new(World::new(config.scenario.clone())),
            initial_scenario: config.scenario,
            shaper: LoadShaper::new(config.load),
            fidelity: Mutex::new(config.fidelity),
            clock_offset_seconds: AtomicI64::new(0),
            request_counter: AtomicU64::new(1),
        });
        let (shutdown, mut stopped) = watch::channel(false);
        let server_shared = Arc::clone(&shared);
        tokio::spawn(async move {
            loop {
                tokio::select! {
                    accepted = listener.accept() => {
                        let Ok((stream, _)) = accepted else { continue };
                        let _ = stream.set_nodelay(true);
                        lock(&server_shared.world).stats.connections += 1;
                        let shared = Arc::clone(&server_shared);
                        let mut connection_stopped = stopped.clone();
                        tokio::spawn(async move {
                            let service = service_fn(move |request| {
                                let shared = Arc::clone(&shared);
                                async move { handle(shared, request).await }
                            });
                            let connection = http1::Builder::new()
                                .keep_alive(true)
                                .serve_connection(TokioIo::new(stream), service);
                            tokio::select! {
                                _ = connection => {}
                                _ = connection_stopped.changed() => {}
                            }
                        });
                    }
                    _ = stopped.changed() => break,
                }
            }
        });
        Ok(Self {
            address,
            shared,
            shutdown,
        })
    }

    /// The address the emulator listens on.
    pub fn address(&self) -> SocketAddr {
        self.address
    }

    /// The endpoint URL to give the AWS SDK or CLI (`http://127.0.0.1:PORT`).
    pub fn endpoint_url(&self) -> String {
        self.shared.endpoint.clone()
    }

    /// The URL this emulator gives a queue.
    pub fn queue_url(&self, account_id: &str, name: &str) -> String {
        crate::services::sqs::queue_url(&self.shared.endpoint, account_id, name)
    }

    /// A copy of the counters.
    pub fn stats(&self) -> Stats {
        lock(&self.shared.world).stats.clone()
    }

    /// A copy of one account's current state (root credentials, buckets, queues).
    pub fn account(&self, account_id: &str) -> Option<AccountSpec> {
        lock(&self.shared.world).account(account_id).cloned()
    }

    /// A copy of the whole current state.
    pub fn scenario(&self) -> Scenario {
        lock(&self.shared.world).scenario.clone()
    }

    /// Changes the state while running (for tests: add a credential, suspend an account, ...).
    pub fn modify_scenario(
        &self,
        change: impl FnOnce(&mut Scenario),
    ) -> Result<(), crate::scenario::ScenarioError> {
        let mut world = lock(&self.shared.world);
        let mut scenario = world.scenario.clone();
        change(&mut scenario);
        scenario.validate()?;
        let stats = std::mem::take(&mut world.stats);
        let sessions = std::mem::take(&mut world.sessions);
        let secrets = std::mem::take(&mut world.issued_secrets);
        *world = World::new(scenario);
        world.stats = stats;
        world.sessions = sessions;
        world.issued_secrets = secrets;
        Ok(())
    }

    /// Every secret access key and session token the emulator has issued.
    pub fn issued_secrets(&self) -> Vec<String> {
        lock(&self.shared.world).issued_secrets.clone()
    }

    /// Replaces the load profile (quotas restart full).
    pub fn set_load(&self, load: LoadProfile) {
        self.shared.shaper.set_profile(load);
    }

    /// Replaces the fidelity switches.
    pub fn set_fidelity(&self, fidelity: Fidelity) {
        *lock(&self.shared.fidelity) = fidelity;
    }

    /// Moves the emulator's clock forward (sessions issued before expire as time passes).
    pub fn advance_clock(&self, by: Duration) {
        let seconds = i64::try_from(by.as_secs()).unwrap_or(i64::MAX);
        self.shared
            .clock_offset_seconds
            .fetch_add(seconds, Ordering::Relaxed);
    }

    /// Back to the starting scenario: state, sessions, counters, buckets and clock.
    pub fn reset(&self) {
        reset(&self.shared);
    }

    /// Stops the server. Connections in progress are closed.
    pub fn stop(&self) {
        let _ = self.shutdown.send(true);
    }
}

impl Drop for Emulator {
    fn drop(&mut self) {
        self.stop();
    }
}

fn reset(shared: &Shared) {
    *lock(&shared.world) = World::new(shared.initial_scenario.clone());
    shared.shaper.reset();
    shared.clock_offset_seconds.store(0, Ordering::Relaxed);
}

/// Returned by the service function to make hyper close the connection without an answer.
#[derive(Debug)]
struct DropConnection;

impl std::fmt::Display for DropConnection {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str("connection dropped by fault injection")
    }
}

impl std::error::Error for DropConnection {}

async fn handle(
    shared: Arc<Shared>,
    request: http::Request<Incoming>,
) -> Result<HttpResponse, DropConnection> {
    let (parts, body) = request.into_parts();
    let body = match body.collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(_) => return Err(DropConnection),
    };
    if parts.uri.path().starts_with("/_emulator/") {
        return Ok(admin(&shared, &parts, &body));
    }
    serve_aws(&shared, &parts, &body).await
}

/// The operation a request names, and its protocol input.
enum Input {
    Query(QueryParams),
    Json(Value),
    S3(services::s3::S3Request, QueryParams),
}

fn parse_query(text: &str) -> QueryParams {
    form_urlencoded::parse(text.as_bytes())
        .into_owned()
        .collect()
}

/// Guesses the service of an unsigned request so the error comes back in its protocol.
fn guess_service(parts: &http::request::Parts) -> Service {
    let target = parts
        .headers
        .get("x-amz-target")
        .and_then(|value| value.to_str().ok())
        .unwrap_or("");
    if target.starts_with("AWSOrganizations") {
        Service::Organizations
    } else if target.starts_with("AmazonSQS") {
        Service::Sqs
    } else if parts.method == http::Method::POST && parts.uri.path() == "/" {
        Service::Iam
    } else {
        Service::S3
    }
}

fn parse_input(
    service: Service,
    parts: &http::request::Parts,
    body: &Bytes,
) -> Result<(String, Input), ApiError> {
    let url_query = parse_query(parts.uri.query().unwrap_or(""));
    match service {
        Service::Sts | Service::Iam => {
            let mut params = url_query;
            params.extend(parse_query(std::str::from_utf8(body).unwrap_or("")));
            let action = params.get("Action").cloned().ok_or_else(|| {
                ApiError::new(
                    400,
                    "MissingAction",
                    "Could not find Action in the request.",
                )
            })?;
            Ok((action, Input::Query(params)))
        }
        Service::Organizations | Service::Sqs => {
            let prefix = if service == Service::Sqs {
                "AmazonSQS."
            } else {
                "AWSOrganizationsV20161128."
            };
            let operation = parts
                .headers
                .get("x-amz-target")
                .and_then(|value| value.to_str().ok())
                .and_then(|target| target.strip_prefix(prefix))
                .map(str::to_string)
                .ok_or_else(|| {
                    ApiError::new(
                        400,
                        "UnknownOperationException",
                        "Missing or unknown X-Amz-Target.",
                    )
                })?;
            let input = if body.is_empty() {
                json!({})
            } else {
                serde_json::from_slice(body).map_err(|error| {
                    ApiError::new(
                        400,
                        "SerializationException",
                        format!("Malformed JSON request body: {error}"),
                    )
                })?
            };
            Ok((operation, Input::Json(input)))
        }
        Service::S3 => {
            let request = services::s3::operation(&parts.method, parts.uri.path(), &url_query).ok_or_else(|| {
                ApiError::new(501, "NotImplemented", "A header or operation you provided implies functionality that is not implemented.")
            })?;
            Ok((request.operation.to_string(), Input::S3(request, url_query)))
        }
    }
}

/// The account a request is charged to for randomness and quotas: the target of an AssumeRoot,
/// otherwise the account the caller acts in.
fn quota_family(service: Service, operation: &str) -> &'static str {
    match (service, operation) {
        (Service::Sts, "AssumeRoot") => "assume_root",
        (Service::Sts, _) => "sts_other",
        (Service::Iam, _) => "iam",
        (Service::S3, _) => "s3",
        (Service::Sqs, _) => "sqs",
        (Service::Organizations, _) => "organizations",
    }
}

/// A request waiting out its injected latency, counted in its account's in-flight requests
/// (and mutating ones, if it is one) until dropped (also when the client goes away mid-wait).
struct InFlight<'a> {
    shared: &'a Shared,
    account_id: String,
    mutating: bool,
}

impl<'a> InFlight<'a> {
    fn enter(shared: &'a Shared, account_id: &str, mutating: bool) -> Self {
        let mut world = lock(&shared.world);
        let stats = &mut world.stats;
        let count = |current: &mut BTreeMap<String, u64>, peak: &mut BTreeMap<String, u64>| {
            let current = current.entry(account_id.to_string()).or_default();
            *current += 1;
            let peak = peak.entry(account_id.to_string()).or_default();
            *peak = (*peak).max(*current);
        };
        count(
            &mut stats.in_flight_by_account,
            &mut stats.peak_in_flight_by_account,
        );
        if mutating {
            count(
                &mut stats.mutating_in_flight_by_account,
                &mut stats.peak_mutating_in_flight_by_account,
            );
        }
        Self {
            shared,
            account_id: account_id.to_string(),
            mutating,
        }
    }
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        let mut world = lock(&self.shared.world);
        let stats = &mut world.stats;
        let leave = |current: &mut BTreeMap<String, u64>| {
            if let Some(current) = current.get_mut(&self.account_id) {
                *current = current.saturating_sub(1);
            }
        };
        leave(&mut stats.in_flight_by_account);
        if self.mutating {
            leave(&mut stats.mutating_in_flight_by_account);
        }
    }
}

async fn serve_aws(
    shared: &Shared,
    parts: &http::request::Parts,
    body: &Bytes,
) -> Result<HttpResponse, DropConnection> {
    let request_id = shared.next_request_id();
    let authorization = parts
        .headers
        .get("authorization")
        .and_then(|value| value.to_str().ok())
        .and_then(parse_authorization);
    let Some(signature) = authorization else {
        let service = guess_service(parts);
        let error = ApiError::new(
            if service == Service::Organizations {
                400
            } else {
                403
            },
            if service == Service::S3 {
                "AccessDenied"
            } else {
                "MissingAuthenticationToken"
            },
            "Request is missing Authentication Token",
        );
        return Ok(error.render(service, &request_id));
    };
    let Some(service) = Service::from_signing_name(&signature.service_name) else {
        let error = ApiError::new(
            400,
            "UnknownService",
            format!(
                "The emulator does not serve the service {:?}.",
                signature.service_name
            ),
        );
        return Ok(error.render(guess_service(parts), &request_id));
    };
    let (operation, input) = match parse_input(service, parts, body) {
        Ok(parsed) => parsed,
        Err(error) => return Ok(error.render(service, &request_id)),
    };
    let operation_key = format!("{}:{operation}", service.signing_name());
    let now = shared.now();
    let fidelity = lock(&shared.fidelity).clone();
    let session_token = parts
        .headers
        .get("x-amz-security-token")
        .and_then(|value| value.to_str().ok());

    // Authenticate.
    let caller = {
        let mut world = lock(&shared.world);
        world.stats.requests += 1;
        world
            .stats
            .operations
            .entry(operation_key.clone())
            .or_default()
            .calls += 1;
        let resolved = world.resolve_caller(&signature.access_key_id, session_token, now);
        let secret = match &resolved {
            Ok(crate::world::Caller::RootSession { .. }) => world
                .sessions
                .get(&signature.access_key_id)
                .map(|session| session.secret_access_key.clone()),
            Ok(crate::world::Caller::Principal(principal)) => {
                Some(principal.secret_access_key.clone())
            }
            Err(_) => None,
        };
        let outcome = match resolved {
            Err(problem) => Err(credential_error(service, problem)),
            Ok(_) if !is_valid_region(&signature.region) => Err(ApiError::new(
                403,
                "SignatureDoesNotMatch",
                "Credential should be scoped to a valid region.",
            )),
            Ok(caller) => {
                if secret.is_some_and(|secret| {
                    signature_matches(&signature, &secret, service, parts, body)
                }) {
                    Ok(caller)
                } else {
                    Err(signature_error(service))
                }
            }
        };
        match outcome {
            Ok(caller) => {
                if is_mutating(service, &operation) {
                    *world
                        .stats
                        .mutating_requests_by_account
                        .entry(caller.account_id().to_string())
                        .or_default() += 1;
                }
                caller
            }
            Err(error) => {
                record_error(&mut world, &operation_key, &error.code);
                return Ok(error.render(service, &request_id));
            }
        }
    };

    // Faults, quotas and latency.
    let draw_account = match (&input, operation.as_str()) {
        (Input::Query(params), "AssumeRoot") => {
            params.get("TargetPrincipal").cloned().unwrap_or_default()
        }
        _ => caller.account_id().to_string(),
    };
    let family = quota_family(service, &operation);
    let quota_key = match family {
        "organizations" => "org".to_string(),
        _ => caller.account_id().to_string(),
    };
    let verdict = shared.shaper.admit(
        service,
        &operation,
        &draw_account,
        Some((family, &quota_key)),
    );
    let (delay, drop_after) = match verdict {
        Verdict::Proceed { delay, drop_after } => (delay, drop_after),
        Verdict::Throttle { .. } => {
            let error = ApiError::throttling(service);
            let mut world = lock(&shared.world);
            world
                .stats
                .operations
                .entry(operation_key.clone())
                .or_default()
                .throttled += 1;
            record_error(&mut world, &operation_key, &error.code);
            return Ok(error.render(service, &request_id));
        }
        Verdict::Error { status } => {
            let error = ApiError::server_fault(service, status);
            let mut world = lock(&shared.world);
            world
                .stats
                .operations
                .entry(operation_key.clone())
                .or_default()
                .injected_faults += 1;
            record_error(&mut world, &operation_key, &error.code);
            return Ok(error.render(service, &request_id));
        }
        Verdict::Drop => {
            let mut world = lock(&shared.world);
            world
                .stats
                .operations
                .entry(operation_key)
                .or_default()
                .injected_faults += 1;
            return Err(DropConnection);
        }
    };
    if !delay.is_zero() {
        let _waiting = InFlight::enter(
            shared,
            caller.account_id(),
            is_mutating(service, &operation),
        );
        tokio::time::sleep(delay).await;
    }

    // Apply.
    let mut world = lock(&shared.world);
    let now = shared.now();
    let call = Call {
        operation: &operation,
        region: &signature.region,
        caller: &caller,
        now,
        request_id: &request_id,
        endpoint: &shared.endpoint,
        fidelity: &fidelity,
        shaper: &shared.shaper,
    };
    let result = match &input {
        Input::Query(params) if service == Service::Sts => {
            services::sts::handle(&mut world, &call, params)
        }
        Input::Query(params) => services::iam::handle(&mut world, &call, params),
        Input::Json(value) if service == Service::Organizations => {
            services::organizations::handle(&mut world, &call, value)
        }
        Input::Json(value) => services::sqs::handle(&mut world, &call, value),
        Input::S3(request, query) => {
            services::s3::handle(&mut world, &call, request, query, &parts.headers, body)
        }
    };
    let response = match result {
        Ok(response) => {
            world
                .stats
                .operations
                .entry(operation_key.clone())
                .or_default()
                .ok += 1;
            response
        }
        Err(error) => {
            record_error(&mut world, &operation_key, &error.code);
            error.render(service, &request_id)
        }
    };
    if drop_after {
        world
            .stats
            .operations
            .entry(operation_key)
            .or_default()
            .injected_faults += 1;
        return Err(DropConnection);
    }
    Ok(response)
}

fn record_error(world: &mut World, operation_key: &str, code: &str) {
    *world
        .stats
        .operations
        .entry(operation_key.to_string())
        .or_default()
        .errors
        .entry(code.to_string())
        .or_default() += 1;
}

fn credential_error(service: Service, problem: CredentialProblem) -> ApiError {
    match (service, problem) {
        (Service::Organizations, CredentialProblem::Expired) => ApiError::new(
            400,
            "ExpiredTokenException",
            "The security token included in the request is expired",
        ),
        (Service::S3, CredentialProblem::Expired) => {
            ApiError::new(400, "ExpiredToken", "The provided token has expired.")
        }
        (_, CredentialProblem::Expired) => ApiError::new(
            403,
            "ExpiredToken",
            "The security token included in the request is expired",
        ),
        (Service::Organizations, _) => ApiError::new(
            400,
            "UnrecognizedClientException",
            "The security token included in the request is invalid.",
        ),
        (Service::S3, CredentialProblem::UnknownKey) => ApiError::new(
            403,
            "InvalidAccessKeyId",
            "The AWS Access Key Id you provided does not exist in our records.",
        ),
        (Service::S3, CredentialProblem::InvalidToken) => ApiError::new(
            400,
            "InvalidToken",
            "The provided token is malformed or otherwise invalid.",
        ),
        (_, _) => ApiError::new(
            403,
            "InvalidClientTokenId",
            "The security token included in the request is invalid.",
        ),
    }
}

fn signature_error(service: Service) -> ApiError {
    let message = "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method.";
    match service {
        Service::Organizations => ApiError::new(400, "InvalidSignatureException", message),
        _ => ApiError::new(403, "SignatureDoesNotMatch", message),
    }
}

// ---------------------------------------------------------------------------------------------
// The admin endpoint.

fn admin(shared: &Shared, parts: &http::request::Parts, body: &Bytes) -> HttpResponse {
    let json_response =
        |status: u16, value: Value| respond(status, "application/json", value.to_string(), "admin");
    let not_found = || {
        json_response(
            404,
            json!({ "error": "no such admin resource; see docs/emulator.md" }),
        )
    };
    let path = parts
        .uri
        .path()
        .trim_start_matches("/_emulator/")
        .trim_end_matches('/');
    let segments: Vec<&str> = path.split('/').collect();
    match (parts.method.clone(), segments.as_slice()) {
        (http::Method::GET, ["health"]) => json_response(200, json!({ "status": "ok" })),
        (http::Method::GET, ["stats"]) => {
            let stats = lock(&shared.world).stats.clone();
            json_response(200, serde_json::to_value(stats).unwrap_or(Value::Null))
        }
        (http::Method::GET, ["accounts", id]) => match lock(&shared.world).account(id) {
            Some(account) => {
                json_response(200, serde_json::to_value(account).unwrap_or(Value::Null))
            }
            None => not_found(),
        },
        (http::Method::GET, ["scenario"]) => {
            let scenario = lock(&shared.world).scenario.clone();
            json_response(200, serde_json::to_value(scenario).unwrap_or(Value::Null))
        }
        (http::Method::GET, ["principals"]) => {
            let principals = lock(&shared.world).scenario.principals.clone();
            json_response(200, serde_json::to_value(principals).unwrap_or(Value::Null))
        }
        (http::Method::GET, ["load"]) => json_response(
            200,
            serde_json::to_value(shared.shaper.profile()).unwrap_or(Value::Null),
        ),
        (http::Method::PUT, ["load"]) => match serde_json::from_slice::<LoadProfile>(body) {
            Ok(profile) => {
                shared.shaper.set_profile(profile);
                json_response(200, json!({ "status": "load profile replaced" }))
            }
            Err(error) => json_response(
                400,
                json!({ "error": format!("invalid load profile: {error}") }),
            ),
        },
        (http::Method::POST, ["clock", "advance"]) => {
            let query: HashMap<String, String> = parse_query(parts.uri.query().unwrap_or(""));
            match query
                .get("seconds")
                .and_then(|value| value.parse::<i64>().ok())
            {
                Some(seconds) if seconds >= 0 => {
                    shared
                        .clock_offset_seconds
                        .fetch_add(seconds, Ordering::Relaxed);
                    json_response(200, json!({ "advanced_seconds": seconds }))
                }
                _ => json_response(400, json!({ "error": "give ?seconds=N with N >= 0" })),
            }
        }
        (http::Method::POST, ["reset"]) => {
            reset(shared);
            json_response(200, json!({ "status": "reset to the starting scenario" }))
        }
        _ => not_found(),
    }
}
