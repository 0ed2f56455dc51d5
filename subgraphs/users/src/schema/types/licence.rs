//! Retail drug licences as the API shows them.

use crate::domain::licences;
use crate::schema::loaders::load_vendor;
use crate::schema::Vendor;
use crate::store::compliance::LicenceRow;
use async_graphql::{Context, Enum, Object, ID};
use janta_platform::scalars::{Date, DateTime};
use janta_platform::ApiResult;

/// The form of a retail drug licence (Drugs and Cosmetics Rules, 1945).
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
#[graphql(remote = "licences::LicenceForm")]
pub enum DrugLicenceForm {
    /// Form 20: retail sale of drugs other than those of Schedules C, C1 and X.
    #[graphql(name = "FORM_20")]
    Form20,
    /// Form 21: retail sale of drugs of Schedules C and C1.
    #[graphql(name = "FORM_21")]
    Form21,
}

/// One record of a vendor's retail drug licence.
pub struct DrugLicence(pub(in crate::schema) LicenceRow);

/// A retail drug licence as recorded by the vendor or an admin. A renewal
/// is a new record; the latest recorded of a form is the one in force.
/// Public, like the licence a pharmacy displays on its premises.
#[Object]
impl DrugLicence {
    /// Record ID.
    async fn id(&self) -> ID {
        ID(self.0.id.clone())
    }
    /// The pharmacy.
    async fn vendor(&self, ctx: &Context<'_>) -> ApiResult<Vendor> {
        Ok(Vendor(
            load_vendor(ctx, &ID(self.0.vendor_id.clone())).await?,
        ))
    }
    /// Form 20 or Form 21.
    async fn form(&self) -> DrugLicenceForm {
        self.0.form.into()
    }
    /// The licence number the licensing authority issued.
    async fn number(&self) -> &str {
        &self.0.number
    }
    /// The last day it is valid (in India).
    async fn valid_until(&self) -> Date {
        Date(self.0.valid_until)
    }
    /// Whether it has expired (today in India is after `validUntil`).
    async fn expired(&self) -> bool {
        licences::is_expired(self.0.valid_until, chrono::Utc::now())
    }
    /// When it was recorded.
    async fn recorded_at(&self) -> DateTime {
        DateTime(self.0.recorded_at)
    }
}
