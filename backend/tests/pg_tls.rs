//! TLS to PostgreSQL, on the server `GUARDIAN_TEST_DATABASE_URL` names when
//! the URL gives a CA file. `scripts/pg.sh`'s cluster does, and accepts TLS
//! connections only, so the whole suite run on it ran encrypted.

fn tls_server() -> Option<String> {
    let url = std::env::var("GUARDIAN_TEST_DATABASE_URL").ok()?;
    url.contains("sslrootcert=").then_some(url)
}

/// The same URL with one query parameter changed (or dropped: `None`).
fn with_param(url: &str, key: &str, value: Option<&str>) -> String {
    let (base, query) = url.split_once('?').unwrap_or((url, ""));
    let mut pairs: Vec<String> = query
        .split('&')
        .filter(|p| !p.is_empty() && !p.starts_with(&format!("{key}=")))
        .map(str::to_owned)
        .collect();
    if let Some(v) = value {
        pairs.push(format!("{key}={v}"));
    }
    format!("{base}?{}", pairs.join("&"))
}

#[test]
fn the_database_is_reached_encrypted_and_only_when_its_certificate_is_vouched_for() {
    let Some(url) = tls_server() else {
        eprintln!(
            "GUARDIAN_TEST_DATABASE_URL names no PostgreSQL with a CA (scripts/pg.sh start gives one): nothing to check"
        );
        return;
    };
    let mut client = guardian_backend::connect_postgres(&url).expect("connect with the CA");
    let row = client
        .query_one("SELECT ssl, version FROM pg_stat_ssl WHERE pid = pg_backend_pid()", &[])
        .expect("pg_stat_ssl");
    assert!(row.get::<_, bool>(0), "the connection is encrypted");
    let version: String = row.get(1);
    assert!(version.starts_with("TLSv1."), "{version}");

    // No CA named: the public roots do not vouch for a throwaway CA, and
    // the connection is refused rather than made to whoever answered.
    let unverified = with_param(&url, "sslrootcert", None);
    let e = guardian_backend::connect_postgres(&unverified).err().expect("refused");
    assert!(e.to_string().contains("UnknownIssuer"), "{e}");

    // The server accepts nothing else over TCP, so every other test run on
    // it ran over TLS too.
    let plain = with_param(&url, "sslmode", Some("disable"));
    let e = guardian_backend::connect_postgres(&plain).err().expect("refused");
    assert!(e.to_string().contains("pg_hba.conf"), "{e}");
}
