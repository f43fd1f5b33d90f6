//! Where uploaded files are kept: a directory (the embedded default) or an S3-compatible
//! object store, and how large one upload may be.

use std::net::IpAddr;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::SecretString;

/// The `[storage]` section.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct StorageSettings {
    /// `s3://bucket` or `s3://bucket/prefix` for an S3-compatible store, or
    /// `file:///absolute/directory`. Unset: the directory `{data_dir}/files`.
    pub url: Option<String>,
    /// The S3 endpoint, e.g. `https://s3.eu-central-1.amazonaws.com` or a MinIO or Garage
    /// server. Unset: AWS, for the region. Plain `http://` only on a loopback address.
    pub endpoint: Option<String>,
    /// The S3 region. Unset: `AWS_REGION`, else `us-east-1`.
    pub region: Option<String>,
    /// S3 credentials, both or neither. Neither: the AWS environment (`AWS_ACCESS_KEY_ID`
    /// and `AWS_SECRET_ACCESS_KEY`, a web identity token, or the instance's role).
    pub access_key_id: Option<String>,
    pub secret_access_key: Option<SecretString>,
    /// Largest file one upload may be, in bytes.
    pub max_upload_bytes: u64,
}

impl Default for StorageSettings {
    fn default() -> Self {
        Self {
            url: None,
            endpoint: None,
            region: None,
            access_key_id: None,
            secret_access_key: None,
            max_upload_bytes: 25 * 1024 * 1024,
        }
    }
}

/// Where the files of this process go, as [`StorageSettings::target`] reads the URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StorageTarget {
    /// A directory of the local file system.
    Local(PathBuf),
    /// A bucket of an S3-compatible store, and the key prefix inside it (empty, or
    /// segments joined by `/` without a leading or trailing one).
    S3 { bucket: String, prefix: String },
}

/// The largest `max_upload_bytes` accepted: what one request can carry within the request
/// timeout on a good link, and far below S3's 10,000 parts of 5 MiB.
const MAX_UPLOAD_CEILING: u64 = 1024 * 1024 * 1024;

impl StorageSettings {
    /// Where files go; `data_dir` is the embedded default's parent.
    pub fn target(&self, data_dir: &std::path::Path) -> Result<StorageTarget, String> {
        let Some(raw) = self.url.as_deref() else {
            return Ok(StorageTarget::Local(data_dir.join("files")));
        };
        let url = url::Url::parse(raw).map_err(|e| format!("not a valid URL: {e}"))?;
        match url.scheme() {
            "s3" => {
                if !url.username().is_empty() || url.password().is_some() {
                    return Err("must not carry credentials; set storage.access_key_id and \
                                storage.secret_access_key"
                        .into());
                }
                if url.query().is_some() || url.fragment().is_some() || url.port().is_some() {
                    return Err("must be s3://bucket or s3://bucket/prefix, nothing more".into());
                }
                let bucket = url.host_str().unwrap_or_default();
                if !is_bucket_name(bucket) {
                    return Err(format!(
                        "`{bucket}` is not a bucket name (3-63 characters of a-z, 0-9, `.` and `-`)"
                    ));
                }
                let prefix = url.path().trim_matches('/');
                if prefix
                    .split('/')
                    .any(|s| s.is_empty() && !prefix.is_empty())
                {
                    return Err("the prefix must not contain empty segments (`//`)".into());
                }
                Ok(StorageTarget::S3 {
                    bucket: bucket.to_owned(),
                    prefix: prefix.to_owned(),
                })
            }
            "file" => {
                let path = url
                    .to_file_path()
                    .map_err(|()| "must be file:///absolute/directory".to_owned())?;
                Ok(StorageTarget::Local(path))
            }
            other => Err(format!("unsupported scheme `{other}`; expected s3 or file")),
        }
    }

    /// Every problem of this section, each naming its key.
    pub(super) fn check(&self, data_dir: &std::path::Path, problems: &mut Vec<String>) {
        let target = match self.target(data_dir) {
            Ok(t) => Some(t),
            Err(e) => {
                problems.push(format!("key `storage.url` (NEXUS_STORAGE__URL): {e}"));
                None
            }
        };
        let s3 = matches!(target, Some(StorageTarget::S3 { .. }));
        let s3_only = [
            ("endpoint", self.endpoint.is_some()),
            ("region", self.region.is_some()),
            ("access_key_id", self.access_key_id.is_some()),
            ("secret_access_key", self.secret_access_key.is_some()),
        ];
        for (key, set) in s3_only {
            if set && !s3 && target.is_some() {
                problems.push(format!(
                    "key `storage.{key}`: only used with an s3:// storage.url"
                ));
            }
        }
        if self.access_key_id.is_some() != self.secret_access_key.is_some() {
            problems.push(
                "keys `storage.access_key_id` and `storage.secret_access_key`: set both or neither"
                    .into(),
            );
        }
        if self.access_key_id.as_deref().is_some_and(str::is_empty)
            || self
                .secret_access_key
                .as_ref()
                .is_some_and(|s| s.expose().is_empty())
            || self.region.as_deref().is_some_and(str::is_empty)
        {
            problems.push(
                "keys `storage.access_key_id`, `storage.secret_access_key` and `storage.region`: must not be empty when set"
                    .into(),
            );
        }
        if let Some(endpoint) = &self.endpoint
            && let Err(e) = check_endpoint(endpoint)
        {
            problems.push(format!(
                "key `storage.endpoint` (NEXUS_STORAGE__ENDPOINT): `{endpoint}` {e}"
            ));
        }
        if !(1..=MAX_UPLOAD_CEILING).contains(&self.max_upload_bytes) {
            problems.push("key `storage.max_upload_bytes`: must be between 1 and 1 GiB".into());
        }
    }

