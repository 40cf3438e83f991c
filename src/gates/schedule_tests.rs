use std::collections::BTreeMap;
use std::time::Duration;

use time::macros::datetime;

use super::*;

fn window(cron: &str, hours: u64, description: Option<&str>, zone: &str) -> Window {
    Window {
        cron: Cron::parse(cron).unwrap(),
        cron_text: cron.to_owned(),
        duration: Duration::from_secs(hours * 3600),
        description: description.map(str::to_owned),
        timezone: time_zone(zone).unwrap(),
        timezone_name: zone.to_owned(),
    }
}

fn key() -> GateKey {
    GateKey::parse("business-hours").unwrap()
}

fn prod() -> BranchName {
    BranchName::parse("environment/prod").unwrap()
}

fn office_hours(zone: &str) -> Schedule {
    Schedule {
        global: Windows {
            allow: vec![window("0 9 * * 1-5", 8, Some("office hours"), zone)],
            exclude: vec![window("0 0 20 12 *", 336, Some("year-end freeze"), zone)],
        },
        environments: None,
    }
}

fn at(schedule: &Schedule, now: OffsetDateTime) -> (GateState, String) {
    let got = evaluate(&key(), schedule, &prod(), now);
    (got.state, got.description)
}

#[test]
fn an_allow_window_is_open_until_its_end_in_its_time_zone() {
    let schedule = office_hours("Europe/Berlin");
    // Tuesday 2026-12-01, 09:30 in Berlin (CET, +01:00).
    assert_eq!(
        at(&schedule, datetime!(2026-12-01 08:30 UTC)),
        (
            GateState::Success,
            "open in `office hours` until 2026-12-01T17:00:00+01:00 (Europe/Berlin)".into()
        )
    );
    // 08:59 in Berlin: closed, opens at nine.
    assert_eq!(
        at(&schedule, datetime!(2026-12-01 07:59 UTC)),
        (
            GateState::Pending,
            "closed until `office hours` opens at 2026-12-01T09:00:00+01:00 (Europe/Berlin)".into()
        )
    );
    // 17:00 sharp is closed; the end is exclusive.
    assert_eq!(
        at(&schedule, datetime!(2026-12-01 16:00 UTC)).0,
        GateState::Pending
    );
    // Saturday: the next opening is Monday.
    assert_eq!(
        at(&schedule, datetime!(2026-12-05 12:00 UTC)).1,
        "closed until `office hours` opens at 2026-12-07T09:00:00+01:00 (Europe/Berlin)"
    );
}

#[test]
fn the_same_instant_is_open_in_one_time_zone_and_closed_in_another() {
    let now = datetime!(2026-12-01 15:00 UTC);
    assert_eq!(at(&office_hours("UTC"), now).0, GateState::Success);
    // 10:00 in New York (EST, -05:00) is inside; 16:00 in Berlin too; 00:00 in Tokyo is not.
    assert_eq!(
        at(&office_hours("America/New_York"), now).1,
        "open in `office hours` until 2026-12-01T17:00:00-05:00 (America/New_York)"
    );
    assert_eq!(
        at(&office_hours("Asia/Tokyo"), now).1,
        "closed until `office hours` opens at 2026-12-02T09:00:00+09:00 (Asia/Tokyo)"
    );
}

#[test]
fn an_exclusion_wins_over_an_open_allow_window() {
    let schedule = office_hours("Europe/Berlin");
    // Monday 2026-12-21 at 10:00 in Berlin: office hours, but inside the freeze (20 Dec + 14 days).
    assert_eq!(
        at(&schedule, datetime!(2026-12-21 09:00 UTC)),
        (
            GateState::Pending,
            "closed by `year-end freeze` until 2027-01-03T00:00:00+01:00 (Europe/Berlin)".into()
        )
    );
    assert_eq!(
        at(&schedule, datetime!(2027-01-04 09:00 UTC)).0,
        GateState::Success
    );
}

