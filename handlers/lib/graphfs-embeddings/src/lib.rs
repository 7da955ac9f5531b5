//! Sentence embeddings for GraphFS: file embeddings (semantic search and
//! SIMILAR edges) and tag embeddings (vocabulary matching and merging).
//!
//! Two interchangeable backends behind [`Embedder`]:
//! - [`MiniLm`]: all-MiniLM-L6-v2 run in-process with candle (CPU, 384
//!   dimensions, mean pooling, L2-normalised). Nothing leaves the process.
//! - [`OpenAiEmbedder`]: any OpenAI-compatible `/embeddings` endpoint.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_openai::Client;
use async_openai::config::OpenAIConfig;
use async_openai::types::embeddings::{CreateEmbeddingRequest, EmbeddingInput};
use async_trait::async_trait;
use candle_core::{DType, Device, Tensor};
use candle_nn::VarBuilder;
use candle_transformers::models::bert::{BertModel, Config as BertConfig};
use tokenizers::Tokenizer;

/// The dimension of all-MiniLM-L6-v2 vectors (and of the graph's vector index).
pub const MINILM_DIMENSIONS: usize = 384;

#[derive(Debug, thiserror::Error)]
pub enum EmbedError {
    #[error("embedding model files: {0}")]
    Model(String),
    #[error("embedding failed: {0}")]
    Inference(String),
    /// The endpoint could not be reached or answered an error; retrying later may help.
    #[error("embedding endpoint: {0}")]
    Endpoint(String),
}

pub type Result<T> = std::result::Result<T, EmbedError>;

#[async_trait]
pub trait Embedder: Send + Sync + 'static {
    /// One unit-length vector per text, in order.
    async fn embed(&self, texts: &[String]) -> Result<Vec<Vec<f32>>>;
    /// Vector length.
    fn dimensions(&self) -> usize;
    /// Names the model in logs and in stored vectors' provenance.
    fn model_name(&self) -> &str;
}

pub use graphfs_domain::cosine;

/// Whether a vector carries meaning: the zero vector stands for "this model
/// cannot embed that text" and matches nothing.
pub fn is_usable(v: &[f32]) -> bool {
    v.iter().any(|x| *x != 0.0)
}

/// True when CJK characters make up at least a fifth of the letters.
pub fn is_mostly_cjk(text: &str) -> bool {
    let (mut cjk, mut letters) = (0usize, 0usize);
    for c in text.chars().take(2000) {
        if c.is_alphabetic() {
            letters += 1;
            if matches!(c as u32, 0x3400..=0x9FFF | 0xF900..=0xFAFF | 0x20000..=0x2FA1F) {
                cjk += 1;
            }
        }
    }
    letters > 0 && cjk * 5 >= letters
}

fn normalise(v: &mut [f32]) {
    let n = v.iter().map(|x| x * x).sum::<f32>().sqrt();
    if n > 0.0 {
        v.iter_mut().for_each(|x| *x /= n);
    }
}

/// all-MiniLM-L6-v2 on the CPU. Inference runs on blocking threads; the
/// model is shared (candle tensors are immutable), the tokenizer is cheap.
pub struct MiniLm {
    model: Arc<BertModel>,
    tokenizer: Arc<Tokenizer>,
    max_tokens: usize,
    /// Bounds concurrent forward passes so embedding cannot starve the API.
    permits: Arc<tokio::sync::Semaphore>,
    name: String,
}

