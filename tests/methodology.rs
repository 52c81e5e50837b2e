//! The worked example of content/methodology.md, recomputed: the page and the code agree, and a
//! page that drifts from the code is caught.

use replyrank::site::check_worked_example;

#[test]
fn worked_example_matches_the_code() {
    let page = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/content/methodology.md"
    ))
    .unwrap();
    check_worked_example(&page).unwrap();
    assert!(
        page.contains("expect score 55"),
        "the example states its figures"
    );
}

#[test]
fn a_drifted_page_is_an_error() {
    let page = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/content/methodology.md"
    ))
    .unwrap();
    let drifted = page.replace("expect score 55", "expect score 56");
    let e = check_worked_example(&drifted).unwrap_err().to_string();
    assert!(e.contains("score = 56") && e.contains("computes 55"), "{e}");
}
