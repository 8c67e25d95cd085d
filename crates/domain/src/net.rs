//! Which outbound targets Catalyst may call: webhook endpoint URLs and gateway endpoints.
//!
//! A merchant chooses these URLs, so without a check they reach whatever the server can reach:
//! loopback services, the cloud metadata address (169.254.169.254), private networks, or this
//! API itself. [`is_public`] classifies one address; [`TargetPolicy`] applies the rules to a URL
//! (before it is stored and again before each request) and to the addresses a name resolves to
//! (the HTTP clients' resolver). Hosts are parsed by the `url` crate, which normalises the
//! decimal, hex, octal and short IPv4 forms (`http://2130706433/`, `http://0x7f.1/`,
//! `http://127.1/` are all `127.0.0.1`).
//!
//! ```
//! use catalyst_domain::net::{TargetError, TargetPolicy};
//!
//! let policy = TargetPolicy::public_only().refusing_host("api.catalyst.example");
//! assert!(policy.check_url("https://merchant.example/hooks").is_ok());
//! assert_eq!(policy.check_url("http://0x7f.1/"), Err(TargetError::NotPublic));
//! assert_eq!(policy.check_url("https://api.catalyst.example/x"), Err(TargetError::OwnHost));
//! assert_eq!(policy.check_url("https://u:p@merchant.example/"), Err(TargetError::UserInfo));
//! // Private targets allowed (demos, tests): only the URL's form is checked.
//! assert!(TargetPolicy::allow_all().check_url("http://127.0.0.1:9000/").is_ok());
//! ```

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use url::{Host, Url};

/// Why a target is refused. The texts are the API's field messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TargetError {
    /// Not an absolute `http`/`https` URL with a host.
    #[error("Enter a valid URL.")]
    Invalid,
    /// `user:pass@` in the URL: credentials would end up in logs.
    #[error("Remove the user name and password from the URL.")]
    UserInfo,
    /// A loopback, private, link-local or otherwise non-public address (or `localhost`).
    #[error(
        "Enter a URL with a public address; private, loopback and link-local addresses are not allowed."
    )]
    NotPublic,
    /// The host of this API.
    #[error("Enter a URL outside this API.")]
    OwnHost,
}

/// The rules for outbound targets of one deployment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TargetPolicy {
    allow_private: bool,
    /// Lower-case hosts without a trailing dot (IPv6 without brackets).
    own_hosts: Vec<String>,
}

impl TargetPolicy {
    /// Every address allowed (demos, tests, `CATALYST_ALLOW_PRIVATE_TARGETS=true`); URLs must
    /// still be http(s) without user info.
    pub fn allow_all() -> TargetPolicy {
        TargetPolicy {
            allow_private: true,
            own_hosts: Vec::new(),
        }
    }

    /// Public addresses only (the livemode default).
    pub fn public_only() -> TargetPolicy {
        TargetPolicy {
            allow_private: false,
            own_hosts: Vec::new(),
        }
    }

    /// [`TargetPolicy::allow_all`] when `allow_private`, else [`TargetPolicy::public_only`].
    pub fn new(allow_private: bool) -> TargetPolicy {
        if allow_private {
            TargetPolicy::allow_all()
        } else {
            TargetPolicy::public_only()
        }
    }

    /// Also refuses `host` (a name or IP address: this API's own host) unless private targets
    /// are allowed. Empty hosts are ignored.
    pub fn refusing_host(mut self, host: &str) -> TargetPolicy {
        let host = normalise_host(host);
        if !host.is_empty() && !self.own_hosts.contains(&host) {
            self.own_hosts.push(host);
        }
        self
    }

    /// Whether non-public addresses are allowed.
    pub fn allows_private(&self) -> bool {
        self.allow_private
    }

    /// Checks a URL without resolving its host: http(s), no user info, and unless private
    /// targets are allowed, no non-public IP literal, no `localhost` and not this API's host.
    /// A name that resolves to a non-public address is caught by [`TargetPolicy::check_ip`] on
    /// each resolved address.
    pub fn check_url(&self, url: &str) -> Result<Url, TargetError> {
        let parsed = Url::parse(url.trim()).map_err(|_| TargetError::Invalid)?;
        if !matches!(parsed.scheme(), "http" | "https") {
            return Err(TargetError::Invalid);
        }
        if !parsed.username().is_empty() || parsed.password().is_some() {
            return Err(TargetError::UserInfo);
        }
        match parsed.host() {
            None => Err(TargetError::Invalid),
            Some(Host::Domain("")) => Err(TargetError::Invalid),
            Some(Host::Domain(name)) => self.check_name(name),
            Some(Host::Ipv4(ip)) => self.check_ip(IpAddr::V4(ip)),
            Some(Host::Ipv6(ip)) => self.check_ip(IpAddr::V6(ip)),
        }?;
        Ok(parsed)
    }

