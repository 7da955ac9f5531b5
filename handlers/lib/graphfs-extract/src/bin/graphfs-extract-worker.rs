//! The confined extraction process on its own: what `graphfs extract-worker`
//! runs, in a binary a tenth the size. A tagger starts one per file, and
//! starting the whole `graphfs` binary (the loader rewriting 3.3 MB of
//! pointers) cost more CPU than extracting a small file (docs/performance.md).

use std::process::ExitCode;

fn main() -> ExitCode {
    // Speaks JSON on stdout to its parent: no logging set up here.
    graphfs_extract::child_main()
}
