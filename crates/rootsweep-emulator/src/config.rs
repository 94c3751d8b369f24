//! How an emulator run is set up: [`EmulatorConfig`] bundles the [`Scenario`], the
//! [`LoadProfile`] and the [`Fidelity`] switches for behaviour `aws-facts.md` marks unverified.

use serde::{Deserialize, Serialize};

use crate::load::LoadProfile;
use crate::scenario::Scenario;

/// Switches for AWS behaviour that no primary source pins down. The defaults are the emulator's
/// best reading; tests flip them so that rootsweep is proven against both readings.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct Fidelity {
    /// IAM's organization-feature errors arrive without the `Exception` suffix
    /// (`ServiceAccessNotEnabled` instead of `ServiceAccessNotEnabledException`). The API
    /// reference prints them unsuffixed; the SDK model matches the suffixed form.
    pub unsuffixed_iam_feature_errors: bool,
    /// Allow `iam:DeleteVirtualMFADevice` in a root session. The task policy's literal text
    /// denies it (its resource is the device, not `arn:aws:iam::*:root`).
    pub virtual_mfa_delete_allowed: bool,
    /// Include the retired `Status` field beside `State` in Organizations account records.
    pub legacy_account_status: bool,
}

/// Everything an emulator run needs.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct EmulatorConfig {
    /// The organization.
    pub scenario: Scenario,
    /// Latency, quotas and faults.
    #[serde(default)]
    pub load: LoadProfile,
    /// Unverified-behaviour switches.
    #[serde(default)]
    pub fidelity: Fidelity,
}

impl EmulatorConfig {
    /// A configuration with no load shaping and default fidelity.
    pub fn new(scenario: Scenario) -> Self {
        Self {
            scenario,
            load: LoadProfile::default(),
            fidelity: Fidelity::default(),
        }
    }

    /// Replaces the load profile.
    pub fn with_load(mut self, load: LoadProfile) -> Self {
        self.load = load;
        self
    }

    /// Replaces the fidelity switches.
    pub fn with_fidelity(mut self, fidelity: Fidelity) -> Self {
        self.fidelity = fidelity;
        self
    }
}
