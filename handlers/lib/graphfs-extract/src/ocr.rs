//! Text in pictures: images, PDFs without a text layer (scans) and the
//! keyframes of videos, read with the Tesseract OCR engine. PDF pages are
//! first rasterized with poppler's `pdftoppm`, video frames taken with
//! `ffmpeg`.
//!
//! All are programs of the host (Debian `tesseract-ocr`, `poppler-utils`,
//! `ffmpeg`),
//! run as the extraction worker is: an empty environment, the input on
//! stdin, address-space and CPU limits, a deadline, and a syscall filter
//! ([`crate::sandbox::tool_filter`]) that lets them read but not write a
//! file, open a socket or reach another process.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use seccompiler::BpfProgram;
use tokio::io::AsyncWriteExt;
use tokio::process::Command;

use crate::isolate::{read_bounded, rlimit};
use crate::sandbox::{SandboxError, tool_filter};

/// Largest image (or rasterized page) handed to the engine.
const MAX_IMAGE_BYTES: u64 = 64 << 20;
/// Most text kept from one file.
const MAX_TEXT_BYTES: u64 = 1 << 20;
const MAX_STDERR_BYTES: u64 = 8 << 10;

#[derive(Debug, Clone)]
pub struct OcrConfig {
    /// The `tesseract` program.
    pub tesseract: PathBuf,
    /// The `pdftoppm` program; without it scanned PDFs are not read.
    pub pdftoppm: Option<PathBuf>,
    /// Tesseract languages, `+`-separated (`eng+chi_sim`).
    pub languages: String,
    /// Pages of a scanned PDF read, from the first.
    pub max_pages: u32,
    /// The `ffmpeg` program; without it videos are not read.
    pub ffmpeg: Option<PathBuf>,
    /// The `ffprobe` program, asked for a video's length when its
    /// container did not give it to the extractor.
    pub ffprobe: Option<PathBuf>,
    /// Keyframes read from one video, spread over its length (0: none).
    pub video_frames: u32,
    /// Deadline for one file, all pages together.
    pub timeout: Duration,
    /// Address-space limit of each program, in bytes.
    pub memory_limit_bytes: u64,
}

impl OcrConfig {
    /// The configuration for the programs found on `PATH`, if Tesseract is.
    pub fn detect(languages: &str) -> Option<OcrConfig> {
        let tesseract = find_program("tesseract")?;
        Some(OcrConfig {
            tesseract,
            pdftoppm: find_program("pdftoppm"),
            languages: languages.to_string(),
            max_pages: 10,
            ffmpeg: find_program("ffmpeg"),
            ffprobe: find_program("ffprobe"),
            video_frames: 4,
            timeout: Duration::from_secs(120),
            memory_limit_bytes: 2 << 30,
        })
    }

    /// Whether the keyframes of a file of this type are read.
    pub fn reads_video(&self, media_type: &str) -> bool {
        media_type.starts_with("video/") && self.ffmpeg.is_some() && self.video_frames > 0
    }
}

/// The languages `tesseract` has data for (`tesseract --list-langs`).
pub fn installed_languages(tesseract: &Path) -> std::io::Result<Vec<String>> {
    let out = std::process::Command::new(tesseract)
        .arg("--list-langs")
        .stdin(Stdio::null())
        .output()?;
    // The first line is a heading ("List of available languages in ...").
    Ok(String::from_utf8_lossy(&out.stdout)
        .lines()
        .skip(1)
        .map(|l| l.trim().to_string())
        .filter(|l| !l.is_empty())
        .collect())
}

/// A program of that name in a folder of `PATH`.
pub fn find_program(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|p| p.is_file())
}

