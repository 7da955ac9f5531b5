//! Offline keyword tagger: TF-IDF/YAKE-style keyword and keyphrase
//! extraction, with no model and no network.
//!
//! Tagging runs in two phases because the corpus statistics live in the
//! database: [`KeywordTagger::candidates`] finds the candidate terms of one
//! document, the caller fetches the document frequencies of
//! [`KeywordTagger::terms_for_stats`], and [`KeywordTagger::rank`] turns
//! candidates and statistics into tags. [`KeywordTagger::metadata_tags`] adds
//! the few certain tags that follow from the file type and metadata.

use std::cmp::Ordering;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt;
use std::sync::LazyLock;

use graphfs_domain::{CorpusStats, ProposedTag, TagSource, normalize_tag};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::stopwords::{is_generic, is_stop_word};

/// How many candidates (best local score first) get corpus statistics and
/// can become tags; lower ones practically never make the cut, and every
/// term costs a lookup and a stored row.
const STATS_TERMS: usize = 64;
/// Candidates kept per document; far more than ranking ever looks at.
const MAX_CANDIDATES: usize = 4 * STATS_TERMS;
/// A term in the file name is what the owner called the file: strong evidence.
const NAME_BOOST: f32 = 1.8;
/// Raw scores are squashed with `1 - exp(-raw / SCORE_SCALE)` into 0..1; a
/// term seen once with no other evidence lands near 0.3.
const SCORE_SCALE: f32 = 3.0;
/// Tags scoring below this fraction of the best one are noise next to it.
const RELATIVE_CUTOFF: f32 = 0.3;
/// Corpus size at which IDF gets half its full weight. The weight grows with
/// the square of the corpus size, so the first few files (whose terms every
/// other file seems to share) are tagged by their own text.
const IDF_HALF_WEIGHT_DOCS: f32 = 10.0;
/// Documents a corpus needs before document frequency says which words are
/// too common to file by: below it, every share is noise.
const COMMON_WORD_MIN_DOCS: u64 = 10;
/// Stop words allowed inside (never at the ends of) a phrase: "bill of rights".
const CONNECTORS: &[&str] = &["of"];
/// Chinese phrases are concatenations of jieba words; longer ones are noise.
const MAX_HAN_PHRASE_WORDS: usize = 2;
/// Longest Latin token considered a word rather than an identifier or blob.
const MAX_WORD_CHARS: usize = 32;
/// Terms jieba's default dictionary lacks but that are common topics today;
/// without them "机器学习" is cut into "机器" + "学习".
const EXTRA_CHINESE_WORDS: &[&str] = &[
    "机器学习",
    "深度学习",
    "强化学习",
    "迁移学习",
    "监督学习",
    "自然语言处理",
    "计算机视觉",
    "大语言模型",
    "语言模型",
    "神经网络",
    "卷积神经网络",
    "知识图谱",
    "云计算",
    "大数据",
    "区块链",
];

/// Tuning of the keyword tagger.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct KeywordConfig {
    /// Most keyword tags proposed per file.
    pub max_tags: usize,
    /// Keyword tags scoring below this (0..1) are dropped.
    pub min_score: f32,
    /// Longest keyphrase, in words.
    pub max_phrase_words: usize,
    /// Only this many characters of the text are analysed; the start of a
    /// document says what it is about and the bound keeps tagging cheap.
    pub max_text_chars: usize,
    /// A word found in more than this share of the corpus ("support",
    /// "features") says nothing about a file: it is never a keyword tag.
    pub max_document_share: f32,
}

impl Default for KeywordConfig {
    fn default() -> Self {
        Self {
            max_tags: 8,
            min_score: 0.15,
            max_phrase_words: 3,
            max_text_chars: 200_000,
            max_document_share: 0.25,
        }
    }
}

/// What the tagger looks at for one file.
#[derive(Debug, Clone, Copy)]
pub struct Document<'a> {
    /// The file's name (extension included).
    pub name: &'a str,
    pub media_type: &'a str,
    /// Extracted text; may be empty.
    pub text: &'a str,
    /// Extracted metadata (EXIF, audio tags, document properties...).
    pub metadata: &'a Value,
}

/// The candidate terms of one document, best local score first.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Candidates {
    pub terms: Vec<Candidate>,
    /// Parallel to `terms`: what ranking needs beyond the public fields.
    info: Vec<TermInfo>,
}

/// One candidate word or phrase of a document.
#[derive(Debug, Clone, PartialEq)]
pub struct Candidate {
    /// The term as a tag (passes [`normalize_tag`]).
    pub term: String,
    /// Occurrences in the text, plus one when the term is in the file name.
    pub tf: f32,
    /// Where the term first occurs in the text, 0 (start) to 1 (end); 0 for
    /// terms only in the file name.
    pub first_position: f32,
    pub in_name: bool,
    /// Number of words (1 for a single word).
    pub words: usize,
}

#[derive(Debug, Clone, PartialEq)]
struct TermInfo {
    /// Plural and singular forms of a term share the key.
    key: String,
    /// Keys of the term's words; the last one is a phrase's head word.
    parts: Vec<String>,
    /// Prior belief that the term is a good tag, independent of counts:
    /// below 1 for weak forms (very short words, digits), above 1 for long,
    /// specific words and cohesive phrases.
    prior: f32,
}

/// The keyword tagger. Building it loads jieba's dictionary, so build one and
/// share it.
pub struct KeywordTagger {
    config: KeywordConfig,
    jieba: jieba_rs::Jieba,
}

