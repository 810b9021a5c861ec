//! Old spellings of renamed keys: still read, with a warning naming the new key, so that a
//! club's configuration file keeps working across an upgrade. One idea, one name: field
//! of view bounds are `fov_min_deg` / `fov_max_deg` and angular speeds end in `_deg_s` in
//! every section, and the delay is `playout.delay_s` only (a retired `director.delay_ms`
//! that agrees with it is dropped with a warning, one that does not is refused).

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

/// Keys no longer read because another key holds the same idea: (section, key, the key
/// that holds it). `director.delay_ms` was the delay the director assumed before capture's
/// playout status arrives; the system has one delay, `playout.delay_s`.
pub const RETIRED: &[(&str, &str, &str)] = &[("director", "delay_ms", "playout.delay_s")];

/// Removes `director.delay_ms` from `doc`: a warning if it agrees with `playout.delay_s`
/// (7 s when unset), an error naming both keys if it does not.
pub fn retire(doc: &mut toml::Table) -> Result<Vec<String>, ConfigError> {
    let delay_s = match doc.get("playout").and_then(|p| p.get("delay_s")) {
        Some(toml::Value::Float(f)) => *f,
        Some(toml::Value::Integer(i)) => *i as f64,
        _ => super::PlayoutConfig::default().delay_s,
    };
    let Some(toml::Value::Table(t)) = doc.get_mut("director") else {
        return Ok(Vec::new());
    };
    let Some(v) = t.remove("delay_ms") else {
        return Ok(Vec::new());
    };
    let ms = match v {
        toml::Value::Integer(i) => i as f64,
        toml::Value::Float(f) => f,
        _ => f64::NAN,
    };
    if (ms - delay_s * 1000.0).abs() > 0.5 {
        return Err(ConfigError::invalid(
            "director.delay_ms",
            format!(
                "is no longer read: the director assumes the system's one delay, `playout.delay_s` ({delay_s} s), but this file sets {v}; remove `director.delay_ms`, and set `playout.delay_s` if that delay was meant"
            ),
        ));
    }
    Ok(vec![
        "config key `director.delay_ms` is no longer read: the director assumes `playout.delay_s`, which it equals; remove it from the file".into(),
    ])
}

/// True when `doc` uses any old spelling or retired key.
pub fn uses_old_names(doc: &toml::Table) -> bool {
    RENAMED.iter().chain(RETIRED).any(|(section, old, _)| {
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
    fn the_directors_delay_is_the_playout_delay() {
        let mut doc = table("[playout]\ndelay_s = 4.0\n[director]\ndelay_ms = 4000\n");
        assert!(uses_old_names(&doc));
        let notices = retire(&mut doc).unwrap();
        assert!(notices[0].contains("playout.delay_s"), "{notices:?}");
        assert!(!doc["director"].as_table().unwrap().contains_key("delay_ms"));
        // Unset playout.delay_s is the default 7 s.
        let mut doc = table("[director]\ndelay_ms = 7000\n");
        assert_eq!(retire(&mut doc).unwrap().len(), 1);
        let mut doc = table("[playout]\ndelay_s = 4.0\n[director]\ndelay_ms = 7000\n");
        let e = retire(&mut doc).unwrap_err().to_string();
        assert!(
            e.contains("director.delay_ms") && e.contains("playout.delay_s"),
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
