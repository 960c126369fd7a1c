//! Slowing password guessing down, one source address at a time.
//!
//! Each failed login is answered only after a delay that doubles with the
//! failures its source address has had recently: `auth.failure_delay_ms`
//! for the first, twice that for the second, and so on up to
//! `auth.failure_delay_max_ms`. An address with no failure for
//! `auth.failure_cooldown_s` starts again from the first delay. Other
//! addresses are not slowed, and a successful login is never delayed.
//!
//! IPv6 addresses count per /64, the block one host or site usually
//! holds, so an attacker cannot start afresh from every address of it.
//!
//! The table holds at most `auth.max_tracked_addresses` entries: when
//! full, the entries past their cool-down go first, then the address whose
//! last failure is oldest.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::config::AuthConfig;

/// One address's recent failures.
#[derive(Debug, Clone, Copy)]
struct Failures {
    count: u32,
    last: Instant,
}

/// Recent failed logins by source address.
#[derive(Debug, Default)]
pub(crate) struct FailedLogins {
    table: Mutex<HashMap<IpAddr, Failures>>,
}

impl FailedLogins {
    /// Records a failed login from `ip` at `now`; returns how long to wait
    /// before answering it.
    pub(crate) fn failed(&self, ip: IpAddr, cfg: &AuthConfig, now: Instant) -> Duration {
        if cfg.failure_delay.is_zero() {
            return Duration::ZERO;
        }
        let key = address_key(ip);
        let mut table = self.table.lock().expect("failed logins lock");
        if !table.contains_key(&key) && table.len() >= cfg.max_tracked_addresses {
            make_room(&mut table, cfg, now);
        }
        let entry = table.entry(key).or_insert(Failures {
            count: 0,
            last: now,
        });
        if now.duration_since(entry.last) >= cfg.failure_cooldown {
            entry.count = 0;
        }
        entry.count = entry.count.saturating_add(1);
        entry.last = now;
        delay_for(entry.count, cfg)
    }

    /// Addresses remembered now.
    #[cfg(test)]
    fn tracked(&self) -> usize {
        self.table.lock().expect("failed logins lock").len()
    }
}

/// The delay of an address's `count`th failure in a row (from 1).
fn delay_for(count: u32, cfg: &AuthConfig) -> Duration {
    let doublings = count.saturating_sub(1).min(31);
    cfg.failure_delay
        .saturating_mul(1 << doublings)
        .min(cfg.failure_delay_max)
}

/// Frees at least one place: entries past their cool-down, else the one
/// whose last failure is oldest.
fn make_room(table: &mut HashMap<IpAddr, Failures>, cfg: &AuthConfig, now: Instant) {
    table.retain(|_, f| now.duration_since(f.last) < cfg.failure_cooldown);
    if table.len() >= cfg.max_tracked_addresses
        && let Some(oldest) = table.iter().min_by_key(|(_, f)| f.last).map(|(ip, _)| *ip)
    {
        table.remove(&oldest);
    }
}

/// IPv4 addresses as they are (IPv4-mapped IPv6 too); IPv6 by its /64.
fn address_key(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(_) => ip,
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let bits = u128::from(v6) & !((1u128 << 64) - 1);
                IpAddr::V6(bits.into())
            }
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(max_tracked: usize) -> AuthConfig {
        AuthConfig {
            failure_delay: Duration::from_millis(100),
            failure_delay_max: Duration::from_millis(1000),
            failure_cooldown: Duration::from_secs(60),
            max_tracked_addresses: max_tracked,
        }
    }

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn delays_double_up_to_the_ceiling_per_address() {
        let f = FailedLogins::default();
        let c = cfg(100);
        let t = Instant::now();
        let a: IpAddr = "10.0.0.1".parse().unwrap();
        let b: IpAddr = "10.0.0.2".parse().unwrap();
        let delays: Vec<_> = (0..6).map(|_| f.failed(a, &c, t)).collect();
        assert_eq!(
            delays,
            [ms(100), ms(200), ms(400), ms(800), ms(1000), ms(1000)]
        );
        assert_eq!(
            f.failed(b, &c, t),
            ms(100),
            "other addresses are not slowed"
        );
    }

    #[test]
    fn the_cool_down_starts_an_address_afresh() {
        let f = FailedLogins::default();
        let c = cfg(100);
        let t = Instant::now();
        let a: IpAddr = "10.0.0.1".parse().unwrap();
        f.failed(a, &c, t);
        assert_eq!(f.failed(a, &c, t + Duration::from_secs(59)), ms(200));
        assert_eq!(f.failed(a, &c, t + Duration::from_secs(120)), ms(100));
    }

    #[test]
    fn the_table_is_bounded_and_keeps_the_busiest_recent_addresses() {
        let f = FailedLogins::default();
        let c = cfg(3);
        let t = Instant::now();
        for i in 0..10u8 {
            f.failed(IpAddr::from([10, 0, 0, i]), &c, t + ms(u64::from(i)));
            assert!(f.tracked() <= 3);
        }
        // The last three remain: .9 has one failure on record.
        assert_eq!(
            f.failed(IpAddr::from([10, 0, 0, 9]), &c, t + ms(20)),
            ms(200)
        );
    }

    #[test]
    fn ipv6_counts_per_64_and_mapped_ipv4_as_ipv4() {
        let f = FailedLogins::default();
        let c = cfg(100);
        let t = Instant::now();
        f.failed("2001:db8::1".parse().unwrap(), &c, t);
        assert_eq!(
            f.failed("2001:db8::ffff:2".parse().unwrap(), &c, t),
            ms(200)
        );
        f.failed("192.0.2.7".parse().unwrap(), &c, t);
        assert_eq!(
            f.failed("::ffff:192.0.2.7".parse().unwrap(), &c, t),
            ms(200)
        );
    }

    #[test]
    fn zero_initial_delay_turns_it_off() {
        let f = FailedLogins::default();
        let mut c = cfg(100);
        c.failure_delay = Duration::ZERO;
        let a: IpAddr = "10.0.0.1".parse().unwrap();
        assert_eq!(f.failed(a, &c, Instant::now()), Duration::ZERO);
        assert_eq!(f.tracked(), 0);
    }
}
