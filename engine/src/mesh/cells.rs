//! Which grid cells carry material, as runs of solid cells per row.
//!
//! A cell is solid when all four of its corner vertices are inside the mask. Two solid cells that
//! touch only at a corner would pinch the surface there (four wall faces on one vertical edge),
//! so such diagonal pairs are joined by filling the two empty cells of their 2x2 block until no
//! pair is left. Afterwards solid and empty regions are each connected through cell edges.

use crate::kernels::BYTES_PER_CELL;

/// The solid cells of a grid of `width` x `height` cells.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Cells {
    /// Every cell is solid: no mask.
    Full { width: u32, height: u32 },
    /// One byte per cell, row-major: 1 is solid.
    Masked { width: u32, height: u32, solid: Vec<u8> },
}

impl Cells {
    /// Cells of a vertex grid of `vw` x `vh` from its per-vertex inside flags.
    pub(crate) fn from_inside(inside: &[u32], vw: u32, vh: u32) -> Self {
        let (width, height) = (vw - 1, vh - 1);
        if inside.iter().all(|&v| v != 0) {
            return Cells::Full { width, height };
        }
        let (vw, cw) = (vw as usize, width as usize);
        let mut solid = vec![0u8; cw * height as usize];
        for (y, row) in solid.chunks_mut(cw).enumerate() {
            let (top, bottom) =
                (&inside[y * vw..(y + 1) * vw], &inside[(y + 1) * vw..(y + 2) * vw]);
            for (x, cell) in row.iter_mut().enumerate() {
                let all = top[x] & top[x + 1] & bottom[x] & bottom[x + 1];
                *cell = u8::from(all != 0);
            }
        }
        join_diagonals(&mut solid, cw, height as usize);
        Cells::Masked { width, height, solid }
    }

    pub fn width(&self) -> u32 {
        match self {
            Cells::Full { width, .. } | Cells::Masked { width, .. } => *width,
        }
    }

    pub fn height(&self) -> u32 {
        match self {
            Cells::Full { height, .. } | Cells::Masked { height, .. } => *height,
        }
    }

    /// Whether cell `(x, y)` is solid; cells outside the grid are empty.
    pub fn is_solid(&self, x: i64, y: i64) -> bool {
        let (w, h) = (i64::from(self.width()), i64::from(self.height()));
        if x < 0 || y < 0 || x >= w || y >= h {
            return false;
        }
        match self {
            Cells::Full { .. } => true,
            Cells::Masked { solid, .. } => solid[(y * w + x) as usize] != 0,
        }
    }

    pub fn solid_count(&self) -> u64 {
        match self {
            Cells::Full { width, height } => u64::from(*width) * u64::from(*height),
            Cells::Masked { solid, .. } => solid.iter().map(|&s| u64::from(s)).sum(),
        }
    }

    /// Runs `[a, b)` of solid cells in row `y` (none outside the grid), into `out`.
    pub fn row_runs(&self, y: i64, out: &mut Vec<(u32, u32)>) {
        out.clear();
        if y < 0 || y >= i64::from(self.height()) {
            return;
        }
        match self {
            Cells::Full { width, .. } => out.push((0, *width)),
            Cells::Masked { width, solid, .. } => {
                let w = *width as usize;
                let row = &solid[y as usize * w..(y as usize + 1) * w];
                let mut x = 0;
                while x < w {
                    if row[x] == 0 {
                        x += 1;
                        continue;
                    }
                    let start = x;
                    while x < w && row[x] != 0 {
                        x += 1;
                    }
                    out.push((start as u32, x as u32));
                }
            }
        }
    }

    /// Drops the records of empty cells from a band of top-surface output covering rows
    /// `row0..row0 + rows`, keeping the solid ones in order.
    pub(crate) fn compact_band(&self, row0: u32, rows: u32, records: &mut Vec<u8>) {
        if let Cells::Full { .. } = self {
            return;
        }
        let row_bytes = self.width() as usize * BYTES_PER_CELL;
        let mut runs = Vec::new();
        let mut kept = 0;
        for r in 0..rows {
            self.row_runs(i64::from(row0 + r), &mut runs);
            for &(a, b) in &runs {
                let start = r as usize * row_bytes + a as usize * BYTES_PER_CELL;
                let end = r as usize * row_bytes + b as usize * BYTES_PER_CELL;
                records.copy_within(start..end, kept);
                kept += end - start;
            }
        }
        records.truncate(kept);
    }
}

/// The regions of solid cells connected through cell edges: each closes into one manifold.
#[derive(Clone, Debug)]
pub(crate) struct Regions {
    /// Per cell, row-major, its region (`u32::MAX` for an empty cell); `None` when every
    /// cell is solid and so in region 0.
    labels: Option<Vec<u32>>,
    /// Per region, its cells' bounding box `[x0, y0, x1, y1]`, inclusive.
    pub boxes: Vec<[u32; 4]>,
}

impl Regions {
    /// Region of cell `(x, y)`; `None` for an empty cell or one outside the grid.
    pub fn of(&self, cells: &Cells, x: i64, y: i64) -> Option<u32> {
        if !cells.is_solid(x, y) {
            return None;
        }
        Some(match &self.labels {
            None => 0,
            Some(labels) => labels[y as usize * cells.width() as usize + x as usize],
        })
    }
}

