//! The ISO 639-3 code of each label of fastText's `lid.176` model, which names languages by their
//! ISO 639-1 code where one exists and by a 639-3 (or Wikipedia) code otherwise.
//!
//! Source: the ISO 639-3 code table of SIL International (the registration authority), columns `Part1`
//! and `Id`, as shipped in Debian's iso-codes (`iso639-3.json`; read from pycountry 26.2.16). Deviations,
//! each for a reason:
//!
//! - `zh` -> `cmn`, `fa` -> `pes`, `no` -> `nob`: the table gives the macrolanguages `zho`, `fas` and
//!   `nor`; whatlang, the default detector, reports these individual languages, and one code per
//!   language keeps `language.allow` lists meaning the same thing with either detector.
//! - `als` -> `gsw`: lid.176 was trained on Wikipedia, where `als` is the Alemannic edition (ISO 639-3
//!   `gsw`), not Tosk Albanian.
//! - `sh` -> `hbs`: Serbo-Croatian, a 639-1 code withdrawn from the 639-3 table but whose macrolanguage
//!   code `hbs` is there.
//! - `bh` -> `bih`: Bihari languages, a collective code of ISO 639-2 with no 639-3 counterpart.
//! - `eml`, `nah`: kept as written (Emilian-Romagnol, retired from 639-3 in 2009 and split into `egl` and
//!   `rgn`; Nahuatl languages, a collective code of ISO 639-2/5).

/// `(lid.176 label without __label__, ISO 639-3)`, sorted by label.
#[rustfmt::skip]
const LID176: &[(&str, &str)] = &[
    ("af", "afr"), ("als", "gsw"), ("am", "amh"), ("an", "arg"), ("ar", "ara"), ("arz", "arz"),
    ("as", "asm"), ("ast", "ast"), ("av", "ava"), ("az", "aze"), ("azb", "azb"), ("ba", "bak"),
    ("bar", "bar"), ("bcl", "bcl"), ("be", "bel"), ("bg", "bul"), ("bh", "bih"), ("bn", "ben"),
    ("bo", "bod"), ("bpy", "bpy"), ("br", "bre"), ("bs", "bos"), ("bxr", "bxr"), ("ca", "cat"),
    ("cbk", "cbk"), ("ce", "che"), ("ceb", "ceb"), ("ckb", "ckb"), ("co", "cos"), ("cs", "ces"),
    ("cv", "chv"), ("cy", "cym"), ("da", "dan"), ("de", "deu"), ("diq", "diq"), ("dsb", "dsb"),
    ("dty", "dty"), ("dv", "div"), ("el", "ell"), ("eml", "eml"), ("en", "eng"), ("eo", "epo"),
    ("es", "spa"), ("et", "est"), ("eu", "eus"), ("fa", "pes"), ("fi", "fin"), ("fr", "fra"),
    ("frr", "frr"), ("fy", "fry"), ("ga", "gle"), ("gd", "gla"), ("gl", "glg"), ("gn", "grn"),
    ("gom", "gom"), ("gu", "guj"), ("gv", "glv"), ("he", "heb"), ("hi", "hin"), ("hif", "hif"),
    ("hr", "hrv"), ("hsb", "hsb"), ("ht", "hat"), ("hu", "hun"), ("hy", "hye"), ("ia", "ina"),
    ("id", "ind"), ("ie", "ile"), ("ilo", "ilo"), ("io", "ido"), ("is", "isl"), ("it", "ita"),
    ("ja", "jpn"), ("jbo", "jbo"), ("jv", "jav"), ("ka", "kat"), ("kk", "kaz"), ("km", "khm"),
    ("kn", "kan"), ("ko", "kor"), ("krc", "krc"), ("ku", "kur"), ("kv", "kom"), ("kw", "cor"),
    ("ky", "kir"), ("la", "lat"), ("lb", "ltz"), ("lez", "lez"), ("li", "lim"), ("lmo", "lmo"),
    ("lo", "lao"), ("lrc", "lrc"), ("lt", "lit"), ("lv", "lav"), ("mai", "mai"), ("mg", "mlg"),
    ("mhr", "mhr"), ("min", "min"), ("mk", "mkd"), ("ml", "mal"), ("mn", "mon"), ("mr", "mar"),
    ("mrj", "mrj"), ("ms", "msa"), ("mt", "mlt"), ("mwl", "mwl"), ("my", "mya"), ("myv", "myv"),
    ("mzn", "mzn"), ("nah", "nah"), ("nap", "nap"), ("nds", "nds"), ("ne", "nep"), ("new", "new"),
    ("nl", "nld"), ("nn", "nno"), ("no", "nob"), ("oc", "oci"), ("or", "ori"), ("os", "oss"),
    ("pa", "pan"), ("pam", "pam"), ("pfl", "pfl"), ("pl", "pol"), ("pms", "pms"), ("pnb", "pnb"),
    ("ps", "pus"), ("pt", "por"), ("qu", "que"), ("rm", "roh"), ("ro", "ron"), ("ru", "rus"),
    ("rue", "rue"), ("sa", "san"), ("sah", "sah"), ("sc", "srd"), ("scn", "scn"), ("sco", "sco"),
    ("sd", "snd"), ("sh", "hbs"), ("si", "sin"), ("sk", "slk"), ("sl", "slv"), ("so", "som"),
    ("sq", "sqi"), ("sr", "srp"), ("su", "sun"), ("sv", "swe"), ("sw", "swa"), ("ta", "tam"),
    ("te", "tel"), ("tg", "tgk"), ("th", "tha"), ("tk", "tuk"), ("tl", "tgl"), ("tr", "tur"),
    ("tt", "tat"), ("tyv", "tyv"), ("ug", "uig"), ("uk", "ukr"), ("ur", "urd"), ("uz", "uzb"),
    ("vec", "vec"), ("vep", "vep"), ("vi", "vie"), ("vls", "vls"), ("vo", "vol"), ("wa", "wln"),
    ("war", "war"), ("wuu", "wuu"), ("xal", "xal"), ("xmf", "xmf"), ("yi", "yid"), ("yo", "yor"),
    ("yue", "yue"), ("zh", "cmn"),
];

/// The ISO 639-3 code of a language label (without `__label__`): lid.176's labels through the table
/// above, any other label (a custom model's) unchanged.
pub fn to_639_3(label: &str) -> &str {
    LID176
        .binary_search_by(|(l, _)| (*l).cmp(label))
        .map_or(label, |i| LID176[i].1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_is_sorted_complete_and_three_letter() {
        assert!(LID176.windows(2).all(|w| w[0].0 < w[1].0));
        assert_eq!(LID176.len(), 176);
        assert!(LID176.iter().all(|(_, c)| c.len() == 3));
    }

    #[test]
    fn labels_map_to_the_codes_whatlang_reports() {
        assert_eq!(to_639_3("en"), "eng");
        assert_eq!(to_639_3("de"), "deu");
        assert_eq!(to_639_3("zh"), "cmn");
        assert_eq!(to_639_3("fa"), "pes");
        assert_eq!(to_639_3("als"), "gsw");
        assert_eq!(to_639_3("ceb"), "ceb");
        assert_eq!(to_639_3("hq"), "hq");
    }
}