impl MiniLm {
    /// Loads `model.safetensors`, `config.json` and `tokenizer.json` from `dir`.
    pub fn load(dir: &Path) -> Result<Self> {
        let file = |n: &str| -> Result<PathBuf> {
            let p = dir.join(n);
            if p.is_file() {
                Ok(p)
            } else {
                Err(EmbedError::Model(format!("{} is missing", p.display())))
            }
        };
        let config: BertConfig = serde_json::from_slice(
            &std::fs::read(file("config.json")?)
                .map_err(|e| EmbedError::Model(format!("config.json: {e}")))?,
        )
        .map_err(|e| EmbedError::Model(format!("config.json: {e}")))?;
        let mut tokenizer = Tokenizer::from_file(file("tokenizer.json")?)
            .map_err(|e| EmbedError::Model(format!("tokenizer.json: {e}")))?;
        // The shipped tokenizer pads every input to 128 tokens; one text at
        // a time needs no padding, and it costs 4x the compute.
        tokenizer.with_padding(None);
        let max_tokens = 256;
        tokenizer
            .with_truncation(Some(tokenizers::TruncationParams {
                max_length: max_tokens,
                ..Default::default()
            }))
            .map_err(|e| EmbedError::Model(format!("tokenizer truncation: {e}")))?;
        let weights = file("model.safetensors")?;
        // SAFETY: the weights file is memory-mapped read-only and is not
        // modified while mapped (it lives in the model cache).
        let vb = unsafe {
            VarBuilder::from_mmaped_safetensors(&[weights], DType::F32, &Device::Cpu)
                .map_err(|e| EmbedError::Model(format!("model.safetensors: {e}")))?
        };
        let model = BertModel::load(vb, &config)
            .map_err(|e| EmbedError::Model(format!("loading BERT weights: {e}")))?;
        Ok(MiniLm {
            model: Arc::new(model),
            tokenizer: Arc::new(tokenizer),
            max_tokens,
            permits: Arc::new(tokio::sync::Semaphore::new(2)),
            name: "all-MiniLM-L6-v2".to_string(),
        })
    }

    /// Embeds one text on the calling thread.
    pub fn embed_one(&self, text: &str) -> Result<Vec<f32>> {
        let mut one = embed_blocking(&self.model, &self.tokenizer, &[text])?;
        Ok(one.pop().unwrap_or_default())
    }

    pub fn max_tokens(&self) -> usize {
        self.max_tokens
    }
}

/// Most texts in one forward pass. A batch pads every text to its longest
/// one, so texts are grouped by length first.
const MAX_BATCH: usize = 16;

/// One vector per text, in order, in as few forward passes as the batch
/// size allows: a pass has a fixed cost that short texts (tag names) would
/// otherwise pay one by one.
fn embed_blocking(
    model: &BertModel,
    tokenizer: &Tokenizer,
    texts: &[&str],
) -> Result<Vec<Vec<f32>>> {
    let inf = |e: candle_core::Error| EmbedError::Inference(e.to_string());
    let mut out = vec![Vec::new(); texts.len()];
    let mut encoded = Vec::with_capacity(texts.len());
    for (i, text) in texts.iter().enumerate() {
        // all-MiniLM-L6-v2 was trained on English: it puts unrelated Chinese
        // words almost on top of each other (数据库 "database" next to 密码
        // "password"), which would merge them as synonyms. Such text gets the
        // zero vector, which matches nothing; a multilingual model behind
        // --embedding-base-url embeds it properly.
        if is_mostly_cjk(text) {
            out[i] = vec![0.0; MINILM_DIMENSIONS];
            continue;
        }
        let enc = tokenizer
            .encode(*text, true)
            .map_err(|e| EmbedError::Inference(format!("tokenizing: {e}")))?;
        encoded.push((i, enc));
    }
    encoded.sort_by_key(|(_, enc)| enc.len());
    for batch in encoded.chunks(MAX_BATCH) {
        let width = batch.iter().map(|(_, enc)| enc.len()).max().unwrap_or(0);
        let (mut ids, mut mask) = (Vec::new(), Vec::new());
        for (_, enc) in batch {
            let pad = width - enc.len();
            ids.extend(
                enc.get_ids()
                    .iter()
                    .copied()
                    .chain(std::iter::repeat_n(0, pad)),
            );
            mask.extend(
                enc.get_attention_mask()
                    .iter()
                    .copied()
                    .chain(std::iter::repeat_n(0, pad)),
            );
        }
        let shape = (batch.len(), width);
        let ids = Tensor::from_vec(ids, shape, &Device::Cpu).map_err(inf)?;
        let types = ids.zeros_like().map_err(inf)?;
        let mask = Tensor::from_vec(mask, shape, &Device::Cpu).map_err(inf)?;
        let hidden = model.forward(&ids, &types, Some(&mask)).map_err(inf)?;
        // Mean pooling over the real (unmasked) tokens, as sentence-transformers does.
        let mask_f = mask
            .to_dtype(DType::F32)
            .and_then(|m| m.unsqueeze(2))
            .map_err(inf)?;
        let summed = hidden
            .broadcast_mul(&mask_f)
            .and_then(|t| t.sum(1))
            .map_err(inf)?;
        let count = mask_f.sum(1).map_err(inf)?;
        let mean = summed.broadcast_div(&count).map_err(inf)?;
        let rows: Vec<Vec<f32>> = mean.to_vec2().map_err(inf)?;
        for ((i, _), mut v) in batch.iter().zip(rows) {
            normalise(&mut v);
            out[*i] = v;
        }
    }
    Ok(out)
}

