//! A union-find over `n` items numbered from 0, each set's root its lowest member: shells of
//! faces or vertices, loops of edges, fans around a vertex.

pub(crate) struct Sets(pub(crate) Vec<u32>);

impl Sets {
    pub(crate) fn new(n: usize) -> Self {
        Self((0..n as u32).collect())
    }

    /// The root of `x`'s set, halving the path as it goes.
    pub(crate) fn root(&mut self, mut x: u32) -> u32 {
        while self.0[x as usize] != x {
            let up = self.0[self.0[x as usize] as usize];
            self.0[x as usize] = up;
            x = up;
        }
        x
    }

    pub(crate) fn join(&mut self, a: u32, b: u32) {
        let (a, b) = (self.root(a), self.root(b));
        if a != b {
            self.0[a.max(b) as usize] = a.min(b);
        }
    }
}
