//! Staff: who may open the kiosk's staff panel, and the gate in front of it.
//!
//! Each staff member (`[[staff.operators]]` in `facekiosk.toml`) has a name and a PIN, kept
//! only as an Argon2id hash (`facekiosk staff hash-pin` makes one). A PIN typed on the kiosk
//! is checked against every hash; the one that matches names the operator, whom every staff
//! action is logged with. Wrong PINs are rate-limited: after `staff.max_pin_failures` in a
//! row the panel is locked for `staff.lockout_s`, doubled at each further lockout (up to an
//! hour), so a PIN cannot be guessed at the screen. An unlocked panel locks itself after
//! `staff.session_s` without use.
//!
//! Time is given (`now_ms`), never read here, so the gate is tested without waiting.

use argon2::Argon2;
use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use serde::{Deserialize, Serialize};

/// The `[staff]` section.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct StaffSection {
    /// Who may open the staff panel (none: the panel cannot be opened).
    pub operators: Vec<Operator>,
    /// Wrong PINs in a row before the panel locks.
    pub max_pin_failures: u32,
    /// How long the first lockout lasts, s (each further one doubles it, up to an hour).
    pub lockout_s: u64,
    /// An open staff panel locks itself after this long without use, s.
    pub session_s: u64,
    /// Staff may start walk-in sessions (the customer's ID photo taken with the kiosk's
    /// camera, the result queued like any other).
    pub walk_in: bool,
}

impl Default for StaffSection {
    fn default() -> Self {
        StaffSection {
            operators: Vec::new(),
            max_pin_failures: 5,
            lockout_s: 60,
            session_s: 120,
            walk_in: true,
        }
    }
}

/// A staff member.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Operator {
    /// The name their actions are logged with.
    pub name: String,
    /// Their PIN's Argon2id hash (a PHC string: `$argon2id$v=19$…`).
    pub pin_hash: String,
}

impl std::fmt::Debug for Operator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Operator")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

/// The longest lockout, ms.
const MAX_LOCKOUT_MS: u64 = 3_600_000;

impl StaffSection {
    /// Checks the values a type cannot: the message names the key.
    pub fn validate(&self) -> Result<(), String> {
        let mut names = std::collections::HashSet::new();
        for (i, o) in self.operators.iter().enumerate() {
            let name = o.name.trim();
            if name.is_empty() || name.chars().count() > 64 || name.chars().any(char::is_control) {
                return Err(format!(
                    "staff.operators[{i}].name = {:?}: expected 1 to 64 printable characters",
                    o.name
                ));
            }
            if !names.insert(name.to_lowercase()) {
                return Err(format!(
                    "staff.operators[{i}].name = {:?}: another operator has that name",
                    o.name
                ));
            }
            match PasswordHash::new(&o.pin_hash) {
                Ok(h) if h.algorithm.as_str() == "argon2id" => {}
                _ => {
                    return Err(format!(
                        "staff.operators[{i}].pin_hash (of {:?}) is not an Argon2id hash: make \
                         one with `facekiosk staff hash-pin`",
                        o.name
                    ));
                }
            }
        }
        if !(1..=20).contains(&self.max_pin_failures) {
            return Err(format!(
                "staff.max_pin_failures = {}: expected 1 to 20",
                self.max_pin_failures
            ));
        }
        if !(5..=3600).contains(&self.lockout_s) {
            return Err(format!(
                "staff.lockout_s = {}: expected 5 to 3600",
                self.lockout_s
            ));
        }
        if !(10..=3600).contains(&self.session_s) {
            return Err(format!(
                "staff.session_s = {}: expected 10 to 3600",
                self.session_s
            ));
        }
        Ok(())
    }
}

/// Whether `pin` has the form of a PIN: 4 to 12 digits.
pub fn is_pin(pin: &str) -> bool {
    (4..=12).contains(&pin.len()) && pin.bytes().all(|b| b.is_ascii_digit())
}

/// The Argon2id hash (PHC string) of a PIN, with a fresh random salt.
pub fn hash_pin(pin: &str) -> Result<String, String> {
    if !is_pin(pin) {
        return Err("a staff PIN is 4 to 12 digits".to_owned());
    }
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(pin.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| format!("cannot hash the PIN: {e}"))
}

