//! Outside a swarm and without plugins, as dockerd answers: clients' clean-up calls (`docker
//! swarm leave`, `docker plugin ls`) get the errors and lists they expect.

mod common;

use common::Daemon;

#[test]
fn swarm_commands_say_this_node_is_not_in_a_swarm() {
    let d = Daemon::start();
    let e = d.fails(&["swarm", "leave"]);
    assert!(e.contains("This node is not part of a swarm"), "{e}");
    for args in [
        &["node", "ls"][..],
        &["service", "ls"],
        &["secret", "ls"],
        &["config", "ls"],
    ] {
        let e = d.fails(args);
        assert!(
            e.contains("This node is not a swarm manager"),
            "{args:?}: {e}"
        );
    }
    let r = d.http("POST", "/v1.45/swarm/leave?force=1", None);
    assert_eq!(r.status, 503, "{}", r.text());
    let r = d.http("GET", "/swarm", None);
    assert_eq!(r.status, 503, "{}", r.text());
    let e = d.fails(&["swarm", "init"]);
    assert!(e.contains("swarm mode is not supported"), "{e}");
    // Info still says inactive.
    assert_eq!(
        d.ok(&["info", "-f", "{{.Swarm.LocalNodeState}}"]).trim(),
        "inactive"
    );
}

#[test]
fn plugins_are_an_empty_list() {
    let d = Daemon::start();
    assert_eq!(d.ok(&["plugin", "ls", "-q"]).trim(), "");
    let (status, body) = d.http_json("GET", "/plugins");
    assert_eq!((status, body), (200, serde_json::json!([])));
    let e = d.fails(&["plugin", "inspect", "nope"]);
    assert!(e.contains("not found"), "{e}");
    let r = d.http(
        "GET",
        "/plugins?filters=%7B%22colour%22%3A%5B%22red%22%5D%7D",
        None,
    );
    assert_eq!(r.status, 400, "{}", r.text());
}
