//! The configuration shipped in docker/ stays valid, and `check-config`
//! reports problems as the README says (exit 2, one line).

use std::process::Command;

fn check_config(path: &std::path::Path) -> (Option<i32>, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_iriswire"))
        .args(["check-config", "--config"])
        .arg(path)
        .env_remove("IRISHOSTNAME")
        .output()
        .unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn docker_config_is_valid_once_users_are_added() {
    let shipped = concat!(env!("CARGO_MANIFEST_DIR"), "/docker/iriswire.toml");
    // As shipped it must refuse: it listens on 0.0.0.0 and has no users.
    let (code, _, stderr) = check_config(shipped.as_ref());
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("without users"), "{stderr}");
    assert_eq!(stderr.lines().count(), 1);

    let dir = tempfile::tempdir().unwrap();
    let with_user = dir.path().join("iriswire.toml");
    let text = std::fs::read_to_string(shipped).unwrap()
        + "\n[[users]]\nname = \"app\"\npassword = \"md5"
        + &"0".repeat(32)
        + "\"\n";
    std::fs::write(&with_user, text).unwrap();
    let (code, stdout, stderr) = check_config(&with_user);
    assert_eq!(code, Some(0), "{stderr}");
    assert!(stdout.contains("backend iris-embedded"), "{stdout}");
}
