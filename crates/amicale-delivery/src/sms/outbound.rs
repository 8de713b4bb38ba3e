//! Requests to SMS providers leave from inside the network: an address an
//! administrator types must not reach the host's own services or the local
//! network (SSRF), unless the network says its provider lives there
//! (`sms_allow_private_urls`).

use std::net::IpAddr;

/// Whether `ip` is a public unicast address: not loopback, private,
/// link-local, shared (CGNAT), documentation, multicast or unspecified.
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(a) => {
            let o = a.octets();
            !(a.is_loopback()
                || a.is_private()
                || a.is_link_local()
                || a.is_broadcast()
                || a.is_documentation()
                || a.is_unspecified()
                || a.is_multicast()
                || o[0] == 0
                || (o[0] == 100 && (64..128).contains(&o[1]))
                || (o[0] == 192 && o[1] == 0 && o[2] == 0)
                || (o[0] == 198 && (o[1] == 18 || o[1] == 19))
                || o[0] >= 240)
        }
        IpAddr::V6(a) => {
            if let Some(v4) = a.to_ipv4_mapped() {
                return is_public(IpAddr::V4(v4));
            }
            let s = a.segments();
            let embedded = |hi: u16, lo: u16| {
                IpAddr::V4(std::net::Ipv4Addr::new(
                    (hi >> 8) as u8,
                    hi as u8,
                    (lo >> 8) as u8,
                    lo as u8,
                ))
            };
            // Prefixes that carry an IPv4 address reach what it is.
            if s[..6] == [0x64, 0xff9b, 0, 0, 0, 0] {
                return is_public(embedded(s[6], s[7]));
            }
            if s[0] == 0x2002 {
                return is_public(embedded(s[1], s[2]));
            }
            !(a.is_loopback()
                || a.is_unspecified()
                || a.is_multicast()
                || s[..6] == [0; 6]
                || (s[0] == 0x64 && s[1] == 0xff9b && s[2] == 1)
                || (s[0] == 0x2001 && s[1] == 0)
                || (s[0] & 0xfe00) == 0xfc00
                || (s[0] & 0xffc0) == 0xfe80
                || (s[0] & 0xffc0) == 0xfec0
                || (s[0] == 0x2001 && s[1] == 0x0db8))
        }
    }
}

/// Checks a provider address as typed: `https` (or `http` where private
/// targets are allowed, for a provider on the local network), a host, and
/// no literal address that is not public. Returns the trimmed address or
/// the locale key of the refusal.
pub fn check_url(allow_private: bool, s: &str) -> Result<String, &'static str> {
    let u = url::Url::parse(s.trim()).map_err(|_| "sms-error-url")?;
    let scheme_ok = u.scheme() == "https" || (allow_private && u.scheme() == "http");
    if !scheme_ok || u.host().is_none() || !u.username().is_empty() {
        return Err("sms-error-url");
    }
    if !allow_private {
        let literal = match u.host() {
            Some(url::Host::Ipv4(a)) => Some(IpAddr::V4(a)),
            Some(url::Host::Ipv6(a)) => Some(IpAddr::V6(a)),
            _ => None,
        };
        let local_name = u
            .host_str()
            .is_some_and(|h| h.eq_ignore_ascii_case("localhost") || h.ends_with(".localhost"));
        if literal.is_some_and(|ip| !is_public(ip)) || local_name {
            return Err("sms-error-url-private");
        }
    }
    Ok(s.trim().to_owned())
}

/// Resolves the host of `url` and refuses it when any of its addresses is
/// not public (a public name may point inside). Checked before each call.
pub async fn check_resolved(url: &str, allow_private: bool) -> Result<(), String> {
    if allow_private {
        return Ok(());
    }
    let u = url::Url::parse(url).map_err(|e| format!("provider address unreadable: {e}"))?;
    let host = u.host_str().ok_or("provider address without a host")?;
    let port = u.port_or_known_default().unwrap_or(443);
    let addrs = tokio::net::lookup_host((host.trim_matches(['[', ']']), port))
        .await
        .map_err(|e| format!("provider unreachable: {e}"))?;
    for a in addrs {
        if !is_public(a.ip()) {
            return Err(format!(
                "provider address refused: {host} points to a non-public address ({})",
                a.ip()
            ));
        }
    }
    Ok(())
}

/// The part of a provider's answer shown back to an administrator.
pub fn echo(body: &str) -> String {
    const MAX: usize = 500;
    let t = body.trim();
    match t.char_indices().nth(MAX) {
        Some((i, _)) => format!("{}…", &t[..i]),
        None => t.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn private_targets_are_refused() {
        for bad in [
            "http://api.example.com/sms",
            "https://127.0.0.1/sms",
            "https://10.1.2.3/",
            "https://169.254.169.254/latest/meta-data",
            "https://[::1]:8080/",
            "https://[fe80::1]/",
            "https://localhost/",
            "https://user:pw@api.example.com/",
            "file:///etc/passwd",
        ] {
            assert!(check_url(false, bad).is_err(), "{bad}");
        }
        for ip in [
            "64:ff9b::7f00:1",
            "64:ff9b:1::1",
            "::7f00:1",
            "2002:7f00:1::1",
            "2001:0:1::1",
            "fec0::1",
            "198.18.0.1",
            "::ffff:10.0.0.1",
        ] {
            assert!(!is_public(ip.parse().unwrap()), "{ip}");
        }
        assert!(is_public("2002:0808:0808::1".parse().unwrap()));
        assert!(is_public("64:ff9b::808:808".parse().unwrap()));
        assert!(check_url(false, "https://api.example.com/sms").is_ok());
        assert!(check_url(true, "http://127.0.0.1:9000/sms").is_ok());
        assert_eq!(echo(&"x".repeat(600)).chars().count(), 501);
    }
}
