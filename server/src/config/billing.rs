//! Billing settings: Creem's API and webhook secret, and the catalog: credit packs, plans and
//! what each plan may do. Everything here comes from the operator's file and environment;
//! nothing in the catalog is ever taken from a webhook or from metadata. With no `[billing]`
//! table at all, every account is on the free plan and the service runs as before.

use serde::{Deserialize, Serialize};

use super::Secret;

/// Creem's live API.
pub const CREEM_API_BASE: &str = "https://api.creem.io";

/// The plan every account starts on.
pub const FREE_PLAN: &str = "free";

/// The `[billing]` table of the file (and `LITHOS_CREEM_*` in the environment).
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BillingLayer {
    pub creem_api_base: Option<String>,
    pub creem_api_key: Option<Secret>,
    pub creem_webhook_secret: Option<Secret>,
    /// The free plan's limits.
    pub free: Option<LimitsLayer>,
    pub packs: Option<Vec<Pack>>,
    pub plans: Option<Vec<PlanLayer>>,
}

/// A plan's limits as written: each falls back to the free plan's.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LimitsLayer {
    pub max_megapixels: Option<f64>,
    pub max_upload_mb: Option<u64>,
    pub max_running: Option<u32>,
    /// 0 for no cap, as for the two below.
    pub uploads_per_minute: Option<u32>,
    pub tasks_per_minute: Option<u32>,
    pub upload_mb_per_day: Option<u64>,
    pub retention_days: Option<u32>,
    pub priority: Option<i64>,
}

/// A subscription plan as written in `[[billing.plans]]`.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlanLayer {
    pub id: String,
    pub creem_product_id: String,
    pub credits_per_period: i64,
    /// The price to show, in minor units (Creem charges its product's own price).
    pub price: Option<i64>,
    pub currency: Option<String>,
    pub max_megapixels: Option<f64>,
    pub max_upload_mb: Option<u64>,
    pub max_running: Option<u32>,
    pub uploads_per_minute: Option<u32>,
    pub tasks_per_minute: Option<u32>,
    pub upload_mb_per_day: Option<u64>,
    pub retention_days: Option<u32>,
    pub priority: Option<i64>,
}

/// A one-time credit pack.
#[derive(Clone, Debug, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Pack {
    /// Lithos' name for it, as `POST /billing/checkout` takes it.
    pub id: String,
    pub creem_product_id: String,
    /// Credits each unit bought grants.
    pub credits: i64,
    /// The price to show, in minor units (Creem charges its product's own price).
    pub price: Option<i64>,
    pub currency: Option<String>,
}

/// What a plan lets its users do.
#[derive(Clone, Debug, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Limits {
    /// The largest output grid of one task, in megapixels.
    pub max_megapixels: f64,
    /// The largest upload.
    pub max_upload_mb: u64,
    /// Tasks queued or running at once; `None` for no cap.
    pub max_running: Option<u32>,
    /// Uploads started a minute (direct or presigned); `None` for no cap.
    pub uploads_per_minute: Option<u32>,
    /// Tasks submitted a minute; `None` for no cap.
    pub tasks_per_minute: Option<u32>,
    /// Megabytes uploaded a day (UTC); `None` for no cap.
    pub upload_mb_per_day: Option<u64>,
    /// Days outputs are kept.
    pub retention_days: u32,
    /// Queue rank: lower runs first.
    pub priority: i64,
}

/// A subscription plan.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct Plan {
    pub id: String,
    #[serde(skip)]
    pub creem_product_id: String,
    /// Credits granted each paid period (0 for the free plan).
    pub credits_per_period: i64,
    pub price: Option<i64>,
    pub currency: Option<String>,
    pub limits: Limits,
}

/// The billing settings, resolved.
#[derive(Clone, Debug)]
pub struct Billing {
    pub api_base: String,
    pub api_key: Option<Secret>,
    pub webhook_secret: Option<Secret>,
    pub packs: Vec<Pack>,
    /// The free plan first, then the paid ones.
    pub plans: Vec<Plan>,
}

impl Billing {
    /// The defaults: no Creem, the free plan only, with the service's own limits.
    pub fn new(max_upload_bytes: u64, max_grid_points: u64) -> Self {
        let free = Limits {
            max_megapixels: max_grid_points as f64 / 1e6,
            max_upload_mb: max_upload_bytes >> 20,
            max_running: None,
            uploads_per_minute: Some(30),
            tasks_per_minute: Some(30),
            upload_mb_per_day: Some(2000),
            retention_days: 7,
            priority: 1,
        };
        Billing {
            api_base: CREEM_API_BASE.to_owned(),
            api_key: None,
            webhook_secret: None,
            packs: Vec::new(),
            plans: vec![Plan {
                id: FREE_PLAN.to_owned(),
                creem_product_id: String::new(),
                credits_per_period: 0,
                price: None,
                currency: None,
                limits: free,
            }],
        }
    }

