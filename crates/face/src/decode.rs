//! Decoding photos and frames into RGB, safely.
//!
//! Accepts JPEG, PNG, WebP and BMP in any pixel format (grayscale, RGBA, 16-bit), applies the EXIF
//! orientation, and refuses decompression bombs by their declared size before any pixel is
//! decoded.

use std::io::Cursor;
use std::path::Path;

use image::{DynamicImage, ImageDecoder, ImageFormat, ImageReader, RgbImage};
use serde::{Deserialize, Serialize};

use crate::error::{FaceError, ImageError, Result};

/// Limits applied to every decoded image.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DecodeLimits {
    /// Largest accepted image, in megapixels (width × height / 10⁶). Default 50.
    pub max_megapixels: u32,
    /// Smallest accepted side, px. Default 32: no face fits in less.
    pub min_side: u32,
    /// Largest image file read, MB (10⁶ bytes): a bigger file is refused before it is read.
    /// Default 64.
    pub max_file_mb: u32,
}

impl Default for DecodeLimits {
    fn default() -> Self {
        Self {
            max_megapixels: 50,
            min_side: 32,
            max_file_mb: 64,
        }
    }
}

/// Reads and decodes an image file.
pub fn decode_file(path: &Path, limits: DecodeLimits) -> Result<RgbImage> {
    decode(&read_file(path, limits)?, limits)
}

/// Reads an image file whole, after checking its size against `limits.max_file_mb`.
pub fn read_file(path: &Path, limits: DecodeLimits) -> Result<Vec<u8>> {
    let len = std::fs::metadata(path)
        .map_err(|e| FaceError::io(path, e))?
        .len();
    let max = u64::from(limits.max_file_mb) * 1_000_000;
    if len > max {
        return Err(FaceError::Image(ImageError::FileTooLarge {
            bytes: len,
            limit_mb: limits.max_file_mb,
        }));
    }
    std::fs::read(path).map_err(|e| FaceError::io(path, e))
}

/// Decodes an encoded image (JPEG, PNG, WebP, BMP) into 8-bit RGB, upright.
pub fn decode(bytes: &[u8], limits: DecodeLimits) -> Result<RgbImage> {
    Ok(decode_image(bytes, limits)?)
}

fn decode_image(bytes: &[u8], limits: DecodeLimits) -> std::result::Result<RgbImage, ImageError> {
    if bytes.is_empty() {
        return Err(ImageError::Empty);
    }
    let format = image::guess_format(bytes).map_err(|_| {
        ImageError::UnsupportedFormat("the content is not a known image format".into())
    })?;
    if !matches!(
        format,
        ImageFormat::Jpeg | ImageFormat::Png | ImageFormat::WebP | ImageFormat::Bmp
    ) {
        return Err(ImageError::UnsupportedFormat(format!("{format:?}")));
    }
    if format == ImageFormat::Jpeg && !jpeg_is_complete(bytes) {
        // The JPEG decoder fills missing data with grey instead of failing: a truncated upload
        // would otherwise be judged as a (partly grey) photo.
        return Err(ImageError::Corrupt(
            "the JPEG data stops before its end marker (the file is truncated)".into(),
        ));
    }
    let mut reader = ImageReader::with_format(Cursor::new(bytes), format);
    let max_pixels = u64::from(limits.max_megapixels) * 1_000_000;
    let mut codec_limits = image::Limits::default();
    // A second guard inside the codecs: no allocation beyond what the pixel limit allows (RGBA16).
    codec_limits.max_alloc = Some(max_pixels.saturating_mul(8).max(1 << 20));
    reader.limits(codec_limits);
    let mut decoder = reader.into_decoder().map_err(header_error)?;
    let (width, height) = decoder.dimensions();
    let pixels = u64::from(width) * u64::from(height);
    if pixels > max_pixels {
        return Err(ImageError::TooLarge {
            width,
            height,
            megapixels: pixels as f64 / 1e6,
            limit_megapixels: limits.max_megapixels,
        });
    }
    if width < limits.min_side || height < limits.min_side {
        return Err(ImageError::TooSmall {
            width,
            height,
            min: limits.min_side,
        });
    }
    // A broken EXIF block must not cost the photo: treat it as upright.
    let orientation = decoder
        .orientation()
        .unwrap_or(image::metadata::Orientation::NoTransforms);
    let mut img = DynamicImage::from_decoder(decoder).map_err(pixel_error)?;
    img.apply_orientation(orientation);
    Ok(match img {
        DynamicImage::ImageRgb8(rgb) => rgb,
        other => other.to_rgb8(),
    })
}

