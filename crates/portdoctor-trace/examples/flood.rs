//! Unrelated UDP traffic for the benchmark (bench/flood.py): `flood SRC DST:PORT RATE SECONDS`
//! sends RATE small datagrams a second from SRC for SECONDS, then prints how many it sent.
//! (Python's send loop tops out far below 100k packets a second.)

use std::io::Write;
use std::net::{SocketAddr, UdpSocket};
use std::time::{Duration, Instant};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (Some(src), Some(dst), Some(rate), Some(secs)) = (
        args.first().and_then(|a| a.parse::<std::net::IpAddr>().ok()),
        args.get(1).and_then(|a| a.parse::<SocketAddr>().ok()),
        args.get(2).and_then(|a| a.parse::<u64>().ok()),
        args.get(3).and_then(|a| a.parse::<f64>().ok()),
    ) else {
        let _ = writeln!(std::io::stderr(), "usage: flood SRC DST:PORT RATE SECONDS");
        std::process::exit(2);
    };
    let Ok(sock) = UdpSocket::bind(SocketAddr::new(src, 0)) else { std::process::exit(2) };
    let payload = [b'x'; 18];
    let start = Instant::now();
    let end = Duration::from_secs_f64(secs);
    let mut sent: u64 = 0;
    loop {
        let now = start.elapsed();
        if now >= end {
            break;
        }
        let due = (now.as_secs_f64() * rate as f64) as u64;
        if sent >= due {
            std::thread::sleep(Duration::from_micros(200));
            continue;
        }
        while sent < due {
            // Unconnected: the closed port's ICMP errors are not reported to this socket.
            let _ = sock.send_to(&payload, dst);
            sent += 1;
        }
    }
    let _ = writeln!(std::io::stdout(), "{sent}");
}
