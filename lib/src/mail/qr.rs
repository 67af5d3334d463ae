//! A ticket code as a QR image for mail: PNG (the image format every big mail client shows
//! inline), black modules on white with the standard 4-module quiet zone.

use qrcode::{Color, EcLevel, QrCode};

/// Pixels per module: ~180 px for a ticket code, sharp for a phone's camera.
const SCALE: usize = 4;
const QUIET_ZONE: usize = 4;

#[derive(Debug, thiserror::Error)]
pub enum QrError {
    #[error("encoding the QR code")]
    Encode(#[from] qrcode::types::QrError),
    #[error("encoding the PNG")]
    Png(#[from] png::EncodingError),
}

pub fn png(text: &str) -> Result<Vec<u8>, QrError> {
    let code = QrCode::with_error_correction_level(text.as_bytes(), EcLevel::M)?;
    let modules = code.width();
    let colors = code.to_colors();
    let side = (modules + 2 * QUIET_ZONE) * SCALE;
    let mut pixels = vec![255u8; side * side];
    for (i, color) in colors.iter().enumerate() {
        if *color != Color::Dark {
            continue;
        }
        let (row, col) = (i / modules + QUIET_ZONE, i % modules + QUIET_ZONE);
        for dy in 0..SCALE {
            let start = (row * SCALE + dy) * side + col * SCALE;
            pixels[start..start + SCALE].fill(0);
        }
    }
    let mut out = Vec::new();
    {
        let mut encoder = png::Encoder::new(&mut out, side as u32, side as u32);
        encoder.set_color(png::ColorType::Grayscale);
        encoder.set_depth(png::BitDepth::Eight);
        let mut writer = encoder.write_header()?;
        writer.write_image_data(&pixels)?;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_code_becomes_a_square_png() {
        let image = png(&"A".repeat(131)).unwrap();
        assert_eq!(&image[..8], b"\x89PNG\r\n\x1a\n");
        let decoder = png::Decoder::new(std::io::Cursor::new(&image));
        let reader = decoder.read_info().unwrap();
        let info = reader.info();
        assert_eq!(info.width, info.height);
        assert!(info.width >= 100, "{}", info.width);
    }
}
