//! Organizations → targets: [`discover`] reads the organization (its management account and
//! its OU tree, paced and retried like every other call) and resolves a [`TargetSelector`]
//! into [`Targets`]: the accounts to work on and, with a reason, the ones to skip.
//!
//! Every filter is checked before anything else happens: an account or OU that is not in the
//! organization is an error, not an empty selection.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet, VecDeque};
use std::future::Future;
use std::sync::Arc;

use aws_sdk_organizations::error::{ProvideErrorMetadata, SdkError};
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use futures::stream::{FuturesUnordered, StreamExt};
use serde::{Deserialize, Serialize};
use tokio::sync::mpsc::{self, UnboundedReceiver, UnboundedSender};
use tokio::time::Instant;

use crate::account::{Account, AccountId, AccountState};
use crate::aws::AwsContext;
use crate::event::{Event, EventKind};
use crate::limits::ErrorClass;
use crate::outcome::{ErrorRecord, SkipReason};
use crate::session::{CallCount, CallFailure, Limits, PageTokens, call_shared};

/// How many listings (a parent's child OUs, or its accounts) run at once while walking the OU
/// tree. The Organizations budget paces them; this only bounds what waits for it.
const WALK_CONCURRENCY: usize = 8;

/// Which accounts a run targets. Empty lists mean "no filter".
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TargetSelector {
    /// Only these accounts (all accounts when empty).
    pub accounts: Vec<AccountId>,
    /// Only accounts in these OUs, recursively: OU IDs (`ou-...`), the root ID (`r-...`) or OU
    /// paths by name (`/Workloads/Prod`).
    pub organizational_units: Vec<String>,
    /// Only accounts with all of these tags (`key`, `value`).
    pub tags: Vec<(String, String)>,
    /// Never these accounts.
    pub exclude_accounts: Vec<AccountId>,
    /// Never accounts in these OUs, recursively.
    pub exclude_organizational_units: Vec<String>,
    /// Accounts never changed, whatever else says (from `rootsweep.toml`).
    pub protected_accounts: Vec<AccountId>,
    /// OUs whose accounts are never changed (from `rootsweep.toml`).
    pub protected_organizational_units: Vec<String>,
}

/// The organization.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Organization {
    /// `o-...`.
    pub id: String,
    /// The management account.
    pub management_account_id: AccountId,
    /// `ALL` or `CONSOLIDATED_BILLING`.
    pub feature_set: String,
}

/// One account of the resolved selection.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Target {
    /// The account.
    pub account: Account,
    /// Why it is skipped, if it is.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub skip: Option<SkipReason>,
}

/// The resolved selection.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Targets {
    /// The organization.
    pub organization: Organization,
    /// Every selected account, sorted by ID, skipped ones included.
    pub accounts: Vec<Target>,
}

impl Targets {
    /// The accounts to work on.
    pub fn active(&self) -> impl Iterator<Item = &Target> {
        self.accounts.iter().filter(|target| target.skip.is_none())
    }

    /// How many accounts will be worked on.
    pub fn active_count(&self) -> usize {
        self.active().count()
    }

    /// How many accounts will be skipped.
    pub fn skipped_count(&self) -> usize {
        self.accounts.len() - self.active_count()
    }
}

/// Why targets could not be resolved. Nothing has been changed when this is returned.
#[derive(Debug, Clone, thiserror::Error)]
pub enum DiscoveryError {
    /// These accounts are not in the organization.
    #[error("{} not in the organization: {}", if .0.len() == 1 { "this account is" } else { "these accounts are" }, join(.0))]
    UnknownAccounts(Vec<AccountId>),
    /// These OUs are not in the organization.
    #[error("{} not in the organization: {}", if .0.len() == 1 { "this organizational unit is" } else { "these organizational units are" }, .0.join(", "))]
    UnknownOrganizationalUnits(Vec<String>),
    /// The caller's account is not in an organization.
    #[error("the caller's account is not a member of an AWS organization")]
    NoOrganization,
    /// The caller may not read the organization.
    #[error(
        "the caller may not read the organization ({0}): run from the management account or the IAM delegated administrator"
    )]
    NotAuthorized(String),
    /// An Organizations call failed for good.
    #[error(
        "failed to read the organization: {operation} failed after {attempts} attempts: {message}"
    )]
    Aws {
        /// The failing operation.
        operation: String,
        /// What went wrong.
        message: String,
        /// Attempts made.
        attempts: u32,
        /// The whole record.
        record: ErrorRecord,
    },
}

