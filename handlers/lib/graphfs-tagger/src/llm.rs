//! The one LLM client: any OpenAI-compatible server (OpenAI, vLLM, Ollama,
//! llama.cpp, LM Studio) through async-openai. Chat models get chat
//! completions (with image parts when a vision model is configured); base
//! models get few-shot text completions; audio goes to a transcription
//! endpoint when one is configured. Every call has a timeout.

use std::path::Path;
use std::time::Duration;

use async_openai::Client;
use async_openai::config::OpenAIConfig;
use async_openai::error::OpenAIError;
use async_openai::types::InputSource;
use async_openai::types::audio::{AudioInput, CreateTranscriptionRequestArgs};
use async_openai::types::chat::{
    ChatCompletionRequestAssistantMessage, ChatCompletionRequestAssistantMessageContent,
    ChatCompletionRequestMessage, ChatCompletionRequestMessageContentPartImage,
    ChatCompletionRequestMessageContentPartText, ChatCompletionRequestSystemMessage,
    ChatCompletionRequestSystemMessageContent, ChatCompletionRequestUserMessage,
    ChatCompletionRequestUserMessageContent, ChatCompletionRequestUserMessageContentPart,
    CompletionFinishReason, CreateChatCompletionRequest, FinishReason, ImageUrl, Prompt,
    StopConfiguration,
};
use async_openai::types::completions::CreateCompletionRequest;
use base64::Engine;

use crate::prompt::ChatPrompt;

/// An answer that reached the token limit ends inside a tag; that tag goes.
fn cut_answer(text: String) -> String {
    let kept = crate::parse::without_cut_tail(&text);
    tracing::debug!(answer = %text, kept, "model answer cut at the token limit");
    kept.to_string()
}

/// Which API the model is driven through.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LlmApi {
    /// `/chat/completions`, for instruction-tuned chat models.
    Chat,
    /// `/completions` with few-shot prompts, for base models.
    Completions,
}

#[derive(Debug, Clone)]
pub struct LlmConfig {
    /// e.g. `https://api.openai.com/v1` or `http://127.0.0.1:8000/v1`.
    pub base_url: String,
    pub api_key: Option<String>,
    pub model: String,
    pub api: LlmApi,
    /// A vision-capable chat model images are sent to; none: images are
    /// tagged from their metadata and name.
    pub vision_model: Option<String>,
    /// A speech-to-text model on this server (the worker's transcriber).
    pub transcription_model: Option<String>,
    /// Per request. Small CPU models are slow: this is configuration.
    pub timeout: Duration,
    pub max_tokens: u32,
}

/// Why a model call failed.
#[derive(Debug, thiserror::Error)]
pub enum LlmError {
    /// Not reachable, timed out, overloaded: retry later.
    #[error("model endpoint unavailable: {0}")]
    Unavailable(String),
    /// The endpoint refused this request (bad request, content too long):
    /// retrying the same request will not help.
    #[error("model refused the request: {0}")]
    Rejected(String),
}

fn classify(e: OpenAIError) -> LlmError {
    match e {
        OpenAIError::Reqwest(e) => LlmError::Unavailable(e.to_string()),
        OpenAIError::ApiError(api) => {
            let status = api.status_code.as_u16();
            if status == 408 || status == 429 || status >= 500 {
                LlmError::Unavailable(api.to_string())
            } else {
                LlmError::Rejected(api.to_string())
            }
        }
        // An HTML error page from a proxy or a half-started server.
        OpenAIError::JSONDeserialize(e, _) => {
            LlmError::Unavailable(format!("unreadable answer: {e}"))
        }
        other => LlmError::Rejected(other.to_string()),
    }
}

/// The text of a transcription answer: `{"text": ...}` as JSON, or the
/// bare text some servers send.
fn transcript_text(raw: &[u8]) -> Result<String, LlmError> {
    match serde_json::from_slice::<serde_json::Value>(raw) {
        Ok(v) => v
            .get("text")
            .and_then(|t| t.as_str())
            .map(|t| t.trim().to_string())
            .ok_or_else(|| LlmError::Rejected("the transcription answer has no text".into())),
        Err(_) => Ok(String::from_utf8_lossy(raw).trim().to_string()),
    }
}

#[derive(Clone)]
pub struct LlmClient {
    client: Client<OpenAIConfig>,
    config: LlmConfig,
}

impl std::fmt::Debug for LlmClient {
    // The API key stays out of logs.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LlmClient")
            .field("base_url", &self.config.base_url)
            .field("model", &self.config.model)
            .field("transcription_model", &self.config.transcription_model)
            .finish_non_exhaustive()
    }
}

impl LlmClient {
    pub fn new(config: LlmConfig) -> Self {
        let mut c = OpenAIConfig::new().with_api_base(config.base_url.trim_end_matches('/'));
        if let Some(key) = &config.api_key {
            c = c.with_api_key(key);
        }
        LlmClient {
            client: Client::with_config(c),
            config,
        }
    }

    pub fn config(&self) -> &LlmConfig {
        &self.config
    }

    async fn timed<T, F>(&self, f: F) -> Result<T, LlmError>
    where
        F: std::future::Future<Output = Result<T, OpenAIError>>,
    {
        match tokio::time::timeout(self.config.timeout, f).await {
            Ok(r) => r.map_err(classify),
            Err(_) => Err(LlmError::Unavailable(format!(
                "no answer within {:?}",
                self.config.timeout
            ))),
        }
    }

