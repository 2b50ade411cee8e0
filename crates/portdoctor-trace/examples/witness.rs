//! Runs the witness by hand: `cargo run -p portdoctor-trace --example witness -- PORT [SECONDS]`.
//! A developer's check of the BPF object on a kernel; `portdoctor trace` is the real command.

fn main() {
    let mut args = std::env::args().skip(1);
    let port = args.next().and_then(|p| p.parse().ok()).unwrap_or(8080);
    let secs = args.next().and_then(|p| p.parse().ok()).unwrap_or(5);
    let req = portdoctor_trace::Request {
        port,
        proto: portdoctor_model::Proto::Tcp,
        from: portdoctor_model::Source::Internet,
        duration: std::time::Duration::from_secs(secs),
    };
    let hooks = portdoctor_trace::Hooks { ready: &|| eprintln!("attached"), stop: &|| false };
    match portdoctor_trace::trace(&req, &hooks) {
        Ok(r) => println!("{r:?}"),
        Err(e) => eprintln!("{e}"),
    }
}
