//! `pingan board watch` on a terminal, as a desk runs it: the real binary on a pseudo-terminal
//! against `pingan dev`. The test reads the screen through a small terminal emulator: the board
//! renders (title, open incidents, units), a new incident shows as its row, and `q` quits with
//! exit 0 and the terminal restored.

mod client_support;

use std::fs::File;
use std::io::{Read as _, Write as _};
use std::os::fd::OwnedFd;
use std::os::unix::ffi::OsStrExt as _;
use std::os::unix::fs::OpenOptionsExt as _;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use client_support::{PINGAN, dev, report};

const ROWS: usize = 40;
const COLS: usize = 160;

/// A pseudo-terminal of ROWS × COLS: (master, slave).
fn open_pty() -> (OwnedFd, OwnedFd) {
    use rustix::pty::{OpenptFlags, grantpt, openpt, ptsname, unlockpt};
    let master = openpt(OpenptFlags::RDWR | OpenptFlags::NOCTTY).expect("openpt");
    grantpt(&master).expect("grantpt");
    unlockpt(&master).expect("unlockpt");
    let name = ptsname(&master, Vec::new()).expect("ptsname");
    let path = std::path::PathBuf::from(std::ffi::OsStr::from_bytes(name.as_bytes()));
    let slave = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        // Not the test process's controlling terminal.
        .custom_flags(rustix::fs::OFlags::NOCTTY.bits() as i32)
        .open(&path)
        .expect("open the slave");
    rustix::termios::tcsetwinsize(
        &master,
        rustix::termios::Winsize {
            ws_row: ROWS as u16,
            ws_col: COLS as u16,
            ws_xpixel: 0,
            ws_ypixel: 0,
        },
    )
    .expect("window size");
    (master, OwnedFd::from(slave))
}

/// The screen, as the bytes written to the terminal so far draw it: cursor moves (`CSI row;col
/// H`), clears (`CSI 2J`, `CSI K`), CR/LF and printed characters; other sequences are skipped.
fn screen(bytes: &[u8]) -> Vec<String> {
    let mut grid = vec![vec![' '; COLS]; ROWS];
    let (mut row, mut col) = (0usize, 0usize);
    let text = String::from_utf8_lossy(bytes);
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\x1b' => match chars.next() {
                Some('[') => {
                    let mut params = String::new();
                    let mut last = ' ';
                    for p in chars.by_ref() {
                        if ('\x40'..='\x7e').contains(&p) {
                            last = p;
                            break;
                        }
                        params.push(p);
                    }
                    if params.starts_with('?') {
                        continue;
                    }
                    let numbers: Vec<usize> =
                        params.split(';').map(|n| n.parse().unwrap_or(0)).collect();
                    let at = |i: usize| numbers.get(i).copied().filter(|n| *n > 0).unwrap_or(1);
                    match last {
                        'H' | 'f' => {
                            row = (at(0) - 1).min(ROWS - 1);
                            col = (at(1) - 1).min(COLS - 1);
                        }
                        'J' if numbers.first() == Some(&2) => {
                            grid = vec![vec![' '; COLS]; ROWS];
                        }
                        'K' => {
                            for cell in &mut grid[row][col..] {
                                *cell = ' ';
                            }
                        }
                        _ => {}
                    }
                }
                // OSC (e.g. a title): up to BEL or ST.
                Some(']') => {
                    for p in chars.by_ref() {
                        if p == '\x07' || p == '\\' {
                            break;
                        }
                    }
                }
                _ => {}
            },
            '\r' => col = 0,
            '\n' => row = (row + 1).min(ROWS - 1),
            c if c.is_control() => {}
            c => {
                if col < COLS {
                    grid[row][col] = c;
                }
                col += 1;
            }
        }
    }
    grid.into_iter().map(|r| r.into_iter().collect()).collect()
}

/// The board's terminal: its output so far, and its input.
struct Terminal {
    output: Arc<Mutex<Vec<u8>>>,
    input: File,
}

impl Terminal {
    fn screen(&self) -> Vec<String> {
        screen(&self.output.lock().expect("output"))
    }