#[async_trait]
impl Embedder for MiniLm {
    async fn embed(&self, texts: &[String]) -> Result<Vec<Vec<f32>>> {
        let _permit = self
            .permits
            .acquire()
            .await
            .map_err(|e| EmbedError::Inference(e.to_string()))?;
        let (model, tokenizer, texts) =
            (self.model.clone(), self.tokenizer.clone(), texts.to_vec());
        tokio::task::spawn_blocking(move || {
            let texts: Vec<&str> = texts.iter().map(String::as_str).collect();
            embed_blocking(&model, &tokenizer, &texts)
        })
        .await
        .map_err(|e| EmbedError::Inference(format!("embedding task: {e}")))?
    }

    fn dimensions(&self) -> usize {
        MINILM_DIMENSIONS
    }

    fn model_name(&self) -> &str {
        &self.name
    }
}

/// An OpenAI-compatible `/embeddings` endpoint (OpenAI, vLLM, Ollama,
/// llama.cpp, LM Studio).
pub struct OpenAiEmbedder {
    client: Client<OpenAIConfig>,
    model: String,
    dimensions: Mutex<usize>,
    timeout: Duration,
}

impl OpenAiEmbedder {
    pub fn new(base_url: &str, api_key: Option<&str>, model: &str, timeout: Duration) -> Self {
        let mut config = OpenAIConfig::new().with_api_base(base_url.trim_end_matches('/'));
        if let Some(key) = api_key {
            config = config.with_api_key(key);
        }
        OpenAiEmbedder {
            client: Client::with_config(config),
            model: model.to_string(),
            dimensions: Mutex::new(0),
            timeout,
        }
    }
}

#[async_trait]
impl Embedder for OpenAiEmbedder {
    async fn embed(&self, texts: &[String]) -> Result<Vec<Vec<f32>>> {
        if texts.is_empty() {
            return Ok(Vec::new());
        }
        let req = CreateEmbeddingRequest {
            model: self.model.clone(),
            input: EmbeddingInput::StringArray(texts.to_vec()),
            ..Default::default()
        };
        let resp = tokio::time::timeout(self.timeout, self.client.embeddings().create(req))
            .await
            .map_err(|_| EmbedError::Endpoint(format!("no answer within {:?}", self.timeout)))?
            .map_err(|e| EmbedError::Endpoint(e.to_string()))?;
        let mut data = resp.data;
        data.sort_by_key(|d| d.index);
        if data.len() != texts.len() {
            return Err(EmbedError::Endpoint(format!(
                "asked for {} vectors, got {}",
                texts.len(),
                data.len()
            )));
        }
        let out: Vec<Vec<f32>> = data
            .into_iter()
            .map(|d| {
                let mut v = d.embedding;
                normalise(&mut v);
                v
            })
            .collect();
        if let (Some(first), Ok(mut dims)) = (out.first(), self.dimensions.lock()) {
            *dims = first.len();
        }
        Ok(out)
    }

    fn dimensions(&self) -> usize {
        self.dimensions.lock().map(|d| *d).unwrap_or(0)
    }

