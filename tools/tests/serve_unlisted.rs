//! A receiving session with `on_unlisted = "delete"`: a file deleted from the sender's watched
//! directory leaves the FDT, and once no unexpired FDT Instance lists it, the receiver removes
//! its copy; the other files stay, until the FDT lists none. Over UDP on loopback, one `serve`
//! doing both directions.

mod common;

use std::process::{Command, Stdio};
use std::time::Duration;

use common::{KillOnDrop as Kill, free_port, free_udp_port, wait_for};

const BIN: &str = env!("CARGO_BIN_EXE_xflute");

#[test]
fn a_file_deleted_at_the_sender_is_deleted_at_a_receiver_that_asks_for_it() {
    let dir = std::env::temp_dir().join(format!("xflute-unlisted-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("outbox")).unwrap();
    let api = free_port();
    let port = free_udp_port();
    let config = format!(
        "[http]\nlisten = \"127.0.0.1:{api}\"\n\
         [[send]]\nname = \"out\"\ndest = \"239.255.42.9:{port}\"\niface = \"lo\"\n\
         rate = \"50M\"\ncarousel = \"200ms\"\nfdt_expires = \"2s\"\nwatch = [\"outbox\"]\n\
         [[receive]]\nname = \"in\"\ngroup = \"239.255.42.9:{port}\"\niface = \"lo\"\n\
         out = \"inbox\"\non_unlisted = \"delete\"\n"
    );
    std::fs::write(dir.join("serve.toml"), config).unwrap();
    std::fs::write(dir.join("outbox/a.txt"), b"first file").unwrap();
    std::fs::write(dir.join("outbox/b.txt"), b"second file").unwrap();
    let serve = Kill(
        Command::new(BIN)
            .args(["serve", "--config"])
            .arg(dir.join("serve.toml"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let inbox = dir.join("inbox");
    assert!(
        wait_for(Duration::from_secs(20), || {
            std::fs::read(inbox.join("a.txt")).is_ok_and(|d| d == b"first file")
                && std::fs::read(inbox.join("b.txt")).is_ok_and(|d| d == b"second file")
        }),
        "both files arrive"
    );
    std::fs::remove_file(dir.join("outbox/a.txt")).unwrap();
    assert!(
        wait_for(Duration::from_secs(20), || !inbox.join("a.txt").exists()),
        "a.txt is deleted once no FDT lists it"
    );
    assert_eq!(std::fs::read(inbox.join("b.txt")).unwrap(), b"second file");
    // The last file leaves too: an FDT that lists no file withdraws it.
    std::fs::remove_file(dir.join("outbox/b.txt")).unwrap();
    assert!(
        wait_for(Duration::from_secs(20), || !inbox.join("b.txt").exists()),
        "b.txt is deleted once the FDT lists no file"
    );
    drop(serve);
    let _ = std::fs::remove_dir_all(&dir);
}
