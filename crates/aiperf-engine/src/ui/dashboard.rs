//! The live dashboard (`--ui-type dashboard`, the default on a terminal), drawn with ratatui on
//! its own thread about four times a second from a [`Live`] snapshot, so it never touches the
//! request path. `q` or Ctrl-C stops gracefully (a second press cancels in-flight requests);
//! the terminal is restored when the run ends, on error, and on panic (ratatui's hook).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use ratatui::crossterm::event::{self, Event, KeyCode, KeyEventKind, KeyModifiers};
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::Line;
use ratatui::widgets::{Block, Gauge, List, ListItem, Paragraph, Row, Sparkline, Table};
use ratatui::Frame;

use super::live::{Live, LiveState, LOG_RING};
use crate::observe::Observer;
use crate::snapshot::PhaseSnapshot;
use crate::stop::StopSignal;

/// The dashboard as an observer: it takes the terminal when the run starts sending and gives
/// it back when sending is over.
#[derive(Default)]
pub struct Dashboard {
    live: Arc<Live>,
    done: Arc<AtomicBool>,
    thread: Mutex<Option<std::thread::JoinHandle<()>>>,
}

impl Observer for Dashboard {
    fn live(&self) -> Option<Arc<Live>> {
        Some(self.live.clone())
    }

    fn run_started(&self, title: &str, stop: &Arc<StopSignal>) {
        self.done.store(false, Ordering::Relaxed);
        // Log lines go to the panel only while the dashboard owns the terminal (a run before
        // this one in the same process may have switched echoing on).
        super::live::ECHO_TO_STDERR.store(false, Ordering::Relaxed);
        let handle = spawn(
            title.to_string(),
            self.live.clone(),
            stop.clone(),
            self.done.clone(),
        );
        if let Ok(mut t) = self.thread.lock() {
            *t = Some(handle);
        }
    }

    fn phase_started(&self, phase: &PhaseSnapshot) {
        self.live.set_phase(phase);
    }

    fn phase_tick(&self, phase: &PhaseSnapshot) {
        self.live.set_phase(phase);
    }

    fn phase_finished(&self, phase: &PhaseSnapshot) {
        self.live.set_phase(phase);
    }

    fn run_finished(&self) {
        self.live.set_stage("exporting");
        self.done.store(true, Ordering::Relaxed);
        // The thread notices within one 250 ms poll and restores the terminal.
        let handle = self.thread.lock().ok().and_then(|mut t| t.take());
        if let Some(h) = handle {
            let _ = h.join();
        }
    }
}

/// Starts the dashboard; it runs until `done` is set, then restores the terminal.
fn spawn(
    title: String,
    live: Arc<Live>,
    stop: Arc<StopSignal>,
    done: Arc<AtomicBool>,
) -> std::thread::JoinHandle<()> {
    std::thread::Builder::new()
        .name("dashboard".into())
        .spawn(move || {
            let mut terminal = match ratatui::try_init() {
                Ok(t) => t,
                Err(e) => {
                    ratatui::restore();
                    tracing::warn!("dashboard unavailable ({e}); continuing without it");
                    return;
                }
            };
            let mut presses = 0u32;
            while !done.load(Ordering::Relaxed) {
                if let Some(snap) = live.snapshot() {
                    let _ = terminal.draw(|f| draw(f, &title, &snap, presses));
                }
                if !event::poll(Duration::from_millis(250)).unwrap_or(false) {
                    continue;
                }
                let Ok(Event::Key(k)) = event::read() else {
                    continue;
                };
                let ctrl_c =
                    k.code == KeyCode::Char('c') && k.modifiers.contains(KeyModifiers::CONTROL);
                if k.kind == KeyEventKind::Press && (k.code == KeyCode::Char('q') || ctrl_c) {
                    presses += 1;
                    if presses == 1 {
                        stop.first();
                    } else {
                        stop.second();
                    }
                }
            }
            ratatui::restore();
            // What was only on the log panel: warnings and errors stay visible after the run.
            if let Ok(ring) = LOG_RING.lock() {
                for l in ring.iter() {
                    let l = l.trim_start();
                    if l.starts_with("WARN") || l.starts_with("ERROR") {
                        eprintln!("{l}");
                    }
                }
            }
            super::live::ECHO_TO_STDERR.store(true, Ordering::Relaxed);
        })
        .expect("spawning the dashboard thread")
}