impl fmt::Debug for KeywordTagger {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The jieba dictionary is large and says nothing useful.
        f.debug_struct("KeywordTagger")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Script {
    Latin,
    Han,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum WordClass {
    /// May be a tag and may start or end a phrase.
    Candidate,
    /// Stop word allowed inside a phrase.
    Connector,
    /// Stop word or junk: breaks phrases.
    Other,
}

#[derive(Debug, Clone)]
struct Word {
    /// Normalised form (lower case, NFKC).
    norm: String,
    script: Script,
    class: WordClass,
    penalty: f32,
}

#[derive(Debug, Clone)]
enum Token {
    Word(Word),
    /// Sentence punctuation, paragraph break, URL...: phrases never span it.
    Break,
}

/// Occurrence statistics of one surface form (a word or a phrase).
#[derive(Debug, Clone)]
struct Occurrences {
    count: u32,
    first: Option<usize>,
    in_name: bool,
    script: Script,
    penalty: f32,
}

impl Occurrences {
    fn new(script: Script, penalty: f32) -> Self {
        Self {
            count: 0,
            first: None,
            in_name: false,
            script,
            penalty,
        }
    }

    fn record(&mut self, position: Option<usize>, penalty: f32) {
        match position {
            Some(p) => {
                self.count += 1;
                self.first = Some(self.first.map_or(p, |f| f.min(p)));
            }
            None => self.in_name = true,
        }
        // An acronym written in capitals somewhere is a real term.
        self.penalty = self.penalty.max(penalty);
    }
}

/// The forms of one term merged under its key.
#[derive(Debug, Default)]
struct Group {
    forms: BTreeMap<String, u32>,
    count: u32,
    first: Option<usize>,
    in_name: bool,
    words: usize,
    parts: Vec<String>,
    penalty: f32,
}

impl Group {
    fn add(&mut self, form: String, occ: &Occurrences) {
        *self.forms.entry(form).or_default() += occ.count;
        self.count += occ.count;
        self.first = match (self.first, occ.first) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        self.in_name |= occ.in_name;
        self.penalty = self.penalty.max(occ.penalty);
    }

    /// The most used form; ties go to the shorter (singular) one.
    fn best_form(&self) -> Option<&str> {
        self.forms
            .iter()
            .max_by(|a, b| {
                a.1.cmp(b.1)
                    .then_with(|| b.0.len().cmp(&a.0.len()))
                    .then_with(|| b.0.cmp(a.0))
            })
            .map(|(form, _)| form.as_str())
    }
}

impl KeywordTagger {
    pub fn new(config: KeywordConfig) -> Self {
        let mut jieba = jieba_rs::Jieba::new();
        for word in EXTRA_CHINESE_WORDS {
            jieba.add_word(word, None, None);
        }
        Self { config, jieba }
    }

    pub fn config(&self) -> &KeywordConfig {
        &self.config
    }

    /// Phase 1: the candidate terms of one document: words, and phrases of up
    /// to `max_phrase_words` words that neither start nor end with a stop
    /// word, from the text and the file name. Chinese is segmented with
    /// jieba; Chinese words need at least two characters.
    pub fn candidates(&self, doc: &Document) -> Candidates {
        let text = truncate_chars(doc.text, self.config.max_text_chars);
        let mut text_tokens = Vec::new();
        self.tokenize(text, &mut text_tokens);
        let mut name_tokens = Vec::new();
        self.tokenize(&name_words(doc.name), &mut name_tokens);

        let mut words: HashMap<String, Occurrences> = HashMap::new();
        let mut phrases: HashMap<Vec<String>, Occurrences> = HashMap::new();
        let total = self.count_occurrences(&text_tokens, true, &mut words, &mut phrases);
        self.count_occurrences(&name_tokens, false, &mut words, &mut phrases);

        let keys = singular_keys(&words);
        let key_of = |w: &str| keys.get(w).cloned().unwrap_or_else(|| w.to_string());

        let mut groups: HashMap<String, Group> = HashMap::new();
        for (form, occ) in &words {
            let key = key_of(form);
            let group = groups.entry(key.clone()).or_default();
            group.words = 1;
            group.parts = vec![key];
            group.add(form.clone(), occ);
        }
        for (parts, occ) in &phrases {
            // A phrase seen once is usually an accident of wording; repeated,
            // or echoed by the file name, it is a keyphrase.
            if !(occ.count >= 2 || (occ.count >= 1 && occ.in_name)) {
                continue;
            }
            let part_keys: Vec<String> = parts.iter().map(|p| key_of(p)).collect();
            if part_keys.iter().all(|k| is_generic_word(k)) {
                continue;
            }
            let separator = if occ.script == Script::Han { "" } else { " " };
            let group = groups.entry(part_keys.join("\u{1f}")).or_default();
            group.words = parts.len();
            group.parts = part_keys;
            group.add(parts.join(separator), occ);
        }

        let total = total.max(1) as f32;
        let word_counts: HashMap<String, u32> = groups
            .iter()
            .filter(|(_, g)| g.words == 1)
            .map(|(key, g)| (key.clone(), g.count))
            .collect();
        let mut scored: Vec<(f32, Candidate, TermInfo)> = groups
            .into_iter()
            .filter_map(|(key, group)| {
                let form = group.best_form()?;
                let term = normalize_tag(form).ok()?;
                if group.words == 1
                    && (is_generic_word(&term)
                        || is_generic_word(&key)
                        || is_participle(&term)
                        || is_derived_adverb(&term))
                {
                    return None;
                }
                let candidate = Candidate {
                    term,
                    tf: group.count as f32 + if group.in_name { 1.0 } else { 0.0 },
                    first_position: group.first.map_or(0.0, |f| f as f32 / total),
                    in_name: group.in_name,
                    words: group.words,
                };
                let prior = if group.words > 1 {
                    phrase_bonus(&group, &word_counts)
                } else {
                    group.penalty * specificity(&candidate.term)
                };
                let info = TermInfo {
                    key,
                    parts: group.parts,
                    prior,
                };
                Some((local_score(&candidate, &info), candidate, info))
            })
            .collect();
        scored.sort_by(|a, b| by_score_then_term(a.0, &a.1.term, b.0, &b.1.term));
        // A jieba word and a two-word phrase can spell the same term
        // ("机器学习"); keep the better scored one.
        let mut seen = HashSet::new();
        scored.retain(|(_, c, _)| seen.insert(c.term.clone()));
        scored.truncate(MAX_CANDIDATES);

        let (terms, info) = scored.into_iter().map(|(_, c, i)| (c, i)).unzip();
        Candidates { terms, info }
    }

    /// The distinct terms whose document frequency the caller should fetch,
    /// best local score first; `rank` expects the frequencies in this order.
    pub fn terms_for_stats(&self, c: &Candidates) -> Vec<String> {
        stats_order(c)
            .into_iter()
            .map(|i| c.terms[i].term.clone())
            .collect()
    }

    /// Phase 2: ranks the candidates against the corpus. `stats` answers
    /// [`terms_for_stats`](Self::terms_for_stats) for the same candidates.
    /// Returns at most `max_tags` keyword tags, best first, without plural
    /// duplicates or a phrase next to its own head word.
    pub fn rank(&self, c: &Candidates, stats: &CorpusStats) -> Vec<ProposedTag> {
        let order = stats_order(c);
        let idf = Idf::new(stats, order.len());
        let mut scored: Vec<(f32, usize)> = order
            .iter()
            .enumerate()
            .filter(|(slot, _)| !idf.too_common(*slot, self.config.max_document_share))
            .map(|(slot, &i)| {
                let raw = local_score(&c.terms[i], &c.info[i]) * idf.factor(slot);
                (1.0 - (-raw / SCORE_SCALE).exp(), i)
            })
            .collect();
        scored.sort_by(|a, b| by_score_then_term(a.0, &c.terms[a.1].term, b.0, &c.terms[b.1].term));

        let best = scored.first().map_or(0.0, |s| s.0);
        let floor = self.config.min_score.max(best * RELATIVE_CUTOFF);
        let mut chosen: Vec<usize> = Vec::new();
        let mut tags = Vec::new();
        for (score, i) in scored {
            if tags.len() >= self.config.max_tags || score < floor {
                break;
            }
            let tf = |k: usize| c.terms[k].tf;
            if chosen
                .iter()
                .any(|&j| redundant(&c.info[i], tf(i), &c.info[j], tf(j)))
            {
                continue;
            }
            chosen.push(i);
            tags.push(ProposedTag {
                name: c.terms[i].term.clone(),
                score: ((score * 1000.0).round() / 1000.0).clamp(0.0, 1.0),
                source: TagSource::Keyword,
            });
        }
        tags
    }

    /// Tags that follow from the file's type and metadata rather than its
    /// words: the kind of file, the programming language, the camera make of
    /// a photo, the script of the text. Few, and (nearly) certain.
    pub fn metadata_tags(&self, doc: &Document) -> Vec<ProposedTag> {
        let mut tags = TagList::default();
        let media = doc
            .media_type
            .split(';')
            .next()
            .unwrap_or_default()
            .trim()
            .to_ascii_lowercase();
        let ext = extension(doc.name);
        for format in formats_of(&media, &ext) {
            for (n, tag) in format.tags.iter().enumerate() {
                // The category is certain; a refinement (language) slightly less.
                tags.push(tag, if n == 0 { 1.0 } else { 0.95 });
            }
        }

        let visual = media.starts_with("image/") || media.starts_with("video/");
        if visual
            && let Some(make) = find_text(doc.metadata, CAMERA_MAKE_KEYS).and_then(camera_make)
        {
            tags.push(&make, 0.9);
            if media.starts_with("image/") {
                tags.push("photo", 0.9);
            }
        }
        if media.starts_with("audio/") {
            for genre in find_values(doc.metadata, &["genre"]).iter().take(2) {
                tags.push_phrase(genre, 0.8);
            }
        }
        for keyword in find_values(doc.metadata, &["keywords"]).iter().take(5) {
            tags.push_phrase(keyword, 0.85);
        }
        if let Some(language) =
            script_language(truncate_chars(doc.text, self.config.max_text_chars))
        {
            tags.push(language, 0.9);
        }
        tags.0
    }

    /// Splits text into word tokens and breaks.
    fn tokenize(&self, text: &str, out: &mut Vec<Token>) {
        let mut start: Option<usize> = None;
        let mut newlines = 0;
        for (i, c) in text.char_indices() {
            if c.is_whitespace() {
                if let Some(s) = start.take() {
                    self.scan_chunk(&text[s..i], out);
                }
                if c == '\n' {
                    newlines += 1;
                    // A blank line ends a paragraph; a single newline is
                    // often just line wrapping (PDF text).
                    if newlines == 2 {
                        push_break(out);
                    }
                }
            } else if start.is_none() {
                start = Some(i);
                newlines = 0;
            }
        }
        if let Some(s) = start {
            self.scan_chunk(&text[s..], out);
        }
    }

    /// Tokenizes one whitespace-free chunk.
    fn scan_chunk(&self, chunk: &str, out: &mut Vec<Token>) {
        if let Some(p) = chunk.find("://") {
            // Keep what precedes the URL ("(see" in "(see:https://...)").
            let scheme_start = chunk[..p]
                .char_indices()
                .rev()
                .find(|(_, c)| !c.is_ascii_alphanumeric())
                .map_or(0, |(i, c)| i + c.len_utf8());
            self.scan_chunk(&chunk[..scheme_start], out);
            push_break(out);
            return;
        }
        if is_address_like(chunk) {
            push_break(out);
            return;
        }

        let chars: Vec<(usize, char)> = chunk.char_indices().collect();
        let mut latin: Option<usize> = None;
        let mut han: Option<usize> = None;
        let mut i = 0;
        while i < chars.len() {
            let (at, c) = chars[i];
            if is_han(c) {
                if let Some(s) = latin.take() {
                    out.push(Token::Word(latin_word(&chunk[s..at])));
                }
                han.get_or_insert(at);
                i += 1;
                continue;
            }
            if let Some(s) = han.take() {
                self.push_han(&chunk[s..at], out);
            }
            if c.is_alphanumeric() {
                latin.get_or_insert(at);
                i += 1;
                continue;
            }
            if let Some(s) = latin {
                let next = chars.get(i + 1).map(|&(_, n)| n);
                let next_is_word = next.is_some_and(|n| n.is_alphanumeric() && !is_han(n));
                // Joiners inside a word: "e-mail", "node.js", "snake_case", "don't".
                if matches!(c, '-' | '.' | '_' | '\'' | '\u{2019}') && next_is_word {
                    i += 1;
                    continue;
                }
                // "c++", "c#", "f#", "notepad++": at most two signs, word end.
                if matches!(c, '+' | '#') {
                    let run = chars[i..]
                        .iter()
                        .take_while(|&&(_, x)| x == '+' || x == '#')
                        .count();
                    let after = chars.get(i + run).map(|&(_, n)| n);
                    let letters = chunk[s..at].chars().all(char::is_alphabetic);
                    if run <= 2 && letters && !after.is_some_and(char::is_alphanumeric) {
                        let end = chars.get(i + run).map_or(chunk.len(), |&(e, _)| e);
                        out.push(Token::Word(latin_word(&chunk[s..end])));
                        latin = None;
                        i += run;
                        continue;
                    }
                }
            }
            if let Some(s) = latin.take() {
                out.push(Token::Word(latin_word(&chunk[s..at])));
            }
            push_break(out);
            i += 1;
        }
        if let Some(s) = latin {
            out.push(Token::Word(latin_word(&chunk[s..])));
        }
        if let Some(s) = han {
            self.push_han(&chunk[s..], out);
        }
    }

    /// Segments a run of Chinese characters into words.
    fn push_han(&self, run: &str, out: &mut Vec<Token>) {
        for piece in self.jieba.cut(run, true) {
            out.push(Token::Word(han_word(piece)));
        }
    }

    /// Counts words and phrases of a token stream. Text occurrences get a
    /// position; name occurrences only mark `in_name`. Returns the number of
    /// word tokens.
    fn count_occurrences(
        &self,
        tokens: &[Token],
        in_text: bool,
        words: &mut HashMap<String, Occurrences>,
        phrases: &mut HashMap<Vec<String>, Occurrences>,
    ) -> usize {
        // Position of each token counted in words, so breaks take no room.
        let mut positions = Vec::with_capacity(tokens.len());
        let mut n = 0;
        for token in tokens {
            positions.push(n);
            if matches!(token, Token::Word(_)) {
                n += 1;
            }
        }
        let at = |i: usize| in_text.then(|| positions[i]);

        let max_words = self.config.max_phrase_words.max(1);
        for (i, token) in tokens.iter().enumerate() {
            let Token::Word(first) = token else { continue };
            if first.class != WordClass::Candidate {
                continue;
            }
            words
                .entry(first.norm.clone())
                .or_insert_with(|| Occurrences::new(first.script, first.penalty))
                .record(at(i), first.penalty);

            let limit = match first.script {
                Script::Han => max_words.min(MAX_HAN_PHRASE_WORDS),
                Script::Latin => max_words,
            };
            for len in 2..=limit {
                let Some(Token::Word(last)) = tokens.get(i + len - 1) else {
                    break;
                };
                if last.script != first.script {
                    break;
                }
                match last.class {
                    WordClass::Candidate => {}
                    WordClass::Connector => continue,
                    WordClass::Other => break,
                }
                let parts: Vec<String> = tokens[i..i + len]
                    .iter()
                    .filter_map(|t| match t {
                        Token::Word(w) => Some(w.norm.clone()),
                        Token::Break => None,
                    })
                    .collect();
                if parts.iter().all(|p| *p == parts[0]) {
                    continue;
                }
                phrases
                    .entry(parts)
                    .or_insert_with(|| Occurrences::new(first.script, 1.0))
                    .record(at(i), 1.0);
            }
        }
        n
    }
}

fn push_break(out: &mut Vec<Token>) {
    if matches!(out.last(), Some(Token::Word(_))) {
        out.push(Token::Break);
    }
}

/// Classifies a Latin-script (or other space-separated script) word.
fn latin_word(surface: &str) -> Word {
    let unified = surface.replace('\u{2019}', "'");
    // The possessive "'s" is not part of the word: "plant's" is "plant".
    let base = unified.strip_suffix("'s").unwrap_or(&unified);
    let norm = normalize_tag(base).unwrap_or_else(|_| base.to_lowercase());
    let class = if CONNECTORS.contains(&norm.as_str()) {
        WordClass::Connector
    } else if norm.contains('\'')
        || is_stop_word(&norm)
        || is_junk(&norm)
        || norm.chars().any(is_kana)
    {
        // Contractions ("don't") are function words too. Japanese is written
        // without spaces, so a kana run is a clause rather than a word, and
        // there is no segmenter for it here.
        WordClass::Other
    } else {
        WordClass::Candidate
    };
    let chars = norm.chars().count();
    let acronym = base.chars().all(|c| !c.is_lowercase()) && base.chars().any(char::is_uppercase);
    let penalty = if chars <= 2 {
        // Two letters are rarely a topic; "AI" written in capitals may be.
        if acronym { 0.7 } else { 0.4 }
    } else if norm.chars().any(|c| c.is_ascii_digit()) {
        0.7
    } else {
        1.0
    };
    Word {
        norm,
        script: Script::Latin,
        class,
        penalty,
    }
}

/// Classifies a word jieba cut from a run of Chinese characters.
fn han_word(piece: &str) -> Word {
    let norm = normalize_tag(piece).unwrap_or_else(|_| piece.to_string());
    let chars: Vec<char> = norm.chars().collect();
    // Single characters are mostly particles; numeral + measure word ("三个",
    // "十年") is a quantity, not a topic.
    let quantity = chars.first().is_some_and(|c| CHINESE_NUMERALS.contains(*c))
        && (chars.len() == 2 || chars.iter().all(|c| CHINESE_NUMERALS.contains(*c)));
    let class = if chars.len() < 2 || quantity || is_stop_word(&norm) {
        WordClass::Other
    } else {
        WordClass::Candidate
    };
    Word {
        norm,
        script: Script::Han,
        class,
        penalty: 1.0,
    }
}

const CHINESE_NUMERALS: &str = "零〇一二三四五六七八九十百千万亿两几第";

/// Tokens that are numbers, identifiers, hashes or addresses, not words.
fn is_junk(word: &str) -> bool {
    let chars = word.chars().count();
    if !(2..=MAX_WORD_CHARS).contains(&chars) {
        return true;
    }
    let digits = word.chars().filter(char::is_ascii_digit).count();
    let letters = word.chars().filter(|c| c.is_alphabetic()).count();
    if letters == 0 || digits * 2 > chars {
        return true;
    }
    if digits > 0 {
        let compact: String = word.chars().filter(|&c| c != '-').collect();
        // Hashes, UUIDs, hex ids and their pieces: "550e8400-e29b-...",
        // "e29b", "3f7868...", "0x1f3a9c".
        let hex = compact.strip_prefix("0x").unwrap_or(&compact);
        if hex.len() >= 4 && hex.chars().all(|c| c.is_ascii_hexdigit()) {
            return true;
        }
        // Long letter/digit mixes are keys and tokens.
        if chars >= 16 {
            return true;
        }
        // Version numbers ("v1.2.3") and ordinals ("21st").
        if (word.contains('.') && digits >= letters) || is_ordinal(word) {
            return true;
        }
    }
    if ROMAN_NUMERALS.contains(&word) {
        return true;
    }
    // Domains and file names: "example.com", "report.pdf".
    if let Some((_, last)) = word.rsplit_once('.') {
        return ADDRESS_SUFFIXES.contains(&last) && word != "asp.net";
    }
    false
}

fn is_ordinal(word: &str) -> bool {
    ["st", "nd", "rd", "th"].iter().any(|suffix| {
        word.strip_suffix(suffix)
            .is_some_and(|n| !n.is_empty() && n.chars().all(|c| c.is_ascii_digit()))
    })
}

const ROMAN_NUMERALS: &[&str] = &["ii", "iii", "iv", "vi", "vii", "viii", "ix", "xi", "xii"];

/// Last labels that make a dotted token an address or a file name.
const ADDRESS_SUFFIXES: &[&str] = &[
    "com", "org", "net", "io", "gov", "edu", "info", "biz", "co", "uk", "de", "fr", "cn", "jp",
    "ru", "us", "eu", "app", "dev", "html", "htm", "php", "pdf", "txt", "doc", "docx", "xls",
    "xlsx", "png", "jpg", "jpeg", "gif", "zip", "exe", "md", "rs", "py", "json", "xml", "csv",
];

/// Emails and paths: a chunk of them holds no words worth tagging.
fn is_address_like(chunk: &str) -> bool {
    let email = chunk
        .split_once('@')
        .is_some_and(|(user, host)| !user.is_empty() && host.contains('.'));
    let slashes = chunk.matches('/').count() + chunk.matches('\\').count();
    email || slashes >= 2 || chunk.starts_with("www.")
}

fn is_kana(c: char) -> bool {
    matches!(c, '\u{3040}'..='\u{30FF}')
}

fn is_han(c: char) -> bool {
    matches!(c,
        '\u{3400}'..='\u{4DBF}'
        | '\u{4E00}'..='\u{9FFF}'
        | '\u{F900}'..='\u{FAFF}'
        | '\u{20000}'..='\u{2FA1F}'
        | '\u{3007}')
}

/// Maps plural forms to a singular form seen in the same document, so that
/// "files"/"file" and "libraries"/"library" count as one term. A plural whose
/// singular never occurs stays as it is ("windows", "news").
fn singular_keys(words: &HashMap<String, Occurrences>) -> HashMap<String, String> {
    let mut keys = HashMap::new();
    for (word, occ) in words {
        if occ.script != Script::Latin || word.chars().count() <= 3 {
            continue;
        }
        if let Some(singular) =
            singular_variants(word).find(|v| v.chars().count() >= 2 && words.contains_key(v))
        {
            keys.insert(word.clone(), singular);
        }
    }
    keys
}

/// A generic word in singular or plural ("files" as well as "file").
fn is_generic_word(word: &str) -> bool {
    is_generic(word) || singular_variants(word).any(|singular| is_generic(&singular))
}

/// An English past participle on its own ("supplied", "compressed",
/// "attached") describes something; it is not a topic to file by. Inside a
/// phrase ("compressed file") it may be.
fn is_participle(word: &str) -> bool {
    word.len() > 5
        && word.bytes().all(|b| b.is_ascii_lowercase())
        && word.ends_with("ed")
        && !word.ends_with("eed")
}

/// An English adverb made from an adjective ("primarily", "interactively",
/// "automatically") says how, never what. Only the derivational endings
/// count: "assembly", "family" and "supply" are nouns.
fn is_derived_adverb(word: &str) -> bool {
    const ENDINGS: [&str; 11] = [
        "ally", "ively", "ently", "antly", "ously", "fully", "arily", "ately", "ingly", "ibly",
        "ably",
    ];
    word.bytes().all(|b| b.is_ascii_lowercase())
        && ENDINGS
            .iter()
            .any(|e| word.len() >= e.len() + 3 && word.ends_with(e))
}

/// What an English plural may be the plural of: "files" → "file",
/// "boxes" → "box", "libraries" → "library" (and some non-words, which only
/// ever serve as lookups).
fn singular_variants(word: &str) -> impl Iterator<Item = String> {
    [
        word.strip_suffix('s').map(str::to_string),
        word.strip_suffix("es").map(str::to_string),
        word.strip_suffix("ies").map(|stem| format!("{stem}y")),
    ]
    .into_iter()
    .flatten()
}

/// The score of a candidate from the document alone (no corpus).
fn local_score(c: &Candidate, info: &TermInfo) -> f32 {
    // Sublinear: the tenth occurrence says less than the second.
    let tf = 1.0 + c.tf.max(1.0).ln();
    let position = 1.0 + 0.5 * (1.0 - c.first_position.clamp(0.0, 1.0));
    let name = if c.in_name { NAME_BOOST } else { 1.0 };
    tf * position * name * info.prior
}

/// Phrases are rarer than their words, so they need a bonus to compete; it
/// grows with length and with cohesion: how much of the time its least
/// frequent word occurs inside it ("machine learning" always, "light
/// energy" only now and then).
fn phrase_bonus(group: &Group, word_counts: &HashMap<String, u32>) -> f32 {
    let rarest = group
        .parts
        .iter()
        .filter_map(|part| word_counts.get(part))
        .min()
        .copied()
        .unwrap_or(group.count)
        .max(1);
    let cohesion = (group.count as f32 / rarest as f32).min(1.0);
    1.0 + 0.3 * group.words.saturating_sub(1) as f32 * cohesion
}

/// Without a corpus, word length is the best cheap hint of rarity (short
/// words are the frequent ones): "photosynthesis" is more telling than
/// "green" at the same count.
fn specificity(term: &str) -> f32 {
    let chars = term.chars().count() as f32;
    if term.chars().any(is_han) {
        (1.0 + 0.05 * (chars - 2.0)).clamp(1.0, 1.15)
    } else {
        (0.8 + 0.035 * chars).clamp(0.9, 1.25)
    }
}

/// Indices of the candidates that get corpus statistics, best local score
/// first, at most one per term.
fn stats_order(c: &Candidates) -> Vec<usize> {
    let mut order: Vec<(f32, usize)> = c
        .terms
        .iter()
        .zip(&c.info)
        .enumerate()
        .map(|(i, (term, info))| (local_score(term, info), i))
        .collect();
    order.sort_by(|a, b| by_score_then_term(a.0, &c.terms[a.1].term, b.0, &c.terms[b.1].term));
    let mut seen = HashSet::new();
    order
        .into_iter()
        .map(|(_, i)| i)
        .filter(|&i| seen.insert(c.terms[i].term.as_str()))
        .take(STATS_TERMS)
        .collect()
}

/// Higher score first, then term, so equal scores have a stable order.
fn by_score_then_term(a: f32, a_term: &str, b: f32, b_term: &str) -> Ordering {
    b.total_cmp(&a).then_with(|| a_term.cmp(b_term))
}

/// Inverse document frequency, blended in by corpus size.
struct Idf<'a> {
    stats: &'a CorpusStats,
    documents: f32,
    weight: f32,
    max: f32,
}

impl<'a> Idf<'a> {
    fn new(stats: &'a CorpusStats, terms: usize) -> Self {
        let documents = stats.documents as f32;
        let weight = if documents == 0.0 {
            0.0
        } else if stats.document_frequency.len() == terms {
            let squared = documents * documents;
            squared / (squared + IDF_HALF_WEIGHT_DOCS * IDF_HALF_WEIGHT_DOCS)
        } else {
            tracing::warn!(
                expected = terms,
                got = stats.document_frequency.len(),
                "corpus statistics do not match the candidate terms; ranking without IDF"
            );
            0.0
        };
        Self {
            stats,
            documents,
            weight,
            max: (documents + 1.0).ln() + 1.0,
        }
    }