#[test]
fn with_no_allow_window_it_is_open_unless_excluded() {
    let none = Schedule {
        global: Windows::default(),
        environments: None,
    };
    assert_eq!(
        at(&none, datetime!(2026-12-25 00:00 UTC)),
        (GateState::Success, "open: no window excludes now".into())
    );
    let freeze_only = Schedule {
        global: Windows {
            allow: Vec::new(),
            exclude: vec![window("0 0 20 12 *", 336, None, "UTC")],
        },
        environments: None,
    };
    assert_eq!(
        at(&freeze_only, datetime!(2026-12-01 00:00 UTC)),
        (
            GateState::Success,
            "open: no window excludes now; `0 0 20 12 *` starts 2026-12-20T00:00:00+00:00 (UTC)"
                .into()
        )
    );
    assert_eq!(
        at(&freeze_only, datetime!(2026-12-20 00:00 UTC)).0,
        GateState::Pending
    );
}

#[test]
fn a_window_across_the_spring_dst_change_lasts_its_exact_duration() {
    // Berlin moves from 02:00 CET to 03:00 CEST on 2026-03-29.
    let schedule = Schedule {
        global: Windows {
            allow: vec![window("0 1 * * *", 3, Some("night"), "Europe/Berlin")],
            exclude: Vec::new(),
        },
        environments: None,
    };
    // Opened 01:00 CET = 00:00Z; three hours later is 03:00Z = 05:00 CEST.
    assert_eq!(
        at(&schedule, datetime!(2026-03-29 02:30 UTC)),
        (
            GateState::Success,
            "open in `night` until 2026-03-29T05:00:00+02:00 (Europe/Berlin)".into()
        )
    );
    assert_eq!(
        at(&schedule, datetime!(2026-03-29 03:00 UTC)).0,
        GateState::Pending
    );
    // 02:30 does not exist that day: the window opens at 03:30 CEST, right after the gap.
    let gap = Schedule {
        global: Windows {
            allow: vec![window("30 2 * * *", 1, None, "Europe/Berlin")],
            exclude: Vec::new(),
        },
        environments: None,
    };
    assert_eq!(
        at(&gap, datetime!(2026-03-29 01:15 UTC)).1,
        "closed until `30 2 * * *` opens at 2026-03-29T03:30:00+02:00 (Europe/Berlin)"
    );
}

#[test]
fn a_time_repeated_by_the_autumn_dst_change_opens_once_at_its_first_occurrence() {
    // Berlin moves from 03:00 CEST back to 02:00 CET on 2026-10-25; 02:30 happens twice.
    let schedule = Schedule {
        global: Windows {
            allow: vec![window("30 2 * * *", 0, None, "Europe/Berlin")],
            exclude: Vec::new(),
        },
        environments: None,
    };
    let mut schedule = schedule;
    schedule.global.allow[0].duration = Duration::from_secs(20 * 60);
    // 02:40 CEST (first pass) = 00:40Z: open.
    assert_eq!(
        at(&schedule, datetime!(2026-10-25 00:40 UTC)).0,
        GateState::Success
    );
    // 02:40 CET (second pass) = 01:40Z: closed, next opening tomorrow.
    assert_eq!(
        at(&schedule, datetime!(2026-10-25 01:40 UTC)).1,
        "closed until `30 2 * * *` opens at 2026-10-26T02:30:00+01:00 (Europe/Berlin)"
    );
}

#[test]
fn listed_environments_add_their_windows_and_unlisted_ones_are_open() {
    let mut own = BTreeMap::new();
    own.insert(
        prod(),
        Windows {
            allow: Vec::new(),
            exclude: vec![window("0 0 * * 5", 72, Some("weekend"), "UTC")],
        },
    );
    let schedule = Schedule {
        global: Windows::default(),
        environments: Some(own),
    };
    // Saturday 2026-12-05: prod is in its own exclusion, dev is not listed.
    let now = datetime!(2026-12-05 12:00 UTC);
    assert_eq!(
        at(&schedule, now).1,
        "closed by `weekend` until 2026-12-07T00:00:00+00:00 (UTC)"
    );
    let dev = BranchName::parse("environment/dev").unwrap();
    let got = evaluate(&key(), &schedule, &dev, now);
    assert_eq!(got.state, GateState::Success);
    assert_eq!(
        got.description,
        "open: `environment/dev` has no deployment windows"
    );
}

#[test]
fn unknown_time_zones_are_refused_with_an_example() {
    let err = time_zone("Europe/Berlinn").unwrap_err();
    assert!(
        err.contains("`Europe/Berlinn` is not an IANA time zone"),
        "{err}"
    );
    assert!(time_zone("America/Argentina/Buenos_Aires").is_ok());
}