#[derive(thiserror::Error, Debug)]
pub enum OcrError {
    #[error("cannot read the file for OCR: {0}")]
    Io(#[from] std::io::Error),
    #[error("OCR took too long and was stopped")]
    Timeout,
    #[error("{program} failed: {detail}")]
    Tool { program: String, detail: String },
    #[error("the OCR programs could not be confined: {0}")]
    Sandbox(#[from] SandboxError),
}

/// Whether a file with this media type and extracted text is worth OCR:
/// an image, or a PDF that gave no text.
pub fn wanted(media_type: &str, text: &str) -> bool {
    (media_type.starts_with("image/") && !matches!(media_type, "image/svg+xml" | "image/x-icon"))
        || (media_type == "application/pdf" && text.trim().is_empty())
}

/// What the keyframes of a video show.
#[derive(Debug, Default)]
pub struct VideoFrames {
    /// The text on them, each distinct screen once, in order.
    pub text: String,
    /// How many frames were read.
    pub frames: usize,
    /// The middle frame as a PNG: the picture a vision model is shown.
    pub keyframe: Option<Vec<u8>>,
}

/// Largest side of a frame handed on: enough for screen text, and a bound
/// on what one frame costs.
const MAX_FRAME_SIDE: u32 = 1920;

/// Where to look for the frames of a video of `duration` seconds (None when
/// the container did not say): spread evenly over it, else from the start.
fn frame_times(duration: Option<f64>, frames: u32) -> Vec<f64> {
    let n = frames.max(1);
    match duration.filter(|d| d.is_finite() && *d > 0.0) {
        Some(d) => (0..n)
            .map(|i| d * (f64::from(i) + 0.5) / f64::from(n))
            .collect(),
        None => [0.0, 10.0, 60.0, 300.0, 1200.0, 3600.0]
            .into_iter()
            .take(n as usize)
            .collect(),
    }
}

/// Reads the keyframes of the video at `path`: for each time of
/// [`frame_times`], the keyframe at or before it, decoded alone (no frame
/// between keyframes is decoded), then read by Tesseract.
pub async fn read_video(
    config: &OcrConfig,
    path: &Path,
    duration: Option<f64>,
) -> Result<VideoFrames, OcrError> {
    let Some(ffmpeg) = &config.ffmpeg else {
        return Ok(VideoFrames::default());
    };
    let filter = tool_filter()?;
    let deadline = Instant::now() + config.timeout;
    let input = path.to_string_lossy();
    let duration = duration.filter(|d| d.is_finite() && *d > 0.0);
    let duration = match (duration, &config.ffprobe) {
        (Some(d), _) => Some(d),
        (None, Some(ffprobe)) => {
            let args = [
                "-v",
                "error",
                "-show_entries",
                "format=duration",
                "-of",
                "csv=p=0",
                &input,
            ];
            let out = run(ffprobe, &args, Vec::new(), 256, config, &filter, deadline).await?;
            String::from_utf8_lossy(&out).trim().parse().ok()
        }
        (None, None) => None,
    };
    let scale = format!("scale='min({MAX_FRAME_SIDE},iw)':-2");
    let mut frames = Vec::new();
    for at in frame_times(duration, config.video_frames) {
        let at = format!("{at:.3}");
        let args = [
            "-nostdin",
            "-v",
            "error",
            "-threads",
            "1",
            "-filter_threads",
            "1",
            // Seek to the keyframe before `at` and decode keyframes only.
            "-noaccurate_seek",
            "-ss",
            &at,
            "-skip_frame",
            "nokey",
            "-i",
            &input,
            "-frames:v",
            "1",
            "-an",
            "-vf",
            &scale,
            "-f",
            "image2pipe",
            "-c:v",
            "png",
            "-",
        ];
        let png = run(
            ffmpeg,
            &args,
            Vec::new(),
            MAX_IMAGE_BYTES,
            config,
            &filter,
            deadline,
        )
        .await?;
        // Past the end, or a container without pictures: no frame.
        if png.is_empty() {
            break;
        }
        // Keyframes far apart are often the same one.
        if frames.last() != Some(&png) {
            frames.push(png);
        }
    }
    let mut text = String::new();
    let mut seen = Vec::new();
    for frame in &frames {
        let screen = read_image(config, &filter, frame.clone(), deadline).await?;
        let screen = screen.trim();
        if screen.is_empty() || seen.iter().any(|s: &String| s == screen) {
            continue;
        }
        if !text.is_empty() {
            text.push_str("\n\n");
        }
        text.push_str(screen);
        seen.push(screen.to_string());
    }
    let count = frames.len();
    let keyframe = (count > 0).then(|| frames.swap_remove(count / 2));
    Ok(VideoFrames {
        text,
        frames: count,
        keyframe,
    })
}

/// The text OCR finds in the image or scanned PDF at `path` (`pages`: the
/// PDF's page count when known). Empty when there is none.
pub async fn recognize(
    config: &OcrConfig,
    path: &Path,
    media_type: &str,
    pages: Option<u32>,
) -> Result<String, OcrError> {
    let filter = tool_filter()?;
    let deadline = Instant::now() + config.timeout;
    if media_type != "application/pdf" {
        let image = tokio::fs::read(path).await?;
        return read_image(config, &filter, image, deadline).await;
    }
    let Some(pdftoppm) = &config.pdftoppm else {
        return Ok(String::new());
    };
    let document = tokio::fs::read(path).await?;
    let last = pages
        .unwrap_or(config.max_pages)
        .clamp(1, config.max_pages.max(1));
    let mut text = String::new();
    for page in 1..=last {
        let page = page.to_string();
        let args = [
            // Input on stdin, output on stdout (no output root).
            "-png",
            "-r",
            "200",
            "-gray",
            "-f",
            &page,
            "-l",
            &page,
            "-singlefile",
            "-",
        ];
        let image = run(
            pdftoppm,
            &args,
            document.clone(),
            MAX_IMAGE_BYTES,
            config,
            &filter,
            deadline,
        )
        .await?;
        if image.is_empty() {
            break;
        }
        let page_text = read_image(config, &filter, image, deadline).await?;
        if !page_text.trim().is_empty() {
            if !text.is_empty() {
                text.push_str("\n\n");
            }
            text.push_str(page_text.trim());
        }
    }
    Ok(text)
}

async fn read_image(
    config: &OcrConfig,
    filter: &BpfProgram,
    image: Vec<u8>,
    deadline: Instant,
) -> Result<String, OcrError> {
    let args = ["stdin", "stdout", "-l", config.languages.as_str()];
    let out = run(
        &config.tesseract,
        &args,
        image,
        MAX_TEXT_BYTES,
        config,
        filter,
        deadline,
    )
    .await?;
    Ok(tidy(&String::from_utf8_lossy(&out)))
}

/// OCR output has a line per printed line and form feeds between pages;
/// words split across lines and Chinese characters spaced apart are joined.
fn tidy(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    for line in raw.lines().map(str::trim) {
        if line.is_empty() {
            if !out.ends_with("\n\n") && !out.is_empty() {
                out.push_str("\n\n");
            }
            continue;
        }
        if !out.is_empty() && !out.ends_with('\n') {
            out.push('\n');
        }
        out.push_str(&join_cjk(line));
    }
    out.trim().replace('\u{c}', "")
}

/// Tesseract puts a space between every two Chinese characters.
fn join_cjk(line: &str) -> String {
    let chars: Vec<char> = line.chars().collect();
    let mut out = String::with_capacity(line.len());
    for (i, c) in chars.iter().enumerate() {
        if *c == ' '
            && i > 0
            && chars.get(i + 1).is_some_and(|n| graphfs_domain::is_cjk(*n))
            && graphfs_domain::is_cjk(chars[i - 1])
        {
            continue;
        }
        out.push(*c);
    }
    out
}

/// Runs a helper program confined: `input` on stdin, at most `limit` bytes
/// of stdout back.
async fn run(
    program: &Path,
    args: &[&str],
    input: Vec<u8>,
    limit: u64,
    config: &OcrConfig,
    filter: &BpfProgram,
    deadline: Instant,
) -> Result<Vec<u8>, OcrError> {
    let name = program
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let mut command = Command::new(program);
    command
        .args(args)
        .env_clear()
        // One thread: the tagger runs several files at once already.
        .env("OMP_THREAD_LIMIT", "1")
        .current_dir("/")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    let memory = config.memory_limit_bytes;
    let cpu = config.timeout.as_secs().max(1);
    let filter = filter.clone();
    // SAFETY: runs in the forked child before exec, where only
    // async-signal-safe calls are allowed: setrlimit, prctl and seccomp
    // (apply_filter only builds a struct on the stack around the filter,
    // which was built and copied before the fork).
    unsafe {
        command.pre_exec(move || {
            if memory > 0 && libc::setrlimit(libc::RLIMIT_AS, &rlimit(memory, memory)) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            if libc::setrlimit(libc::RLIMIT_CPU, &rlimit(cpu, cpu.saturating_add(1))) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            seccompiler::apply_filter(&filter).map_err(|e| std::io::Error::other(e.to_string()))
        });
    }
    let mut child = command.spawn().map_err(|e| OcrError::Tool {
        program: name.clone(),
        detail: format!("cannot start {}: {e}", program.display()),
    })?;
    let (stdin, stdout, stderr) = (child.stdin.take(), child.stdout.take(), child.stderr.take());
    let work = async {
        let feed = async {
            if let Some(mut stdin) = stdin {
                // The program may stop reading early; that is its answer.
                let _ = stdin.write_all(&input).await;
                let _ = stdin.shutdown().await;
            }
        };
        let out = read_bounded(stdout, limit);
        let err = read_bounded(stderr, MAX_STDERR_BYTES);
        let ((), out, err) = tokio::join!(feed, out, err);
        (child.wait().await, out, err)
    };
    let left = deadline.saturating_duration_since(Instant::now());
    let (status, out, err) = match tokio::time::timeout(left, work).await {
        Ok(done) => done,
        Err(_) => return Err(OcrError::Timeout),
    };
    let status = status?;
    if status.success() {
        return Ok(out);
    }
    let detail = String::from_utf8_lossy(&err);
    let detail = detail.trim().lines().last().unwrap_or_default().to_string();
    // pdftoppm past the last page: the document has no more pages.
    if name == "pdftoppm" && detail.contains("Wrong page range") {
        return Ok(Vec::new());
    }
    Err(OcrError::Tool {
        program: name,
        detail: if detail.is_empty() {
            format!("{status}")
        } else {
            detail
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_pictures_and_textless_pdfs_are_read() {
        assert!(wanted("image/png", ""));
        assert!(wanted("image/jpeg", ""));
        assert!(!wanted("image/svg+xml", ""));
        assert!(wanted("application/pdf", "  \n"));
        assert!(!wanted("application/pdf", "Invoice 42"));
        assert!(!wanted("text/plain", ""));
    }

    fn config() -> OcrConfig {
        OcrConfig::detect("eng").expect("the OCR tests need tesseract (tests/deps.sh installs it)")
    }

    fn far() -> Instant {
        Instant::now() + Duration::from_secs(60)
    }

    #[tokio::test]
    async fn a_scanned_image_and_a_scanned_pdf_are_read() {
        let cfg = config();
        let dir = tempfile::tempdir().unwrap();
        let png = dir.path().join("scan");
        std::fs::write(
            &png,
            crate::fixtures::scan_png("Quarterly invoice for project titan"),
        )
        .unwrap();
        let text = recognize(&cfg, &png, "image/png", None).await.unwrap();
        assert!(
            text.contains("invoice") && text.contains("titan"),
            "{text:?}"
        );

        let pdf = dir.path().join("letter");
        std::fs::write(
            &pdf,
            crate::fixtures::scanned_pdf("Glaciers carve valleys slowly"),
        )
        .unwrap();
        // The PDF itself holds no text: only OCR finds the words.
        let plain = crate::extract_file(
            &pdf,
            "letter.pdf",
            "application/pdf",
            &crate::Limits::default(),
        )
        .unwrap();
        assert_eq!(plain.media_type, "application/pdf");
        assert!(wanted(&plain.media_type, &plain.text), "{:?}", plain.text);
        let text = recognize(&cfg, &pdf, "application/pdf", Some(1))
            .await
            .unwrap();
        assert!(
            text.contains("Glaciers") && text.contains("valleys"),
            "{text:?}"
        );
        // Asking for more pages than there are stops at the last one.
        let again = recognize(&cfg, &pdf, "application/pdf", None)
            .await
            .unwrap();
        assert_eq!(again, text);
    }

    #[test]
    fn frames_are_spread_over_the_video() {
        assert_eq!(frame_times(Some(8.0), 4), [1.0, 3.0, 5.0, 7.0]);
        assert_eq!(frame_times(Some(8.0), 1), [4.0]);
        // Length unknown: from the start, further and further in.
        assert_eq!(frame_times(None, 3), [0.0, 10.0, 60.0]);
        assert_eq!(frame_times(Some(f64::NAN), 2), [0.0, 10.0]);
        assert_eq!(frame_times(Some(0.0), 0), [0.0]);
    }

    /// A screen recording of two slides: each slide's words come back once,
    /// in order, from its keyframes, and the middle frame is a PNG.
    #[tokio::test]
    async fn the_screens_of_a_recording_are_read() {
        let cfg = config();
        assert!(
            cfg.ffmpeg.is_some(),
            "the video tests need ffmpeg (tests/deps.sh installs it)"
        );
        assert!(cfg.reads_video("video/mp4") && !cfg.reads_video("audio/mpeg"));
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("talk");
        std::fs::write(
            &path,
            crate::fixtures::screen_recording(
                &["Harbor lighthouse maintenance", "Volcanic basalt columns"],
                None,
            ),
        )
        .unwrap();
        // A recording without sound is a video, not a malformed file.
        let plain =
            crate::extract_file(&path, "talk.mp4", "video/mp4", &crate::Limits::default()).unwrap();
        assert_eq!(plain.media_type, "video/mp4");
        let seen = read_video(&cfg, &path, Some(8.0)).await.unwrap();
        // Four looked for; keyframes that fall on the same one count once.
        assert!((2..=4).contains(&seen.frames), "{seen:?}");
        let (first, second) = (
            seen.text.find("lighthouse").expect(&seen.text),
            seen.text.find("basalt").expect(&seen.text),
        );
        assert!(first < second, "{:?}", seen.text);
        assert_eq!(
            seen.text.matches("lighthouse").count(),
            1,
            "{:?}",
            seen.text
        );
        assert!(seen.keyframe.unwrap().starts_with(b"\x89PNG"));
        // A length the extractor did not find is asked of ffprobe; without
        // ffprobe either, frames are looked for from the start, and those
        // past the end are not there.
        let probed = read_video(&cfg, &path, None).await.unwrap();
        assert_eq!(probed.text, seen.text);
        let blind = OcrConfig {
            ffprobe: None,
            ..cfg.clone()
        };
        let unknown = read_video(&blind, &path, None).await.unwrap();
        assert_eq!(unknown.frames, 1, "{unknown:?}");
        assert!(unknown.text.contains("lighthouse"), "{unknown:?}");
        // Not a video: an error, not a panic.
        let bad = dir.path().join("bad");
        std::fs::write(&bad, b"\0\0\0\x18ftypmp42 not really").unwrap();
        let got = read_video(&cfg, &bad, Some(3.0)).await;
        assert!(matches!(got, Err(OcrError::Tool { .. })), "{got:?}");
    }

    #[tokio::test]
    async fn a_picture_that_is_not_one_is_an_error_not_a_panic() {
        let cfg = config();
        let dir = tempfile::tempdir().unwrap();
        let bad = dir.path().join("bad");
        std::fs::write(&bad, b"\x89PNG\r\n\x1a\n not really").unwrap();
        let got = recognize(&cfg, &bad, "image/png", None).await;
        assert!(matches!(got, Err(OcrError::Tool { .. })), "{got:?}");
    }

    #[tokio::test]
    async fn helper_programs_may_read_but_not_write_connect_or_see_the_environment() {
        let cfg = config();
        let filter = tool_filter().unwrap();
        let bash = find_program("bash").expect("bash");
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("written");
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let script = format!(
            "read -r line < /etc/hostname && echo read-ok; \
             echo x > {} && echo write-ok; \
             exec 3<>/dev/tcp/127.0.0.1/{port} && echo connect-ok; \
             echo home=${{HOME:-none}}",
            target.display()
        );
        let out = run(
            &bash,
            &["-c", &script],
            Vec::new(),
            4096,
            &cfg,
            &filter,
            far(),
        )
        .await;
        let out = match out {
            Ok(o) => String::from_utf8_lossy(&o).into_owned(),
            Err(OcrError::Tool { detail, .. }) => detail,
            Err(e) => panic!("{e}"),
        };
        assert!(out.contains("read-ok"), "{out}");
        assert!(!out.contains("write-ok"), "{out}");
        assert!(!target.exists());
        assert!(!out.contains("connect-ok"), "{out}");
        // Nothing of this process's environment (HOME is set here).
        assert!(std::env::var_os("HOME").is_some());
        assert!(out.contains("home=none"), "{out}");
        listener.set_nonblocking(true).unwrap();
        assert!(listener.accept().is_err(), "a connection came through");
    }

    /// A screenshot of Chinese text, read with the default languages: the
    /// words come back whole, not one spaced character at a time.
    #[tokio::test]
    async fn a_chinese_screenshot_is_read() {
        let cfg = OcrConfig::detect("eng+chi_sim").expect("the OCR tests need tesseract");
        assert!(
            installed_languages(&cfg.tesseract)
                .unwrap()
                .contains(&"chi_sim".to_string()),
            "tesseract has no Chinese data (tests/deps.sh installs tesseract-ocr-chi-sim)"
        );
        let dir = tempfile::tempdir().unwrap();
        let png = dir.path().join("screenshot");
        std::fs::write(
            &png,
            crate::fixtures::rendered_png("天文望远镜项目\n缓慢地切割山谷"),
        )
        .unwrap();
        let text = recognize(&cfg, &png, "image/png", None).await.unwrap();
        assert!(text.contains("望远镜") && text.contains("山谷"), "{text:?}");
    }

    #[test]
    fn output_is_tidied() {
        assert_eq!(
            tidy("Quarterly invoice\n\n\nfor titan\n\u{c}"),
            "Quarterly invoice\n\nfor titan"
        );
        assert_eq!(tidy("用 户 密 码 and more"), "用户密码 and more");
    }
}
