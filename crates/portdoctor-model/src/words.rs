//! Closed vocabularies read from a tool's or provider's own words.

/// A closed vocabulary read from a provider's or tool's own words: the names it documents (the
/// first spelling is the one written back; `|` adds others the same tool prints, such as
/// iptables' `LOCAL` and nft's `local`), and any other kept as written (`Unknown`), so a new
/// value is reported, never misread. Serialised as the word.
macro_rules! provider_words {
    ($(#[$doc:meta])* $name:ident { $($variant:ident = $word:literal $(| $alt:literal)*),+ $(,)? }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
        #[serde(from = "String", into = "String")]
        pub enum $name {
            $($variant,)+
            Unknown(String),
        }

        impl $name {
            pub fn as_str(&self) -> &str {
                match self {
                    $($name::$variant => $word,)+
                    $name::Unknown(s) => s,
                }
            }
        }

        impl From<&str> for $name {
            fn from(s: &str) -> $name {
                match s {
                    $($word $(| $alt)* => $name::$variant,)+
                    other => $name::Unknown(other.to_string()),
                }
            }
        }

        impl From<String> for $name {
            fn from(s: String) -> $name {
                $name::from(s.as_str())
            }
        }

        impl From<$name> for String {
            fn from(v: $name) -> String {
                v.as_str().to_string()
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}
