//! Rendering a training record into its one `text`: seed 000's plain templates, or a model's own chat
//! template from its Hugging Face `tokenizer_config.json`.
//!
//! **Chat templates** are Jinja. transformers renders them in `apply_chat_template`
//! (`transformers/utils/chat_template_utils.py`, `_compile_jinja_template`) with a sandboxed jinja2
//! environment with `trim_blocks` and `lstrip_blocks`, the `loopcontrols` extension, a `raise_exception`
//! global, and a `tojson` filter replaced by Python's `json.dumps` (no HTML escaping, `ensure_ascii=False`);
//! the template sees `messages`, `add_generation_prompt` and the tokenizer's special tokens (`bos_token`,
//! `eos_token`, ...). minijinja is set up the same way here; the Python string and dict methods that
//! templates call (`.strip()`, `.startswith()`, `.items()`) come from minijinja-contrib's `pycompat`.
//! `strftime_now` is left out on purpose: a template that prints today's date would make the output
//! depend on the day it ran. A template that calls it, or uses transformers' `{% generation %}` tag, is
//! refused with the template engine's message.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use anyhow::{Result, anyhow, bail};
use minijinja::value::Kwargs;
use minijinja::{Environment, Error, ErrorKind, Value};
use serde::Serialize;
use serde_json::Value as Json;

/// One turn of a conversation, as chat templates read it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Message {
    pub role: String,
    pub content: String,
}

/// What a `tokenizer_config.json` contributes: its chat template and its special tokens.
#[derive(Debug, Clone, Default)]
pub struct TokenizerConfig {
    pub chat_template: Option<String>,
    /// `bos_token`, `eos_token`, `unk_token`, `pad_token`, ... as plain strings, as transformers passes
    /// its `special_tokens_map` to the template.
    pub special_tokens: BTreeMap<String, String>,
}

impl TokenizerConfig {
    /// Reads the parts of a `tokenizer_config.json` that rendering needs. A special token is a string or
    /// an `AddedToken` object (`{"content": "</s>", ...}`); `chat_template` is a string, or a list of
    /// named templates of which `default` is used, as transformers does.
    pub fn parse(bytes: &[u8]) -> Result<Self> {
        let value: Json =
            serde_json::from_slice(bytes).map_err(|e| anyhow!("not a JSON object: {e}"))?;
        let Json::Object(map) = value else {
            bail!("not a JSON object");
        };
        let mut special_tokens = BTreeMap::new();
        for key in [
            "bos_token",
            "eos_token",
            "unk_token",
            "sep_token",
            "pad_token",
            "cls_token",
            "mask_token",
        ] {
            let token = match map.get(key) {
                Some(Json::String(s)) => Some(s.clone()),
                Some(Json::Object(o)) => o.get("content").and_then(Json::as_str).map(String::from),
                _ => None,
            };
            if let Some(token) = token {
                special_tokens.insert(key.to_string(), token);
            }
        }
        let chat_template = match map.get("chat_template") {
            None | Some(Json::Null) => None,
            Some(Json::String(s)) => Some(s.clone()),
            Some(Json::Array(list)) => {
                let named = list.iter().find(|t| t["name"] == "default");
                match named.and_then(|t| t["template"].as_str()) {
                    Some(s) => Some(s.to_string()),
                    None => {
                        bail!("chat_template is a list of named templates without a `default` one")
                    }
                }
            }
            Some(_) => bail!("chat_template must be a string or a list of named templates"),
        };
        Ok(Self {
            chat_template,
            special_tokens,
        })
    }
}

/// A compiled chat template with the tokens it is rendered with. Compiled once and shared by every
/// worker (a minijinja `Environment` is `Sync`).
pub struct ChatTemplate {
    env: Environment<'static>,
    special_tokens: BTreeMap<String, String>,
}

const TEMPLATE_NAME: &str = "chat_template";

impl ChatTemplate {
    /// Compiles `source` as transformers' environment would; a syntax error says where.
    pub fn new(source: &str, special_tokens: BTreeMap<String, String>) -> Result<Self> {
        let mut env = Environment::new();
        env.set_trim_blocks(true);
        env.set_lstrip_blocks(true);
        env.set_unknown_method_callback(minijinja_contrib::pycompat::unknown_method_callback);
        env.add_function("raise_exception", raise_exception);
        env.add_filter("tojson", tojson);
        env.add_template_owned(TEMPLATE_NAME, source.to_string())
            .map_err(|e| anyhow!("the chat template does not compile: {e}"))?;
        Ok(Self {
            env,
            special_tokens,
        })
    }

