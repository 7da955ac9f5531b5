//! Prints the CRDs generated from the Rust types (`make crds`).

fn main() -> std::process::ExitCode {
    match graphfs_operator::crds_yaml() {
        Ok(y) => {
            print!("{y}");
            std::process::ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("crdgen: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}
