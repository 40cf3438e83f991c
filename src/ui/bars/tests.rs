//! What a terminal shows, drawn into indicatif's in-memory terminal (vt100): the screen's text
//! after each update, as a person would read it.

use indicatif::{InMemoryTerm, ProgressDrawTarget};

use super::*;
use crate::model::{PrNumber, Sha};
use crate::reconcile::apply::StepResult;
use crate::reconcile::plan::{Step, Summary};

const TIP: &str = "a1b2c3d4e5f60718293a4b5c6d7e8f9012345678";

fn terminal() -> (InMemoryTerm, TerminalProgress) {
    let term = InMemoryTerm::new(12, 100);
    let progress =
        TerminalProgress::new(ProgressDrawTarget::term_like(Box::new(term.clone())), false);
    (term, progress)
}

fn branch(name: &str) -> BranchName {
    BranchName::parse(name).unwrap()
}

fn merge_step() -> Step {
    Step {
        action: Action::Merge {
            number: PrNumber(12),
            head_sha: Sha::parse(TIP).unwrap(),
            title: "Promote".into(),
            message: String::new(),
            reread_live_tip: false,
        },
        reason: "gates passed".into(),
    }
}

fn summary(phase: Phase, reason: &str) -> Summary {
    Summary {
        phase,
        reason: reason.into(),
        live_dry: None,
        proposed_dry: None,
        live_tip: None,
        staging_tip: None,
        pull_request: None,
        proposed_gates: Vec::new(),
        active_gates: Vec::new(),
    }
}

fn plan(name: &str) -> EnvironmentPlan {
    EnvironmentPlan {
        strategy: 0,
        environment: 0,
        branch: branch(name),
        staging_branch: branch(&format!("{name}-next")),
        steps: vec![merge_step()],
        summary: summary(Phase::Pending, "merging"),
    }
}

fn lines(term: &InMemoryTerm) -> Vec<String> {
    term.contents().lines().map(str::to_owned).collect()
}

#[test]
fn the_fetch_line_shows_objects_received_of_total_and_bytes_then_what_was_fetched() {
    let (term, mut progress) = terminal();
    progress.fetch(&FetchProgress {
        received_objects: 12,
        total_objects: 40,
        indexed_objects: 10,
        received_bytes: 3 * 1024,
    });
    assert_eq!(
        lines(&term),
        ["    Fetching [=======>                 ] 12/40 objects, 3.00 KiB"]
    );

    progress.fetch(&FetchProgress {
        received_objects: 40,
        total_objects: 40,
        indexed_objects: 40,
        received_bytes: 10 * 1024,
    });
    assert_eq!(lines(&term), ["     Fetched 40 objects (10.00 KiB)"]);
}

#[test]
fn each_environment_has_one_line_saying_what_it_is_doing() {
    let (term, mut progress) = terminal();
    let dev = branch("environment/dev");
    let staging = branch("environment/staging");
    progress.environment("app", &dev, &Activity::Reading);
    progress.environment("app", &staging, &Activity::Reading);
    assert_eq!(
        lines(&term),
        [
            "             environment/dev      reading branches and gates",
            "             environment/staging  reading branches and gates",
        ]
    );

    let step = merge_step();
    progress.environment("app", &dev, &Activity::Writing(&step));
    let waiting = summary(Phase::Pending, "waiting for `health` on environment/dev");
    progress.environment("app", &staging, &Activity::Finished(&waiting));
    assert_eq!(
        lines(&term),
        [
            "             environment/dev      merging #12 (a1b2c3d)",
            "             environment/staging  … waiting for `health` on environment/dev",
        ]
    );

    let failed = summary(Phase::Failure, "the SCM answered 500");
    progress.environment("app", &dev, &Activity::Finished(&failed));
    let screen = lines(&term);
    assert_eq!(screen.len(), 2, "{screen:?}");
    assert_eq!(
        screen[0],
        "             environment/dev      ✗ failed: the SCM answered 500"
    );
}

#[test]
fn writes_stay_above_the_live_lines_and_the_live_lines_are_cleared_at_the_end() {
    let (term, mut progress) = terminal();
    let dev = branch("environment/dev");
    progress.fetch(&FetchProgress {
        received_objects: 3,
        total_objects: 3,
        indexed_objects: 3,
        received_bytes: 512,
    });
    progress.environment("app", &dev, &Activity::Writing(&merge_step()));
    progress.step(
        &plan("environment/dev"),
        &StepOutcome {
            step: merge_step(),
            result: StepResult::Done {
                detail: Some("9f8e7d6".into()),
            },
        },
    );
    assert_eq!(
        lines(&term),
        [
            "     Merging #12 environment/dev (a1b2c3d) → 9f8e7d6",
            "     Fetched 3 objects (512 B)",
            "             environment/dev  merging #12 (a1b2c3d)",
        ]
    );

    progress.finish();
    assert_eq!(
        lines(&term),
        ["     Merging #12 environment/dev (a1b2c3d) → 9f8e7d6"],
        "only the write is left for the report to follow"
    );
}

#[test]
fn a_pass_that_stops_with_an_error_leaves_no_live_line_behind() {
    let (term, mut progress) = terminal();
    progress.environment("app", &branch("environment/dev"), &Activity::Reading);
    assert_eq!(lines(&term).len(), 1);
    drop(progress);
    assert_eq!(term.contents(), "");
}

#[test]
fn warnings_are_printed_and_verbose_lines_are_not() {
    let (term, mut progress) = terminal();
    progress.info("fetched 3 objects (512 bytes) from https://example.com/acme/deploy.git");
    progress.info("warning: waited for another promoter run holding the git cache lock");
    assert_eq!(
        lines(&term),
        ["warning: waited for another promoter run holding the git cache lock"]
    );
}

#[test]
fn nothing_is_drawn_for_a_fetch_before_the_remote_said_how_many_objects_come() {
    let (term, mut progress) = terminal();
    progress.fetch(&FetchProgress::default());
    assert_eq!(term.contents(), "");
}