    /// Checks a host name before it is resolved: `localhost` (and `*.localhost`) and this API's
    /// own host are refused unless private targets are allowed.
    pub fn check_name(&self, name: &str) -> Result<(), TargetError> {
        if self.allow_private {
            return Ok(());
        }
        let name = normalise_host(name);
        if let Ok(ip) = name.parse::<IpAddr>() {
            return self.check_ip(ip);
        }
        if name == "localhost" || name.ends_with(".localhost") {
            return Err(TargetError::NotPublic);
        }
        if self.own_hosts.contains(&name) {
            return Err(TargetError::OwnHost);
        }
        Ok(())
    }

    /// Checks one address (an IP literal, or what a name resolved to).
    pub fn check_ip(&self, ip: IpAddr) -> Result<(), TargetError> {
        if self.allow_private {
            Ok(())
        } else if !is_public(ip) {
            Err(TargetError::NotPublic)
        } else if self
            .own_hosts
            .iter()
            .any(|h| h.parse::<IpAddr>().is_ok_and(|own| own == ip))
        {
            Err(TargetError::OwnHost)
        } else {
            Ok(())
        }
    }
}

/// Lower case, without IPv6 brackets or a trailing dot.
fn normalise_host(host: &str) -> String {
    let host = host.trim();
    let host = host
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host);
    host.trim_end_matches('.').to_ascii_lowercase()
}

/// True for an address on the public internet: not loopback, private, link-local, shared
/// (CGNAT), unspecified, broadcast, multicast, documentation, benchmarking or reserved, and for
/// IPv6 inside global unicast `2000::/3` (IPv4-mapped, NAT64 and 6to4 addresses are judged by
/// the IPv4 address they carry).
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_public_v4(v4),
        IpAddr::V6(v6) => is_public_v6(v6),
    }
}

/// IPv4 blocks that are not publicly routable (IANA special-purpose registry).
const NON_PUBLIC_V4: &[(Ipv4Addr, u8)] = &[
    (Ipv4Addr::new(0, 0, 0, 0), 8),       // "this network", unspecified
    (Ipv4Addr::new(10, 0, 0, 0), 8),      // private
    (Ipv4Addr::new(100, 64, 0, 0), 10),   // shared address space (CGNAT)
    (Ipv4Addr::new(127, 0, 0, 0), 8),     // loopback
    (Ipv4Addr::new(169, 254, 0, 0), 16),  // link-local, cloud metadata
    (Ipv4Addr::new(172, 16, 0, 0), 12),   // private
    (Ipv4Addr::new(192, 0, 0, 0), 24),    // IETF protocol assignments
    (Ipv4Addr::new(192, 0, 2, 0), 24),    // documentation (TEST-NET-1)
    (Ipv4Addr::new(192, 88, 99, 0), 24),  // 6to4 relay anycast (deprecated)
    (Ipv4Addr::new(192, 168, 0, 0), 16),  // private
    (Ipv4Addr::new(198, 18, 0, 0), 15),   // benchmarking
    (Ipv4Addr::new(198, 51, 100, 0), 24), // documentation (TEST-NET-2)
    (Ipv4Addr::new(203, 0, 113, 0), 24),  // documentation (TEST-NET-3)
    (Ipv4Addr::new(224, 0, 0, 0), 4),     // multicast
    (Ipv4Addr::new(240, 0, 0, 0), 4),     // reserved, and 255.255.255.255 broadcast
];

fn is_public_v4(ip: Ipv4Addr) -> bool {
    let bits = u32::from(ip);
    !NON_PUBLIC_V4.iter().any(|&(net, len)| {
        let mask = u32::MAX << (32 - u32::from(len));
        bits & mask == u32::from(net)
    })
}