/// True when a JPEG has an end-of-image marker after its first scan. The header segments are
/// walked by their lengths (so bytes inside EXIF data or a thumbnail are never mistaken for
/// markers); inside entropy-coded data every 0xFF is followed by 0x00 or a restart marker, so
/// 0xFF 0xD9 after the first start-of-scan is the real end.
fn jpeg_is_complete(bytes: &[u8]) -> bool {
    let mut i = 2; // after SOI
    while i + 4 <= bytes.len() {
        if bytes[i] != 0xFF {
            return false;
        }
        let marker = bytes[i + 1];
        if marker == 0xFF {
            i += 1; // fill byte
            continue;
        }
        let len = usize::from(u16::from_be_bytes([bytes[i + 2], bytes[i + 3]]));
        if marker == 0xDA {
            let scan = i + 2 + len;
            return bytes
                .get(scan..)
                .is_some_and(|rest| rest.windows(2).any(|w| w == [0xFF, 0xD9]));
        }
        i += 2 + len;
    }
    false
}

fn header_error(e: image::ImageError) -> ImageError {
    match e {
        image::ImageError::Unsupported(u) => ImageError::UnsupportedFormat(u.to_string()),
        image::ImageError::Limits(l) => {
            ImageError::Corrupt(format!("over the decoder's limits: {l}"))
        }
        other => ImageError::Corrupt(other.to_string()),
    }
}

fn pixel_error(e: image::ImageError) -> ImageError {
    match e {
        image::ImageError::Unsupported(u) => ImageError::UnsupportedFormat(u.to_string()),
        other => ImageError::Corrupt(other.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::{ImageBuffer, Luma, Rgba};

    fn encode(img: &DynamicImage, format: ImageFormat) -> Vec<u8> {
        let mut out = Cursor::new(Vec::new());
        img.write_to(&mut out, format).unwrap();
        out.into_inner()
    }

    fn gradient(w: u32, h: u32) -> RgbImage {
        RgbImage::from_fn(w, h, |x, y| {
            image::Rgb([(x % 256) as u8, (y % 256) as u8, 128])
        })
    }

    #[test]
    fn zero_bytes_is_empty() {
        assert!(matches!(
            decode_image(&[], DecodeLimits::default()),
            Err(ImageError::Empty)
        ));
    }

    #[test]
    fn text_is_not_an_image() {
        let err =
            decode_image(b"hello, this is not a JPEG\n", DecodeLimits::default()).unwrap_err();
        assert!(matches!(err, ImageError::UnsupportedFormat(_)), "{err}");
    }

    #[test]
    fn png_jpeg_webp_bmp_decode_to_rgb() {
        let img = DynamicImage::ImageRgb8(gradient(64, 48));
        for format in [
            ImageFormat::Png,
            ImageFormat::Jpeg,
            ImageFormat::WebP,
            ImageFormat::Bmp,
        ] {
            let rgb = decode_image(&encode(&img, format), DecodeLimits::default()).unwrap();
            assert_eq!(rgb.dimensions(), (64, 48), "{format:?}");
        }
    }

    #[test]
    fn grayscale_rgba_and_16_bit_become_rgb() {
        let gray =
            DynamicImage::ImageLuma8(ImageBuffer::from_fn(40, 40, |x, _| Luma([x as u8 * 5])));
        let rgba =
            DynamicImage::ImageRgba8(ImageBuffer::from_fn(40, 40, |_, _| Rgba([10, 20, 30, 0])));
        let deep = DynamicImage::ImageRgb16(ImageBuffer::from_fn(40, 40, |_, _| {
            image::Rgb([65535u16, 0, 32768])
        }));
        for img in [gray, rgba, deep] {
            let rgb =
                decode_image(&encode(&img, ImageFormat::Png), DecodeLimits::default()).unwrap();
            assert_eq!(rgb.dimensions(), (40, 40));
        }
    }

    #[test]
    fn a_jpeg_cut_anywhere_is_incomplete() {
        let img = DynamicImage::ImageRgb8(gradient(64, 48));
        let full = encode(&img, ImageFormat::Jpeg);
        assert!(jpeg_is_complete(&full));
        for cut in (0..full.len() - 1).step_by(7) {
            assert!(!jpeg_is_complete(&full[..cut]), "cut at {cut}");
        }
    }

    #[test]
    fn one_pixel_is_too_small() {
        let img = DynamicImage::ImageRgb8(gradient(1, 1));
        let err =
            decode_image(&encode(&img, ImageFormat::Png), DecodeLimits::default()).unwrap_err();
        assert!(
            matches!(
                err,
                ImageError::TooSmall {
                    width: 1,
                    height: 1,
                    ..
                }
            ),
            "{err}"
        );
    }

    #[test]
    fn over_the_pixel_limit_is_refused_before_decoding() {
        let img = DynamicImage::ImageRgb8(gradient(1200, 1000));
        let limits = DecodeLimits {
            max_megapixels: 1,
            ..DecodeLimits::default()
        };
        let err = decode_image(&encode(&img, ImageFormat::Png), limits).unwrap_err();
        assert!(
            matches!(
                err,
                ImageError::TooLarge {
                    width: 1200,
                    height: 1000,
                    ..
                }
            ),
            "{err}"
        );
    }
}
