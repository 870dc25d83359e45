//! Which shells lie inside others: a cavity's shell faces into the cavity, so it encloses
//! negative volume and is right to; only a shell that is not inside another is inside out when
//! its volume is negative.

/// Calls its argument with every face and its shell.
pub(crate) type Faces<'a> = dyn FnMut(&mut dyn FnMut([u32; 3], u32)) + 'a;

/// For each query `(point, shell)`, whether the point lies inside the faces of the other
/// shells: a ray from it toward +x crosses them an odd number of times. `faces` calls its
/// argument with every face and the shell it belongs to. Each point is moved off the axes by
/// a ten-millionth of the model's size, so that rays miss edges and corners.
pub(crate) fn enclosed(
    positions: &[[f32; 3]],
    faces: &mut Faces<'_>,
    queries: &[([f64; 3], u32)],
) -> Vec<bool> {
    let size =
        positions.iter().flat_map(|p| p.iter().map(|v| f64::from(v.abs()))).fold(1.0, f64::max);
    let nudge = 1e-7 * size;
    // Queries sorted by height, as (y, z, x, shell, index).
    let mut sorted: Vec<(f64, f64, f64, u32, usize)> = queries
        .iter()
        .enumerate()
        .map(|(i, &(p, shell))| (p[1] + nudge * 0.71, p[2] + nudge * 0.29, p[0], shell, i))
        .collect();
    sorted.sort_by(|a, b| a.0.total_cmp(&b.0));
    let mut inside = vec![false; queries.len()];
    faces(&mut |t, shell| {
        let [a, b, c] = t.map(|v| positions[v as usize].map(f64::from));
        let (lo, hi) = (a[1].min(b[1]).min(c[1]), a[1].max(b[1]).max(c[1]));
        let first = sorted.partition_point(|q| q.0 < lo);
        for q in sorted[first..].iter().take_while(|q| q.0 <= hi) {
            let &(y, z, x, own, index) = q;
            if own == shell {
                continue;
            }
            // Barycentric coordinates of (y, z) in the face's shadow on the y-z plane.
            let area = (b[1] - a[1]) * (c[2] - a[2]) - (b[2] - a[2]) * (c[1] - a[1]);
            if area == 0.0 {
                continue;
            }
            let l1 = ((y - a[1]) * (c[2] - a[2]) - (z - a[2]) * (c[1] - a[1])) / area;
            let l2 = ((b[1] - a[1]) * (z - a[2]) - (b[2] - a[2]) * (y - a[1])) / area;
            let l0 = 1.0 - l1 - l2;
            if l0 < 0.0 || l1 < 0.0 || l2 < 0.0 {
                continue;
            }
            if l0 * a[0] + l1 * b[0] + l2 * c[0] > x {
                inside[index] ^= true;
            }
        }
    });
    inside
}
