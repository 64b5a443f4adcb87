//! `serve`'s DVB-MABR bootstrap (`bootstrap = "ADDR:PORT"`, docs/serve.md): a sending session
//! also publishes a gateway configuration that describes it, and a receiving session starts on
//! its bootstrap address alone and joins the sessions each configuration there lists
//! (`crate::bootstrap`). Starting never waits for a configuration, so a reload or a start
//! before the sender is up does not block the service.

use anyhow::Result;
use std::path::Path;
use std::sync::{Mutex, PoisonError};
use xflute::receiver::ObjectEvent;
use xflute::runtime::{ChannelSpec, RxEngine};
use xflute::sender::{Profile, Sender};

use super::config::{ReceiveConfig, SendConfig};
use crate::bootstrap::SentSession;
use crate::repair::{Announced, AnnouncedBases};

/// The bootstrap session of a sending session that has one: its configuration on TSI 1, with
/// the session's repair server when one is announced, published every second for as long as
/// the session runs.
pub fn publisher(config: &SendConfig) -> Result<Option<Sender>> {
    let Some(bootstrap) = config.bootstrap else {
        return Ok(None);
    };
    let description = crate::bootstrap::describe(
        bootstrap,
        &format!("urn:xflute:serve:{}", config.name),
        &[SentSession {
            destination: config.dest,
            source: config.source,
            tsi: config.tsi,
            rate_bps: config.rate_bps,
            repair_bases: config
                .repair_announce
                .iter()
                .map(url::Url::to_string)
                .collect(),
        }],
    );
    let profile = if config.flute_version == 1 {
        Profile::Rfc3926
    } else {
        Profile::Rfc6726
    };
    crate::bootstrap::config_sender(bootstrap, &description, config.symbol_len, profile, true)
        .map(Some)
}

/// The channels a receiving session starts with: its group, or with `bootstrap` the
/// bootstrap session alone (any TSI), which the sessions its gateway configurations list join
/// as they arrive ([`Follower`]).
pub fn channels(config: &ReceiveConfig) -> Vec<ChannelSpec> {
    vec![ChannelSpec {
        destination: config.group,
        source: config.source,
        tsis: config.tsi.clone(),
    }]
}

/// A receiving session's follower of gateway configurations: each one that completes on a
/// `bootstrap` session adds the FLUTE sessions it lists that are not received yet.
pub struct Follower {
    channels: Option<Vec<ChannelSpec>>,
    /// Where the repair servers announced go, for a session without `repair_url`.
    announced: Option<AnnouncedBases>,
}

impl Follower {
    /// For `config`: one that does nothing without `bootstrap`.
    pub fn new(config: &ReceiveConfig) -> Self {
        Self {
            channels: config.bootstrap.then(|| channels(config)),
            announced: config.repair.as_ref().and_then(|r| r.announced.clone()),
        }
    }

    /// Takes an object event of the session.
    pub fn event(
        &mut self,
        name: &str,
        engine: &Mutex<Option<RxEngine>>,
        out: &Path,
        event: &ObjectEvent,
    ) {
        let Some(channels) = &mut self.channels else {
            return;
        };
        let ObjectEvent::Completed { session, toi, meta } = event else {
            return;
        };
        if !xflute::mabr::is_gateway_configuration(
            meta.content_location.as_deref(),
            meta.content_type.as_deref(),
        ) {
            return;
        }
        let path = crate::recv::local_path(out, session.tsi, *toi, meta);
        let mut engine = engine.lock().unwrap_or_else(PoisonError::into_inner);
        let Some(engine) = engine.as_mut() else {
            return;
        };
        let Some(config) = crate::bootstrap::read(&path) else {
            return;
        };
        for line in crate::bootstrap::follow_config(engine, channels, &config, false) {
            tracing::info!(session = name, "{line}");
        }
        if let Some(announced) = &self.announced {
            let now = crate::bootstrap::announced_repair_options(&config, &Default::default())
                .map(|o| Announced {
                    bases: o.bases,
                    object_base_uris: o.object_base_uris,
                })
                .unwrap_or_default();
            if now != announced.get() {
                let list: Vec<&str> = now.bases.iter().map(url::Url::as_str).collect();
                tracing::info!(
                    session = name,
                    "repair servers announced: {}",
                    list.join(", ")
                );
                announced.set(now);
            }
        }
    }
}
