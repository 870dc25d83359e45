//! A flat panel's outline and hanger hole, as the thickness kernel's parameters: the kernel
//! cuts the panel to the outline and the hole, and makes the frame and the hole's collar
//! solid (see `shaders/thickness.wgsl`).

use crate::ParamError;
use crate::kernels::{OUTLINE_ELLIPSE, OUTLINE_HEART, OUTLINE_RECT, ThicknessConfig};
use crate::params::{Outline, Shape};

/// The unit heart's width and height: two circles of radius √2/4 at (±1/4, 3/4) on the
/// sides that meet at the point (0, 0).
const HEART_WIDTH: f32 = 2.0 * (0.25 + std::f32::consts::SQRT_2 / 4.0);
const HEART_HEIGHT: f32 = 0.75 + std::f32::consts::SQRT_2 / 4.0;
/// Where the lobes meet at the top, in heart units above the point.
const HEART_CLEFT: f32 = 1.0;

/// The narrowest ring of material kept around a hanger hole, so it does not tear.
pub const HANGER_RIM_MM: f32 = 2.0;

/// Sets `config`'s outline and hanger fields for `shape` on a `width` x `height` grid;
/// `collar_mm` is the thickness of the hole's collar. A hole whose collar does not fit the
/// panel is refused.
pub(crate) fn configure(
    config: &mut ThicknessConfig,
    shape: Shape,
    collar_mm: f32,
) -> Result<(), ParamError> {
    let Shape::Flat { outline, hanger_mm, .. } = shape else { return Ok(()) };
    let pitch = config.pitch_mm;
    let (w, h) = ((config.width - 1) as f32 * pitch, (config.height - 1) as f32 * pitch);
    let (cx, cy) = (w / 2.0, h / 2.0);
    // The outline's top edge above the centre, in millimetres from the grid's top.
    let top = match outline {
        Outline::Rect => {
            config.outline = OUTLINE_RECT;
            0.0
        }
        Outline::Circle | Outline::Oval => {
            let (a, b) =
                if outline == Outline::Circle { (cx.min(cy), cx.min(cy)) } else { (cx, cy) };
            config.outline = OUTLINE_ELLIPSE;
            (config.outline_a, config.outline_b) = (a, b);
            cy - b
        }
        Outline::Heart => {
            let scale = (w / HEART_WIDTH).min(h / HEART_HEIGHT);
            let point = cy + scale * HEART_HEIGHT / 2.0;
            config.outline = OUTLINE_HEART;
            (config.outline_a, config.outline_b) = (scale, point);
            point - scale * HEART_CLEFT
        }
    };
    if hanger_mm > 0.0 {
        let radius = hanger_mm / 2.0;
        let collar = radius + HANGER_RIM_MM.max(config.frame_mm);
        let room = w.min(h) / 2.0;
        if 2.0 * collar > room {
            return Err(ParamError::new(
                "hanger_mm",
                format!(
                    "a {hanger_mm} mm hole with its {:.1} mm collar needs a panel at least {:.1} \
                     mm across, this one is {:.1} mm: use a smaller `hanger_mm` or a larger \
                     `width_mm`",
                    collar - radius,
                    4.0 * collar,
                    w.min(h)
                ),
            ));
        }
        config.hanger_y_mm = top + collar;
        config.hanger_r_mm = radius;
        config.collar_r_mm = collar;
        config.collar_thickness_mm = collar_mm;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cpu::thickness::heart_distance;

    #[test]
    fn the_unit_heart_spans_its_stated_box() {
        assert!(heart_distance([0.0, 0.0]).abs() < 1e-6, "the point");
        assert!(heart_distance([0.0, HEART_CLEFT]).abs() < 1e-6, "the cleft");
        assert!(heart_distance([0.0, HEART_HEIGHT]) > 0.0, "above the cleft is outside");
        assert!(heart_distance([0.25, HEART_HEIGHT]).abs() < 1e-6, "a lobe's top");
        assert!(heart_distance([HEART_WIDTH / 2.0, 0.75]).abs() < 1e-6, "a lobe's side");
        assert!(heart_distance([0.0, 0.5]) < 0.0, "the middle is inside");
    }
}