/// Why the panel did not open.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StaffRefusal {
    /// No operator is configured.
    NotConfigured,
    /// Not a PIN of any operator; this many more wrong PINs lock the panel.
    Wrong {
        /// Wrong PINs left before the lockout.
        attempts_left: u32,
    },
    /// Locked after too many wrong PINs.
    Locked {
        /// Seconds until a PIN is checked again.
        retry_after_s: u64,
    },
}

impl StaffRefusal {
    /// The code the screen keys its text on.
    pub fn code(&self) -> &'static str {
        match self {
            StaffRefusal::NotConfigured => "STAFF_NOT_CONFIGURED",
            StaffRefusal::Wrong { .. } => "STAFF_PIN_WRONG",
            StaffRefusal::Locked { .. } => "STAFF_LOCKED",
        }
    }
}

impl std::fmt::Display for StaffRefusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StaffRefusal::NotConfigured => {
                f.write_str("no staff PIN is set ([[staff.operators]] in facekiosk.toml)")
            }
            StaffRefusal::Wrong { attempts_left } => {
                write!(f, "wrong PIN ({attempts_left} more before the panel locks)")
            }
            StaffRefusal::Locked { retry_after_s } => write!(
                f,
                "too many wrong PINs: the panel is locked for {retry_after_s} s"
            ),
        }
    }
}

/// The staff panel's lock: wrong PINs counted, lockouts, the open panel's operator.
#[derive(Debug, Default)]
pub struct StaffGate {
    failures: u32,
    lockouts: u32,
    locked_until_ms: u64,
    /// The operator of the open panel and when it was last used, ms.
    open: Option<(String, u64)>,
}

impl StaffGate {
    /// Checks a PIN; on success the panel is open for the operator it names (returned).
    /// While locked no PIN is checked at all, not even the right one.
    pub fn unlock(
        &mut self,
        section: &StaffSection,
        pin: &str,
        now_ms: u64,
    ) -> Result<String, StaffRefusal> {
        if section.operators.is_empty() {
            return Err(StaffRefusal::NotConfigured);
        }
        if now_ms < self.locked_until_ms {
            return Err(StaffRefusal::Locked {
                retry_after_s: (self.locked_until_ms - now_ms).div_ceil(1000),
            });
        }
        if is_pin(pin)
            && let Some(o) = section.operators.iter().find(|o| verify(&o.pin_hash, pin))
        {
            self.failures = 0;
            self.lockouts = 0;
            self.open = Some((o.name.clone(), now_ms));
            return Ok(o.name.clone());
        }
        self.failures += 1;
        if self.failures >= section.max_pin_failures {
            let ms = (section.lockout_s * 1000)
                .saturating_mul(1u64 << self.lockouts.min(12))
                .min(MAX_LOCKOUT_MS);
            self.failures = 0;
            self.lockouts += 1;
            self.locked_until_ms = now_ms + ms;
            return Err(StaffRefusal::Locked {
                retry_after_s: ms.div_ceil(1000),
            });
        }
        Err(StaffRefusal::Wrong {
            attempts_left: section.max_pin_failures - self.failures,
        })
    }

    /// The operator of the open panel, if it is open and was used within `staff.session_s`;
    /// using it keeps it open.
    pub fn operator(&mut self, section: &StaffSection, now_ms: u64) -> Option<String> {
        let (name, last) = self.open.as_mut()?;
        if now_ms.saturating_sub(*last) > section.session_s * 1000 {
            self.open = None;
            return None;
        }
        *last = now_ms;
        Some(name.clone())
    }

    /// Closes the panel; returns who had it open.
    pub fn lock(&mut self) -> Option<String> {
        self.open.take().map(|(name, _)| name)
    }
}

