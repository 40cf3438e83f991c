//! Issue 11, item 6: the git cache damaged between two passes. It is only a cache: every kind of
//! damage is repaired with a warning and the next pass promotes as if nothing happened, except a
//! cache path that is not promoter's to delete, which fails naming the path and the fix.

use std::path::{Path, PathBuf};

use super::{Forge, World, output};

/// A promoted `dev`, a new DRY change hydrated (so the next pass must fetch and move refs), and
/// the cache directory of the repository.
fn promoted_world_with_a_new_change() -> (World, String, PathBuf) {
    let mut world = World::new(Forge::Github, &["dev"]);
    let first = world.dry_change("first");
    world.hydrate_all(&first);
    world.config("", &|_| String::new());
    world.reconcile().success();
    assert_eq!(world.live_dry(0).as_deref(), Some(first.as_str()));
    let second = world.dry_change("second");
    world.hydrate_all(&second);
    let dir = repository_cache(&world.dir.path().join("cache"));
    (world, second.as_str().to_owned(), dir)
}

/// The one repository directory under the cache root (beside its `.lock` file).
fn repository_cache(root: &Path) -> PathBuf {
    let dirs: Vec<PathBuf> = std::fs::read_dir(root)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        // `http/` holds the conditional-request validators, not a repository.
        .filter(|path| path.is_dir() && !path.ends_with("http"))
        .collect();
    assert_eq!(dirs.len(), 1, "{dirs:?}");
    dirs[0].clone()
}

/// Where the loose file of a private ref goes. promoter keeps them packed in `packed-refs`, so a
/// file written here is a loose ref that git reads in place of the packed one.
fn private_ref(cache: &Path, branch: &str) -> PathBuf {
    cache.join("refs/promoter/remote/heads").join(branch)
}

/// The next pass succeeds, promotes `dry`, and warns about the cache by its directory.
fn next_pass_repairs_the_cache(world: &World, dry: &str, cache: &Path) {
    let (_, stderr) = world.promotes(&["reconcile"], dry);
    let warning = stderr
        .lines()
        .find(|line| line.starts_with("warning:"))
        .unwrap_or_else(|| panic!("a warning about the cache: {stderr}"));
    assert!(
        warning.contains(&cache.display().to_string()),
        "names the cache: {warning}"
    );
    // Repaired for good: the pass after it has nothing to say about the cache.
    let (_, stderr) = output(&world.reconcile().success());
    assert!(!stderr.contains("warning:"), "{stderr}");
}

#[test]
fn a_zero_length_private_ref_is_repaired_with_a_warning() {
    let (world, dry, cache) = promoted_world_with_a_new_change();
    std::fs::write(private_ref(&cache, "environment/dev-next"), "").unwrap();
    next_pass_repairs_the_cache(&world, &dry, &cache);
}

#[test]
fn a_garbled_private_ref_is_repaired_with_a_warning() {
    let (world, dry, cache) = promoted_world_with_a_new_change();
    std::fs::write(private_ref(&cache, "environment/dev"), "not a sha at all\n").unwrap();
    next_pass_repairs_the_cache(&world, &dry, &cache);
}

#[test]
fn a_private_ref_holding_an_abbreviated_object_id_is_repaired_with_a_warning() {
    let (world, dry, cache) = promoted_world_with_a_new_change();
    let tip = world.live_tip(0);
    // libgit2 would read seven hex digits as an object id padded with zeros.
    let abbreviated = &tip.as_str()[..7];
    std::fs::write(
        private_ref(&cache, "environment/dev"),
        format!("{abbreviated}\n"),
    )
    .unwrap();
    next_pass_repairs_the_cache(&world, &dry, &cache);
}

#[test]
fn a_private_ref_naming_a_commit_the_cache_does_not_have_is_repaired_with_a_warning() {
    let (world, dry, cache) = promoted_world_with_a_new_change();
    let missing = "0123456789abcdef0123456789abcdef01234567";
    std::fs::write(
        private_ref(&cache, "environment/dev"),
        format!("{missing}\n"),
    )
    .unwrap();
    next_pass_repairs_the_cache(&world, &dry, &cache);
}

#[test]
fn a_stale_lock_beside_a_private_ref_is_removed_with_a_warning() {
    let (world, dry, cache) = promoted_world_with_a_new_change();
    let lock = cache.join("refs/promoter/remote/heads/environment/dev-next.lock");
    std::fs::write(&lock, "").unwrap();
    next_pass_repairs_the_cache(&world, &dry, &cache);
    assert!(!lock.exists());
}

#[test]
fn a_stale_packed_refs_lock_is_removed_with_a_warning() {
    let (world, dry, cache) = promoted_world_with_a_new_change();
    std::fs::write(cache.join("packed-refs.lock"), "").unwrap();
    next_pass_repairs_the_cache(&world, &dry, &cache);
}

#[test]
fn garbage_in_packed_refs_is_repaired_with_a_warning() {
    let (world, dry, cache) = promoted_world_with_a_new_change();
    std::fs::write(
        cache.join("packed-refs"),
        "# pack-refs with: peeled fully-peeled sorted\nzzzz refs/promoter/remote/heads/x\n\u{1}\u{2}garbage\n",
    )
    .unwrap();
    next_pass_repairs_the_cache(&world, &dry, &cache);
}

#[test]
fn a_private_ref_that_is_a_directory_is_repaired_with_a_warning() {
    let (world, dry, cache) = promoted_world_with_a_new_change();
    let reference = private_ref(&cache, "environment/dev-next");
    // Packed, so there is normally no loose file to replace.
    if reference.exists() {
        std::fs::remove_file(&reference).unwrap();
    }
    std::fs::create_dir_all(&reference).unwrap();
    std::fs::write(reference.join("junk"), "\u{0}\u{1}").unwrap();
    next_pass_repairs_the_cache(&world, &dry, &cache);
}

/// A plain file replaces the directory at `path`: the next pass fails naming it and the fix, and
/// the file is still there.
fn a_plain_file_at_fails_naming_it_and_is_left_alone(world: &World, path: &Path) {
    std::fs::remove_dir_all(path).unwrap();
    std::fs::write(path, "someone's notes\n").unwrap();

    let assert = world.reconcile().code(1);
    let (_, stderr) = output(&assert);
    assert!(
        stderr.contains(&path.display().to_string()) && stderr.contains("not a directory"),
        "{stderr}"
    );
    assert!(
        stderr.contains(&format!("hint: remove {}", path.display()))
            && stderr.contains("--cache-dir"),
        "{stderr}"
    );
    assert_eq!(
        std::fs::read_to_string(path).unwrap(),
        "someone's notes\n",
        "promoter does not delete a file it did not write"
    );
}

#[test]
fn a_plain_file_where_the_repository_cache_belongs_fails_naming_it_and_is_left_alone() {
    let (world, _, cache) = promoted_world_with_a_new_change();
    a_plain_file_at_fails_naming_it_and_is_left_alone(&world, &cache);
}

#[test]
fn a_cache_root_that_is_a_plain_file_fails_naming_it_and_is_left_alone() {
    let (world, _, _) = promoted_world_with_a_new_change();
    a_plain_file_at_fails_naming_it_and_is_left_alone(&world, &world.dir.path().join("cache"));
}