fn join(ids: &[AccountId]) -> String {
    ids.iter()
        .map(AccountId::as_str)
        .collect::<Vec<_>>()
        .join(", ")
}

impl From<CallFailure> for DiscoveryError {
    fn from(failure: CallFailure) -> Self {
        match failure.class() {
            ErrorClass::FeatureNotEnabled
                if failure.detail.code.as_deref() == Some("AWSOrganizationsNotInUseException") =>
            {
                Self::NoOrganization
            }
            class if class.is_denial() || class == ErrorClass::InvalidCredentials => {
                Self::NotAuthorized(failure.detail.to_string())
            }
            _ => Self::Aws {
                operation: failure.operation.clone(),
                message: failure.detail.to_string(),
                attempts: failure.attempts,
                record: failure.record(),
            },
        }
    }
}

/// One listing of the tree walk. A parent's child OUs and its accounts are listed apart, so
/// that a child's own listings start as soon as the parent's OUs are known: the walk's longest
/// chain of dependent calls is the tree's depth plus the pages of one parent, not the sum of
/// every ancestor's pages.
enum Listing {
    Units(String),
    Accounts(String),
}

/// What one listing returned.
enum Listed {
    Units {
        parent: String,
        units: Vec<(String, String)>,
    },
    Accounts {
        parent: String,
        accounts: Vec<aws_sdk_organizations::types::Account>,
    },
}

struct Walker<'a> {
    aws: &'a AwsContext,
    limits: &'a Limits,
    events: UnboundedSender<EventKind>,
}

impl Walker<'_> {
    /// Every page of one Organizations listing, paced and retried.
    async fn pages<Page, E, F, Fut>(
        &self,
        operation: &str,
        account: Option<&AccountId>,
        count: &mut CallCount,
        fetch: F,
        next_token: fn(&Page) -> Option<&str>,
    ) -> Result<Vec<Page>, CallFailure>
    where
        F: Fn(Option<String>) -> Fut,
        Fut: Future<Output = Result<Page, SdkError<E, HttpResponse>>>,
        E: ProvideErrorMetadata + std::error::Error + 'static,
    {
        let mut pages = Vec::new();
        let mut tokens = PageTokens::default();
        let mut token: Option<String> = None;
        loop {
            let page = call_shared(
                self.limits,
                &self.limits.organizations,
                &self.events,
                account,
                operation,
                count,
                || fetch(token.clone()),
            )
            .await?;
            // An empty page does not mean the end: only a missing NextToken does.
            token = tokens.next(operation, next_token(&page))?;
            pages.push(page);
            if token.is_none() {
                return Ok(pages);
            }
        }
    }

    async fn list(&self, listing: Listing, count: &mut CallCount) -> Result<Listed, CallFailure> {
        let organizations = self.aws.organizations();
        match listing {
            Listing::Units(parent) => {
                let pages = self
                    .pages(
                        "organizations:ListOrganizationalUnitsForParent",
                        None,
                        count,
                        |token| {
                            organizations
                                .list_organizational_units_for_parent()
                                .parent_id(&parent)
                                .max_results(20)
                                .set_next_token(token)
                                .send()
                        },
                        |page| page.next_token(),
                    )
                    .await?;
                let units = pages
                    .iter()
                    .flat_map(|page| page.organizational_units())
                    .filter_map(|unit| {
                        let id = unit.id()?;
                        Some((id.to_string(), unit.name().unwrap_or(id).to_string()))
                    })
                    .collect();
                Ok(Listed::Units { parent, units })
            }
            Listing::Accounts(parent) => {
                let pages = self
                    .pages(
                        "organizations:ListAccountsForParent",
                        None,
                        count,
                        |token| {
                            organizations
                                .list_accounts_for_parent()
                                .parent_id(&parent)
                                .max_results(20)
                                .set_next_token(token)
                                .send()
                        },
                        |page| page.next_token(),
                    )
                    .await?;
                let accounts = pages
                    .iter()
                    .flat_map(|page| page.accounts())
                    .cloned()
                    .collect();
                Ok(Listed::Accounts { parent, accounts })
            }
        }
    }

    async fn tags(
        &self,
        account: &AccountId,
        count: &mut CallCount,
    ) -> Result<HashMap<String, String>, CallFailure> {
        let organizations = self.aws.organizations();
        let pages = self
            .pages(
                "organizations:ListTagsForResource",
                Some(account),
                count,
                |token| {
                    organizations
                        .list_tags_for_resource()
                        .resource_id(account.as_str())
                        .set_next_token(token)
                        .send()
                },
                |page| page.next_token(),
            )
            .await?;
        Ok(pages
            .iter()
            .flat_map(|page| page.tags())
            .map(|tag| (tag.key().to_string(), tag.value().to_string()))
            .collect())
    }
}

