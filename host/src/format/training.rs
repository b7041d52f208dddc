//! One input record to one training record: the configured field mapping read from the record's JSON
//! object, checked, and shaped as its kind (seed 000's `DataFormatter` shapes; see `tamis_core::format`).
//!
//! A mapped field that the record lacks (or holds as `null`) is an error, never an empty string: a
//! training example with a silently empty answer teaches the model to say nothing.

use serde_json::{Map, Value};
use tamis_core::format::{FieldSource, FormatConfig, FormatKind};
use tamis_core::record::kind_of;

use super::template::Message;

/// A training record, before rendering.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Training {
    Instruction {
        instruction: String,
        input: String,
        output: String,
    },
    Conversation {
        messages: Vec<Message>,
    },
    /// Also the shape of `domain_adaptation`, whose prompt carries the domain prefix.
    PromptCompletion {
        prompt: String,
        completion: String,
    },
}

/// Why a record could not become a training record: a stable kind for `stats.json`, and the message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BuildError {
    pub kind: &'static str,
    pub message: String,
}

impl BuildError {
    fn new(kind: &'static str, message: String) -> Self {
        Self { kind, message }
    }
}

impl Training {
    /// Reads the record's fields as `config` maps them.
    pub fn build(object: &Map<String, Value>, config: &FormatConfig) -> Result<Self, BuildError> {
        let text = |name: &str| text_field(object, config, name);
        Ok(match config.kind {
            FormatKind::Instruction => Training::Instruction {
                instruction: text("instruction")?.unwrap_or_default(),
                input: text("input")?.unwrap_or_default(),
                output: text("output")?.unwrap_or_default(),
            },
            FormatKind::PromptCompletion => Training::PromptCompletion {
                prompt: text("prompt")?.unwrap_or_default(),
                completion: text("completion")?.unwrap_or_default(),
            },
            FormatKind::DomainAdaptation => Training::PromptCompletion {
                prompt: format!(
                    "{}{}",
                    config.domain_prefix(),
                    text("prompt")?.unwrap_or_default()
                ),
                completion: text("completion")?.unwrap_or_default(),
            },
            FormatKind::Conversation => Training::Conversation {
                messages: messages(object, config)?,
            },
        })
    }

    /// The turns a chat template renders: an instruction is the user's turn (with its input below it
    /// after a blank line) and the output the assistant's; a prompt is the user's turn and its completion
    /// the assistant's. `system` goes first when set.
    pub fn messages(&self, system: Option<&str>) -> Vec<Message> {
        let mut out = Vec::new();
        if let Some(system) = system {
            out.push(Message {
                role: "system".into(),
                content: system.to_string(),
            });
        }
        let turn = |role: &str, content: String| Message {
            role: role.into(),
            content,
        };
        match self {
            Training::Instruction {
                instruction,
                input,
                output,
            } => {
                let user = if input.trim().is_empty() {
                    instruction.clone()
                } else {
                    format!("{instruction}\n\n{input}")
                };
                out.push(turn("user", user));
                out.push(turn("assistant", output.clone()));
            }
            Training::PromptCompletion { prompt, completion } => {
                out.push(turn("user", prompt.clone()));
                out.push(turn("assistant", completion.clone()));
            }
            Training::Conversation { messages } => out.extend(messages.iter().cloned()),
        }
        out
    }

    /// The record's fields in their output order, after `id` and before `text`.
    pub fn write_fields(&self, object: &mut Map<String, Value>) {
        match self {
            Training::Instruction {
                instruction,
                input,
                output,
            } => {
                object.insert("instruction".into(), instruction.clone().into());
                object.insert("input".into(), input.clone().into());
                object.insert("output".into(), output.clone().into());
            }
            Training::PromptCompletion { prompt, completion } => {
                object.insert("prompt".into(), prompt.clone().into());
                object.insert("completion".into(), completion.clone().into());
            }
            Training::Conversation { messages } => {
                let list = messages
                    .iter()
                    .map(|m| {
                        let mut turn = Map::new();
                        turn.insert("role".into(), m.role.clone().into());
                        turn.insert("content".into(), m.content.clone().into());
                        Value::Object(turn)
                    })
                    .collect();
                object.insert("messages".into(), Value::Array(list));
            }
        }
    }
}

/// Where output field `name` is read from, as the error message names it.
fn describe_source(source: &FieldSource, name: &str) -> String {
    match source {
        FieldSource::Field(key) if key == name => format!("field `{key}`"),
        FieldSource::Field(key) => format!("field `{key}` (mapped to `{name}`)"),
        FieldSource::Constant { .. } => format!("the constant of `{name}`"),
    }
}

/// The value of an input field: a top-level key, or a JSON Pointer (RFC 6901) when it starts with `/`.
fn lookup<'a>(object: &'a Map<String, Value>, key: &str) -> Option<&'a Value> {
    let Some(pointer) = key.strip_prefix('/') else {
        return object.get(key);
    };
    let mut parts = pointer
        .split('/')
        .map(|p| p.replace("~1", "/").replace("~0", "~"));
    let first = parts.next()?;
    let mut value = object.get(&first)?;
    for part in parts {
        value = match value {
            Value::Object(map) => map.get(&part)?,
            Value::Array(items) => items.get(part.parse::<usize>().ok()?)?,
            _ => return None,
        };
    }
    Some(value)
}

