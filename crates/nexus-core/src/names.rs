//! Closed sets of names a domain stores and shows as text (kinds, statuses, roles).

/// Declares such an enum: each variant with its name, the same in JSON and in the
/// database, and `as_str`, `parse` (an unknown name is `None`, never a default) and
/// `Display` (the name). The enum's derives must include serde's `Serialize` and
/// `Deserialize`, which take each variant's name from here.
// `$text` is a `tt`, not a `literal`: a `literal` fragment reaches derive macros wrapped
// in an invisible group, which utoipa does not read as a name (the OpenAPI enum would
// show the Rust variant names while serde writes the given ones).
macro_rules! named_enum {
    (
        $(#[$meta:meta])*
        pub enum $name:ident {
            $($(#[$vmeta:meta])* $variant:ident = $text:tt,)+
        }
    ) => {
        $(#[$meta])*
        pub enum $name {
            $($(#[$vmeta])* #[serde(rename = $text)] $variant,)+
        }

        impl $name {
            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $text,)+
                }
            }

            pub fn parse(s: &str) -> Option<$name> {
                match s {
                    $($text => Some($name::$variant),)+
                    _ => None,
                }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

#[cfg(test)]
mod tests {
    use serde_json::Value;
    use utoipa::PartialSchema;

    use crate::hub::{NoteKind, NoteStatus};
    use crate::identity::{Role, Track};

    /// The names the API document lists for `T`.
    fn documented<T: PartialSchema>() -> Vec<String> {
        let schema = serde_json::to_value(T::schema()).unwrap();
        match &schema["enum"] {
            Value::Array(names) => names
                .iter()
                .map(|n| n.as_str().unwrap().to_owned())
                .collect(),
            other => panic!("no enum in {schema}: {other}"),
        }
    }

    #[test]
    fn the_api_document_lists_the_names_serde_writes() {
        let written = |v: Vec<Value>| -> Vec<String> {
            v.into_iter()
                .map(|n| n.as_str().unwrap().to_owned())
                .collect()
        };
        let kinds = [NoteKind::Concept, NoteKind::Challenge, NoteKind::Practice];
        let kinds: Vec<Value> = kinds
            .iter()
            .map(|k| serde_json::to_value(k).unwrap())
            .collect();
        assert!(
            written(kinds)
                .iter()
                .all(|k| documented::<NoteKind>().contains(k))
        );
        assert_eq!(documented::<Role>(), ["learner", "mentor", "admin"]);
        assert_eq!(
            documented::<NoteStatus>(),
            ["draft", "published", "archived"]
        );
        assert!(documented::<Track>().contains(&"other".to_owned()));
        assert_eq!(serde_json::to_value(Role::Admin).unwrap(), "admin");
    }
}
