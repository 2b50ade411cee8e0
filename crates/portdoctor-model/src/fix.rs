//! Fixes: the commands portdoctor prints for people to paste, often as root.
//!
//! The values in a command (a chain name, a security-group id, a case id) come from evidence that
//! a hostile machine may have written, so a command is not a string but a [`ShellCommand`]: words
//! we wrote ourselves (`&'static str`, so evidence text cannot become one by accident) and values,
//! which are quoted for a POSIX shell when the command is rendered — only when they need it, so
//! ordinary fixes read as they always did. A value that no quoting makes safe (a control
//! character, a leading `-` that the program would read as an option, a name outside the grammar
//! of a program that re-parses its arguments, such as nft) withholds the command: the fix then
//! says why instead of printing something dangerous.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::borrow::Cow;
use std::fmt;

/// Characters that can rewrite what a terminal or a reader sees: C0 controls (newline, ESC…),
/// DEL, C1 controls, Unicode bidi overrides and isolates, and the Unicode line/paragraph
/// separators. Evidence holding them is shown escaped; a command holding them is withheld.
pub fn is_unsafe_char(c: char) -> bool {
    c.is_control()
        || matches!(c, '\u{061C}' | '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
        || matches!(c, '\u{2028}' | '\u{2029}')
}

/// `s` with every [`is_unsafe_char`] written as a visible escape (`\n`, `\t`, `\r`, `\x1b`,
/// `\u{202e}`); borrowed when there is none.
pub fn escape_unsafe(s: &str) -> Cow<'_, str> {
    if !s.chars().any(is_unsafe_char) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if is_unsafe_char(c) && (c as u32) < 0x100 => out.push_str(&format!("\\x{:02x}", c as u32)),
            c if is_unsafe_char(c) => out.push_str(&format!("\\u{{{:x}}}", c as u32)),
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

/// Characters a shell word may hold unquoted: no expansion, globbing, operator or comment starts
/// with them. Everything else (including any non-ASCII) is single-quoted.
fn is_plain(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '_' | '@' | '%' | '+' | '=' | ':' | ',' | '.' | '/' | '-')
}

/// `v` as one POSIX shell word: as is when every character is plain, else in single quotes
/// (inside which nothing is special; a `'` is written `'\''`).
pub fn shell_quote(v: &str) -> Cow<'_, str> {
    if !v.is_empty() && v.chars().all(is_plain) {
        return Cow::Borrowed(v);
    }
    Cow::Owned(format!("'{}'", v.replace('\'', r"'\''")))
}

/// What the program does with a value after the shell has handed it over.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Grammar {
    /// Taken as one argument: shell quoting is all it needs.
    Arg,
    /// nft joins its arguments and parses them again: only a bare nft identifier is safe.
    NftName,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Seg {
    /// Written by us: one or more words, operators (`&&`, `>`) or a placeholder (`<i-…>`).
    Lit(&'static str),
    /// Any runtime value: quoted when rendered.
    Val(String, Grammar),
}

/// One shell word made of literal text and values, e.g. `--zone=` followed by a zone name
/// (rendered `--zone=public`, or `--zone='a b'`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Word(Vec<Seg>);

impl Word {
    pub fn lit(s: &'static str) -> Word {
        Word(vec![Seg::Lit(s)])
    }

    /// A word that starts with a value.
    pub fn of(v: impl fmt::Display) -> Word {
        Word(vec![Seg::Val(v.to_string(), Grammar::Arg)])
    }

    pub fn val(mut self, v: impl fmt::Display) -> Word {
        self.0.push(Seg::Val(v.to_string(), Grammar::Arg));
        self
    }

    pub fn then(mut self, s: &'static str) -> Word {
        self.0.push(Seg::Lit(s));
        self
    }
}

/// Why a command was withheld.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub value: String,
    pub why: &'static str,
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "the value \"{}\" from the evidence {}", escape_unsafe(&self.value), self.why)
    }
}

/// A command line: literal words we wrote and values quoted at render time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShellCommand(Vec<Word>);

impl ShellCommand {
    /// Starts with literal text: the program and any fixed words after it.
    pub fn new(program: &'static str) -> ShellCommand {
        ShellCommand(vec![Word::lit(program)])
    }

