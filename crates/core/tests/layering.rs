//! The crate reads bottom up: lib.rs lists its modules so that each uses only those listed
//! before it (no import cycles), and every module is listed.

use std::collections::HashSet;
use std::fs;
use std::path::Path;

#[test]
fn each_module_uses_only_modules_listed_before_it() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let lib = fs::read_to_string(src.join("lib.rs")).unwrap();
    let order: Vec<String> = lib
        .lines()
        .filter_map(|line| {
            let line = line.trim().strip_prefix("pub ").unwrap_or(line.trim());
            line.strip_prefix("mod ")?
                .strip_suffix(';')
                .map(str::to_string)
        })
        .collect();
    let listed: HashSet<&str> = order.iter().map(String::as_str).collect();
    for entry in fs::read_dir(&src).unwrap() {
        let name = entry.unwrap().file_name().into_string().unwrap();
        let module = name.strip_suffix(".rs").unwrap();
        assert!(
            module == "lib" || listed.contains(module),
            "{module} is not in lib.rs"
        );
    }
    for (i, module) in order.iter().enumerate() {
        let text = fs::read_to_string(src.join(format!("{module}.rs"))).unwrap();
        for (at, _) in text.match_indices("crate::") {
            let used: String = text[at + 7..]
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect();
            if let Some(j) = order.iter().position(|m| *m == used) {
                assert!(j <= i, "{module} uses {used}, which lib.rs lists after it");
            }
        }
    }
}