    fn raw(&self) -> String {
        String::from_utf8_lossy(&self.output.lock().expect("output")).into_owned()
    }

    /// Waits (at most 30 s) for a screen that `wanted` accepts.
    fn wait_for(&self, what: &str, wanted: impl Fn(&[String]) -> bool) -> Vec<String> {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let screen = self.screen();
            if wanted(&screen) {
                return screen;
            }
            assert!(
                Instant::now() < deadline,
                "the board never showed {what}; the screen:\n{}",
                screen.join("\n")
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

fn start_board(endpoint: &str, args: &[&str]) -> (Child, Terminal) {
    let (master, slave) = open_pty();
    let child = Command::new(PINGAN)
        .args(["board", "watch", "--endpoint", endpoint])
        .args(args)
        .env_remove("PINGAN_TOKEN")
        .env("TERM", "xterm-256color")
        .stdin(Stdio::from(slave.try_clone().expect("slave")))
        .stdout(Stdio::from(slave.try_clone().expect("slave")))
        .stderr(Stdio::from(slave))
        .spawn()
        .expect("spawn board watch");
    let master = File::from(master);
    let input = master.try_clone().expect("master");
    let output = Arc::new(Mutex::new(Vec::new()));
    let sink = output.clone();
    std::thread::spawn(move || {
        let mut master = master;
        let mut buffer = [0u8; 8192];
        // Ends with EIO once the child is gone and the slave closed.
        while let Ok(n) = master.read(&mut buffer) {
            if n == 0 {
                return;
            }
            sink.lock().expect("output").extend_from_slice(&buffer[..n]);
        }
    });
    (child, Terminal { output, input })
}

fn exit_within(child: &mut Child, limit: Duration) -> Option<std::process::ExitStatus> {
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline {
        if let Some(status) = child.try_wait().expect("try_wait") {
            return Some(status);
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    None
}

fn has(screen: &[String], text: &str) -> bool {
    screen.iter().any(|line| line.contains(text))
}

#[test]
fn board_watch_on_a_terminal_renders_updates_and_quits_on_q() {
    let dev = dev();
    let (mut child, mut terminal) = start_board(&dev.endpoint, &["--station", "st-rongxiang"]);

    // It renders: the title, both panes, the station's six units.
    let first = terminal.wait_for("the board with its units", |s| {
        has(s, "Pingan command board")
            && has(s, "open incidents")
            && has(s, "units available 6/6")
            && has(s, "RONGXIANG-1")
    });
    assert!(has(&first, "open 0"), "{}", first.join("\n"));
    assert!(!has(&first, "RESCUE"), "{}", first.join("\n"));
    // Full screen: the alternate screen was entered.
    assert!(terminal.raw().contains("\x1b[?1049h"));

    // A P1 rescue in Rongxiang's first village: its row appears, with the station.
    let answer = report("29.2601", "92.1601", "有人落水了，快来救人");
    assert!(
        answer["incident_id"]
            .as_str()
            .is_some_and(|i| !i.is_empty()),
        "{answer}"
    );
    let updated = terminal.wait_for("the new incident's row", |s| {
        s.iter()
            .any(|l| l.contains("P1") && l.contains("RESCUE") && l.contains("st-rongxiang"))
            && has(s, "open 1")
    });
    let row = updated
        .iter()
        .find(|l| l.contains("RESCUE"))
        .expect("the row");
    // With its clock since the call rang (`0m07s`).
    assert!(
        row.split_whitespace().any(|w| {
            w.starts_with(|c: char| c.is_ascii_digit()) && w.contains('m') && w.ends_with('s')
        }),
        "a clock in {row}"
    );

    // q quits: exit 0, the alternate screen left and raw mode off.
    terminal.input.write_all(b"q").expect("type q");
    terminal.input.flush().expect("flush");
    let status = exit_within(&mut child, Duration::from_secs(10)).unwrap_or_else(|| {
        let _ = child.kill();
        panic!(
            "board watch did not quit on q; screen:\n{}",
            terminal.screen().join("\n")
        )
    });
    assert_eq!(status.code(), Some(0));
    assert!(
        terminal.raw().contains("\x1b[?1049l"),
        "the terminal is restored on the way out"
    );
}