fn verify(hash: &str, pin: &str) -> bool {
    PasswordHash::new(hash).is_ok_and(|h| {
        Argon2::default()
            .verify_password(pin.as_bytes(), &h)
            .is_ok()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn section(pins: &[(&str, &str)]) -> StaffSection {
        StaffSection {
            operators: pins
                .iter()
                .map(|(name, pin)| Operator {
                    name: (*name).to_owned(),
                    pin_hash: hash_pin(pin).unwrap(),
                })
                .collect(),
            max_pin_failures: 3,
            lockout_s: 30,
            ..StaffSection::default()
        }
    }

    #[test]
    fn the_right_pin_names_its_operator_and_the_hash_never_holds_the_pin() {
        let s = section(&[("Amal", "2468"), ("Bruno", "135790")]);
        assert!(!s.operators[0].pin_hash.contains("2468"));
        assert!(s.operators[0].pin_hash.starts_with("$argon2id$"));
        // Two hashes of one PIN differ (salted).
        assert_ne!(hash_pin("2468").unwrap(), hash_pin("2468").unwrap());
        s.validate().unwrap();
        let mut gate = StaffGate::default();
        assert_eq!(gate.unlock(&s, "135790", 0).unwrap(), "Bruno");
        assert_eq!(gate.operator(&s, 1000).as_deref(), Some("Bruno"));
        assert_eq!(gate.lock().as_deref(), Some("Bruno"));
        assert_eq!(gate.operator(&s, 1000), None);
        assert_eq!(gate.unlock(&s, "2468", 2000).unwrap(), "Amal");
        assert!(!format!("{:?}", s.operators[0]).contains("argon2"));
    }

    #[test]
    fn wrong_pins_lock_the_panel_and_each_lockout_is_longer() {
        let s = section(&[("Amal", "2468")]);
        let mut gate = StaffGate::default();
        assert_eq!(
            gate.unlock(&s, "0000", 0),
            Err(StaffRefusal::Wrong { attempts_left: 2 })
        );
        // Not even a PIN's form counts as a wrong PIN.
        assert_eq!(
            gate.unlock(&s, "12a", 0),
            Err(StaffRefusal::Wrong { attempts_left: 1 })
        );
        assert_eq!(
            gate.unlock(&s, "1111", 1000),
            Err(StaffRefusal::Locked { retry_after_s: 30 })
        );
        // Locked: the right PIN is not even checked.
        assert_eq!(
            gate.unlock(&s, "2468", 20_500),
            Err(StaffRefusal::Locked { retry_after_s: 11 })
        );
        assert_eq!(gate.operator(&s, 20_500), None);
        // After the lockout, three more wrong: twice as long.
        for (t, left) in [(31_000, 2), (31_001, 1)] {
            assert_eq!(
                gate.unlock(&s, "9999", t),
                Err(StaffRefusal::Wrong {
                    attempts_left: left
                })
            );
        }
        assert_eq!(
            gate.unlock(&s, "9999", 31_002),
            Err(StaffRefusal::Locked { retry_after_s: 60 })
        );
        assert_eq!(gate.unlock(&s, "2468", 91_002).unwrap(), "Amal");
        // A success forgets the failures: three wrong again before a (first-length) lockout.
        assert_eq!(
            gate.unlock(&s, "0000", 92_000),
            Err(StaffRefusal::Wrong { attempts_left: 2 })
        );
    }

    #[test]
    fn an_open_panel_locks_itself_when_left_unused() {
        let s = section(&[("Amal", "2468")]);
        let mut gate = StaffGate::default();
        gate.unlock(&s, "2468", 0).unwrap();
        assert!(gate.operator(&s, 100_000).is_some());
        // Used at 100 s: open until 220 s.
        assert!(gate.operator(&s, 219_000).is_some());
        assert_eq!(gate.operator(&s, 340_001), None);
        assert_eq!(gate.operator(&s, 340_002), None);
    }

    #[test]
    fn no_operator_means_no_panel_and_bad_settings_name_their_key() {
        let mut gate = StaffGate::default();
        assert_eq!(
            gate.unlock(&StaffSection::default(), "2468", 0),
            Err(StaffRefusal::NotConfigured)
        );
        let mut s = section(&[("Amal", "2468")]);
        s.operators[0].pin_hash = "2468".to_owned();
        let e = s.validate().unwrap_err();
        assert!(
            e.contains("staff.operators[0].pin_hash") && e.contains("hash-pin"),
            "{e}"
        );
        let mut s = section(&[("Amal", "2468"), ("amal", "1357")]);
        assert!(s.validate().unwrap_err().contains("another operator"));
        s.operators.pop();
        s.lockout_s = 1;
        assert!(s.validate().unwrap_err().contains("staff.lockout_s = 1"));
        assert!(hash_pin("12").is_err() && hash_pin("1234567890123").is_err());
    }
}