    fn model_name(&self) -> &str {
        &self.model
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The model directory, when the test environment installed it
    /// (`tests/llm/install.sh`); these tests are skipped with a note otherwise.
    fn model_dir() -> Option<PathBuf> {
        let dir = std::env::var_os("GRAPHFS_TEST_EMBEDDING_DIR").map(PathBuf::from)?;
        dir.join("model.safetensors").is_file().then_some(dir)
    }

    #[test]
    fn cosine_of_known_vectors() {
        assert!((cosine(&[1.0, 0.0], &[1.0, 0.0]) - 1.0).abs() < 1e-6);
        assert!(cosine(&[1.0, 0.0], &[0.0, 1.0]).abs() < 1e-6);
        assert_eq!(cosine(&[0.0, 0.0], &[1.0, 0.0]), 0.0);
    }

    #[test]
    fn missing_model_files_are_a_clear_error() {
        let dir = tempfile_dir();
        let err = MiniLm::load(&dir).err().map(|e| e.to_string());
        assert!(
            err.as_deref()
                .is_some_and(|e| e.contains("config.json is missing")),
            "{err:?}"
        );
    }

    fn tempfile_dir() -> PathBuf {
        let d =
            std::env::temp_dir().join(format!("graphfs-embeddings-test-{}", std::process::id()));
        std::fs::create_dir_all(&d).ok();
        d
    }

    #[test]
    fn minilm_ranks_related_sentences_closer() {
        let Some(dir) = model_dir() else {
            eprintln!("GRAPHFS_TEST_EMBEDDING_DIR not set: MiniLM not installed, skipping");
            return;
        };
        let m = MiniLm::load(&dir).expect("load MiniLM");
        let a = m.embed_one("A recipe for tomato soup with basil").unwrap();
        let b = m.embed_one("How to cook a vegetable soup at home").unwrap();
        let c = m.embed_one("The orbit of Jupiter's moons").unwrap();
        assert_eq!(a.len(), MINILM_DIMENSIONS);
        let n: f32 = a.iter().map(|x| x * x).sum();
        assert!((n - 1.0).abs() < 1e-4, "unit length, got {n}");
        let (ab, ac) = (cosine(&a, &b), cosine(&a, &c));
        assert!(ab > ac + 0.2, "soup~soup {ab} vs soup~jupiter {ac}");
    }

    /// Texts of different lengths embedded together (padded to the longest)
    /// get the vectors they get alone.
    #[tokio::test]
    async fn a_batch_gives_each_text_its_own_vector() {
        let Some(dir) = model_dir() else {
            eprintln!("GRAPHFS_TEST_EMBEDDING_DIR not set: MiniLM not installed, skipping");
            return;
        };
        let m = MiniLm::load(&dir).expect("load MiniLM");
        let mut texts: Vec<String> = ["soup", "数据库", "The orbit of Jupiter's moons and rings"]
            .into_iter()
            .map(str::to_string)
            .collect();
        // More than one batch, of many lengths.
        texts.extend((0..2 * MAX_BATCH).map(|i| "word ".repeat(i % 7 + 1) + &i.to_string()));
        let together = m.embed(&texts).await.unwrap();
        assert_eq!(together.len(), texts.len());
        for (text, v) in texts.iter().zip(&together) {
            let alone = m.embed_one(text).unwrap();
            assert_eq!(alone.len(), MINILM_DIMENSIONS);
            let most = alone
                .iter()
                .zip(v)
                .map(|(a, b)| (a - b).abs())
                .fold(0.0f32, f32::max);
            assert!(most < 1e-4, "{text:?}: differs by {most}");
        }
        assert!(!is_usable(&together[1]), "Chinese gets the zero vector");
    }

    #[test]
    fn chinese_text_gets_the_zero_vector_with_this_english_model() {
        let Some(dir) = model_dir() else {
            eprintln!("GRAPHFS_TEST_EMBEDDING_DIR not set: MiniLM not installed, skipping");
            return;
        };
        let m = MiniLm::load(&dir).expect("load MiniLM");
        let db = m.embed_one("数据库").unwrap();
        let pw = m.embed_one("密码").unwrap();
        assert!(!is_usable(&db) && !is_usable(&pw));
        assert_eq!(
            cosine(&db, &pw),
            0.0,
            "unrelated Chinese words are not synonyms"
        );
        assert!(is_usable(&m.embed_one("database").unwrap()));
    }

    #[test]
    fn minilm_matches_the_reference_embedding() {
        let Some(dir) = model_dir() else {
            eprintln!("GRAPHFS_TEST_EMBEDDING_DIR not set: MiniLM not installed, skipping");
            return;
        };
        let m = MiniLm::load(&dir).expect("load MiniLM");
        let v = m.embed_one("This is an example sentence").unwrap();
        // First components of sentence-transformers' all-MiniLM-L6-v2 output
        // for this sentence (normalised), as published with the model.
        let reference = [0.0677, 0.0634, 0.0488, 0.0793, 0.0374];
        for (got, want) in v.iter().zip(reference) {
            assert!((got - want).abs() < 0.01, "{:?} vs {reference:?}", &v[..5]);
        }
    }
}
