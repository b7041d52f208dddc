//! Config parsing in TOML, YAML and JSON. The first byte picks the syntax. A config that parses must
//! render back in every syntax to text that parses to an equal config (as `Config::render` promises).
//! Building a pipeline is left out: it compiles every rule's regexes and loads the language models, and
//! with it the target made 6 executions a second.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tamis_core::{Config, ConfigFormat};

const FORMATS: [ConfigFormat; 3] = [ConfigFormat::Toml, ConfigFormat::Yaml, ConfigFormat::Json];

fuzz_target!(|data: &[u8]| {
    let Some((&selector, rest)) = data.split_first() else {
        return;
    };
    let Ok(source) = std::str::from_utf8(rest) else {
        return;
    };
    let format = FORMATS[usize::from(selector) % FORMATS.len()];
    let Ok(config) = Config::parse(source, format) else {
        return;
    };
    for target in FORMATS {
        let rendered = config
            .render(target)
            .unwrap_or_else(|e| panic!("rendering a parsed config as {target:?}: {e}"));
        let reread = Config::parse(&rendered, target)
            .unwrap_or_else(|e| panic!("re-reading a rendered {target:?} config: {e}\n{rendered}"));
        assert_eq!(
            reread, config,
            "{target:?} round trip changed the config\n{rendered}"
        );
    }
});
