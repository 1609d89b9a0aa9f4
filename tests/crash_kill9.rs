//! `kill -9` of berthd in the middle of loads, tags and removals, over and over: every time,
//! the store opens, passes `PRAGMA integrity_check`, and holds no half-made object; the daemon
//! comes back and cleans up what the crash left on disk.

mod common;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use common::{DOCKER, Daemon, test_image};
use nix::sys::inotify::{AddWatchFlags, InitFlags, Inotify};
use sha2::{Digest, Sha256};

const ROUNDS: usize = 12;

/// Checks the store of a stopped daemon directly.
fn check_store(d: &Daemon) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let store = berth::store::Store::open(&d.data_root())
            .await
            .expect("store opens after kill -9");
        let pool = store.pool();
        let rows: Vec<(String,)> = sqlx::query_as("PRAGMA integrity_check")
            .fetch_all(pool)
            .await
            .unwrap();
        assert_eq!(rows, vec![("ok".to_string(),)], "integrity_check");
        let fk: Vec<(String, i64, String, i64)> = sqlx::query_as("PRAGMA foreign_key_check")
            .fetch_all(pool)
            .await
            .unwrap();
        assert!(fk.is_empty(), "dangling references: {fk:?}");

        // Every image has exactly the layers its config lists, and each layer is on disk, whole.
        let layers_dir = d.data_root().join("image/layers/sha256");
        for image in store.images().await.unwrap() {
            let config: serde_json::Value = serde_json::from_str(&image.config).unwrap();
            let diff_ids: Vec<String> = config["rootfs"]["diff_ids"]
                .as_array()
                .unwrap()
                .iter()
                .map(|v| v.as_str().unwrap().to_string())
                .collect();
            let layers: Vec<String> = store
                .image_layers(&image.id)
                .await
                .unwrap()
                .into_iter()
                .map(|l| l.diff_id)
                .collect();
            assert_eq!(layers, diff_ids, "image {} is half-made", image.id);
            for l in &layers {
                let dir = layers_dir.join(l.trim_start_matches("sha256:"));
                assert!(dir.join("diff").is_dir(), "layer {l} missing on disk");
                let tar = std::fs::read(dir.join("layer.tar")).unwrap();
                let digest = format!("sha256:{}", hex::encode(Sha256::digest(&tar)));
                assert_eq!(&digest, l, "layer tar of {l} is damaged");
            }
        }
        for r in store.all_refs().await.unwrap() {
            assert!(
                store.image(&r.image_id).await.unwrap().is_some(),
                "ref {} dangles",
                r.reference
            );
        }
        store.close().await;
    });
}

/// The layers the store references, as directory names.
fn referenced_layers(d: &Daemon) -> BTreeSet<String> {
    let out = d.ok(&["images", "-q", "--no-trunc"]);
    let mut set = BTreeSet::new();
    for id in out.lines().collect::<BTreeSet<_>>() {
        let layers = d.ok(&[
            "image",
            "inspect",
            "--format",
            "{{json .RootFS.Layers}}",
            id,
        ]);
        let layers: Vec<String> = serde_json::from_str(layers.trim()).unwrap();
        set.extend(
            layers
                .into_iter()
                .map(|l| l.trim_start_matches("sha256:").to_string()),
        );
    }
    set
}

fn dir_names(p: &Path) -> BTreeSet<String> {
    std::fs::read_dir(p)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect()
}

/// A docker-save archive of an image with one 24 MiB layer of its own, so unpacking takes long
/// enough to be interrupted.
fn big_image(dir: &Path) -> PathBuf {
    let mut data = vec![0u8; 24 << 20];
    let mut x = 0x2545_f491_4f6c_dd1d_u64;
    for chunk in data.chunks_mut(8) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        chunk.copy_from_slice(&x.to_le_bytes()[..chunk.len()]);
    }
    let mut lb = tar::Builder::new(Vec::new());
    let mut h = tar::Header::new_gnu();
    h.set_size(data.len() as u64);
    h.set_mode(0o644);
    h.set_cksum();
    lb.append_data(&mut h, "big.bin", &data[..]).unwrap();
    let layer = lb.into_inner().unwrap();
    let config = serde_json::to_vec(&serde_json::json!({
        "architecture": "amd64", "os": "linux", "created": "2024-03-01T00:00:00Z",
        "rootfs": {"type": "layers", "diff_ids": [format!("sha256:{}", hex::encode(Sha256::digest(&layer)))]},
    }))
    .unwrap();
    let config_name = format!("{}.json", hex::encode(Sha256::digest(&config)));
    let manifest = serde_json::to_vec(&serde_json::json!([{
        "Config": config_name, "RepoTags": ["big:1"], "Layers": ["l/layer.tar"],
    }]))
    .unwrap();
    let path = dir.join("big.tar");
    let mut b = tar::Builder::new(std::fs::File::create(&path).unwrap());
    for (name, bytes) in [
        (config_name.as_str(), &config),
        ("l/layer.tar", &layer),
        ("manifest.json", &manifest),
    ] {
        let mut h = tar::Header::new_gnu();
        h.set_size(bytes.len() as u64);
        h.set_mode(0o644);
        h.set_cksum();
        b.append_data(&mut h, name, &bytes[..]).unwrap();
    }
    b.into_inner().unwrap();
    path
}

