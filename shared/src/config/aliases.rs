//! Old spellings of renamed keys: still read, with a warning naming the new key, so that a
//! club's configuration file keeps working across an upgrade. One idea, one name: field
//! of view bounds are `fov_min_deg` / `fov_max_deg` and angular speeds end in `_deg_s` in
//! every section.

use super::ConfigError;

/// (section, old key, new key).
pub const RENAMED: &[(&str, &str, &str)] = &[
    ("playout", "min_fov_deg", "fov_min_deg"),
    ("playout", "max_fov_deg", "fov_max_deg"),
    ("playout", "fallback_speed_dps", "fallback_speed_deg_s"),
    ("playout", "blend_speed_dps", "blend_speed_deg_s"),
];

/// Renames the old keys found in `doc` to their new names; returns one warning per key moved.
/// A file that sets both spellings of one key is refused, naming both.
pub fn migrate(doc: &mut toml::Table) -> Result<Vec<String>, ConfigError> {
    let mut notices = Vec::new();
    for (section, old, new) in RENAMED {
        let Some(toml::Value::Table(t)) = doc.get_mut(*section) else {
            continue;
        };
        let Some(v) = t.remove(*old) else {
            continue;
        };
        if t.contains_key(*new) {
            return Err(ConfigError::invalid(
                &format!("{section}.{old}"),
                format!(
                    "is the old name of `{section}.{new}`, which is also set: keep only `{new}`"
                ),
            ));
        }
        t.insert((*new).to_string(), v);
        notices.push(format!(
            "config key `{section}.{old}` is deprecated: it was read as `{section}.{new}`; rename it in the file"
        ));
    }
    Ok(notices)
}

/// True when `doc` uses any old spelling.
pub fn uses_old_names(doc: &toml::Table) -> bool {
    RENAMED.iter().any(|(section, old, _)| {
        matches!(doc.get(*section), Some(toml::Value::Table(t)) if t.contains_key(*old))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(text: &str) -> toml::Table {
        text.parse().unwrap()
    }

    #[test]
    fn an_old_key_moves_to_its_new_name_with_a_notice() {
        let mut t = table("[playout]\nmin_fov_deg = 12.0\nblend_speed_dps = 30.0\n");
        assert!(uses_old_names(&t));
        let n = migrate(&mut t).unwrap();
        assert_eq!(n.len(), 2);
        assert!(n[0].contains("playout.min_fov_deg") && n[0].contains("playout.fov_min_deg"));
        let p = t["playout"].as_table().unwrap();
        assert_eq!(p["fov_min_deg"].as_float(), Some(12.0));
        assert_eq!(p["blend_speed_deg_s"].as_float(), Some(30.0));
        assert!(!p.contains_key("min_fov_deg"));
        assert!(!uses_old_names(&t));
    }

    #[test]
    fn both_spellings_at_once_are_refused_naming_both() {
        let mut t = table("[playout]\nmax_fov_deg = 60.0\nfov_max_deg = 70.0\n");
        let e = migrate(&mut t).unwrap_err().to_string();
        assert!(
            e.contains("playout.max_fov_deg") && e.contains("fov_max_deg"),
            "{e}"
        );
    }

    #[test]
    fn new_names_pass_untouched() {
        let mut t = table("[playout]\nfov_min_deg = 12.0\n[director]\nfov_min_deg = 10.0\n");
        assert!(!uses_old_names(&t));
        assert!(migrate(&mut t).unwrap().is_empty());
    }
}