fn is_public_v6(ip: Ipv6Addr) -> bool {
    let s = ip.segments();
    let bits = u128::from(ip);
    let v4_at = |shift: u32| Ipv4Addr::from((bits >> shift) as u32);
    if let Some(v4) = ip.to_ipv4_mapped() {
        return is_public_v4(v4);
    }
    // IPv4-compatible `::a.b.c.d` (deprecated, includes `::` and `::1`): never routed.
    if s[..6] == [0; 6] {
        return false;
    }
    // NAT64 well-known prefix 64:ff9b::/96 carries the IPv4 address in its last 32 bits.
    if s[..6] == [0x64, 0xff9b, 0, 0, 0, 0] {
        return is_public_v4(v4_at(0));
    }
    // 6to4 2002::/16 carries it in bits 16..48.
    if s[0] == 0x2002 {
        return is_public_v4(v4_at(80));
    }
    // Outside global unicast 2000::/3: ULA fc00::/7, link-local fe80::/10, site-local
    // fec0::/10, multicast ff00::/8, discard 100::/64, local NAT64 64:ff9b:1::/48, …
    if s[0] & 0xe000 != 0x2000 {
        return false;
    }
    // Inside it: IETF protocol assignments 2001::/23 (Teredo, benchmarking, ORCHID) and the
    // documentation blocks 2001:db8::/32 and 3fff::/20.
    let in_2001_23 = s[0] == 0x2001 && s[1] < 0x0200;
    let documentation = (s[0] == 0x2001 && s[1] == 0x0db8) || (s[0] == 0x3fff && s[1] < 0x1000);
    !(in_2001_23 || documentation)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn non_public_ipv4() {
        for a in [
            "0.0.0.0",
            "0.1.2.3",
            "10.0.0.1",
            "10.255.255.255",
            "100.64.0.1",
            "100.127.255.254",
            "127.0.0.1",
            "127.255.255.255",
            "169.254.169.254",
            "172.16.0.1",
            "172.31.255.255",
            "192.0.0.8",
            "192.0.2.1",
            "192.88.99.1",
            "192.168.1.1",
            "198.18.0.1",
            "198.19.255.255",
            "198.51.100.7",
            "203.0.113.7",
            "224.0.0.1",
            "239.255.255.250",
            "240.0.0.1",
            "255.255.255.255",
        ] {
            assert!(!is_public(ip(a)), "{a} is not public");
        }
    }

    #[test]
    fn public_ipv4_including_the_edges_of_the_blocks() {
        for a in [
            "1.1.1.1",
            "8.8.8.8",
            "9.255.255.255",
            "11.0.0.0",
            "100.63.255.255",
            "100.128.0.0",
            "126.255.255.255",
            "128.0.0.0",
            "169.253.255.255",
            "169.255.0.0",
            "172.15.255.255",
            "172.32.0.0",
            "192.0.1.0",
            "192.0.3.0",
            "192.167.255.255",
            "192.169.0.0",
            "198.17.255.255",
            "198.20.0.0",
            "203.0.112.255",
            "223.255.255.255",
        ] {
            assert!(is_public(ip(a)), "{a} is public");
        }
    }

    #[test]
    fn non_public_ipv6() {
        for a in [
            "::",
            "::1",
            "::127.0.0.1",
            "::8.8.8.8",
            "::ffff:127.0.0.1",
            "::ffff:169.254.169.254",
            "::ffff:10.0.0.1",
            "64:ff9b::127.0.0.1",
            "64:ff9b::a00:1",
            "64:ff9b:1::1",
            "2002:7f00:1::",
            "2002:a9fe:a9fe::1",
            "2002:c0a8:101::1",
            "100::1",
            "fc00::1",
            "fd12:3456::1",
            "fe80::1",
            "febf::1",
            "fec0::1",
            "ff02::1",
            "ff0e::1",
            "2001::1",
            "2001:0:4136:e378::1",
            "2001:2::1",
            "2001:10::1",
            "2001:db8::1",
            "2001:db8:ffff::1",
            "3fff::1",
            "3fff:fff::1",
            "4000::1",
            "5f00::1",
        ] {
            assert!(!is_public(ip(a)), "{a} is not public");
        }
    }

    #[test]
    fn public_ipv6() {
        for a in [
            "2606:4700:4700::1111",
            "2a00:1450:4001::1",
            "2001:200::1",
            "2001:db7::1",
            "2001:db9::1",
            "3fff:1000::1",
            "::ffff:8.8.8.8",
            "64:ff9b::808:808",
            "2002:808:808::1",
        ] {
            assert!(is_public(ip(a)), "{a} is public");
        }
    }

    #[test]
    fn hostile_url_forms_are_refused() {
        let policy = TargetPolicy::public_only().refusing_host("api.catalyst.example");
        for (url, why) in [
            ("http://127.0.0.1/", TargetError::NotPublic),
            ("http://2130706433/", TargetError::NotPublic),
            ("http://0x7f000001/", TargetError::NotPublic),
            ("http://0x7f.1/", TargetError::NotPublic),
            ("http://0177.0.0.1/", TargetError::NotPublic),
            ("http://127.1/", TargetError::NotPublic),
            ("http://%31%32%37.0.0.1/", TargetError::NotPublic),
            ("http://127.0.0.1./", TargetError::NotPublic),
            ("http://017700000001/", TargetError::NotPublic),
            ("http://127.000.000.001/", TargetError::NotPublic),
            ("http://0/", TargetError::NotPublic),
            (
                "http://\u{ff11}\u{ff12}\u{ff17}.0.0.1/",
                TargetError::NotPublic,
            ),
            ("http://[::ffff:a9fe:a9fe]/", TargetError::NotPublic),
            ("http://[0:0:0:0:0:ffff:127.0.0.1]/", TargetError::NotPublic),
            (
                "http://169.254.169.254/latest/meta-data/",
                TargetError::NotPublic,
            ),
            ("http://10.1.2.3:8080/", TargetError::NotPublic),
            ("http://100.100.100.200/", TargetError::NotPublic),
            ("http://0.0.0.0:5432/", TargetError::NotPublic),
            ("http://[::1]/", TargetError::NotPublic),
            ("http://[::ffff:127.0.0.1]/", TargetError::NotPublic),
            ("http://[::ffff:7f00:1]/", TargetError::NotPublic),
            ("http://[fd00::1]/", TargetError::NotPublic),
            ("http://[fe80::1%25eth0]/", TargetError::Invalid),
            ("http://localhost:8080/", TargetError::NotPublic),
            ("http://LOCALHOST./", TargetError::NotPublic),
            ("http://admin.localhost/", TargetError::NotPublic),
            ("https://api.catalyst.example/api/v1/", TargetError::OwnHost),
            ("https://API.Catalyst.Example./x", TargetError::OwnHost),
            ("https://user:pass@merchant.example/", TargetError::UserInfo),
            ("https://user@merchant.example/", TargetError::UserInfo),
            ("https://:pass@merchant.example/", TargetError::UserInfo),
            ("ftp://merchant.example/", TargetError::Invalid),
            ("file:///etc/passwd", TargetError::Invalid),
            ("gopher://127.0.0.1:6379/", TargetError::Invalid),
            ("not a url", TargetError::Invalid),
        ] {
            assert_eq!(policy.check_url(url).err(), Some(why), "{url}");
        }
    }

    #[test]
    fn public_urls_pass_and_come_back_parsed() {
        let policy = TargetPolicy::public_only().refusing_host("api.catalyst.example");
        for url in [
            "https://merchant.example/hooks?x=1",
            "http://8.8.8.8:8080/",
            "https://[2606:4700:4700::1111]/",
            "https://hooks.catalyst.example/",
            "https://localhost.merchant.example/",
        ] {
            assert!(policy.check_url(url).is_ok(), "{url}");
        }
        assert_eq!(
            policy.check_url(" http://0x8.8.8.8/").unwrap().host_str(),
            Some("8.8.8.8")
        );
    }

    #[test]
    fn allowing_private_targets_still_checks_the_form() {
        let policy = TargetPolicy::new(true).refusing_host("127.0.0.1");
        assert!(policy.allows_private());
        for url in [
            "http://127.0.0.1:9000/hook",
            "http://localhost/",
            "http://[::1]/",
            "http://169.254.169.254/",
        ] {
            assert!(policy.check_url(url).is_ok(), "{url}");
        }
        assert_eq!(
            policy.check_url("http://u:p@127.0.0.1/"),
            Err(TargetError::UserInfo)
        );
        assert_eq!(policy.check_url("ftp://x/"), Err(TargetError::Invalid));
        assert!(policy.check_ip(ip("10.0.0.1")).is_ok());
    }

    #[test]
    fn own_hosts_by_name_and_address() {
        let policy = TargetPolicy::new(false)
            .refusing_host("[2606:4700::1]")
            .refusing_host("8.8.4.4")
            .refusing_host("Pay.Example.")
            .refusing_host("");
        assert!(!policy.allows_private());
        assert_eq!(policy.check_ip(ip("8.8.4.4")), Err(TargetError::OwnHost));
        assert_eq!(
            policy.check_ip(ip("2606:4700::1")),
            Err(TargetError::OwnHost)
        );
        assert_eq!(policy.check_name("pay.example"), Err(TargetError::OwnHost));
        assert_eq!(policy.check_name("127.0.0.1"), Err(TargetError::NotPublic));
        assert_eq!(policy.check_name("8.8.4.4"), Err(TargetError::OwnHost));
        assert!(policy.check_name("merchant.example").is_ok());
        assert!(policy.check_ip(ip("8.8.8.8")).is_ok());
    }
}