/// A text field: `Ok(None)` for an optional field that is neither mapped nor present.
fn text_field(
    object: &Map<String, Value>,
    config: &FormatConfig,
    name: &str,
) -> Result<Option<String>, BuildError> {
    let required = config
        .kind
        .fields()
        .iter()
        .any(|(field, required)| *field == name && *required);
    let mapped = config.fields.contains_key(name);
    let source = config.source(name);
    let key = match &source {
        FieldSource::Constant { constant } => return Ok(Some(constant.clone())),
        FieldSource::Field(key) => key,
    };
    match lookup(object, key) {
        Some(Value::String(s)) => Ok(Some(s.clone())),
        None | Some(Value::Null) if !required && !mapped => Ok(None),
        None | Some(Value::Null) => Err(BuildError::new(
            "missing field",
            format!("no {}", describe_source(&source, name)),
        )),
        Some(other) => Err(BuildError::new(
            "field of the wrong type",
            format!(
                "{} must be a string, got {}",
                describe_source(&source, name),
                kind_of(other)
            ),
        )),
    }
}

/// The turns of a conversation record: a list of objects with a role and a content string each; roles
/// renamed by `[format.roles]`.
fn messages(
    object: &Map<String, Value>,
    config: &FormatConfig,
) -> Result<Vec<Message>, BuildError> {
    let source = config.source("messages");
    let FieldSource::Field(key) = &source else {
        return Err(BuildError::new(
            "missing field",
            "messages must come from an input field".into(),
        ));
    };
    let list = match lookup(object, key) {
        Some(Value::Array(list)) => list,
        None | Some(Value::Null) => {
            return Err(BuildError::new(
                "missing field",
                format!("no {}", describe_source(&source, "messages")),
            ));
        }
        Some(other) => {
            return Err(BuildError::new(
                "field of the wrong type",
                format!(
                    "{} must be a list of messages, got {}",
                    describe_source(&source, "messages"),
                    kind_of(other)
                ),
            ));
        }
    };
    if list.is_empty() {
        return Err(BuildError::new(
            "empty conversation",
            format!("{} holds no message", describe_source(&source, "messages")),
        ));
    }
    let mut out = Vec::with_capacity(list.len());
    for (i, item) in list.iter().enumerate() {
        let part = |k: &str| match item.get(k) {
            Some(Value::String(s)) => Ok(s.clone()),
            Some(other) => Err(BuildError::new(
                "bad message",
                format!("{key}[{i}].{k} must be a string, got {}", kind_of(other)),
            )),
            None => Err(BuildError::new(
                "bad message",
                format!("{key}[{i}] has no `{k}`"),
            )),
        };
        if !item.is_object() {
            return Err(BuildError::new(
                "bad message",
                format!("{key}[{i}] must be an object, got {}", kind_of(item)),
            ));
        }
        let role = part(&config.role_key)?;
        let role = config.roles.get(&role).cloned().unwrap_or(role);
        out.push(Message {
            role,
            content: part(&config.content_key)?,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use tamis_core::Config;

    fn config(toml: &str) -> FormatConfig {
        Config::from_toml(toml).unwrap().format
    }

    fn object(json: &str) -> Map<String, Value> {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn mapped_fields_constants_and_pointers_are_read() {
        let c = config(
            "[format.fields]\ninstruction = { constant = \"Solve:\" }\ninput = \"question\"\noutput = \"/meta/answer\"\n",
        );
        let t = Training::build(
            &object(r#"{"question": "2+2?", "meta": {"answer": "4"}}"#),
            &c,
        )
        .unwrap();
        assert_eq!(
            t,
            Training::Instruction {
                instruction: "Solve:".into(),
                input: "2+2?".into(),
                output: "4".into()
            }
        );
    }

    #[test]
    fn a_missing_mapped_field_is_an_error_and_an_unmapped_optional_one_is_empty() {
        let c = config("[format.fields]\ninstruction = \"question\"\noutput = \"answer\"\n");
        let err = Training::build(&object(r#"{"question": "q"}"#), &c).unwrap_err();
        assert_eq!(err.kind, "missing field");
        assert_eq!(err.message, "no field `answer` (mapped to `output`)");
        let t = Training::build(&object(r#"{"question": "q", "answer": "a"}"#), &c).unwrap();
        assert!(matches!(t, Training::Instruction { input, .. } if input.is_empty()));
        let err = Training::build(&object(r#"{"question": 3, "answer": "a"}"#), &c).unwrap_err();
        assert_eq!(
            err.message,
            "field `question` (mapped to `instruction`) must be a string, got a number"
        );
    }

    #[test]
    fn conversations_rename_roles_and_name_a_bad_turn() {
        let c = config(
            "[format]\nkind = \"conversation\"\nrole_key = \"from\"\ncontent_key = \"value\"\n[format.fields]\nmessages = \"turns\"\n[format.roles]\nhuman = \"user\"\ngpt = \"assistant\"\n",
        );
        let t = Training::build(
            &object(r#"{"turns": [{"from": "human", "value": "hi"}, {"from": "gpt", "value": "hello"}]}"#),
            &c,
        )
        .unwrap();
        let roles: Vec<String> = t.messages(None).into_iter().map(|m| m.role).collect();
        assert_eq!(roles, ["user", "assistant"]);
        let err = Training::build(
            &object(r#"{"turns": [{"from": "human", "value": "hi"}, {"from": "gpt"}]}"#),
            &c,
        )
        .unwrap_err();
        assert_eq!(err.message, "turns[1] has no `value`");
    }

    #[test]
    fn domain_prompts_start_with_the_prefix() {
        let c = config(
            "[format]\nkind = \"domain_adaptation\"\ndomain = \"technical\"\n[format.fields]\nprompt = { constant = \"what does this page say?\" }\ncompletion = \"text\"\n",
        );
        let t = Training::build(&object(r#"{"text": "Rust is a language."}"#), &c).unwrap();
        assert_eq!(
            t,
            Training::PromptCompletion {
                prompt: "In technical terms, what does this page say?".into(),
                completion: "Rust is a language.".into()
            }
        );
    }
}
