//! Loading and validation, end to end through figment's jail.

// figment's Jail closures return its large error type; boxing it would only add noise.
#![allow(clippy::result_large_err)]

use super::*;
use figment::Jail;

/// Loads with `env` set, expecting a refusal that names `key`.
fn assert_load_refused(env: &[(&str, &str)], key: &str) {
    Jail::expect_with(|jail| {
        for (name, value) in env {
            jail.set_env(name, value);
        }
        let err = Settings::load(None).unwrap_err().to_string();
        assert!(err.contains(key), "{err}");
        Ok(())
    });
}

/// Validates `s`, expecting a refusal that names `key`; returns the whole message.
fn assert_invalid(s: &Settings, key: &str) -> String {
    let err = s.validate().unwrap_err().to_string();
    assert!(err.contains(key), "{err}");
    err
}

#[test]
fn nothing_set_gives_embedded_defaults() {
    Jail::expect_with(|_jail| {
        let s = Settings::load(None).expect("defaults load");
        assert_eq!(s.bind.to_string(), "127.0.0.1:8080");
        assert_eq!(s.data_dir, PathBuf::from("./nexus-data"));
        assert_eq!(
            s.database_target().unwrap(),
            DatabaseTarget::Sqlite("sqlite://./nexus-data/nexus.db".into())
        );
        assert_eq!(s.http.body_limit_bytes, 1024 * 1024);
        Ok(())
    });
}

#[test]
fn environment_overrides_file_which_overrides_defaults() {
    Jail::expect_with(|jail| {
        jail.create_file(
            "nexus.toml",
            "bind = \"127.0.0.1:9000\"\n[http]\nbody_limit_bytes = 2048\n",
        )?;
        jail.set_env("NEXUS_HTTP__BODY_LIMIT_BYTES", "4096");
        jail.set_env("DATABASE_URL", "postgres://u:pw@127.0.0.1/db");
        let s = Settings::load(None).expect("loads");
        assert_eq!(s.bind.port(), 9000);
        assert_eq!(s.http.body_limit_bytes, 4096);
        assert_eq!(
            s.database_target().unwrap().backend_name(),
            "postgres",
            "DATABASE_URL is read without a prefix"
        );
        Ok(())
    });
}

#[test]
fn a_bad_value_names_its_key() {
    assert_load_refused(&[("NEXUS_BIND", "not-an-address")], "`bind`");
}

#[test]
fn test_harness_variables_are_not_configuration() {
    Jail::expect_with(|jail| {
        jail.set_env("NEXUS_TEST_POSTGRES_URL", "postgres://x@127.0.0.1/y");
        jail.set_env("NEXUS_CONFIG", "nexus.toml");
        assert!(Settings::load(None).is_ok());
        Ok(())
    });
}

#[test]
fn an_unknown_key_is_refused() {
    assert_load_refused(&[("NEXUS_BODY_LIMT", "5")], "body_limt");
}

#[test]
fn an_unparsable_toml_file_is_refused_with_its_location() {
    Jail::expect_with(|jail| {
        jail.create_file("nexus.toml", "bind = [unclosed\n")?;
        let err = Settings::load(None).unwrap_err().to_string();
        assert!(err.contains("nexus.toml"), "{err}");
        Ok(())
    });
}

#[test]
fn a_named_config_file_must_exist() {
    Jail::expect_with(|_jail| {
        assert!(Settings::load(Some(Path::new("missing.toml"))).is_err());
        Ok(())
    });
}

#[test]
fn unknown_database_schemes_are_refused_not_guessed() {
    for bad in ["mysql://x/y", "nexus.db", "sqlite://", "postgres://", ""] {
        assert!(
            DatabaseTarget::parse(bad).is_err(),
            "{bad} should be refused"
        );
    }
    assert!(DatabaseTarget::parse("postgresql://root@127.0.0.1/test").is_ok());
    assert!(DatabaseTarget::parse("sqlite:///tmp/x.db").is_ok());
}

#[test]
fn secrets_are_redacted_when_printed() {
    let s = Settings {
        database_url: Some(SecretUrl::new(
            "postgres://nexus:s3cret@db/nexus?sslpassword=x",
        )),
        redis_url: Some(SecretUrl::new("redis://:hunter2@cache:6379")),
        auth: AuthSettings {
            jwt_secret: Some(SecretString::new("jwt-key-that-must-never-be-printed!!")),
            ..AuthSettings::default()
        },
        ..Settings::default()
    };
    let printed = s.to_redacted_toml();
    let debugged = format!("{s:?}");
    for text in [&printed, &debugged] {
        assert!(!text.contains("s3cret"), "{text}");
        assert!(!text.contains("hunter2"), "{text}");
        assert!(!text.contains("never-be-printed"), "{text}");
        assert!(text.contains("REDACTED"), "{text}");
    }
}

#[test]
fn trusted_proxies_take_addresses_and_blocks() {
    let mut s = Settings::default();
    s.http.trusted_proxies = vec!["10.0.0.0/8".into(), "::1".into()];
    assert!(s.validate().is_ok());
    assert_eq!(s.http.trusted_proxy_nets().len(), 2);
    s.http.trusted_proxies = vec!["10.0.0.0/33".into()];
    assert_invalid(&s, "http.trusted_proxies");
}

#[test]
fn rate_limit_policies_come_from_the_environment() {
    Jail::expect_with(|jail| {
        jail.set_env("NEXUS_RATE_LIMIT__AUTH", "{limit=3,period_secs=10}");
        jail.set_env("NEXUS_RATE_LIMIT__READ__LIMIT", "7");
        let s = Settings::load(None).expect("loads");
        assert_eq!(
            s.rate_limit.auth,
            RatePolicy {
                limit: 3,
                period_secs: 10
            }
        );
        assert_eq!(s.rate_limit.read.limit, 7);
        assert_eq!(s.rate_limit.write.limit, 60);
        jail.set_env("NEXUS_RATE_LIMIT__WRITE__LIMIT", "0");
        let err = Settings::load(None).unwrap_err().to_string();
        assert!(err.contains("rate_limit.write"), "{err}");
        Ok(())
    });
}

#[test]
fn cors_origins_must_be_bare_origins() {
    let mut s = Settings::default();
    s.http.cors_allowed_origins = vec!["https://app.example.com/path".into()];
    assert!(s.validate().is_err());
    s.http.cors_allowed_origins = vec!["https://app.example.com".into(), "*".into()];
    assert!(s.validate().is_ok());
}

#[test]
fn max_attempts_are_between_1_and_100() {
    let mut s = Settings::default();
    s.jobs.max_attempts.insert("webhook.deliver".into(), 12);
    assert!(s.validate().is_ok());
    s.jobs.max_attempts.insert("webhook.deliver".into(), 101);
    let err = assert_invalid(&s, "jobs.max_attempts.webhook.deliver");
    assert!(err.contains("between 1 and 100"), "{err}");
}

#[test]
fn the_cache_budget_is_between_one_mib_and_64_gib() {
    let mut s = Settings::default();
    for bad in [0, 65_537] {
        s.cache.memory_mib = bad;
        assert_invalid(&s, "cache.memory_mib");
    }
    for good in [1, 64, 65_536] {
        s.cache.memory_mib = good;
        assert!(s.validate().is_ok(), "{good}");
    }
}