    /// Whether the term is in more than `share` of a corpus large enough to
    /// tell.
    fn too_common(&self, slot: usize, share: f32) -> bool {
        let Some(&df) = self.stats.document_frequency.get(slot) else {
            return false;
        };
        self.weight > 0.0
            && self.stats.documents >= COMMON_WORD_MIN_DOCS
            && df as f32 > share * self.documents
    }

    /// Multiplier in (0, 1]: 1 for a term no other document has.
    fn factor(&self, slot: usize) -> f32 {
        if self.weight == 0.0 {
            return 1.0;
        }
        let df = self
            .stats
            .document_frequency
            .get(slot)
            .copied()
            .unwrap_or(0) as f32;
        let df = df.min(self.documents);
        let idf = ((self.documents + 1.0) / (df + 1.0)).ln() + 1.0;
        (1.0 - self.weight) + self.weight * idf / self.max
    }
}

/// True when term `a` adds nothing next to the already chosen `b`: the same
/// term, a phrase and its own head word, a word that only ever occurs inside
/// the phrase ("machine" of "machine learning"), or a phrase inside another.
fn redundant(a: &TermInfo, a_tf: f32, b: &TermInfo, b_tf: f32) -> bool {
    if a.key == b.key {
        return true;
    }
    let inside = |word: &String, word_tf: f32, phrase: &TermInfo, phrase_tf: f32| {
        phrase.parts.last() == Some(word) || (phrase.parts.contains(word) && word_tf <= phrase_tf)
    };
    match (a.parts.as_slice(), b.parts.as_slice()) {
        ([word], [_, _, ..]) => inside(word, a_tf, b, b_tf),
        ([_, _, ..], [word]) => inside(word, b_tf, a, a_tf),
        (x, y) => contains_run(x, y) || contains_run(y, x),
    }
}

fn contains_run(haystack: &[String], needle: &[String]) -> bool {
    needle.len() <= haystack.len() && haystack.windows(needle.len()).any(|w| w == needle)
}

fn truncate_chars(text: &str, max: usize) -> &str {
    match text.char_indices().nth(max) {
        Some((i, _)) => &text[..i],
        None => text,
    }
}

/// The lower-case extension of a file name, "" when it has none.
fn extension(name: &str) -> String {
    match name.rsplit_once('.') {
        Some((stem, ext)) if !stem.is_empty() => ext.to_ascii_lowercase(),
        _ => String::new(),
    }
}

/// The words of a file name as text: extension dropped, separators and
/// camelCase / letter-digit boundaries turned into spaces
/// ("InvoiceMarch_2024.pdf" → "Invoice March 2024").
fn name_words(name: &str) -> String {
    let stem = match name.rsplit_once('.') {
        Some((stem, ext))
            if !stem.is_empty()
                && ext.len() <= 5
                && ext.chars().all(|c| c.is_ascii_alphanumeric()) =>
        {
            stem
        }
        _ => name,
    };
    // Ids are joined by hyphens ("550e8400-e29b-41d4-..."); judged whole,
    // before the hyphens become spaces, they are recognisably junk.
    let kept: Vec<&str> = stem
        .split(|c: char| c.is_whitespace() || matches!(c, '_' | '.' | ',' | '(' | ')' | '[' | ']'))
        .filter(|piece| !(piece.contains('-') && is_junk(&piece.to_lowercase())))
        .collect();
    let stem = kept.join(" ");
    let mut out = String::with_capacity(stem.len() + 8);
    let mut prev: Option<char> = None;
    // Length of the current run of lower-case letters / letters / digits.
    let (mut lower_run, mut letter_run, mut digit_run) = (0, 0, 0);
    for c in stem.chars() {
        if matches!(c, '_' | '-' | '.' | ',' | '(' | ')' | '[' | ']') || c.is_whitespace() {
            out.push(' ');
            prev = None;
            (lower_run, letter_run, digit_run) = (0, 0, 0);
            continue;
        }
        if let Some(p) = prev {
            // "MachineLearning", but not "iPhone"; "invoice2024", but not "mp3".
            let camel = p.is_lowercase() && c.is_uppercase() && lower_run >= 2;
            let to_digit = p.is_alphabetic() && c.is_ascii_digit() && letter_run >= 3;
            let to_letter = p.is_ascii_digit() && c.is_alphabetic() && digit_run >= 3;
            if camel || to_digit || to_letter {
                out.push(' ');
            }
        }
        lower_run = if c.is_lowercase() { lower_run + 1 } else { 0 };
        letter_run = if c.is_alphabetic() { letter_run + 1 } else { 0 };
        digit_run = if c.is_ascii_digit() { digit_run + 1 } else { 0 };
        out.push(c);
        prev = Some(c);
    }
    out
}

/// Known kinds of file, one a line: `tags | media types | extensions`. Tags
/// are comma separated, category first; `type/*` matches a whole top-level
/// type. Kept as a table because it is data, not logic.
const FORMATS: &str = "
pdf                   | application/pdf | pdf
image                 | image/* | png jpg jpeg gif webp bmp tif tiff heic heif avif svg dng cr2 nef arw
audio                 | audio/* | mp3 wav flac ogg oga opus m4a aac aiff wma
video                 | video/* | mp4 mkv mov avi webm wmv m4v mpg mpeg
spreadsheet           | application/vnd.ms-excel application/vnd.openxmlformats-officedocument.spreadsheetml.sheet application/vnd.oasis.opendocument.spreadsheet text/tab-separated-values | xls xlsx ods tsv
spreadsheet, csv      | text/csv | csv
presentation          | application/vnd.ms-powerpoint application/vnd.openxmlformats-officedocument.presentationml.presentation application/vnd.oasis.opendocument.presentation | ppt pptx odp
document              | application/msword application/vnd.openxmlformats-officedocument.wordprocessingml.document application/vnd.oasis.opendocument.text application/rtf text/rtf | doc docx odt rtf
markdown              | text/markdown text/x-markdown | md markdown
html                  | text/html application/xhtml+xml | html htm xhtml
css                   | text/css text/x-scss text/x-sass text/x-less | css scss sass less
json                  | application/json | json
xml                   | application/xml text/xml | xml
yaml                  | application/yaml application/x-yaml text/yaml text/x-yaml | yaml yml
toml                  | text/x-toml application/toml application/x-toml | toml
archive               | application/zip application/x-tar application/gzip application/x-gzip application/x-7z-compressed application/vnd.rar application/x-rar-compressed application/x-bzip2 application/x-xz application/zstd | zip tar gz tgz 7z rar bz2 xz zst
ebook                 | application/epub+zip | epub mobi
email                 | message/rfc822 | eml
font                  | font/* | ttf otf woff woff2
source code, rust     | text/x-rust text/rust | rs
source code, python   | text/x-python text/x-script.python application/x-python | py pyw pyi
source code, javascript | text/javascript application/javascript application/x-javascript | js mjs cjs jsx
source code, typescript | text/x-typescript application/typescript application/x-typescript text/typescript | ts tsx mts cts
source code, go       | text/x-go | go
source code, java     | text/x-java text/x-java-source | java
source code, kotlin   | text/x-kotlin | kt kts
source code, scala    | text/x-scala | scala
source code, groovy   | text/x-groovy | groovy gradle
source code, swift    | text/x-swift | swift
source code, objective-c | text/x-objective-c | m mm
source code, c        | text/x-c text/x-csrc text/x-chdr | c h
source code, c++      | text/x-c++ text/x-c++src text/x-c++hdr | cc cpp cxx hpp hh hxx
source code, c#       | text/x-csharp | cs
source code, f#       | text/x-fsharp | fs fsx
source code, ruby     | text/x-ruby application/x-ruby | rb
source code, php      | text/x-php application/x-httpd-php application/x-php | php
source code, perl     | text/x-perl application/x-perl | pl pm
source code, lua      | text/x-lua | lua
source code, r        | text/x-r | r
source code, julia    | text/x-julia | jl
source code, dart     | text/x-dart | dart
source code, zig      | text/x-zig | zig
source code, nim      | text/x-nim | nim
source code, haskell  | text/x-haskell | hs
source code, ocaml    | text/x-ocaml | ml mli
source code, elixir   | text/x-elixir | ex exs
source code, erlang   | text/x-erlang | erl
source code, clojure  | text/x-clojure | clj cljs
source code, lisp     | text/x-lisp text/x-emacs-lisp text/x-scheme | lisp el scm
source code, shell    | text/x-shellscript application/x-sh text/x-sh application/x-shellscript | sh bash zsh fish
source code, powershell | text/x-powershell | ps1
source code, batch    | text/x-bat | bat cmd
source code, sql      | text/x-sql application/sql | sql
source code, assembly | text/x-asm | asm s
source code, vue      | text/x-vue | vue
source code, svelte   | text/x-svelte | svelte
source code, terraform | text/x-terraform | tf
source code, nix      | text/x-nix | nix
protobuf              | text/x-protobuf | proto
graphql               | text/x-graphql | graphql gql
latex                 | text/x-tex application/x-tex | tex
makefile              | text/x-makefile text/x-cmake | mk cmake
dockerfile            | text/x-dockerfile | dockerfile
diff                  | text/x-diff | diff patch
ini                   | text/x-ini | ini cfg conf
";

/// One line of [`FORMATS`].
struct Format {
    tags: Vec<&'static str>,
    media: Vec<&'static str>,
    ext: Vec<&'static str>,
}

static FORMAT_TABLE: LazyLock<Vec<Format>> = LazyLock::new(|| {
    FORMATS
        .lines()
        .filter_map(|line| {
            let mut columns = line.split('|');
            let tags = columns.next()?.split(',').map(str::trim).collect();
            let media = columns.next()?.split_whitespace().collect();
            let ext = columns.next()?.split_whitespace().collect();
            Some(Format { tags, media, ext })
        })
        .collect()
});

/// Media types that say little about the content: trust the extension.
const VAGUE_MEDIA: &[&str] = &[
    "",
    "application/octet-stream",
    "text/plain",
    "application/zip",
    "application/x-zip-compressed",
];

/// The formats of a file. The media type wins unless it is vague (a .docx
/// is a zip, a .rs file is often reported as plain text).
fn formats_of(media: &str, ext: &str) -> Vec<&'static Format> {
    let table: &'static [Format] = &FORMAT_TABLE;
    let from_ext: Vec<_> = table
        .iter()
        .filter(|f| !ext.is_empty() && f.ext.contains(&ext))
        .collect();
    if VAGUE_MEDIA.contains(&media) && !from_ext.is_empty() {
        return from_ext;
    }
    let from_media: Vec<_> = table
        .iter()
        .filter(|f| {
            f.media.iter().any(|m| match m.strip_suffix('*') {
                Some(prefix) => media.starts_with(prefix),
                None => *m == media,
            })
        })
        .collect();
    if from_media.is_empty() {
        from_ext
    } else {
        from_media
    }
}

/// Metadata keys (compared lower case, letters and digits only) that hold a
/// camera maker: EXIF "Make" under whatever name the extractor chose.
const CAMERA_MAKE_KEYS: &[&str] = &["make", "cameramake", "exifmake", "cameramanufacturer"];

/// The brand in an EXIF make: "NIKON CORPORATION" → "nikon", "Canon" → "canon".
fn camera_make(raw: &str) -> Option<String> {
    let first = raw.split_whitespace().next()?;
    let first = first.trim_matches(|c: char| !c.is_alphanumeric());
    let tag = normalize_tag(first).ok()?;
    let letters = tag.chars().filter(|c| c.is_alphabetic()).count();
    (letters >= 2 && !is_generic(&tag)).then_some(tag)
}

/// The first string under one of `keys`, searched depth first.
fn find_text<'v>(value: &'v Value, keys: &[&str]) -> Option<&'v str> {
    find_value(value, keys, 0).and_then(Value::as_str)
}

/// The items under one of `keys`: an array of strings, or one string
/// separated by commas or semicolons ("Rock; Pop", "graphs, search").
fn find_values(value: &Value, keys: &[&str]) -> Vec<String> {
    match find_value(value, keys, 0) {
        Some(Value::String(s)) => s
            .split([',', ';', '/'])
            .map(|item| item.trim().to_string())
            .filter(|item| !item.is_empty())
            .collect(),
        Some(Value::Array(items)) => items
            .iter()
            .filter_map(Value::as_str)
            .map(|item| item.trim().to_string())
            .filter(|item| !item.is_empty())
            .collect(),
        _ => Vec::new(),
    }
}

fn find_value<'v>(value: &'v Value, keys: &[&str], depth: usize) -> Option<&'v Value> {
    const MAX_DEPTH: usize = 3;
    let Value::Object(map) = value else {
        return None;
    };
    let direct = map.iter().find(|(k, _)| {
        let k: String = k
            .chars()
            .filter(char::is_ascii_alphanumeric)
            .map(|c| c.to_ascii_lowercase())
            .collect();
        keys.contains(&k.as_str())
    });
    if let Some((_, v)) = direct {
        return Some(v);
    }
    if depth >= MAX_DEPTH {
        return None;
    }
    map.values().find_map(|v| find_value(v, keys, depth + 1))
}

/// "chinese", "japanese" or "korean" when most letters of the text are in
/// that script; nothing for short snippets, which prove little.
fn script_language(text: &str) -> Option<&'static str> {
    const MIN_CHARS: usize = 10;
    let (mut letters, mut han, mut kana, mut hangul) = (0usize, 0usize, 0usize, 0usize);
    for c in text.chars().filter(|c| c.is_alphabetic()) {
        letters += 1;
        match c {
            c if is_kana(c) => kana += 1,
            '\u{AC00}'..='\u{D7AF}' | '\u{1100}'..='\u{11FF}' => hangul += 1,
            c if is_han(c) => han += 1,
            _ => {}
        }
    }
    let cjk = han + kana;
    if cjk >= MIN_CHARS && cjk * 2 >= letters {
        // Japanese mixes kana into kanji; Chinese has none.
        return Some(if kana * 10 >= cjk {
            "japanese"
        } else {
            "chinese"
        });
    }
    (hangul >= MIN_CHARS && hangul * 2 >= letters).then_some("korean")
}

/// Metadata tags without duplicates, in the order found.
#[derive(Default)]
struct TagList(Vec<ProposedTag>);

impl TagList {
    fn push(&mut self, raw: &str, score: f32) {
        let Ok(name) = normalize_tag(raw) else { return };
        if self.0.iter().all(|t| t.name != name) {
            self.0.push(ProposedTag {
                name,
                score,
                source: TagSource::Metadata,
            });
        }
    }

    /// A free-text value (genre, author keyword): kept only when short and
    /// not a stop or generic word.
    fn push_phrase(&mut self, raw: &str, score: f32) {
        let Ok(name) = normalize_tag(raw) else { return };
        let words = name.split(' ').count();
        if words <= 3
            && !is_stop_word(&name)
            && !is_generic(&name)
            && name.chars().any(char::is_alphabetic)
        {
            self.push(&name, score);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stopwords;

    static TAGGER: LazyLock<KeywordTagger> =
        LazyLock::new(|| KeywordTagger::new(KeywordConfig::default()));
    static NO_METADATA: Value = Value::Null;

    const PHOTOSYNTHESIS: &str = "Photosynthesis is the process by which green plants, algae and \
        some bacteria convert light energy into chemical energy. During photosynthesis, plants \
        capture sunlight with chlorophyll, a green pigment found in the chloroplasts of leaf \
        cells. The light energy is used to split water molecules, releasing oxygen as a \
        by-product, while carbon dioxide from the air is fixed into glucose. The glucose \
        produced by photosynthesis fuels the growth of the plant and, through food chains, \
        almost all life on Earth. Chlorophyll absorbs mostly red and blue light, which is why \
        leaves look green.";

    const MACHINE_LEARNING_ZH: &str = "机器学习是人工智能的一个重要分支。机器学习算法通过大量数据\
        进行训练，从而自动改进模型的性能。常见的机器学习方法包括监督学习、无监督学习和强化学习。\
        深度学习是机器学习的一个子领域，它使用多层神经网络来学习数据的特征表示。我们可以在图像识别、\
        语音识别和自然语言处理等领域看到机器学习的广泛应用。";

    fn doc<'a>(name: &'a str, media_type: &'a str, text: &'a str) -> Document<'a> {
        Document {
            name,
            media_type,
            text,
            metadata: &NO_METADATA,
        }
    }

    /// Runs both phases; `df` gives each asked term's document frequency.
    fn tags_with(
        tagger: &KeywordTagger,
        d: &Document,
        documents: u64,
        df: impl Fn(&str) -> u64,
    ) -> Vec<ProposedTag> {
        let candidates = tagger.candidates(d);
        let terms = tagger.terms_for_stats(&candidates);
        let stats = CorpusStats {
            documents,
            document_frequency: terms.iter().map(|t| df(t)).collect(),
        };
        tagger.rank(&candidates, &stats)
    }

    fn names(d: &Document) -> Vec<String> {
        tags_with(&TAGGER, d, 0, |_| 0)
            .into_iter()
            .map(|t| t.name)
            .collect()
    }

    fn assert_no_stop_words(tags: &[String]) {
        for tag in tags {
            let words: Vec<&str> = tag.split(' ').collect();
            for edge in [words[0], words[words.len() - 1]] {
                assert!(
                    !is_stop_word(edge),
                    "stop word at the edge of {tag:?} in {tags:?}"
                );
            }
            assert!(!is_stop_word(tag), "stop word {tag:?} in {tags:?}");
        }
    }

    #[test]
    fn keywords_tagger_can_be_shared_between_tasks() {
        fn shareable<T: Send + Sync>() {}
        shareable::<KeywordTagger>();
        shareable::<Candidates>();
    }

    #[test]
    fn keywords_english_text_yields_its_topic() {
        let tags = names(&doc("notes.txt", "text/plain", PHOTOSYNTHESIS));
        assert!(!tags.is_empty() && tags.len() <= 8, "{tags:?}");
        let rank = tags.iter().position(|t| t == "photosynthesis");
        assert!(rank.is_some_and(|r| r < 3), "{tags:?}");
        assert!(tags.iter().any(|t| t.contains("chlorophyll")), "{tags:?}");
        assert_no_stop_words(&tags);
        // "plants" and "plant" are one term.
        assert!(
            !(tags.contains(&"plant".into()) && tags.contains(&"plants".into())),
            "{tags:?}"
        );
    }

    #[test]
    fn keywords_tags_are_normalised_and_scored() {
        let tags = tags_with(
            &TAGGER,
            &doc("notes.txt", "text/plain", PHOTOSYNTHESIS),
            0,
            |_| 0,
        );
        for (i, tag) in tags.iter().enumerate() {
            assert_eq!(normalize_tag(&tag.name).as_deref(), Ok(tag.name.as_str()));
            assert_eq!(tag.source, TagSource::Keyword);
            assert!((0.0..=1.0).contains(&tag.score), "{tag:?}");
            assert!(tag.score >= KeywordConfig::default().min_score, "{tag:?}");
            if i > 0 {
                assert!(tags[i - 1].score >= tag.score, "not best first: {tags:?}");
            }
        }
    }

    #[test]
    fn keywords_chinese_text_is_segmented() {
        let tags = names(&doc("笔记.txt", "text/plain", MACHINE_LEARNING_ZH));
        assert!(tags.iter().take(3).any(|t| t == "机器学习"), "{tags:?}");
        assert_no_stop_words(&tags);
        for tag in &tags {
            assert!(tag.chars().count() >= 2, "{tags:?}");
        }
    }

    #[test]
    fn keywords_plural_and_singular_are_one_tag() {
        let text = "Rust libraries make parsing easy. A good parsing library hides the \
            grammar. Libraries for compilers differ: each compiler library exposes a parser. \
            Most compilers ship their own libraries, and a compiler may embed a library.";
        let tags = names(&doc("notes.txt", "text/plain", text));
        let count = |forms: &[&str]| tags.iter().filter(|t| forms.contains(&t.as_str())).count();
        assert_eq!(count(&["library", "libraries"]), 1, "{tags:?}");
        assert_eq!(count(&["compiler", "compilers"]), 1, "{tags:?}");
        // Case variants meet too.
        let tags = names(&doc(
            "a.txt",
            "text/plain",
            "Graphene graphene GRAPHENE conducts heat.",
        ));
        assert_eq!(
            tags.iter().filter(|t| t.as_str() == "graphene").count(),
            1,
            "{tags:?}"
        );
    }

    #[test]
    fn keywords_phrase_and_its_head_word_are_not_both_chosen() {
        let text = "Machine learning finds patterns in examples. Machine learning powers spam \
            filters and recommendation engines. Modern machine learning needs training sets, \
            and machine learning research grows every year.";
        let tags = names(&doc("ml.txt", "text/plain", text));
        assert!(
            tags.iter().take(2).any(|t| t == "machine learning"),
            "{tags:?}"
        );
        // Neither its head word nor a word that never occurs outside it.
        assert!(!tags.contains(&"learning".to_string()), "{tags:?}");
        assert!(!tags.contains(&"machine".to_string()), "{tags:?}");
    }

    #[test]
    fn keywords_file_name_boosts_its_words() {
        let text = "Bill to: Acme Corporation. Description: consulting services for March. \
            Amount due: 4,500 EUR, payable within 30 days by bank transfer. Please quote the \
            invoice number 2024-117 with your payment.";
        let named = tags_with(
            &TAGGER,
            &doc("invoice-2024.pdf", "application/pdf", text),
            0,
            |_| 0,
        );
        assert_eq!(
            named.first().map(|t| t.name.as_str()),
            Some("invoice"),
            "{named:?}"
        );
        let plain = tags_with(&TAGGER, &doc("scan.pdf", "application/pdf", text), 0, |_| 0);
        let score = |tags: &[ProposedTag]| {
            tags.iter()
                .find(|t| t.name == "invoice")
                .map_or(0.0, |t| t.score)
        };
        assert!(score(&named) > score(&plain), "{named:?} vs {plain:?}");
        // A name alone (no text) still says something.
        let photo = names(&doc("paris-vacation.jpg", "image/jpeg", ""));
        assert!(photo.contains(&"paris".to_string()), "{photo:?}");
        assert!(photo.contains(&"vacation".to_string()), "{photo:?}");
    }

    #[test]
    fn keywords_idf_demotes_terms_every_document_has() {
        // Same frequency; the common term even comes first in the text.
        let text = "Kubernetes schedules workloads. Zanzibar decides permissions. Kubernetes \
            restarts failed pods. Zanzibar stores relationships.";
        let d = doc("notes.txt", "text/plain", text);
        let position = |tags: &[ProposedTag], name: &str| tags.iter().position(|t| t.name == name);

        let alone = tags_with(&TAGGER, &d, 0, |_| 0);
        assert!(
            position(&alone, "kubernetes") < position(&alone, "zanzibar"),
            "{alone:?}"
        );

        let corpus = tags_with(&TAGGER, &d, 100, |t| match t {
            "kubernetes" => 100,
            "zanzibar" => 1,
            _ => 10,
        });
        let rare = position(&corpus, "zanzibar");
        assert!(rare.is_some(), "{corpus:?}");
        let common = position(&corpus, "kubernetes");
        assert!(common.is_none_or(|c| Some(c) > rare), "{corpus:?}");
    }

    #[test]
    fn keywords_small_corpus_keeps_sensible_tags() {
        // With three documents that all mention the topic, it still wins.
        let d = doc("notes.txt", "text/plain", PHOTOSYNTHESIS);
        let tags = tags_with(
            &TAGGER,
            &d,
            3,
            |t| if t == "photosynthesis" { 3 } else { 0 },
        );
        assert!(
            tags.iter().take(3).any(|t| t.name == "photosynthesis"),
            "{tags:?}"
        );
    }

    #[test]
    fn keywords_numbers_ids_and_urls_never_become_tags() {
        let junk = "2024 2024 2024 550e8400-e29b-41d4-a716-446655440000 \
            3f786850e387550fdab836ed7e6dc881de23001b https://example.com/reports/latest \
            www.example.org admin@example.com 0x1f3a9c 3.14159 12:30 v1.2.3 21st /usr/local/bin";
        let text = format!("{junk} Telescope optics. {junk} Telescope mirrors. {junk}");
        let name = "550e8400-e29b-41d4-a716-446655440000.txt";
        let tags = names(&doc(name, "text/plain", &text));
        assert!(tags.contains(&"telescope".to_string()), "{tags:?}");
        for tag in &tags {
            assert!(tag.chars().any(char::is_alphabetic), "{tags:?}");
            for bad in [
                "http", "www", "example", "admin", "usr", "550e", "3f78", "0x1f", "v1.2", "21st",
            ] {
                assert!(!tag.contains(bad), "{bad} in {tags:?}");
            }
        }
    }

    #[test]
    fn keywords_respect_max_tags() {
        let long = format!(
            "{PHOTOSYNTHESIS} {MACHINE_LEARNING_ZH} Volcanoes erupt magma. Glaciers carve valleys. \
            Hurricanes bring rain. Earthquakes shake cities. Comets orbit stars. Tides follow the moon."
        );
        let d = doc("notes.txt", "text/plain", &long);
        assert!(names(&d).len() <= 8);
        let three = KeywordTagger::new(KeywordConfig {
            max_tags: 3,
            ..KeywordConfig::default()
        });
        assert_eq!(tags_with(&three, &d, 0, |_| 0).len(), 3);
        let none = KeywordTagger::new(KeywordConfig {
            max_tags: 0,
            ..KeywordConfig::default()
        });
        assert!(tags_with(&none, &d, 0, |_| 0).is_empty());
        let terms = TAGGER.terms_for_stats(&TAGGER.candidates(&d));
        assert!(terms.len() <= STATS_TERMS);
        assert_eq!(terms.iter().collect::<HashSet<_>>().len(), terms.len());
    }

    #[test]
    fn keywords_empty_text_gives_only_type_tags() {
        let d = doc("IMG_0042.jpg", "image/jpeg", "");
        assert!(names(&d).is_empty(), "{:?}", names(&d));
        let meta: Vec<String> = TAGGER
            .metadata_tags(&d)
            .into_iter()
            .map(|t| t.name)
            .collect();
        assert_eq!(meta, ["image"]);
        let d = doc("", "application/pdf", "");
        assert!(names(&d).is_empty());
        let meta = TAGGER.metadata_tags(&d);
        assert_eq!(meta.len(), 1);
        assert_eq!(
            (meta[0].name.as_str(), meta[0].score, meta[0].source),
            ("pdf", 1.0, TagSource::Metadata)
        );
    }

    #[test]
    fn keywords_are_deterministic() {
        let d = doc("photosynthesis-notes.md", "text/markdown", PHOTOSYNTHESIS);
        let first = tags_with(&TAGGER, &d, 50, |t| t.len() as u64);
        for _ in 0..3 {
            assert_eq!(tags_with(&TAGGER, &d, 50, |t| t.len() as u64), first);
        }
        let fresh = KeywordTagger::new(KeywordConfig::default());
        assert_eq!(tags_with(&fresh, &d, 50, |t| t.len() as u64), first);
        assert_eq!(TAGGER.candidates(&d), fresh.candidates(&d));
    }

    #[test]
    fn keywords_participles_alone_are_not_tags() {
        assert!(is_participle("supplied"));
        assert!(is_participle("compressed"));
        assert!(!is_participle("speed"));
        assert!(!is_participle("embed"));
        assert!(!is_participle("bed"));
        let d = doc(
            "x.txt",
            "text/plain",
            "Supplied data is compressed. Supplied buffers are compressed. Compression ratio.",
        );
        let tags = names(&d);
        assert!(!tags.contains(&"supplied".to_string()), "{tags:?}");
        assert!(!tags.contains(&"compressed".to_string()), "{tags:?}");
    }

    #[test]
    fn keywords_derived_adverbs_are_not_tags() {
        for adverb in [
            "primarily",
            "interactively",
            "automatically",
            "efficiently",
            "easily",
        ] {
            // "easily" has no derivational ending on its own: it stays.
            assert_eq!(is_derived_adverb(adverb), adverb != "easily", "{adverb}");
        }
        for noun in [
            "assembly", "family", "supply", "italy", "rally", "tally", "anomaly",
        ] {
            assert!(!is_derived_adverb(noun), "{noun}");
        }
        let d = doc(
            "x.txt",
            "text/plain",
            "Runs interactively. Interactively or in batches, glaciers melt; glaciers again.",
        );
        let tags = names(&d);
        assert!(!tags.contains(&"interactively".to_string()), "{tags:?}");
        assert!(tags.iter().any(|t| t.starts_with("glacier")), "{tags:?}");
    }

    #[test]
    fn keywords_too_common_in_the_corpus_are_not_tags() {
        let d = doc("notes.txt", "text/plain", PHOTOSYNTHESIS);
        let alone = tags_with(&TAGGER, &d, 100, |_| 1);
        assert!(
            alone.iter().any(|t| t.name == "photosynthesis"),
            "{alone:?}"
        );
        // In 40 of 100 documents: a word of the whole corpus, not of this file.
        let common = tags_with(
            &TAGGER,
            &d,
            100,
            |t| if t == "photosynthesis" { 40 } else { 1 },
        );
        assert!(
            !common.iter().any(|t| t.name == "photosynthesis"),
            "{common:?}"
        );
        // A small corpus cannot tell: 3 of 5 documents is not evidence.
        let small = tags_with(
            &TAGGER,
            &d,
            5,
            |t| if t == "photosynthesis" { 3 } else { 1 },
        );
        assert!(
            small.iter().any(|t| t.name == "photosynthesis"),
            "{small:?}"
        );
    }

    #[test]
    fn keywords_mismatched_stats_fall_back_to_local_ranking() {
        let d = doc("notes.txt", "text/plain", PHOTOSYNTHESIS);
        let c = TAGGER.candidates(&d);
        let stats = CorpusStats {
            documents: 100,
            document_frequency: vec![100],
        };
        let tags = TAGGER.rank(&c, &stats);
        assert!(tags.iter().any(|t| t.name == "photosynthesis"), "{tags:?}");
    }

    #[test]
    fn keywords_metadata_tags_from_type_and_metadata() {
        let meta = |d: &Document| -> Vec<String> {
            TAGGER
                .metadata_tags(d)
                .into_iter()
                .map(|t| t.name)
                .collect()
        };
        assert_eq!(
            meta(&doc("main.rs", "text/plain", "fn main() {}")),
            ["source code", "rust"]
        );
        assert_eq!(
            meta(&doc("tool.py", "text/x-python", "print(1)")),
            ["source code", "python"]
        );
        assert_eq!(
            meta(&doc("README.md", "text/markdown", "# Title")),
            ["markdown"]
        );
        assert_eq!(meta(&doc("index.html", "text/html", "")), ["html"]);
        assert_eq!(
            meta(&doc("q3.xlsx", "application/zip", "")),
            ["spreadsheet"]
        );
        assert_eq!(meta(&doc("song.flac", "audio/flac", "")), ["audio"]);
        assert_eq!(meta(&doc("clip", "video/mp4", "")), ["video"]);
        assert_eq!(
            meta(&doc("backup.tar.gz", "application/gzip", "")),
            ["archive"]
        );
        assert!(
            meta(&doc(
                "notes.txt",
                "text/plain; charset=utf-8",
                "plain words"
            ))
            .is_empty()
        );

        let exif = serde_json::json!({ "exif": { "Make": "NIKON CORPORATION", "Model": "D750" } });
        let photo = Document {
            metadata: &exif,
            ..doc("DSC_0001.JPG", "image/jpeg", "")
        };
        assert_eq!(meta(&photo), ["image", "nikon", "photo"]);

        let tags =
            serde_json::json!({ "genre": "Jazz; Blues", "keywords": ["graph search", "123"] });
        let song = Document {
            metadata: &tags,
            ..doc("take5.mp3", "audio/mpeg", "")
        };
        assert_eq!(meta(&song), ["audio", "jazz", "blues", "graph search"]);

        assert_eq!(
            meta(&doc("笔记.txt", "text/plain", MACHINE_LEARNING_ZH)),
            ["chinese"]
        );
        assert!(meta(&doc("notes.txt", "text/plain", PHOTOSYNTHESIS)).is_empty());
        let japanese = "これは日本語のテキストです。機械学習について書きます。";
        assert_eq!(meta(&doc("メモ.txt", "text/plain", japanese)), ["japanese"]);
        for tag in TAGGER.metadata_tags(&photo) {
            assert_eq!(tag.source, TagSource::Metadata);
            assert!(tag.score >= 0.8 && tag.score <= 1.0);
        }
    }

    #[test]
    fn keywords_tokenizer_handles_code_names_and_possessives() {
        let text = "C++ and C# differ from Node.js. The plant's leaves; the plant's roots. \
            C++ templates, C++ modules. Node.js servers, Node.js streams.";
        let tags = names(&doc("langs.txt", "text/plain", text));
        assert!(tags.contains(&"c++".to_string()), "{tags:?}");
        assert!(tags.contains(&"node.js".to_string()), "{tags:?}");
        assert!(tags.iter().all(|t| !t.contains('\'')), "{tags:?}");
        assert_eq!(
            name_words("InvoiceMarch_2024-final.pdf"),
            "Invoice March 2024 final"
        );
        assert_eq!(
            name_words("iPhone mp3 invoice2024"),
            "iPhone mp3 invoice 2024"
        );
    }

    #[test]
    fn keywords_stop_word_lists_are_consistent() {
        let [english, chinese, generic] = stopwords::lists();
        assert!(english.len() >= 300, "{}", english.len());
        assert!(chinese.len() >= 150, "{}", chinese.len());
        for word in ["use", "using", "also", "one", "new", "may", "get", "the"] {
            assert!(is_stop_word(word), "{word}");
        }
        for word in [
            "的", "了", "是", "在", "和", "我们", "这个", "一个", "可以", "进行", "以及", "没有",
        ] {
            assert!(is_stop_word(word), "{word}");
        }
        for word in english.iter().chain(&chinese).chain(&generic) {
            // Entries must be what normalize_tag produces, or lookups miss them.
            assert_eq!(
                normalize_tag(word).as_deref(),
                Ok(*word),
                "list entry {word:?}"
            );
        }
        assert!(is_generic("file") && is_generic("chapter") && !is_generic("photosynthesis"));
    }
}
