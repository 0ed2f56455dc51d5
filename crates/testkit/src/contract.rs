//! The client contract (`tests/contract/operations.graphql`), compiled in,
//! so that end-to-end tests and the benchmarks send exactly what clients
//! send, each operation by its name.

/// The contract's living copy.
const CONTRACT: &str = include_str!("../../../tests/contract/operations.graphql");

/// The text of the contract's operation `name`, exactly as written; panics
/// when the contract has no such operation (a test naming one that is not
/// agreed is wrong).
pub fn operation(name: &str) -> String {
    let lines: Vec<&str> = CONTRACT.lines().collect();
    let start = lines
        .iter()
        .position(|l| {
            let mut words = l.split(|c: char| c.is_whitespace() || c == '(' || c == '{');
            matches!(words.next(), Some("query" | "mutation")) && words.next() == Some(name)
        })
        .unwrap_or_else(|| panic!("operation {name} not in the contract"));
    let mut depth = 0i32;
    let mut text = String::new();
    for line in &lines[start..] {
        text.push_str(line);
        text.push('\n');
        depth += line.matches('{').count() as i32 - line.matches('}').count() as i32;
        if depth == 0 && line.contains('}') {
            break;
        }
    }
    text
}

#[cfg(test)]
mod tests {
    use super::operation;

    #[test]
    fn an_operation_is_cut_out_whole_and_alone() {
        let me = operation("Me");
        assert!(me.starts_with("query Me"), "{me}");
        assert_eq!(me.matches('{').count(), me.matches('}').count());
        assert!(!me.contains("query SearchMedicines"), "{me}");
    }
}
