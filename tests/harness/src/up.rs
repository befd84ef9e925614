//! Driving `tmc-up` (README command 1) as a user does: start it, wait for the
//! printed instructions, and stop it with Ctrl-C.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// A running `tmc-up` and what it printed.
pub struct Up {
    pub child: Child,
    /// Everything printed up to and including "Press Ctrl-C".
    pub printed: Vec<String>,
    /// The path of its `export KUBECONFIG=` line.
    pub kubeconfig: String,
}

impl Up {
    /// Starts `binary` in `cwd` and waits (up to 5 minutes) for its instructions.
    pub fn start(binary: &Path, cwd: &Path) -> anyhow::Result<Self> {
        let mut child = Command::new(binary)
            .current_dir(cwd)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()?;
        let (tx, rx) = mpsc::channel();
        let stdout = child.stdout.take().expect("piped");
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let mut printed = Vec::new();
        loop {
            match rx.recv_timeout(Duration::from_secs(300)) {
                Ok(line) => {
                    let done = line.contains("Press Ctrl-C");
                    printed.push(line);
                    if done {
                        break;
                    }
                }
                Err(_) => {
                    let _ = child.kill();
                    anyhow::bail!(
                        "tmc-up printed no instructions within 5 minutes; got:\n{}",
                        printed.join("\n")
                    );
                }
            }
        }
        let kubeconfig = printed
            .iter()
            .find_map(|l| l.strip_prefix("export KUBECONFIG="))
            .ok_or_else(|| anyhow::anyhow!("no `export KUBECONFIG=` line in:\n{}", printed.join("\n")))?
            .to_owned();
        Ok(Self {
            child,
            printed,
            kubeconfig,
        })
    }

    /// Ctrl-C, then waits up to 60 s for it to exit.
    pub fn interrupt(&mut self) -> anyhow::Result<ExitStatus> {
        Command::new("kill")
            .args(["-INT", &self.child.id().to_string()])
            .status()?;
        let start = Instant::now();
        loop {
            if let Some(s) = self.child.try_wait()? {
                return Ok(s);
            }
            if start.elapsed() > Duration::from_secs(60) {
                let _ = self.child.kill();
                anyhow::bail!("tmc-up did not stop within 60s of Ctrl-C");
            }
            std::thread::sleep(Duration::from_millis(200));
        }
    }
}

impl Drop for Up {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.interrupt();
        }
    }
}