    /// Whether the endpoint is plain HTTP (allowed on loopback only, by [`check_endpoint`]).
    pub fn endpoint_is_http(&self) -> bool {
        self.endpoint
            .as_deref()
            .and_then(|e| url::Url::parse(e).ok())
            .is_some_and(|u| u.scheme() == "http")
    }
}

/// S3's rules for bucket names, as far as a typo is concerned.
fn is_bucket_name(name: &str) -> bool {
    (3..=63).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'.' || b == b'-')
        && name
            .bytes()
            .next()
            .is_some_and(|b| b.is_ascii_alphanumeric())
}

/// An endpoint is an origin (no path beyond `/`), over HTTPS; plain HTTP only to this
/// machine, where nothing travels over a network (a test server, a local MinIO).
fn check_endpoint(endpoint: &str) -> Result<(), String> {
    let url = url::Url::parse(endpoint).map_err(|e| format!("is not a URL: {e}"))?;
    if url.path() != "/" || url.query().is_some() || url.fragment().is_some() {
        return Err("must be scheme://host[:port], with no path".into());
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err("must not carry credentials".into());
    }
    match url.scheme() {
        "https" => Ok(()),
        "http" if is_loopback(&url) => Ok(()),
        "http" => Err("uses plain http, which is allowed only on a loopback address".into()),
        other => Err(format!(
            "has scheme `{other}`; expected https (or http on loopback)"
        )),
    }
}

fn is_loopback(url: &url::Url) -> bool {
    match url.host() {
        Some(url::Host::Ipv4(ip)) => IpAddr::V4(ip).is_loopback(),
        Some(url::Host::Ipv6(ip)) => IpAddr::V6(ip).is_loopback(),
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn target(url: &str) -> Result<StorageTarget, String> {
        StorageSettings {
            url: Some(url.into()),
            ..StorageSettings::default()
        }
        .target(Path::new("/data"))
    }

    fn problems(s: &StorageSettings) -> Vec<String> {
        let mut p = Vec::new();
        s.check(Path::new("/data"), &mut p);
        p
    }

    #[test]
    fn files_go_under_the_data_directory_unless_a_url_says_otherwise() {
        let s = StorageSettings::default();
        assert_eq!(
            s.target(Path::new("./nexus-data")).unwrap(),
            StorageTarget::Local(PathBuf::from("./nexus-data/files"))
        );
        assert_eq!(s.max_upload_bytes, 25 * 1024 * 1024);
        assert_eq!(
            target("s3://nexus-files").unwrap(),
            StorageTarget::S3 {
                bucket: "nexus-files".into(),
                prefix: String::new()
            }
        );
        assert_eq!(
            target("s3://nexus-files/prod/uploads/").unwrap(),
            StorageTarget::S3 {
                bucket: "nexus-files".into(),
                prefix: "prod/uploads".into()
            }
        );
        assert_eq!(
            target("file:///srv/nexus/files").unwrap(),
            StorageTarget::Local(PathBuf::from("/srv/nexus/files"))
        );
    }

    #[test]
    fn bad_urls_are_refused_with_a_reason() {
        for (url, says) in [
            ("gs://bucket", "unsupported scheme"),
            ("s3://key:secret@bucket", "credentials"),
            ("s3://Bucket_Name", "bucket name"),
            ("s3://ab", "bucket name"),
            ("s3://bucket?region=x", "nothing more"),
            ("s3://bucket/a//b", "empty segments"),
            ("file://relative/dir", "absolute"),
            ("not a url", "not a valid URL"),
        ] {
            let err = target(url).unwrap_err();
            assert!(err.contains(says), "{url}: {err}");
        }
    }

    #[test]
    fn plain_http_endpoints_only_on_loopback() {
        for ok in [
            "https://s3.eu-central-1.amazonaws.com",
            "http://127.0.0.1:9000",
            "http://[::1]:9000",
            "http://localhost:9000",
        ] {
            assert!(check_endpoint(ok).is_ok(), "{ok}");
        }
        for bad in [
            "http://minio.internal:9000",
            "http://10.0.0.5:9000",
            "ftp://127.0.0.1",
            "https://s3.example.com/bucket",
            "https://user:pw@s3.example.com",
        ] {
            assert!(check_endpoint(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn s3_settings_need_an_s3_url_and_credentials_come_in_pairs() {
        let mut s = StorageSettings {
            endpoint: Some("http://127.0.0.1:9000".into()),
            ..StorageSettings::default()
        };
        assert!(problems(&s)[0].contains("storage.endpoint"), "{s:?}");
        s.url = Some("s3://nexus-files".into());
        assert!(problems(&s).is_empty());
        s.access_key_id = Some("nexus".into());
        assert!(problems(&s)[0].contains("both or neither"));
        s.secret_access_key = Some(SecretString::new("secret"));
        assert!(problems(&s).is_empty());
        s.max_upload_bytes = 0;
        assert!(problems(&s)[0].contains("storage.max_upload_bytes"));
    }
}
