//! Property tests of image decoding: random bytes, and real JPEG and PNG files with bytes
//! changed or cut off, decode to an image within the limits or to a clear error — never a
//! panic, never a grey half-image from a truncated JPEG.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use facekiosk_face::decode::{DecodeLimits, decode};
use image::{Rgb, RgbImage};
use proptest::prelude::*;

fn encoded(format: image::ImageFormat) -> Vec<u8> {
    let img = RgbImage::from_fn(64, 48, |x, y| Rgb([(x * 4) as u8, (y * 5) as u8, 90]));
    let mut out = Vec::new();
    img.write_to(&mut std::io::Cursor::new(&mut out), format)
        .unwrap();
    out
}

fn check(bytes: &[u8]) {
    let limits = DecodeLimits {
        max_megapixels: 4,
        ..DecodeLimits::default()
    };
    if let Ok(img) = decode(bytes, limits) {
        let px = u64::from(img.width()) * u64::from(img.height());
        assert!(px <= 4_000_000);
        assert!(img.width() >= limits.min_side && img.height() >= limits.min_side);
    }
}

fn mutated(base: Vec<u8>) -> impl Strategy<Value = Vec<u8>> {
    let len = base.len();
    (
        proptest::collection::vec((0..len, any::<u8>()), 0..10),
        1..=len,
    )
        .prop_map(move |(edits, cut)| {
            let mut b = base.clone();
            for (at, v) in edits {
                b[at] = v;
            }
            b.truncate(cut);
            b
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

    #[test]
    fn random_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..4096)) {
        check(&bytes);
    }

    #[test]
    fn a_damaged_jpeg(bytes in mutated(encoded(image::ImageFormat::Jpeg))) {
        check(&bytes);
    }

    #[test]
    fn a_damaged_png(bytes in mutated(encoded(image::ImageFormat::Png))) {
        check(&bytes);
    }

    #[test]
    fn a_truncated_jpeg_is_refused(cut in 100usize..1000) {
        let full = encoded(image::ImageFormat::Jpeg);
        let cut = cut.min(full.len() - 2);
        prop_assert!(decode(&full[..cut], DecodeLimits::default()).is_err());
    }
}

#[test]
fn a_file_over_the_size_cap_is_refused_before_it_is_read() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("huge.jpg");
    let mut bytes = encoded(image::ImageFormat::Jpeg);
    bytes.resize(1_500_000, 0);
    std::fs::write(&path, bytes).unwrap();
    let limits = DecodeLimits {
        max_file_mb: 1,
        ..DecodeLimits::default()
    };
    let err = facekiosk_face::decode::decode_file(&path, limits).unwrap_err();
    assert!(err.to_string().contains("the limit is 1 MB"), "{err}");
}