    /// Renders a whole conversation for training (`add_generation_prompt = false`). The error is the
    /// template's own message, for example the one its `raise_exception` gave.
    pub fn render(&self, messages: &[Message]) -> Result<String, String> {
        let template = self
            .env
            .get_template(TEMPLATE_NAME)
            .map_err(|e| e.to_string())?;
        let mut context: BTreeMap<&str, Value> = self
            .special_tokens
            .iter()
            .map(|(k, v)| (k.as_str(), Value::from(v.as_str())))
            .collect();
        context.insert("messages", Value::from_serialize(messages));
        context.insert("add_generation_prompt", Value::from(false));
        template.render(context).map_err(|e| describe(&e))
    }
}

/// The message of a render error: the template's own text for `raise_exception`, with the engine's
/// detail otherwise.
fn describe(error: &Error) -> String {
    match (error.kind(), error.detail()) {
        (ErrorKind::InvalidOperation, Some(detail)) => {
            format!("the chat template refused the record: {detail}")
        }
        _ => format!("the chat template failed: {error}"),
    }
}

/// `raise_exception(message)`: how chat templates refuse a conversation they cannot render (roles that
/// do not alternate, an unsupported role).
fn raise_exception(message: String) -> Result<Value, Error> {
    Err(Error::new(ErrorKind::InvalidOperation, message))
}

/// transformers' `tojson`: Python's `json.dumps(x, ensure_ascii=False, indent=None, separators=None,
/// sort_keys=False)`, which writes `", "` and `": "` between items (`","` and `": "` with an indent), and
/// escapes no HTML characters (jinja2's and minijinja's own `tojson` do).
fn tojson(value: Value, kwargs: Kwargs) -> Result<Value, Error> {
    let indent: Option<usize> = kwargs.get("indent")?;
    let sort_keys: Option<bool> = kwargs.get("sort_keys")?;
    let ensure_ascii: Option<bool> = kwargs.get("ensure_ascii")?;
    kwargs.assert_all_used()?;
    let json = serde_json::to_value(&value)
        .map_err(|e| Error::new(ErrorKind::InvalidOperation, format!("tojson: {e}")))?;
    let mut out = String::new();
    let style = DumpStyle {
        indent,
        sort_keys: sort_keys.unwrap_or(false),
        ensure_ascii: ensure_ascii.unwrap_or(false),
    };
    dump(&json, &style, 0, &mut out);
    Ok(Value::from_safe_string(out))
}

struct DumpStyle {
    indent: Option<usize>,
    sort_keys: bool,
    ensure_ascii: bool,
}

fn dump(value: &Json, style: &DumpStyle, depth: usize, out: &mut String) {
    let item_sep = if style.indent.is_some() { "," } else { ", " };
    let newline = |out: &mut String, depth: usize| {
        if let Some(n) = style.indent {
            out.push('\n');
            out.extend(std::iter::repeat_n(' ', n * depth));
        }
    };
    match value {
        Json::Array(items) if !items.is_empty() => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(item_sep);
                }
                newline(out, depth + 1);
                dump(item, style, depth + 1, out);
            }
            newline(out, depth);
            out.push(']');
        }
        Json::Object(map) if !map.is_empty() => {
            let mut entries: Vec<(&String, &Json)> = map.iter().collect();
            if style.sort_keys {
                entries.sort_by(|a, b| a.0.cmp(b.0));
            }
            out.push('{');
            for (i, (key, item)) in entries.into_iter().enumerate() {
                if i > 0 {
                    out.push_str(item_sep);
                }
                newline(out, depth + 1);
                dump_string(key, style.ensure_ascii, out);
                out.push_str(": ");
                dump(item, style, depth + 1, out);
            }
            newline(out, depth);
            out.push('}');
        }
        Json::String(s) => dump_string(s, style.ensure_ascii, out),
        // Numbers, booleans, null, and empty containers print the same in Python and serde_json.
        other => out.push_str(&other.to_string()),
    }
}

