//! Running the real `catalyst` binary in tests: environment, start-up wait, cleanup.
#![allow(dead_code)]

use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The binary under test.
pub const BIN: &str = env!("CARGO_BIN_EXE_catalyst");

/// A running server process; killed and reaped when dropped.
pub struct Server(pub Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A free port on 127.0.0.1.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// `catalyst` with a clean environment: this database, data key file and bind address.
pub fn catalyst(db_url: &str, key_file: &Path, bind: &str) -> Command {
    let mut cmd = Command::new(BIN);
    cmd.env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("DATABASE_URL", db_url)
        .env("CATALYST_DATA_KEY_FILE", key_file)
        .env("CATALYST_BIND", bind);
    cmd
}

/// Waits until something accepts connections on `addr`.
pub fn wait_for_port(addr: &str) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while std::net::TcpStream::connect(addr).is_err() {
        assert!(Instant::now() < deadline, "nothing listens on {addr}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Spawns `cmd` (output discarded) and waits until it listens on `bind`.
pub fn start(mut cmd: Command, bind: &str) -> Server {
    let server = Server(
        cmd.stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    wait_for_port(bind);
    server
}

/// Polls `probe` until it gives a value (30 s at most).
pub fn until<T>(what: &str, mut probe: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + Duration::from_secs(40);
    loop {
        if let Some(v) = probe() {
            return v;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// The `n` of a `SELECT count(*) AS n …` on the test database.
pub fn count(db: &catalyst_store::test_support::TestDb, sql: &str) -> i64 {
    use diesel::prelude::*;
    #[derive(QueryableByName)]
    struct N {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    let mut conn = db.store.conn().unwrap();
    diesel::sql_query(sql)
        .get_result::<N>(&mut *conn)
        .unwrap()
        .n
}
