//! NV12: a full-resolution Y plane, then one interleaved U/V plane at half resolution in
//! both directions. Width and height are even.

/// A borrowed NV12 image.
#[derive(Debug, Clone, Copy)]
pub struct Nv12Ref<'a> {
    pub width: usize,
    pub height: usize,
    pub y: &'a [u8],
    pub y_stride: usize,
    pub uv: &'a [u8],
    pub uv_stride: usize,
}

/// A mutably borrowed NV12 image.
#[derive(Debug)]
pub struct Nv12Mut<'a> {
    pub width: usize,
    pub height: usize,
    pub y: &'a mut [u8],
    pub y_stride: usize,
    pub uv: &'a mut [u8],
    pub uv_stride: usize,
}

/// An owned, tightly packed NV12 image (tests, the synthetic renderer, stills).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Nv12Image {
    pub width: usize,
    pub height: usize,
    /// Y plane (`width * height`) followed by the UV plane (`width * height / 2`).
    pub data: Vec<u8>,
}

impl Nv12Image {
    /// A black image (Y 16, U/V 128). Odd sizes are refused.
    pub fn new(width: usize, height: usize) -> Nv12Image {
        assert!(
            width.is_multiple_of(2) && height.is_multiple_of(2),
            "NV12 needs even sizes"
        );
        let mut data = vec![16u8; width * height * 3 / 2];
        data[width * height..].fill(128);
        Nv12Image {
            width,
            height,
            data,
        }
    }

    pub fn as_ref(&self) -> Nv12Ref<'_> {
        let (y, uv) = self.data.split_at(self.width * self.height);
        Nv12Ref {
            width: self.width,
            height: self.height,
            y,
            y_stride: self.width,
            uv,
            uv_stride: self.width,
        }
    }

    pub fn as_mut(&mut self) -> Nv12Mut<'_> {
        let (y, uv) = self.data.split_at_mut(self.width * self.height);
        Nv12Mut {
            width: self.width,
            height: self.height,
            y,
            y_stride: self.width,
            uv,
            uv_stride: self.width,
        }
    }

    /// Copies a (possibly strided) image into a packed one.
    pub fn from_ref(src: &Nv12Ref<'_>) -> Nv12Image {
        let mut out = Nv12Image::new(src.width, src.height);
        let w = src.width;
        for r in 0..src.height {
            out.data[r * w..(r + 1) * w]
                .copy_from_slice(&src.y[r * src.y_stride..r * src.y_stride + w]);
        }
        let off = w * src.height;
        for r in 0..src.height / 2 {
            out.data[off + r * w..off + (r + 1) * w]
                .copy_from_slice(&src.uv[r * src.uv_stride..r * src.uv_stride + w]);
        }
        out
    }

    pub fn luma(&self, x: usize, y: usize) -> u8 {
        self.data[y * self.width + x]
    }
}

impl<'a> Nv12Ref<'a> {
    /// Interprets a packed buffer (or GStreamer's default NV12 layout when width is a
    /// multiple of 4) of exactly `width * height * 3 / 2` bytes.
    pub fn packed(width: usize, height: usize, data: &'a [u8]) -> Option<Nv12Ref<'a>> {
        if data.len() < width * height * 3 / 2 {
            return None;
        }
        let (y, uv) = data.split_at(width * height);
        Some(Nv12Ref {
            width,
            height,
            y,
            y_stride: width,
            uv,
            uv_stride: width,
        })
    }
}

impl<'a> Nv12Mut<'a> {
    pub fn packed(width: usize, height: usize, data: &'a mut [u8]) -> Option<Nv12Mut<'a>> {
        if data.len() < width * height * 3 / 2 {
            return None;
        }
        let (y, uv) = data.split_at_mut(width * height);
        Some(Nv12Mut {
            width,
            height,
            y,
            y_stride: width,
            uv,
            uv_stride: width,
        })
    }

    pub fn as_ref(&self) -> Nv12Ref<'_> {
        Nv12Ref {
            width: self.width,
            height: self.height,
            y: self.y,
            y_stride: self.y_stride,
            uv: self.uv,
            uv_stride: self.uv_stride,
        }
    }
}