impl Cells {
    /// Labels the edge-connected regions, in order of their first cell (row-major).
    pub(crate) fn regions(&self) -> Regions {
        let (w, h) = (self.width() as usize, self.height() as usize);
        let Cells::Masked { solid, .. } = self else {
            return Regions { labels: None, boxes: vec![[0, 0, w as u32 - 1, h as u32 - 1]] };
        };
        let mut labels = vec![u32::MAX; w * h];
        let mut boxes = Vec::new();
        let mut stack = Vec::new();
        for start in 0..w * h {
            if solid[start] == 0 || labels[start] != u32::MAX {
                continue;
            }
            let region = boxes.len() as u32;
            let (sx, sy) = ((start % w) as u32, (start / w) as u32);
            let mut bounds = [sx, sy, sx, sy];
            labels[start] = region;
            stack.push(start);
            while let Some(i) = stack.pop() {
                let (x, y) = (i % w, i / w);
                bounds = [
                    bounds[0].min(x as u32),
                    bounds[1].min(y as u32),
                    bounds[2].max(x as u32),
                    bounds[3].max(y as u32),
                ];
                let neighbours = [
                    (x > 0).then(|| i - 1),
                    (x + 1 < w).then(|| i + 1),
                    (y > 0).then(|| i - w),
                    (y + 1 < h).then(|| i + w),
                ];
                for j in neighbours.into_iter().flatten() {
                    if solid[j] != 0 && labels[j] == u32::MAX {
                        labels[j] = region;
                        stack.push(j);
                    }
                }
            }
            boxes.push(bounds);
        }
        Regions { labels: Some(labels), boxes }
    }
}

/// Fills the empty half of every 2x2 block whose solid cells touch only diagonally.
fn join_diagonals(solid: &mut [u8], w: usize, h: usize) {
    if w < 2 || h < 2 {
        return;
    }
    loop {
        let mut changed = false;
        for y in 0..h - 1 {
            for x in 0..w - 1 {
                let (i, j) = (y * w + x, (y + 1) * w + x);
                let (a, b, c, d) = (solid[i], solid[i + 1], solid[j], solid[j + 1]);
                let diagonal = (a & d & !b & !c & 1) != 0 || (b & c & !a & !d & 1) != 0;
                if diagonal {
                    solid[i] = 1;
                    solid[i + 1] = 1;
                    solid[j] = 1;
                    solid[j + 1] = 1;
                    changed = true;
                }
            }
        }
        if !changed {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Cells;

    fn solid(cells: &Cells) -> Vec<Vec<bool>> {
        (0..i64::from(cells.height()))
            .map(|y| (0..i64::from(cells.width())).map(|x| cells.is_solid(x, y)).collect())
            .collect()
    }

    #[test]
    fn a_cell_needs_all_four_corners_inside() {
        // 4 x 3 vertices, one outside vertex at (3, 0): only cell (2, 0) loses material.
        let inside = [1, 1, 1, 0, 1, 1, 1, 1, 1, 1, 1, 1];
        let cells = Cells::from_inside(&inside, 4, 3);
        assert_eq!(solid(&cells), [[true, true, false], [true, true, true]]);
        let mut runs = Vec::new();
        cells.row_runs(0, &mut runs);
        assert_eq!(runs, [(0, 2)]);
        assert_eq!(cells.solid_count(), 5);
    }

    #[test]
    fn cells_touching_at_a_corner_are_joined() {
        // Vertices inside only around cells (0, 0) and (1, 1) of a 3 x 3 cell grid.
        let mut inside = vec![0u32; 16];
        for (x, y) in [(0, 0), (1, 0), (0, 1), (1, 1), (2, 1), (1, 2), (2, 2)] {
            inside[y * 4 + x] = 1;
        }
        let cells = Cells::from_inside(&inside, 4, 4);
        assert_eq!(
            solid(&cells),
            [[true, true, false], [true, true, false], [false, false, false]],
            "the 2x2 block around the pinch is filled"
        );
    }

    #[test]
    fn regions_are_connected_through_edges_and_boxed() {
        // Two blocks of cells: columns 0..2 of rows 0..2, and cell (3, 2), apart.
        let mut inside = vec![0u32; 5 * 4];
        for (x, y) in [(0, 0), (1, 0), (2, 0), (0, 1), (1, 1), (2, 1), (0, 2), (1, 2), (2, 2)] {
            inside[y * 5 + x] = 1;
        }
        for (x, y) in [(3, 2), (4, 2), (3, 3), (4, 3)] {
            inside[y * 5 + x] = 1;
        }
        let cells = Cells::from_inside(&inside, 5, 4);
        let regions = cells.regions();
        assert_eq!(regions.boxes, [[0, 0, 1, 1], [3, 2, 3, 2]]);
        assert_eq!(regions.of(&cells, 1, 1), Some(0));
        assert_eq!(regions.of(&cells, 3, 2), Some(1));
        assert_eq!(regions.of(&cells, 2, 2), None);
    }

    #[test]
    fn an_all_inside_mask_is_full() {
        assert_eq!(Cells::from_inside(&[1; 6], 3, 2), Cells::Full { width: 2, height: 1 });
    }
}
