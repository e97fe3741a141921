//! The README's Rust snippet is examples/readme.rs, word for word, so that building and running
//! the example (bindings/rust/run-tests.sh does, from the repository root) tests the snippet.
use std::path::Path;

#[test]
fn readme_snippet_is_the_readme_example() {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    let readme = std::fs::read_to_string(manifest.join("../../../README.md")).unwrap();
    let section = readme.split("\n## Rust\n").nth(1).expect("README.md has a '## Rust' section");
    let section = section.split("\n## ").next().unwrap();
    let start = section.find("```rust\n").expect("the Rust section has a ```rust block") + "```rust\n".len();
    let end = start + section[start..].find("```").unwrap();
    let example = std::fs::read_to_string(manifest.join("examples/readme.rs")).unwrap();
    assert_eq!(&section[start..end], example, "README.md's Rust snippet and examples/readme.rs differ");
}
