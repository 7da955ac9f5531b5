//! Small, valid sample files of the formats GraphFS extracts (PDF, PNG,
//! JPEG with EXIF, WAV), built in code so tests carry no binary fixtures.
//! Shared by this crate's tests and the end-to-end suite (feature
//! `fixtures`).

/// A minimal one-page PDF showing `text` in standard Helvetica, with a correct xref table.
pub fn pdf(text: &str) -> Vec<u8> {
    let stream = format!("BT /F1 24 Tf 72 720 Td ({text}) Tj ET");
    pdf_document(&[
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R \
          /Resources << /Font << /F1 5 0 R >> >> >>"
            .to_vec(),
        stream_object("", stream.as_bytes()),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>".to_vec(),
    ])
}

/// A PDF whose objects 3.. are `objects` (object 3 the page), with a
/// catalog, a page tree, an info dictionary and a correct xref table.
fn pdf_document(objects: &[Vec<u8>]) -> Vec<u8> {
    let mut all = vec![
        b"<< /Type /Catalog /Pages 2 0 R >>".to_vec(),
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>".to_vec(),
    ];
    all.extend(objects.iter().cloned());
    all.push(b"<< /Title (Greeting Card) /Author (GraphFS Tests) >>".to_vec());
    let info = all.len();
    let mut out = b"%PDF-1.4\n".to_vec();
    let mut offsets = Vec::new();
    for (i, body) in all.iter().enumerate() {
        offsets.push(out.len());
        out.extend_from_slice(format!("{} 0 obj\n", i + 1).as_bytes());
        out.extend_from_slice(body);
        out.extend_from_slice(b"\nendobj\n");
    }
    let xref = out.len();
    let count = all.len() + 1;
    out.extend_from_slice(format!("xref\n0 {count}\n0000000000 65535 f \n").as_bytes());
    for offset in offsets {
        out.extend_from_slice(format!("{offset:010} 00000 n \n").as_bytes());
    }
    out.extend_from_slice(
        format!(
            "trailer\n<< /Size {count} /Root 1 0 R /Info {info} 0 R >>\nstartxref\n{xref}\n%%EOF\n"
        )
        .as_bytes(),
    );
    out
}

fn stream_object(dictionary: &str, data: &[u8]) -> Vec<u8> {
    let mut out = format!("<< {dictionary} /Length {} >>\nstream\n", data.len()).into_bytes();
    out.extend_from_slice(data);
    out.extend_from_slice(b"\nendstream");
    out
}

/// `text` printed on a page and scanned: [`pdf`] rendered to a PNG by
/// poppler's `pdftoppm` (which the OCR tests need anyway). No text layer.
pub fn scan_png(text: &str) -> Vec<u8> {
    pdftoppm(&pdf(text), &["-png", "-r", "150"])
}

/// A scanned letter: a PDF holding only a grey-scale picture of `text`, as a
/// scanner makes it, with no text layer for a PDF reader to find.
pub fn scanned_pdf(text: &str) -> Vec<u8> {
    let pgm = pdftoppm(&pdf(text), &["-gray", "-r", "150"]);
    let (width, height, pixels) = parse_pgm(&pgm).expect("pdftoppm -gray writes a binary PGM");
    pdf_document(&[
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R \
          /Resources << /XObject << /Im1 5 0 R >> >> >>"
            .to_vec(),
        stream_object("", b"q 612 0 0 792 0 0 cm /Im1 Do Q"),
        stream_object(
            &format!(
                "/Type /XObject /Subtype /Image /Width {width} /Height {height} \
                 /ColorSpace /DeviceGray /BitsPerComponent 8"
            ),
            pixels,
        ),
    ])
}

