//! Where partner webhooks may be sent: the guard against server-side request
//! forgery. A webhook host must resolve only to public unicast addresses:
//! loopback, private, shared (CGNAT), link-local (the cloud metadata service
//! at 169.254.169.254), multicast, broadcast, unspecified, documentation and
//! reserved ranges are refused, and so is every IPv6 address outside global
//! unicast, including the forms that embed IPv4 (mapped `::ffff:a.b.c.d`,
//! compatible, NAT64, 6to4). `localhost` names are refused without asking
//! DNS. The url parser has already turned decimal, octal and hex IPv4
//! spellings (`2130706433`, `0x7f.1`) into dotted addresses.
//!
//! The same rule runs when a subscription is created and at every delivery:
//! the delivery client resolves names through [`GuardedResolver`], so it
//! connects only to addresses that passed (a name re-pointed after
//! subscribing, DNS rebinding, is refused then); IP literals never reach a
//! resolver and are checked before sending. Dev and tests may allow private
//! targets (`JANTA_WEBHOOK_ALLOW_PRIVATE_NETS`); production refuses that.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::Duration;

/// Longest a name lookup may take before the host counts as unresolvable.
const LOOKUP_TIMEOUT: Duration = Duration::from_secs(5);

/// Which addresses webhooks may reach.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TargetPolicy {
    allow_private: bool,
}

/// Why a webhook target was refused.
#[derive(Debug, thiserror::Error)]
pub enum TargetError {
    /// The host is, or resolves to, an address webhooks may not reach.
    #[error("{host} is not a public address ({why})")]
    Forbidden {
        /// The host as written in the URL.
        host: String,
        /// Which kind of address it is.
        why: &'static str,
    },
    /// The name did not resolve (in time).
    #[error("{host} could not be resolved")]
    Unresolvable {
        /// The host as written in the URL.
        host: String,
    },
    /// Not an absolute URL with a host.
    #[error("is not a URL with a host")]
    NoHost,
}

impl TargetPolicy {
    /// Public addresses only (production).
    pub fn public_only() -> Self {
        TargetPolicy {
            allow_private: false,
        }
    }

    /// Any address, for receivers on this machine (dev and tests only).
    pub fn allowing_private() -> Self {
        TargetPolicy {
            allow_private: true,
        }
    }

    /// Refuses `ip` (written as `host`) unless the policy permits it.
    pub fn check_ip(&self, host: &str, ip: IpAddr) -> Result<(), TargetError> {
        match non_public_reason(ip) {
            Some(why) if !self.allow_private => Err(TargetError::Forbidden {
                host: host.to_string(),
                why,
            }),
            _ => Ok(()),
        }
    }

    /// The addresses `host` (an IP literal, bracketed for IPv6, or a name)
    /// stands for on `port`, provided every one of them is permitted.
    pub async fn resolve(&self, host: &str, port: u16) -> Result<Vec<SocketAddr>, TargetError> {
        if let Some(ip) = ip_literal(host) {
            self.check_ip(host, ip)?;
            return Ok(vec![SocketAddr::new(ip, port)]);
        }
        if !self.allow_private && is_localhost_name(host) {
            return Err(TargetError::Forbidden {
                host: host.to_string(),
                why: "a localhost name",
            });
        }
        let unresolvable = || TargetError::Unresolvable {
            host: host.to_string(),
        };
        let found = tokio::time::timeout(LOOKUP_TIMEOUT, tokio::net::lookup_host((host, port)))
            .await
            .map_err(|_| unresolvable())?
            .map_err(|_| unresolvable())?;
        let addrs: Vec<SocketAddr> = found.collect();
        if addrs.is_empty() {
            return Err(unresolvable());
        }
        for addr in &addrs {
            self.check_ip(host, addr.ip())?;
        }
        Ok(addrs)
    }

    /// Checks a webhook URL's host (resolving names) at subscription time.
    pub async fn check_url(&self, url: &str) -> Result<(), TargetError> {
        let parsed = reqwest::Url::parse(url).map_err(|_| TargetError::NoHost)?;
        let host = parsed.host_str().ok_or(TargetError::NoHost)?;
        let port = parsed.port_or_known_default().ok_or(TargetError::NoHost)?;
        self.resolve(host, port).await.map(|_| ())
    }
}

/// The address in `host` when it is an IP literal (`127.0.0.1`, `[::1]`).
pub fn ip_literal(host: &str) -> Option<IpAddr> {
    let bare = host
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host);
    bare.parse().ok()
}

/// `localhost` and its subdomains (RFC 6761), in any case, with or without
/// the trailing root dot.
fn is_localhost_name(host: &str) -> bool {
    let name = host.trim_end_matches('.').to_ascii_lowercase();
    name == "localhost" || name.ends_with(".localhost")
}

/// Why `ip` is not a public unicast address, or `None` when it is one.
pub fn non_public_reason(ip: IpAddr) -> Option<&'static str> {
    match ip {
        IpAddr::V4(v4) => v4_reason(v4),
        IpAddr::V6(v6) => v6_reason(v6),
    }
}

