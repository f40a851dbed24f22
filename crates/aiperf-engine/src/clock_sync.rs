//! Clock offsets between shards (issue 24).
//!
//! Each shard of a sharded run stamps its records with its own run [`Clock`]; the merge shifts
//! every shard's times onto the reference shard's (shard 0) time base. This module measures that
//! shift NTP-style over UDP: the reference answers probes with its receive and send times, and a
//! shard keeps the probe with the smallest round trip, whose half is a hard bound on the error.
//!
//! Wire format (little endian):
//! - probe, 16 bytes: [`MAGIC`] + `u64` nonce;
//! - answer, 32 bytes: [`MAGIC`] + nonce + `t1` (reference wall ns at receipt) + `t2` (reference
//!   wall ns at send).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use aiperf_core::Clock;
use tokio::net::UdpSocket;
use tokio::task::JoinHandle;

/// Leads every datagram so stray traffic on the port is ignored.
const MAGIC: &[u8; 8] = b"AIPCLK01";
const PROBE_LEN: usize = 16;
const ANSWER_LEN: usize = 32;
/// Large enough that an oversized datagram is seen as oversized rather than truncated to a valid length.
const RECV_BUF: usize = 64;
/// Pause between attempts before the reference has answered, so a refused port does not spin.
const MIN_RETRY: Duration = Duration::from_millis(50);

/// One offset estimate of this process' clock against the reference's.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Offset {
    /// Add to this process' wall ns to get the reference's (theta), ns, signed.
    pub offset_ns: i64,
    /// Half the smallest round trip among the samples: a hard bound on the error of offset_ns
    /// under any path asymmetry.
    pub uncertainty_ns: u64,
    /// Probes answered.
    pub samples: u32,
}

/// Wall ns on this process' time base, the unit every timestamp of the exchange is in.
fn wall_ns(clock: &Clock) -> u64 {
    clock.to_wall_ns(clock.now_ns())
}

/// NTP offset and round-trip delay from one exchange: `t0` local send, `t1` reference receipt,
/// `t2` reference send, `t3` local receipt. In i128 so that no wall-ns difference can overflow;
/// the delay is clamped at 0 (clock granularity can make it slightly negative).
fn offset_of(t0: u64, t1: u64, t2: u64, t3: u64) -> (i64, u64) {
    let (t0, t1, t2, t3) = (t0 as i128, t1 as i128, t2 as i128, t3 as i128);
    let theta = ((t1 - t0) + (t2 - t3)) / 2;
    let delta = ((t3 - t0) - (t2 - t1)).max(0);
    let theta = theta.clamp(i64::MIN as i128, i64::MAX as i128) as i64;
    let delta = delta.min(u64::MAX as i128) as u64;
    (theta, delta)
}

/// The nonce of a well-formed probe, `None` for anything else.
fn parse_probe(buf: &[u8]) -> Option<u64> {
    if buf.len() != PROBE_LEN || &buf[..8] != MAGIC {
        return None;
    }
    Some(u64::from_le_bytes(buf[8..16].try_into().ok()?))
}

/// The reference's answer to `buf` stamped with `t1`/`t2`, `None` when `buf` is not a probe.
fn answer(buf: &[u8], t1: u64, t2: u64) -> Option<[u8; ANSWER_LEN]> {
    let nonce = parse_probe(buf)?;
    let mut out = [0u8; ANSWER_LEN];
    out[..8].copy_from_slice(MAGIC);
    out[8..16].copy_from_slice(&nonce.to_le_bytes());
    out[16..24].copy_from_slice(&t1.to_le_bytes());
    out[24..32].copy_from_slice(&t2.to_le_bytes());
    Some(out)
}

fn probe(nonce: u64) -> [u8; PROBE_LEN] {
    let mut out = [0u8; PROBE_LEN];
    out[..8].copy_from_slice(MAGIC);
    out[8..].copy_from_slice(&nonce.to_le_bytes());
    out
}