    /// Applies a `[billing]` layer.
    pub fn apply(&mut self, layer: BillingLayer) {
        if let Some(v) = layer.creem_api_base {
            self.api_base = v.trim_end_matches('/').to_owned();
        }
        if let Some(v) = layer.creem_api_key {
            self.api_key = Some(v).filter(|k| !k.0.is_empty());
        }
        if let Some(v) = layer.creem_webhook_secret {
            self.webhook_secret = Some(v).filter(|k| !k.0.is_empty());
        }
        if let Some(free) = layer.free {
            let limits = &mut self.plans[0].limits;
            if let Some(v) = free.max_megapixels {
                limits.max_megapixels = v;
            }
            if let Some(v) = free.max_upload_mb {
                limits.max_upload_mb = v;
            }
            if let Some(v) = free.max_running {
                limits.max_running = Some(v);
            }
            if let Some(v) = free.uploads_per_minute {
                limits.uploads_per_minute = Some(v).filter(|v| *v > 0);
            }
            if let Some(v) = free.tasks_per_minute {
                limits.tasks_per_minute = Some(v).filter(|v| *v > 0);
            }
            if let Some(v) = free.upload_mb_per_day {
                limits.upload_mb_per_day = Some(v).filter(|v| *v > 0);
            }
            if let Some(v) = free.retention_days {
                limits.retention_days = v;
            }
            if let Some(v) = free.priority {
                limits.priority = v;
            }
        }
        if let Some(packs) = layer.packs {
            self.packs = packs;
        }
        if let Some(plans) = layer.plans {
            let free = self.plans[0].clone();
            self.plans.truncate(1);
            for p in plans {
                let base = &free.limits;
                self.plans.push(Plan {
                    id: p.id,
                    creem_product_id: p.creem_product_id,
                    credits_per_period: p.credits_per_period,
                    price: p.price,
                    currency: p.currency,
                    limits: Limits {
                        max_megapixels: p.max_megapixels.unwrap_or(base.max_megapixels),
                        max_upload_mb: p.max_upload_mb.unwrap_or(base.max_upload_mb),
                        max_running: p.max_running.or(base.max_running),
                        uploads_per_minute: p
                            .uploads_per_minute
                            .map_or(base.uploads_per_minute, |v| Some(v).filter(|v| *v > 0)),
                        tasks_per_minute: p
                            .tasks_per_minute
                            .map_or(base.tasks_per_minute, |v| Some(v).filter(|v| *v > 0)),
                        upload_mb_per_day: p
                            .upload_mb_per_day
                            .map_or(base.upload_mb_per_day, |v| Some(v).filter(|v| *v > 0)),
                        retention_days: p.retention_days.unwrap_or(30),
                        priority: p.priority.unwrap_or(0),
                    },
                });
            }
        }
    }

    /// Checks the catalog: unique ids and products, positive credits.
    pub fn validate(&self) -> Result<(), String> {
        let mut ids = std::collections::BTreeSet::new();
        let mut products = std::collections::BTreeSet::new();
        for (id, product, credits) in
            self.packs.iter().map(|p| (&p.id, &p.creem_product_id, p.credits)).chain(
                self.plans[1..].iter().map(|p| (&p.id, &p.creem_product_id, p.credits_per_period)),
            )
        {
            if id.is_empty() || !ids.insert(id.as_str()) || id == FREE_PLAN {
                return Err(format!("billing: the product id `{id}` is empty or used twice"));
            }
            if product.is_empty() || !products.insert(product.as_str()) {
                return Err(format!("billing: `{id}` needs its own creem_product_id"));
            }
            if credits < 0 {
                return Err(format!("billing: `{id}` grants a negative number of credits"));
            }
        }
        Ok(())
    }

    /// The plan named `id`, the free plan for an unknown name.
    pub fn plan(&self, id: &str) -> &Plan {
        self.plans.iter().find(|p| p.id == id).unwrap_or(&self.plans[0])
    }

    /// A plan's queue rank: its own, or for a paid plan not (or no longer) in the catalog,
    /// ahead of free.
    pub fn priority(&self, id: &str) -> i64 {
        match self.plans.iter().find(|p| p.id == id) {
            Some(plan) => plan.limits.priority,
            None => 0,
        }
    }

    pub fn plan_for_product(&self, creem_product_id: &str) -> Option<&Plan> {
        self.plans[1..].iter().find(|p| p.creem_product_id == creem_product_id)
    }

    pub fn pack_for_product(&self, creem_product_id: &str) -> Option<&Pack> {
        self.packs.iter().find(|p| p.creem_product_id == creem_product_id)
    }
}