/// A screenshot of `text` in any script (Chinese included): black on white
/// in the WenQuanYi Micro Hei font, rendered by Pango's `pango-view` (Debian
/// `pango1.0-tools` and `fonts-wqy-microhei`; tests/deps.sh installs both).
pub fn rendered_png(text: &str) -> Vec<u8> {
    use std::sync::atomic::{AtomicU32, Ordering};
    static NEXT: AtomicU32 = AtomicU32::new(0);
    // pango-view writes only to a named file.
    let path = std::env::temp_dir().join(format!(
        "graphfs-fixture-{}-{}.png",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    ));
    let status = std::process::Command::new("pango-view")
        .args([
            "-q",
            "--font=WenQuanYi Micro Hei 28",
            "--dpi=150",
            "--margin=40",
            "--background=white",
            "--foreground=black",
        ])
        .arg(format!("--text={text}"))
        .arg("-o")
        .arg(&path)
        .status()
        .expect("the rendered fixtures need pango-view (Debian pango1.0-tools; tests/deps.sh installs it)");
    assert!(status.success(), "pango-view failed: {status}");
    let png = std::fs::read(&path).expect("pango-view wrote the picture");
    let _ = std::fs::remove_file(&path);
    png
}

/// A screen recording: each of `slides` rendered as [`rendered_png`] and
/// shown for three seconds, encoded by `ffmpeg` as H.264 in MP4 (Debian
/// `ffmpeg`; tests/deps.sh installs it), a keyframe every two seconds;
/// with `sound` (a WAV file), narrated: the sound in AAC beside it.
pub fn screen_recording(slides: &[&str], sound: Option<&[u8]>) -> Vec<u8> {
    use std::sync::atomic::{AtomicU32, Ordering};
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let dir = std::env::temp_dir().join(format!(
        "graphfs-recording-{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    ));
    std::fs::create_dir_all(&dir).expect("a folder for the frames");
    for (i, slide) in slides.iter().enumerate() {
        std::fs::write(dir.join(format!("s{i:03}.png")), rendered_png(slide))
            .expect("the slide is written");
    }
    let out = dir.join("recording.mp4");
    let mut ffmpeg = std::process::Command::new("ffmpeg");
    ffmpeg
        .args(["-nostdin", "-v", "error", "-y", "-framerate", "1/3", "-i"])
        .arg(dir.join("s%03d.png"));
    if let Some(wav) = sound {
        std::fs::write(dir.join("sound.wav"), wav).expect("the sound is written");
        ffmpeg
            .arg("-i")
            .arg(dir.join("sound.wav"))
            .args(["-c:a", "aac"]);
    }
    let status = ffmpeg
        .args([
            "-vf",
            // One size for all slides; the last one shown as long as the rest.
            "scale=1280:720:force_original_aspect_ratio=decrease,\
             pad=1280:720:(ow-iw)/2:(oh-ih)/2:white,format=yuv420p,\
             tpad=stop_mode=clone:stop_duration=3",
            "-r",
            "5",
            "-c:v",
            "libx264",
            "-g",
            "10",
        ])
        .arg(&out)
        .status()
        .expect("the recording fixture needs ffmpeg (Debian ffmpeg; tests/deps.sh installs it)");
    assert!(status.success(), "ffmpeg failed: {status}");
    let mp4 = std::fs::read(&out).expect("ffmpeg wrote the recording");
    let _ = std::fs::remove_dir_all(&dir);
    mp4
}

fn pdftoppm(pdf: &[u8], args: &[&str]) -> Vec<u8> {
    use std::io::Write;
    let mut child = std::process::Command::new("pdftoppm")
        .args(args)
        .args(["-singlefile", "-"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect(
            "the scan fixtures need pdftoppm (Debian poppler-utils; tests/deps.sh installs it)",
        );
    child
        .stdin
        .take()
        .expect("stdin is piped")
        .write_all(pdf)
        .expect("pdftoppm reads the PDF");
    let out = child.wait_with_output().expect("pdftoppm runs");
    assert!(out.status.success(), "pdftoppm failed: {}", out.status);
    out.stdout
}

/// Width, height and pixels of a binary 8-bit PGM (`P5`).
fn parse_pgm(pgm: &[u8]) -> Option<(usize, usize, &[u8])> {
    // Header: magic, width, height, maximum value, each after white space.
    let mut fields = Vec::new();
    let mut at = 0;
    while fields.len() < 4 {
        while pgm.get(at)?.is_ascii_whitespace() {
            at += 1;
        }
        let start = at;
        while !pgm.get(at)?.is_ascii_whitespace() {
            at += 1;
        }
        fields.push(std::str::from_utf8(&pgm[start..at]).ok()?);
    }
    let (width, height) = (fields[1].parse().ok()?, fields[2].parse().ok()?);
    let pixels = pgm.get(at + 1..at + 1 + width * height)?;
    (fields[0] == "P5" && fields[3] == "255").then_some((width, height, pixels))
}

pub fn png(width: u32, height: u32) -> Vec<u8> {
    let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
    out.extend_from_slice(&13u32.to_be_bytes());
    out.extend_from_slice(b"IHDR");
    out.extend_from_slice(&width.to_be_bytes());
    out.extend_from_slice(&height.to_be_bytes());
    out.extend_from_slice(&[8, 2, 0, 0, 0]);
    out.extend_from_slice(&[0, 0, 0, 0]); // CRC, not checked by readers of the header
    out
}

/// A JPEG with an EXIF block (Make, Orientation) and a frame header giving its size.
pub fn jpeg_with_exif() -> Vec<u8> {
    let mut tiff = b"II\x2a\x00\x08\x00\x00\x00".to_vec();
    tiff.extend_from_slice(&2u16.to_le_bytes()); // two IFD entries
    let data_offset = 8 + 2 + 2 * 12 + 4;
    // Make: ASCII, 6 bytes, stored after the IFD.
    tiff.extend_from_slice(&0x010Fu16.to_le_bytes());
    tiff.extend_from_slice(&2u16.to_le_bytes());
    tiff.extend_from_slice(&6u32.to_le_bytes());
    tiff.extend_from_slice(&(data_offset as u32).to_le_bytes());
    // Orientation: SHORT 6, inline.
    tiff.extend_from_slice(&0x0112u16.to_le_bytes());
    tiff.extend_from_slice(&3u16.to_le_bytes());
    tiff.extend_from_slice(&1u32.to_le_bytes());
    tiff.extend_from_slice(&[6, 0, 0, 0]);
    tiff.extend_from_slice(&0u32.to_le_bytes()); // no next IFD
    tiff.extend_from_slice(b"Canon\0");

    let mut out = vec![0xFF, 0xD8];
    let app1_len = 2 + 6 + tiff.len();
    out.extend_from_slice(&[0xFF, 0xE1]);
    out.extend_from_slice(&(app1_len as u16).to_be_bytes());
    out.extend_from_slice(b"Exif\0\0");
    out.extend_from_slice(&tiff);
    // SOF0: precision 8, 480 x 640, three components.
    out.extend_from_slice(&[0xFF, 0xC0, 0x00, 0x11, 0x08]);
    out.extend_from_slice(&480u16.to_be_bytes());
    out.extend_from_slice(&640u16.to_be_bytes());
    out.extend_from_slice(&[3, 1, 0x22, 0, 2, 0x11, 1, 3, 0x11, 1]);
    out.extend_from_slice(&[0xFF, 0xD9]);
    out
}

/// One second of 16-bit mono silence at 8 kHz.
pub fn wav() -> Vec<u8> {
    let (rate, channels, bits) = (8000u32, 1u16, 16u16);
    let data_len = rate * u32::from(channels) * u32::from(bits / 8);
    let mut out = b"RIFF".to_vec();
    out.extend_from_slice(&(36 + data_len).to_le_bytes());
    out.extend_from_slice(b"WAVEfmt ");
    out.extend_from_slice(&16u32.to_le_bytes());
    out.extend_from_slice(&1u16.to_le_bytes()); // PCM
    out.extend_from_slice(&channels.to_le_bytes());
    out.extend_from_slice(&rate.to_le_bytes());
    out.extend_from_slice(&(rate * u32::from(channels) * u32::from(bits / 8)).to_le_bytes());
    out.extend_from_slice(&(channels * bits / 8).to_le_bytes());
    out.extend_from_slice(&bits.to_le_bytes());
    out.extend_from_slice(b"data");
    out.extend_from_slice(&data_len.to_le_bytes());
    out.resize(out.len() + data_len as usize, 0);
    out
}
