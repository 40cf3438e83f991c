//! The one expression language of computed gates (docs/design.md §4.4): minijinja expressions and
//! templates, as the PR text templates use, with the same fuel bound and strict undefined values.
//! Beyond minijinja's built-ins, strings have the Python methods people reach for in a rule:
//! `startswith`, `endswith`, `lower`, `upper`, `strip`.
//!
//! Compiling is checked at load (`promoter validate`, exit 2); evaluating happens in the pass and
//! its error becomes the gate's answer.

use minijinja::value::ValueKind;
use minijinja::{Environment, Error, ErrorKind, UndefinedBehavior, Value};

/// Instructions one evaluation may run (as PR templates: `reconcile::text`).
const FUEL: u64 = 1_000_000;

fn environment() -> Environment<'static> {
    let mut env = Environment::new();
    env.set_fuel(Some(FUEL));
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    env.set_unknown_method_callback(string_method);
    env
}

fn string_method(
    _state: &mut minijinja::State,
    value: &Value,
    method: &str,
    args: &[Value],
) -> Result<Value, Error> {
    let Some(text) = value.as_str().filter(|_| value.kind() == ValueKind::String) else {
        return Err(Error::new(
            ErrorKind::UnknownMethod,
            format!("{} has no method `{method}`", value.kind()),
        ));
    };
    let arg = || {
        args.first().and_then(Value::as_str).ok_or_else(|| {
            Error::new(
                ErrorKind::InvalidOperation,
                format!("`{method}` takes one string argument"),
            )
        })
    };
    Ok(match method {
        "startswith" => Value::from(text.starts_with(arg()?)),
        "endswith" => Value::from(text.ends_with(arg()?)),
        "lower" => Value::from(text.to_lowercase()),
        "upper" => Value::from(text.to_uppercase()),
        "strip" => Value::from(text.trim()),
        _ => {
            return Err(Error::new(
                ErrorKind::UnknownMethod,
                format!("strings have no method `{method}`"),
            ));
        }
    })
}

/// minijinja's error with its line when known: `syntax error at line 1: unexpected end of input`.
pub(crate) fn describe(err: &Error) -> String {
    match (err.detail(), err.line()) {
        (Some(detail), Some(line)) => format!("{} at line {line}: {detail}", err.kind()),
        (Some(detail), None) => format!("{}: {detail}", err.kind()),
        (None, Some(line)) => format!("{} at line {line}", err.kind()),
        (None, None) => err.kind().to_string(),
    }
}

/// Whether `source` compiles as an expression.
pub(crate) fn check_expression(source: &str) -> Result<(), String> {
    environment()
        .compile_expression(source)
        .map(|_| ())
        .map_err(|e| describe(&e))
}

/// Whether `source` compiles as a template.
pub(crate) fn check_template(source: &str) -> Result<(), String> {
    environment()
        .template_from_str(source)
        .map(|_| ())
        .map_err(|e| describe(&e))
}

/// Evaluates `source` in `context`; true when the result is truthy.
pub(crate) fn is_true(source: &str, context: Value) -> Result<bool, String> {
    let env = environment();
    let expr = env.compile_expression(source).map_err(|e| describe(&e))?;
    expr.eval(context)
        .map(|v| v.is_true())
        .map_err(|e| describe(&e))
}

/// Renders the template `source` in `context`.
pub(crate) fn render(source: &str, context: Value) -> Result<String, String> {
    environment()
        .render_str(source, context)
        .map_err(|e| describe(&e))
}

/// A JSON value as a minijinja value (objects keep their keys; numbers stay numbers).
pub(crate) fn from_json(json: &serde_json::Value) -> Value {
    match json {
        serde_json::Value::Null => Value::from(()),
        serde_json::Value::Bool(b) => Value::from(*b),
        serde_json::Value::Number(n) => match (n.as_i64(), n.as_f64()) {
            (Some(i), _) => Value::from(i),
            (None, Some(f)) => Value::from(f),
            (None, None) => Value::from(n.to_string()),
        },
        serde_json::Value::String(s) => Value::from(s.as_str()),
        serde_json::Value::Array(items) => {
            Value::from(items.iter().map(from_json).collect::<Vec<_>>())
        }
        serde_json::Value::Object(map) => Value::from(
            map.iter()
                .map(|(k, v)| (k.clone(), from_json(v)))
                .collect::<std::collections::BTreeMap<_, _>>(),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn python_string_methods_work_in_rules() {
        let ctx = Value::from_pairs([("a", Value::from("Jane@Acme.com "))]);
        for (source, want) in [
            ("a.strip().lower().endswith('@acme.com')", true),
            ("a.startswith('Jane')", true),
            ("a.upper() == 'JANE@ACME.COM '", true),
            ("a.endswith('x')", false),
        ] {
            assert_eq!(is_true(source, ctx.clone()), Ok(want), "{source}");
        }
        let err = is_true("a.splitlines()", ctx).unwrap_err();
        assert!(err.contains("no method `splitlines`"), "{err}");
    }

    #[test]
    fn compile_errors_and_undefined_values_are_reported() {
        assert!(
            check_expression("a ==")
                .unwrap_err()
                .contains("syntax error")
        );
        assert!(check_template("{{ a").is_err());
        let err = is_true("missing.value", Value::from(())).unwrap_err();
        assert!(err.contains("undefined"), "{err}");
    }

    #[test]
    fn json_becomes_nested_values() {
        let json: serde_json::Value =
            serde_json::from_str(r#"{"state":"passed","n":3,"x":1.5,"l":[true,null]}"#).unwrap();
        let ctx = Value::from_pairs([("j", from_json(&json))]);
        assert_eq!(
            is_true(
                "j.state == 'passed' and j.n == 3 and j.x > 1 and j.l[0] and j.l[1] is none",
                ctx
            ),
            Ok(true)
        );
    }
}