fn drain(
    receiver: &mut UnboundedReceiver<EventKind>,
    started: Instant,
    on_event: &mut dyn FnMut(Event),
) {
    while let Ok(kind) = receiver.try_recv() {
        on_event(Event {
            elapsed: started.elapsed(),
            kind,
        });
    }
}

/// A parent (root or OU) in the tree.
struct Node {
    name: String,
    parent: Option<String>,
}

fn account_state(account: &aws_sdk_organizations::types::Account) -> AccountState {
    if let Some(state) = account.state() {
        return AccountState::from_aws(state.as_str());
    }
    // `Status` was retired on 2026-09-09; older answers may carry only it.
    let status = account.status().map(|status| status.as_str().to_string());
    status.map_or(AccountState::Other("UNKNOWN".to_string()), |status| {
        AccountState::from_aws(&status)
    })
}

/// Resolves `selector` against the organization. `on_event` receives retries, rate changes
/// and a final [`EventKind::TargetsResolved`].
pub async fn discover(
    aws: &AwsContext,
    limits: &Arc<Limits>,
    selector: &TargetSelector,
    mut on_event: impl FnMut(Event),
) -> Result<Targets, DiscoveryError> {
    let started = Instant::now();
    let (sender, mut receiver) = mpsc::unbounded_channel();
    let walker = Walker {
        aws,
        limits,
        events: sender,
    };
    let mut count = CallCount::default();
    let organizations = aws.organizations();

    // DescribeOrganization and ListRoots do not depend on each other: made at once, the walk
    // starts one answer sooner than if one waited for the other. The organization's answer
    // comes first, though: if it fails, that is the error, at once, whatever ListRoots is
    // still retrying.
    let (mut describe_count, mut roots_count) = (CallCount::default(), CallCount::default());
    let (described, roots) = {
        let describe = call_shared(
            limits,
            &limits.organizations,
            &walker.events,
            None,
            "organizations:DescribeOrganization",
            &mut describe_count,
            || organizations.describe_organization().send(),
        );
        let list_roots = call_shared(
            limits,
            &limits.organizations,
            &walker.events,
            None,
            "organizations:ListRoots",
            &mut roots_count,
            || organizations.list_roots().send(),
        );
        futures::pin_mut!(describe, list_roots);
        let mut roots = None;
        let described = loop {
            tokio::select! {
                described = &mut describe => break described,
                listed = &mut list_roots, if roots.is_none() => roots = Some(listed),
            }
        };
        if described.is_ok() && roots.is_none() {
            roots = Some(list_roots.await);
        }
        (described, roots)
    };
    count.add(describe_count);
    count.add(roots_count);
    drain(&mut receiver, started, &mut on_event);
    let described = described?;
    let organization = described
        .organization()
        .ok_or(DiscoveryError::NoOrganization)?;
    let management_account_id = organization
        .master_account_id()
        .and_then(|id| AccountId::parse(id).ok())
        .ok_or(DiscoveryError::NoOrganization)?;
    let organization = Organization {
        id: organization.id().unwrap_or_default().to_string(),
        management_account_id,
        feature_set: organization
            .feature_set()
            .map(|feature_set| feature_set.as_str().to_string())
            .unwrap_or_default(),
    };

    // Present: DescribeOrganization succeeded, so ListRoots was awaited to its end.
    let roots = roots.ok_or(DiscoveryError::NoOrganization)??;
    let root_id = roots
        .roots()
        .first()
        .and_then(|root| root.id())
        .ok_or(DiscoveryError::NoOrganization)?
        .to_string();

    // Walk the tree: every parent's child OUs and accounts, a few parents at a time.
    let mut nodes: HashMap<String, Node> = HashMap::new();
    nodes.insert(
        root_id.clone(),
        Node {
            name: String::new(),
            parent: None,
        },
    );
    let mut raw_accounts: Vec<(String, aws_sdk_organizations::types::Account)> = Vec::new();
    let mut queue: VecDeque<Listing> = VecDeque::from([
        Listing::Units(root_id.clone()),
        Listing::Accounts(root_id.clone()),
    ]);
    let mut in_flight = FuturesUnordered::new();
    loop {
        while in_flight.len() < WALK_CONCURRENCY
            && let Some(listing) = queue.pop_front()
        {
            let walker = &walker;
            in_flight.push(async move {
                let mut count = CallCount::default();
                let listed = walker.list(listing, &mut count).await;
                (listed, count)
            });
        }
        let Some((listed, listing_count)) = in_flight.next().await else {
            break;
        };
        drain(&mut receiver, started, &mut on_event);
        count.add(listing_count);
        match listed? {
            Listed::Units { parent, units } => {
                for (id, name) in units {
                    queue.push_back(Listing::Units(id.clone()));
                    queue.push_back(Listing::Accounts(id.clone()));
                    nodes.insert(
                        id,
                        Node {
                            name,
                            parent: Some(parent.clone()),
                        },
                    );
                }
            }
            Listed::Accounts { parent, accounts } => {
                raw_accounts.extend(
                    accounts
                        .into_iter()
                        .map(|account| (parent.clone(), account)),
                );
            }
        }
    }
    drop(in_flight);

    let path_of = |id: &str| -> String {
        let mut names = Vec::new();
        let mut current = Some(id.to_string());
        while let Some(node_id) = current {
            let Some(node) = nodes.get(&node_id) else {
                break;
            };
            if node.parent.is_some() {
                names.push(node.name.clone());
            }
            current = node.parent.clone();
        }
        names.reverse();
        format!("/{}", names.join("/"))
    };
    let ancestors_of = |parent: &str| -> Vec<String> {
        let mut chain = Vec::new();
        let mut current = Some(parent.to_string());
        while let Some(node_id) = current {
            current = nodes.get(&node_id).and_then(|node| node.parent.clone());
            chain.push(node_id);
        }
        chain
    };

    // Resolve OU references (IDs or name paths), all of them before failing.
    let paths: HashMap<String, String> = nodes.keys().map(|id| (path_of(id), id.clone())).collect();
    let mut unknown_units = Vec::new();
    let mut resolve = |references: &[String]| -> HashSet<String> {
        let mut resolved = HashSet::new();
        for reference in references {
            let reference = reference.trim();
            let found = if reference.starts_with('/') {
                paths
                    .get(reference.trim_end_matches('/'))
                    .or_else(|| paths.get(reference))
                    .cloned()
            } else {
                nodes.contains_key(reference).then(|| reference.to_string())
            };
            match found {
                Some(id) => {
                    resolved.insert(id);
                }
                None => unknown_units.push(reference.to_string()),
            }
        }
        resolved
    };
    let selected_units = resolve(&selector.organizational_units);
    let excluded_units = resolve(&selector.exclude_organizational_units);
    let protected_units = resolve(&selector.protected_organizational_units);
    if !unknown_units.is_empty() {
        return Err(DiscoveryError::UnknownOrganizationalUnits(unknown_units));
    }

    let mut accounts: BTreeMap<AccountId, (Account, Vec<String>)> = BTreeMap::new();
    for (parent, account) in raw_accounts {
        let Some(id) = account.id().and_then(|id| AccountId::parse(id).ok()) else {
            continue;
        };
        let record = Account {
            name: account.name().unwrap_or_default().to_string(),
            state: account_state(&account),
            ou_path: path_of(&parent),
            parent_id: parent.clone(),
            id: id.clone(),
        };
        accounts.insert(id, (record, ancestors_of(&parent)));
    }
    let unknown_accounts: Vec<AccountId> = selector
        .accounts
        .iter()
        .chain(&selector.exclude_accounts)
        .filter(|id| !accounts.contains_key(id))
        .cloned()
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    if !unknown_accounts.is_empty() {
        return Err(DiscoveryError::UnknownAccounts(unknown_accounts));
    }

    let wanted: HashSet<&AccountId> = selector.accounts.iter().collect();
    let mut selected: Vec<(Account, Vec<String>)> = accounts
        .into_values()
        .filter(|(account, _)| wanted.is_empty() || wanted.contains(&account.id))
        .filter(|(_, ancestors)| {
            selected_units.is_empty()
                || ancestors
                    .iter()
                    .any(|ancestor| selected_units.contains(ancestor))
        })
        .collect();

    if !selector.tags.is_empty() {
        // Tags are read only for accounts that every other filter kept.
        let mut kept = Vec::with_capacity(selected.len());
        let mut lookups = FuturesUnordered::new();
        let mut pending = selected.into_iter();
        loop {
            while lookups.len() < WALK_CONCURRENCY
                && let Some(candidate) = pending.next()
            {
                let walker = &walker;
                lookups.push(async move {
                    let mut count = CallCount::default();
                    let tags = walker.tags(&candidate.0.id, &mut count).await;
                    (candidate, tags, count)
                });
            }
            let Some((candidate, tags, tag_count)) = lookups.next().await else {
                break;
            };
            drain(&mut receiver, started, &mut on_event);
            count.add(tag_count);
            let tags = tags?;
            if selector
                .tags
                .iter()
                .all(|(key, value)| tags.get(key).is_some_and(|found| found == value))
            {
                kept.push(candidate);
            }
        }
        kept.sort_by(|a, b| a.0.id.cmp(&b.0.id));
        selected = kept;
    }

    let excluded_accounts: HashSet<&AccountId> = selector.exclude_accounts.iter().collect();
    let protected_accounts: HashSet<&AccountId> = selector.protected_accounts.iter().collect();
    let targets: Vec<Target> = selected
        .into_iter()
        .map(|(account, ancestors)| {
            let in_units =
                |units: &HashSet<String>| ancestors.iter().any(|ancestor| units.contains(ancestor));
            let skip = if account.id == organization.management_account_id {
                Some(SkipReason::ManagementAccount)
            } else if excluded_accounts.contains(&account.id) || in_units(&excluded_units) {
                Some(SkipReason::Excluded)
            } else if protected_accounts.contains(&account.id) || in_units(&protected_units) {
                Some(SkipReason::Protected)
            } else if account.state != AccountState::Active {
                Some(SkipReason::NotActive {
                    state: account.state.to_string(),
                })
            } else {
                None
            };
            Target { account, skip }
        })
        .collect();
    let targets = Targets {
        organization,
        accounts: targets,
    };
    drain(&mut receiver, started, &mut on_event);
    on_event(Event {
        elapsed: started.elapsed(),
        kind: EventKind::TargetsResolved {
            targets: targets.active_count(),
            skipped: targets.skipped_count(),
            calls: count.calls,
        },
    });
    Ok(targets)
}