    /// A chat completion; `image` (media type, bytes) goes to the vision
    /// model as an image part when one is configured.
    pub async fn chat(
        &self,
        prompt: &ChatPrompt,
        image: Option<(&str, &[u8])>,
    ) -> Result<String, LlmError> {
        let (model, content) = match (image, &self.config.vision_model) {
            (Some((media, bytes)), Some(vision)) => {
                let url = format!(
                    "data:{media};base64,{}",
                    base64::engine::general_purpose::STANDARD.encode(bytes)
                );
                (
                    vision.clone(),
                    ChatCompletionRequestUserMessageContent::Array(vec![
                        ChatCompletionRequestUserMessageContentPart::Text(
                            ChatCompletionRequestMessageContentPartText::from(prompt.user.clone()),
                        ),
                        ChatCompletionRequestUserMessageContentPart::ImageUrl(
                            ChatCompletionRequestMessageContentPartImage {
                                image_url: ImageUrl { url, detail: None },
                                ..Default::default()
                            },
                        ),
                    ]),
                )
            }
            _ => (
                self.config.model.clone(),
                ChatCompletionRequestUserMessageContent::Text(prompt.user.clone()),
            ),
        };
        let mut messages = vec![ChatCompletionRequestMessage::System(
            ChatCompletionRequestSystemMessage {
                content: ChatCompletionRequestSystemMessageContent::Text(prompt.system.clone()),
                name: None,
            },
        )];
        for (user, assistant) in &prompt.examples {
            messages.push(ChatCompletionRequestMessage::User(
                ChatCompletionRequestUserMessage {
                    content: ChatCompletionRequestUserMessageContent::Text(user.clone()),
                    name: None,
                },
            ));
            messages.push(ChatCompletionRequestMessage::Assistant(
                ChatCompletionRequestAssistantMessage {
                    content: Some(ChatCompletionRequestAssistantMessageContent::Text(
                        assistant.clone(),
                    )),
                    ..Default::default()
                },
            ));
        }
        messages.push(ChatCompletionRequestMessage::User(
            ChatCompletionRequestUserMessage {
                content,
                name: None,
            },
        ));
        let request = CreateChatCompletionRequest {
            model,
            messages,
            temperature: Some(0.0),
            max_completion_tokens: Some(self.config.max_tokens),
            ..Default::default()
        };
        // Many OpenAI-compatible servers (llama.cpp, vLLM) still read the
        // older `max_tokens` rather than `max_completion_tokens`.
        #[allow(deprecated)]
        let request = CreateChatCompletionRequest {
            max_tokens: Some(self.config.max_tokens),
            seed: Some(7),
            ..request
        };
        let resp = self.timed(self.client.chat().create(request)).await?;
        let Some(choice) = resp.choices.into_iter().next() else {
            return Ok(String::new());
        };
        let text = choice.message.content.unwrap_or_default();
        Ok(match choice.finish_reason {
            Some(FinishReason::Length) => cut_answer(text),
            _ => text,
        })
    }

    /// A text completion of a few-shot prompt, stopped at the end of the line.
    pub async fn complete(&self, prompt: &str) -> Result<String, LlmError> {
        let request = CreateCompletionRequest {
            model: self.config.model.clone(),
            prompt: Prompt::String(prompt.to_string()),
            max_tokens: Some(self.config.max_tokens),
            temperature: Some(0.0),
            seed: Some(7),
            stop: Some(StopConfiguration::StringArray(vec![
                "\n".into(),
                "File:".into(),
            ])),
            ..Default::default()
        };
        let resp = self
            .timed(self.client.completions().create(request))
            .await?;
        let Some(choice) = resp.choices.into_iter().next() else {
            return Ok(String::new());
        };
        Ok(match choice.finish_reason {
            Some(CompletionFinishReason::Length) => cut_answer(choice.text),
            _ => choice.text,
        })
    }

    /// The transcript of an audio or video file.
    pub async fn transcribe(&self, path: &Path, name: &str) -> Result<String, LlmError> {
        let Some(model) = &self.config.transcription_model else {
            return Err(LlmError::Rejected(
                "no transcription model configured".into(),
            ));
        };
        let bytes = tokio::fs::read(path)
            .await
            .map_err(|e| LlmError::Unavailable(format!("reading the audio: {e}")))?;
        let request = CreateTranscriptionRequestArgs::default()
            .file(AudioInput {
                source: InputSource::VecU8 {
                    filename: name.to_string(),
                    vec: bytes,
                },
            })
            .model(model.clone())
            .build()
            .map_err(|e| LlmError::Rejected(e.to_string()))?;
        // Read leniently: servers that speak this API differ in what they
        // add around the text (OpenAI's `usage`, older servers nothing).
        let raw = self
            .timed(self.client.audio().transcription().create_raw(request))
            .await?;
        transcript_text(&raw)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transcripts_are_read_from_json_or_plain_text() {
        let openai = br#"{"text":" Hello there. ","usage":{"type":"duration","seconds":2}}"#;
        assert_eq!(transcript_text(openai).unwrap(), "Hello there.");
        assert_eq!(transcript_text(br#"{"text":"hi"}"#).unwrap(), "hi");
        assert_eq!(transcript_text(b"plain words\n").unwrap(), "plain words");
        assert!(matches!(
            transcript_text(br#"{"error":"x"}"#),
            Err(LlmError::Rejected(_))
        ));
    }
}
