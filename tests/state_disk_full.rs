//! A full disk under the data root: operations fail with a clear `no space left on device`,
//! reads stay consistent, nothing reports a success it did not do, and once space is back the
//! daemon works again without a restart. The data root is a small ext4 file system on a loop
//! device, made and removed by the test.

mod common;

use std::io::Write;
use std::path::Path;
use std::process::Command;

use common::Daemon;

/// A 96 MiB ext4 (no blocks reserved for root, who would otherwise still find room) mounted on
/// `dir`. The mount goes with the daemon's directory (Daemon's drop unmounts under it), and the
/// loop device with the mount (autoclear).
fn mount_small_fs(image: &Path, dir: &Path) {
    let f = std::fs::File::create(image).expect("image file");
    f.set_len(96 << 20).expect("size image");
    let st = Command::new("mkfs.ext4")
        .args(["-q", "-F", "-m", "0"])
        .arg(image)
        .status()
        .expect("mkfs.ext4");
    assert!(st.success(), "mkfs.ext4 failed");
    std::fs::create_dir_all(dir).expect("mount point");
    let st = Command::new("mount")
        .args(["-o", "loop"])
        .arg(image)
        .arg(dir)
        .status()
        .expect("mount");
    assert!(st.success(), "mount -o loop failed");
}

/// Writes `filler` until the file system refuses.
fn fill(filler: &Path) {
    let mut f = std::fs::File::create(filler).expect("filler");
    let block = vec![0u8; 1 << 20];
    while f.write_all(&block).is_ok() {}
    // The last partial block, byte-sized writes until nothing fits.
    let small = [0u8; 512];
    while f.write_all(&small).is_ok() {}
    let _ = f.sync_all();
}

fn all_ids(d: &Daemon) -> Vec<String> {
    let mut ids: Vec<String> = d
        .ok(&["ps", "-aq", "--no-trunc"])
        .split_whitespace()
        .map(str::to_string)
        .collect();
    ids.sort();
    ids
}

/// A create too large for whatever room the WAL still has: 1.5 MiB of labels.
fn big_create(d: &Daemon) -> common::HttpResponse {
    let labels: serde_json::Map<String, serde_json::Value> = (0..24)
        .map(|i| {
            (
                format!("l{i}"),
                serde_json::Value::from("x".repeat(64 << 10)),
            )
        })
        .collect();
    let body = serde_json::json!({"Image": "busybox", "Cmd": ["true"], "Labels": labels});
    d.http(
        "POST",
        "/containers/create",
        Some(("application/json", body.to_string().as_bytes())),
    )
}

#[test]
fn a_full_disk_fails_clearly_and_the_daemon_recovers_without_restart() {
    let mut d = Daemon::prepare(&[], "{}");
    let image = d.dir.path().join("fs.img");
    mount_small_fs(&image, &d.data_root());
    d.spawn().expect("daemon starts on the small file system");
    d.load("busybox.tar");
    d.ok(&["create", "--name", "kept", "busybox", "true"]);
    d.ok(&["create", "--name", "doomed", "busybox", "true"]);
    d.ok(&["run", "--rm", "busybox", "true"]);
    let before = all_ids(&d);
    assert_eq!(before.len(), 2);

    let filler = d.data_root().join("filler");
    fill(&filler);

    // Writes that need room fail, saying why, and create nothing.
    let r = big_create(&d);
    assert_eq!(r.status, 500, "{}", r.text());
    assert!(r.text().contains("no space left on device"), "{}", r.text());
    assert!(
        !r.text().contains(&d.data_root().display().to_string()),
        "{}",
        r.text()
    );
    let run = d.docker(&["run", "--rm", "busybox", "echo", "hi"]);
    let run_err = String::from_utf8_lossy(&run.stderr).to_lowercase();
    if !run.status.success() {
        assert!(run_err.contains("no space left on device"), "{run_err}");
    }
    // Reads are consistent, again and again: no connection serves an old snapshot.
    for _ in 0..8 {
        assert_eq!(all_ids(&d), before, "reads disagree at a full disk");
    }
    // A removal either happened or says it did not.
    let rm = d.docker(&["rm", "doomed"]);
    eprintln!(
        "at a full disk: run {:?} {run_err}; rm {:?} {}",
        run.status.code(),
        rm.status.code(),
        String::from_utf8_lossy(&rm.stderr)
    );
    let after_rm = all_ids(&d);
    if rm.status.success() {
        assert_eq!(after_rm.len(), 1, "rm said yes, the container stayed");
    } else {
        let e = String::from_utf8_lossy(&rm.stderr);
        assert!(e.contains("no space left on device"), "{e}");
        assert_eq!(after_rm, before);
    }

    // Space is back: everything works, without a restart.
    std::fs::remove_file(&filler).expect("free space");
    let r = big_create(&d);
    assert_eq!(r.status, 201, "{}", r.text());
    d.ok(&["rm", r.json()["Id"].as_str().unwrap()]);
    assert_eq!(
        d.ok(&["run", "--rm", "busybox", "echo", "back"]).trim(),
        "back"
    );
    d.ok(&["rm", "-f", "doomed"]);
    let id = d.ok(&["create", "--name", "fresh", "busybox", "true"]);
    d.ok(&["start", "-a", "fresh"]);
    d.ok(&["rm", id.trim()]);
    let left: Vec<String> = all_ids(&d);
    assert_eq!(left.len(), 1, "only `kept` remains: {left:?}");
    for _ in 0..4 {
        assert_eq!(all_ids(&d), left);
    }
    // And the state survives a restart as it was.
    d.restart();
    assert_eq!(all_ids(&d), left);
    assert!(
        d.log().find("database is locked").is_none(),
        "the store wedged"
    );
}