fn fmt(v: f64) -> String {
    if v.abs() >= 1000.0 {
        format!("{v:.0}")
    } else {
        format!("{v:.2}")
    }
}

fn draw(f: &mut Frame, title: &str, s: &LiveState, presses: u32) {
    let [head, gauge, metrics, charts, bottom, keys] = Layout::vertical([
        Constraint::Length(5),
        Constraint::Length(1),
        Constraint::Length(11),
        Constraint::Length(6),
        Constraint::Min(4),
        Constraint::Length(1),
    ])
    .areas(f.area());

    let phase = s.phase.as_ref();
    let elapsed = phase.map_or(0.0, |p| p.started.elapsed().as_secs_f64());
    let (issued, in_flight) = phase.map_or((0, 0), |p| (p.issued, p.in_flight));
    let done = s.ok + s.errors;
    let (ratio, eta) = match phase {
        Some(p) => match (p.target_requests, p.duration_s) {
            (Some(n), _) if n > 0 => {
                let r = done as f64 / n as f64;
                let eta = (done > 0).then(|| elapsed / done as f64 * (n - done.min(n)) as f64);
                (r, eta)
            }
            (_, Some(d)) if d > 0.0 => (elapsed / d, Some((d - elapsed).max(0.0))),
            _ => (0.0, None),
        },
        None => (0.0, None),
    };
    let rate = if elapsed > 0.0 {
        issued as f64 / elapsed
    } else {
        0.0
    };
    let mut lines = vec![
        Line::from(format!(
            "stage: {}   elapsed {elapsed:.1} s   ETA {}",
            s.stage,
            eta.map_or("-".into(), |e| format!("{e:.1} s"))
        )),
        Line::from(format!(
            "sent {issued}   done {done}   errors {}   in flight {in_flight}",
            s.errors
        )),
    ];
    let mut rate_line = format!("send rate {rate:.1} req/s");
    if let Some(r) = phase.and_then(|p| p.requested_rate) {
        rate_line.push_str(&format!(" (requested {r})"));
    }
    if let Some(l) = s.lateness_ms.row() {
        rate_line.push_str(&format!(
            "   schedule lateness p50 {:.3} ms, p99 {:.3} ms",
            l[5], l[3]
        ));
    }
    lines.push(Line::from(rate_line));
    f.render_widget(
        Paragraph::new(lines).block(Block::bordered().title(format!(" aiperf | {title} "))),
        head,
    );
    f.render_widget(
        Gauge::default()
            .gauge_style(Style::default().fg(Color::Green))
            .ratio(ratio.clamp(0.0, 1.0))
            .label(format!("{:.0} %", ratio.clamp(0.0, 1.0) * 100.0)),
        gauge,
    );

    let header = Row::new(["Metric", "avg", "min", "max", "p99", "p90", "p50", "std"])
        .style(Style::default().add_modifier(Modifier::BOLD));
    // The final console table's distribution rows, in its order.
    let rows: Vec<Row> = [
        ("Time to First Token (ms)", &s.ttft_ms),
        ("Time to Second Token (ms)", &s.ttst_ms),
        ("Request Latency (ms)", &s.latency_ms),
        ("Inter Token Latency (ms)", &s.itl_ms),
        (
            "Output Token Throughput Per User (tokens/sec/user)",
            &s.per_user_tps,
        ),
        ("Output Sequence Length (tokens)", &s.osl),
        ("Input Sequence Length (tokens)", &s.isl),
    ]
    .into_iter()
    .filter_map(|(name, r)| {
        r.row().map(|v| {
            let mut cells = vec![name.to_string()];
            cells.extend(v.iter().map(|x| fmt(*x)));
            Row::new(cells)
        })
    })
    .collect();
    let mut widths = vec![Constraint::Length(51)];
    widths.extend([Constraint::Length(7); 7]);
    let throughput = if elapsed > 0.0 {
        format!(
            " live metrics | output token throughput {:.1} tokens/s | request throughput {:.1} requests/s | requests {} ",
            s.output_tokens / elapsed,
            s.ok as f64 / elapsed,
            s.ok
        )
    } else {
        " live metrics ".to_string()
    };
    f.render_widget(
        Table::new(rows, widths)
            .header(header)
            .block(Block::bordered().title(throughput)),
        metrics,
    );

    let [left, right] =
        Layout::horizontal([Constraint::Percentage(50), Constraint::Percentage(50)]).areas(charts);
    let width = left.width.saturating_sub(2) as usize;
    let recent = |v: Vec<u64>| -> Vec<u64> { v[v.len().saturating_sub(width)..].to_vec() };
    let req: Vec<u64> = recent(s.seconds.iter().map(|b| b.requests).collect());
    let ttft: Vec<u64> = recent(
        s.seconds
            .iter()
            .map(|b| {
                if b.ttft_n > 0 {
                    (b.ttft_ms_sum / b.ttft_n as f64).round() as u64
                } else {
                    0
                }
            })
            .collect(),
    );
    sparkline(f, left, " requests per second ", &req);
    sparkline(f, right, " TTFT per second (avg ms) ", &ttft);

    let gpu_rows: Vec<ListItem> = s.gpus.values().flatten().map(gpu_line).collect();
    let (errs, logs) = if gpu_rows.is_empty() {
        let [errs, logs] =
            Layout::horizontal([Constraint::Percentage(40), Constraint::Percentage(60)])
                .areas(bottom);
        (errs, logs)
    } else {
        let [errs, gpus, logs] = Layout::horizontal([
            Constraint::Percentage(28),
            Constraint::Percentage(36),
            Constraint::Percentage(36),
        ])
        .areas(bottom);
        f.render_widget(
            List::new(gpu_rows)
                .block(Block::bordered().title(" GPUs (power, util, memory, temp) ")),
            gpus,
        );
        (errs, logs)
    };
    let mut items: Vec<ListItem> = s
        .errors_by
        .iter()
        .map(|(k, n)| ListItem::new(format!("{n:>6}  {k}")))
        .collect();
    if let Some(m) = &s.last_error {
        items.push(ListItem::new(format!("latest: {m}")).style(Style::default().fg(Color::Red)));
    }
    if items.is_empty() {
        items.push(ListItem::new("no errors"));
    }
    f.render_widget(
        List::new(items).block(Block::bordered().title(" errors (code type) ")),
        errs,
    );
    let keep = logs.height.saturating_sub(2) as usize;
    let log_lines: Vec<ListItem> = LOG_RING
        .lock()
        .map(|r| {
            r.iter()
                .skip(r.len().saturating_sub(keep))
                .map(|l| ListItem::new(l.clone()))
                .collect()
        })
        .unwrap_or_default();
    f.render_widget(
        List::new(log_lines).block(Block::bordered().title(" log ")),
        logs,
    );
    let hint = match presses {
        0 => "q / Ctrl-C: stop sending and finish (press again to cancel in-flight requests)",
        1 => "stopping: waiting for in-flight requests (q / Ctrl-C again cancels them)",
        _ => "cancelling in-flight requests",
    };
    f.render_widget(
        Paragraph::new(hint).style(Style::default().add_modifier(Modifier::DIM)),
        keys,
    );
}

/// `gpu 0 NVIDIA H100  231 W  40 %  18.1 GB  44 °C`; a reading the GPU lacks is `-`.
fn gpu_line(g: &super::live::GpuLive) -> ListItem<'static> {
    let v = |x: Option<f64>, digits: usize, unit: &str| {
        x.map_or("-".to_string(), |x| format!("{x:.digits$} {unit}"))
    };
    ListItem::new(format!(
        "{}  {}  {}  {}  {}",
        g.label,
        v(g.power_w, 0, "W"),
        v(g.utilization_pct, 0, "%"),
        v(g.memory_used_gb, 1, "GB"),
        v(g.temperature_c, 0, "°C")
    ))
}

fn sparkline(f: &mut Frame, area: Rect, title: &str, data: &[u64]) {
    f.render_widget(
        Sparkline::default()
            .block(Block::bordered().title(title.to_string()))
            .data(data)
            .style(Style::default().fg(Color::Cyan)),
        area,
    );
}
