//! YUV to RGB: Y4M files (planar 4:2:0, 4:2:2, 4:4:4, mono) and YUYV camera frames (packed
//! 4:2:2). BT.601 limited range, as cameras and Y4M files use.

use std::io::{BufRead, Read};

use image::RgbImage;

/// BT.601 limited-range YCbCr to RGB, integer arithmetic.
#[inline]
pub fn ycbcr_to_rgb(y: u8, cb: u8, cr: u8) -> [u8; 3] {
    let c = i32::from(y) - 16;
    let d = i32::from(cb) - 128;
    let e = i32::from(cr) - 128;
    let clip = |v: i32| (v >> 8).clamp(0, 255) as u8;
    [
        clip(298 * c + 409 * e + 128),
        clip(298 * c - 100 * d - 208 * e + 128),
        clip(298 * c + 516 * d + 128),
    ]
}

/// Converts a packed YUYV (Y0 U Y1 V) frame; `None` when the buffer is too short.
pub fn yuyv_to_rgb(buf: &[u8], width: u32, height: u32) -> Option<RgbImage> {
    let needed = width as usize * height as usize * 2;
    if buf.len() < needed || !width.is_multiple_of(2) {
        return None;
    }
    let mut out = Vec::with_capacity(width as usize * height as usize * 3);
    for quad in buf[..needed].chunks_exact(4) {
        out.extend_from_slice(&ycbcr_to_rgb(quad[0], quad[1], quad[3]));
        out.extend_from_slice(&ycbcr_to_rgb(quad[2], quad[1], quad[3]));
    }
    RgbImage::from_raw(width, height, out)
}

/// Chroma subsampling of a Y4M stream.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Chroma {
    /// 4:2:0.
    C420,
    /// 4:2:2.
    C422,
    /// 4:4:4.
    C444,
    /// Luma only.
    Mono,
}

/// A Y4M stream's header.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Y4mFormat {
    /// Width, px.
    pub width: u32,
    /// Height, px.
    pub height: u32,
    /// Frames per second, when given.
    pub fps: Option<f32>,
    /// Subsampling.
    pub chroma: Chroma,
}

impl Y4mFormat {
    /// Parses the `YUV4MPEG2 …` header line.
    pub fn read_header(r: &mut impl BufRead, max_megapixels: u32) -> Result<Self, String> {
        let mut line = Vec::new();
        r.take(1024)
            .read_until(b'\n', &mut line)
            .map_err(|e| e.to_string())?;
        let line = String::from_utf8_lossy(&line);
        let mut parts = line.split_whitespace();
        if parts.next() != Some("YUV4MPEG2") {
            return Err("not a Y4M stream".to_owned());
        }
        let (mut width, mut height, mut fps, mut chroma) = (0u32, 0u32, None, Chroma::C420);
        for p in parts {
            let mut chars = p.chars();
            let tag = chars.next().unwrap_or(' ');
            let value = chars.as_str();
            match tag {
                'W' => width = value.parse().map_err(|_| format!("bad width `{value}`"))?,
                'H' => height = value.parse().map_err(|_| format!("bad height `{value}`"))?,
                'F' => {
                    let (n, d) = value
                        .split_once(':')
                        .ok_or_else(|| format!("bad frame rate `{value}`"))?;
                    let (n, d): (f32, f32) = (n.parse().unwrap_or(0.0), d.parse().unwrap_or(0.0));
                    if n > 0.0 && d > 0.0 {
                        fps = Some(n / d);
                    }
                }
                'C' => {
                    chroma = match value {
                        "420" | "420jpeg" | "420paldv" | "420mpeg2" => Chroma::C420,
                        "422" => Chroma::C422,
                        "444" => Chroma::C444,
                        "mono" => Chroma::Mono,
                        other => {
                            return Err(format!(
                                "Y4M colour space `{other}` is not supported (8-bit 420, 422, 444, mono)"
                            ));
                        }
                    }
                }
                _ => {}
            }
        }
        if width == 0 || height == 0 || width > 16384 || height > 16384 {
            return Err(format!("bad frame size {width}x{height}"));
        }
        if u64::from(width) * u64::from(height) > u64::from(max_megapixels) * 1_000_000 {
            return Err(format!(
                "frames of {width}x{height} are over the limit of {max_megapixels} MP"
            ));
        }
        Ok(Self {
            width,
            height,
            fps,
            chroma,
        })
    }