/// Runs docker commands against the daemon in a loop until it dies.
fn churn(d: &Daemon, big: PathBuf, round: usize) -> std::thread::JoinHandle<()> {
    let host = d.host();
    let config_dir = d.dir.path().join("docker-config");
    let labels = test_image("busybox-labels.tar");
    std::thread::spawn(move || {
        let run = |args: &[&str]| {
            Command::new(DOCKER)
                .args(args)
                .env("DOCKER_HOST", &host)
                .env("DOCKER_CONFIG", &config_dir)
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .map(|s| s.success())
                .unwrap_or(false)
        };
        for i in 0..1000 {
            let tag = format!("churn:{round}-{i}");
            let ok = match i % 5 {
                0 => run(&["load", "-i", big.to_str().unwrap()]),
                1 => run(&["tag", "busybox", &tag]),
                2 => run(&["load", "-i", labels.to_str().unwrap()]),
                3 => run(&["rmi", "-f", "big:1"]),
                _ => run(&["rmi", "-f", "berth-test/labelled:1.0"]),
            };
            // The daemon is gone once a command cannot connect; stop then.
            if !ok && !run(&["version"]) {
                return;
            }
        }
    })
}

/// Blocks until a layer work directory appears under `tmp` (an unpack has begun), bounded.
fn wait_for_unpack(tmp: &Path) -> bool {
    let inotify = Inotify::init(InitFlags::IN_NONBLOCK).unwrap();
    inotify.add_watch(tmp, AddWatchFlags::IN_CREATE).unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    let fd = std::os::fd::AsFd::as_fd(&inotify)
        .try_clone_to_owned()
        .unwrap();
    while std::time::Instant::now() < deadline {
        let mut fds = [nix::poll::PollFd::new(
            std::os::fd::AsFd::as_fd(&fd),
            nix::poll::PollFlags::POLLIN,
        )];
        let _ = nix::poll::poll(&mut fds, nix::poll::PollTimeout::from(1000u16));
        if let Ok(events) = inotify.read_events()
            && events.iter().any(|e| {
                e.name
                    .as_ref()
                    .is_some_and(|n| n.to_string_lossy().starts_with("layer-"))
            })
        {
            return true;
        }
    }
    false
}

#[test]
fn kill9_during_loads_and_tags_loses_nothing_committed() {
    let mut d = Daemon::start();
    d.load("busybox.tar");
    let big = big_image(d.dir.path());
    let mut seed = 0x9e37_79b9_u64;
    for round in 0..ROUNDS {
        let worker = churn(&d, big.clone(), round);
        if round % 2 == 1 {
            // Deterministically mid-unpack: kill as soon as a layer's work directory appears.
            assert!(
                wait_for_unpack(&d.data_root().join("image/tmp")),
                "no unpack began"
            );
        } else {
            // Elsewhere: a pseudo-random moment.
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            std::thread::sleep(Duration::from_millis(30 + seed % 400));
        }
        d.kill9();
        worker.join().unwrap();
        if round % 2 == 1 {
            assert!(
                dir_names(&d.data_root().join("image/tmp"))
                    .iter()
                    .any(|n| n.starts_with("layer-")),
                "round {round}: the kill was meant to land mid-unpack"
            );
        }
        check_store(&d);
        d.spawn().expect("daemon restarts after kill -9");

        // Committed tags survive; every listed image is whole.
        let out = d.ok(&["images", "--format", "{{.Repository}}:{{.Tag}}"]);
        assert!(
            out.lines().any(|l| l == "busybox:latest"),
            "round {round}: {out}"
        );
        // Start-up removed the crash's debris: no work files, no unreferenced layer directory.
        assert!(
            dir_names(&d.data_root().join("image/tmp")).is_empty(),
            "round {round}: work files left"
        );
        assert_eq!(
            dir_names(&d.data_root().join("image/layers/sha256")),
            referenced_layers(&d),
            "round {round}: layer directories and store disagree"
        );
    }
}