/// `(t1, t2)` of an answer to probe `nonce`; `None` for malformed or stale answers.
fn parse_answer(buf: &[u8], nonce: u64) -> Option<(u64, u64)> {
    if buf.len() != ANSWER_LEN || &buf[..8] != MAGIC {
        return None;
    }
    let got = u64::from_le_bytes(buf[8..16].try_into().ok()?);
    if got != nonce {
        return None;
    }
    let t1 = u64::from_le_bytes(buf[16..24].try_into().ok()?);
    let t2 = u64::from_le_bytes(buf[24..32].try_into().ok()?);
    Some((t1, t2))
}

/// The reference side: answers probes until dropped/aborted.
pub(crate) struct ReferenceServer {
    task: JoinHandle<()>,
    /// Where it listens (tests bind port 0 and need the port picked).
    #[cfg(test)]
    local_addr: SocketAddr,
}

impl ReferenceServer {
    /// Binds UDP `addr` (e.g. 0.0.0.0:7787, or 127.0.0.1:0 in tests) and answers each probe in a
    /// spawned tokio task. Answers are sent inline (not per-probe tasks) so that `t2` is as close
    /// to the actual send as possible.
    pub(crate) async fn bind(addr: SocketAddr, clock: Clock) -> std::io::Result<ReferenceServer> {
        let socket = Arc::new(UdpSocket::bind(addr).await?);
        #[cfg(test)]
        let local_addr = socket.local_addr()?;
        let task = tokio::spawn(async move {
            let mut buf = [0u8; RECV_BUF];
            loop {
                let (len, peer) = match socket.recv_from(&mut buf).await {
                    Ok(got) => got,
                    Err(e) => {
                        // E.g. ICMP errors reported on some platforms: not fatal, but don't spin.
                        tracing::debug!("clock sync reference: recv failed: {e}");
                        tokio::time::sleep(Duration::from_millis(1)).await;
                        continue;
                    }
                };
                let t1 = wall_ns(&clock);
                let Some(reply) = answer(&buf[..len], t1, wall_ns(&clock)) else {
                    continue;
                };
                if let Err(e) = socket.send_to(&reply, peer).await {
                    tracing::debug!("clock sync reference: answer to {peer} failed: {e}");
                }
            }
        });
        Ok(ReferenceServer {
            task,
            #[cfg(test)]
            local_addr,
        })
    }

    #[cfg(test)]
    pub(crate) fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }
}