    /// More literal text (words, `&&`, a placeholder such as `<i-…>`).
    pub fn lit(mut self, s: &'static str) -> ShellCommand {
        self.0.push(Word::lit(s));
        self
    }

    /// One value as one argument.
    pub fn arg(mut self, v: impl fmt::Display) -> ShellCommand {
        self.0.push(Word::of(v));
        self
    }

    /// One value, or where there is none a placeholder for the user to fill in (`<sg-…>`).
    pub fn arg_or(self, v: Option<impl fmt::Display>, placeholder: &'static str) -> ShellCommand {
        match v {
            Some(v) => self.arg(v),
            None => self.lit(placeholder),
        }
    }

    /// One argument joining a literal and a value, e.g. `("--zone=", zone)`.
    pub fn kv(self, key: &'static str, v: impl fmt::Display) -> ShellCommand {
        self.word(Word::lit(key).val(v))
    }

    pub fn word(mut self, w: Word) -> ShellCommand {
        self.0.push(w);
        self
    }

    /// A table, chain or set name for nft, which re-parses its joined arguments: only a bare
    /// identifier (`[A-Za-z_.][A-Za-z0-9_./-]*`) is passed, anything else withholds the command.
    pub fn nft_name(mut self, v: impl fmt::Display) -> ShellCommand {
        self.0.push(Word(vec![Seg::Val(v.to_string(), Grammar::NftName)]));
        self
    }

    /// The command as it is pasted, or why it cannot be printed safely.
    pub fn render(&self) -> Result<String, Refusal> {
        let mut out = String::new();
        for (i, word) in self.0.iter().enumerate() {
            if i > 0 {
                out.push(' ');
            }
            let start = out.len();
            for seg in &word.0 {
                match seg {
                    Seg::Lit(s) => out.push_str(s),
                    Seg::Val(v, grammar) => {
                        check(v, *grammar, out.len() == start)?;
                        out.push_str(&shell_quote(v));
                    }
                }
            }
        }
        Ok(out)
    }
}

fn check(v: &str, grammar: Grammar, starts_word: bool) -> Result<(), Refusal> {
    let refuse = |why| Err(Refusal { value: v.to_string(), why });
    if v.chars().any(is_unsafe_char) {
        return refuse("holds control characters");
    }
    if starts_word && v.starts_with('-') {
        return refuse("starts with '-': the program would read it as an option");
    }
    if grammar == Grammar::NftName {
        let mut chars = v.chars();
        let first_ok = chars.next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_' || c == '.');
        if !first_ok || !chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '/' | '-')) {
            return refuse("is not a plain nft name: nft would parse it as part of the rule");
        }
    }
    Ok(())
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Part {
    Text(String),
    Command(ShellCommand),
}

/// One fix: a command, advice in words, or words around a command
/// (`Read the notice: aws health describe-event-details … --event-arns ARN`).
/// In the JSON report it is the string [`Fix`]'s `Display` gives (CONTRACT.md §3 `fix`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fix(Vec<Part>);

impl Fix {
    /// A command to paste.
    pub fn run(cmd: ShellCommand) -> Fix {
        Fix(vec![Part::Command(cmd)])
    }

    /// Advice in words; never a command a person would paste.
    pub fn text(s: impl Into<String>) -> Fix {
        Fix(vec![Part::Text(s.into())])
    }

    /// Words, then a command after them.
    pub fn then_run(mut self, cmd: ShellCommand) -> Fix {
        self.0.push(Part::Command(cmd));
        self
    }

    /// More words after what is there.
    pub fn then_text(mut self, s: impl Into<String>) -> Fix {
        self.0.push(Part::Text(s.into()));
        self
    }

    /// The one command of this fix as it is pasted (what a copy button copies), when the fix
    /// holds exactly one command and it renders safely.
    pub fn command(&self) -> Option<String> {
        let mut cmds = self.0.iter().filter_map(|p| match p {
            Part::Command(c) => Some(c),
            Part::Text(_) => None,
        });
        match (cmds.next(), cmds.next()) {
            (Some(c), None) => c.render().ok(),
            _ => None,
        }
    }

    /// Why a command of this fix was withheld, if one was.
    pub fn refusal(&self) -> Option<Refusal> {
        self.0.iter().find_map(|p| match p {
            Part::Command(c) => c.render().err(),
            Part::Text(_) => None,
        })
    }

