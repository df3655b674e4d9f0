//! Previews of shared images, made by the server (a client's thumbnail is not trusted), with the
//! `image` crate under explicit limits: an image larger than `files.image_max_pixels` is refused
//! from its header before anything is decoded, and the decoder's allocations are bounded too, so a
//! decompression bomb (a small file that claims a huge image) costs nothing.

use std::io::Cursor;

use image::{ImageFormat, ImageReader, Limits};

/// The longest side of a preview, in pixels.
pub const PREVIEW_SIDE: u32 = 320;
/// Images larger than this (in bytes) get no preview: decoding reads the whole file into memory.
pub const PREVIEW_SOURCE_MAX_BYTES: u64 = 32 * 1024 * 1024;

#[derive(Debug, PartialEq, Eq)]
pub enum PreviewError {
    /// More pixels than allowed: a possible decompression bomb.
    TooLarge { width: u32, height: u32 },
    /// Not decodable (a truncated or corrupt image): the file is kept, without a preview.
    Undecodable,
}

pub struct Preview {
    /// PNG.
    pub bytes: Vec<u8>,
    pub width: u32,
    pub height: u32,
}

/// The size an image's header claims, if `head` (its first bytes) holds enough of it.
pub fn dimensions(head: &[u8]) -> Option<(u32, u32)> {
    ImageReader::new(Cursor::new(head))
        .with_guessed_format()
        .ok()?
        .into_dimensions()
        .ok()
}

/// Refuses a claimed size over `max_pixels`.
pub fn check_pixels(width: u32, height: u32, max_pixels: u64) -> Result<(), PreviewError> {
    if u64::from(width) * u64::from(height) > max_pixels {
        return Err(PreviewError::TooLarge { width, height });
    }
    Ok(())
}

/// Decodes `bytes` within the limits and makes a preview of at most [`PREVIEW_SIDE`] pixels a side.
/// Blocking: run it off the runtime's threads.
pub fn make(bytes: &[u8], max_pixels: u64) -> Result<Preview, PreviewError> {
    let (width, height) = dimensions(bytes).ok_or(PreviewError::Undecodable)?;
    check_pixels(width, height, max_pixels)?;
    let mut reader = ImageReader::new(Cursor::new(bytes))
        .with_guessed_format()
        .map_err(|_| PreviewError::Undecodable)?;
    let side = u32::try_from(max_pixels).unwrap_or(u32::MAX);
    let mut limits = Limits::default();
    limits.max_image_width = Some(side);
    limits.max_image_height = Some(side);
    // Room for the image in RGBA with 16 bits a channel, and no more.
    limits.max_alloc = Some(max_pixels.saturating_mul(8).max(1 << 20));
    reader.limits(limits);
    let image = contained(|| reader.decode())
        .ok_or(PreviewError::Undecodable)?
        .map_err(|e| match e {
            image::ImageError::Limits(_) => PreviewError::TooLarge { width, height },
            _ => PreviewError::Undecodable,
        })?;
    let small = image.thumbnail(PREVIEW_SIDE, PREVIEW_SIDE);
    let mut out = Cursor::new(Vec::new());
    small
        .write_to(&mut out, ImageFormat::Png)
        .map_err(|_| PreviewError::Undecodable)?;
    Ok(Preview {
        bytes: out.into_inner(),
        width,
        height,
    })
}

thread_local! {
    static CONTAINING: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Runs a decoder, and takes a panic in it for an undecodable image (None). The decoders are not
/// ours: the fuzzer found zune-jpeg 0.5.15 (the newest) failing an assertion in its AVX2
/// upsampler on a 293-byte JPEG (fuzz/corpus/files/regression-jpeg-upsampler-panic). An upload
/// must then be kept without a preview, not answered 500.
fn contained<T>(decode: impl FnOnce() -> T) -> Option<T> {
    CONTAINING.with(|c| c.set(true));
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(decode));
    CONTAINING.with(|c| c.set(false));
    match result {
        Ok(v) => Some(v),
        Err(_) => {
            tracing::warn!("the image decoder panicked on an upload; it is kept without a preview");
            None
        }
    }
}

/// Whether this thread is inside a decoder whose panic is contained: for a panic hook that must
/// let that one unwind (the fuzz target's, which aborts on any other).
pub fn containing_a_decoder() -> bool {
    CONTAINING.with(|c| c.get())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn png(width: u32, height: u32) -> Vec<u8> {
        let img = image::RgbImage::from_pixel(width, height, image::Rgb([200, 30, 30]));
        let mut out = Cursor::new(Vec::new());
        img.write_to(&mut out, ImageFormat::Png).unwrap();
        out.into_inner()
    }

    #[test]
    fn a_preview_is_small_and_keeps_the_size_of_the_original() {
        let p = make(&png(1000, 500), 10_000_000).expect("preview");
        assert_eq!((p.width, p.height), (1000, 500));
        let small = image::load_from_memory(&p.bytes).unwrap();
        assert_eq!(
            (small.width(), small.height()),
            (PREVIEW_SIDE, PREVIEW_SIDE / 2)
        );
    }

    #[test]
    fn too_many_pixels_are_refused_before_decoding() {
        let bomb = png(3000, 3000);
        assert_eq!(
            dimensions(&bomb[..64]),
            Some((3000, 3000)),
            "the header says"
        );
        assert!(matches!(
            make(&bomb, 1_000_000),
            Err(PreviewError::TooLarge {
                width: 3000,
                height: 3000
            })
        ));
        assert!(matches!(
            make(b"\x89PNG\r\n\x1a\nnot really", 1_000_000),
            Err(PreviewError::Undecodable)
        ));
    }

    /// Found by the fuzzer: this JPEG makes zune-jpeg's AVX2 upsampler fail an assertion. The
    /// preview is refused as undecodable; nothing panics out of `make`.
    #[test]
    fn a_decoder_panic_is_an_undecodable_image() {
        // The fuzz input is the upload's name, a NUL, then the file.
        let input = include_bytes!("../../../../fuzz/corpus/files/regression-jpeg-upsampler-panic");
        let nul = input
            .iter()
            .position(|b| *b == 0)
            .expect("a name, then the file");
        let jpeg = &input[nul + 1..];
        assert!(matches!(
            make(jpeg, 10_000_000),
            Err(PreviewError::Undecodable) | Ok(_)
        ));
    }
}