fn v4_reason(ip: Ipv4Addr) -> Option<&'static str> {
    let [a, b, c, _] = ip.octets();
    let why = match (a, b, c) {
        (0, _, _) => "unspecified",
        (127, _, _) => "loopback",
        (10, _, _) | (192, 168, _) => "private",
        (172, 16..=31, _) => "private",
        (169, 254, _) => "link-local",
        (100, 64..=127, _) => "shared address space",
        (192, 0, 0) => "IETF protocol assignment",
        (192, 0, 2) | (198, 51, 100) | (203, 0, 113) => "documentation",
        (198, 18..=19, _) => "benchmarking",
        (224..=239, _, _) => "multicast",
        _ if ip.is_broadcast() => "broadcast",
        (240..=255, _, _) => "reserved",
        _ => return None,
    };
    Some(why)
}

fn v6_reason(ip: Ipv6Addr) -> Option<&'static str> {
    let s = ip.segments();
    let why = if ip.is_unspecified() {
        "unspecified"
    } else if ip.is_loopback() {
        "loopback"
    } else if ip.to_ipv4_mapped().is_some() {
        "IPv4-mapped"
    } else if s[..6] == [0; 6] {
        "IPv4-compatible"
    } else if s[0] == 0x64 && s[1] == 0xff9b {
        "NAT64"
    } else if s[0] & 0xfe00 == 0xfc00 {
        "private"
    } else if s[0] & 0xffc0 == 0xfe80 {
        "link-local"
    } else if s[0] & 0xff00 == 0xff00 {
        "multicast"
    } else if s[0] & 0xe000 != 0x2000 {
        "reserved"
    } else if s[0] == 0x2001 && s[1] == 0x0db8 {
        "documentation"
    } else if s[0] == 0x2001 && s[1] < 0x0200 {
        "IETF protocol assignment"
    } else if s[0] == 0x2002 {
        "6to4"
    } else {
        return None;
    };
    Some(why)
}

/// Name resolution for the delivery client: resolves like the system does,
/// then refuses the name unless every address passes the policy, so the
/// connection goes only to checked addresses.
pub struct GuardedResolver(pub TargetPolicy);

impl reqwest::dns::Resolve for GuardedResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let policy = self.0;
        Box::pin(async move {
            // Port 0: the client puts the URL's port in.
            let addrs = policy.resolve(name.as_str(), 0).await?;
            Ok(Box::new(addrs.into_iter()) as reqwest::dns::Addrs)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn host_of(url: &str) -> IpAddr {
        let parsed = reqwest::Url::parse(url).unwrap();
        ip_literal(parsed.host_str().unwrap()).unwrap_or_else(|| panic!("{url} is a name"))
    }

    #[test]
    fn every_spelling_of_an_internal_address_is_refused() {
        let refused = [
            ("http://127.0.0.1:8080/", "loopback"),
            ("http://2130706433/", "loopback"),
            ("http://0x7f.1/", "loopback"),
            ("http://0177.0.0.1/", "loopback"),
            ("http://127.1/", "loopback"),
            ("http://0.0.0.0/", "unspecified"),
            ("http://[::]/", "unspecified"),
            ("http://[::1]/", "loopback"),
            ("http://[::ffff:127.0.0.1]/", "IPv4-mapped"),
            ("http://[::ffff:8.8.8.8]/", "IPv4-mapped"),
            ("http://[::127.0.0.1]/", "IPv4-compatible"),
            ("http://[64:ff9b::7f00:1]/", "NAT64"),
            ("http://169.254.169.254/latest/meta-data", "link-local"),
            ("http://10.0.0.1/", "private"),
            ("http://172.16.0.1/", "private"),
            ("http://172.31.255.255/", "private"),
            ("http://192.168.0.1/", "private"),
            ("http://100.64.0.1/", "shared address space"),
            ("http://224.0.0.1/", "multicast"),
            ("http://255.255.255.255/", "broadcast"),
            ("http://240.0.0.1/", "reserved"),
            ("http://192.0.2.1/", "documentation"),
            ("http://[fe80::1]/", "link-local"),
            ("http://[fd12:3456::1]/", "private"),
            ("http://[ff02::1]/", "multicast"),
            ("http://[2001:db8::1]/", "documentation"),
            ("http://[2001::1]/", "IETF protocol assignment"),
            ("http://[2002:7f00:1::]/", "6to4"),
        ];
        for (url, why) in refused {
            assert_eq!(non_public_reason(host_of(url)), Some(why), "{url}");
        }
        for url in [
            "https://8.8.8.8/",
            "https://172.32.0.1/",
            "https://100.128.0.1/",
            "https://[2606:4700::1111]/",
        ] {
            assert_eq!(non_public_reason(host_of(url)), None, "{url}");
        }
    }

    #[tokio::test]
    async fn names_and_literals_pass_through_one_rule() {
        let strict = TargetPolicy::public_only();
        for url in [
            "http://localhost:9000/",
            "http://LOCALHOST./",
            "http://a.b.localhost/",
            "http://127.0.0.1/",
            "http://[::ffff:7f00:1]/",
        ] {
            assert!(
                matches!(
                    strict.check_url(url).await,
                    Err(TargetError::Forbidden { .. })
                ),
                "{url}"
            );
        }
        assert!(strict.check_url("https://93.184.215.14/").await.is_ok());
        let dev = TargetPolicy::allowing_private();
        assert!(dev.check_url("http://localhost:9000/").await.is_ok());
        assert!(dev.check_url("http://127.0.0.1:9/").await.is_ok());
    }
}