    fn chroma_size(&self) -> (usize, usize) {
        let (w, h) = (self.width as usize, self.height as usize);
        match self.chroma {
            Chroma::C420 => (w.div_ceil(2), h.div_ceil(2)),
            Chroma::C422 => (w.div_ceil(2), h),
            Chroma::C444 => (w, h),
            Chroma::Mono => (0, 0),
        }
    }

    /// Reads the next frame's planes; `Ok(None)` at the end of the stream.
    pub fn read_frame(&self, r: &mut impl BufRead) -> Result<Option<Vec<u8>>, String> {
        let mut line = Vec::new();
        let n = r
            .take(1024)
            .read_until(b'\n', &mut line)
            .map_err(|e| e.to_string())?;
        if n == 0 {
            return Ok(None);
        }
        if !line.starts_with(b"FRAME") {
            return Err("missing FRAME marker".to_owned());
        }
        let (cw, ch) = self.chroma_size();
        let size = self.width as usize * self.height as usize + 2 * cw * ch;
        let mut planes = vec![0u8; size];
        r.read_exact(&mut planes)
            .map_err(|_| "the stream ends inside a frame (truncated)".to_owned())?;
        Ok(Some(planes))
    }

    /// Converts a frame's planes to RGB.
    pub fn convert(&self, planes: &[u8]) -> RgbImage {
        let (w, h) = (self.width as usize, self.height as usize);
        let (cw, ch) = self.chroma_size();
        let (y_plane, rest) = planes.split_at(w * h);
        let (u_plane, v_plane) = rest.split_at(cw * ch);
        RgbImage::from_fn(self.width, self.height, |x, y| {
            let (x, y) = (x as usize, y as usize);
            let luma = y_plane[y * w + x];
            let (cb, cr) = match self.chroma {
                Chroma::Mono => (128, 128),
                _ => {
                    let cx = x * cw / w.max(1);
                    let cy = y * ch / h.max(1);
                    (u_plane[cy * cw + cx], v_plane[cy * cw + cx])
                }
            };
            image::Rgb(ycbcr_to_rgb(luma, cb, cr))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grey_stays_grey_and_limits_clip() {
        assert_eq!(ycbcr_to_rgb(16, 128, 128), [0, 0, 0]);
        assert_eq!(ycbcr_to_rgb(235, 128, 128), [255, 255, 255]);
        let [r, g, b] = ycbcr_to_rgb(81, 90, 240); // pure red in BT.601
        assert!(r > 240 && g < 20 && b < 20, "{r} {g} {b}");
    }

    #[test]
    fn hostile_headers_are_errors() {
        // An unknown multi-byte tag is ignored, as Y4M allows, and never panics.
        let mut r = std::io::Cursor::new(&b"YUV4MPEG2 W8 H4 \xc3\xa9\n"[..]);
        assert_eq!(Y4mFormat::read_header(&mut r, 50).unwrap().width, 8);
        for header in [
            &b"YUV4MPEG2 \xff\xfe\n"[..],
            b"YUV4MPEG2 W0 H4\n",
            b"YUV4MPEG2 W16384 H16384 C444\n",
            b"YUV4MPEG2 W8 H4 C420p10\n",
        ] {
            let mut r = std::io::Cursor::new(header);
            assert!(Y4mFormat::read_header(&mut r, 50).is_err(), "{header:?}");
        }
    }

    #[test]
    fn yuyv_needs_a_full_buffer() {
        assert!(yuyv_to_rgb(&[0; 7], 2, 2).is_none());
        let img = yuyv_to_rgb(&[235, 128, 235, 128, 16, 128, 16, 128], 2, 2).unwrap();
        assert_eq!(img.get_pixel(0, 0)[0], 255);
        assert_eq!(img.get_pixel(1, 1)[0], 0);
    }
}
