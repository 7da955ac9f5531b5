//! crds/ is generated from the Rust types; this fails when they drift.

#[test]
fn crds_folder_matches_the_types() {
    let generated = graphfs_operator::crds_yaml().unwrap();
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../crds/graphfs.yaml");
    let on_disk = std::fs::read_to_string(path).unwrap();
    assert!(
        generated == on_disk,
        "crds/graphfs.yaml is out of date with operator/src/crd.rs: run `make crds`"
    );
}
