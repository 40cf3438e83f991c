//! The subset of BBQL, Bitbucket's filter language for `q`
//! (<https://developer.atlassian.com/cloud/bitbucket/rest/intro/#filtering>), that list endpoints
//! take here: `field op value` with `=`, `!=`, `~` (contains) and `!~`, string literals in double
//! quotes (`\"` and `\\` escaped), `null`, `AND` binding tighter than `OR`, and parentheses.

/// A parsed query.
#[derive(Debug, Clone)]
pub(crate) enum Query {
    Compare {
        field: String,
        op: Op,
        value: Option<String>,
    },
    And(Box<Query>, Box<Query>),
    Or(Box<Query>, Box<Query>),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Op {
    Eq,
    Ne,
    Contains,
    NotContains,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Token {
    Word(String),
    Text(String),
    Op(Op),
    Open,
    Close,
}

fn tokens(text: &str) -> Result<Vec<Token>, String> {
    let mut out = Vec::new();
    let mut chars = text.chars().peekable();
    while let Some(&c) = chars.peek() {
        match c {
            c if c.is_whitespace() => {
                chars.next();
            }
            '(' => {
                chars.next();
                out.push(Token::Open);
            }
            ')' => {
                chars.next();
                out.push(Token::Close);
            }
            '=' => {
                chars.next();
                out.push(Token::Op(Op::Eq));
            }
            '~' => {
                chars.next();
                out.push(Token::Op(Op::Contains));
            }
            '!' => {
                chars.next();
                match chars.next() {
                    Some('=') => out.push(Token::Op(Op::Ne)),
                    Some('~') => out.push(Token::Op(Op::NotContains)),
                    _ => return Err("`!` must be followed by `=` or `~`".into()),
                }
            }
            '"' => {
                chars.next();
                let mut text = String::new();
                loop {
                    match chars.next() {
                        Some('\\') => match chars.next() {
                            Some(escaped) => text.push(escaped),
                            None => return Err("unterminated string".into()),
                        },
                        Some('"') => break,
                        Some(other) => text.push(other),
                        None => return Err("unterminated string".into()),
                    }
                }
                out.push(Token::Text(text));
            }
            c if c.is_ascii_alphanumeric() || c == '_' || c == '.' => {
                let mut word = String::new();
                while let Some(&c) = chars.peek() {
                    if c.is_ascii_alphanumeric() || c == '_' || c == '.' {
                        word.push(c);
                        chars.next();
                    } else {
                        break;
                    }
                }
                out.push(Token::Word(word));
            }
            other => return Err(format!("unexpected `{other}`")),
        }
    }
    Ok(out)
}

struct Parser {
    tokens: Vec<Token>,
    at: usize,
}

impl Parser {
    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.at)
    }

    fn next(&mut self) -> Option<Token> {
        let token = self.tokens.get(self.at).cloned();
        self.at += 1;
        token
    }

    fn keyword(&mut self, word: &str) -> bool {
        if matches!(self.peek(), Some(Token::Word(w)) if w.eq_ignore_ascii_case(word)) {
            self.at += 1;
            true
        } else {
            false
        }
    }

    fn or(&mut self) -> Result<Query, String> {
        let mut left = self.and()?;
        while self.keyword("OR") {
            left = Query::Or(Box::new(left), Box::new(self.and()?));
        }
        Ok(left)
    }

    fn and(&mut self) -> Result<Query, String> {
        let mut left = self.atom()?;
        while self.keyword("AND") {
            left = Query::And(Box::new(left), Box::new(self.atom()?));
        }
        Ok(left)
    }

    fn atom(&mut self) -> Result<Query, String> {
        match self.next() {
            Some(Token::Open) => {
                let inner = self.or()?;
                match self.next() {
                    Some(Token::Close) => Ok(inner),
                    _ => Err("missing `)`".into()),
                }
            }
            Some(Token::Word(field)) => {
                let Some(Token::Op(op)) = self.next() else {
                    return Err(format!("expected an operator after `{field}`"));
                };
                let value = match self.next() {
                    Some(Token::Text(text)) => Some(text),
                    Some(Token::Word(word)) if word == "null" => None,
                    Some(Token::Word(word)) => Some(word),
                    _ => return Err(format!("expected a value after `{field}`")),
                };
                Ok(Query::Compare { field, op, value })
            }
            _ => Err("expected a field or `(`".into()),
        }
    }
}

impl Query {
    pub(super) fn parse(text: &str) -> Result<Query, String> {
        let mut parser = Parser {
            tokens: tokens(text)?,
            at: 0,
        };
        let query = parser.or()?;
        if parser.at != parser.tokens.len() {
            return Err("unexpected text after the query".into());
        }
        Ok(query)
    }

    /// Whether an item matches; `field` gives a field's value (`None`: null), or `Err` for a
    /// field the endpoint does not know.
    pub(super) fn matches(
        &self,
        field: &dyn Fn(&str) -> Result<Option<String>, String>,
    ) -> Result<bool, String> {
        Ok(match self {
            Query::And(a, b) => a.matches(field)? && b.matches(field)?,
            Query::Or(a, b) => a.matches(field)? || b.matches(field)?,
            Query::Compare {
                field: name,
                op,
                value,
            } => {
                let actual = field(name)?;
                match op {
                    Op::Eq => actual == *value,
                    Op::Ne => actual != *value,
                    Op::Contains | Op::NotContains => {
                        let found = match (&actual, value) {
                            (Some(a), Some(v)) => a.to_lowercase().contains(&v.to_lowercase()),
                            _ => false,
                        };
                        found == (*op == Op::Contains)
                    }
                }
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::Query;

    #[test]
    fn and_binds_tighter_than_or_and_strings_unescape() {
        let query = Query::parse(r#"a = "x\"y" OR b = "1" AND c = "2""#).unwrap();
        let field = |values: [&'static str; 3]| {
            move |name: &str| -> Result<Option<String>, String> {
                match name {
                    "a" => Ok(Some(values[0].to_owned())),
                    "b" => Ok(Some(values[1].to_owned())),
                    "c" => Ok(Some(values[2].to_owned())),
                    other => Err(format!("unknown field {other}")),
                }
            }
        };
        assert!(query.matches(&field(["x\"y", "0", "0"])).unwrap());
        assert!(query.matches(&field(["-", "1", "2"])).unwrap());
        assert!(!query.matches(&field(["-", "1", "0"])).unwrap());
        assert!(Query::parse("a = ").is_err());
        assert!(Query::parse(r#"(a = "1""#).is_err());
        let unknown = Query::parse(r#"zzz = "1""#).unwrap();
        assert!(unknown.matches(&field(["", "", ""])).is_err());
    }
}