/// A JSON string as Python writes it: `\"`, `\\`, `\n`, `\r`, `\t`, `\b`, `\f`, other control characters
/// as `\u` and four lower-case hex digits (ESC is `\u001b`), and with `ensure_ascii` every non-ASCII
/// character the same way, as UTF-16 code units (`é` is `\u00e9`; above the BMP, a surrogate pair).
fn dump_string(s: &str, ensure_ascii: bool, out: &mut String) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            c if (c as u32) < 0x20 || (ensure_ascii && !c.is_ascii()) => {
                let mut units = [0u16; 2];
                for unit in c.encode_utf16(&mut units) {
                    let _ = write!(out, "\\u{unit:04x}");
                }
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// Seed 000's `create_training_dataset` renderings (see the module doc of `format`), each ending with the
/// EOS token.
pub mod seed {
    use super::Message;

    /// The instruction prompt (the Alpaca format): the `### Input:` section only when the input has more
    /// than white space, as the seed's `example.get("input", "").strip()` test.
    pub fn instruction(instruction: &str, input: &str, output: &str, eos: &str) -> String {
        if input.trim().is_empty() {
            format!("### Instruction:\n{instruction}\n\n### Response:\n{output}{eos}")
        } else {
            format!(
                "### Instruction:\n{instruction}\n\n### Input:\n{input}\n\n### Response:\n{output}{eos}"
            )
        }
    }

    /// `Human: ...` and `Assistant: ...` turns, each followed by a blank line. The seed names `human` turns
    /// Human and every other one Assistant; here `user` is a Human turn too, and `system` a System turn.
    pub fn conversation(messages: &[Message], eos: &str) -> String {
        let mut text = String::new();
        for m in messages {
            let speaker = match m.role.as_str() {
                "human" | "user" => "Human",
                "system" => "System",
                _ => "Assistant",
            };
            text.push_str(speaker);
            text.push_str(": ");
            text.push_str(&m.content);
            text.push_str("\n\n");
        }
        text.push_str(eos);
        text
    }

    /// A prompt and its completion, a blank line between: the seed's `domain` rendering, used for
    /// prompt/completion pairs of either kind.
    pub fn prompt_completion(prompt: &str, completion: &str, eos: &str) -> String {
        format!("{prompt}\n\n{completion}{eos}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn messages() -> Vec<Message> {
        vec![
            Message {
                role: "user".into(),
                content: "  What is 2 + 2? ".into(),
            },
            Message {
                role: "assistant".into(),
                content: "4".into(),
            },
        ]
    }

    #[test]
    fn python_methods_loops_and_blocks_render_as_jinja2_would() {
        let source = "{{ bos_token }}{% for m in messages %}\n{% if m['role'] == 'user' %}\n[INST] {{ m['content'].strip() }} [/INST]\n{% else %}\n{{ ' ' + m['content'] + eos_token }}\n{% endif %}\n{% endfor %}\n";
        let tokens = BTreeMap::from([
            ("bos_token".to_string(), "<s>".to_string()),
            ("eos_token".to_string(), "</s>".to_string()),
        ]);
        let template = ChatTemplate::new(source, tokens).unwrap();
        assert_eq!(
            template.render(&messages()).unwrap(),
            "<s>[INST] What is 2 + 2? [/INST]\n 4</s>\n"
        );
    }

    #[test]
    fn raise_exception_refuses_with_the_template_message() {
        let source = "{% if messages[0]['role'] != 'system' %}{{ raise_exception('a system turn must come first') }}{% endif %}";
        let template = ChatTemplate::new(source, BTreeMap::new()).unwrap();
        let err = template.render(&messages()).unwrap_err();
        assert!(err.contains("a system turn must come first"), "{err}");
    }

    #[test]
    fn tojson_writes_what_python_json_dumps_writes() {
        let template = ChatTemplate::new(
            "{{ messages | tojson }}|{{ messages[1] | tojson(indent=2) }}",
            BTreeMap::new(),
        )
        .unwrap();
        assert_eq!(
            template.render(&messages()).unwrap(),
            "[{\"role\": \"user\", \"content\": \"  What is 2 + 2? \"}, {\"role\": \"assistant\", \"content\": \"4\"}]|{\n  \"role\": \"assistant\",\n  \"content\": \"4\"\n}"
        );
        let mut out = String::new();
        dump_string("é<\u{1}>😀", true, &mut out);
        assert_eq!(out, "\"\\u00e9<\\u0001>\\ud83d\\ude00\"");
    }

    #[test]
    fn tokenizer_configs_give_tokens_as_strings_or_added_tokens() {
        let config = TokenizerConfig::parse(
            br#"{"bos_token": {"content": "<s>", "lstrip": false, "__type": "AddedToken"}, "eos_token": "</s>",
                "chat_template": [{"name": "tool_use", "template": "x"}, {"name": "default", "template": "y"}]}"#,
        )
        .unwrap();
        assert_eq!(config.special_tokens["bos_token"], "<s>");
        assert_eq!(config.special_tokens["eos_token"], "</s>");
        assert_eq!(config.chat_template.as_deref(), Some("y"));
        assert!(TokenizerConfig::parse(br#"{"chat_template": 3}"#).is_err());
    }

    #[test]
    fn seed_renderings_follow_the_guide() {
        assert_eq!(
            seed::instruction("Add.", " ", "4", "</s>"),
            "### Instruction:\nAdd.\n\n### Response:\n4</s>"
        );
        assert_eq!(
            seed::instruction("Add.", "2 + 2", "4", ""),
            "### Instruction:\nAdd.\n\n### Input:\n2 + 2\n\n### Response:\n4"
        );
        assert_eq!(
            seed::conversation(&messages(), "<eos>"),
            "Human:   What is 2 + 2? \n\nAssistant: 4\n\n<eos>"
        );
        assert_eq!(seed::prompt_completion("Q", "A", "."), "Q\n\nA.");
    }
}
