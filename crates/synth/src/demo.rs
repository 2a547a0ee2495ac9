//! The demo's inputs, made from the built-in test photo (the NASA astronaut portrait): a clip
//! of a few frames with the face too far away, then the face well framed with a little
//! movement, and an ID-photo-sized crop of the same photo. `facekiosk demo` and the kiosk app's
//! tests play the clip through a video source; a still photo cannot blink or turn its head, so
//! sessions on it run in `attended` mode. [`id_card_frame`] draws an ID card held up to the
//! camera, for walk-in sessions, and [`qr_code_frame`] draws a session's QR code held up
//! to the camera, for the tests of scanning it.

use facekiosk_face::resample::resize;
use image::{Rgb, RgbImage};

/// The built-in test photo.
pub const PHOTO: &[u8] = include_bytes!("../../../tests/data/astronaut.jpg");

/// Frames per second of the demo clip.
pub const FPS: u32 = 15;

fn canvas(i: u32) -> RgbImage {
    // A soft studio background that changes a little from frame to frame, as a camera's would.
    RgbImage::from_fn(640, 480, |x, y| {
        let v = 150 + ((x / 8 + y / 8 + i) % 24) as u8;
        Rgb([v, v.saturating_sub(6), v.saturating_sub(14)])
    })
}

/// The clip's frames: 8 with the face too far, then 22 well framed, moving by a pixel or two.
pub fn clip_frames(photo: &RgbImage) -> Vec<RgbImage> {
    let mut frames = Vec::new();
    let far = resize(photo, 360, 360);
    for i in 0..8 {
        let mut f = canvas(i);
        image::imageops::overlay(&mut f, &far, 140, 100);
        frames.push(f);
    }
    let head = image::imageops::crop_imm(photo, 100, 0, 320, 360).to_image();
    let near = resize(&head, 400, 450);
    for i in 0..22u32 {
        let mut f = canvas(i + 8);
        let (dx, dy) = ((i % 5) as i64 - 2, (i % 3) as i64 - 1);
        image::imageops::overlay(&mut f, &near, 120 + dx, 15 + dy);
        frames.push(f);
    }
    frames
}

/// An ID-photo-sized crop (35×45 mm at ~110 dpi): a different picture of the same face.
pub fn id_photo(photo: &RgbImage) -> RgbImage {
    resize(
        &image::imageops::crop_imm(photo, 130, 20, 190, 240).to_image(),
        152,
        192,
    )
}

/// A 640×480 camera frame with an ID card held up in it (the [`id_photo`] on its left, grey
/// bars for its text), moving a pixel or two with `i`; without `photo`, the background alone:
/// what staff show the kiosk's camera to start a walk-in session.
pub fn id_card_frame(photo: Option<&RgbImage>, i: u32) -> RgbImage {
    let mut img = canvas(i);
    let Some(photo) = photo else {
        return img;
    };
    let (ox, oy) = (100 + i % 3, 90 + i % 2);
    let card = RgbImage::from_fn(440, 290, |x, y| {
        // Text lines on the right of the photo.
        let line = x > 250 && x < 420 && (y % 40) > 28 && y > 40 && y < 250;
        if line {
            Rgb([90, 96, 110])
        } else {
            Rgb([236, 238, 242])
        }
    });
    image::imageops::overlay(&mut img, &card, i64::from(ox), i64::from(oy));
    let face = resize(&id_photo(photo), 200, 252);
    image::imageops::overlay(&mut img, &face, i64::from(ox) + 24, i64::from(oy) + 19);
    img
}

/// A 640×480 camera frame with `text` as a QR code (6 px a module, with its quiet zone) held up
/// in it, moving a pixel or two with `i`; without `text`, the background alone.
pub fn qr_code_frame(text: Option<&str>, i: u32) -> RgbImage {
    let mut img = RgbImage::from_fn(640, 480, |x, y| {
        let v = 120 + ((x / 16 + y / 16 + i) % 30) as u8;
        Rgb([v, v, v.saturating_sub(10)])
    });
    let Some(code) = text.and_then(|t| qrcode::QrCode::new(t.as_bytes()).ok()) else {
        return img;
    };
    let n = code.width() as u32;
    let px = 6;
    let quiet = 4 * px;
    let side = n * px + 2 * quiet;
    let (ox, oy) = (200 + i % 3, 60);
    let colors = code.to_colors();
    for y in 0..side {
        for x in 0..side {
            let inside = |v: u32| v >= quiet && v < quiet + n * px;
            let dark = inside(x)
                && inside(y)
                && colors[((y - quiet) / px * n + (x - quiet) / px) as usize]
                    == qrcode::Color::Dark;
            let v = if dark { 20 } else { 235 };
            if ox + x < 640 && oy + y < 480 {
                img.put_pixel(ox + x, oy + y, Rgb([v, v, v]));
            }
        }
    }
    img
}
