fn main() {
    let path = std::env::args().nth(1).unwrap();
    let text = std::fs::read_to_string(&path).unwrap();
    for d in loopwise::analysis::lint_source(&text, None, &loopwise::analysis::LintSettings::default()) {
        println!("{}:{} {} {}", d.range.start, d.range.end, d.rule, d.message);
    }
}