    /// Whether the rendered fix contains `s` (for tests and callers that look for a word).
    pub fn contains(&self, s: &str) -> bool {
        self.to_string().contains(s)
    }
}

impl fmt::Display for Fix {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for p in &self.0 {
            match p {
                Part::Text(s) => f.write_str(s)?,
                Part::Command(c) => match c.render() {
                    Ok(s) => f.write_str(&s)?,
                    Err(r) => write!(f, "(command withheld: {r})")?,
                },
            }
        }
        Ok(())
    }
}

impl PartialEq<&str> for Fix {
    fn eq(&self, other: &&str) -> bool {
        self.to_string().as_str() == *other
    }
}

impl Serialize for Fix {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// A fix read back from a report is text: its commands were quoted when it was written.
impl<'de> Deserialize<'de> for Fix {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Fix, D::Error> {
        String::deserialize(d).map(Fix::text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ordinary_values_read_as_they_always_did() {
        let c = ShellCommand::new("iptables -t")
            .arg("filter")
            .lit("-I")
            .arg("INPUT")
            .arg(1)
            .lit("-p tcp --dport")
            .arg(8443u16)
            .lit("-j ACCEPT");
        assert_eq!(c.render().unwrap(), "iptables -t filter -I INPUT 1 -p tcp --dport 8443 -j ACCEPT");
        let c = ShellCommand::new("firewall-cmd")
            .kv("--zone=", "public")
            .word(Word::lit("--add-port=").val(80).then("/").val("tcp"));
        assert_eq!(c.render().unwrap(), "firewall-cmd --zone=public --add-port=80/tcp");
    }

    #[test]
    fn hostile_values_are_one_quoted_word() {
        let c = ShellCommand::new("iptables -I").arg("p;touch$IFS/tmp/x").arg(1);
        assert_eq!(c.render().unwrap(), "iptables -I 'p;touch$IFS/tmp/x' 1");
        assert_eq!(shell_quote("it's"), r"'it'\''s'");
        assert_eq!(shell_quote(""), "''");
        assert_eq!(shell_quote("sg-…"), "'sg-…'");
        let c = ShellCommand::new("firewall-cmd").kv("--zone=", "a b");
        assert_eq!(c.render().unwrap(), "firewall-cmd --zone='a b'");
    }

    #[test]
    fn what_quoting_cannot_make_safe_is_withheld() {
        for (v, why) in
            [("a\nrm -rf /", "control"), ("\u{1b}[2J", "control"), ("x\u{202e}y", "control"), ("-F", "option")]
        {
            let r = ShellCommand::new("iptables -I").arg(v).render().unwrap_err();
            assert!(r.why.contains(why), "{v:?}: {r}");
            let fix = Fix::run(ShellCommand::new("iptables -I").arg(v));
            assert!(fix.to_string().starts_with("(command withheld: the value"), "{fix}");
            assert!(!fix.to_string().chars().any(is_unsafe_char));
            assert_eq!(fix.command(), None);
        }
        // A leading '-' after a literal prefix is not an option.
        assert!(ShellCommand::new("x").kv("--zone=", "-a").render().is_ok());
        assert!(ShellCommand::new("nft insert rule inet").nft_name("filter").render().is_ok());
        assert!(ShellCommand::new("nft insert rule inet").nft_name("f input accept;").render().is_err());
    }

    #[test]
    fn a_fix_is_a_string_in_json_and_names_its_one_command() {
        let fix = Fix::text("Read the notice: ")
            .then_run(ShellCommand::new("aws health describe-event-details --event-arns").arg("arn:a b"));
        assert_eq!(fix.to_string(), "Read the notice: aws health describe-event-details --event-arns 'arn:a b'");
        assert_eq!(fix.command().unwrap(), "aws health describe-event-details --event-arns 'arn:a b'");
        assert_eq!(Fix::text("words").command(), None);
    }

    #[test]
    fn escapes_are_visible_and_leave_ordinary_text_alone() {
        assert!(matches!(escape_unsafe("plain text ✓ …"), Cow::Borrowed(_)));
        assert_eq!(escape_unsafe("a\nb\u{1b}[31m\u{9b}\u{202e}\u{7f}"), "a\\nb\\x1b[31m\\x9b\\u{202e}\\x7f");
    }
}
