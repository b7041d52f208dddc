//! fastText model files: any bytes either load or are a `ModelError`, and a model that loads predicts on
//! any text without panicking. The first two bytes choose a text length; the rest is the model.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tamis_core::fasttext::Model;

fuzz_target!(|data: &[u8]| {
    let Some((&n, bytes)) = data.split_first() else {
        return;
    };
    if let Ok(model) = Model::from_bytes(bytes) {
        let text = String::from_utf8_lossy(&bytes[..usize::from(n).min(bytes.len())]);
        let all = model.predict(&text, model.labels().len(), 0.0);
        assert!(all.len() <= model.labels().len());
        let _ = model.predict_document(&text, 1, 0.5);
    }
});
