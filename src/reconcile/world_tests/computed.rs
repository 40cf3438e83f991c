//! Computed gates through the real apply loop with the world's clock: a deployment window holds a
//! promotion until the pass's `now` is inside it (the planner never reads the real clock).

use std::sync::Arc;
use std::time::Duration;

use time::macros::datetime;

use super::*;
use crate::config::{ComputedGate, GateDefinition};
use crate::gates::cron::Cron;
use crate::gates::schedule::{Schedule, Window, Windows, time_zone};
use crate::reconcile::plan::Phase;

/// `business-hours`: weekdays 09:00–17:00 in Berlin, as a proposed gate of every environment.
fn with_office_hours(world: &mut World) {
    let definition = Arc::new(GateDefinition {
        key: GateKey::parse("business-hours").unwrap(),
        kind: ComputedGate::Schedule(Schedule {
            global: Windows {
                allow: vec![Window {
                    cron: Cron::parse("0 9 * * 1-5").unwrap(),
                    cron_text: "0 9 * * 1-5".into(),
                    duration: Duration::from_secs(8 * 3600),
                    description: Some("office hours".into()),
                    timezone: time_zone("Europe/Berlin").unwrap(),
                    timezone_name: "Europe/Berlin".into(),
                }],
                exclude: Vec::new(),
            },
            environments: None,
        }),
    });
    world.config.gates.push(definition.clone());
    for env in &mut world.config.strategies[0].environments {
        env.proposed_gates.push(Gate {
            key: definition.key.clone(),
            soak_time: None,
            computed: Some(definition.clone()),
        });
    }
}

#[test]
fn a_closed_window_holds_the_merge_until_the_pass_runs_inside_it() {
    let mut world = World::new(&[env("dev")]);
    with_office_hours(&mut world);
    // Saturday noon in Berlin.
    world.now = datetime!(2026-12-05 11:00 UTC);
    world.hydrate("dev", 'b');
    let plans = world.pass_then_stable();
    assert_eq!(plans[0].summary.phase, Phase::Pending);
    assert_eq!(
        plans[0].summary.reason,
        "`business-hours`: closed until `office hours` opens at 2026-12-07T09:00:00+01:00 (Europe/Berlin)"
    );
    let tip = world.staging_tip("dev");
    let written = world
        .status(&tip, "business-hours")
        .expect("written on the staging tip");
    assert_eq!(written.state, GateState::Pending);
    assert!(world.merges.is_empty());
    // Monday 09:30 in Berlin: the window is open; the status turns success and the PR merges.
    world.now = datetime!(2026-12-07 08:30 UTC);
    world.pass_then_stable();
    assert_eq!(
        world
            .status(&tip, "business-hours")
            .map(|s| (s.state, s.description)),
        Some((
            GateState::Success,
            "open in `office hours` until 2026-12-07T17:00:00+01:00 (Europe/Berlin)".to_owned()
        ))
    );
    assert_eq!(world.live_dry("dev"), Some(dry('b')));
}