impl Drop for ReferenceServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Resolves `reference` and returns a UDP socket connected to it (connected so that only its
/// answers are received, and a refused port surfaces as an error instead of a silent timeout).
/// `attempt` picks among the resolved addresses in turn, so a name that resolves to an address
/// the reference does not listen on (IPv6 first, say) does not hide the one it does.
async fn connect(
    reference: &str,
    give_up_at: tokio::time::Instant,
    attempt: usize,
) -> Result<UdpSocket, String> {
    let addrs: Vec<SocketAddr> =
        tokio::time::timeout_at(give_up_at, tokio::net::lookup_host(reference))
            .await
            .map_err(|_| "resolution timed out".to_string())?
            .map_err(|e| format!("resolution failed: {e}"))?
            .collect();
    let target = *addrs
        .get(attempt % addrs.len().max(1))
        .ok_or_else(|| "resolved to no address".to_string())?;
    let local: SocketAddr = if target.is_ipv4() {
        ([0u8; 4], 0).into()
    } else {
        ([0u16; 8], 0).into()
    };
    let socket = UdpSocket::bind(local)
        .await
        .map_err(|e| format!("bind {local}: {e}"))?;
    socket
        .connect(target)
        .await
        .map_err(|e| format!("connect {target}: {e}"))?;
    Ok(socket)
}

/// One probe: `Ok(Some((offset, delta)))` when answered by `deadline`, `Ok(None)` on timeout,
/// `Err` on a socket error (e.g. connection refused).
async fn exchange(
    socket: &UdpSocket,
    clock: &Clock,
    nonce: u64,
    deadline: tokio::time::Instant,
) -> std::io::Result<Option<(i64, u64)>> {
    let request = probe(nonce);
    let t0 = wall_ns(clock);
    socket.send(&request).await?;
    let mut buf = [0u8; RECV_BUF];
    loop {
        let len = match tokio::time::timeout_at(deadline, socket.recv(&mut buf)).await {
            Ok(res) => res?,
            Err(_) => return Ok(None),
        };
        let t3 = wall_ns(clock);
        // Stale answers to earlier timed-out probes carry an older nonce: keep waiting.
        if let Some((t1, t2)) = parse_answer(&buf[..len], nonce) {
            return Ok(Some(offset_of(t0, t1, t2, t3)));
        }
    }
}

/// Probes `reference` (`host:port`, resolved with tokio::net::lookup_host) `probes` times, `gap`
/// apart, each waiting at most `timeout` for its answer; keeps the sample with the smallest round
/// trip delta. Retries resolution/sending until `give_up_at` while nothing has answered yet (the
/// reference may start later than this shard); the first answered probe counts as the first of
/// `probes` (at least one). Err with a one-line reason naming the address when no probe was
/// answered by then.
pub(crate) async fn estimate(
    reference: &str,
    clock: &Clock,
    probes: u32,
    gap: Duration,
    timeout: Duration,
    give_up_at: tokio::time::Instant,
) -> Result<Offset, String> {
    let probes = probes.max(1);
    // Distinct per call so answers meant for another estimate can never match.
    let mut nonce = wall_ns(clock) ^ u64::from(std::process::id()).rotate_left(32);
    let mut socket: Option<UdpSocket> = None;
    let mut last_error = "no answer".to_string();
    let mut attempt = 0usize;

    // Until the reference first answers: retry until `give_up_at`.
    let (first, socket) = loop {
        let now = tokio::time::Instant::now();
        if now >= give_up_at {
            return Err(format!(
                "clock sync: reference {reference} did not answer before the deadline ({last_error})"
            ));
        }
        if socket.is_none() {
            match connect(reference, give_up_at, attempt).await {
                Ok(s) => socket = Some(s),
                Err(e) => last_error = e,
            }
        }
        if let Some(s) = &socket {
            nonce = nonce.wrapping_add(1);
            let deadline = (tokio::time::Instant::now() + timeout).min(give_up_at);
            match exchange(s, clock, nonce, deadline).await {
                Ok(Some(sample)) => break (sample, socket.take().expect("checked above")),
                Ok(None) => {
                    last_error = format!("no answer within {timeout:?}");
                    attempt += 1;
                    socket = None;
                }
                Err(e) => {
                    last_error = e.to_string();
                    // Re-resolve next time (the name may now point elsewhere), and try the
                    // next address it resolves to.
                    attempt += 1;
                    socket = None;
                }
            }
        }
        let retry_at = (tokio::time::Instant::now() + gap.max(MIN_RETRY)).min(give_up_at);
        tokio::time::sleep_until(retry_at).await;
    };

    let mut best = first;
    let mut samples = 1u32;
    // The deadline holds for these probes too: a lossy path must not delay the start.
    for _ in 1..probes {
        tokio::time::sleep(gap).await;
        if tokio::time::Instant::now() >= give_up_at {
            break;
        }
        nonce = nonce.wrapping_add(1);
        let deadline = (tokio::time::Instant::now() + timeout).min(give_up_at);
        match exchange(&socket, clock, nonce, deadline).await {
            Ok(Some(sample)) => {
                samples += 1;
                if sample.1 < best.1 {
                    best = sample;
                }
            }
            Ok(None) => {}
            Err(e) => tracing::debug!("clock sync: probe to {reference} failed: {e}"),
        }
    }
    Ok(Offset {
        offset_ns: best.0,
        uncertainty_ns: best.1.div_ceil(2),
        samples,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const PROBES: u32 = 8;
    const GAP: Duration = Duration::from_millis(5);
    const TIMEOUT: Duration = Duration::from_millis(200);

    fn far() -> tokio::time::Instant {
        tokio::time::Instant::now() + Duration::from_secs(10)
    }

    #[test]
    fn offset_of_symmetric_path_is_exact() {
        // Reference 5000 ns ahead, 500 ns each way, 200 ns turnaround at the reference.
        // t1 = 1000 + 500 + 5000; t2 = t1 + 200; t3 = t2 - 5000 + 500.
        assert_eq!(offset_of(1000, 6500, 6700, 2200), (5000, 1000));
        // Reference 3000 ns behind, 100 ns each way, 50 ns turnaround.
        assert_eq!(offset_of(10_000, 7100, 7150, 10_250), (-3000, 200));
    }

    #[test]
    fn offset_of_asymmetric_path_errs_by_at_most_half_the_delay() {
        // Reference 5000 ns ahead, 900 ns out, 100 ns back, 200 ns turnaround.
        let (theta, delta) = offset_of(1000, 6900, 7100, 2200);
        assert_eq!((theta, delta), (5400, 1000));
        assert!((theta - 5000).unsigned_abs() <= delta.div_ceil(2));
    }

    #[test]
    fn offset_of_clamps_and_does_not_overflow() {
        // Negative delay from clock granularity clamps to 0.
        assert_eq!(offset_of(0, 0, 100, 50), (25, 0));
        // Extreme wall values: no overflow panic.
        let (theta, delta) = offset_of(0, u64::MAX, u64::MAX, 0);
        assert_eq!(theta, i64::MAX);
        assert_eq!(delta, 0);
    }

    #[test]
    fn answer_echoes_nonce_and_rejects_garbage() {
        let reply = answer(&probe(42), 7, 9).expect("valid probe");
        assert_eq!(parse_answer(&reply, 42), Some((7, 9)));
        assert_eq!(parse_answer(&reply, 43), None);
        assert_eq!(parse_answer(&reply[..31], 42), None);
        assert_eq!(answer(b"AIPCLK01", 1, 2), None);
        assert_eq!(answer(b"XXXXXXXX\0\0\0\0\0\0\0\0", 1, 2), None);
        let mut long = probe(1).to_vec();
        long.push(0);
        assert_eq!(answer(&long, 1, 2), None);
    }

    #[tokio::test]
    async fn loopback_same_clock_has_near_zero_offset() {
        let clock = Clock::start();
        let server = ReferenceServer::bind(([127, 0, 0, 1], 0).into(), clock)
            .await
            .expect("bind");
        let addr = server.local_addr().to_string();
        let off = estimate(&addr, &clock, PROBES, GAP, TIMEOUT, far())
            .await
            .expect("estimate");
        assert_eq!(off.samples, PROBES);
        assert!(
            off.offset_ns.unsigned_abs() <= off.uncertainty_ns + 100_000,
            "{off:?}"
        );
    }

    /// A reference whose clock is 3 ms ahead, written against the wire format by hand.
    async fn skewed_reference(skew_ns: u64) -> (SocketAddr, JoinHandle<()>) {
        let socket = UdpSocket::bind("127.0.0.1:0").await.expect("bind");
        let addr = socket.local_addr().expect("addr");
        let clock = Clock::start();
        let task = tokio::spawn(async move {
            let mut buf = [0u8; 64];
            loop {
                let Ok((len, peer)) = socket.recv_from(&mut buf).await else {
                    continue;
                };
                let t1 = clock.to_wall_ns(clock.now_ns()) + skew_ns;
                if len != 16 || &buf[..8] != b"AIPCLK01" {
                    continue;
                }
                let mut out = Vec::with_capacity(32);
                out.extend_from_slice(&buf[..16]);
                out.extend_from_slice(&t1.to_le_bytes());
                let t2 = clock.to_wall_ns(clock.now_ns()) + skew_ns;
                out.extend_from_slice(&t2.to_le_bytes());
                let _ = socket.send_to(&out, peer).await;
            }
        });
        (addr, task)
    }

    #[tokio::test]
    async fn skewed_reference_offset_is_found() {
        const SKEW: u64 = 3_000_000;
        let (addr, task) = skewed_reference(SKEW).await;
        let clock = Clock::start();
        let off = estimate(&addr.to_string(), &clock, PROBES, GAP, TIMEOUT, far())
            .await
            .expect("estimate");
        task.abort();
        assert_eq!(off.samples, PROBES);
        let err = (off.offset_ns - SKEW as i64).unsigned_abs();
        assert!(err <= off.uncertainty_ns + 200_000, "{off:?}");
    }

    #[tokio::test]
    async fn nobody_listening_errs_naming_the_address() {
        let addr = {
            let s = std::net::UdpSocket::bind("127.0.0.1:0").expect("bind");
            s.local_addr().expect("addr").to_string()
        };
        let clock = Clock::start();
        let give_up_at = tokio::time::Instant::now() + Duration::from_millis(300);
        let err = estimate(&addr, &clock, PROBES, GAP, TIMEOUT, give_up_at)
            .await
            .expect_err("nobody listens");
        assert!(err.contains(&addr), "{err}");
        assert!(!err.contains('\n'), "{err}");
    }

    #[tokio::test]
    async fn unresolvable_reference_errs_by_the_deadline() {
        let clock = Clock::start();
        let give_up_at = tokio::time::Instant::now() + Duration::from_millis(300);
        let err = estimate("not a host", &clock, PROBES, GAP, TIMEOUT, give_up_at)
            .await
            .expect_err("no such host");
        assert!(err.contains("not a host"), "{err}");
    }

    #[tokio::test]
    async fn reference_that_starts_late_is_waited_for() {
        // Reserve a port, free it, and start the reference on it after the shard began probing.
        let addr: SocketAddr = {
            let s = std::net::UdpSocket::bind("127.0.0.1:0").expect("bind");
            s.local_addr().expect("addr")
        };
        let clock = Clock::start();
        let late = tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(150)).await;
            ReferenceServer::bind(addr, clock).await
        });
        let off = estimate(&addr.to_string(), &clock, 3, GAP, TIMEOUT, far()).await;
        let server = late.await.expect("join");
        // Another process may grab the freed port in between; only judge when we got it back.
        if server.is_ok() {
            let off = off.expect("estimate");
            assert_eq!(off.samples, 3);
        }
    }

    #[tokio::test]
    async fn garbage_is_ignored_and_real_probes_still_answered() {
        let clock = Clock::start();
        let server = ReferenceServer::bind(([127, 0, 0, 1], 0).into(), clock)
            .await
            .expect("bind");
        let raw = UdpSocket::bind("127.0.0.1:0").await.expect("bind");
        raw.connect(server.local_addr()).await.expect("connect");
        let mut long = probe(5).to_vec();
        long.extend_from_slice(&[0u8; 100]);
        for junk in [
            &b""[..],
            b"hello",
            b"AIPCLK01",
            b"AIPCLK02\x05\0\0\0\0\0\0\0",
            &long,
        ] {
            raw.send(junk).await.expect("send");
        }
        let mut buf = [0u8; 64];
        let silent = tokio::time::timeout(Duration::from_millis(100), raw.recv(&mut buf)).await;
        assert!(silent.is_err(), "garbage was answered: {silent:?}");

        raw.send(&probe(77)).await.expect("send");
        let len = tokio::time::timeout(TIMEOUT, raw.recv(&mut buf))
            .await
            .expect("answered")
            .expect("recv");
        assert_eq!(len, 32);
        assert_eq!(&buf[..8], b"AIPCLK01");
        assert_eq!(u64::from_le_bytes(buf[8..16].try_into().unwrap()), 77);
        let (t1, t2) = parse_answer(&buf[..len], 77).expect("valid answer");
        assert!(t1 <= t2);

        let off = estimate(
            &server.local_addr().to_string(),
            &clock,
            2,
            GAP,
            TIMEOUT,
            far(),
        )
        .await
        .expect("estimate");
        assert_eq!(off.samples, 2);
    }
}
