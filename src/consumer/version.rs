//! Which consumers are judged, at which versions: `--consumers qemu=10.2,libvirt=11.0`.
//!
//! The default is the strictest widely deployed pair, the one verified on Debian 12 with the
//! QEMU backport: libvirt 9.0.0 and QEMU 10.0.2.

use std::fmt;

/// A program that loads TLS credentials.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Consumer {
    /// libvirtd and libvirt clients (virsh), `virnettlscontext.c`/`virnettlscert.c`.
    Libvirt,
    /// QEMU's `tls-creds-x509` (qemu-nbd, qemu-img, VNC, migration, chardevs).
    Qemu,
}

impl Consumer {
    /// Every consumer, in report order.
    pub const ALL: [Consumer; 2] = [Consumer::Libvirt, Consumer::Qemu];

    /// Display name.
    pub fn name(self) -> &'static str {
        match self {
            Consumer::Libvirt => "libvirt",
            Consumer::Qemu => "QEMU",
        }
    }

    /// The first version of each range in which this consumer's rules differ, with a label for
    /// the range it starts (used to say which versions judge a certificate differently).
    pub fn ranges(self) -> &'static [(Version, &'static str)] {
        const LIBVIRT: [(Version, &str); 2] = [
            (Version::new(0, 0, 0), "libvirt up to 10.x"),
            (Version::new(11, 0, 0), "libvirt 11.0+"),
        ];
        const QEMU: [(Version, &str); 4] = [
            (Version::new(0, 0, 0), "QEMU up to 10.0.6"),
            (Version::new(10, 0, 7), "QEMU 10.0.7+ (10.0 stable)"),
            (Version::new(10, 1, 0), "QEMU 10.1"),
            (Version::new(10, 2, 0), "QEMU 10.2+"),
        ];
        match self {
            Consumer::Libvirt => &LIBVIRT,
            Consumer::Qemu => &QEMU,
        }
    }
}

/// A release number, `MAJOR.MINOR[.MICRO]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Version {
    /// Major.
    pub major: u16,
    /// Minor.
    pub minor: u16,
    /// Micro (0 when not given).
    pub micro: u16,
}

impl Version {
    /// A version.
    pub const fn new(major: u16, minor: u16, micro: u16) -> Self {
        Version {
            major,
            minor,
            micro,
        }
    }

    /// Parses `10`, `10.2` or `10.0.7`.
    pub fn parse(s: &str) -> Option<Version> {
        let mut parts = s.split('.');
        let mut next = |required: bool| -> Option<u16> {
            match parts.next() {
                Some(p) if !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()) => p.parse().ok(),
                None if !required => Some(0),
                _ => None,
            }
        };
        let v = Version::new(next(true)?, next(false)?, next(false)?);
        parts.next().is_none().then_some(v)
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}.{}", self.major, self.minor, self.micro)
    }
}

/// The versions a verdict is given for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Consumers {
    /// libvirt's version.
    pub libvirt: Version,
    /// QEMU's version.
    pub qemu: Version,
}

impl Default for Consumers {
    /// libvirt 9.0.0 and QEMU 10.0.2: the strictest widely deployed versions (Debian 12 with
    /// the QEMU backport), both verified by the interop tests.
    fn default() -> Self {
        Consumers {
            libvirt: Version::new(9, 0, 0),
            qemu: Version::new(10, 0, 2),
        }
    }
}

impl Consumers {
    /// The version judged for `c`.
    pub fn version(&self, c: Consumer) -> Version {
        match c {
            Consumer::Libvirt => self.libvirt,
            Consumer::Qemu => self.qemu,
        }
    }

    /// Parses `qemu=10.2,libvirt=11.0` (either or both; the other keeps its default).
    pub fn parse(s: &str) -> Result<Consumers, String> {
        let mut out = Consumers::default();
        for item in s.split(',') {
            let (name, ver) = item.split_once('=').ok_or_else(|| {
                format!("\"{item}\": expected NAME=VERSION, e.g. qemu=10.2,libvirt=11.0")
            })?;
            let v = Version::parse(ver.trim())
                .ok_or_else(|| format!("\"{ver}\": not a version (e.g. 10.2 or 10.0.7)"))?;
            match name.trim().to_ascii_lowercase().as_str() {
                "qemu" => out.qemu = v,
                "libvirt" => out.libvirt = v,
                other => {
                    return Err(format!(
                        "\"{other}\": unknown consumer (known: qemu, libvirt)"
                    ));
                }
            }
        }
        Ok(out)
    }
}

/// The label of the version range `v` falls in.
pub fn range_label(c: Consumer, v: Version) -> &'static str {
    c.ranges()
        .iter()
        .rev()
        .find(|(start, _)| v >= *start)
        .map_or("", |(_, label)| label)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_versions_and_consumer_lists() {
        assert_eq!(Version::parse("10.2"), Some(Version::new(10, 2, 0)));
        assert_eq!(Version::parse("10.0.7"), Some(Version::new(10, 0, 7)));
        assert_eq!(Version::parse("11"), Some(Version::new(11, 0, 0)));
        for bad in ["", "10.", "x", "10.2.3.4", "-1", "10..2"] {
            assert_eq!(Version::parse(bad), None, "{bad}");
        }
        let c = Consumers::parse("qemu=10.2,libvirt=11.0").unwrap();
        assert_eq!(c.qemu, Version::new(10, 2, 0));
        assert_eq!(c.libvirt, Version::new(11, 0, 0));
        let c = Consumers::parse("QEMU=10.0.7").unwrap();
        assert_eq!(c.libvirt, Consumers::default().libvirt);
        assert!(
            Consumers::parse("gnutls=3.7")
                .unwrap_err()
                .contains("unknown consumer")
        );
        assert!(
            Consumers::parse("qemu")
                .unwrap_err()
                .contains("NAME=VERSION")
        );
    }

    #[test]
    fn names_and_display() {
        assert_eq!(Consumer::Libvirt.name(), "libvirt");
        assert_eq!(Consumer::Qemu.name(), "QEMU");
        assert_eq!(Version::new(10, 0, 2).to_string(), "10.0.2");
        assert_eq!(
            Consumers::default().version(Consumer::Qemu).to_string(),
            "10.0.2"
        );
        // Only digits: Rust's integer parser would take a sign.
        assert_eq!(Version::parse("+10.2"), None);
        assert_eq!(Version::parse("10.+2"), None);
    }

    #[test]
    fn ranges_label_the_versions_that_differ() {
        assert_eq!(
            range_label(Consumer::Qemu, Version::new(10, 0, 6)),
            "QEMU up to 10.0.6"
        );
        assert_eq!(
            range_label(Consumer::Qemu, Version::new(10, 0, 7)),
            "QEMU 10.0.7+ (10.0 stable)"
        );
        assert_eq!(
            range_label(Consumer::Qemu, Version::new(10, 1, 2)),
            "QEMU 10.1"
        );
        assert_eq!(
            range_label(Consumer::Qemu, Version::new(11, 0, 0)),
            "QEMU 10.2+"
        );
        assert_eq!(
            range_label(Consumer::Libvirt, Version::new(9, 0, 0)),
            "libvirt up to 10.x"
        );
    }
}
