//! A real IMAP server for the bounce-mailbox tests: Debian's Dovecot, run in
//! the foreground with its own configuration, port and maildir in a
//! temporary directory, one user `bounces` / `bounce-secret`.

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};

pub const USER: &str = "bounces";
pub const PASSWORD: &str = "bounce-secret";

pub struct ImapServer {
    pub port: u16,
    conf: std::path::PathBuf,
    child: Child,
    _dir: tempfile::TempDir,
}

impl ImapServer {
    /// None (with a message) when Dovecot is not installed.
    pub async fn start() -> Option<ImapServer> {
        let bin = ["/usr/sbin/dovecot"]
            .into_iter()
            .find(|p| std::path::Path::new(p).exists())?;
        let dir = tempfile::Builder::new()
            .prefix("imap")
            .tempdir_in("/tmp")
            .expect("temp dir");
        let d = dir.path();
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("free port")
            .port();
        for sub in ["run", "state", "mail"] {
            std::fs::create_dir(d.join(sub)).expect("dovecot dir");
        }
        // Dovecot drops to `nobody` for mail access and its login process.
        std::os::unix::fs::chown(d.join("mail"), Some(65534), Some(65534)).expect("chown");
        std::fs::write(d.join("passwd"), format!("{USER}:{{PLAIN}}{PASSWORD}\n")).unwrap();
        let conf = d.join("dovecot.conf");
        let p = d.display();
        std::fs::write(
            &conf,
            format!(
                "protocols = imap\nlisten = 127.0.0.1\nbase_dir = {p}/run\nstate_dir = {p}/state\n\
                 log_path = {p}/log\nssl = no\ndisable_plaintext_auth = no\n\
                 auth_mechanisms = plain login\ndefault_internal_user = nobody\n\
                 default_login_user = nobody\n\
                 passdb {{\n  driver = passwd-file\n  args = scheme=PLAIN username_format=%u {p}/passwd\n}}\n\
                 userdb {{\n  driver = static\n  args = uid=65534 gid=65534 home={p}/mail/%u\n}}\n\
                 mail_location = maildir:~/Maildir\n\
                 service imap-login {{\n  chroot =\n  inet_listener imap {{\n    port = {port}\n  }}\n  \
                 inet_listener imaps {{\n    port = 0\n  }}\n}}\n\
                 service anvil {{\n  chroot =\n}}\n"
            ),
        )
        .unwrap();
        let mut child = Command::new(bin)
            .arg("-F")
            .arg("-c")
            .arg(&conf)
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("dovecot starts");
        // Ready when the port accepts connections.
        for _ in 0..200 {
            if tokio::net::TcpStream::connect(("127.0.0.1", port))
                .await
                .is_ok()
            {
                return Some(ImapServer {
                    port,
                    conf,
                    child,
                    _dir: dir,
                });
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        let _ = child.kill();
        let _ = child.wait();
        panic!(
            "dovecot never listened: {}",
            std::fs::read_to_string(d.join("log")).unwrap_or_default()
        );
    }

    pub fn url(&self) -> String {
        format!("imap://{USER}:{PASSWORD}@127.0.0.1:{}/INBOX", self.port)
    }

    /// A logged-in session, to put messages in and look at what is left.
    pub async fn session(&self) -> async_imap::Session<tokio::net::TcpStream> {
        let tcp = tokio::net::TcpStream::connect(("127.0.0.1", self.port))
            .await
            .expect("imap connect");
        let mut client = async_imap::Client::new(tcp);
        client.read_response().await.expect("greeting");
        client
            .login(USER, PASSWORD)
            .await
            .map_err(|(e, _)| e)
            .expect("imap login")
    }
}

impl Drop for ImapServer {
    fn drop(&mut self) {
        // The master stops its login and mail processes with it.
        let _ = Command::new("/usr/sbin/dovecot")
            .arg("-c")
            .arg(&self.conf)
            .arg("stop")
            .status();
        let _ = self.child.wait();
    }
}
